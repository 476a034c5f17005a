"""Strict RTP latching against a forger on another port.

A PJSIP caller calls scripts/echo.js and plays a tone. Once its echo flows,
two sockets of ours aim RTP of the negotiated payload type at dialtone's RTP
port for a few seconds: one sprays packets with random SSRCs and sequence
numbers, the other sends one steady stream (what a peer that moved would
send). The caller keeps talking all along, so neither may take the call's
media: the caller must go on hearing its own tone, never the forged one,
nothing may be echoed to the forgers, and ``/metrics`` must count every
forged packet as foreign.
"""

from __future__ import annotations

import os
import random
import socket
import struct
import threading
import time

import numpy as np

import audio
from conftest import ECHO
from harness import LOOPBACK, PORTS
from test_metrics import Scraper, render

CALLER_HZ = 440.0
FORGED_HZ = 1800.0
TALK_S = 8.0
SPRAY_S = 3.0
# Packets per second from each forger.
SPRAY_RATE = 100


def ulaw_tone_frames(freq: float, frames: int) -> list[bytes]:
    pcm = audio.to_pcm16(audio.tone_samples(freq, frames * 0.02, amplitude=0.8))
    codes = audio.ulaw_encode(pcm).astype(np.uint8)
    return [codes[i * 160:(i + 1) * 160].tobytes() for i in range(frames)]


def rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes) -> bytes:
    return struct.pack("!BBHII", 0x80, pt & 0x7F, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


class Forgers:
    """Two sockets sending forged RTP to ``target`` for ``seconds``; whatever
    comes back to them is counted."""

    def __init__(self, target: tuple[str, int], pt: int, seconds: float, rate: int):
        self.target, self.pt, self.seconds, self.rate = target, pt, seconds, rate
        self.spray = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.steady = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for s in (self.spray, self.steady):
            s.bind((LOOPBACK, 0))
            s.settimeout(0.05)
        self.sent = 0
        self.received = 0
        self._done = threading.Event()
        self._readers = [threading.Thread(target=self._read, args=(s,), daemon=True)
                         for s in (self.spray, self.steady)]

    def _read(self, sock: socket.socket) -> None:
        while not self._done.is_set():
            try:
                sock.recv(2048)
                self.received += 1
            except socket.timeout:
                continue
            except OSError:
                return

    def run(self) -> None:
        """Sends for ``seconds`` (the action under test, paced, not a wait)."""
        for t in self._readers:
            t.start()
        rng = random.Random(os.getpid())
        frames = ulaw_tone_frames(FORGED_HZ, 50)
        steady_ssrc, steady_seq = rng.getrandbits(32), rng.getrandbits(16)
        start = time.monotonic()
        n = int(self.seconds * self.rate)
        for i in range(n):
            due = start + i / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            payload = frames[i % len(frames)]
            self.spray.sendto(rtp(self.pt, rng.getrandbits(16), rng.getrandbits(32),
                                  rng.getrandbits(32), payload), self.target)
            self.steady.sendto(rtp(self.pt, steady_seq + i, 160 * i, steady_ssrc, payload),
                               self.target)
            self.sent += 2

    def close(self) -> None:
        self._done.set()
        for t in self._readers:
            if t.is_alive():
                t.join(1.0)
        self.spray.close()
        self.steady.close()


def longest_quiet_s(samples: np.ndarray, rate: int, threshold_dbfs: float = -30.0) -> float:
    """The longest stretch of 20 ms frames under the threshold, in seconds."""
    quiet = audio.frame_rms(samples, rate) <= 10.0 ** (threshold_dbfs / 20.0)
    longest = run = 0
    for q in quiet:
        run = run + 1 if q else 0
        longest = max(longest, run)
    return longest * 0.02


def test_rtp_spray_from_another_port_does_not_cut_the_caller_off(dialtone, agent, tones,
                                                                  tmp_path):
    http_port = PORTS.sip_port()
    d = dialtone(ECHO, extra_args=["--http", f"{LOOPBACK}:{http_port}"],
                 env={"RUST_LOG": "warn,dialtone_media=info"})
    m = Scraper(http_port)
    rec = tmp_path / "heard.wav"
    a = agent("call", d.uri("echo"), name="a", play=tones.wav(CALLER_HZ), record=rec,
              codec="PCMU", duration=TALK_S, max_time=40)
    media = a.wait_event("media", 15, active=True)
    host, port = media["remote_rtp"].rsplit(":", 1)
    port = int(port)
    assert host == LOOPBACK and d.rtp_ports[0] <= port <= d.rtp_ports[1], media
    assert media["tx_pt"] == 0, media

    # The caller's RTP has latched the endpoint once its echo flows.
    m.until(lambda s: s.get("dialtone_rtp_packets_out_total") >= 25, timeout=10)
    forgers = Forgers((LOOPBACK, port), media["tx_pt"], SPRAY_S, SPRAY_RATE)
    try:
        forgers.run()
        after = m.until(lambda s: s.get("dialtone_rtp_packets_foreign_total") >= forgers.sent,
                        timeout=10)
    finally:
        forgers.close()
    assert after.types["dialtone_rtp_packets_foreign_total"] == "counter"
    assert after.helps["dialtone_rtp_packets_foreign_total"]
    assert after.get("dialtone_rtp_packets_foreign_total") == forgers.sent, render(after)
    assert after.get("dialtone_rtp_packets_dropped_total") >= forgers.sent, render(after)
    assert forgers.received == 0, "dialtone sent the caller's echo to a forger"

    ended = a.wait_event("disconnected", TALK_S + 15)
    assert ended["connected"], ended
    assert a.wait_exit(10) == 0

    # The caller heard its own tone throughout: no gap, no forged tone.
    heard = audio.assert_tone(rec, CALLER_HZ)
    samples, rate = audio.read_wav(rec)
    body = samples[int(1.0 * rate):len(samples) - int(0.3 * rate)]
    assert len(body) >= int((TALK_S - 2.0) * rate), heard
    gap = longest_quiet_s(body, rate)
    assert gap <= 0.2, f"the echo stopped for {gap:.2f} s: {heard}"
    bands = audio.band_levels(body, rate, [CALLER_HZ, FORGED_HZ])
    assert bands[CALLER_HZ] > 0.5 and bands[FORGED_HZ] < 0.01, (bands, heard)

    # Latched once, never moved, and at most one warning about the forgers.
    d.wait_for(r"Disconnected", timeout=5)
    assert len(d.find_all(r"RTP source latched")) == 1, d.log_text()
    assert not d.find_all(r"re-latched"), d.log_text()
    assert len(d.find_all(r"dropping RTP from a source other than the latched one")) == 1, \
        d.log_text()
    d.assert_alive()
