"""Call recording: mono and stereo WAV files served over dialtone's HTTP
listener, and a file that stays playable when dialtone is killed mid-call."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import audio
import harness
from conftest import RECORD_BRIDGE, RECORD_ECHO
from harness import LOOPBACK
from mediakit import event_rx, fetch, record_url

TONE_HZ = 1000.0
A_HZ = 440.0
B_HZ = 1200.0


def _local_file(d, url: str) -> Path:
    """The recording behind ``url`` in the data directory."""
    name = Path(urlparse(url).path).name
    hits = sorted(Path(d.data_dir).rglob(name))
    assert hits, f"{name} not found under {d.data_dir}"
    return hits[0]


def _wav_header(path: Path) -> tuple[int, int, int]:
    """(byte rate, offset of the audio, data size declared) from a WAV header;
    zeros while the header is not there or not valid."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return 0, 0, 0
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return 0, 0, 0
    pos, byte_rate = 12, 0
    while pos + 8 <= len(head):
        cid, size = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if cid == b"fmt " and pos + 20 <= len(head):
            byte_rate = struct.unpack("<I", head[pos + 16:pos + 20])[0]
        if cid == b"data":
            return byte_rate, pos + 8, size
        pos += 8 + size + (size & 1)
    return byte_rate, 0, 0


def _wav_seconds_on_disk(path: Path) -> float:
    """Audio length as the WAV header declares it (0.0 while it is not valid)."""
    byte_rate, _, size = _wav_header(path)
    return size / byte_rate if byte_rate else 0.0


def test_listening_line_names_the_http_listener(media_dialtone):
    d = media_dialtone(RECORD_ECHO)
    d.wait_for(rf"listening.*http={re.escape(LOOPBACK)}:{d.http_port}\b", timeout=1,
               what="the listening line with http=ADDR:PORT")


def test_mono_recording_is_served_and_carries_the_call(media_dialtone, agent, tones, tmp_path):
    d = media_dialtone(RECORD_ECHO)
    a = agent("call", d.uri("mono"), name="a", play=tones.wav(TONE_HZ), codec="PCMU",
              duration=3.0, max_time=30)
    started = record_url(d, "Call.RecordStarted", timeout=15)
    ended = a.wait_event("disconnected", 20)
    assert ended["connected"], ended
    url = record_url(d, "Call.RecordStopped", timeout=15)
    assert url == started, f"RecordStarted {started} vs RecordStopped {url}"
    assert url.startswith(f"{d.http_base}/recordings/"), url
    got = fetch(url, tmp_path / "rec.wav")
    a_ = audio.assert_tone(got, TONE_HZ, tolerance=0.02, min_rms=0.05)
    assert abs(a_.duration_s - ended["talk_s"]) <= 0.3, f"{a_} vs a call of {ended['talk_s']} s"
    assert _local_file(d, url).stat().st_size == got.stat().st_size
    m = d.wait_for(event_rx("Call.RecordStopped") + r".*\bduration=([0-9.]+)s", timeout=1)
    assert abs(float(m.group(1)) - ended["talk_s"]) <= 0.5, m.group(0)
    d.assert_alive()


def test_stereo_recording_puts_inbound_left_and_outbound_right(media_dialtone, agent, tones, tmp_path):
    """record_bridge.js records the inbound call (A) in stereo: left is what A
    sends (440 Hz), right is what A hears, i.e. B's 1200 Hz."""
    b = agent("answer", name="b", play=tones.wav(B_HZ, rate=16000), max_time=40)
    d = media_dialtone(RECORD_BRIDGE, custom_data=f"sip:b@{LOOPBACK}:{b.port}")
    a = agent("call", d.uri("rec"), name="a", play=tones.wav(A_HZ), codec="PCMU",
              no_telephone_event=True, duration=3.0, max_time=40)
    url = record_url(d, "Call.RecordStarted", timeout=15)
    a.wait_event("disconnected", 20)
    b.wait_event("disconnected", 10)
    # The file is complete once the recorder reports it stopped or its session ends.
    d.wait_for(rf"{event_rx('Call.RecordStopped')}|{event_rx('Application.Terminated')}", timeout=15)
    got = fetch(url, tmp_path / "stereo.wav")
    data, rate = audio.read_wav_channels(got)
    assert data.shape[1] == 2, f"{got}: {data.shape[1]} channel(s)"
    body = slice(int(0.3 * rate), max(int(0.3 * rate) + 1, len(data) - int(0.1 * rate)))
    left, right = data[body, 0], data[body, 1]
    lv = audio.band_levels(left, rate, (A_HZ, B_HZ))
    rv = audio.band_levels(right, rate, (A_HZ, B_HZ))
    assert lv[A_HZ] > 0.3 and lv[A_HZ] > 10 * lv[B_HZ], f"left (A's inbound audio): {lv}"
    assert rv[B_HZ] > 0.3 and rv[B_HZ] > 10 * rv[A_HZ], f"right (what A hears): {rv}"
    d.assert_alive()


def test_recording_survives_kill_9(media_dialtone, agent, tones, tmp_path):
    """dialtone killed with SIGKILL after 2 s of recorded audio: the WAV on disk
    has a valid header that covers at least 1 s, and carries the tone."""
    d = media_dialtone(RECORD_ECHO)
    agent("call", d.uri("mono"), name="a", play=tones.wav(TONE_HZ), codec="PCMU",
          duration=20.0, max_time=40)
    url = record_url(d, "Call.RecordStarted", timeout=15)
    name = Path(urlparse(url).path).name
    found = harness.wait_until(lambda: sorted(Path(d.data_dir).rglob(name)), 5)
    assert found, f"{name} never appeared under {d.data_dir}"
    path = found[0]
    # Audio reaches the file at the media clock's pace: wait for the file itself.
    def enough_on_disk():
        byte_rate, offset, _ = _wav_header(path)
        return byte_rate and offset and path.stat().st_size - offset >= 2.2 * byte_rate
    assert harness.wait_until(enough_on_disk, 15), f"{path}: {path.stat().st_size} bytes"
    d.kill_hard()
    soxi = shutil.which("soxi")
    assert soxi, "soxi (Debian sox) is needed"
    out = subprocess.run([soxi, "-D", str(path)], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, f"soxi cannot read {path}: {out.stderr}"
    assert float(out.stdout.strip()) >= 1.0, f"soxi says {out.stdout.strip()} s"
    declared = _wav_seconds_on_disk(path)
    byte_rate, offset, size = _wav_header(path)
    assert declared >= 1.0, f"header declares {declared:.2f} s"
    assert offset + size <= path.stat().st_size, "header declares more audio than the file holds"
    audio.assert_tone(path, TONE_HZ, tolerance=0.02, min_rms=0.05, min_seconds=0.6)
