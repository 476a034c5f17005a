#!/usr/bin/env python3
"""Writes the seed corpora, fuzz/seeds/<target>/, from the repository's own
fixtures: the RFC 4475 torture messages, the SIPp scenarios' messages, SDP
from the SDP crate's tests, scripts/*.spec.json and the audio fixtures, plus
a few hand-made inputs in each target's input format (README.md).

    python3 fuzz/seeds.py          # from anywhere; rewrites fuzz/seeds/
"""

from __future__ import annotations

import hashlib
import re
import shutil
import struct
import sys
import textwrap
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
OUT = FUZZ / "seeds"

sys.path.insert(0, str(ROOT / "tests"))
import rfc4475  # noqa: E402  (the torture messages' own decoder)


def write(target: str, data: bytes) -> None:
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


# --- SIP -------------------------------------------------------------------

SIPP_VALUES = {
    "service": "1000", "remote_ip": "127.0.0.1", "remote_port": "5060",
    "local_ip": "127.0.0.1", "local_port": "5070", "transport": "UDP",
    "local_ip_type": "4", "media_ip": "127.0.0.1", "media_ip_type": "4",
    "media_port": "6000", "pid": "4242", "call_number": "1",
    "call_id": "1-4242@127.0.0.1", "branch": "z9hG4bK-4242-1-0",
}

# How a message from a SIPp scenario answers what Dialtone sent: `$B`, `$T`,
# `$C` and `$S` are the ua_input target's stand-ins for the last message the
# core sent (see fuzz_targets/ua_input.rs).
LAST_UAS = {
    "last_Via:": "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=$B",
    "last_From:": "From: <sip:dialtone@127.0.0.1:5060>;tag=$T",
    "last_To:": "To: <sip:bob@127.0.0.1:5070>",
    "last_Call-ID:": "Call-ID: $C",
    "last_CSeq:": "CSeq: $S INVITE",
}
LAST_UAC = {
    "last_From:": "From: \"sipp\" <sip:sipp@127.0.0.1:5070>;tag=4242T1",
    "last_To:": "To: <sip:1000@127.0.0.1:5060>;tag=$T",
    "last_Call-ID:": "Call-ID: 1-4242@127.0.0.1",
}


def sipp_messages(xml: str, last: dict[str, str]) -> list[bytes]:
    out = []
    for block in re.findall(r"<send[^>]*>\s*<!\[CDATA\[(.*?)\]\]>", xml, re.S):
        text = textwrap.dedent(block).strip("\n")
        head, _, body = text.partition("\n\n")
        body = body.strip("\n")
        body = body + "\n" if body else ""

        def sub(m: re.Match) -> str:
            key = m.group(1)
            if key in last:
                return last[key]
            if key.startswith("last_"):
                return ""
            if key == "len":
                return str(len(body.replace("\n", "\r\n")))
            return SIPP_VALUES.get(key, m.group(0))

        text = head + "\n\n" + body
        text = re.sub(r"\[([A-Za-z_:-]+)\]", sub, text)
        out.append(text.replace("\n", "\r\n").encode())
    return out


def sip_seeds() -> tuple[list[bytes], list[bytes]]:
    """(plain messages, ua_input scripts)"""
    messages = [case_bytes for case_bytes in torture()]
    scripts = []
    for xml_path in sorted((ROOT / "tests" / "sipp").glob("*.xml")):
        xml = xml_path.read_text(encoding="latin-1")
        uas = xml_path.name.startswith("peer_uas")
        msgs = sipp_messages(xml, LAST_UAS if uas else LAST_UAC)
        for m in msgs:
            messages.append(m.replace(b"$B", b"z9hG4bK1").replace(b"$T", b"t1")
                            .replace(b"$C", b"c1").replace(b"$S", b"1"))
        script = b"%%cd\n" if uas else b""
        for i, m in enumerate(msgs):
            if not uas and i == 0:
                script += b"%%u0\n" + m + b"\n%%cp\n%%ca\n"
            else:
                script += b"%%u0\n" + m + b"\n%%w100\n"
        script += b"%%w40000\n"
        scripts.append(script)
    return messages, scripts


