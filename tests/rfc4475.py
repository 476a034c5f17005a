"""The RFC 4475 torture messages and the outcomes Dialtone must give them.

The messages are ``tests/sip/rfc4475/*.sip``, written in the RFC's own notation
(see the README there); the outcomes are the table in ``docs/sip-conformance.md``.
``engine/crates/sip/tests/rfc4475.rs`` reads the same two sources, so the Rust and
Python tests cannot disagree about a message.

    python3 tests/rfc4475.py            # every message: size and outcomes
    python3 tests/rfc4475.py wsinv      # one message, decoded, to stdout
    python3 tests/rfc4475.py --write-digests   # after editing a message on purpose
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MESSAGES = REPO / "tests" / "sip" / "rfc4475"
TABLE = REPO / "docs" / "sip-conformance.md"
DIGESTS = MESSAGES / "decoded.md5"


def decode(src: str) -> bytes:
    """Bytes of a message in RFC 4475 §2 notation: every line end is CRLF; lines
    between ``<allOneLine>`` and ``</allOneLine>`` are one line; ``<repeat
    count=N>x</repeat>`` is x N times; ``<hex>..</hex>`` spells bytes in hex
    (whitespace inside ignored, so its line ends are not CRLF)."""
    out, joining = [], False
    for line in src.split("\n"):
        if line == "<allOneLine>":
            joining, out = True, out + [""]
        elif line == "</allOneLine>":
            joining = False
        elif joining:
            out[-1] += line
        else:
            out.append(line)
    text = "\n".join(out)
    text = re.sub(r"<repeat count=(\d+)>(.*?)</repeat>",
                  lambda m: m.group(2) * int(m.group(1)), text, flags=re.S)
    parts = re.split(r"<hex>(.*?)</hex>", text, flags=re.S)
    return b"".join(bytes.fromhex("".join(p.split())) if i % 2 else p.replace("\n", "\r\n").encode()
                    for i, p in enumerate(parts))


@dataclass(frozen=True)
class Case:
    name: str
    section: str
    data: bytes
    udp: str
    tcp: str

    def outcome(self, transport: str) -> str:
        return self.udp if transport == "udp" else self.tcp


def cases() -> list[Case]:
    """Every row of the table whose first cell names a message, in table order."""
    found = []
    for line in TABLE.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 7 or not cells[1].startswith("`"):
            continue
        name = cells[1].strip("`")
        data = decode((MESSAGES / f"{name}.sip").read_text())
        found.append(Case(name, cells[2], data, cells[4].strip("`"), cells[5].strip("`")))
    return found


def digests() -> dict[str, str]:
    """name -> MD5 of the decoded message, from decoded.md5: the Rust and the
    Python decoder must both produce exactly these bytes."""
    found = {}
    for line in DIGESTS.read_text().splitlines():
        if line and not line.startswith("#"):
            digest, name = line.split()
            found[name] = digest
    return found


def write_digests() -> None:
    """Rewrites decoded.md5 after a message file was edited on purpose."""
    lines = ["# MD5 of each message as decoded from its .sip file, which both decoders",
             "# (tests/rfc4475.py, engine/crates/sip/tests/rfc4475.rs) must reproduce.",
             "# After editing a message on purpose: python3 tests/rfc4475.py --write-digests"]
    for path in sorted(MESSAGES.glob("*.sip")):
        lines.append(f"{hashlib.md5(decode(path.read_text())).hexdigest()}  {path.stem}")
    DIGESTS.write_text("\n".join(lines) + "\n")


def transaction_key(data: bytes) -> tuple | None:
    """What a server transaction of the request would be keyed by (RFC 3261
    §17.2.3): top Via branch, sent-by and method (ACK as INVITE). Two messages
    with the same key are one transaction to a UAS, whatever else they carry."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    head = re.sub(r"\r\n[ \t]+", " ", head)
    lines = head.split("\r\n")
    method = lines[0].split(" ", 1)[0]
    if method.startswith("SIP/"):
        return None
    via = next((l.split(":", 1)[1] for l in lines[1:]
                if re.match(r"(?i)(via|v)\s*:", l)), None)
    if via is None:
        return None
    top = via.split(",")[0]
    sent_by = re.sub(r"\s+", "", top.split(";")[0].split("/")[-1]).split()[-1:] or [""]
    sent_by = re.sub(r"(?i)^(udp|tcp|tls|sctp|unknown)", "", sent_by[0]).lower()
    if ":" not in sent_by:
        sent_by += ":5060"
    m = re.search(r"(?i);\s*branch\s*=\s*([^;,\s]+)", top)
    branch = m.group(1) if m and m.group(1).startswith("z9hG4bK") and len(m.group(1)) > 7 else None
    if branch is None:
        call_id = re.search(r"(?im)^(?:call-id|i)\s*:\s*(\S*)", head)
        branch = call_id.group(1) if call_id else ""
    return branch, sent_by, "INVITE" if method == "ACK" else method


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-digests"]:
        write_digests()
        sys.exit(0)
    all_cases = cases()
    if len(sys.argv) > 1:
        sys.stdout.buffer.write(next(c for c in all_cases if c.name == sys.argv[1]).data)
    else:
        for c in all_cases:
            print(f"{c.section:9} {c.name:11} {len(c.data):5} bytes  udp {c.udp:16} tcp {c.tcp}")
