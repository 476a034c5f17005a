"""The session log on stdout: one line per Logger.write and per session event,
each carrying its session id, in text and in JSON."""

from __future__ import annotations

import json
import re

from conftest import ECHO


def test_text_log_lines_carry_the_session(dialtone, sipp):
    d = dialtone(ECHO, log_format="text")
    start = d.mark()
    run = sipp("uac", d.sip_uri_host, calls=2, rate=2, limit=1, duration_ms=200, timeout_s=20)
    run.run()
    run.assert_ok()
    d.wait_for(r"kind=event.*Disconnected", timeout=5, start=start)
    logged = d.find_all(r"session=(\S+).*kind=log.*echo: answering", start)
    assert len(logged) == 2, d.log_text()
    sessions = {m.group(1) for m in logged}
    assert len(sessions) == 2, f"two calls should run in two sessions: {sessions}"
    # SIPp is done once its BYEs are answered; each session logs its
    # Disconnected event when its script has run, which may come a moment later.
    for s in sessions:
        d.wait_for(rf"session={re.escape(s)}\b.*kind=event.*Disconnected", timeout=5,
                   start=start, what=f"a Disconnected event for session {s}")


def _session_of(record: dict):
    for key, value in record.items():
        if "session" in key.lower() and isinstance(value, (str, int)):
            return str(value)
        if isinstance(value, dict):
            inner = _session_of(value)
            if inner:
                return inner
    return None


def test_json_log_lines_carry_the_session(dialtone, sipp):
    d = dialtone(ECHO, log_format="json")
    run = sipp("uac", d.sip_uri_host, calls=1, duration_ms=200, timeout_s=20)
    run.run()
    run.assert_ok()
    d.wait_for(r"Disconnected", timeout=5)
    records = []
    for line in d.lines:
        if line.startswith("{"):
            records.append(json.loads(line))  # every JSON-looking line must parse
    assert records, d.log_text()
    answered = [r for r in records if "echo: answering" in json.dumps(r)]
    assert len(answered) == 1, d.log_text()
    session = _session_of(answered[0])
    assert session, f"Logger.write record without a session field: {answered[0]}"
    ended = [r for r in records if "Disconnected" in json.dumps(r) and _session_of(r) == session]
    assert ended, f"no Disconnected event record for session {session}\n{d.log_text()}"
