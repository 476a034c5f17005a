"""Bare SIP over UDP/TCP sockets: hand-made requests (well-formed or not) and
a small response reader, for the malformed-input and edge-case tests."""

from __future__ import annotations

import random
import re
import socket
import time
from typing import Iterable

from harness import LOOPBACK


# --- raw SIP over sockets (for the malformed-input tests) ----------------------------

class RawSip:
    """A bare UDP or TCP socket on 127.0.0.1 that sends bytes and reads SIP responses."""

    def __init__(self, transport: str, target: tuple[str, int]):
        self.transport = transport
        self.target = target
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((LOOPBACK, 0))
        else:
            self.sock = socket.create_connection(target, timeout=5)
        self.port = self.sock.getsockname()[1]
        self._buf = b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data: bytes) -> None:
        if self.transport == "udp":
            self.sock.sendto(data, self.target)
        else:
            self.sock.sendall(data)

    def recv_response(self, timeout: float = 2.0) -> "SipResponse | None":
        """The next SIP response, None on timeout; raises EOFError when a TCP
        peer closes the connection."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            if self.transport == "udp":
                try:
                    data, _ = self.sock.recvfrom(65535)
                except socket.timeout:
                    return None
                resp = SipResponse.parse(data)
                if resp is not None:
                    return resp
                continue
            msg = self._take_tcp_message()
            if msg is not None:
                resp = SipResponse.parse(msg)
                if resp is not None:
                    return resp
                continue
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                return None
            except ConnectionResetError:
                raise EOFError("connection reset") from None
            if not data:
                raise EOFError("connection closed")
            self._buf += data

    def _take_tcp_message(self) -> bytes | None:
        while self._buf.startswith(b"\r\n"):
            self._buf = self._buf[2:]  # keep-alives
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self._buf[:end + 4]
        m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
        length = int(m.group(1)) if m else 0
        if len(self._buf) < end + 4 + length:
            return None
        msg, self._buf = self._buf[:end + 4 + length], self._buf[end + 4 + length:]
        return msg

    def final_response(self, timeout: float = 5.0) -> "SipResponse | None":
        """Skip provisional responses; the first final one or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r = self.recv_response(left)
            if r is None or r.code >= 200:
                return r


class SipResponse:
    def __init__(self, code: int, reason: str, headers: list[tuple[str, str]], body: bytes, raw: bytes):
        self.code = code
        self.reason = reason
        self.headers = headers
        self.body = body
        self.raw = raw

    COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
               "l": "content-length", "c": "content-type", "k": "supported"}

    @classmethod
    def parse(cls, data: bytes) -> "SipResponse | None":
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        m = re.match(r"SIP/2\.0\s+(\d{3})\s*(.*)", lines[0])
        if not m:
            return None
        headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:
                name, value = headers[-1]
                headers[-1] = (name, value + " " + line.strip())
                continue
            name, sep, value = line.partition(":")
            if sep:
                n = name.strip().lower()
                headers.append((cls.COMPACT.get(n, n), value.strip()))
        return cls(int(m.group(1)), m.group(2), headers, body, data)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def __repr__(self) -> str:
        return f"<SIP {self.code} {self.reason}>"


def sip_request(method: str, *, target: tuple[str, int], local_port: int, transport: str = "udp",
                user: str = "test", call_id: str | None = None, cseq: int = 1,
                from_tag: str | None = None, to_tag: str | None = None,
                body: bytes = b"", content_type: str | None = None,
                extra_headers: Iterable[str] = (), content_length: str | None = None,
                request_line: str | None = None) -> bytes:
    """A SIP request as bytes. ``content_length`` overrides the computed value
    (to lie about it); ``request_line`` replaces the first line."""
    host, port = target
    tp = transport.upper()
    call_id = call_id or f"{random.getrandbits(64):016x}@{LOOPBACK}"
    from_tag = from_tag or f"{random.getrandbits(32):08x}"
    branch = f"z9hG4bK{random.getrandbits(64):016x}"
    ruri = f"sip:{user}@{host}:{port}" + (";transport=tcp" if transport == "tcp" else "")
    lines = [
        request_line or f"{method} {ruri} SIP/2.0",
        f"Via: SIP/2.0/{tp} {LOOPBACK}:{local_port};rport;branch={branch}",
        "Max-Forwards: 70",
        f"From: <sip:tester@{LOOPBACK}:{local_port}>;tag={from_tag}",
        f"To: <sip:{user}@{host}:{port}>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:tester@{LOOPBACK}:{local_port}" + (";transport=tcp" if transport == "tcp" else "") + ">",
    ]
    lines += list(extra_headers)
    if body and content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {content_length if content_length is not None else len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def pcmu_offer(media_port: int = 40000) -> bytes:
    return (
        "v=0\r\n"
        f"o=tester 1 1 IN IP4 {LOOPBACK}\r\n"
        "s=-\r\n"
        f"c=IN IP4 {LOOPBACK}\r\n"
        "t=0 0\r\n"
        f"m=audio {media_port} RTP/AVP 0\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=sendrecv\r\n").encode()
