"""The OpenAPI document ``dialtone serve`` publishes at ``/v1/openapi.json``
holds against the server itself: schemathesis generates requests for every
operation from the document (examples, boundary values, random and
schema-violating data, chains of calls) and checks every answer's status,
content type and body against it. Any 5xx or mismatch fails the test.

The run is bounded by examples per operation and a wall-clock limit; set
DIALTONE_SCHEMATHESIS_SEED to explore with another seed (the default is fixed
so CI is repeatable)."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from harness import LOOPBACK, SCRIPTS
from test_serve import ADMIN_KEY, ServeDialtone, call

# The checks asked of every answer (set in the configuration file, so that
# CONFIG can adjust them per operation).
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
]
MAX_EXAMPLES = 25
# Wall-clock limit of one schemathesis run; a run takes well under this.
RUN_TIMEOUT_S = 75
SEED = int(os.environ.get("DIALTONE_SCHEMATHESIS_SEED", "20260601"))

# Scenarios used as seed data.
ANSWERS_HTTP = """
VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
  return { method: e.method, path: e.path };
});
"""
ENDS_AT_ONCE = """
VoxEngine.addEventListener(AppEvents.Started, function () {
  Logger.write("seed: ending at once");
  VoxEngine.terminate();
});
"""

# schemathesis has no serializer of its own for application/javascript.
#
# It also takes key ids from the answers of `/v1/keys` (`GET` lists the key
# the run authenticates with) and sends them to `DELETE /v1/keys/{id}`.
# Revoking that key is allowed while the account has another one (the seeded
# spare), and every later request of the run would then answer 401, which the
# checks accept: that one case is sent with the id of no key instead (404).
# Revoking the key a request is made with is tested in engine/tests/serve_api.rs.
HOOKS = '''
import os

import schemathesis

OWN_KEY_ID = os.environ["DIALTONE_ST_OWN_KEY_ID"]
NO_KEY_ID = "0" * 16


@schemathesis.serializer("application/javascript")
def javascript(ctx, value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if (case.method.upper() == "DELETE" and case.path == "/v1/keys/{id}"
            and case.path_parameters.get("id") == OWN_KEY_ID):
        case.path_parameters["id"] = NO_KEY_ID
'''


def key_id(key: str) -> str:
    """The id `GET /v1/keys` lists for `key`."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


# Where the document cannot say everything the server checks, the check is
# told which answers are right instead of being switched off.
CONFIG = r"""
[checks]
enabled = false
{checks}

# Rule patterns are Rust regular expressions, and a rule's header names must
# be valid: values JSON Schema cannot describe, refused with 422.
[[operations]]
include-path-regex = '^/v1/applications/\{app\}/rules'
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 422]

# A scenario is saved only if it compiles (422 syntax_error otherwise). Its
# body is text, where a generated "wrong type" value is still valid text.
[[operations]]
include-path = "/v1/applications/{app}/scenarios/{name}"
include-method = "PUT"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 422]
checks.negative_data_rejection.enabled = false

# A queue an agent belongs to stays (409) until the agent leaves it.
[[operations]]
include-path = "/v1/queues/{name}"
include-method = "DELETE"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409]

# The CTI endpoint is a WebSocket: a plain GET asks for no upgrade (400).
[[operations]]
include-path = "/v1/cti"
checks.positive_data_acceptance.expected-statuses = [101, 400, 426]
# Its key is optional in the request: agents authenticate in the first message.
checks.ignored_auth.enabled = false
checks.missing_required_header.enabled = false

# SIP over WebSocket: a plain GET asks for no upgrade (400); SIP digest, not
# an API key, authenticates what comes over it.
[[operations]]
include-path = "/sip"
checks.positive_data_acceptance.expected-statuses = [101, 400, 426]

# An agent's state change may not apply in its state (409 invalid_state).
[[operations]]
include-path = "/v1/agents/{id}/state"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409]

# The session's script decides the answer; one that returns nothing gets an
# empty 200 without a Content-Type. DELETE there is just another request.
[[operations]]
include-path-regex = "^/access/"
checks.content_type_conformance.enabled = false
checks.use_after_free.enabled = false

# DELETE ends a live session; GET then answers it from history.
[[operations]]
include-path = "/v1/sessions/{id}"
checks.use_after_free.enabled = false
"""


