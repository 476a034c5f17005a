"""The media test tools checked against each other, without dialtone.

PJSIP calls PJSIP directly: its DTMF (RFC 2833 and SIP INFO) must arrive as
sent, in-band DTMF must survive G.711 for the reference detector, and the
analysis helpers, the fixtures in tests/media and the HTTP peers must do what
the media tests rely on. If these fail, the media tests cannot be trusted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request

import numpy as np
import pytest

import audio
import mediakit
from conftest import MEDIA

DIGITS = "1234567890*#"


@pytest.mark.parametrize("method", ["rfc2833", "info"])
def test_pjsip_dtmf_reaches_pjsip(agent, tmp_path, method):
    b = agent("answer", name="b", max_time=40)
    a = agent("call", f"sip:b@127.0.0.1:{b.port}", name="a", dtmf=DIGITS, dtmf_method=method,
              dtmf_delay=0.5, dtmf_gap=0.3, duration=0.5 + 0.3 * len(DIGITS) + 1.5, max_time=40)
    a.wait_event("disconnected", 30)
    assert a.wait_exit(10) == 0
    b.wait_event("disconnected", 5)
    assert a.digits("dtmf_sent") == DIGITS
    assert b.digits("dtmf") == DIGITS, b.describe_events()
    assert {e["method"] for e in b.events if e["event"] == "dtmf"} == {method}


def test_inband_dtmf_survives_g711_between_pjsip_agents(agent, tmp_path):
    """The WAV the in-band test plays, through PJSIP's PCMU, is still read back
    digit for digit by the reference detector."""
    wav = audio.write_wav(tmp_path / "dtmf.wav", audio.dtmf_samples(DIGITS, 16000, lead_s=0.8), 16000)
    rec = tmp_path / "heard.wav"
    b = agent("answer", name="b", record=rec, no_telephone_event=True, max_time=40)
    a = agent("call", f"sip:b@127.0.0.1:{b.port}", name="a", play=wav, play_once=True,
              codec="PCMU", no_telephone_event=True, duration=4.5, max_time=40)
    a.wait_event("disconnected", 20)
    b.wait_event("disconnected", 5)
    assert b.wait_exit(10) == 0
    samples, rate = audio.read_wav(rec)
    assert audio.detect_dtmf(samples, rate) == DIGITS


def test_dtmf_detector_ignores_single_tones_and_silence():
    rate = 8000
    quiet = np.zeros(rate)
    tone = audio.tone_samples(1000, 1.0, rate)
    row_only = audio.tone_samples(697, 1.0, rate, 0.3)
    assert audio.detect_dtmf(np.concatenate([quiet, tone, row_only]), rate) == ""


def test_progress_tone_analysis_sees_both_bins_and_the_cadence():
    rate = 8000
    on = audio.tone_samples(440, 2.0, rate, 0.2) + audio.tone_samples(480, 2.0, rate, 0.2)
    sig = np.concatenate([on, np.zeros(4 * rate), on[: rate]])
    levels = audio.band_levels(sig, rate, (440, 480, 1000))
    assert levels[440] > 0.3 and levels[480] > 0.3 and levels[1000] < 0.01, levels
    runs = audio.active_runs(sig, rate)
    assert runs[0][0] == 0 and abs(runs[0][1] - 2.0) < 0.05 and abs(runs[1][0] - 6.0) < 0.05, runs


def test_stereo_reader_keeps_channels_apart(tmp_path):
    import wave
    rate = 8000
    left = audio.to_pcm16(audio.tone_samples(440, 1.0, rate))
    right = audio.to_pcm16(audio.tone_samples(1200, 1.0, rate))
    path = tmp_path / "st.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.column_stack([left, right]).astype("<i2").tobytes())
    data, r = audio.read_wav_channels(path)
    assert data.shape == (rate, 2) and r == rate
    assert abs(audio.dominant_frequency(data[:, 0], rate) - 440) < 2
    assert abs(audio.dominant_frequency(data[:, 1], rate) - 1200) < 2


@pytest.mark.parametrize("name", ["tone440.wav", "tone440.mp3", "tone440.ogg", "tone440.flac"])
def test_playback_fixtures_are_small_440_hz_tones(tmp_path, name):
    src = MEDIA / name
    assert src.stat().st_size <= 60 * 1024
    sox = shutil.which("sox")
    assert sox, "sox is needed to decode the fixtures"
    out = tmp_path / "decoded.wav"
    subprocess.run([sox, str(src), "-b", "16", "-c", "1", str(out)], check=True, timeout=30,
                   capture_output=True)
    a = audio.assert_tone(out, 440, tolerance=0.01, min_seconds=0.8)
    assert a.duration_s >= 1.4


def test_file_server_counts_full_and_conditional_gets():
    body = (MEDIA / "tone440.wav").read_bytes()
    with mediakit.FileServer({"tone.wav": body}) as srv:
        with urllib.request.urlopen(srv.url("tone.wav"), timeout=5) as r:
            assert r.read() == body
            etag = r.headers["ETag"]
        req = urllib.request.Request(srv.url("tone.wav"), headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 304
        assert srv.full_gets("tone.wav") == 1
        assert [r["status"] for r in srv.wait_requests(2, 5)] == [200, 304]


@pytest.mark.parametrize("status", [200, 500])
def test_tts_server_answers_posts(status):
    wav = (MEDIA / "tone1000.wav").read_bytes()
    with mediakit.TtsServer(wav, status=status) as srv:
        req = urllib.request.Request(srv.url("/tts"), method="POST",
                                     data=json.dumps({"text": "hi", "voice": None, "rate": 1.0}).encode(),
                                     headers={"Content-Type": "application/json"})
        if status == 200:
            with urllib.request.urlopen(req, timeout=5) as r:
                assert r.read() == wav
        else:
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(req, timeout=5)
            assert err.value.code == status
        assert srv.posts()[0]["body"]["text"] == "hi"


def test_espeak_ng_is_installed_and_speaks(tmp_path):
    """say() with the default engine needs espeak-ng on the machine."""
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is not installed (Debian package espeak-ng)"
    out = tmp_path / "speech.wav"
    subprocess.run([exe, "-w", str(out), "Hello world, one two three."], check=True, timeout=30,
                   capture_output=True)
    samples, rate = audio.read_wav(out)
    assert audio.active_seconds(samples, rate) >= 0.5
