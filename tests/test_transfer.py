"""Blind transfers with PJSIP user agents.

scripts/transfer_desk.js puts a caller through to a desk (custom data); the
desk's phone transfers the caller on (REFER), Dialtone calls the new number,
bridges the caller there and tells the desk (NOTIFY 200). tests/scenarios/
transfer_out.js asks the caller's own phone to call someone else
(`call.transferTo`, a REFER to the caller) and reports how it went.
"""

from __future__ import annotations

import time

import audio
from harness import LOOPBACK, SCENARIOS, SCRIPTS

DESK = SCRIPTS / "transfer_desk.js"
TRANSFER_OUT = SCENARIOS / "transfer_out.js"
C_HZ, A_HZ, B_HZ = 440.0, 1200.0, 700.0
TALK_S = 2.0


def test_the_desk_transfers_the_caller_with_its_phone(dialtone, agent, tones, tmp_path):
    rec_c, rec_b = tmp_path / "heard_by_c.wav", tmp_path / "heard_by_b.wav"
    b = agent("answer", name="b", play=tones.wav(B_HZ, rate=16000), record=rec_b,
              codec="PCMU", max_time=40)
    a = agent("answer", name="a", play=tones.wav(A_HZ, rate=16000), codec="PCMU",
              control=True, max_time=40)
    d = dialtone(DESK, custom_data=f"sip:desk@{LOOPBACK}:{a.port}")
    c = agent("call", d.uri("700"), name="c", play=tones.wav(C_HZ), record=rec_c,
              codec="PCMU", control=True, max_time=40)
    c.wait_event("confirmed", 15)
    a.wait_event("confirmed", 10)
    a.run(f"xfer sip:b@{LOOPBACK}:{b.port}")
    d.wait_for(r"transfer_desk: transfer to sip:b@", 10)
    b_up = b.wait_event("confirmed", 10)
    # The desk hears that the transfer went through and leaves.
    status = a.wait_event("xfer_status", 10, final=True)
    assert status["code"] == 200, status
    a.wait_event("disconnected", 10)
    time.sleep(TALK_S)
    c.run("hangup")
    c.wait_event("disconnected", 10)
    b_end = b.wait_event("disconnected", 10)
    assert c.wait_exit(10) == 0 and b.wait_exit(10) == 0 and a.wait_exit(10) == 0

    heard_b = audio.tone_between(rec_b, 0.5, b_end["t"] - b_up["t"] - 0.2)
    heard_c = audio.tone_at_end(rec_c, TALK_S - 0.6)
    print(f"B heard {heard_b}; C heard at the end {heard_c}")
    assert abs(heard_b[0] - C_HZ) < C_HZ * 0.05, heard_b
    assert abs(heard_c[0] - B_HZ) < B_HZ * 0.05, heard_c
    log = d.log_text()
    assert "Call.BlindTransferRequested" in log
    d.assert_alive()


def test_a_refer_the_scenario_does_not_handle_is_declined(dialtone, agent, tones):
    b = agent("answer", name="b", max_time=30)
    d = dialtone(SCRIPTS / "hold_music.js")
    c = agent("call", d.uri("600"), name="c", play=tones.wav(C_HZ), codec="PCMU",
              control=True, max_time=30)
    c.wait_event("confirmed", 15)
    c.run(f"xfer sip:b@{LOOPBACK}:{b.port}")
    status = c.wait_event("xfer_status", 10)
    assert status["code"] == 603, status
    assert not b.find_event("incoming")
    c.run("hangup")
    c.wait_event("disconnected", 10)
    d.assert_alive()


def test_transfer_to_asks_the_callers_phone_to_call_the_target(dialtone, agent, tones, tmp_path):
    rec_c = tmp_path / "heard_by_c.wav"
    b = agent("answer", name="b", play=tones.wav(B_HZ, rate=16000), codec="PCMU", max_time=40)
    d = dialtone(TRANSFER_OUT, custom_data=f"sip:b@{LOOPBACK}:{b.port}")
    c = agent("call", d.uri("800"), name="c", play=tones.wav(C_HZ), record=rec_c,
              codec="PCMU", control=True, max_time=40)
    c.wait_event("confirmed", 15)
    req = c.wait_event("xfer_request", 10)
    assert req["dst"].startswith(f"<sip:b@{LOOPBACK}:{b.port}") or \
        req["dst"].startswith(f"sip:b@{LOOPBACK}:{b.port}"), req
    # C's phone calls B itself; B answers; Dialtone hears of it and hangs up.
    b.wait_event("confirmed", 10)
    d.wait_for(r"transfer_out: complete", 10)
    c.wait_event("disconnected", 10, call=0)
    time.sleep(TALK_S)
    c.run("hangup")
    b.wait_event("disconnected", 10)
    assert c.wait_exit(10) == 0
    heard = audio.tone_at_end(rec_c, TALK_S - 0.6)
    assert abs(heard[0] - B_HZ) < B_HZ * 0.05, heard
    d.assert_alive()


