"""Per-account quotas of ``dialtone serve``: routing rules and scenarios past
their limit get a 409 ``quota_exceeded`` JSON error, old scenario versions are
pruned oldest first, and recordings stop (or never start) with ``RecordError``
once the account's recording bytes reach ``quota_recording_mib``. The
recordings already on disk count from the start, and deleting one gives its
bytes back."""

from __future__ import annotations

import os
import wave
from pathlib import Path

from harness import wait_until
from test_serve import ADMIN_KEY, ServeDialtone, call, claim

MIB = 1024 * 1024

RECORDS = """
// Records each call; the session ends once the recording is over (stopped
// after the call, or failed).
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  var failed = false;
  var gone = false;
  call.addEventListener(CallEvents.Connected, function () { call.record(); });
  call.addEventListener(CallEvents.RecordStarted, function (ev) {
    Logger.write("quota-test: RecordStarted " + ev.url);
  });
  call.addEventListener(CallEvents.RecordStopped, function (ev) {
    Logger.write("quota-test: RecordStopped " + ev.url);
    VoxEngine.terminate();
  });
  call.addEventListener(CallEvents.RecordError, function (ev) {
    Logger.write("quota-test: RecordError " + ev.error);
    failed = true;
    if (gone) { VoxEngine.terminate(); }
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    gone = true;
    if (failed) { VoxEngine.terminate(); }
  });
  call.answer();
});
"""


def serve(registry, tmp_path: Path, name: str, **quotas: str) -> ServeDialtone:
    """``dialtone serve`` on ``tmp_path/data`` with quotas from the
    environment (``quota_rules="3"`` sets ``DIALTONE_QUOTA_RULES``)."""
    env = {"DIALTONE_ADMIN_KEY": ADMIN_KEY}
    for key, value in quotas.items():
        env[f"DIALTONE_{key.upper()}"] = value
    d = ServeDialtone(tmp_path / "data", env=env, log_path=tmp_path / f"{name}.log")
    registry.add(d)
    return d.start()


def account(d: ServeDialtone, name: str = "acme") -> str:
    status, body = call(d, "POST", "/v1/accounts", {"name": name})
    assert status == 201, body
    return body["apiKey"]


def upload(d: ServeDialtone, key: str, app: str, name: str, source: str) -> tuple[int, dict]:
    return call(d, "PUT", f"/v1/applications/{app}/scenarios/{name}", source,
                "application/javascript", key)


def test_rules_past_the_quota_get_a_json_409(registry, tmp_path):
    d = serve(registry, tmp_path, "rules", quota_rules="3")
    key = account(d)
    for app in ("one", "two"):
        assert call(d, "PUT", f"/v1/applications/{app}", key=key)[0] == 201
    for n, app in enumerate(["one", "two", "two"]):
        status, body = call(d, "POST", f"/v1/applications/{app}/rules",
                            {"name": f"r{n}", "pattern": r"\d+", "scenarios": ["main"]}, key=key)
        assert status == 201, body
    # The quota is per account, over all its applications.
    status, body = call(d, "POST", "/v1/applications/one/rules",
                        {"name": "r3", "pattern": r"\d+", "scenarios": ["main"]}, key=key)
    assert status == 409, body
    error = body["error"]
    assert error["code"] == "quota_exceeded", body
    assert (error["quota"], error["limit"]) == ("rules", 3), body
    assert "at most 3 routing rules" in error["message"], body
    status, usage = call(d, "GET", "/v1/account/usage", key=key)
    assert status == 200, usage
    assert usage["rules"] == {"used": 3, "limit": 3}, usage
    # Another account has its own allowance.
    other = account(d, "other")
    assert call(d, "PUT", "/v1/applications/one", key=other)[0] == 201
    status, body = call(d, "POST", "/v1/applications/one/rules",
                        {"name": "r0", "pattern": r"\d+", "scenarios": ["main"]}, key=other)
    assert status == 201, body
    # Deleting a rule makes room again.
    status, rules = call(d, "GET", "/v1/applications/one/rules", key=key)
    assert status == 200, rules
    rule_id = rules["rules"][0]["id"]
    assert call(d, "DELETE", f"/v1/applications/one/rules/{rule_id}", key=key)[0] == 204
    status, body = call(d, "POST", "/v1/applications/one/rules",
                        {"name": "r3", "pattern": r"\d+", "scenarios": ["main"]}, key=key)
    assert status == 201, body


