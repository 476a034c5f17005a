"""WebRTC legs against a second, independent WebRTC stack: aiortc (Python:
aioice for ICE, pyOpenSSL for DTLS, pylibsrtp for SRTP, PyAV for Opus).

Each test makes aiortc the caller: a tiny SIP UAC over UDP (below) sends
aiortc's offer (ICE gathered, host candidate on 127.0.0.1) in an INVITE to
Dialtone running scripts/echo.js, reads the answer, ACKs, hands the answer to
aiortc, sends a sine tone from a MediaStreamTrack and measures the dominant
frequency of what comes back on the remote track. Cases: Opus and PCMU-only
offers, an offer whose DTLS fingerprint does not match aiortc's certificate
(the handshake must fail, nothing may be echoed), hostile datagrams at the
leg's port during a good call, malformed WebRTC offers (4xx), an offer with
no usable codec (488), and an offer with a=setup:passive (Dialtone becomes
the DTLS client).

aioice leaves 127.0.0.1 out of the host candidates it gathers; the
``loopback_ice`` fixture makes it gather on 127.0.0.1 only, so that nothing
here leaves the loopback interface.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import os
import random
import re
import socket
import struct
import time

import aioice.ice
import aioice.stun
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from av import AudioFrame

import audio
from conftest import ECHO
from harness import LOOPBACK
from sipwire import SipResponse, sip_request
from test_metrics import Scraper

TONE_HZ = 700.0
PCMU_TONE_HZ = 900.0
RATE = 48000
PTIME = 0.02

# aiortc's own loggers are chatty at DEBUG; pytest shows WARNING and up on failure.
logging.getLogger("aiortc").setLevel(logging.INFO)
logging.getLogger("aioice").setLevel(logging.INFO)


@pytest.fixture
def loopback_ice(monkeypatch):
    """aioice gathers host candidates on 127.0.0.1 only (it skips loopback
    otherwise, and the suite stays off the machine's other interfaces)."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses",
                        lambda use_ipv4=True, use_ipv6=True: [LOOPBACK])


# --- audio in and out of aiortc ------------------------------------------------------

class ToneTrack(AudioStreamTrack):
    """A sine tone, 20 ms frames of 48 kHz s16 mono, paced in real time."""

    def __init__(self, freq: float, amplitude: float = 0.4):
        super().__init__()
        self.freq = freq
        self.amplitude = amplitude
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        samples = int(RATE * PTIME)
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self._n / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (self._n + np.arange(samples)) / RATE
        pcm = audio.to_pcm16(self.amplitude * np.sin(2 * np.pi * self.freq * t))
        frame = AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(pcm.tobytes())
        frame.pts = self._n
        frame.sample_rate = RATE
        frame.time_base = fractions.Fraction(1, RATE)
        self._n += samples
        return frame


class Ears:
    """Reads the remote track into mono float samples; waits on what it heard."""

    def __init__(self):
        self.chunks: list[np.ndarray] = []
        self.rate: int | None = None
        self.frames = 0
        self._changed = asyncio.Condition()
        self._task: asyncio.Task | None = None

    def listen(self, track) -> None:
        self._task = asyncio.ensure_future(self._run(track))

    async def _run(self, track) -> None:
        try:
            while True:
                frame = await track.recv()
                data = frame.to_ndarray().astype(np.float64) / 32768.0
                channels = len(frame.layout.channels)
                if frame.format.is_planar:
                    mono = data.mean(axis=0)
                else:
                    flat = data.reshape(-1)
                    mono = flat.reshape(-1, channels).mean(axis=1)
                async with self._changed:
                    self.rate = frame.sample_rate
                    self.chunks.append(mono)
                    self.frames += 1
                    self._changed.notify_all()
        except (MediaStreamError, asyncio.CancelledError):
            pass

    def samples(self, since: int = 0) -> np.ndarray:
        parts = self.chunks[since:]
        return np.concatenate(parts) if parts else np.zeros(0)

    def mark(self) -> int:
        return len(self.chunks)

    def last(self, seconds: float, since: int = 0) -> np.ndarray:
        s = self.samples(since)
        if not self.rate:
            return np.zeros(0)
        return s[-int(seconds * self.rate):]

    def heard(self, seconds: float = 0.5, since: int = 0) -> tuple[float, float]:
        """(dominant Hz, dBFS) of the last ``seconds`` heard after chunk ``since``."""
        s = self.last(seconds, since)
        if not self.rate or len(s) < int(seconds * self.rate * 0.9):
            return 0.0, -np.inf
        return audio.dominant_frequency(s, self.rate), audio.dbfs(audio.rms(s))

    async def wait_tone(self, hz: float, timeout: float, since: int = 0,
                        seconds: float = 0.5, tol: float = 0.05, floor_dbfs: float = -35.0):
        """Waits (bounded) until the last ``seconds`` heard carry ``hz``."""
        deadline = time.monotonic() + timeout
        last = (0.0, -np.inf)
        async with self._changed:
            while True:
                last = self.heard(seconds, since)
                if abs(last[0] - hz) <= tol * hz and last[1] >= floor_dbfs:
                    return last
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"never heard {hz:.0f} Hz within {timeout:.0f} s: last {seconds} s "
                        f"were {last[0]:.1f} Hz at {last[1]:.1f} dBFS ({self.frames} frames, "
                        f"rate {self.rate})")
                try:
                    await asyncio.wait_for(self._changed.wait(), left)
                except asyncio.TimeoutError:
                    pass

    def stop(self) -> None:
        if self._task:
            self._task.cancel()


