"""``dialtone serve`` call history: sessions, calls, session logs and
recordings stored per account, queryable over REST and kept across restarts."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from conftest import RECORD_ECHO
from harness import LOOPBACK, SCRIPTS, SIPP_DIR, wait_until
from test_serve import ServeDialtone, call, claim, start_serve, ADMIN_KEY


def fetch_raw(d: ServeDialtone, path: str, key: str | None) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://{LOOPBACK}:{d.http_port}{path}")
    if key is not None:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def setup_account(d: ServeDialtone, name: str, claims: bool = True) -> str:
    """An account with the same scenarios and rules; with `claims`, it also
    claims the numbers its rules match (only one account can)."""
    status, acct = call(d, "POST", "/v1/accounts", {"name": name})
    assert status == 201, acct
    key = acct["apiKey"]
    assert call(d, "PUT", "/v1/applications/pbx", key=key)[0] == 201
    for scenario, path in (("echo", SCRIPTS / "echo.js"), ("rec", RECORD_ECHO)):
        status, saved = call(d, "PUT", f"/v1/applications/pbx/scenarios/{scenario}",
                             path.read_text(), "application/javascript", key)
        assert status == 201, saved
    for rule in ({"name": "ext", "pattern": r"1\d{3}", "scenarios": ["echo"]},
                 {"name": "rec", "pattern": "rec", "scenarios": ["rec"]}):
        status, body = call(d, "POST", "/v1/applications/pbx/rules", rule, key=key)
        assert status == 201, body
    if claims:
        claim(d, key, pattern=r"1\d{3}")
        claim(d, key, number="rec")
    return key


def ended_sessions(d: ServeDialtone, key: str, want: int, query: str = "") -> list[dict]:
    """The account's sessions once `want` of them have ended (history is
    written in batches, off the call path)."""
    def ready():
        status, page = call(d, "GET", f"/v1/history{query}", key=key)
        assert status == 200, page
        done = [s for s in page["sessions"] if s["status"] != "running"]
        return page["sessions"] if len(done) >= want else None
    sessions = wait_until(ready, timeout=15, interval=0.2)
    assert sessions is not None, call(d, "GET", f"/v1/history{query}", key=key)
    return sessions


def test_history_lists_sessions_calls_logs_and_recordings(registry, sipp, tmp_path):
    d = start_serve(registry, tmp_path)
    key = setup_account(d, "acme")
    # The same rules, but no claims: none of these calls reaches them.
    other = setup_account(d, "other", claims=False)

    run = sipp("uac", d.sip_uri_host, service="1234", calls=3, duration_ms=300, timeout_s=30)
    run.run()
    run.assert_ok()
    assert run.counts().get("Successful call") == 3, run.report()
    # No rule matches 999: rejected before any session exists.
    xml = (SIPP_DIR / "uac_busy.xml").read_text().replace('response="486"', 'response="404"')
    expect_404 = tmp_path / "uac_404.xml"
    expect_404.write_text(xml)
    miss = sipp(expect_404, d.sip_uri_host, service="999", calls=1, timeout_s=20)
    miss.run()
    miss.assert_ok()

    sessions = ended_sessions(d, key, 3)
    assert len(sessions) == 3, json.dumps(sessions, indent=1)
    for s in sessions:
        assert s["application"] == "pbx" and s["status"] == "ended", s
        assert len(s["calls"]) == 1, s
        c = s["calls"][0]
        assert c["direction"] == "inbound" and c["to"] == "1234", c
        assert c["disconnectCode"] is not None, c
        assert c["durationMs"] is not None and c["durationMs"] >= 0, c
        assert c["answeredAt"] is not None, c

    # Filters and pagination.
    assert call(d, "GET", "/v1/history?number=999", key=key)[1]["sessions"] == []
    assert len(call(d, "GET", "/v1/history?number=1234", key=key)[1]["sessions"]) == 3
    assert call(d, "GET", "/v1/history?status=failed", key=key)[1]["sessions"] == []
    status, first = call(d, "GET", "/v1/history?limit=2", key=key)
    assert status == 200 and len(first["sessions"]) == 2 and first["nextCursor"], first
    status, rest = call(d, "GET", f"/v1/history?limit=2&cursor={first['nextCursor']}", key=key)
    assert status == 200 and len(rest["sessions"]) == 1 and rest["nextCursor"] is None, rest
    assert call(d, "GET", "/v1/history?limit=x", key=key)[0] == 400

    sid = sessions[0]["id"]
    status, detail = call(d, "GET", f"/v1/history/{sid}", key=key)
    assert status == 200, detail
    assert detail["status"] == "ended" and len(detail["calls"]) == 1, detail
    assert any("echo: incoming call" in line for line in detail["log"]), detail["log"]

    # Another account sees none of it.
    assert call(d, "GET", "/v1/history", key=other)[1]["sessions"] == []
    assert call(d, "GET", f"/v1/history/{sid}", key=other)[0] == 404

    # A recording session: the file is listed and served to its owner only.
    rec = sipp("uac", d.sip_uri_host, service="rec", calls=1, duration_ms=500, timeout_s=30)
    rec.run()
    rec.assert_ok()
    recorded = ended_sessions(d, key, 1, "?number=rec")
    assert len(recorded) == 1, recorded
    recordings = recorded[0]["calls"][0]["recordings"]
    assert len(recordings) == 1, recorded
    rid = recordings[0]["id"]
    status, wav = fetch_raw(d, f"/v1/recordings/{rid}", key)
    assert status == 200 and wav[:4] == b"RIFF", (status, wav[:64])
    # Served from disk with ranges, so players can seek.
    req = urllib.request.Request(f"http://{LOOPBACK}:{d.http_port}/v1/recordings/{rid}")
    req.add_header("Authorization", f"Bearer {key}")
    req.add_header("Range", "bytes=4-11")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 206 and resp.read() == wav[4:12]
        assert resp.headers["Content-Type"] == "audio/wav"
    assert fetch_raw(d, f"/v1/recordings/{rid}", other)[0] == 404
    assert fetch_raw(d, "/v1/recordings/..%2Fdialtone.db", key)[0] == 404
    # The URL the script was given is the owner-only one; nothing is served
    # without a key, and there is no public /recordings/ route in serve.
    status, rec_detail = call(d, "GET", f"/v1/history/{recorded[0]['id']}", key=key)
    assert status == 200, rec_detail
    started = [line for line in rec_detail["log"] if "record_echo: started " in line]
    assert started and started[0].rstrip().endswith(f"/v1/recordings/{rid}"), rec_detail["log"]
    assert fetch_raw(d, f"/v1/recordings/{rid}", None)[0] == 401
    assert fetch_raw(d, f"/recordings/{rid}", key)[0] == 404

    # History survives a restart.
    d.stop()
    again = ServeDialtone(tmp_path / "data", env={"DIALTONE_ADMIN_KEY": ADMIN_KEY},
                          log_path=tmp_path / "serve2.log")
    registry.add(again)
    again.start()
    status, page = call(again, "GET", "/v1/history", key=key)
    assert status == 200 and len(page["sessions"]) == 4, page
    status, detail = call(again, "GET", f"/v1/history/{sid}", key=key)
    assert status == 200 and detail["log"], detail
    assert fetch_raw(again, f"/v1/recordings/{rid}", key)[0] == 200
