"""Standalone players and recorders: one URL player feeding two calls of a
session (heard by two real PJSIP user agents) and a recorder, with a marker."""

from __future__ import annotations

import audio
from mediakit import fetch
from conftest import SCENARIOS
from harness import LOOPBACK

SHARED_PLAYER = SCENARIOS / "shared_player.js"
TALK_S = 3.0


def test_one_player_feeds_two_calls(media_dialtone, agent, tmp_path):
    rec_a, rec_b = tmp_path / "a.wav", tmp_path / "b.wav"
    b = agent("answer", name="b", record=rec_b, max_time=40)
    d = media_dialtone(SHARED_PLAYER, custom_data=f"sip:b@{LOOPBACK}:{b.port}")
    a = agent("call", d.uri("player"), name="a", record=rec_a, codec="PCMU",
              duration=TALK_S, max_time=40)
    a.wait_event("confirmed", 15)
    b.wait_event("confirmed", 5)
    ended = a.wait_event("disconnected", TALK_S + 15)
    assert ended["connected"], ended
    b.wait_event("disconnected", 10)
    assert a.wait_exit(10) == 0
    assert b.wait_exit(10) == 0
    # Both parties hear the one player, not each other (they are silent anyway).
    audio.assert_tone(rec_a, 440.0, tolerance=0.02, min_rms=0.05)
    audio.assert_tone(rec_b, 440.0, tolerance=0.02, min_rms=0.05)
    d.wait_for(r"Player\.Created", timeout=1)
    d.wait_for(r"shared_player: started, duration 1\.[0-9]", timeout=1)
    d.wait_for(r"shared_player: marker 500", timeout=1)
    # The recorder heard the player too; its file is served over HTTP.
    m = d.wait_for(r"shared_player: recorder stopped (\S+) after ([0-9.]+)", timeout=10)
    assert m.group(1).startswith(f"{d.http_base}/recordings/"), m.group(0)
    got = fetch(m.group(1), tmp_path / "recorder.wav")
    heard = audio.assert_tone(got, 440.0, tolerance=0.02, min_rms=0.05)
    assert abs(heard.duration_s - float(m.group(2))) <= 0.2, (heard, m.group(0))
    d.assert_alive()
