"""Media through dialtone between two PJSIP user agents.

A calls dialtone, which runs scripts/forward.js: it calls B (the SIP URI in
--custom-data) and bridges the two calls. Each side plays its own tone and
records what it hears; each must hear the other's tone.
"""

from __future__ import annotations

import pytest

import audio
from conftest import ECHO, FORWARD
from harness import LOOPBACK, PORTS

A_HZ = 440.0
B_HZ = 1200.0
TALK_S = 3.0


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_forward_bridges_audio_both_ways(dialtone, agent, tones, tmp_path, codec):
    rec_a, rec_b = tmp_path / "heard_by_a.wav", tmp_path / "heard_by_b.wav"
    b = agent("answer", name="b", play=tones.wav(B_HZ, rate=16000), record=rec_b, max_time=40)
    d = dialtone(FORWARD, custom_data=f"sip:b@{LOOPBACK}:{b.port}")
    a = agent("call", d.uri("forward"), name="a", play=tones.wav(A_HZ), record=rec_a,
              codec=codec, no_telephone_event=True, duration=TALK_S, max_time=40)

    a.wait_event("confirmed", 15)
    b.wait_event("confirmed", 5)
    ended = a.wait_event("disconnected", TALK_S + 15)
    assert ended["connected"], ended
    # A hung up: B must be released by dialtone, not by its own timer.
    b_end = b.wait_event("disconnected", 10)
    assert b_end["connected"], b_end
    assert a.wait_exit(10) == 0
    assert b.wait_exit(10) == 0

    heard_a = audio.assert_tone(rec_a, B_HZ)
    heard_b = audio.assert_tone(rec_b, A_HZ)
    print(f"A heard: {heard_a}\nB heard: {heard_b}")
    d.wait_for(r"Disconnected", timeout=5)
    d.assert_alive()


def test_forward_passes_busy_back(dialtone, agent):
    b = agent("answer", name="b", max_time=30, mode_opts=["--reply", "486"])
    d = dialtone(FORWARD, custom_data=f"sip:b@{LOOPBACK}:{b.port}")
    a = agent("call", d.uri("forward"), name="a", duration=TALK_S, max_time=30)
    ended = a.wait_event("disconnected", 15)
    assert not ended["connected"], ended
    assert ended["code"] == 486, ended
    b.wait_event("disconnected", 5)
    d.assert_alive()


def test_forward_to_nobody_fails_the_caller(dialtone, agent):
    """Nothing listens at B's address: the outbound leg times out (408) or hits a
    transport error (503), and A gets that code."""
    nobody = PORTS.sip_port()
    d = dialtone(FORWARD, custom_data=f"sip:b@{LOOPBACK}:{nobody}")
    # Timer B is 64*T1 = 32 s: leave room for it.
    a = agent("call", d.uri("forward"), name="a", duration=TALK_S, max_time=60)
    ended = a.wait_event("disconnected", 45)
    assert not ended["connected"], ended
    assert ended["code"] in (408, 503), ended
    # The code came from dialtone's failed outbound leg, not from A's own timer.
    d.wait_for(r"Failed", timeout=5, what="the outbound call's Failed event")
    d.assert_alive()


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_echo_returns_the_callers_tone(dialtone, agent, tones, tmp_path, codec):
    rec = tmp_path / "heard.wav"
    d = dialtone(ECHO)
    a = agent("call", d.uri("echo"), name="a", play=tones.wav(A_HZ), record=rec, codec=codec,
              no_telephone_event=True, duration=TALK_S, max_time=30)
    ended = a.wait_event("disconnected", TALK_S + 15)
    assert ended["connected"], ended
    assert a.wait_exit(10) == 0
    audio.assert_tone(rec, A_HZ)
    d.wait_for(r"Disconnected", timeout=5)
    d.assert_alive()
