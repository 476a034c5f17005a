"""``dialtone serve`` with real SIP: a scenario and a rule uploaded over REST
decide what an INVITE runs, with the rule's customData; an INVITE no claim or
no rule matches gets 404; an INVITE goes to the account that claims its
number or domain, whatever other accounts' rules say."""

from __future__ import annotations

import json
import re
import ssl
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import audio
import harness
from harness import LOOPBACK, PORTS, SCRIPTS, SIPP_DIR, Dialtone, wait_until

ADMIN_KEY = "pytest-admin-key-0123456789abcdef"


class ServeDialtone(Dialtone):
    """``dialtone serve`` on free loopback ports with its own data directory."""

    def __init__(self, data_dir: Path, **kwargs):
        super().__init__(SCRIPTS / "echo.js", **kwargs)
        self.data_dir = data_dir
        self.http_port = PORTS.sip_port()

    @property
    def argv(self) -> list[str]:
        return [str(self.binary), "serve",
                "--sip", f"{LOOPBACK}:{self.sip_port}",
                "--http", f"{LOOPBACK}:{self.http_port}",
                "--rtp-ports", f"{self.rtp_ports[0]}-{self.rtp_ports[1]}",
                "--data-dir", str(self.data_dir),
                "--shutdown-timeout", "2s"]


def call(d: ServeDialtone, method: str, path: str, body=None, ctype: str = "application/json",
         key: str = ADMIN_KEY) -> tuple[int, dict]:
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    scheme = "https" if getattr(d, "tls", False) else "http"
    req = urllib.request.Request(f"{scheme}://{LOOPBACK}:{d.http_port}{path}", data=data,
                                 method=method)
    req.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        req.add_header("Content-Type", ctype)
    context = None
    if scheme == "https":
        # The tests' self-signed certificate.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            text = resp.read().decode()
            return resp.status, json.loads(text) if text else {}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "{}")


def claim(d: ServeDialtone, key: str, **what: str) -> dict:
    """Claims one ``number=``, ``pattern=`` or ``domain=`` for the account of
    ``key``: without a claim, no INVITE reaches the account's rules."""
    status, body = call(d, "POST", "/v1/claims", what, key=key)
    assert status == 201, body
    return body


def start_serve(registry, tmp_path, egress_allow: str | None = None,
                tls: tuple[Path, Path] | None = None) -> ServeDialtone:
    """``egress_allow``: what scenarios may reach beyond the Internet
    (``DIALTONE_EGRESS_ALLOW``); serve denies loopback by default, and the
    test peers live there. ``tls``: (certificate, key) PEM files, for HTTPS
    on the HTTP listener."""
    env = {"DIALTONE_ADMIN_KEY": ADMIN_KEY}
    if egress_allow is not None:
        env["DIALTONE_EGRESS_ALLOW"] = egress_allow
    if tls is not None:
        env["DIALTONE_HTTP_TLS_CERT"], env["DIALTONE_HTTP_TLS_KEY"] = str(tls[0]), str(tls[1])
    d = ServeDialtone(tmp_path / "data", env=env, log_path=tmp_path / "serve.log")
    d.tls = tls is not None
    registry.add(d)
    return d.start()


def test_rule_routes_invite_to_uploaded_scenario(registry, sipp, tmp_path):
    d = start_serve(registry, tmp_path)
    assert (tmp_path / "data" / "dialtone.db").exists(), "default database lives in the data dir"
    status, acct = call(d, "POST", "/v1/accounts", {"name": "acme"})
    assert status == 201, acct
    key = acct["apiKey"]
    assert call(d, "PUT", "/v1/applications/pbx", key=key)[0] == 201
    status, saved = call(d, "PUT", "/v1/applications/pbx/scenarios/echo",
                         (SCRIPTS / "echo.js").read_text(), "application/javascript", key)
    assert status == 201, saved
    status, rule = call(d, "POST", "/v1/applications/pbx/rules",
                        {"name": "extensions", "pattern": r"1\d{3}", "scenarios": ["echo"]},
                        key=key)
    assert status == 201, rule
    claimed = claim(d, key, pattern=r"1\d{3}")
    status, match = call(d, "POST", "/v1/rules/match", {"to": "1234"}, key=key)
    assert status == 200 and match["scenario"] == "pbx/echo", match
    assert match["claim"]["id"] == claimed["id"], match

    mark = d.mark()
    run = sipp("uac", d.sip_uri_host, service="1234", calls=1, duration_ms=500, timeout_s=20)
    run.run()
    run.assert_ok()
    assert run.counts().get("Successful call") == 1, run.report()
    d.wait_for(r"echo: incoming call from .* to 1234", timeout=10, start=mark)
    d.wait_for(r"Disconnected", timeout=10, start=mark)
    d.assert_alive()


