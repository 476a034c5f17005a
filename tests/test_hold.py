"""Hold, unhold, UPDATE, INFO and MESSAGE with PJSIP user agents.

scripts/hold_music.js answers and echoes the caller; key 1 puts the caller on
hold with music (a 700 Hz tone script), key 2 brings it back; the caller's own
hold is logged as OnHold/OffHold; INFO and MESSAGE are answered with "echo …".
scripts/forward.js bridges two agents with easyProcess, which relays a hold
from one to the other.

Audio is judged per window of each agent's recording, placed on the agent's
own clock: the recording starts when its media goes active. PJSIP's recorder
stops while its own side holds, so audio after an unhold is judged at the end
of the recording.
"""

from __future__ import annotations

import time

import pytest

import audio
from conftest import FORWARD
from harness import LOOPBACK, SCRIPTS
from sipwire import RawSip, pcmu_offer, sip_request

HOLD_MUSIC = SCRIPTS / "hold_music.js"
A_HZ = 440.0
B_HZ = 1200.0
MUSIC_HZ = 700.0
# Audio to let through before a check: long enough for a frequency estimate.
TALK_S = 1.5


def media_start(agent) -> float:
    """When the agent's recording began (its first active media)."""
    return agent.wait_event("media", 10, active=True)["t"]


def media_status(agent, name: str, start: int, timeout: float = 10.0) -> dict:
    return agent.wait_event("media", timeout, start=start, status_name=name)


@pytest.mark.parametrize("hold_type", ["rfc3264", "rfc2543"])
def test_the_callers_hold_reaches_the_scenario_and_audio_comes_back(
        dialtone, agent, tones, tmp_path, hold_type):
    rec = tmp_path / "heard_by_a.wav"
    d = dialtone(HOLD_MUSIC)
    a = agent("call", d.uri("600"), name="a", play=tones.wav(A_HZ), record=rec, codec="PCMU",
              control=True, max_time=40, extra=["--hold-type", hold_type])
    a.wait_event("confirmed", 15)
    t0 = media_start(a)
    time.sleep(TALK_S)
    mark = len(a.events)
    t_hold = a.run("hold")
    media_status(a, "LOCAL_HOLD", mark)
    d.wait_for(r"the caller put us on hold", 10)
    time.sleep(TALK_S)
    mark = len(a.events)
    t_unhold = a.run("unhold")
    media_status(a, "ACTIVE", mark)
    d.wait_for(r"the caller is back", 10)
    time.sleep(TALK_S + 0.5)
    t_end = a.run("hangup")
    a.wait_event("disconnected", 10)
    assert a.wait_exit(10) == 0
    d.wait_for(r"Disconnected", 10)

    log = d.log_text()
    assert log.index("the caller put us on hold") < log.index("the caller is back"), log
    before = audio.tone_between(rec, 0.5, t_hold - t0 - 0.1)
    after = audio.tone_at_end(rec, t_end - t_unhold - 0.7)
    print(f"{hold_type}: before {before}, after {after}")
    assert abs(before[0] - A_HZ) < A_HZ * 0.05, before
    # The echo is back after the unhold.
    assert abs(after[0] - A_HZ) < A_HZ * 0.05, after
    d.assert_alive()


def test_the_scenario_holds_the_caller_with_music(dialtone, agent, tones, tmp_path):
    """Key 1: the scenario holds the caller with music for 3 s, then takes it
    back (a held phone sends no RTP, so it cannot press keys meanwhile)."""
    rec = tmp_path / "heard_by_a.wav"
    d = dialtone(HOLD_MUSIC)
    a = agent("call", d.uri("600"), name="a", play=tones.wav(A_HZ), record=rec, codec="PCMU",
              control=True, max_time=40)
    a.wait_event("confirmed", 15)
    t0 = media_start(a)
    time.sleep(TALK_S)
    mark = len(a.events)
    t_hold = a.run("dtmf 1")
    media_status(a, "REMOTE_HOLD", mark)
    d.wait_for(r"holding the caller", 10)
    t_unhold = media_status(a, "ACTIVE", mark, timeout=10)["t"]
    d.wait_for(r"back to the caller", 5)
    time.sleep(TALK_S + 0.5)
    t_end = a.run("hangup")
    a.wait_event("disconnected", 10)
    assert a.wait_exit(10) == 0

    held = audio.tone_between(rec, t_hold - t0 + 0.8, t_unhold - t0 - 0.1)
    after = audio.tone_at_end(rec, t_end - t_unhold - 0.8)
    print(f"on hold {held}, after {after}")
    assert abs(held[0] - MUSIC_HZ) < MUSIC_HZ * 0.05, held
    assert abs(after[0] - A_HZ) < A_HZ * 0.05, after
    d.wait_for(r"Disconnected", 10)
    d.assert_alive()


