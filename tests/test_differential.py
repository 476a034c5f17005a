"""Differential test: every example scenario, run by the real engine against
real peers and by the simulator (``dialtone test``) against its spec, must show
the same sequence of session events and log lines (normalized: see
tests/differential.py for how each spec is reproduced and what is left out).

The normalizer's own tests come first: pure Python, no processes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import differential as diff
from harness import SCRIPTS

EXAMPLES = diff.example_scripts()

# --- the normalizer (no processes) ------------------------------------------------------------


def test_every_example_has_a_spec():
    scripts = {p.stem for p in SCRIPTS.glob("*.js") if not p.name.endswith(".spec.js")}
    assert {p.stem for p in EXAMPLES} == scripts, "every scripts/X.js needs scripts/X.spec.json"


def test_split_event_reads_quoted_values_states_and_bare_errors():
    name, parts = diff.split_event('Call.Failed call=3 code=486 reason="Busy \\"Here\\""')
    assert name == "Call.Failed"
    assert parts == [("call", "3"), ("code", "486"), ("reason", 'Busy "Here"')]
    assert diff.split_event("Call.StateChanged call=1 ALERTING -> CONNECTED")[1] == [
        ("call", "1"), (None, "ALERTING"), (None, "->"), (None, "CONNECTED")]
    # Net responses write their error unquoted, to the end of the line.
    assert diff.split_event("HttpResponse request=2 code=-1 error=connection refused (os 111)")[1] == [
        ("request", "2"), ("code", "-1"), ("error", "connection refused (os 111)")]


def test_ids_become_labels_by_first_appearance_per_kind():
    n = diff.normalize([
        "Application.CallAlerting call=7 from=alice to=100",
        "Call.Ringing call=9",
        "Player.Created player=9",
        "Call.Connected call=9",
        "Call.Connected call=7",
    ], [])
    assert n.events == [
        "Application.CallAlerting call=call#1 from=alice to=100",
        "Call.Ringing call=call#2",
        "Player.Created player=player#1",
        "Call.Connected call=call#2",
        "Call.Connected call=call#1",
    ]


def test_media_only_events_are_dropped_and_timing_values_masked():
    n = diff.normalize([
        "Call.Connected call=1",
        "Call.FirstAudioPacketReceived call=1",
        "Call.RtpStopped call=1",
        "Call.RtpResumed call=1",
        "Call.PlaybackStarted call=1 duration=3.295s",
        "Call.RecordStopped call=1 url=http://127.0.0.1:4000/recordings/x-4.wav duration=1.540s",
        "Call.Disconnected call=1 code=200 reason=\"BYE\" duration=7s",
    ], [])
    assert n.events == [
        "Call.Connected call=call#1",
        "Call.PlaybackStarted call=call#1 duration=*",
        "Call.RecordStopped call=call#1 url=* duration=*",
        "Call.Disconnected call=call#1 code=200 reason=BYE duration=*",
    ]


def test_what_the_comparison_keeps_can_make_it_fail():
    base = ["Call.Failed call=2 code=486 reason=\"Busy Here\"",
            "Call.StateChanged call=1 ALERTING -> CONNECTED",
            "Call.ToneReceived call=1 tone=#",
            "Call.Disconnected call=1 code=200 reason=\"BYE\" duration=1s",
            "HttpResponse request=1 code=204 bytes=0",
            "Player.PlaybackFinished player=3 error=\"cannot decode\""]
    same = diff.normalize(base, ["log a"])
    assert diff.compare(same, diff.normalize(list(base), ["log a"])) is None
    for i, changed in [(0, "Call.Failed call=2 code=480 reason=\"Busy Here\""),
                       (0, "Call.Failed call=2 code=486 reason=\"Gone\""),
                       (1, "Call.StateChanged call=1 PROGRESSING -> CONNECTED"),
                       (2, "Call.ToneReceived call=1 tone=5"),
                       (3, "Call.Disconnected call=1 code=487 reason=\"BYE\" duration=1s"),
                       (4, "HttpResponse request=1 code=500 bytes=0"),
                       (5, "Player.PlaybackFinished player=3")]:
        other = list(base)
        other[i] = changed
        assert diff.compare(same, diff.normalize(other, ["log a"])), f"{changed!r} went unnoticed"
    swapped = [base[1], base[0], *base[2:]]
    assert diff.compare(same, diff.normalize(swapped, ["log a"])), "order went unnoticed"
    assert diff.compare(same, diff.normalize(base[:-1], ["log a"])), "a missing event went unnoticed"
    assert diff.compare(same, diff.normalize(base, ["log b"])), "a different log line went unnoticed"
    assert diff.compare(same, diff.normalize(base, ["log a"], ["boom"])), "a script error went unnoticed"


def test_local_addresses_map_back_and_access_paths_lose_their_secret():
    addresses = diff.AddressMap({"sip:bob@127.0.0.1:40001": "sip:bob@example.com",
                                 "http://127.0.0.1:5000/h0/report": "https://voicemail.example.com/report"})
    n = diff.normalize(
        ["Application.HttpRequest method=POST path=/access/01a2-77/81144b5a/tone bytes=13",
         "Application.HttpRequest method=GET path=/access/1/sim bytes=0"],
        ["forward: alice -> sip:bob@127.0.0.1:40001",
         "reporting {} to http://127.0.0.1:5000/h0/report"], addresses=addresses)
    assert n.events == ["Application.HttpRequest method=POST path=/tone bytes=13",
                        "Application.HttpRequest method=GET path=/ bytes=0"]
    assert n.logs == ["forward: alice -> sip:bob@example.com",
                      "reporting {} to https://voicemail.example.com/report"]


def test_recording_urls_masks_and_ids_in_logs():
    real = diff.normalize(
        ["Call.Connected call=4", "Call.Connected call=3"],
        ["voicemail: recording to http://127.0.0.1:45570/recordings/01a2-4.wav",
         "voicemail: message http://127.0.0.1:45570/recordings/01a2-4.wav (1.54 s)",
         'body {"url":"http://127.0.0.1:45570/recordings/01a2-4.wav","duration":1.54}'],
        log_masks=diff.LOG_MASKS["voicemail"])
    sim = diff.normalize(
        ["Call.Connected call=2", "Call.Connected call=1"],
        ["voicemail: recording to sim://recordings/01a2357b-e742-4.wav",
         "voicemail: message sim://recordings/01a2357b-e742-4.wav (16.5 s)",
         'body {"url":"sim://recordings/01a2357b-e742-4.wav","duration":16.5}'],
        log_masks=diff.LOG_MASKS["voicemail"])
    assert diff.compare(real, sim) is None, diff.compare(real, sim)
    assert real.logs[1] == "voicemail: message <recording#1> (<s> s)"
    # The simulator's older URL form, and a second recording, get their own label.
    assert diff.normalize([], ["a sim://recording/1 b sim://recording/2 c sim://recording/1"]).logs == [
        "a <recording#1> b <recording#2> c <recording#1>"]
    # Serve's recording URLs too.
    assert diff.normalize([], ["x http://127.0.0.1:9/v1/recordings/abc.wav"]).logs == ["x <recording#1>"]
    # Call ids a script logs take the events' labels: same calls, same text.
    ids = diff.LOG_IDS["forward"]
    a = diff.normalize(["Call.Ringing call=8", "Call.Connected call=7"], ["forward: connected 7 <-> 8"], log_ids=ids)
    b = diff.normalize(["Call.Ringing call=2", "Call.Connected call=1"], ["forward: connected 1 <-> 2"], log_ids=ids)
    c = diff.normalize(["Call.Ringing call=2", "Call.Connected call=1"], ["forward: connected 2 <-> 1"], log_ids=ids)
    assert a.logs == b.logs == ["forward: connected call#2 <-> call#1"]
    assert diff.compare(a, c), "swapped call ids went unnoticed"


def test_side_by_side_marks_every_kind_of_difference():
    text = diff.side_by_side(["a", "b", "c"], ["a", "x", "c", "d"])
    lines = text.splitlines()[2:]
    assert lines[0].startswith("= a")
    assert lines[1].startswith("! b") and lines[1].endswith("| x")
    assert lines[2].startswith("= c")
    assert lines[3].startswith(">") and lines[3].endswith("| d")


def test_plan_compresses_long_waits_and_keeps_order():
    echo = diff.plan_steps("echo", diff.load_spec(SCRIPTS / "echo.js"))
    assert [(s.at, s.delay_ms) for s in echo] == [(150000, diff.GAP_CAP_MS)]
    dtmf = diff.plan_steps("dtmf_echo", diff.load_spec(SCRIPTS / "dtmf_echo.js"))
    assert [s.delay_ms for s in dtmf] == [1000, 2000, 3000]  # short gaps stay as written
    ivr = diff.plan_steps("ivr", diff.load_spec(SCRIPTS / "ivr.js"))
    assert "PlaybackFinished" in ivr[0].anchor
    rc = diff.plan_steps("remote_control", diff.load_spec(SCRIPTS / "remote_control.js"))
    delays = [s.delay_ms for s in rc]
    assert delays == sorted(delays) and len(set(delays)) == 3


@pytest.mark.parametrize("behaviour, must, must_not", [
    ({"ring": 200, "fail": 486, "failAfter": 3000}, ["180 Ringing", "486 Busy Here", 'milliseconds="2800"'],
     ["CANCEL", "BYE"]),
    ({"ring": 200}, ["180 Ringing", 'request="CANCEL"', "487"], ["200 OK\n      [last_Via:]\n      [last_From:]\n      [last_To:];tag"]),
    ({"ring": 300, "answer": 2000}, ["180 Ringing", "application/sdp", 'request="BYE"', 'milliseconds="1700"'], ["CANCEL"]),
    ({"answer": 1500, "hangupAfter": 60000}, ["application/sdp", "BYE [next_url]", f'milliseconds="{diff.GAP_CAP_MS}"'],
     ["180 Ringing", 'request="BYE"']),
])
def test_callee_scenarios_follow_the_spec(behaviour, must, must_not):
    xml = diff.uas_scenario("sip:bob@example.com", behaviour)
    ET.fromstring(xml.split("\n", 2)[2])  # well-formed (past the XML and DOCTYPE lines)
    for text in must:
        assert text in xml, f"{text!r} missing from\n{xml}"
    for text in must_not:
        assert text not in xml, f"{text!r} unexpected in\n{xml}"


# --- real vs simulated --------------------------------------------------------------------------


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_real_and_simulated_runs_agree(script, registry, tmp_path):
    why = diff.unsupported(diff.load_spec(script))
    if why:
        pytest.skip(f"{script.name}: {why}")
    # The simulator first: it takes milliseconds, and without it there is nothing to compare.
    sim, sim_error = None, None
    try:
        sim = diff.sim_run(script)
    except diff.SimUnavailable as exc:
        sim_error = str(exc)
    if sim_error:
        pytest.fail(f"the simulated half failed:\n{sim_error}", pytrace=False)
    real = diff.real_run(script, tmp_path, objects=registry.objects)
    problems = diff.compare(real.normalized(script.stem), sim.normalized(script.stem))
    if problems:
        notes = "\n".join(real.notes[:-1])  # the last note is the dialtone log, in the report already
        sim_notes = "\n".join(sim.notes)
        pytest.fail(f"{script.name}: the real engine and the simulator disagree\n{problems}\n\n"
                    f"--- real run ---\n{notes}\n--- simulated run ---\n{sim_notes or '(no notes)'}",
                    pytrace=False)
    assert not real.peer_failures, "\n".join(real.peer_failures)