def test_an_attended_transfer_leaves_the_two_phones_talking(dialtone, agent, tones, tmp_path):
    """The caller's phone calls B with Replaces (from Dialtone's REFER) and
    takes the place of Dialtone's call to B; Dialtone leaves both calls and
    the two phones talk directly."""
    rec_c, rec_b = tmp_path / "heard_by_c.wav", tmp_path / "heard_by_b.wav"
    b = agent("answer", name="b", play=tones.wav(B_HZ, rate=16000), record=rec_b,
              codec="PCMU", max_time=40, mode_opts=["--calls", "2"])
    d = dialtone(SCENARIOS / "attended.js", custom_data=f"sip:b@{LOOPBACK}:{b.port}")
    c = agent("call", d.uri("900"), name="c", play=tones.wav(C_HZ), record=rec_c,
              codec="PCMU", control=True, max_time=40)
    c.wait_event("confirmed", 15)
    b.wait_event("confirmed", 10)
    c.run("dtmf 1")
    req = c.wait_event("xfer_request", 10)
    assert "Replaces=" in req["dst"], req
    b.wait_event("replaced", 10)
    d.wait_for(r"attended: complete", 10)
    d.wait_for(r"Application\.Terminated", 10)
    time.sleep(TALK_S)
    c.run("hangup")
    assert c.wait_exit(10) == 0
    assert b.wait_exit(10) == 0
    heard_c = audio.tone_at_end(rec_c, TALK_S - 0.6)
    heard_b = audio.tone_at_end(rec_b, TALK_S - 0.6)
    print(f"C heard {heard_c}; B heard {heard_b}")
    assert abs(heard_c[0] - B_HZ) < B_HZ * 0.05, heard_c
    assert abs(heard_b[0] - C_HZ) < C_HZ * 0.05, heard_b
    d.assert_alive()


def test_a_phone_hands_its_call_over_with_replaces(dialtone, agent, tones, tmp_path):
    """A talks to C through Dialtone and calls B directly; A's attended
    transfer (REFER to B with Replaces naming A's dialog with Dialtone) makes
    B's INVITE take A's place in the session: C and B then talk through
    Dialtone, and A's leg ends with BYE."""
    rec_c, rec_b = tmp_path / "heard_by_c.wav", tmp_path / "heard_by_b.wav"
    c = agent("answer", name="c", play=tones.wav(C_HZ, rate=16000), record=rec_c,
              codec="PCMU", control=True, max_time=40)
    d = dialtone(DESK, custom_data=f"sip:desk@{LOOPBACK}:{c.port}")
    b = agent("answer", name="b", play=tones.wav(B_HZ, rate=16000), record=rec_b,
              codec="PCMU", max_time=40, mode_opts=["--calls", "2"])
    a = agent("call", d.uri("700"), name="a", play=tones.wav(A_HZ), codec="PCMU",
              control=True, max_time=40)
    a.wait_event("confirmed", 15, call=0)
    c.wait_event("confirmed", 10)
    a.run(f"dial sip:b@{LOOPBACK}:{b.port}")
    a.wait_event("confirmed", 10, call=1)
    a.run("xfer_replaces 1 0")
    req = b.wait_event("xfer_request", 10)
    assert "Replaces=" in req["dst"], req
    b_up = b.wait_event("confirmed", 10, call=1)
    # Dialtone ends A's old dialog; A's phone ends its call to B once B's
    # NOTIFY says the new call is up.
    gone = a.wait_event("disconnected", 10, call=0)
    assert gone["connected"], gone
    assert a.wait_exit(15) == 0
    time.sleep(TALK_S)
    c.run("hangup")
    c.wait_event("disconnected", 10)
    b_end = b.wait_event("disconnected", 10, call=1)
    assert b.wait_exit(10) == 0 and c.wait_exit(10) == 0
    assert b_end["t"] - b_up["t"] > TALK_S
    heard_b = audio.tone_at_end(rec_b, TALK_S - 0.6)
    heard_c = audio.tone_at_end(rec_c, TALK_S - 0.6)
    print(f"B heard {heard_b}; C heard at the end {heard_c}")
    assert abs(heard_c[0] - B_HZ) < B_HZ * 0.05, heard_c
    assert abs(heard_b[0] - C_HZ) < C_HZ * 0.05, heard_b
    d.assert_alive()
