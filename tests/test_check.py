"""`dialtone check SCRIPT.js`: syntax errors, then what a typed editor would flag
(unknown API members, argument counts, event names, checked against
sdk-types/dialtone.d.ts), each as file:line:col: message, exit 1."""

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


LINT = {
    # name: (source, the expected "line:col: message" lines after "file:")
    "unknown_enum_member.js": (
        "VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {\n"
        "  e.call.addEventListener(CallEvents.Conected, function () {});\n"
        "  e.call.answer();\n"
        "});\n"
        "VoxEngine.callSIPP(\"sip:bob@127.0.0.1\");\n"
        "Logger.x;\n",
        ["2:38: unknown member CallEvents.Conected (did you mean CallEvents.Connected?)",
         "5:11: unknown member VoxEngine.callSIPP (did you mean VoxEngine.callSIP?)",
         "6:8: unknown member Logger.x"]),
    "unknown_call_method.js": (
        "VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {\n"
        "  e.call.answr();\n"
        "  const out = VoxEngine.callSIP(\"sip:bob@127.0.0.1\");\n"
        "  out.addEventListener(CallEvents.Connected, (ev) => ev.call.sendMediaTo2(e.call));\n"
        "  const player = VoxEngine.createURLPlayer(\"hello.wav\");\n"
        "  player.play();\n"
        "});\n",
        ["2:10: unknown member Call.answr (did you mean Call.answer?)",
         "4:62: unknown member Call.sendMediaTo2 (did you mean Call.sendMediaTo?)",
         "6:10: unknown member Player.play"]),
    "wrong_argument_count.js": (
        "VoxEngine.addEventListener(AppEvents.CallAlerting, function (call) {\n"
        "  call.call.answer({}, {}, 3);\n"
        "  var out = VoxEngine.callSIP();\n"
        "});\n",
        ["2:13: Call.answer takes at most 2 arguments, 3 given",
         "3:23: VoxEngine.callSIP takes at least 1 argument, 0 given"]),
    "unknown_event_name.js": (
        "VoxEngine.addEventListener(\"Application.CallAlertng\", function (e) {});\n"
        "var out = VoxEngine.callSIP(\"sip:bob@127.0.0.1\");\n"
        "out.addEventListener(\"Call.Conected\", function () {});\n"
        "out.addEventListener(\"Call.Connected\", function () {});\n",
        ["1:28: unknown event \"Application.CallAlertng\" for VoxEngine.addEventListener "
         "(did you mean \"Application.CallAlerting\"?)",
         "3:22: unknown event \"Call.Conected\" for Call.addEventListener "
         "(did you mean \"Call.Connected\"?)"]),
}


@pytest.mark.parametrize("name", sorted(LINT))
def test_api_mistake_is_reported_with_position(tmp_path, name):
    source, expected = LINT[name]
    path = tmp_path / name
    path.write_text(source)
    proc = run_check(path)
    output = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 1, output
    assert proc.stdout.splitlines() == [f"{path}:{line}" for line in expected], output


def test_ordinary_javascript_is_not_reported(tmp_path):
    # Objects whose type the checker cannot tell are never reported on.
    path = tmp_path / "ordinary.js"
    path.write_text(
        "var data = JSON.parse(VoxEngine.customData() || \"{}\");\n"
        "var names = Object.keys(data).map(function (k) { return k.trim(); });\n"
        "var helper = { answr: function () {} };\n"
        "helper.answr();\n"
        "VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {\n"
        "  var call = e.call;\n"
        "  call.tag = names.join(\",\");\n"
        "  Logger.write(call.tag + Math.max(1, 2) + `${e.callerid}`.length);\n"
        "  call.addEventListener(\"Call.Connected\", function (ev) { ev.call.sendMediaTo(call); });\n"
        "  call.answer();\n"
        "});\n")
    proc = run_check(path)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.stdout == "" and proc.stderr == "", proc.stdout + proc.stderr


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
    assert "not linted" not in proc.stderr, proc.stderr


def test_missing_file_fails(tmp_path):
    proc = run_check(tmp_path / "does_not_exist.js")
    assert proc.returncode != 0
