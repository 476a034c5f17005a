"""Conferences with PJSIP parties, checked by frequency.

scripts/conference.js puts a caller and two called parties in one
conference: each hears the other two and not itself. scripts/supervise.js
adds a supervisor to a customer-agent conference and switches it between
listen, whisper and barge without any re-INVITE. scripts/meet.js joins callers
of separate sessions in a conference session (callConference).
"""

from __future__ import annotations

import time

import audio
from harness import LOOPBACK, SCENARIOS, SCRIPTS

C_HZ, A_HZ, B_HZ = 440.0, 1200.0, 700.0
PHASE_S = 2.5
PRESENT, ABSENT = 0.05, 0.01


class Clock:
    """Maps the test's monotonic clock onto one agent's recording."""

    def __init__(self, agent):
        before = time.monotonic()
        t = agent.run("ping")
        after = time.monotonic()
        self.offset = (before + after) / 2 - t
        self.rec_start = agent.wait_event("recording", 10)["t"]

    def at(self, mono: float) -> float:
        return mono - self.offset - self.rec_start


def levels(path, clock: Clock, start: float, end: float) -> dict[float, float]:
    samples, rate = audio.read_wav(path)
    a, b = clock.at(start), clock.at(end)
    part = samples[int(a * rate):int(b * rate)]
    assert len(part) > rate // 2, f"{path}: too little audio between {a:.2f} and {b:.2f} s"
    return audio.band_levels(part, rate, (C_HZ, A_HZ, B_HZ))


def hears(got: dict[float, float], present: tuple[float, ...], absent: tuple[float, ...],
          who: str) -> None:
    for hz in present:
        assert got[hz] > PRESENT, f"{who} should hear {hz:.0f} Hz: {got}"
    for hz in absent:
        assert got[hz] < ABSENT, f"{who} should not hear {hz:.0f} Hz: {got}"


def test_three_parties_each_hear_the_other_two_and_not_themselves(dialtone, agent, tones,
                                                                  tmp_path):
    recs = {k: tmp_path / f"heard_by_{k}.wav" for k in "cab"}
    a = agent("answer", name="a", play=tones.wav(A_HZ, rate=16000), record=recs["a"],
              codec="PCMU", control=True, max_time=40)
    b = agent("answer", name="b", play=tones.wav(B_HZ, rate=16000), record=recs["b"],
              codec="PCMU", control=True, max_time=40)
    d = dialtone(SCRIPTS / "conference.js",
                 custom_data=f"sip:a@{LOOPBACK}:{a.port},sip:b@{LOOPBACK}:{b.port}")
    c = agent("call", d.uri("800"), name="c", play=tones.wav(C_HZ), record=recs["c"],
              codec="PCMU", control=True, max_time=40)
    c.wait_event("confirmed", 15)
    d.wait_for(r"conference: BOTH endpoint added, 3 in", 15)
    clocks = {"c": Clock(c), "a": Clock(a), "b": Clock(b)}
    start = time.monotonic()
    time.sleep(PHASE_S)
    end = time.monotonic()
    c.run("hangup")
    for p in (c, a, b):
        p.wait_event("disconnected", 10)
    d.wait_for(r"conference: stopped", 10)
    assert c.wait_exit(10) == 0 and a.wait_exit(10) == 0 and b.wait_exit(10) == 0
    got = {k: levels(recs[k], clocks[k], start + 0.5, end - 0.2) for k in "cab"}
    print(f"band shares heard: {got}")
    hears(got["c"], (A_HZ, B_HZ), (C_HZ,), "the caller")
    hears(got["a"], (C_HZ, B_HZ), (A_HZ,), "A")
    hears(got["b"], (C_HZ, A_HZ), (B_HZ,), "B")
    d.assert_alive()