# --- a minimal SIP UAC over UDP ------------------------------------------------------

class Uac:
    """One INVITE dialog over a UDP socket on 127.0.0.1 (asyncio)."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.call_id = f"{random.getrandbits(64):016x}@{LOOPBACK}"
        self.from_tag = f"{random.getrandbits(32):08x}"
        self.to_tag: str | None = None
        self.remote_target: str | None = None
        self.cseq = 1
        self.responses: list[SipResponse] = []
        self.requests: list[str] = []

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, self.target)

    async def recv(self, timeout: float) -> SipResponse | None:
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                data, _ = await asyncio.wait_for(loop.sock_recvfrom(self.sock, 65535), left)
            except asyncio.TimeoutError:
                return None
            r = SipResponse.parse(data)
            if r is None:
                # A request from Dialtone (a BYE of its own): answer 200 and go on.
                self._answer_request(data)
                continue
            if r.header("call-id") != self.call_id:
                continue
            self.responses.append(r)
            return r

    def _answer_request(self, data: bytes) -> None:
        self.requests.append(data.decode(errors="replace"))
        head = data.split(b"\r\n\r\n", 1)[0].decode(errors="replace").split("\r\n")
        if not head or head[0].startswith("ACK"):
            return
        keep = [ln for ln in head[1:] if re.match(r"(?i)(via|from|to|call-id|cseq)\s*:", ln)]
        self.send(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode())

    async def wait_request(self, method: str, timeout: float) -> str | None:
        """Reads (and answers) until Dialtone sends a `method` request."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in self.requests if r.startswith(method + " ")]
            if found:
                return found[0]
            await self.recv(min(0.2, max(0.01, deadline - time.monotonic())))
        return None

    async def invite(self, sdp: str, timeout: float = 10.0) -> SipResponse:
        """Sends the INVITE; returns the final response (ACKed if 2xx, and
        non-2xx finals are ACKed by the transaction as RFC 3261 §17.1.1.3)."""
        self.invite_cseq = self.cseq
        self.branch_req = sip_request(
            "INVITE", target=self.target, local_port=self.port, call_id=self.call_id,
            cseq=self.cseq, from_tag=self.from_tag, body=sdp.encode(),
            content_type="application/sdp")
        self.send(self.branch_req)
        deadline = time.monotonic() + timeout
        while True:
            r = await self.recv(deadline - time.monotonic())
            assert r is not None, f"no final response to the INVITE within {timeout} s " \
                                  f"(got {self.responses})"
            if r.code >= 200 and "INVITE" in (r.header("cseq") or ""):
                break
        m = re.search(r";\s*tag=([^;>\s]+)", r.header("to") or "")
        self.to_tag = m.group(1) if m else None
        if 200 <= r.code < 300:
            c = re.search(r"<([^>]+)>", r.header("contact") or "")
            self.remote_target = c.group(1) if c else f"sip:test@{self.target[0]}:{self.target[1]}"
            self.send(sip_request(
                "ACK", target=self.target, local_port=self.port, call_id=self.call_id,
                cseq=self.cseq, from_tag=self.from_tag, to_tag=self.to_tag,
                request_line=f"ACK {self.remote_target} SIP/2.0"))
        else:
            via = next(v for n, v in _headers(self.branch_req) if n == "via")
            self.send(self._non2xx_ack(via))
        return r

    def _non2xx_ack(self, via: str) -> bytes:
        req = sip_request("ACK", target=self.target, local_port=self.port, call_id=self.call_id,
                          cseq=self.invite_cseq, from_tag=self.from_tag, to_tag=self.to_tag)
        return re.sub(rb"Via: [^\r]*", f"Via: {via}".encode(), req, count=1)

    async def bye(self, timeout: float = 5.0) -> SipResponse | None:
        self.cseq += 1
        self.send(sip_request(
            "BYE", target=self.target, local_port=self.port, call_id=self.call_id,
            cseq=self.cseq, from_tag=self.from_tag, to_tag=self.to_tag,
            request_line=f"BYE {self.remote_target} SIP/2.0"))
        deadline = time.monotonic() + timeout
        while True:
            r = await self.recv(deadline - time.monotonic())
            if r is None or "BYE" in (r.header("cseq") or ""):
                return r


