"""DTMF in and out through scripts/dtmf_echo.js.

The script enables ``handleTones(true)``, logs every ``Call.ToneReceived`` and
sends each digit back with ``sendDigits``. A PJSIP client sends digits by
RFC 4733 (telephone-event), by SIP INFO, or in-band as audio when it did not
negotiate telephone-event. Each key press must appear exactly once in the
session log, in order, and come back to the client exactly once: by RFC 4733
when negotiated, else by SIP INFO.
"""

from __future__ import annotations

import pytest

import audio
from conftest import DTMF_ECHO
from mediakit import tones_logged, wait_tones

DIGITS = "1234567890*#"
# pjsua mutes its audio for ~200 ms per RFC 2833 digit: keep key presses apart.
GAP_S = 0.35
LEAD_S = 1.0


@pytest.mark.parametrize("method,telephone_event,back_by", [
    ("rfc2833", True, "rfc2833"),
    ("info", True, "rfc2833"),
    ("info", False, "info"),
])
def test_digits_are_received_once_and_sent_back(dialtone, agent, method, telephone_event, back_by):
    d = dialtone(DTMF_ECHO)
    talk = LEAD_S + GAP_S * len(DIGITS) + 3.0
    a = agent("call", d.uri("dtmf"), name="a", codec="PCMU", no_telephone_event=not telephone_event,
              dtmf=DIGITS, dtmf_method=method, dtmf_delay=LEAD_S, dtmf_gap=GAP_S,
              duration=talk, max_time=talk + 30)
    a.wait_event("confirmed", 15)
    logged = wait_tones(d, len(DIGITS), talk + 5)
    ended = a.wait_event("disconnected", talk + 15)
    assert ended["connected"], ended
    assert a.wait_exit(10) == 0
    assert a.digits("dtmf_sent") == DIGITS, a.describe_events()
    # Everything has arrived by the hang-up: a repeated end packet or a
    # retransmitted INFO would show here as a doubled digit.
    assert tones_logged(d) == DIGITS, f"session log tones {tones_logged(d)!r} (waited: {logged!r})"
    assert a.digits("dtmf") == DIGITS, a.describe_events()
    methods = {e["method"] for e in a.events if e["event"] == "dtmf"}
    assert methods == {back_by}, f"digits came back by {methods}, expected {back_by}"
    d.assert_alive()


def test_handle_tones_is_off_by_default(dialtone, agent):
    """Without handleTones(true) no ToneReceived is raised: scripts/echo.js."""
    from conftest import ECHO
    d = dialtone(ECHO)
    a = agent("call", d.uri("echo"), name="a", codec="PCMU", dtmf="123", dtmf_delay=0.5,
              dtmf_gap=GAP_S, duration=3.0, max_time=30)
    a.wait_event("disconnected", 20)
    assert a.digits("dtmf_sent") == "123"
    d.wait_for(r"Disconnected", timeout=5)
    assert tones_logged(d) == "", d.log_text()


def test_inband_digits_are_detected_once_each(dialtone, agent, tmp_path):
    """No telephone-event in the SDP: the digits arrive only as audio (100 ms
    tones, 100 ms gaps, -10 dBFS per tone) and are found by the in-band
    detector; they go back by SIP INFO."""
    rate = 16000
    wav = audio.write_wav(tmp_path / "dtmf.wav",
                          audio.dtmf_samples(DIGITS, rate, tone_s=0.1, gap_s=0.1, level_dbfs=-10.0,
                                             lead_s=1.5, tail_s=0.5), rate)
    # The file as played must read back as the digits (the generator is right).
    assert audio.detect_dtmf(*audio.read_wav(wav)) == DIGITS
    d = dialtone(DTMF_ECHO)
    a = agent("call", d.uri("dtmf"), name="a", codec="PCMU", no_telephone_event=True,
              play=wav, play_once=True, duration=6.5, max_time=40)
    a.wait_event("confirmed", 15)
    wait_tones(d, len(DIGITS), 15)
    ended = a.wait_event("disconnected", 20)
    assert ended["connected"], ended
    assert tones_logged(d) == DIGITS, d.log_text()
    assert a.digits("dtmf") == DIGITS, a.describe_events()
    assert {e["method"] for e in a.events if e["event"] == "dtmf"} == {"info"}
    d.assert_alive()
