"""Secrets never reach the logs: ``dialtone serve`` at ``RUST_LOG=debug`` with
JSON logs, an admin key, API keys in every request's ``Authorization:
Bearer`` header, a ``callSIP`` answering a digest challenge with a password,
a REST session's accessURL used, and a PostgreSQL URL with a password that
the server cannot use. None of the secrets shows on stdout, on stderr or in
the session logs history keeps."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
from pathlib import Path

import harness
from harness import LOOPBACK, PORTS, SIPP_DIR, wait_until
from test_serve import ServeDialtone, call, claim
from test_sessions import fetch

# Distinctive values: none of them can show up in a log by chance.
ADMIN_KEY = "admin-Kq7Vt2Rw9Lp4Xz8Nm3Bc6Hd1"
SIP_PASSWORD = "sip-Pw-7c1f0e9a4b"
DB_PASSWORD = "db-Pw-9e2a61c4f3"

FORWARD_WITH_PASSWORD = f"""
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {{
  var out = VoxEngine.callSIP(VoxEngine.customData(), {{
    callerid: e.callerid,
    authUser: "alice",
    password: "{SIP_PASSWORD}",
  }});
  out.addEventListener(CallEvents.Connected, function () {{
    Logger.write("secrets: callee answered");
  }});
  VoxEngine.easyProcess(e.call, out);
}});
"""

ANSWER_HTTP = """
VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
  Logger.write("secrets: " + e.method + " request");
  return "pong";
});
"""

DEBUG_ENV = {"DIALTONE_ADMIN_KEY": ADMIN_KEY, "RUST_LOG": "debug"}


class JsonLogServe(ServeDialtone):
    """``dialtone serve`` with ``--log-format json`` (and a database URL)."""

    def __init__(self, data_dir: Path, database: str | None = None, **kwargs):
        super().__init__(data_dir, **kwargs)
        self.database = database

    @property
    def argv(self) -> list[str]:
        argv = super().argv + ["--log-format", "json"]
        if self.database:
            argv += ["--database", self.database]
        return argv


def assert_no_secret(text: str, secrets: dict[str, str], where: str) -> None:
    for name, secret in secrets.items():
        assert secret not in text, f"the {name} shows in {where}:\n" + "\n".join(
            line for line in text.splitlines() if secret in line)[:3000]


def history_detail(d: ServeDialtone, key: str, sid: str) -> dict:
    """The stored session once it has ended and its log is written."""
    def ended():
        status, v = call(d, "GET", f"/v1/history/{sid}", key=key)
        return v if status == 200 and v.get("status") == "ended" and v.get("log") else None
    detail = wait_until(ended, timeout=15, interval=0.2)
    assert detail, call(d, "GET", f"/v1/history/{sid}", key=key)
    return detail


def test_no_secret_reaches_stdout_stderr_or_the_stored_logs(registry, sipp, tmp_path):
    callee_port = PORTS.sip_port()
    # serve lets scenarios reach loopback only where the operator allows it.
    env = {**DEBUG_ENV, "DIALTONE_EGRESS_ALLOW": f"{LOOPBACK}:{callee_port}"}
    d = JsonLogServe(tmp_path / "data", env=env, log_path=tmp_path / "serve.log")
    registry.add(d)
    d.start()

    status, acct = call(d, "POST", "/v1/accounts", {"name": "secrets"}, key=ADMIN_KEY)
    assert status == 201, acct
    key = acct["apiKey"]
    status, second = call(d, "POST", "/v1/keys", key=key)
    assert status == 201, second
    secrets = {"admin key": ADMIN_KEY, "SIP password": SIP_PASSWORD,
               "account's API key": key, "second API key": second["apiKey"]}

    # An INVITE to 4000 runs a scenario whose callSIP answers the callee's
    # digest challenge with the password.
    xml = (SIPP_DIR / "peer_uas_auth.xml").read_text()
    assert 'password="secret"' in xml
    callee_xml = tmp_path / "peer_uas_auth_secret.xml"
    callee_xml.write_text(xml.replace('password="secret"', f'password="{SIP_PASSWORD}"'))
    assert call(d, "PUT", "/v1/applications/sec", key=key)[0] == 201
    for name, source in (("fwd", FORWARD_WITH_PASSWORD), ("web", ANSWER_HTTP)):
        status, saved = call(d, "PUT", f"/v1/applications/sec/scenarios/{name}", source,
                             "application/javascript", key=second["apiKey"])
        assert status == 201, saved
    status, rule = call(d, "POST", "/v1/applications/sec/rules",
                        {"name": "fwd", "pattern": "4000", "scenarios": ["fwd"],
                         "customData": f"sip:bob@{LOOPBACK}:{callee_port}"}, key=key)
    assert status == 201, rule
    claim(d, key, number="4000")

    callee = sipp(callee_xml, None, local_port=callee_port, calls=1, timeout_s=25,
                  name="callee").start()
    harness.wait_bound(callee_port, "udp")
    caller = sipp("uac", d.sip_uri_host, service="4000", calls=1, duration_ms=1000,
                  timeout_s=20, name="caller")
    caller.run()
    caller.assert_ok()
    callee.wait()
    callee.assert_ok()  # the callee checked the digest: the password was used

    # A REST session, and a request to its accessURL: the token is a secret.
    status, started = call(d, "POST", "/v1/sessions",
                           {"application": "sec", "scenario": "web"}, key=key)
    assert status == 201, started
    web_sid, access = started["id"], started["accessURL"]
    token = urllib.parse.urlsplit(access).path.rsplit("/", 1)[1]
    assert len(token) >= 32, access
    secrets["access token"] = token
    status, _, body = fetch(access + "/ping")
    assert (status, body) == (200, "pong"), (status, body)
    assert call(d, "DELETE", f"/v1/sessions/{web_sid}", key=key)[0] == 202

    status, page = call(d, "GET", "/v1/history", key=key)
    assert status == 200, page
    fwd = [s for s in page["sessions"] if s["id"] != web_sid]
    assert len(fwd) == 1, page
    logs = {}
    for sid in (fwd[0]["id"], web_sid):
        detail = history_detail(d, key, sid)
        logs[sid] = detail["log"]
        assert_no_secret(json.dumps(detail), secrets, f"the history of session {sid}")
    fwd_log = "\n".join(logs[fwd[0]["id"]])
    assert "secrets: callee answered" in fwd_log, fwd_log
    web_log = "\n".join(logs[web_sid])
    # The request is logged, with the token left out of its path.
    assert f"path=/access/{web_sid}/***/ping" in web_log, web_log

    d.stop()
    output = d.log_text()
    assert_no_secret(output, secrets, "stdout or stderr")
    # The run did log at debug level, in JSON, and the session lines are there.
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(r.get("level") == "DEBUG" for r in records), output[-3000:]
    assert any("secrets: callee answered" in r.get("message", "") for r in records), output[-3000:]


def postgres_parts() -> tuple[str, str, str] | None:
    """(user, host:port, database) of DIALTONE_TEST_POSTGRES, if set."""
    url = os.environ.get("DIALTONE_TEST_POSTGRES")
    if not url:
        return None
    u = urllib.parse.urlsplit(url)
    return u.username or "dialtone", f"{u.hostname}:{u.port or 5432}", u.path.lstrip("/")


def run_serve(tmp_path: Path, name: str, *args: str, env: dict | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess:
    """``dialtone serve`` that is expected to stop on its own (a start error)."""
    argv = [str(harness.require_dialtone()), "serve",
            "--sip", f"{LOOPBACK}:{PORTS.sip_port()}", "--http", f"{LOOPBACK}:{PORTS.sip_port()}",
            "--data-dir", str(tmp_path / name), "--log-format", "json", *args]
    return subprocess.run(argv, cwd=str(harness.REPO), env={**os.environ, **DEBUG_ENV, **(env or {})},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def test_a_database_password_never_shows_when_the_database_refuses(tmp_path):
    """A PostgreSQL URL whose password the server refuses (or, without a test
    PostgreSQL, whose host does not resolve): the start fails, naming the URL
    with its password masked."""
    pg = postgres_parts()
    user, host, db = pg if pg else ("dialtone", "dialtone-test.invalid:5432", "dialtone")
    url = f"postgres://{user}:{DB_PASSWORD}@{host}/{db}"
    for name, args, env in (("flag", ["--database", url], None),
                            ("env", [], {"DIALTONE_DATABASE": url})):
        run = run_serve(tmp_path, name, *args, env=env)
        output = run.stdout + run.stderr
        assert run.returncode == 1, output
        assert f"cannot open database postgres://{user}:***@{host}/{db}" in output, output
        assert_no_secret(output, {"database password": DB_PASSWORD, "admin key": ADMIN_KEY},
                         f"the output of a start with the URL in {name}")


def test_a_database_password_never_shows_in_a_configuration_error(tmp_path):
    url = f"postgress://dialtone:{DB_PASSWORD}@db.example.com/dialtone"
    config = tmp_path / "dialtone.toml"
    config.write_text(f'database = "{url}"\n')
    for name, args, env in (("flag", ["--database", url], None),
                            ("env", [], {"DIALTONE_DATABASE": url}),
                            ("file", ["--config", str(config)], None)):
        run = run_serve(tmp_path, name, *args, env=env)
        output = run.stdout + run.stderr
        assert run.returncode == 2, output
        assert "postgress://dialtone:***@db.example.com/dialtone" in output, output
        assert_no_secret(output, {"database password": DB_PASSWORD}, f"a config error ({name})")


def test_a_postgres_url_shows_masked_in_the_start_line(registry, tmp_path):
    """With the test PostgreSQL: the server starts on it and prints its URL
    with the password masked, at debug level, and never the URL as given."""
    url = os.environ.get("DIALTONE_TEST_POSTGRES")
    if not url:
        import pytest
        pytest.skip("DIALTONE_TEST_POSTGRES not set")
    parts = urllib.parse.urlsplit(url)
    assert parts.password, "the test PostgreSQL URL carries a password"
    d = JsonLogServe(tmp_path / "data", database=url, env=DEBUG_ENV,
                     log_path=tmp_path / "serve.log")
    registry.add(d)
    d.start()
    d.wait_for(rf"database=postgres(ql)?://{parts.username}:\*\*\*@", timeout=5)
    assert call(d, "GET", "/v1/keys", key=ADMIN_KEY)[0] == 200
    d.stop()
    output = d.log_text()
    assert_no_secret(output, {"database URL with its password": f"{parts.username}:{parts.password}@",
                              "admin key": ADMIN_KEY}, "stdout or stderr")
