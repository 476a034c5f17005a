"""Call playback: startPlayback from the media directory, file:// and http://,
a second playback replacing the first, paths outside the media directory
refused, and progress tones.

scripts/play.js answers, plays ``VoxEngine.customData()`` and hangs up on
``PlaybackFinished``. The fixtures in tests/media are 1.5 s of 440 Hz at
different rates per format (wav 16 kHz, mp3 22.05 kHz, ogg/vorbis 44.1 kHz,
flac 48 kHz), so each is decoded and resampled to the call's rate.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import audio
from conftest import MEDIA, PLAY, PROGRESS, REPLACE
from mediakit import FileServer, event_rx, playback_error_rx

# Longer than any prompt: the script, not the client, must end these calls.
CLIENT_LIMIT_S = 15.0


def _play_and_record(media_dialtone, agent, tmp_path, target: str, name: str = "a", d=None):
    rec = tmp_path / f"heard_{name}.wav"
    d = d or media_dialtone(PLAY, custom_data=target)
    a = agent("call", d.uri("play"), name=name, record=rec, codec="PCMU",
              duration=CLIENT_LIMIT_S, max_time=CLIENT_LIMIT_S + 20)
    ended = a.wait_event("disconnected", CLIENT_LIMIT_S - 2)
    assert ended["connected"], ended
    assert a.find_event("hangup") is None, "the client hung up: the script never did"
    assert a.wait_exit(10) == 0
    return d, rec


@pytest.mark.parametrize("name", ["tone440.wav", "tone440.mp3", "tone440.ogg", "tone440.flac"])
def test_each_format_plays_at_its_pitch(media_dialtone, agent, tmp_path, name):
    d, rec = _play_and_record(media_dialtone, agent, tmp_path, name)
    audio.assert_tone(rec, 440, tolerance=0.02, min_rms=0.05, min_seconds=0.8)
    m = d.wait_for(event_rx("Call.PlaybackStarted") + r".*\bduration=([0-9.]+)s", timeout=5)
    assert 1.4 <= float(m.group(1)) <= 1.7, f"a 1.5 s prompt: {m.group(0)}"
    d.wait_for(event_rx("Call.PlaybackFinished"), timeout=5)
    assert not d.find_all(playback_error_rx()), d.log_text()
    d.assert_alive()


def test_file_url_inside_the_media_dir_plays(media_dialtone, agent, tmp_path):
    d, rec = _play_and_record(media_dialtone, agent, tmp_path, (MEDIA / "tone440.wav").as_uri())
    audio.assert_tone(rec, 440, tolerance=0.02, min_rms=0.05, min_seconds=0.8)
    assert not d.find_all(playback_error_rx()), d.log_text()


@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "file:///etc/passwd",
                                    "no_such_prompt.wav"])
def test_bad_paths_finish_with_an_error(media_dialtone, agent, tmp_path, target):
    """Anything outside --media-dir is refused (and a missing file fails):
    PlaybackFinished carries an error, the script hangs up, dialtone lives on."""
    d, rec = _play_and_record(media_dialtone, agent, tmp_path, target)
    d.wait_for(playback_error_rx(), timeout=5, what="PlaybackFinished with an error")
    d.assert_alive()


def test_second_playback_replaces_the_first(media_dialtone, agent, tmp_path):
    """A looping 440 Hz prompt, replaced after 1 s by a 1 kHz one: the end of
    the call carries 1 kHz alone, not a mix."""
    d, rec = _play_and_record(media_dialtone, agent, tmp_path, "", d=media_dialtone(REPLACE))
    samples, rate = audio.read_wav(rec)
    last = samples[max(0, len(samples) - int(1.1 * rate)):len(samples) - int(0.1 * rate)]
    levels = audio.band_levels(last, rate, (440, 1000))
    assert abs(audio.dominant_frequency(last, rate) - 1000) <= 20, levels
    assert levels[1000] > 0.5 and levels[440] < 0.02, f"last second is a mix: {levels}"
    # The first prompt did play before it was replaced.
    windows = [samples[i:i + rate // 2] for i in range(0, len(samples) - rate // 2, rate // 10)]
    assert any(abs(audio.dominant_frequency(w, rate) - 440) < 10 and audio.rms(w) > 0.05
               for w in windows), "never heard the first (440 Hz) prompt"


def test_http_prompt_plays_and_is_downloaded_once(media_dialtone, agent, tmp_path):
    body = (MEDIA / "tone440.wav").read_bytes()
    with FileServer({"tone.wav": body}) as srv:
        d = media_dialtone(PLAY, custom_data=srv.url("tone.wav"))
        for name in ("first", "second"):
            _, rec = _play_and_record(media_dialtone, agent, tmp_path, "", name=name, d=d)
            audio.assert_tone(rec, 440, tolerance=0.02, min_rms=0.05, min_seconds=0.8)
        seen = srv.wait_requests(1, 5)
        assert srv.full_gets("tone.wav") == 1, f"the cache did not hold the prompt:\n{srv.describe()}"
        assert all(r["status"] in (200, 304) for r in seen), srv.describe()
    assert not d.find_all(playback_error_rx()), d.log_text()


def test_http_prompt_that_is_missing_finishes_with_an_error(media_dialtone, agent, tmp_path):
    with FileServer({}) as srv:
        d, _ = _play_and_record(media_dialtone, agent, tmp_path, srv.url("missing.wav"))
        d.wait_for(playback_error_rx(), timeout=5, what="PlaybackFinished with an error")


def _longest_run_s(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    return audio.active_runs(samples, rate, threshold_dbfs=-35.0)


def test_us_progress_tone_is_440_plus_480_with_its_cadence(media_dialtone, agent, tmp_path):
    """US ringback: 440 + 480 Hz, 2 s on, 4 s off."""
    rec = tmp_path / "heard.wav"
    d = media_dialtone(PROGRESS)
    a = agent("call", d.uri("US"), name="a", record=rec, codec="PCMU", duration=7.5, max_time=40)
    a.wait_event("disconnected", 25)
    assert a.wait_exit(10) == 0  # PJSIP finishes the WAV header when the agent exits
    samples, rate = audio.read_wav(rec)
    runs = _longest_run_s(samples, rate)
    full = [r for r in runs if r[0] > 0.0 and r[0] + r[1] < len(samples) / rate - 0.1]
    assert full, f"no complete tone burst in the recording: runs {runs}"
    start, length = full[0]
    assert 1.7 <= length <= 2.3, f"on-time {length:.2f} s, expected ~2 s: runs {runs}"
    burst = samples[int(start * rate):int((start + length) * rate)]
    levels = audio.band_levels(burst, rate, (440, 480, 1000))
    assert levels[440] > 0.2 and levels[480] > 0.2, f"both bins should be strong: {levels}"
    later = [r for r in runs if r[0] > start + length]
    if later:
        gap = later[0][0] - (start + length)
        assert 3.6 <= gap <= 4.4, f"off-time {gap:.2f} s, expected ~4 s: runs {runs}"
    d.assert_alive()


def test_ru_progress_tone_is_425_hz(media_dialtone, agent, tmp_path):
    rec = tmp_path / "heard.wav"
    d = media_dialtone(PROGRESS)
    a = agent("call", d.uri("RU"), name="a", record=rec, codec="PCMU", duration=5.0, max_time=40)
    a.wait_event("disconnected", 25)
    assert a.wait_exit(10) == 0  # PJSIP finishes the WAV header when the agent exits
    samples, rate = audio.read_wav(rec)
    runs = _longest_run_s(samples, rate)
    assert runs, "silence: no progress tone"
    start, length = max(runs, key=lambda r: r[1])
    burst = samples[int(start * rate):int((start + length) * rate)]
    assert abs(audio.dominant_frequency(burst, rate) - 425) <= 425 * 0.02, runs
    assert re.search(r"progress: RU", d.log_text())