def test_easy_process_relays_a_hold_to_the_other_party(dialtone, agent, tones, tmp_path):
    rec_a, rec_b = tmp_path / "heard_by_a.wav", tmp_path / "heard_by_b.wav"
    b = agent("answer", name="b", play=tones.wav(B_HZ, rate=16000), record=rec_b, codec="PCMU",
              max_time=40)
    d = dialtone(FORWARD, custom_data=f"sip:b@{LOOPBACK}:{b.port}")
    a = agent("call", d.uri("forward"), name="a", play=tones.wav(A_HZ), record=rec_a,
              codec="PCMU", control=True, max_time=40)
    a.wait_event("confirmed", 15)
    b.wait_event("confirmed", 10)
    tb0 = media_start(b)
    time.sleep(TALK_S)
    mark_a, mark_b = len(a.events), len(b.events)
    a.run("hold")
    media_status(a, "LOCAL_HOLD", mark_a)
    # B is told: Dialtone put it on hold on A's behalf.
    media_status(b, "REMOTE_HOLD", mark_b)
    mark_a, mark_b = len(a.events), len(b.events)
    a.run("unhold")
    media_status(a, "ACTIVE", mark_a)
    t_b_back = media_status(b, "ACTIVE", mark_b)["t"]
    time.sleep(TALK_S + 0.5)
    t_end = a.run("hangup")
    a.wait_event("disconnected", 10)
    t_b_end = b.wait_event("disconnected", 10)["t"]
    assert a.wait_exit(10) == 0
    assert b.wait_exit(10) == 0

    heard_a = audio.tone_at_end(rec_a, TALK_S - 0.3)
    heard_b = audio.tone_between(rec_b, t_b_back - tb0 + 0.6, t_b_end - tb0 - 0.2)
    print(f"after unhold: A heard {heard_a}, B heard {heard_b}")
    assert abs(heard_a[0] - B_HZ) < B_HZ * 0.05, heard_a
    assert abs(heard_b[0] - A_HZ) < A_HZ * 0.05, heard_b
    d.assert_alive()


def test_info_message_and_update_inside_a_call(dialtone, agent, tones):
    d = dialtone(HOLD_MUSIC)
    a = agent("call", d.uri("600"), name="a", play=tones.wav(A_HZ), codec="PCMU",
              control=True, max_time=40)
    a.wait_event("confirmed", 15)
    mark = len(a.events)
    a.run("info application/x-test hello")
    d.wait_for(r"hold_music: info application/x-test hello", 10)
    got = a.wait_event("info", 10, start=mark)
    assert got["body"].strip() == "echo hello", got
    assert got["content_type"].startswith("application/x-test"), got

    mark = len(a.events)
    a.run("message hi there")
    d.wait_for(r"hold_music: message hi there", 10)
    got = a.wait_event("message", 10, start=mark)
    assert got["body"] == "echo hi there", got

    # An UPDATE with a new offer is answered and the call goes on.
    mark = len(a.events)
    a.run("update")
    a.wait_event("media", 10, start=mark, status_name="ACTIVE")
    assert not [e for e in a.events if e["event"] == "disconnected"]
    a.run("hangup")
    a.wait_event("disconnected", 10)
    d.wait_for(r"Disconnected", 10)
    assert "panicked" not in d.log_text()
    d.assert_alive()


def test_a_message_over_8_kib_is_refused_413(dialtone):
    """Raw SIP: a MESSAGE body past VoxEngine's 8 KiB limit gets 413 and the
    call goes on; outside a call MESSAGE is not allowed (405)."""
    d = dialtone(HOLD_MUSIC)
    target = (LOOPBACK, d.sip_port)
    with RawSip("udp", target) as sip:
        call_id, tag = "hold-msg-1@127.0.0.1", "caller1"
        sip.send(sip_request("INVITE", target=target, local_port=sip.port, user="600",
                             call_id=call_id, from_tag=tag, body=pcmu_offer(),
                             content_type="application/sdp"))
        ok = sip.final_response(10)
        assert ok is not None and ok.code == 200, ok
        to_tag = ok.header("to").split("tag=")[1].split(";")[0]
        common = dict(target=target, local_port=sip.port, user="600", call_id=call_id,
                      from_tag=tag, to_tag=to_tag)
        sip.send(sip_request("ACK", cseq=1, **common))
        sip.send(sip_request("MESSAGE", cseq=2, body=b"x" * 8193,
                             content_type="text/plain", **common))
        big = sip.final_response(5)
        assert big is not None and big.code == 413, big
        sip.send(sip_request("MESSAGE", cseq=3, body=b"ok", content_type="text/plain", **common))
        small = sip.final_response(5)
        assert small is not None and small.code == 200, small
        d.wait_for(r"hold_music: message ok", 10)
        sip.send(sip_request("MESSAGE", target=target, local_port=sip.port, user="600",
                             body=b"hi", content_type="text/plain"))
        outside = sip.final_response(5)
        assert outside is not None and outside.code == 405, outside
        assert outside.header("allow") == "INVITE, ACK, CANCEL, OPTIONS", outside.headers
        sip.send(sip_request("BYE", cseq=4, **common))
    d.wait_for(r"Disconnected", 10)
    d.assert_alive()


def test_a_caller_with_session_timers_refreshes_and_stays_up(dialtone, agent, tones):
    """RFC 4028 with PJSIP: the caller asks for a 90 s session and refreshes
    it; Dialtone answers with the interval and takes the refresh, so the call
    outlives the 58 s after which it would end unrefreshed."""
    d = dialtone(HOLD_MUSIC)
    a = agent("call", d.uri("600"), name="a", play=tones.wav(A_HZ), codec="PCMU",
              control=True, max_time=120, extra=["--session-expires", "90"])
    confirmed = a.wait_event("confirmed", 15)
    # PJSIP refreshes at half the interval, and Dialtone's answer carries it
    # (the first "answered" is the call's own INVITE).
    first = a.wait_event("answered", 5, method="INVITE")
    refresh = a.wait_event("answered", 60, start=a.events.index(first) + 1, code=200)
    assert refresh["t"] - confirmed["t"] > 40, refresh
    assert refresh["session_expires"].startswith("90"), refresh
    # Unrefreshed, the call would end 58 s after its answer; it outlives that.
    try:
        ended = a.wait_event("disconnected", 65 - (refresh["t"] - confirmed["t"]))
    except AssertionError:
        ended = None
    assert ended is None, f"the call ended early: {ended}"
    a.run("hangup")
    a.wait_event("disconnected", 10)
    d.wait_for(r"Disconnected call=\d+ code=200", 10)
    d.assert_alive()
