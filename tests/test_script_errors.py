"""Script failures stay inside their session: the call gets an error response
(or a BYE), the log names the failing line, other sessions keep working."""

from __future__ import annotations

import audio
from harness import SCENARIOS

THROWS = SCENARIOS / "throw_alerting.js"
THROW_LINE = 3  # the `throw` in throw_alerting.js
LOOP_OR_ECHO = SCENARIOS / "loop_or_echo.js"


def test_exception_in_call_alerting_fails_the_call(dialtone, agent):
    d = dialtone(THROWS)
    a = agent("call", d.uri("anyone"), name="a", duration=2, max_time=20)
    ended = a.wait_event("disconnected", 15)
    # Unanswered when the script died: a 500 (an answered call would get a BYE).
    assert not ended["connected"], ended
    assert ended["code"] == 500, ended
    m = d.wait_for(rf"throw_alerting\.js:{THROW_LINE}\b", timeout=5,
                   what=f"the error's position throw_alerting.js:{THROW_LINE}")
    assert "scenario failure on purpose" in d.log_text(), d.log_text()
    print(m.string)
    d.assert_alive()


def test_exception_does_not_poison_the_next_call(dialtone, agent):
    d = dialtone(THROWS)
    for i in range(3):
        a = agent("call", d.uri("anyone"), name=f"a{i}", duration=1, max_time=20)
        assert a.wait_event("disconnected", 15)["code"] == 500
        a.wait_exit(10)
    d.assert_alive()


def test_endless_loop_ends_its_call_only(dialtone, agent, tones, tmp_path):
    d = dialtone(LOOP_OR_ECHO)
    heard = tmp_path / "echo_heard.wav"
    # Both calls at once: the spinning one and a healthy echo call.
    spinner = agent("call", d.uri("loop"), name="spinner", duration=20, max_time=40)
    talker = agent("call", d.uri("echo"), name="talker", play=tones.wav(440), record=heard,
                   codec="PCMU", no_telephone_event=True, duration=4, max_time=40)

    spinner.wait_event("confirmed", 15)
    d.wait_for("spinning", timeout=10)
    # dialtone must end the spinning session's call well before the caller's
    # own 20 s hang-up.
    end = spinner.wait_event("disconnected", 15)
    assert end["connected"], end
    assert end["talk_s"] < 15, f"the spinning call lasted {end['talk_s']} s: {end}"
    assert not spinner.find_event("hangup"), "the caller hung up first: dialtone never ended the call"

    talker_end = talker.wait_event("disconnected", 20)
    assert talker_end["connected"], talker_end
    assert talker.wait_exit(10) == 0
    audio.assert_tone(heard, 440)
    d.assert_alive()


def test_process_serves_new_calls_after_a_spinning_session(dialtone, sipp, agent):
    d = dialtone(LOOP_OR_ECHO)
    spinner = agent("call", d.uri("loop"), name="spinner", duration=20, max_time=40)
    spinner.wait_event("disconnected", 20)
    run = sipp("uac", d.sip_uri_host, service="echo", calls=5, rate=5, duration_ms=300, timeout_s=20)
    run.run()
    run.assert_ok()
    d.assert_alive()