def test_a_supervisor_listens_whispers_and_barges_in(dialtone, agent, tones, tmp_path):
    recs = {k: tmp_path / f"heard_by_{k}.wav" for k in "cas"}
    a = agent("answer", name="agent", play=tones.wav(A_HZ, rate=16000), record=recs["a"],
              codec="PCMU", control=True, max_time=60)
    s = agent("answer", name="supervisor", play=tones.wav(B_HZ, rate=16000),
              record=recs["s"], codec="PCMU", control=True, max_time=60)
    d = dialtone(SCRIPTS / "supervise.js",
                 custom_data=f"sip:agent@{LOOPBACK}:{a.port},sip:sup@{LOOPBACK}:{s.port}")
    c = agent("call", d.uri("900"), name="customer", play=tones.wav(C_HZ), record=recs["c"],
              codec="PCMU", control=True, max_time=60)
    c.wait_event("confirmed", 15)
    d.wait_for(r"supervise: listen", 15)
    clocks = {"c": Clock(c), "a": Clock(a), "s": Clock(s)}
    windows = {}
    for phase, key in (("listen", None), ("whisper", "2"), ("barge", "3")):
        if key:
            mark = d.mark()
            c.run(f"dtmf {key}")
            d.wait_for(rf"supervise: {phase}", 10, start=mark)
        start = time.monotonic()
        time.sleep(PHASE_S)
        windows[phase] = (start + 0.5, time.monotonic() - 0.2)
    c.run("hangup")
    for p in (c, a, s):
        p.wait_event("disconnected", 10)
    assert c.wait_exit(10) == 0 and a.wait_exit(10) == 0 and s.wait_exit(10) == 0
    got = {(phase, k): levels(recs[k], clocks[k], *windows[phase])
           for phase in windows for k in "cas"}
    for key, value in got.items():
        print(f"{key}: {value}")
    # Listen: the supervisor hears both and is heard by none.
    hears(got["listen", "s"], (C_HZ, A_HZ), (), "the listening supervisor")
    hears(got["listen", "c"], (A_HZ,), (B_HZ,), "the customer while the supervisor listens")
    hears(got["listen", "a"], (C_HZ,), (B_HZ,), "the agent while the supervisor listens")
    # Whisper: the agent hears the supervisor, the customer does not.
    hears(got["whisper", "a"], (C_HZ, B_HZ), (), "the agent during the whisper")
    hears(got["whisper", "c"], (A_HZ,), (B_HZ,), "the customer during the whisper")
    # Barge: everyone hears everyone.
    hears(got["barge", "c"], (A_HZ, B_HZ), (), "the customer after the barge")
    hears(got["barge", "a"], (C_HZ, B_HZ), (), "the agent after the barge")
    d.assert_alive()


def test_callers_in_separate_sessions_meet_in_a_conference_session(dialtone, agent, tones,
                                                                   tmp_path):
    """Each caller has its own session, which reaches the conference session
    with VoxEngine.callConference: units of different sessions (and media
    workers) meet, and each caller hears the two others."""
    hz = {"c": C_HZ, "a": A_HZ, "b": B_HZ}
    recs = {k: tmp_path / f"heard_by_{k}.wav" for k in hz}
    d = dialtone(SCRIPTS / "meet.js", extra_args=["--media-workers", "2"])
    callers = {}
    for k, f in hz.items():
        callers[k] = agent("call", d.uri(f"70{len(callers)}"), name=k, play=tones.wav(f),
                           record=recs[k], codec="PCMU", control=True, max_time=40)
        callers[k].wait_event("confirmed", 15)
        d.wait_for(rf"meet: {len(callers)} in the room", 10)
    clocks = {k: Clock(p) for k, p in callers.items()}
    start = time.monotonic()
    time.sleep(PHASE_S)
    end = time.monotonic()
    for p in callers.values():
        p.run("hangup")
        p.wait_event("disconnected", 10)
    d.wait_for(r"meet: 0 left in the room", 10)
    for p in callers.values():
        assert p.wait_exit(10) == 0
    got = {k: levels(recs[k], clocks[k], start + 0.5, end - 0.2) for k in hz}
    print(f"band shares heard: {got}")
    for k, own in hz.items():
        others = tuple(f for j, f in hz.items() if j != k)
        hears(got[k], others, (own,), k)
    d.assert_alive()