def schemathesis_available() -> bool:
    try:
        import schemathesis  # noqa: F401
    except ImportError:
        return False
    return True


def fetch_document(d: ServeDialtone) -> tuple[int, str, dict]:
    url = f"http://{LOOPBACK}:{d.http_port}/v1/openapi.json"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), json.loads(resp.read())


def wait_for_history(d: ServeDialtone, key: str, session: str, timeout: float = 15.0) -> dict:
    """The ended session's history record, once the history writer has it."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = call(d, "GET", f"/v1/history/{session}", key=key)
        if status == 200 and body.get("status") in ("ended", "failed"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"session {session} not in history: {status} {body}")
        time.sleep(0.1)


def seed_account(d: ServeDialtone, key: str, account: str) -> dict[str, str]:
    """Objects for the document's examples to point at: `pbx` with scenarios
    and a rule that stay, `scratch` ones that DELETE examples remove, a live
    session answering on its access URL and one that has ended, a spare API
    key to revoke, and `account` (an account id) to create keys for."""
    ids: dict[str, str] = {"account": account}
    status, spare = call(d, "POST", "/v1/keys", key=key)
    assert status == 201, spare
    ids["spare_key"] = spare["id"]
    for app in ("pbx", "scratch"):
        assert call(d, "PUT", f"/v1/applications/{app}", key=key)[0] == 201
        for name, source in (("echo", (SCRIPTS / "echo.js").read_text()),
                             ("web", ANSWERS_HTTP), ("ends", ENDS_AT_ONCE)):
            status, body = call(d, "PUT", f"/v1/applications/{app}/scenarios/{name}",
                                source, "application/javascript", key)
            assert status == 201, body
        status, rule = call(d, "POST", f"/v1/applications/{app}/rules",
                            {"name": "ext", "pattern": r"1\d{3}", "scenarios": ["echo"]},
                            key=key)
        assert status == 201, rule
        ids[f"{app}_rule"] = rule["id"]
    for name, scenario in (("live", "web"), ("doomed", "web"), ("ended", "ends")):
        status, session = call(d, "POST", "/v1/sessions",
                               {"application": "pbx", "scenario": scenario,
                                "customData": {"seed": name}}, key=key)
        assert status == 201, session
        ids[name] = session["id"]
        if name == "live":
            # http://HOST:PORT/access/<session>/<token>
            ids["token"] = session["accessURL"].rstrip("/").rsplit("/", 1)[1]
    # A session that made no call is in history too, with its log.
    ended = wait_for_history(d, key, ids["ended"])
    assert ended["calls"] == [] and "seed: ending at once" in "\n".join(ended["log"]), ended
    return ids


def with_examples(doc: dict, ids: dict[str, str]) -> dict:
    """The document with path parameter examples naming the seeded objects;
    DELETE operations get the `scratch` ones."""
    doc = copy.deepcopy(doc)
    keep = {"app": "pbx", "name": "echo", "token": ids["token"], "rest": "status"}
    gone = {"app": "scratch", "name": "echo", "token": ids["token"], "rest": "status"}
    by_path = {
        "/v1/applications/{app}/rules/{id}": ("pbx_rule", "scratch_rule"),
        "/v1/sessions/{id}": ("live", "doomed"),
        "/v1/history/{session}": ("ended", "ended"),
        "/access/{session}/{token}": ("live", "live"),
        "/access/{session}/{token}/{rest}": ("live", "live"),
        "/v1/keys/{id}": ("spare_key", "spare_key"),
        "/v1/accounts/{id}/keys": ("account", "account"),
    }
    for path, item in doc["paths"].items():
        shared = item.pop("parameters", [])
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            values = gone if method == "delete" else keep
            params = copy.deepcopy(shared) + op.get("parameters", [])
            for p in params:
                if p.get("in") != "path":
                    continue
                if p["name"] in values:
                    p["example"] = values[p["name"]]
                elif path in by_path:
                    seeded = by_path[path][1 if method == "delete" else 0]
                    p["example"] = ids[seeded]
            if params:
                op["parameters"] = params
    return doc


def run_schemathesis(d: ServeDialtone, doc: dict, key: str, label: str, tmp_path: Path,
                     max_examples: int) -> None:
    work = tmp_path / f"schemathesis-{label}"
    work.mkdir()
    spec = work / "openapi.json"
    spec.write_text(json.dumps(doc))
    (work / "dialtone_st_hooks.py").write_text(HOOKS)
    enabled = "\n".join(f"{name}.enabled = true" for name in CHECKS)
    (work / "schemathesis.toml").write_text(CONFIG.replace("{checks}", enabled))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(work) + os.pathsep + env.get("PYTHONPATH", "")
    env["SCHEMATHESIS_HOOKS"] = "dialtone_st_hooks"
    env["DIALTONE_ST_OWN_KEY_ID"] = key_id(key)
    argv = [sys.executable, "-m", "schemathesis.cli",
            "--config-file", str(work / "schemathesis.toml"), "run", str(spec),
            "--url", f"http://{LOOPBACK}:{d.http_port}",
            "-H", f"Authorization: Bearer {key}",
            "--max-examples", str(max_examples),
            "--seed", str(SEED),
            "--workers", "1",
            "--request-timeout", "40",
            "--generation-database", "none",
            "--no-color",
            "--suppress-health-check", "all"]
    try:
        out = subprocess.run(argv, cwd=work, env=env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        text = (e.stdout or b"")
        text = text.decode(errors="replace") if isinstance(text, bytes) else text
        raise AssertionError(f"schemathesis ({label}) took over {RUN_TIMEOUT_S} s:\n"
                             f"{text[-6000:]}") from None
    report = out.stdout + out.stderr
    (work / "output.txt").write_text(report)
    assert out.returncode == 0, (
        f"schemathesis ({label}) found the server and engine/src/api/openapi.json "
        f"disagreeing (exit {out.returncode}); full output in {work / 'output.txt'}:\n"
        f"{report[-12000:]}")
    assert "Test cases:" in report, report[-3000:]


@pytest.fixture
def serve(registry, tmp_path) -> ServeDialtone:
    d = ServeDialtone(tmp_path / "data",
                      env={"DIALTONE_ADMIN_KEY": ADMIN_KEY, "DIALTONE_IDLE_TIMEOUT": "10m"},
                      log_path=tmp_path / "serve.log")
    registry.add(d)
    return d.start()


def test_openapi_document_is_served_without_a_key(serve):
    status, ctype, doc = fetch_document(serve)
    assert status == 200 and ctype == "application/json"
    assert doc["openapi"] == "3.1.0"
    assert "/v1/applications/{app}/scenarios/{name}" in doc["paths"]


def test_server_conforms_to_its_openapi_document(serve, tmp_path):
    if not schemathesis_available():
        if os.environ.get("CI"):
            pytest.fail("schemathesis is not installed (.ci/run installs it)")
        pytest.skip("schemathesis not installed: python3 -m pip install schemathesis==4.32.5")
    d = serve
    _, _, doc = fetch_document(d)

    status, other = call(d, "POST", "/v1/accounts", {"name": "other"})
    assert status == 201, other
    admin_ids = seed_account(d, ADMIN_KEY, other["id"])
    other_ids = seed_account(d, other["apiKey"], other["id"])

    run_schemathesis(d, with_examples(doc, admin_ids), ADMIN_KEY, "admin", tmp_path,
                     MAX_EXAMPLES)
    # A second, non-admin account: 403 on admin-only operations, its own objects only.
    run_schemathesis(d, with_examples(doc, other_ids), other["apiKey"], "account", tmp_path,
                     MAX_EXAMPLES // 2)
    d.assert_alive()
    # Both runs kept the keys they ran with (a run that lost its key would
    # have passed on 401s alone).
    for key in (ADMIN_KEY, other["apiKey"]):
        status, keys = call(d, "GET", "/v1/keys", key=key)
        assert status == 200, keys
        assert [k["id"] for k in keys["keys"] if k["current"]] == [key_id(key)], keys