def test_old_versions_are_pruned_and_new_scenarios_past_the_quota_refused(registry, tmp_path):
    d = serve(registry, tmp_path, "versions", quota_scenario_versions="3", quota_scenarios="2")
    key = account(d)
    assert call(d, "PUT", "/v1/applications/pbx", key=key)[0] == 201
    for n in range(1, 6):
        status, saved = upload(d, key, "pbx", "main", f"// version {n}\n")
        assert status == 201, saved
        assert saved["version"] == n, saved
    status, listed = call(d, "GET", "/v1/applications/pbx/scenarios/main/versions", key=key)
    assert status == 200, listed
    assert [v["version"] for v in listed["versions"]] == [3, 4, 5], listed
    assert call(d, "GET", "/v1/applications/pbx/scenarios/main?version=2", key=key)[0] == 404
    status, latest = call(d, "GET", "/v1/applications/pbx/scenarios/main", key=key)
    assert (status, latest["version"], latest["source"]) == (200, 5, "// version 5\n"), latest

    assert upload(d, key, "pbx", "second", "// 1\n")[0] == 201
    status, body = upload(d, key, "pbx", "third", "// 1\n")
    assert status == 409, body
    assert body["error"]["code"] == "quota_exceeded", body
    assert (body["error"]["quota"], body["error"]["limit"]) == ("scenarios", 2), body
    # New versions of a scenario that exists are not new scenarios.
    assert upload(d, key, "pbx", "second", "// 2\n")[0] == 201
    status, usage = call(d, "GET", "/v1/account/usage", key=key)
    assert status == 200, usage
    assert usage["scenarios"] == {"used": 2, "limit": 2}, usage
    assert usage["scenarioVersions"] == {"used": 5, "keptPerScenario": 3}, usage


def recordings(data: Path) -> set[str]:
    return {p.name for p in (data / "recordings").glob("*.wav")}


def usage_bytes(d: ServeDialtone, key: str) -> int:
    status, usage = call(d, "GET", "/v1/account/usage", key=key)
    assert status == 200, usage
    return usage["recordingBytes"]["used"]


def test_the_recording_quota_stops_and_refuses_recordings(registry, sipp, tmp_path):
    data = tmp_path / "data"
    d = serve(registry, tmp_path, "first", quota_recording_mib="1")
    key = account(d)
    assert call(d, "PUT", "/v1/applications/pbx", key=key)[0] == 201
    assert upload(d, key, "pbx", "rec", RECORDS)[0] == 201
    status, rule = call(d, "POST", "/v1/applications/pbx/rules",
                        {"name": "all", "pattern": r"2\d{3}", "scenarios": ["rec"]}, key=key)
    assert status == 201, rule
    claim(d, key, pattern=r"2\d{3}")

    def place_call(server: ServeDialtone, duration_ms: int) -> None:
        run = sipp("uac", server.sip_uri_host, service="2000", calls=1,
                   duration_ms=duration_ms, timeout_s=30)
        run.run()
        run.assert_ok()

    # Within the quota: a recording is made and charged exactly.
    mark = d.mark()
    place_call(d, 1000)
    d.wait_for(r"quota-test: RecordStopped", timeout=15, start=mark)
    [first] = recordings(data)
    size = (data / "recordings" / first).stat().st_size
    assert usage_bytes(d, key) == size
    d.stop()

    # A previous run's recordings count from the start: make the first one
    # hold all but 8 KB of the quota (half a second of audio).
    os.truncate(data / "recordings" / first, MIB - 8000)
    d = serve(registry, tmp_path, "second", quota_recording_mib="1")
    assert usage_bytes(d, key) == MIB - 8000

    # A recording that reaches the quota is finished and reported.
    mark = d.mark()
    place_call(d, 4000)
    error = d.wait_for(r"quota-test: RecordError (.*)", timeout=15, start=mark)
    assert "recording quota exceeded" in error[1] and "1 MiB" in error[1], error[1]
    [second] = recordings(data) - {first}
    with wave.open(str(data / "recordings" / second)) as w:
        assert w.getframerate() == 8000
        assert 4000 <= w.getnframes() <= 16000, w.getnframes()
    assert usage_bytes(d, key) >= MIB

    # At the quota, record() fails at once and makes no file.
    mark = d.mark()
    place_call(d, 1000)
    error = d.wait_for(r"quota-test: RecordError (.*)", timeout=15, start=mark)
    assert "recording quota exceeded" in error[1], error[1]
    assert not d.find_all(r"quota-test: RecordStarted", start=mark)
    assert recordings(data) == {first, second}

    # Deleting a recording gives its bytes back.
    used = usage_bytes(d, key)
    assert call(d, "DELETE", f"/v1/recordings/{first}", key=key)[0] == 204
    assert not (data / "recordings" / first).exists()
    assert usage_bytes(d, key) == used - (MIB - 8000)
    assert call(d, "GET", f"/v1/recordings/{first}", key=key)[0] == 404
    assert call(d, "DELETE", f"/v1/recordings/{first}", key=key)[0] == 404
    mark = d.mark()
    place_call(d, 1000)
    d.wait_for(r"quota-test: RecordStopped", timeout=15, start=mark)
    wait_until(lambda: len(recordings(data)) == 2, timeout=5)