def in_dialog_scripts() -> list[bytes]:
    """ua_input scripts that reach a confirmed dialog, then MESSAGE, UPDATE
    and re-INVITEs both ways (with glare)."""
    invite = ("INVITE sip:bob@127.0.0.1:5070 SIP/2.0\n"
              "Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKd1\n"
              "From: <sip:alice@127.0.0.2>;tag=f1\nTo: <sip:bob@127.0.0.1>\n"
              "Call-ID: dlg1\nCSeq: 1 INVITE\nContact: <sip:alice@127.0.0.2:5060>\n"
              "Content-Type: application/sdp\nContent-Length: 74\n\n"
              "v=0\no=- 1 1 IN IP4 127.0.0.2\ns=-\nc=IN IP4 127.0.0.2\nt=0 0\n"
              "m=audio 4000 RTP/AVP 0\n")

    def in_dialog(method: str, seq: int, body: str = "", ctype: str = "") -> str:
        extra = f"Content-Type: {ctype}\n" if body else ""
        return (f"{method} sip:bob@127.0.0.1:5070 SIP/2.0\n"
                f"Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKd{seq}{method}\n"
                "From: <sip:alice@127.0.0.2>;tag=f1\nTo: <sip:bob@127.0.0.1>;tag=$T\n"
                f"Call-ID: dlg1\nCSeq: {seq} {method}\n{extra}Content-Length: {len(body)}\n\n{body}")

    ok_to_ours = ("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=$B\n"
                  "From: <sip:bob@127.0.0.1>;tag=$T\nTo: <sip:alice@127.0.0.2>;tag=f1\n"
                  "Call-ID: dlg1\nCSeq: $S INVITE\nContact: <sip:alice@127.0.0.2:5060>\n"
                  "Content-Length: 0\n\n")
    sdp = "v=0\no=- 1 2 IN IP4 127.0.0.2\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 4000 RTP/AVP 0\n"
    steps = [
        ("u1", invite), ("ca", None), ("u1", in_dialog("ACK", 1)),
        ("u1", in_dialog("MESSAGE", 2, "hi", "text/plain")),
        ("u1", in_dialog("UPDATE", 3, sdp, "application/sdp")), ("cR", None),
        ("u1", in_dialog("UPDATE", 4)),
        ("cv", None), ("u1", in_dialog("INVITE", 5, sdp, "application/sdp")),
        ("u1", ok_to_ours.replace("200 OK", "491 Request Pending")), ("w3000", None),
        ("cv", None), ("u1", ok_to_ours), ("u1", ok_to_ours),
        ("cm", None),
        ("u1", in_dialog("REFER", 6).replace("Content-Length", "Refer-To: <sip:c@127.0.0.3>\nContent-Length")),
        ("cF", None), ("cn", None), ("cf", None),
        ("u1", in_dialog("NOTIFY", 7, "SIP/2.0 200 OK\n", "message/sipfrag")),
        ("ch", None), ("w40000", None),
    ]
    replacing = ("INVITE sip:bob@127.0.0.1:5070 SIP/2.0\n"
                 "Via: SIP/2.0/UDP 127.0.0.3:5060;branch=z9hG4bKr1\n"
                 "From: <sip:carol@127.0.0.3>;tag=r1\nTo: <sip:bob@127.0.0.1>\n"
                 "Call-ID: dlg2\nCSeq: 1 INVITE\nContact: <sip:carol@127.0.0.3:5060>\n"
                 "Replaces: dlg1;to-tag=$T;from-tag=f1\nRequire: replaces\n"
                 "Content-Type: application/sdp\nContent-Length: 74\n\n"
                 "v=0\no=- 1 1 IN IP4 127.0.0.3\ns=-\nc=IN IP4 127.0.0.3\nt=0 0\n"
                 "m=audio 4000 RTP/AVP 0\n")
    # An attended transfer's far end: an INVITE with Replaces takes the
    # confirmed dialog's place.
    replaces_steps = [
        ("u1", invite), ("ca", None), ("u1", in_dialog("ACK", 1)),
        ("u2", replacing), ("ca", None), ("ch", None), ("w40000", None),
    ]
    scripts = []
    for plan in (steps, replaces_steps):
        script = b""
        for head, text in plan:
            script += b"%%" + head.encode() + b"\n"
            if text is not None:
                script += text.replace("\n", "\r\n").encode() + b"\n"
        scripts.append(script)
    return scripts


