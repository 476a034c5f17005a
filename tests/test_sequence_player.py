"""`VoxEngine.createSequencePlayer` through scripts/sequence.js: a greeting
(TTS), a chime (a URL) and a goodbye (TTS) heard by a real PJSIP caller, in
that order and back to back, with the segment markers at their places. The
TTS engine is an HTTP one that answers every text with a 700 Hz tone, so
every segment can be told apart by frequency."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

import audio
from conftest import SCRIPTS
from mediakit import TtsServer
from test_tts import _call  # a PJSIP caller the scenario must hang up on

SEQUENCE = SCRIPTS / "sequence.js"
SPEECH_HZ, CHIME_HZ = 700.0, 1200.0
SPEECH_S, CHIME_S = 0.8, 1.0
FRAME_S = 0.02


def _runs(rec) -> list[tuple[float, float, float]]:
    """(Hz, start s, length s) of each run of 20 ms frames that one of the two
    tones dominates, in order."""
    samples, rate = audio.read_wav(rec)
    n = int(FRAME_S * rate)
    labels = []
    for i in range(0, len(samples) - n, n):
        frame = samples[i:i + n].astype(np.float64)
        if audio.dbfs(audio.rms(frame)) < -40.0:
            labels.append(0.0)
            continue
        power = {hz: audio.goertzel_power(frame, rate, hz) for hz in (SPEECH_HZ, CHIME_HZ)}
        best = max(power, key=power.get)
        labels.append(best if power[best] > 0.5 * audio.rms(frame) ** 2 / 2 else 0.0)
    runs: list[tuple[float, float, float]] = []
    for i, hz in enumerate(labels):
        if hz and runs and runs[-1][0] == hz and abs(runs[-1][1] + runs[-1][2] - i * FRAME_S) < 1e-6:
            runs[-1] = (hz, runs[-1][1], runs[-1][2] + FRAME_S)
        elif hz:
            runs.append((hz, i * FRAME_S, FRAME_S))
    # Edge frames shared by two tones come out as short runs of their own.
    return [r for r in runs if r[2] >= 0.1]


def _at(line: str) -> dt.datetime:
    return dt.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))


def test_segments_play_in_order_back_to_back_with_their_markers(media_dialtone, agent, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    audio.write_tone_wav(media / "chime.wav", CHIME_HZ, CHIME_S, 8000)
    speech = audio.write_tone_wav(tmp_path / "speech.wav", SPEECH_HZ, SPEECH_S, 8000)
    with TtsServer(speech.read_bytes()) as srv:
        d = media_dialtone(SEQUENCE, media_dir=media, tts_url=srv.url("/tts"), tts_engine="http",
                           custom_data="chime.wav")
        rec = _call(d, agent, tmp_path, "700")
        texts = sorted(p["body"].get("text", "") for p in srv.posts())
    assert texts == ["Goodbye.", "Thanks for calling Dialtone."], texts

    runs = _runs(rec)
    assert [r[0] for r in runs] == [SPEECH_HZ, CHIME_HZ, SPEECH_HZ], runs
    (_, g0, glen), (_, c0, clen), (_, b0, blen) = runs
    for length, want in ((glen, SPEECH_S), (clen, CHIME_S), (blen, SPEECH_S)):
        assert abs(length - want) <= 0.1, runs
    # Back to back: no gap between segments.
    assert abs(c0 - (g0 + glen)) <= 0.06 and abs(b0 - (c0 + clen)) <= 0.06, runs

    total = 2 * SPEECH_S + CHIME_S
    started = d.wait_for(r"sequence: ([0-9.]+) s", timeout=1)
    assert abs(float(started.group(1)) - total) <= 0.05, started.group(0)
    first = d.wait_for(r"sequence: marker 0\b", timeout=1)
    last = d.wait_for(r"sequence: marker -500\b", timeout=1)
    # Marker 0 of the chime comes as the chime starts; -500 of the goodbye
    # half a second before it ends: CHIME_S + SPEECH_S - 0.5 s later.
    gap = (_at(last.string) - _at(first.string)).total_seconds()
    assert abs(gap - (CHIME_S + SPEECH_S - 0.5)) <= 0.1, (gap, first.string, last.string)
    assert re.search(r"SequencePlayer\.Created player=\d+", d.log_text()), d.log_text()
    d.assert_alive()


def test_a_segment_that_cannot_be_had_fails_the_sequence_naming_it(media_dialtone, agent, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    speech = audio.write_tone_wav(tmp_path / "speech.wav", SPEECH_HZ, SPEECH_S, 8000)
    with TtsServer(speech.read_bytes()) as srv:
        d = media_dialtone(SEQUENCE, media_dir=media, tts_url=srv.url("/tts"), tts_engine="http",
                           custom_data="missing.wav")
        _call(d, agent, tmp_path, "700")
    d.wait_for(r"sequence failed: segment 1: ", timeout=1)
    assert "sequence: marker" not in d.log_text(), d.log_text()
    d.assert_alive()