def test_invite_without_matching_rule_gets_404(registry, sipp, tmp_path):
    d = start_serve(registry, tmp_path)
    # The account claims 999 but its rule does not match it.
    status, acct = call(d, "POST", "/v1/accounts", {"name": "acme"})
    key = acct["apiKey"]
    call(d, "PUT", "/v1/applications/pbx", key=key)
    call(d, "PUT", "/v1/applications/pbx/scenarios/echo",
         (SCRIPTS / "echo.js").read_text(), "application/javascript", key)
    status, rule = call(d, "POST", "/v1/applications/pbx/rules",
                        {"name": "extensions", "pattern": r"1\d{3}", "scenarios": ["echo"]},
                        key=key)
    assert status == 201, rule
    claim(d, key, pattern=r"\d+")
    # SIPp's busy scenario, expecting 404 in place of 486.
    xml = (SIPP_DIR / "uac_busy.xml").read_text().replace('response="486"', 'response="404"')
    expect_404 = tmp_path / "uac_404.xml"
    expect_404.write_text(xml)
    run = sipp(expect_404, d.sip_uri_host, service="999", calls=1, timeout_s=20)
    run.run()
    run.assert_ok()
    assert run.counts().get("Successful call") == 1, run.report()
    d.assert_alive()


def test_rule_custom_data_forwards_invite_to_second_peer(registry, agent, tones, tmp_path):
    """The rule's customData is what ``VoxEngine.customData()`` returns in the
    session an INVITE starts: scripts/forward.js reads B's URI from it, so
    A's call to dialtone serve rings B, and B hears A."""
    import audio

    a_hz = 440.0
    heard_by_b = tmp_path / "heard_by_b.wav"
    b = agent("answer", name="b", record=heard_by_b, max_time=40)
    # Serve denies loopback to scenarios; B lives there.
    d = start_serve(registry, tmp_path, egress_allow=f"{LOOPBACK}:{b.port}")
    status, acct = call(d, "POST", "/v1/accounts", {"name": "acme"})
    assert status == 201, acct
    key = acct["apiKey"]
    assert call(d, "PUT", "/v1/applications/pbx", key=key)[0] == 201
    status, saved = call(d, "PUT", "/v1/applications/pbx/scenarios/forward",
                         (SCRIPTS / "forward.js").read_text(), "application/javascript", key)
    assert status == 201, saved
    target = f"sip:b@{LOOPBACK}:{b.port}"
    status, rule = call(d, "POST", "/v1/applications/pbx/rules",
                        {"name": "to-b", "pattern": r"2\d{3}", "scenarios": ["forward"],
                         "customData": target}, key=key)
    assert status == 201 and rule["customData"] == target, rule
    claim(d, key, number="2000")
    status, got = call(d, "GET", f"/v1/applications/pbx/rules/{rule['id']}", key=key)
    assert status == 200 and got["customData"] == target, got

    mark = d.mark()
    a = agent("call", f"sip:2000@{d.sip_uri_host}", name="a", play=tones.wav(a_hz),
              no_telephone_event=True, duration=3.0, max_time=40)
    a.wait_event("confirmed", 15)
    b.wait_event("confirmed", 5)
    d.wait_for(rf"forward: .* -> {re.escape(target)}", timeout=5, start=mark)
    ended = a.wait_event("disconnected", 20)
    assert ended["connected"], ended
    # A hung up: dialtone releases B.
    assert b.wait_event("disconnected", 10)["connected"]
    assert a.wait_exit(10) == 0 and b.wait_exit(10) == 0
    print("B heard:", audio.assert_tone(heard_by_b, a_hz))
    d.wait_for(r"Disconnected", timeout=10, start=mark)
    d.assert_alive()


