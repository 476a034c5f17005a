"""A full disk during a recording: RecordError reaches the script and the call
goes on. The data directory is a tiny tmpfs mounted for the test (needs root,
as CI runs)."""

from __future__ import annotations

import os
import subprocess

import pytest

import audio
from conftest import RECORD_ECHO

TONE_HZ = 1000.0


@pytest.fixture
def tiny_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    # 40 KiB: a mono 8 kHz WAV fills it in about two seconds.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_gives_record_error_and_the_call_goes_on(media_dialtone, agent, tones, tiny_disk, tmp_path):
    rec = tmp_path / "heard.wav"
    d = media_dialtone(RECORD_ECHO, data_dir=tiny_disk)
    a = agent("call", d.uri("mono"), name="a", play=tones.wav(TONE_HZ), record=rec,
              codec="PCMU", duration=6.0, max_time=40)
    d.wait_for(r"Call\.RecordStarted", timeout=15)
    d.wait_for(r"Call\.RecordError", timeout=15)
    d.wait_for(r"record_echo: error ", timeout=2)
    ended = a.wait_event("disconnected", 30)
    # The client hung up after its full 6 s: dialtone did not drop the call.
    assert ended["connected"] and ended["talk_s"] >= 5.5, ended
    assert a.wait_exit(10) == 0
    # Echo kept working after the disk filled: the last seconds carry the tone.
    samples, rate = audio.read_wav(rec)
    tail = samples[-int(2 * rate):]
    assert abs(audio.dominant_frequency(tail, rate) - TONE_HZ) <= TONE_HZ * 0.02
    d.assert_alive()
