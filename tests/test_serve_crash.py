"""``dialtone serve`` killed with SIGKILL right after a burst of calls: after a
restart on the same data directory every session is in history (what was
written before the kill is kept), and none still says ``running``: what the
dead process left open is closed at start as ``interrupted``, with a reason,
and no call is left without an end."""

from __future__ import annotations

import json
from pathlib import Path

from harness import REPO, wait_until
from test_serve import ADMIN_KEY, ServeDialtone, call
from test_serve_history import setup_account

SHORT_CALLS = 200
LONG_CALLS = 3
SESSION_REASON = "the server stopped before the session ended (crash or kill)"
CALL_REASON = "the server stopped before the call ended (crash or kill)"
UAC_SHORT = REPO / "bench" / "sipp" / "uac_short.xml"

# The calls held open across the kill send no RTP: keep them up until then.
ENV = {"DIALTONE_ADMIN_KEY": ADMIN_KEY, "DIALTONE_RTP_HANGUP_AFTER": "0"}


def serve(registry, data_dir: Path, log_path: Path) -> ServeDialtone:
    d = ServeDialtone(data_dir, env=ENV, log_path=log_path)
    registry.add(d)
    return d.start()


def all_sessions(d: ServeDialtone, key: str, query: str = "") -> list[dict]:
    sessions, cursor = [], None
    while True:
        page_query = f"?limit=500{query}" + (f"&cursor={cursor}" if cursor else "")
        status, page = call(d, "GET", f"/v1/history{page_query}", key=key)
        assert status == 200, page
        sessions += page["sessions"]
        cursor = page["nextCursor"]
        if not cursor:
            return sessions


def test_a_restart_closes_what_a_kill_left_open(registry, sipp, tmp_path):
    data = tmp_path / "data"
    d = serve(registry, data, tmp_path / "serve1.log")
    key = setup_account(d, "acme")

    # Calls still up when the server dies: their sessions are written as
    # running (the writer's delay is 500 ms) and can only end by the restart.
    held = sipp("uac", d.sip_uri_host, service="1001", calls=LONG_CALLS, rate=10,
                duration_ms=120_000, timeout_s=150, name="held").start()

    def held_written():
        running = [s for s in all_sessions(d, key) if s["status"] == "running"]
        return len(running) == LONG_CALLS and all(s["calls"] for s in running)
    assert wait_until(held_written, timeout=15, interval=0.2), all_sessions(d, key)

    mark = d.mark()
    burst = sipp(UAC_SHORT, d.sip_uri_host, service="1234", calls=SHORT_CALLS, rate=20,
                 duration_ms=1000, timeout_s=90, name="burst").start()
    # SIGKILL the moment the last short session has ended (its BYE answered):
    # the history of the last half second is still in the writer's queue.
    at = mark
    for _ in range(SHORT_CALLS):
        hit = d.pump.wait(lambda line: "Application.Terminated" in line, timeout=60, start=at)
        assert hit, f"short sessions did not end; log:\n{d.log_text()[-3000:]}"
        at = hit[0] + 1
    d.kill_hard()
    burst.wait()
    burst.assert_ok()
    assert burst.counts().get("Successful call") == SHORT_CALLS, burst.report()
    held.stop()

    again = serve(registry, data, tmp_path / "serve2.log")
    sessions = all_sessions(again, key)
    short = [s for s in sessions if [c["to"] for c in s["calls"]] == ["1234"]]
    long = [s for s in sessions if [c["to"] for c in s["calls"]] == ["1001"]]
    assert (len(short), len(long), len(sessions)) == (SHORT_CALLS, LONG_CALLS,
                                                      SHORT_CALLS + LONG_CALLS), \
        json.dumps(sessions, indent=1)[:5000]

    for s in sessions:
        assert s["status"] in ("ended", "interrupted"), s
        assert s["endedAt"] is not None and s["endedAt"] >= s["startedAt"], s
        if s["status"] == "interrupted":
            assert s["error"] == SESSION_REASON, s
        for c in s["calls"]:
            assert c["endedAt"] is not None, (s["id"], c)
            if c["disconnectCode"] is None:
                assert c["disconnectReason"] == CALL_REASON, (s["id"], c)
    for s in long:
        assert s["status"] == "interrupted", s
        c = s["calls"][0]
        assert c["answeredAt"] is not None and c["durationMs"] is None, c
        assert c["disconnectReason"] == CALL_REASON, c
    interrupted = [s for s in sessions if s["status"] == "interrupted"]
    assert sorted(s["id"] for s in all_sessions(again, key, "&status=interrupted")) == \
        sorted(s["id"] for s in interrupted)
    assert all_sessions(again, key, "&status=running") == []
    print(f"{len(interrupted) - LONG_CALLS} of the {SHORT_CALLS} short sessions were still "
          f"open at the kill; all {SHORT_CALLS + LONG_CALLS} sessions are in history")
    again.wait_for(r"closed sessions and calls the last run left open", timeout=5)

    # A second restart finds nothing left to close.
    again.stop()
    third = serve(registry, data, tmp_path / "serve3.log")
    assert not third.find_all(r"left open")
    assert len(all_sessions(third, key)) == SHORT_CALLS + LONG_CALLS
