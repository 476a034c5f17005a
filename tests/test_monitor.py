"""Silent monitor: A and B talk through dialtone while A's audio also goes one
way to C (tests/scenarios/monitor.js). C hears A and nothing of B; A and B
still hear each other."""

from __future__ import annotations

import audio
from conftest import MONITOR
from harness import LOOPBACK

A_HZ = 440.0
B_HZ = 1200.0
TALK_S = 4.0


def test_third_call_hears_a_while_a_and_b_talk(dialtone, agent, tones, tmp_path):
    rec_a, rec_b, rec_c = (tmp_path / f"heard_by_{n}.wav" for n in "abc")
    b = agent("answer", name="b", play=tones.wav(B_HZ, rate=16000), record=rec_b, max_time=40)
    c = agent("answer", name="c", record=rec_c, max_time=40)
    d = dialtone(MONITOR, custom_data=f"sip:b@{LOOPBACK}:{b.port} sip:c@{LOOPBACK}:{c.port}")
    a = agent("call", d.uri("monitor"), name="a", play=tones.wav(A_HZ), record=rec_a, codec="PCMU",
              no_telephone_event=True, duration=TALK_S, max_time=40)
    a.wait_event("confirmed", 15)
    b.wait_event("confirmed", 10)
    c.wait_event("confirmed", 10)
    ended = a.wait_event("disconnected", TALK_S + 15)
    assert ended["connected"], ended
    b.wait_event("disconnected", 10)
    c.wait_event("disconnected", 10)
    for x in (a, b, c):
        assert x.wait_exit(10) == 0

    audio.assert_tone(rec_a, B_HZ)
    audio.assert_tone(rec_b, A_HZ)
    heard_c = audio.assert_tone(rec_c, A_HZ)
    samples, rate = audio.read_wav(rec_c)
    levels = audio.band_levels(samples[int(0.3 * rate):], rate, (A_HZ, B_HZ))
    assert levels[B_HZ] < 0.02, f"C must not hear B: {levels} ({heard_c})"
    d.assert_alive()
