"""MP3 call recording (``record({format: "mp3"})``): served over dialtone's
HTTP listener, decodable by sox, and carrying the call's audio."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import audio
from harness import SCENARIOS
from mediakit import event_rx, fetch, record_url

RECORD_MP3 = SCENARIOS / "record_mp3.js"
TONE_HZ = 1000.0


def _mp3_to_wav(src: Path, dest: Path) -> Path:
    sox = shutil.which("sox")
    assert sox, "sox (Debian sox with libsox-fmt-mp3) is needed"
    out = subprocess.run([sox, str(src), "-b", "16", "-e", "signed-integer", "-t", "wav", str(dest)],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, f"sox cannot decode {src}: {out.stderr}"
    return dest


def _looks_like_mp3(data: bytes) -> bool:
    """An ID3v2 tag or an MPEG audio frame sync at the start."""
    return data[:3] == b"ID3" or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def test_mono_mp3_recording_is_served_and_carries_the_call(media_dialtone, agent, tones, tmp_path):
    d = media_dialtone(RECORD_MP3)
    a = agent("call", d.uri("mp3"), name="a", play=tones.wav(TONE_HZ), codec="PCMU",
              duration=3.0, max_time=30)
    started = record_url(d, "Call.RecordStarted", timeout=15)
    ended = a.wait_event("disconnected", 20)
    assert ended["connected"], ended
    url = record_url(d, "Call.RecordStopped", timeout=15)
    assert url == started, f"RecordStarted {started} vs RecordStopped {url}"
    assert url.startswith(f"{d.http_base}/recordings/"), url
    assert url.endswith(".mp3"), url
    got = fetch(url, tmp_path / "rec.mp3")
    assert _looks_like_mp3(got.read_bytes()), f"{got} does not start like an MP3"
    wav = _mp3_to_wav(got, tmp_path / "rec.wav")
    a_ = audio.assert_tone(wav, TONE_HZ, tolerance=0.02, min_rms=0.05)
    # sox keeps LAME's encoder delay and padding (a few hundred ms at 8 kHz).
    assert abs(a_.duration_s - ended["talk_s"]) <= 0.5, f"{a_} vs a call of {ended['talk_s']} s"
    m = d.wait_for(event_rx("Call.RecordStopped") + r".*\bduration=([0-9.]+)s", timeout=1)
    assert abs(float(m.group(1)) - ended["talk_s"]) <= 0.5, m.group(0)
    assert not d.find_all(event_rx("Call.RecordError")), "a RecordError was logged"
    d.assert_alive()
