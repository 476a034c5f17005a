"""Text to speech through tests/scenarios/say.js: espeak-ng (the offline
default) and the HTTP engine (``--tts-url``), its cache, and the failures that
must end in ``PlaybackFinished`` with an error instead of a hang."""

from __future__ import annotations

import audio
from conftest import SAY
from mediakit import TtsServer, event_rx, playback_error_rx

CLIENT_LIMIT_S = 25.0
TTS_HZ = 1000.0


def _call(d, agent, tmp_path, user: str, name: str = "a"):
    rec = tmp_path / f"heard_{name}.wav"
    a = agent("call", d.uri(user), name=name, record=rec, codec="PCMU",
              duration=CLIENT_LIMIT_S, max_time=CLIENT_LIMIT_S + 20)
    ended = a.wait_event("disconnected", CLIENT_LIMIT_S - 2)
    assert ended["connected"], ended
    assert a.find_event("hangup") is None, "the client hung up: the script never did"
    assert a.wait_exit(10) == 0
    return rec


def test_espeak_speaks_to_the_caller(media_dialtone, agent, tmp_path):
    d = media_dialtone(SAY)
    rec = _call(d, agent, tmp_path, "espeak")
    samples, rate = audio.read_wav(rec)
    speech = audio.active_seconds(samples, rate, threshold_dbfs=-40.0)
    assert speech >= 0.5, f"only {speech:.2f} s above -40 dBFS: {audio.analyze(rec)}"
    d.wait_for(event_rx("Call.PlaybackFinished"), timeout=5)
    assert not d.find_all(playback_error_rx()), d.log_text()
    d.assert_alive()


def test_text_over_1500_characters_is_refused(media_dialtone, agent, tmp_path):
    d = media_dialtone(SAY)
    _call(d, agent, tmp_path, "long")
    d.wait_for(playback_error_rx(), timeout=5, what="PlaybackFinished with an error")
    d.assert_alive()


def test_http_engine_audio_reaches_the_caller_and_is_cached(media_dialtone, agent, tmp_path):
    wav = audio.write_tone_wav(tmp_path / "tts.wav", TTS_HZ, 2.0, 16000)
    with TtsServer(wav.read_bytes()) as srv:
        d = media_dialtone(SAY, tts_url=srv.url("/tts"))
        for name in ("first", "second"):
            rec = _call(d, agent, tmp_path, "http", name=name)
            audio.assert_tone(rec, TTS_HZ, tolerance=0.02, min_rms=0.05, min_seconds=1.0)
        posts = srv.posts()
        assert posts, "no POST reached the TTS server"
        body = posts[0]["body"]
        assert isinstance(body, dict) and "Hello world" in body.get("text", ""), srv.describe()
        assert {"text", "voice", "rate"} <= set(body), f"POST body lacks fields: {body}"
        assert len(posts) == 1, f"same engine, voice and text twice: want one synthesis\n{srv.describe()}"
    assert not d.find_all(playback_error_rx()), d.log_text()


def test_http_engine_failure_finishes_with_an_error(media_dialtone, agent, tmp_path):
    with TtsServer(b"", status=500) as srv:
        d = media_dialtone(SAY, tts_url=srv.url("/tts"))
        _call(d, agent, tmp_path, "http")
        assert srv.posts(), "no POST reached the TTS server"
    d.wait_for(playback_error_rx(), timeout=5, what="PlaybackFinished with an error")
    d.assert_alive()


def test_http_engine_unreachable_finishes_with_an_error(media_dialtone, agent, tmp_path, ports):
    nobody = ports.sip_port()
    d = media_dialtone(SAY, tts_url=f"http://127.0.0.1:{nobody}/tts")
    _call(d, agent, tmp_path, "http")
    d.wait_for(playback_error_rx(), timeout=5, what="PlaybackFinished with an error")
    d.assert_alive()
