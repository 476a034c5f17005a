"""ApplicationStorage in ``dialtone serve``: pairs a session puts are read by
later sessions of the same application, survive a restart of the server,
and are invisible to other applications and accounts."""

from __future__ import annotations

from harness import wait_until
from test_serve import ServeDialtone, ADMIN_KEY, call

SCENARIO = r"""
require(Modules.ApplicationStorage);
VoxEngine.addEventListener(AppEvents.Started, function () {
  var op = VoxEngine.customData();
  var done;
  if (op === "put") {
    done = ApplicationStorage.put("greeting:en", "hello", 3600).then(function (item) {
      Logger.write("put " + item.key + "=" + item.value + " ttl_ok=" + (item.expireAt > Date.now() / 1000));
    });
  } else {
    done = ApplicationStorage.get("greeting:en").then(function (item) {
      Logger.write("get " + (item === null ? "null" : item.value));
      return ApplicationStorage.keys("greeting");
    }).then(function (page) {
      Logger.write("keys " + page.keys.join(","));
    });
  }
  done.catch(function (e) { Logger.write("failed " + e.message); }).then(function () {
    VoxEngine.terminate();
  });
});
"""


def run_session(d, key: str, app: str, op: str) -> list[str]:
    status, started = call(d, "POST", "/v1/sessions",
                           {"application": app, "scenario": "kv", "customData": op}, key=key)
    assert status == 201, started
    sid = started["id"]

    def ended():
        status, detail = call(d, "GET", f"/v1/history/{sid}", key=key)
        return detail if status == 200 and detail["status"] != "running" else None
    detail = wait_until(ended, timeout=15, interval=0.1)
    assert detail, call(d, "GET", f"/v1/history/{sid}", key=key)
    return [line.removeprefix("log: ") for line in detail["log"] if line.startswith("log: ")]


def start(registry, tmp_path, name: str) -> ServeDialtone:
    d = ServeDialtone(tmp_path / "data", env={"DIALTONE_ADMIN_KEY": ADMIN_KEY},
                      log_path=tmp_path / f"{name}.log")
    registry.add(d)
    return d.start()


def test_pairs_outlive_sessions_and_restarts_and_stay_in_their_application(registry, tmp_path):
    d = start(registry, tmp_path, "first")
    status, acct = call(d, "POST", "/v1/accounts", {"name": "acme"})
    key = acct["apiKey"]
    status, other = call(d, "POST", "/v1/accounts", {"name": "other"})
    for k, app in [(key, "one"), (key, "two"), (other["apiKey"], "one")]:
        assert call(d, "PUT", f"/v1/applications/{app}", key=k)[0] == 201
        assert call(d, "PUT", f"/v1/applications/{app}/scenarios/kv", SCENARIO,
                    "application/javascript", k)[0] == 201
    assert run_session(d, key, "one", "put") == ["put greeting:en=hello ttl_ok=true"]
    assert run_session(d, key, "one", "get") == ["get hello", "keys greeting:en"]
    # Another application of the account, and the same name in another account.
    assert run_session(d, key, "two", "get") == ["get null", "keys "]
    assert run_session(d, other["apiKey"], "one", "get") == ["get null", "keys "]
    d.stop()

    d = start(registry, tmp_path, "second")
    assert run_session(d, key, "one", "get") == ["get hello", "keys greeting:en"]
    d.assert_alive()
