"""Trunks in ``dialtone serve``: callPSTN goes through the account's trunks
by prefix and priority; a trunk answering 503 hands the call to the next,
which demands digest authentication (SIPp's verifyauth) and answers. An
inbound call from the trunk's side to a DID the account claims runs its
rule's scenario."""

from __future__ import annotations

import harness
from harness import SIPP_DIR
from test_serve import SCRIPTS, call, claim, start_serve
from harness import wait_until

PSTN = r"""
VoxEngine.addEventListener(AppEvents.Started, function () {
  var out = VoxEngine.callPSTN(VoxEngine.customData(), "15550000");
  out.addEventListener(CallEvents.Connected, function () {
    Logger.write("pstn: connected");
    setTimeout(function () { out.hangup(); }, 500);
  });
  out.addEventListener(CallEvents.Failed, function (e) {
    Logger.write("pstn: failed " + e.code);
    VoxEngine.terminate();
  });
  out.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
});
"""


def session_log(d, key: str, sid: str) -> list[str]:
    def ended():
        status, detail = call(d, "GET", f"/v1/history/{sid}", key=key)
        return detail if status == 200 and detail["status"] != "running" else None
    detail = wait_until(ended, timeout=40, interval=0.2)
    assert detail, call(d, "GET", f"/v1/history/{sid}", key=key)
    return detail["log"]


def test_call_pstn_fails_over_to_a_trunk_that_demands_digest(registry, sipp, tmp_path):
    down_port, auth_port = harness.PORTS.sip_port(), harness.PORTS.sip_port()
    xml = (SIPP_DIR / "peer_uas_busy.xml").read_text().replace("486 Busy Here", "503 Service Unavailable")
    down_xml = tmp_path / "uas_503.xml"
    down_xml.write_text(xml)
    down = sipp(down_xml, None, local_port=down_port, calls=1, timeout_s=30, name="down").start()
    up = sipp("peer_uas_auth.xml", None, local_port=auth_port, calls=1, timeout_s=30, name="up").start()
    harness.wait_bound(down_port, "udp")
    harness.wait_bound(auth_port, "udp")

    d = start_serve(registry, tmp_path, egress_allow="127.0.0.0/8")
    status, acct = call(d, "POST", "/v1/accounts", {"name": "acme"})
    key = acct["apiKey"]
    status, t1 = call(d, "PUT", "/v1/trunks/primary",
                      {"host": "127.0.0.1", "port": down_port, "prefixes": ["1"], "priority": 0}, key=key)
    assert status == 201, t1
    status, t2 = call(d, "PUT", "/v1/trunks/secondary",
                      {"host": "127.0.0.1", "port": auth_port, "priority": 10,
                       "username": "alice", "password": "secret"}, key=key)
    assert status == 201 and t2["hasPassword"] and "password" not in t2, t2
    status, listed = call(d, "GET", "/v1/trunks", key=key)
    assert [t["name"] for t in listed["trunks"]] == ["primary", "secondary"], listed
    # Another account sees none of them.
    status, other = call(d, "POST", "/v1/accounts", {"name": "other"})
    assert call(d, "GET", "/v1/trunks", key=other["apiKey"]) == (200, {"trunks": []})

    assert call(d, "PUT", "/v1/applications/pstn", key=key)[0] == 201
    assert call(d, "PUT", "/v1/applications/pstn/scenarios/dial", PSTN,
                "application/javascript", key)[0] == 201
    status, started = call(d, "POST", "/v1/sessions",
                           {"application": "pstn", "scenario": "dial", "customData": "15557654321"},
                           key=key)
    assert status == 201, started
    log = session_log(d, key, started["id"])
    assert "log: pstn: connected" in log, log
    down.wait()
    down.assert_ok()
    up.wait()
    up.assert_ok()
    d.assert_alive()


def test_a_call_from_the_trunk_to_a_claimed_did_runs_the_rules_scenario(registry, sipp, tmp_path):
    d = start_serve(registry, tmp_path)
    status, acct = call(d, "POST", "/v1/accounts", {"name": "acme"})
    key = acct["apiKey"]
    assert call(d, "PUT", "/v1/trunks/carrier", {"host": "127.0.0.1", "prefixes": ["1"]}, key=key)[0] == 201
    assert call(d, "PUT", "/v1/applications/inbound", key=key)[0] == 201
    assert call(d, "PUT", "/v1/applications/inbound/scenarios/echo",
                (SCRIPTS / "echo.js").read_text(), "application/javascript", key)[0] == 201
    status, rule = call(d, "POST", "/v1/applications/inbound/rules",
                        {"name": "did", "pattern": "15557770000", "scenarios": ["echo"]}, key=key)
    assert status == 201, rule
    claim(d, key, number="15557770000")
    mark = d.mark()
    run = sipp("uac", d.sip_uri_host, service="15557770000", calls=1, duration_ms=500, timeout_s=20)
    run.run()
    run.assert_ok()
    d.wait_for(r"echo: incoming call from .* to 15557770000", timeout=10, start=mark)
    d.assert_alive()