def _headers(raw: bytes) -> list[tuple[str, str]]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    return [(n.strip().lower(), v.strip()) for n, _, v in (ln.partition(":") for ln in head)]


# --- SDP helpers ---------------------------------------------------------------------

def answer_codec(sdp: str) -> str:
    """The encoding name of the first payload type on the answer's m=audio line."""
    m = re.search(r"(?m)^m=audio \d+ \S+ (\d+)", sdp)
    assert m, sdp
    pt = m.group(1)
    r = re.search(rf"(?m)^a=rtpmap:{pt} ([^/\s]+)/", sdp)
    assert r, f"no rtpmap for payload type {pt}:\n{sdp}"
    return r.group(1).lower()


def answer_codecs(sdp: str) -> list[str]:
    m = re.search(r"(?m)^m=audio \d+ \S+ ([\d ]+)", sdp)
    names = []
    for pt in m.group(1).split():
        r = re.search(rf"(?m)^a=rtpmap:{pt} ([^/\s]+)/", sdp)
        names.append(r.group(1).lower() if r else pt)
    return names


def media_address(sdp: str) -> tuple[str, int]:
    """The host candidate of Dialtone's answer: the leg's UDP port."""
    m = re.search(r"(?m)^a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host", sdp, re.I)
    assert m, f"no host candidate in the answer:\n{sdp}"
    return m.group(1), int(m.group(2))


def wrong_fingerprint(sdp: str) -> str:
    """The same SDP with every DTLS fingerprint replaced by another
    well-formed one of the same hash (its hex digits shifted)."""
    def swap(m):
        algo, hexes = m.group(1), m.group(2).split(":")
        flipped = [f"{(int(h, 16) ^ 0x5A):02X}" for h in hexes]
        return f"a=fingerprint:{algo} {':'.join(flipped)}"
    out, n = re.subn(r"a=fingerprint:(\S+) ([0-9A-Fa-f:]+)", swap, sdp)
    assert n >= 1, sdp
    return out


def only_codec(sdp: str, pt: int, rtpmap: str) -> str:
    """The offer with one payload type left: ``pt`` with ``rtpmap``."""
    out = []
    for ln in sdp.split("\r\n"):
        if ln.startswith("m=audio "):
            out.append(" ".join(ln.split()[:3] + [str(pt)]))
        elif ln.startswith(("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:")):
            continue
        else:
            out.append(ln)
        if ln.startswith("a=mid:"):
            out.append(f"a=rtpmap:{pt} {rtpmap}")
    return "\r\n".join(out)


def drop_lines(sdp: str, prefix: str) -> str:
    lines = [ln for ln in sdp.split("\r\n") if not ln.startswith(prefix)]
    return "\r\n".join(lines)


# --- one call --------------------------------------------------------------------------