def register_scripts() -> list[bytes]:
    """ua_input scripts for our own REGISTER (a trunk's): challenged,
    answered with credentials, granted; refreshed; un-registered."""
    def resp(status: str, extra: str = "") -> str:
        return (f"SIP/2.0 {status}\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=$B\n"
                "From: <sip:trunk@127.0.0.1:5070>;tag=$T\nTo: <sip:trunk@127.0.0.1:5070>;tag=p\n"
                f"Call-ID: $C\nCSeq: $S REGISTER\n{extra}Content-Length: 0\n\n")
    challenge = 'WWW-Authenticate: Digest realm="p", nonce="n1", qop="auth", algorithm=MD5\n'
    steps = [
        ("cG", None), ("u0", resp("401 Unauthorized", challenge)),
        ("u0", resp("200 OK", "Contact: <sip:trunk@127.0.0.1:5060>;expires=60\n")),
        ("cG", None), ("u0", resp("423 Interval Too Brief", "Min-Expires: 120\n")),
        ("cG", None), ("u0", resp("503 Service Unavailable", "Retry-After: 5 (x)\n")),
        ("cU", None), ("u0", resp("200 OK")), ("w40000", None),
    ]
    script = b""
    for head, text in steps:
        script += b"%%" + head.encode() + b"\n"
        if text is not None:
            script += text.replace("\n", "\r\n").encode() + b"\n"
    return [script]


def torture() -> list[bytes]:
    return [rfc4475.decode(p.read_text(encoding="utf-8"))
            for p in sorted((ROOT / "tests" / "sip" / "rfc4475").glob("*.sip"))]


# --- SDP -------------------------------------------------------------------

RUST_STR = re.compile(r'"(v=0(?:[^"\\]|\\.|\\\n)*)"', re.S)


def rust_unescape(s: str) -> str:
    s = re.sub(r"\\\n\s*", "", s)
    return (s.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t")
            .replace('\\"', '"').replace("\\0", "\0").replace("\\\\", "\\"))


def sdp_seeds(sip_messages: list[bytes]) -> list[bytes]:
    out = []
    for rs in sorted((ROOT / "engine" / "crates").glob("*/tests/*.rs")):
        for m in RUST_STR.finditer(rs.read_text(encoding="utf-8")):
            out.append(rust_unescape(m.group(1)).encode())
    for msg in sip_messages:
        _, sep, body = msg.partition(b"\r\n\r\n")
        if sep and body.startswith(b"v=0"):
            out.append(body)
    return out


# --- RTP -------------------------------------------------------------------

