"""`dialtone check SCRIPT.js`: syntax errors as file:line:col: message, exit 1."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import harness

CHECK_TIMEOUT = 30
DIAGNOSTIC = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$", re.M)


def run_check(path: Path) -> subprocess.CompletedProcess:
    binary = harness.require_dialtone()
    return subprocess.run([str(binary), "check", str(path)], cwd=str(harness.REPO),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=CHECK_TIMEOUT)


def diagnostics(proc: subprocess.CompletedProcess) -> list[re.Match]:
    return list(DIAGNOSTIC.finditer(proc.stdout + "\n" + proc.stderr))


BROKEN = {
    # name: (source, line of the error)
    "unexpected_token.js": (
        "// a comment\n"
        "var ok = 1;\n"
        "var broken = (1 + ;\n"
        "Logger.write(ok);\n", 3),
    "unterminated_string.js": (
        "VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {\n"
        "  e.call.answer();\n"
        "});\n"
        "\n"
        "Logger.write(\"never closed);\n", 5),
    "unbalanced_braces.js": (
        "VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {\n"
        "  e.call.answer();\n"
        "  if (true) {\n"
        "    Logger.write(\"x\");\n"
        "});\n", 5),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_syntax_error_is_reported_with_position(tmp_path, name):
    source, line = BROKEN[name]
    path = tmp_path / name
    path.write_text(source)
    proc = run_check(path)
    output = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 1, output
    found = [m for m in diagnostics(proc) if Path(m["file"]).name == name]
    assert found, f"no '{name}:line:col: message' line\n{output}"
    first = found[0]
    assert int(first["line"]) == line, f"error reported at line {first['line']}, expected {line}\n{output}"
    assert int(first["col"]) >= 1, output
    assert first["msg"].strip(), output


def _scenarios():
    names = {"echo.js", "forward.js", "busy.js"}
    names |= {p.name for p in harness.SCRIPTS.glob("*.js")}
    paths = [harness.SCRIPTS / n for n in sorted(names)]
    paths += sorted(harness.SCENARIOS.glob("*.js"))
    return paths


@pytest.mark.parametrize("path", _scenarios(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_scenarios_pass_check(path):
    assert path.exists(), f"{path} is missing"
    proc = run_check(path)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert not [m for m in diagnostics(proc) if Path(m["file"]).name == path.name], proc.stdout + proc.stderr


def test_missing_file_fails(tmp_path):
    proc = run_check(tmp_path / "does_not_exist.js")
    assert proc.returncode != 0