class Call:
    """aiortc calling Dialtone: the peer connection, its tone, its ears, the UAC."""

    def __init__(self, d, tone_hz: float = TONE_HZ, codecs: tuple[str, ...] | None = None):
        self.d = d
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.tone = ToneTrack(tone_hz)
        self.transceiver = self.pc.addTransceiver(self.tone, direction="sendrecv")
        if codecs:
            caps = RTCRtpSender.getCapabilities("audio").codecs
            self.transceiver.setCodecPreferences(
                [c for c in caps if c.mimeType.split("/")[1].lower() in codecs])
        self.ears = Ears()
        self.states: list[str] = []
        self.connected = asyncio.Event()
        self.failed = asyncio.Event()
        self.uac = Uac((LOOPBACK, d.sip_port))
        self.answer: str | None = None

        @self.pc.on("track")
        def on_track(track):
            if track.kind == "audio":
                self.ears.listen(track)

        @self.pc.on("connectionstatechange")
        def on_state():
            s = self.pc.connectionState
            self.states.append(s)
            if s == "connected":
                self.connected.set()
            elif s in ("failed", "closed"):
                self.failed.set()

    async def offer(self) -> str:
        """aiortc's offer after ICE gathering (setLocalDescription gathers)."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sdp = self.pc.localDescription.sdp
        assert "a=candidate:" in sdp and LOOPBACK in sdp, sdp
        return sdp

    async def dial(self, sdp: str | None = None) -> SipResponse:
        """INVITE with ``sdp`` (aiortc's own offer unless given), ACK, and hand
        the answer to aiortc."""
        sdp = sdp or await self.offer()
        r = await self.uac.invite(sdp)
        assert r.code == 200, f"INVITE answered {r.code} {r.reason}\n{r.raw.decode(errors='replace')}"
        assert all(p.code < 200 for p in self.uac.responses[:-1]), self.uac.responses
        self.answer = r.body.decode()
        assert "a=setup:passive" in self.answer, self.answer
        assert "a=ice-lite" in self.answer, self.answer
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=self.answer, type="answer"))
        return r

    async def wait_connected(self, timeout: float = 10.0) -> None:
        done, _ = await asyncio.wait(
            [asyncio.ensure_future(self.connected.wait()), asyncio.ensure_future(self.failed.wait())],
            timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for t in _:
            t.cancel()
        assert self.connected.is_set(), f"aiortc never connected (states {self.states})"

    async def hang_up(self) -> None:
        r = await self.uac.bye()
        assert r is not None and r.code == 200, f"BYE answered {r}"

    async def close(self) -> None:
        self.ears.stop()
        try:
            await asyncio.wait_for(self.pc.close(), 5)
        finally:
            self.uac.close()


def run(coro, timeout: float = 60.0):
    """Runs a test's coroutine with an overall bound."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def webrtc_figures(d) -> tuple[float, float, float]:
    """(legs open, failed total, connected total) from /metrics."""
    s = Scraper(d.http_port).scrape()
    connected = sum(v for (n, _), v in s.samples.items() if n == "dialtone_webrtc_connect_total")
    return s.get("dialtone_webrtc_legs"), s.get("dialtone_webrtc_failed_total"), connected


async def echo_call(d, hz: float = TONE_HZ, codecs=None, expect_codec: str = "opus") -> None:
    """A whole good call: connect, hear the echo of ``hz``, hang up."""
    call = Call(d, hz, codecs)
    try:
        await call.dial()
        assert answer_codec(call.answer) == expect_codec, answer_codecs(call.answer)
        await call.wait_connected()
        await call.ears.wait_tone(hz, timeout=10)
        await call.hang_up()
    finally:
        await call.close()


# --- the cases -------------------------------------------------------------------------

def test_aiortc_opus_echo(media_dialtone, loopback_ice):
    """ICE-lite + DTLS-SRTP with an independent stack, Opus chosen, the echo heard."""
    d = media_dialtone(ECHO)
    _, failed0, connected0 = webrtc_figures(d)

    async def scenario():
        call = Call(d, TONE_HZ)
        try:
            offer = await call.offer()
            assert "opus/48000/2" in offer.lower(), offer
            await call.dial(offer)
            assert answer_codec(call.answer) == "opus", answer_codecs(call.answer)
            await call.wait_connected()
            freq, level = await call.ears.wait_tone(TONE_HZ, timeout=10)
            # Keep listening a second: the tone holds, it was no fluke.
            mark = call.ears.mark()
            freq2, _ = await call.ears.wait_tone(TONE_HZ, timeout=5, since=mark, seconds=1.0)
            # aiortc decodes Opus at 48 kHz (G.711 would come out at 8 kHz).
            assert call.ears.rate == 48000, call.ears.rate
            print(f"SIP responses {[r.code for r in call.uac.responses]}; heard {freq:.1f} Hz at "
                  f"{level:.1f} dBFS, then {freq2:.1f} Hz (rate {call.ears.rate}, "
                  f"{call.ears.frames} frames)")
            legs, failed, connected = await asyncio.to_thread(webrtc_figures, d)
            assert legs == 1 and connected == connected0 + 1 and failed == failed0, \
                (legs, failed, connected)
            await call.hang_up()
        finally:
            await call.close()

    run(scenario())
    d.wait_for(r"echo: disconnected", timeout=10)
    d.assert_alive()


def test_aiortc_pcmu_only_offer(media_dialtone, loopback_ice):
    """An offer with PCMU alone: the answer carries PCMU and the echo is heard."""
    d = media_dialtone(ECHO)

    async def scenario():
        call = Call(d, PCMU_TONE_HZ, codecs=("pcmu",))
        try:
            offer = await call.offer()
            assert answer_codecs(offer) == ["pcmu"], offer
            await call.dial(offer)
            assert answer_codecs(call.answer) == ["pcmu"], call.answer
            await call.wait_connected()
            freq, level = await call.ears.wait_tone(PCMU_TONE_HZ, timeout=10)
            assert call.ears.rate == 8000, call.ears.rate
            print(f"heard {freq:.1f} Hz at {level:.1f} dBFS over PCMU")
            await call.hang_up()
        finally:
            await call.close()

    run(scenario())
    d.assert_alive()




def test_aiortc_wrong_fingerprint_gets_no_media(media_dialtone, loopback_ice):
    """An offer whose DTLS fingerprint is not aiortc's certificate's: Dialtone
    answers (SDP is fine), but must refuse the handshake: no leg connects, the
    failure is counted, nothing is echoed to the impostor. The call can still
    be hung up, and the next good call works."""
    d = media_dialtone(ECHO)
    scraper = Scraper(d.http_port)
    _, failed0, connected0 = webrtc_figures(d)

    async def scenario():
        call = Call(d, TONE_HZ)
        try:
            offer = wrong_fingerprint(await call.offer())
            await call.dial(offer)
            mark = d.mark()
            # The failure is counted (bounded wait on /metrics) ...
            await asyncio.to_thread(
                scraper.until, lambda s: s.get("dialtone_webrtc_failed_total") > failed0, 10)
            await asyncio.to_thread(d.wait_for, r"WebRTC connection failed.*fingerprint", 5, mark)
            # ... and for the two seconds after, no connection and no audio
            # reach aiortc (a bounded wait on the events that must not come).
            got, _ = await asyncio.wait(
                [asyncio.ensure_future(call.connected.wait())], timeout=2.0)
            assert not got, f"aiortc connected despite the wrong fingerprint ({call.states})"
            assert call.ears.frames == 0, f"{call.ears.frames} frames echoed to the impostor"
            legs, failed, connected = await asyncio.to_thread(webrtc_figures, d)
            assert connected == connected0 and failed == failed0 + 1, (legs, failed, connected)
            print(f"wrong fingerprint: aiortc states {call.states}, metrics legs={legs} "
                  f"failed={failed} connected={connected}")
            d.assert_alive()
            # A call no audio can ever cross is not left up until the RTP
            # timeout: Dialtone hangs up at once, saying why.
            bye = await call.uac.wait_request("BYE", 5)
            assert bye is not None, "no BYE from Dialtone after the DTLS failure"
            assert re.search(r"(?im)^Reason:.*cause=488", bye), bye
        finally:
            await call.close()
        # A good call on the same Dialtone still works.
        await echo_call(d)

    run(scenario())
    d.assert_alive()
    Scraper(d.http_port).until(lambda s: s.get("dialtone_webrtc_legs") == 0, 10)


# --- hostile datagrams ---------------------------------------------------------------

def stun_request(username: str, key: bytes | None, use_candidate: bool = True) -> bytes:
    msg = aioice.stun.Message(message_method=aioice.stun.Method.BINDING,
                              message_class=aioice.stun.Class.REQUEST)
    msg.attributes["USERNAME"] = username
    msg.attributes["PRIORITY"] = 1853817087
    msg.attributes["ICE-CONTROLLING"] = random.getrandbits(64)
    if use_candidate:
        msg.attributes["USE-CANDIDATE"] = None
    if key is not None:
        msg.add_message_integrity(key)
    else:
        msg.add_fingerprint()
    return bytes(msg)


def dtls_client_hello() -> bytes:
    """A DTLS 1.2 ClientHello record (no cookie), as a new peer would start."""
    body = (b"\xfe\xfd" + os.urandom(32) + b"\x00" + b"\x00"           # version, random, sid, cookie
            + struct.pack("!H", 4) + b"\xc0\x2b\xc0\x2f" + b"\x01\x00"  # suites, compression
            + struct.pack("!H", 8) + b"\x00\x0e\x00\x04\x00\x02\x00\x01")  # use_srtp
    hs = struct.pack("!B", 1) + len(body).to_bytes(3, "big") + struct.pack("!H", 0) \
        + (0).to_bytes(3, "big") + len(body).to_bytes(3, "big") + body
    return b"\x16\xfe\xff" + struct.pack("!H", 0) + (0).to_bytes(6, "big") \
        + struct.pack("!H", len(hs)) + hs


def hostile_datagrams(dialtone_ufrag: str, our_ufrag: str) -> list[tuple[str, bytes]]:
    out = [
        # The right username with a wrong password, nominating: a hijack try.
        ("stun right user, wrong key", stun_request(f"{dialtone_ufrag}:{our_ufrag}", os.urandom(22))),
        ("stun wrong user", stun_request("bogus:bogus", b"not-the-password-at-all")),
        ("stun no integrity", stun_request(f"{dialtone_ufrag}:{our_ufrag}", None)),
        ("dtls client hello", dtls_client_hello()),
        ("dtls alert", b"\x15\xfe\xfd" + bytes(8) + b"\x00\x02\x02\x28"),
        # SRTP-looking: an RTP header with Opus's usual payload type, random "ciphertext".
        ("fake srtp", struct.pack("!BBHII", 0x80, 111, 1, 960, 0x1234) + os.urandom(120)),
        ("fake srtcp", struct.pack("!BBH", 0x80, 200, 6) + os.urandom(60)),
    ]
    for n in (1, 4, 20, 64, 200, 1200):
        out.append((f"garbage {n}", os.urandom(n)))
    return out


def test_aiortc_hostile_datagrams_do_not_disturb_a_call(media_dialtone, loopback_ice):
    """While a good call echoes, another local socket aims wrong-credential
    STUN checks, a DTLS ClientHello, fake SRTP and garbage at the leg's port:
    the call keeps echoing, the leg stays up, nothing but STUN errors goes
    back to the intruder."""
    d = media_dialtone(ECHO)

    async def scenario():
        call = Call(d, TONE_HZ)
        intruder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        intruder.bind((LOOPBACK, 0))
        intruder.setblocking(False)
        try:
            offer = await call.offer()
            await call.dial(offer)
            await call.wait_connected()
            await call.ears.wait_tone(TONE_HZ, timeout=10)
            _, failed0, _ = await asyncio.to_thread(webrtc_figures, d)
            target = media_address(call.answer)
            assert target[0] == LOOPBACK and d.rtp_ports[0] <= target[1] <= d.rtp_ports[1], target
            dialtone_ufrag = re.search(r"a=ice-ufrag:(\S+)", call.answer).group(1)
            our_ufrag = re.search(r"a=ice-ufrag:(\S+)", offer).group(1)
            packets = hostile_datagrams(dialtone_ufrag, our_ufrag)
            sent = 0
            # Three rounds, each every kind, 20 ms apart: about 1 s of abuse.
            for _ in range(3):
                for _name, data in packets:
                    intruder.sendto(data, target)
                    sent += 1
                    await asyncio.sleep(0.02)
            # The call still echoes (only audio heard after the abuse counts).
            mark = call.ears.mark()
            freq, level = await call.ears.wait_tone(TONE_HZ, timeout=5, since=mark, seconds=1.0)
            assert call.pc.connectionState == "connected", call.states
            # What came back to the intruder: STUN error responses at most.
            back = []
            while True:
                try:
                    back.append(intruder.recv(65535))
                except BlockingIOError:
                    break
            kinds = []
            for data in back:
                if data[:2] == b"\x01\x11":
                    kinds.append("stun error")
                elif data[:2] == b"\x01\x01":
                    kinds.append("STUN SUCCESS")
                elif 20 <= data[0] <= 63:
                    kinds.append("DTLS")
                elif 128 <= data[0] <= 191:
                    kinds.append("RTP")
                else:
                    kinds.append(f"other {data[:4].hex()}")
            assert all(k == "stun error" for k in kinds), kinds
            legs, failed, _ = await asyncio.to_thread(webrtc_figures, d)
            assert failed == failed0 and legs == 1, (legs, failed)
            print(f"sent {sent} hostile datagrams to {target}; intruder got back {kinds}; "
                  f"echo after: {freq:.1f} Hz at {level:.1f} dBFS")
            await call.hang_up()
        finally:
            intruder.close()
            await call.close()

    run(scenario())
    d.assert_alive()


# --- offers Dialtone must refuse -------------------------------------------------------

async def aiortc_offer() -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        pc.addTransceiver("audio", direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription.sdp
    finally:
        await pc.close()


def test_malformed_webrtc_offers_get_488(media_dialtone, loopback_ice):
    """A SAVPF offer that lacks what WebRTC needs (fingerprint, ICE
    credentials) or is cut short is refused with 4xx, not answered; the
    process stays up and takes a good call after."""
    d = media_dialtone(ECHO)

    async def scenario():
        good = await aiortc_offer()
        variants = {
            "no fingerprint": drop_lines(good, "a=fingerprint:"),
            "no ice-ufrag": drop_lines(good, "a=ice-ufrag:"),
            "no ice-pwd": drop_lines(good, "a=ice-pwd:"),
            "garbage fingerprint": re.sub(r"a=fingerprint:(\S+) \S+",
                                          r"a=fingerprint:\1 ZZ:not-hex", good),
            "cut in half": good[: len(good) // 2],
            "unknown fingerprint hash": re.sub(r"a=fingerprint:\S+ ", "a=fingerprint:md9 ", good),
            "ice-pwd too short": re.sub(r"a=ice-pwd:\S+", "a=ice-pwd:x", good),
        }
        codes = {}
        for name, sdp in variants.items():
            uac = Uac((LOOPBACK, d.sip_port))
            try:
                r = await uac.invite(sdp)
                codes[name] = r.code
                if r.code == 200:
                    await uac.bye()
            finally:
                uac.close()
        print(codes)
        assert all(400 <= c < 500 for c in codes.values()), codes
        assert all(c in (400, 488) for c in codes.values()), codes
        d.assert_alive()
        await echo_call(d)

    run(scenario())
    d.assert_alive()


def test_webrtc_offer_without_a_common_codec_gets_488(media_dialtone, loopback_ice):
    """A WebRTC offer with no codec Dialtone can use (G.722 alone) must be
    refused with 488, as a plain RTP/AVP offer with G.722 alone is."""
    d = media_dialtone(ECHO)

    async def scenario():
        offer = only_codec(await aiortc_offer(), 9, "G722/8000")
        uac = Uac((LOOPBACK, d.sip_port))
        try:
            r = await uac.invite(offer)
            if r.code == 200:
                await uac.bye()
            return r
        finally:
            uac.close()

    r = run(scenario())
    d.assert_alive()
    body = r.body.decode(errors="replace")
    assert r.code == 488, f"{r.code} {r.reason}\n{body}"


def test_aiortc_offer_setup_passive_makes_dialtone_the_dtls_client(media_dialtone, loopback_ice):
    """An offer with a=setup:passive (allowed, RFC 5763 §5): Dialtone must
    answer a=setup:active and start the handshake itself; aiortc is the DTLS
    server. The echo is heard."""
    d = media_dialtone(ECHO)

    async def scenario():
        call = Call(d, TONE_HZ)
        try:
            offer = (await call.offer()).replace("a=setup:actpass", "a=setup:passive")
            r = await call.uac.invite(offer)
            assert r.code == 200, r
            call.answer = r.body.decode()
            assert "a=setup:active" in call.answer, call.answer
            await call.pc.setRemoteDescription(
                RTCSessionDescription(sdp=call.answer, type="answer"))
            await call.wait_connected()
            freq, level = await call.ears.wait_tone(TONE_HZ, timeout=10)
            print(f"Dialtone as DTLS client: heard {freq:.1f} Hz at {level:.1f} dBFS")
            await call.hang_up()
        finally:
            await call.close()

    run(scenario())
    d.assert_alive()