def webrtc_seeds() -> list[bytes]:
    """Browser-style offers (Chrome's shape, aiortc's, Firefox's setup and
    codec lists) and a few near misses."""
    base = ("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
            "a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS s1\r\n"
            "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\n"
            "a=rtcp:9 IN IP4 0.0.0.0\r\n"
            "a=candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host generation 0\r\n"
            "a=ice-ufrag:Ab3d\r\na=ice-pwd:0123456789abcdefABCDEF01\r\na=ice-options:trickle\r\n"
            "a=fingerprint:sha-256 " + ":".join(f"{b:02X}" for b in range(32)) + "\r\n"
            "a=setup:actpass\r\na=mid:0\r\n"
            "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
            "a=sendrecv\r\na=msid:s1 t1\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
            "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"
            "a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\n"
            "a=fmtp:63 111/111\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:8 PCMA/8000\r\na=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\n"
            "a=rtpmap:126 telephone-event/8000\r\na=ssrc:1001 cname:x\r\na=ssrc:1001 msid:s1 t1\r\n")
    out = [base,
           base.replace("a=setup:actpass", "a=setup:passive"),
           base.replace("a=sendrecv", "a=sendonly"),
           base.replace("111 63 9 0 8 13 110 126", "0 8"),
           base.replace("sha-256", "sha-1"),
           base + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n",
           base.replace("a=ice-pwd:0123456789abcdefABCDEF01", "a=ice-pwd:short"),
           base.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP")]
    return [s.encode() for s in out]


def rtp(pt: int, seq: int, ts: int, payload: bytes, marker=False, csrcs=(),
        ext: bytes | None = None, pad=0) -> bytes:
    first = 0x80 | len(csrcs) | (0x10 if ext is not None else 0) | (0x20 if pad else 0)
    b = struct.pack("!BBHII", first, (0x80 if marker else 0) | pt, seq, ts, 0xABC)
    for c in csrcs:
        b += struct.pack("!I", c)
    if ext is not None:
        b += struct.pack("!HH", 0xBEDE, len(ext) // 4) + ext
    b += payload
    if pad:
        b += b"\0" * (pad - 1) + bytes([pad])
    return b


def rtp_record(control: int, packet: bytes) -> bytes:
    return bytes([control, len(packet)]) + packet


def rtp_seeds() -> list[bytes]:
    seeds = []
    tick = 0x20
    for config in (0x00, 0x01, 0x03, 0x04, 0x08, 0x10):
        s = bytes([config])
        for i in range(6):
            s += rtp_record(tick | (3 << 2), rtp(0, 100 + i, 160 * i, b"\xff" * 160))
        # An RFC 4733 key press: three updates and three end packets of one event.
        for i, (flags, dur) in enumerate([(10, 160), (10, 320), (10, 480),
                                          (0x8A, 640), (0x8A, 640), (0x8A, 640)]):
            s += rtp_record(tick | (3 << 2), rtp(101, 106 + i, 960, bytes([5, flags]) +
                                                 struct.pack("!H", dur), marker=i == 0))
        s += rtp_record(0x40 | tick | (6 << 2), rtp(8, 1, 0, b"\xd5" * 160))
        s += rtp_record(1 | (7 << 2), rtp(0, 2, 160, b"\x7f" * 160, csrcs=(1, 2),
                                         ext=b"\x10\x01\x00\x00", pad=4))
        seeds.append(s)
    # INFO bodies travel through the same records.
    seeds.append(b"\x00" + rtp_record(0, b"Signal=5\r\nDuration=160\r\n")
                 + rtp_record(1, b"#"))
    return seeds


# --- audio -----------------------------------------------------------------

def wav(rate: int, channels: int, bits: int, frames: int, fmt: int = 1) -> bytes:
    block = channels * bits // 8
    data = bytes((i * 37) & 0xFF for i in range(frames * block))
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def audio_seeds() -> list[bytes]:
    fixtures = ROOT / "engine" / "crates" / "audio" / "tests" / "fixtures"
    seeds = []
    for hint, name in ((2, "tone440.mp3"), (3, "tone440.ogg"), (4, "tone440.flac")):
        seeds.append(bytes([hint]) + (fixtures / name).read_bytes())
    for args in ((8000, 1, 16, 200), (16000, 2, 16, 300), (44100, 1, 8, 400),
                 (8000, 1, 8, 100, 7), (8000, 1, 8, 100, 6), (48000, 2, 32, 50, 3)):
        seeds.append(bytes([1]) + wav(*args))
    return seeds


# --- main ------------------------------------------------------------------

def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    messages, scripts = sip_seeds()
    for m in messages:
        write("sip_parse", m)
    # The framer sees a stream: messages back to back, with keep-alives.
    for i, m in enumerate(messages):
        write("sip_framer", bytes([i % 4]) + bytes(range(7, 7 + i % 4)) + m + b"\r\n\r\n" + m)
    for s in scripts + in_dialog_scripts() + register_scripts():
        write("ua_input", s)
    for i, m in enumerate(messages):
        write("ua_input", b"%%" + (b"u0" if i % 2 else b"t1") + b"\n" + m + b"\n%%cp\n%%ca\n%%w1000\n")
    for i, sdp in enumerate(sdp_seeds(messages)):
        write("sdp", bytes([i % 4]) + sdp)
    for s in webrtc_seeds():
        write("webrtc_sdp", s)
    for s in rtp_seeds():
        write("rtp", s)
    for spec in sorted((ROOT / "scripts").glob("*.spec.json")):
        write("spec_json", spec.read_bytes())
    for s in audio_seeds():
        write("audio_decode", s)
    for d in sorted(OUT.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")


if __name__ == "__main__":
    main()