def history_of(d: ServeDialtone, key: str, want: int) -> list[dict]:
    """The account's sessions once `want` of them have ended."""
    def ready():
        status, page = call(d, "GET", "/v1/history", key=key)
        assert status == 200, page
        done = [s for s in page["sessions"] if s["status"] != "running"]
        return page["sessions"] if len(done) >= want else None
    sessions = wait_until(ready, timeout=15, interval=0.2)
    assert sessions is not None, call(d, "GET", "/v1/history", key=key)
    return sessions


def test_each_call_lands_in_the_account_that_claims_it(registry, sipp, agent, tones, tmp_path):
    """Two accounts whose rules overlap (globex's matches everything, at the
    highest priority): acme claims 1000-1999, globex the number 2000 and the
    domain globex.example.com. SIPp's call to 1234 runs acme's scenario,
    PJSIP's calls to 2000 and to alice@globex.example.com run globex's, and
    each lands in its own account's history only."""
    d = start_serve(registry, tmp_path)
    keys = {}
    for name, rule in (("acme", {"pattern": r"1\d{3}"}),
                       ("globex", {"pattern": ".*", "priority": 2147483647})):
        status, acct = call(d, "POST", "/v1/accounts", {"name": name})
        assert status == 201, acct
        key = keys[name] = acct["apiKey"]
        assert call(d, "PUT", "/v1/applications/pbx", key=key)[0] == 201
        source = (SCRIPTS / "echo.js").read_text().replace('"echo: ', f'"{name}: ')
        status, saved = call(d, "PUT", "/v1/applications/pbx/scenarios/echo", source,
                             "application/javascript", key)
        assert status == 201, saved
        status, body = call(d, "POST", "/v1/applications/pbx/rules",
                            {"name": "calls", "scenarios": ["echo"], **rule}, key=key)
        assert status == 201, body
    claim(d, keys["acme"], pattern=r"1\d{3}")
    # globex cannot take acme's numbers, not even a catch-all claim.
    status, err = call(d, "POST", "/v1/claims", {"pattern": ".*"}, key=keys["globex"])
    assert status == 409 and err["error"]["code"] == "conflict", err
    status, err = call(d, "POST", "/v1/claims", {"number": "1234"}, key=keys["globex"])
    assert status == 409, err
    claim(d, keys["globex"], number="2000")
    claim(d, keys["globex"], domain="globex.example.com")

    mark = d.mark()
    run = sipp("uac", d.sip_uri_host, service="1234", calls=1, duration_ms=500, timeout_s=20)
    run.run()
    run.assert_ok()
    assert run.counts().get("Successful call") == 1, run.report()
    d.wait_for(r"acme: incoming call from .* to 1234", timeout=10, start=mark)

    # By number, then by domain (maddr sends it to dialtone whatever the host).
    for n, uri in enumerate((f"sip:2000@{d.sip_uri_host}",
                             f"sip:alice@globex.example.com:{d.sip_port};maddr={LOOPBACK}")):
        caller = agent("call", uri, name=f"pjsip{n}", play=tones.wav(440.0),
                       no_telephone_event=True, duration=1.0, max_time=30)
        assert caller.wait_event("confirmed", 15)
        assert caller.wait_event("disconnected", 15)["connected"]
        assert caller.wait_exit(10) == 0
    d.wait_for(r"globex: incoming call from .* to 2000", timeout=10, start=mark)
    d.wait_for(r"globex: incoming call from .* to alice", timeout=10, start=mark)
    assert not d.find_all(r"globex: incoming call from .* to 1234", start=mark)
    assert not d.find_all(r"acme: incoming call from .* to (2000|alice)", start=mark)

    acme = history_of(d, keys["acme"], 1)
    globex = history_of(d, keys["globex"], 2)
    assert [c["to"] for s in acme for c in s["calls"]] == ["1234"], acme
    assert sorted(c["to"] for s in globex for c in s["calls"]) == ["2000", "alice"], globex
    # The admin's history has neither: it claims nothing.
    assert call(d, "GET", "/v1/history")[1]["sessions"] == []
    d.assert_alive()
