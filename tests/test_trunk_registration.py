"""Trunks that register with their provider, against SIPp as the provider's
registrar (tests/sipp/peer_provider_auth.xml: every REGISTER challenged,
SIPp's verifyauth checks the digest, 4 seconds granted). Dialtone answers
the challenge, refreshes before the 4 s run out with one Call-ID, shows the
state over REST and in /metrics, and un-REGISTERs when the trunk is
deleted (the SIPp call then ends, so SIPp exits 0). Wrong credentials end
in 403 with a back-off of about a minute."""

from __future__ import annotations

import re
import urllib.request

import harness
from harness import wait_until
from harness import SIPP_DIR
from test_serve import SCRIPTS, call, claim, start_serve
from test_trunks import PSTN, session_log


def metrics(d) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=10) as r:
        return r.read().decode()


def sample(text: str, name: str, labels: str) -> float:
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def registrar(sipp, port: int, name: str, calls: int = 1):
    run = sipp("peer_provider_auth.xml", None, local_port=port, calls=calls,
               timeout_s=60, name=name).start()
    harness.wait_bound(port, "udp")
    return run


def trunk(d, key: str, name: str, **changes):
    status, body = call(d, "GET", f"/v1/trunks/{name}", key=key)
    assert status == 200, body
    return body


def test_a_trunk_registers_refreshes_and_unregisters_when_deleted(registry, sipp, tmp_path):
    port = harness.PORTS.sip_port()
    # Two SIPp calls: the registration, and the callPSTN through the trunk.
    provider = registrar(sipp, port, "provider", calls=2)
    d = start_serve(registry, tmp_path, egress_allow="127.0.0.0/8")
    status, acct = call(d, "POST", "/v1/accounts", {"name": "acme"})
    key = acct["apiKey"]
    status, body = call(d, "PUT", "/v1/trunks/carrier",
                        {"host": "127.0.0.1", "port": port, "username": "trunkuser",
                         "password": "trunkpass", "register": True, "registerExpires": 300,
                         "prefixes": ["1"]},
                        key=key)
    assert status == 201, body
    assert body["register"] is True and body["registerExpires"] == 300, body
    assert "password" not in body and "trunkpass" not in str(body), body

    registered = wait_until(
        lambda: (t := trunk(d, key, "carrier"))["registration"]
        and t["registration"]["state"] == "registered" and t, timeout=15, interval=0.1)
    assert registered, trunk(d, key, "carrier")
    reg = registered["registration"]
    assert reg["code"] == 200 and reg["failures"] == 0, reg
    assert 0 < reg["expiresIn"] <= 4 and reg["nextAttemptIn"] <= 4, reg

    # The provider grants 4 s: refreshes follow every ~2 s, each one
    # challenged and answered (200s counted in /metrics).
    def refreshed():
        text = metrics(d)
        return sample(text, "dialtone_trunk_register_responses_total", 'code="200"') >= 4 and text
    text = wait_until(refreshed, timeout=20, interval=0.2)
    assert text, metrics(d)
    assert sample(text, "dialtone_trunk_registrations", 'state="registered"') == 1, text
    assert sample(text, "dialtone_trunk_registrations", 'state="failed"') == 0, text
    assert trunk(d, key, "carrier")["registration"]["state"] == "registered"

    # Another account sees nothing of it.
    status, other = call(d, "POST", "/v1/accounts", {"name": "other"})
    assert call(d, "GET", "/v1/trunks", key=other["apiKey"]) == (200, {"trunks": []})

    # callPSTN goes out through the same trunk, digest answered.
    assert call(d, "PUT", "/v1/applications/pstn", key=key)[0] == 201
    assert call(d, "PUT", "/v1/applications/pstn/scenarios/dial", PSTN,
                "application/javascript", key)[0] == 201
    status, started = call(d, "POST", "/v1/sessions",
                           {"application": "pstn", "scenario": "dial", "customData": "15557654321"},
                           key=key)
    assert status == 201, started
    log = session_log(d, key, started["id"])
    assert "log: pstn: connected" in log, log

    # The provider's call to the registered Contact (sip:trunkuser@us) is a
    # call to the DID in its To, which the account claims.
    assert call(d, "PUT", "/v1/applications/inbound", key=key)[0] == 201
    assert call(d, "PUT", "/v1/applications/inbound/scenarios/echo",
                (SCRIPTS / "echo.js").read_text(), "application/javascript", key)[0] == 201
    status, rule = call(d, "POST", "/v1/applications/inbound/rules",
                        {"name": "did", "pattern": "15557770000", "scenarios": ["echo"]}, key=key)
    assert status == 201, rule
    claim(d, key, number="15557770000")
    mark = d.mark()
    inbound = sipp(SIPP_DIR / "uac_to_registration.xml", d.sip_uri_host, service="trunkuser",
                   calls=1, timeout_s=20, extra=["-key", "did", "15557770000"], name="inbound")
    inbound.run()
    inbound.assert_ok()
    d.wait_for(r"echo: incoming call from .* to 15557770000", timeout=10, start=mark)

    # Deleted: un-REGISTER (Expires: 0), which ends SIPp's registration call.
    assert call(d, "DELETE", "/v1/trunks/carrier", key=key)[0] == 204
    provider.wait(timeout=20)
    provider.assert_ok()
    text = metrics(d)
    assert sample(text, "dialtone_trunk_registrations", 'state="registered"') == 0, text
    d.assert_alive()


def test_wrong_credentials_end_in_403_and_a_long_back_off(registry, sipp, tmp_path):
    port = harness.PORTS.sip_port()
    registrar(sipp, port, "registrar")
    d = start_serve(registry, tmp_path, egress_allow="127.0.0.0/8")
    status, acct = call(d, "POST", "/v1/accounts", {"name": "acme"})
    key = acct["apiKey"]
    status, body = call(d, "PUT", "/v1/trunks/carrier",
                        {"host": "127.0.0.1", "port": port, "username": "trunkuser",
                         "password": "not-the-password", "register": True}, key=key)
    assert status == 201, body
    failed = wait_until(
        lambda: (r := trunk(d, key, "carrier")["registration"]) and r["state"] == "failed" and r,
        timeout=15, interval=0.1)
    assert failed, trunk(d, key, "carrier")
    assert failed["code"] == 403 and failed["failures"] == 1, failed
    assert 40 <= failed["nextAttemptIn"] <= 75, failed
    text = metrics(d)
    assert sample(text, "dialtone_trunk_registrations", 'state="failed"') == 1, text
    assert sample(text, "dialtone_trunk_register_responses_total", 'code="403"') == 1, text

    # Bad settings are refused with a clear error.
    status, err = call(d, "PUT", "/v1/trunks/anon",
                       {"host": "127.0.0.1", "port": port, "register": True}, key=key)
    assert status == 400 and "username" in str(err), (status, err)
    status, err = call(d, "PUT", "/v1/trunks/short",
                       {"host": "127.0.0.1", "username": "u", "register": True,
                        "registerExpires": 10}, key=key)
    assert status == 400 and "registerExpires" in str(err), (status, err)
    d.assert_alive()
