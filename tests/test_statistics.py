"""CallEvents.Statistics with a PJSIP caller: packet counts, loss, jitter and
the round-trip time from the RTCP reports PJSIP and Dialtone exchange."""

from __future__ import annotations

import re

from harness import SCENARIOS

STATS = re.compile(r"stats: sent=(\d+) received=(\d+) lost=(\d+) lossRate=(\S+) "
                   r"jitter=(\S+) rtt=(\S+) remoteLossRate=(\S+)")


def test_statistics_report_packets_jitter_and_round_trip(dialtone, agent, tones):
    d = dialtone(SCENARIOS / "stats.js")
    c = agent("call", d.uri("600"), name="c", play=tones.wav(440.0), codec="PCMU",
              control=True, max_time=40)
    c.wait_event("confirmed", 15)
    first = d.wait_for(STATS.pattern, 10)
    # PJSIP answers our first sender report in its next one: the round trip
    # follows within a report or two.
    mark = d.mark()
    with_rtt = None
    for _ in range(3):
        m = d.wait_for(STATS.pattern, 10, start=mark)
        mark = d.mark()
        if m.group(6) != "none":
            with_rtt = m
            break
    c.run("hangup")
    c.wait_event("disconnected", 10)
    assert with_rtt is not None, "no report with a round-trip time"
    sent, received, lost = (int(first.group(i)) for i in (1, 2, 3))
    # About 50 packets a second each way over the first 5 s.
    assert 200 <= sent <= 300 and 200 <= received <= 300, first.group(0)
    assert lost == 0, first.group(0)
    jitter, rtt = float(with_rtt.group(5)), float(with_rtt.group(6))
    print(f"first: {first.group(0)}; later: {with_rtt.group(0)}")
    assert 0.0 <= jitter < 20.0, with_rtt.group(0)
    # Loopback: well under 50 ms either way.
    assert 0.0 <= rtt < 50.0, with_rtt.group(0)
    assert with_rtt.group(7) != "null", "PJSIP's report on our stream"
    d.assert_alive()
