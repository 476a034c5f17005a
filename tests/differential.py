#!/usr/bin/env python3
"""Differential runs: one example scenario, its spec's world reproduced for real,
and the same spec through the simulator; both event sequences normalized.

For ``scripts/X.js`` with ``scripts/X.spec.json`` (format in docs/testing.md):

* **real** (:func:`real_run`): the real engine on 127.0.0.1 with real peers —
  ``dialtone run X.js`` (``dialtone serve`` + ``POST /v1/sessions`` for a spec
  without ``call``: ``dialtone run`` starts sessions from INVITEs only);
  the inbound ``call`` from a PJSIP agent (``pjsip_agent.py --control``: the
  driver tells it when to press keys and hang up); each ``callees`` entry as a
  SIPp UAS whose scenario is generated from the entry (ring/answer/fail/
  hangupAfter); ``http`` entries and URL playbacks from a local HTTP server;
  ``playback`` durations of files as WAVs made with sox; ``request`` events sent
  to the session's ``accessURL``. Every ``example.com`` address in ``customData``
  is rewritten to its local stand-in, and :class:`AddressMap` maps them back.
* **sim** (:func:`sim_run`): ``dialtone test X.js --spec X.spec.json --format json``.
* :func:`normalize` turns either run into comparable sequences (events and log
  lines), :func:`compare` diffs them side by side.

Time: the spec's outside-world events (``events[].at``) are not replayed on
the wall clock. Each is tied to an *anchor* — a session event observed in the
real run (by default the inbound call's ``Call.Connected``; a few scenarios
name a better one in :data:`ANCHORS`) — and sent after the spec's offset from
that anchor, with every gap capped at :data:`GAP_CAP_MS` (a hang-up at
150 000 ms becomes one 1 s after the anchor), keeping the spec's order.
This assumes no script timer fires inside a compressed gap; where one would,
the spec needs an :data:`ANCHORS` entry (or a shorter spec time).
Callee timings (``ring``, ``answer``, ``fail``/``failAfter``) are kept as written;
``hangupAfter`` is capped the same way. Timers inside scripts are real
(forward_fallback.js waits 20 s for a callee that never answers).

CLI, to run and debug each half alone::

    python3 tests/differential.py plan scripts/forward.js   # the world and the plan, nothing started
    python3 tests/differential.py real scripts/echo.js      # real run: normalized sequence (--raw: lines too)
    python3 tests/differential.py sim scripts/echo.js       # simulated run, normalized
    python3 tests/differential.py diff scripts/echo.js      # both, compared; exit 1 when they differ
    python3 tests/differential.py diff                      # every scripts/X.js with a spec
"""

from __future__ import annotations

import argparse
import calendar
import difflib
import json
import re
import heapq
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import LOOPBACK, PORTS, REPO, SCRIPTS, Dialtone  # noqa: E402
from peers import Agent, Sipp  # noqa: E402

# --- tunables ----------------------------------------------------------------------------

#: Longest wait the real run keeps between two outside-world actions tied to the
#: same anchor (and the longest callee ``hangupAfter``): the spec's minutes of
#: talk become this much wall time. Long enough for the engine to finish what the
#: previous action started (an RFC 4733 digit and its echo take ~0.3 s).
GAP_CAP_MS = 1000
#: One-way latency added to everything the caller sends (through :class:`SipDelayRelay`).
#: On loopback an ACK reaches the engine ~1 ms after its 200 OK, racing the
#: engine's own media workers: in record_bridge.js ``record()`` is called just
#: before the caller's ACK arrives, and ``Call.RecordStarted`` (a media worker's
#: report) then lands before or after the caller's ``Call.Connected`` by chance.
#: A real network's round trip is longer than that, which is also what the
#: simulator assumes (the far end's answers come after what the engine does at
#: once); 100 ms keeps the order fixed even on a busy 2-core machine.
CALLER_LATENCY_MS = 100
#: How long one real run may take from the INVITE to ``Application.Terminated``
#: (forward_fallback.js alone has a 20 s timer of its own).
REAL_RUN_TIMEOUT_S = 45.0
#: How long to wait for one anchor event.
ANCHOR_TIMEOUT_S = 30.0
SIM_TIMEOUT_S = 60.0

# --- what the comparison leaves out ------------------------------------------------------

#: Events only media produces, at times only the network decides: where they
#: fall among the signalling and script events says nothing about the call
#: core. (The simulator places them by a model of its own, e.g.
#: FirstAudioPacketReceived 20 ms after the answer, or not at all.)
DROPPED_EVENTS = {
    # The first RTP packet from the peer: PJSIP starts sending at its own pace
    # (often before its ACK arrives), SIPp's RTP echo only once it hears
    # something, so it lands anywhere after the answer (or never, for a silent peer).
    "Call.FirstAudioPacketReceived",
    # No RTP for the engine's silence window, and the packets coming back:
    # depends on peers' send pacing and on how long a wall-clock call lasts.
    "Call.RtpStopped",
    "Call.RtpResumed",
}

#: Event fields whose values are timing or places, not behaviour: the key stays
#: (``duration``/``url`` present is still compared), the value is masked.
MASKED_FIELDS = {
    # Call length, playback length, recording length: wall-clock or TTS
    # durations in the real run, the spec's numbers in the simulated one.
    "duration",
    # Recording URLs: http://127.0.0.1:PORT/recordings/... vs sim://recordings/...
    "url",
}

#: Fields naming an engine id: replaced by labels in order of first appearance
#: (``call=3`` -> ``call=call#1``), so the two engines' numbering need not agree.
ID_FIELDS = ("call", "player", "recorder", "request")

#: Error texts differ between a real failure (an OS message) and a simulated
#: one; that there *was* an error is kept.
ERROR_FIELDS = ("error",)

# --- per-scenario knowledge ---------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """Tie spec events to a session event of the real run instead of the default.

    ``pattern`` is a regex over normalized-before event text (``{inbound}`` is
    the inbound call's id), ``nth`` which match counts (1 = first), ``spec_ms``
    when that event happens in the spec's own timeline (so an event at ``at``
    is ``at - spec_ms`` after it, before capping), ``why`` the reason.
    """
    pattern: str
    spec_ms: int
    why: str
    nth: int = 1


#: Scenarios whose spec times only make sense relative to something with a
#: real-world duration (TTS, tones, callee answers), by script stem and event index.
ANCHORS: dict[str, dict[int, Anchor]] = {
    "ivr": {
        # The key must come after the menu has been read (spec: 4000 ms of TTS)
        # and before the 5 s timeout: the real menu is espeak's length.
        0: Anchor(r"^Call\.PlaybackFinished call={inbound}\b", 4000,
                  "the key comes (spec: 2 s, capped) after the menu ends; espeak decides when that is"),
    },
    "voicemail": {
        # '#' ends a message that began when recording started (prompt 3000 +
        # beep 500 in the spec); real prompt length is espeak's.
        0: Anchor(r"^Call\.RecordStarted call={inbound}\b", 3500,
                  "'#' is pressed a capped 16.5 s after recording started; the prompt is espeak's"),
    },
    "hold_music": {
        # The caller's own hold and the rest come after the scenario's 3 s
        # hold (a script timer) has ended; its music player stops then.
        i: Anchor(r"^Player\.Stopped\b", 4000,
                  "after the scenario's timed hold ends (its music player stops)")
        for i in range(1, 6)
    },
    "supervise": {
        # The keys switch the supervisor's mode, so they come after it joined
        # (its endpoint is the conference's third, spec: at 1500 ms); a real
        # callee answers when its process gets to it.
        i: Anchor(r"^Conference\.EndpointAdded\b", 1500,
                  "the keys follow the supervisor joining the conference", nth=3)
        for i in range(0, 4)
    },
    "remote_control": {
        # The requests steer a connected call (the script ignores a tone change
        # before Connected): tie them to the callee's answer (spec: 1000 ms).
        0: Anchor(r"^Call\.Connected call=", 1000, "requests follow the callee's answer"),
        1: Anchor(r"^Call\.Connected call=", 1000, "requests follow the callee's answer"),
        2: Anchor(r"^Call\.Connected call=", 1000, "requests follow the callee's answer"),
    },
}

#: Log-line masks for values that are timing by nature once spec times are
#: compressed (applied to both runs).
LOG_MASKS: dict[str, list[tuple[str, str]]] = {
    # The message length: 16.5 s in the spec, ~1 s once '#' is pressed a
    # capped delay after RecordStarted. Both the log and the POSTed report carry it.
    "voicemail": [(r"\((\d+(?:\.\d+)?) s\)", "(<s> s)"),
                  (r'"duration":\d+(?:\.\d+)?', '"duration":<s>')],
    # The sequence's length: the spec's segment lengths, the real speech's.
    "sequence": [(r"^sequence: \d+(?:\.\d+)? s$", "sequence: <s> s")],
}

#: Engine ids a script writes into its log lines (``inbound.id()``): the regex's
#: groups are replaced by the same labels the events use (ids differ between
#: the engines; which call is which must not).
LOG_IDS: dict[str, list[tuple[str, str]]] = {
    "forward": [(r"^forward: connected (\d+) <-> (\d+)$", "call")],
}

# --- the spec ------------------------------------------------------------------------------


def example_scripts() -> list[Path]:
    """Every scripts/X.js that has scripts/X.spec.json."""
    return sorted(p for p in SCRIPTS.glob("*.js")
                  if not p.name.endswith(".spec.js") and spec_path(p).exists())


def spec_path(script: Path) -> Path:
    return script.with_name(script.stem + ".spec.json")


def load_spec(script: Path) -> dict:
    return json.loads(spec_path(script).read_text())


def unsupported(spec: dict) -> str | None:
    """Why the spec's world cannot be reproduced for real, or None."""
    for ev in spec.get("events", []):
        if "terminate" in ev:
            return ("a 'terminate' event (the engine ending the session) cannot be caused from "
                    "outside a `dialtone run`")
        if ev.get("call"):
            return f"event at {ev.get('at')} acts on callee {ev['call']}: the SIPp callees only follow their own timeline"
        if ev.get("reinvite") in ("recvonly", "inactive"):
            return (f"event at {ev.get('at')}: a {ev['reinvite']} re-INVITE; the real caller (PJSIP) "
                    "holds with sendonly and resumes with sendrecv only")
        if "rtp" in ev or "refer" in ev:
            return (f"event at {ev.get('at')}: the real caller cannot be made to "
                    f"{'stop its RTP' if 'rtp' in ev else 'send a REFER'} on cue")
    if spec.get("acd"):
        return ("ACD queues and agents ('acd') would have to be configured in `dialtone serve` "
                "and the agents' phones registered (tests/test_acd.py does that for real)")
    if spec.get("trunks"):
        return ("trunks ('trunks') would have to be configured in `dialtone serve` "
                "(tests/test_trunks.py calls through real trunks)")
    if spec.get("storage"):
        return ("ApplicationStorage pairs ('storage') would have to be seeded in `dialtone serve`'s "
                "database (tests/test_storage.py uses the store for real)")
    if spec.get("users"):
        return ("registered users ('users'): their phones would have to register with "
                "`dialtone serve` first (tests/test_registrar.py calls them for real)")
    for uri in spec.get("callees", {}):
        if uri not in spec.get("customData", ""):
            return f"callee {uri} is not in customData, so the script's call cannot be redirected to a local peer"
    for key in spec.get("http", {}):
        if not key.startswith("/"):
            if key not in spec.get("customData", "") and not _is_regex(key):
                return f"http entry {key} is not in customData, so the script's request cannot be redirected"
    return None


def _is_regex(key: str) -> bool:
    return len(key) >= 2 and key.startswith("/") and key.endswith("/")


# --- normalization (pure) ----------------------------------------------------------------------

_KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
_ACCESS_PATH = re.compile(r"^/access/[^/\s]+/[^/\s]+")


class AddressMap:
    """Local stand-ins -> the spec's addresses (``sip:bob@127.0.0.1:40001`` ->
    ``sip:bob@example.com``), applied longest first."""

    def __init__(self, pairs: dict[str, str] | None = None):
        self.local_to_spec: dict[str, str] = dict(pairs or {})

    def add(self, local: str, spec: str) -> None:
        self.local_to_spec[local] = spec

    def back(self, text: str) -> str:
        for local in sorted(self.local_to_spec, key=len, reverse=True):
            text = text.replace(local, self.local_to_spec[local])
        return text


def split_event(text: str) -> tuple[str, list[tuple[str | None, str]]]:
    """``Call.Failed call=3 code=486 reason="Busy Here"`` -> (name, [(key|None, value)...]).
    Values are unquoted (Rust ``{:?}`` strings); words without ``=`` come as (None, word);
    an unquoted ``error=`` takes the rest of the line (``HttpResponse`` writes it so)."""
    name, _, rest = text.strip().partition(" ")
    parts: list[tuple[str | None, str]] = []
    pos = 0
    while pos < len(rest):
        if rest[pos] == " ":
            pos += 1
            continue
        m = _KV.match(rest, pos)
        if m:
            key, value = m.group(1), m.group(2)
            if key in ERROR_FIELDS and not value.startswith('"'):
                value = rest[m.start(2):]
                pos = len(rest)
            else:
                pos = m.end()
            if value.startswith('"'):
                try:
                    value = json.loads(value)
                except ValueError:
                    value = value[1:-1]
            parts.append((key, value))
        else:
            word = rest[pos:].split(" ", 1)[0]
            parts.append((None, word))
            pos += len(word)
    return name, parts


class Normalizer:
    """Turns one run's event and log texts into comparable lines.

    One instance per run: id labels are numbered in order of first appearance.
    """

    def __init__(self, addresses: AddressMap | None = None,
                 log_masks: list[tuple[str, str]] = (), log_ids: list[tuple[str, str]] = ()):
        self.addresses = addresses or AddressMap()
        self.log_masks = [(re.compile(p), r) for p, r in log_masks]
        self.log_ids = [(re.compile(p), kind) for p, kind in log_ids]
        self.labels: dict[tuple[str, str], str] = {}
        self.recordings: dict[str, str] = {}

    def label(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self.labels:
            n = sum(1 for k in self.labels if k[0] == kind) + 1
            self.labels[key] = f"{kind}#{n}"
        return self.labels[key]

    def event(self, text: str) -> str | None:
        """The comparable form of one event line, None when it is dropped."""
        name, parts = split_event(self.addresses.back(text))
        if name in DROPPED_EVENTS:
            return None
        out = [name]
        for key, value in parts:
            if key is None:
                out.append(value)  # e.g. the states of "ALERTING -> CONNECTED"
            elif key in ID_FIELDS:
                out.append(f"{key}={self.label(key, value)}")
            elif key in MASKED_FIELDS:
                out.append(f"{key}=*")
            elif key in ERROR_FIELDS:
                out.append(f"{key}=*")
            elif key == "path" and name == "Application.HttpRequest":
                # /access/<session>/<token>/tone -> /tone: the session id and the
                # secret differ; what the request asked for does not.
                out.append(f"path={_ACCESS_PATH.sub('', value) or '/'}")
            else:
                out.append(f"{key}={_quote(value)}")
        return " ".join(out)

    def log(self, text: str) -> str:
        text = self.addresses.back(text)
        text = _RECORDING_URL.sub(lambda m: f"<{self.recording(m.group(0))}>", text)
        for rx, repl in self.log_masks:
            text = rx.sub(repl, text)
        for rx, kind in self.log_ids:
            m = rx.search(text)
            if m:
                pieces, last = [], 0
                for g in range(1, (m.lastindex or 0) + 1):
                    pieces += [text[last:m.start(g)], self.label(kind, m.group(g))]
                    last = m.end(g)
                text = "".join(pieces) + text[last:]
        return text

    def recording(self, url: str) -> str:
        if url not in self.recordings:
            self.recordings[url] = f"recording#{len(self.recordings) + 1}"
        return self.recordings[url]


# A recording's URL: the simulator's sim://recordings/SESSION-N.wav (once
# sim://recording/N), or the real engine's http://127.0.0.1:PORT/recordings/...
# (run) or .../v1/recordings/... (serve).
_RECORDING_URL = re.compile(r"sim://recordings?/[^\s\"',)]+"
                            r"|https?://[\w.:\[\]-]+/(?:v1/)?recordings/[^\s\"',)]+")


def _quote(value: str) -> str:
    return json.dumps(value) if (not value or re.search(r'[\s"]', value)) else value


@dataclass
class Normalized:
    events: list[str]
    logs: list[str]
    errors: list[str] = field(default_factory=list)


def normalize(events: list[str], logs: list[str], errors: list[str] = (),
              addresses: AddressMap | None = None, log_masks=(), log_ids=()) -> Normalized:
    """Events first, so that ids written into log lines get the events' labels."""
    n = Normalizer(addresses, log_masks, log_ids)
    evs = [e for e in (n.event(t) for t in events) if e is not None]
    return Normalized(evs, [n.log(t) for t in logs], [n.log(t) for t in errors])


# --- comparison --------------------------------------------------------------------------------


def side_by_side(left: list[str], right: list[str], titles=("real", "sim"), width: int = 60) -> str:
    """Both sequences in two columns, aligned by difflib: ``=`` same, ``!`` differs,
    ``<`` only left, ``>`` only right."""
    def cut(s: str) -> str:
        return s if len(s) <= width else s[:width - 1] + "…"

    rows = [f"  {titles[0]:<{width}} | {titles[1]}", f"  {'-' * width}-+-{'-' * width}"]
    sm = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            for a in left[i1:i2]:
                rows.append(f"= {cut(a):<{width}} | {cut(a)}")
            continue
        a_part, b_part = left[i1:i2], right[j1:j2]
        for k in range(max(len(a_part), len(b_part))):
            a = a_part[k] if k < len(a_part) else ""
            b = b_part[k] if k < len(b_part) else ""
            mark = "!" if a and b else ("<" if a else ">")
            rows.append(f"{mark} {cut(a):<{width}} | {cut(b)}")
    return "\n".join(rows)


def compare(real: Normalized, sim: Normalized) -> str | None:
    """None when both runs did the same; else a readable report of every difference."""
    out = []
    if real.events != sim.events:
        out.append("events differ (= same, ! different, < real only, > sim only):\n"
                   + side_by_side(real.events, sim.events))
    if real.logs != sim.logs:
        out.append("Logger.write lines differ:\n" + side_by_side(real.logs, sim.logs))
    if real.errors != sim.errors:
        out.append("script errors differ:\n" + side_by_side(real.errors, sim.errors))
    return "\n\n".join(out) or None


# --- runs --------------------------------------------------------------------------------------


@dataclass
class RawRun:
    """What one run produced, before normalization."""
    events: list[str]
    logs: list[str]
    errors: list[str] = field(default_factory=list)
    addresses: AddressMap = field(default_factory=AddressMap)
    notes: list[str] = field(default_factory=list)   # diagnostics for a failure report
    peer_failures: list[str] = field(default_factory=list)  # a real peer that did not follow its part
    passed: bool | None = None                        # the simulator's own verdict

    def normalized(self, stem: str = "") -> Normalized:
        return normalize(self.events, self.logs, self.errors, self.addresses,
                         LOG_MASKS.get(stem, []), LOG_IDS.get(stem, []))


class SimUnavailable(AssertionError):
    pass


def by_session(entries: list[dict]) -> list[dict]:
    """The simulator's lines session by session: the spec's session first (its lines
    have no ``session``), then each other session (a conference session) in the order
    it first appears. How the sessions' lines interleave depends on timing in the real
    world, so both halves are compared this way."""
    order: list = []
    for e in entries:
        if e.get("session") not in order:
            order.append(e.get("session"))
    order.sort(key=lambda s: s is not None)  # stable: the spec's session first
    return [e for s in order for e in entries if e.get("session") == s]


def sim_run(script: Path, binary: Path | None = None) -> RawRun:
    """``dialtone test SCRIPT --spec SPEC --format json`` (contract: one JSON object
    with ``passed``, ``events`` and ``logs``, each ``[{"at_ms", "text"}]``)."""
    binary = binary or harness.require_dialtone()
    argv = [str(binary), "test", str(script), "--spec", str(spec_path(script)), "--format", "json"]
    try:
        proc = subprocess.run(argv, cwd=str(REPO), capture_output=True, text=True,
                              timeout=SIM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise SimUnavailable(f"$ {' '.join(argv)}\ndid not finish within {SIM_TIMEOUT_S:.0f} s") from None
    try:
        doc = json.loads(proc.stdout)
        events = [e["text"] for e in by_session(doc["events"])]
        logs = [e["text"] for e in by_session(doc["logs"])]
        errors = [e["text"] if isinstance(e, dict) else str(e) for e in doc.get("errors", [])]
    except (ValueError, KeyError, TypeError) as exc:
        raise SimUnavailable(
            f"$ {' '.join(argv)}\n(exit status {proc.returncode}) gave no JSON report with "
            f"'events' and 'logs' ({exc!r})\n--- stdout ---\n{proc.stdout[-3000:]}\n"
            f"--- stderr ---\n{proc.stderr[-3000:]}") from None
    run = RawRun(events, logs, errors, passed=doc.get("passed"))
    if doc.get("passed") is False:
        run.notes.append(f"the simulator reports the spec's expectations FAILED:\n{proc.stdout[-3000:]}")
    return run


# --- the real world ------------------------------------------------------------------------------

_SESSION_LINE = re.compile(r"^(\S+)\s+\w+\s+session=(\S+)\s+kind=(\w+)\s(.*)$")


def _line_epoch(stamp: str) -> float | None:
    """``2026-12-02T06:31:11.331874Z`` -> seconds since the epoch."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z$", stamp)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    return calendar.timegm((y, mo, d, h, mi, s)) + float(m.group(7) or 0)


def parse_session_lines(lines: list[str]) -> list[tuple[float | None, str, str, str]]:
    """(epoch, session, kind, text) of every session line in dialtone's stdout."""
    out = []
    for line in lines:
        m = _SESSION_LINE.match(line)
        if m:
            out.append((_line_epoch(m.group(1)), m.group(2), m.group(3), m.group(4)))
    return out


@dataclass
class Callee:
    spec_uri: str
    local_uri: str
    port: int
    behaviour: dict
    xml: Path


@dataclass
class Step:
    """One outside-world action of the spec, timed from an anchor."""
    index: int
    at: int                # the spec's time
    action: dict           # the spec event
    anchor: str            # regex over event text
    anchor_nth: int
    delay_ms: int          # after the anchor, in the real run
    why: str

    def describe(self) -> str:
        what = {k: v for k, v in self.action.items() if k != "at"}
        return (f"spec {self.at:>6} ms {json.dumps(what)}\n"
                f"        -> {self.delay_ms} ms after match #{self.anchor_nth} of /{self.anchor}/ ({self.why})")


def _user_of(uri: str) -> str:
    m = re.match(r"sips?:([^@;>]+)@", uri)
    return re.sub(r"[^\w.+-]", "", m.group(1)) if m else "callee"


def _compress(offsets: list[int]) -> list[int]:
    """Spec offsets from an anchor -> real delays: each gap capped at GAP_CAP_MS."""
    out, prev_spec, prev_real = [], 0, 0
    for off in offsets:
        gap = max(0, off - prev_spec)
        prev_real += min(gap, GAP_CAP_MS)
        prev_spec = max(prev_spec, off)
        out.append(prev_real)
    return out


def plan_steps(stem: str, spec: dict) -> list[Step]:
    """The spec's ``events`` as real-run steps (see the module doc)."""
    overrides = ANCHORS.get(stem, {})
    has_call = "call" in spec
    default = (Anchor(r"^Call\.Connected call={inbound}\b", 0,
                      "default: from the inbound call's answer (the spec counts from the session "
                      "start, which for these scripts is when the inbound call is answered)")
               if has_call else
               Anchor(r"^Application\.Started\b", 0, "default: from the session start"))
    events = list(enumerate(spec.get("events", [])))
    groups: dict[Anchor, list[tuple[int, dict]]] = {}
    for i, ev in events:
        groups.setdefault(overrides.get(i, default), []).append((i, ev))
    steps = []
    for anchor, members in groups.items():
        members.sort(key=lambda m: m[1].get("at", 0))
        delays = _compress([max(0, m[1].get("at", 0) - anchor.spec_ms) for m in members])
        for (i, ev), delay in zip(members, delays):
            steps.append(Step(i, ev.get("at", 0), ev, anchor.pattern, anchor.nth, delay, anchor.why))
    steps.sort(key=lambda s: (s.at, s.index))
    return steps


class _SpecHttp(BaseHTTPRequestHandler):
    """Answers per the spec's ``http`` entries (and serves generated playback files)."""

    world: "World"

    def log_message(self, fmt, *args):
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.world.note_http(self.command, self.path, body)
        route = self.world.http_routes.get(self.path.split("?", 1)[0])
        if route is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if route.get("file") is not None:
            data = route["file"].read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            return
        entry = route["entry"]
        time.sleep(max(0, int(entry.get("delay", 0))) / 1000.0)
        code = int(entry.get("code", 200))
        if code <= 0:
            # VoxEngine's failure codes: no HTTP answer at all.
            self.close_connection = True
            return
        text = str(entry.get("text", "")).encode()
        self.send_response(code)
        for k, v in (entry.get("headers") or {}).items():
            self.send_header(k, str(v))
        if code not in (204, 304):
            self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        if code not in (204, 304) and self.command != "HEAD":
            self.wfile.write(text)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class World:
    """The spec's outside world on 127.0.0.1, described before anything starts
    (:meth:`describe`), started by :func:`real_run`."""

    def __init__(self, script: Path, spec: dict, workdir: Path):
        self.script = script
        self.stem = script.stem
        self.spec = spec
        self.workdir = workdir
        self.media_dir = workdir / "media"
        self.addresses = AddressMap()
        self.custom_data = spec.get("customData", "")
        self.callees: list[Callee] = []
        self.http_routes: dict[str, dict] = {}
        self.http_log: list[dict] = []
        self._http_lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None
        self.notes: list[str] = []
        self._prepare()

    # -- building --------------------------------------------------------------------------
    def _prepare(self) -> None:
        self.media_dir.mkdir(parents=True, exist_ok=True)
        self.httpd = ThreadingHTTPServer((LOOPBACK, 0), type("H", (_SpecHttp,), {"world": self}))
        self.httpd.daemon_threads = True
        self.http_port = self.httpd.server_address[1]
        self._prepare_callees()
        self._prepare_http()
        self._prepare_playback()
        self.steps = plan_steps(self.stem, self.spec)

    def _local_url(self, kind: str, n: int, url: str) -> str:
        path = re.sub(r"^[a-z]+://[^/]+", "", url) or "/"
        return f"http://{LOOPBACK}:{self.http_port}/{kind}{n}{path if path.startswith('/') else '/' + path}"

    def _prepare_callees(self) -> None:
        callees = dict(self.spec.get("callees", {}))
        # URIs in customData the spec does not describe answer after 1 s (docs/testing.md).
        for uri in re.findall(r"sips?:[^\s\"',;<>]+", self.custom_data):
            callees.setdefault(uri, {"answer": 1000})
        for uri, behaviour in callees.items():
            port = PORTS.sip_port()
            local = f"sip:{_user_of(uri)}@{LOOPBACK}:{port}"
            xml = self.workdir / f"callee_{_user_of(uri)}_{port}.xml"
            xml.write_text(uas_scenario(uri, behaviour))
            self.callees.append(Callee(uri, local, port, behaviour, xml))
            self.custom_data = self.custom_data.replace(uri, local)
            self.addresses.add(local, uri)

    def _prepare_http(self) -> None:
        entries = self.spec.get("http", {})
        urls = re.findall(r"https?://[^\s\"'<>]+", self.custom_data)
        for n, url in enumerate(urls):
            if LOOPBACK in url:
                continue
            entry = entries.get(url)
            if entry is None:
                for key, e in entries.items():
                    if _is_regex(key) and re.search(key[1:-1], url):
                        entry = e
                        break
            if entry is None:
                if url not in self.spec.get("playback", {}):
                    # The simulator answers -1 at once; here: a loopback port nobody
                    # listens on (connection refused), never the Internet.
                    closed = PORTS.sip_port()
                    local = f"http://{LOOPBACK}:{closed}" + (re.sub(r"^[a-z]+://[^/]+", "", url) or "/")
                    self.custom_data = self.custom_data.replace(url, local)
                    self.addresses.add(local, url)
                    self.notes.append(f"{url} has no http entry: sent to closed port {closed}")
                continue  # a playback URL: see _prepare_playback
            local = self._local_url("h", n, url)
            self.http_routes[local.split(str(self.http_port), 1)[1].split("?", 1)[0]] = {"entry": entry}
            self.custom_data = self.custom_data.replace(url, local)
            self.addresses.add(local, url)

    def _prepare_playback(self) -> None:
        for n, (key, ms) in enumerate(self.spec.get("playback", {}).items()):
            if key == "default_ms" or key not in self.spec.get("customData", ""):
                continue
            if not re.search(r"\.(wav|mp3|ogg|flac)(\?.*)?$", key, re.I):
                continue  # TTS text, a tone script, a progress-tone country: real lengths
            seconds = max(0.02, int(ms) / 1000.0)
            if re.match(r"https?://", key):
                wav = self.workdir / f"playback{n}.wav"
                make_wav(wav, seconds)
                local = self._local_url("p", n, key.split("?", 1)[0])
                self.http_routes[local.split(str(self.http_port), 1)[1]] = {"file": wav}
                self.custom_data = self.custom_data.replace(key, local)
                self.addresses.add(local, key)
            elif "://" not in key:
                make_wav(self.media_dir / key, seconds)
            else:
                self.notes.append(f"playback {key}: no stand-in for this kind of URL")

    # -- the HTTP peer --------------------------------------------------------------------------
    def note_http(self, method: str, path: str, body: bytes) -> None:
        with self._http_lock:
            self.http_log.append({"method": method, "path": path, "body": body.decode(errors="replace")})

    def start_http(self) -> None:
        self._serving = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._serving.start()

    def stop_http(self) -> None:
        if self.httpd is not None:
            if getattr(self, "_serving", None) is not None:
                self.httpd.shutdown()  # waits for serve_forever: only once it runs
            self.httpd.server_close()
            self.httpd = None

    def describe(self) -> str:
        call = self.spec.get("call")
        lines = [f"{self.script.relative_to(REPO)} with {spec_path(self.script).name}",
                 f"  engine: {'dialtone run' if call else 'dialtone serve + POST /v1/sessions'}",
                 f"  customData: {self.custom_data!r}"]
        if call:
            lines.append(f"  caller: PJSIP agent {call.get('from', 'caller')} -> {call.get('to', '100')}"
                         f" headers={call.get('headers', {})}, its SIP {CALLER_LATENCY_MS} ms late"
                         f" through a relay")
        for c in self.callees:
            lines.append(f"  callee {c.spec_uri} = {c.local_uri} (SIPp UAS {c.xml.name}): {c.behaviour}")
        for path, route in self.http_routes.items():
            what = f"file {route['file'].name}" if route.get("file") else json.dumps(route["entry"])
            lines.append(f"  http {path}: {what}")
        for f in sorted(self.media_dir.rglob("*")):
            lines.append(f"  media {f.relative_to(self.media_dir)}")
        for s in self.steps:
            lines.append(f"  step {s.describe()}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def make_wav(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sox", "-D", "-n", "-r", "8000", "-b", "16", "-c", "1", str(path),
                    "synth", f"{seconds:.3f}", "sine", "440", "vol", "0.5"],
                   check=True, capture_output=True, timeout=30)


# --- SIPp callees ------------------------------------------------------------------------------

_RESP_HEAD = """      [last_Via:]
      [last_From:]
      [last_To:]{tag}
      [last_Call-ID:]
      [last_CSeq:]"""


def _response(code: int, reason: str, *, tag: bool = True, sdp: bool = False) -> str:
    head = _RESP_HEAD.format(tag=";tag=[pid]U[call_number]" if tag else "")
    if sdp:
        body = """      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=callee [pid] 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15"""
    else:
        body = """      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0"""
    return f"""  <send>
    <![CDATA[

      SIP/2.0 {code} {reason}
{head}
{body}

    ]]>
  </send>
"""


_REASONS = {180: "Ringing", 183: "Session Progress", 200: "OK", 404: "Not Found",
            480: "Temporarily Unavailable", 486: "Busy Here", 487: "Request Terminated",
            500: "Server Internal Error", 503: "Service Unavailable", 600: "Busy Everywhere",
            603: "Decline"}


def uas_scenario(uri: str, b: dict, wait_ms: int = int(REAL_RUN_TIMEOUT_S * 1000)) -> str:
    """A SIPp UAS that behaves as the spec's ``callees`` entry ``b`` (times from the INVITE):
    ``ring`` -> 180, ``answer`` -> 200 with SDP, ``fail`` -> that code at ``failAfter``
    (default: the ring time, or at once), ``hangupAfter`` -> BYE that long after
    answering (capped at GAP_CAP_MS); an answered call otherwise waits for the
    engine's BYE, and one that never answers nor fails waits for its CANCEL."""
    ring, answer, fail = b.get("ring"), b.get("answer"), b.get("fail")
    parts = [f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Generated by tests/differential.py: the callee {uri} of a spec, {json.dumps(b)} -->
<scenario name="differential callee">
  <recv request="INVITE" rrs="true"/>
""", _response(100, "Trying", tag=False)]
    now = 0
    if ring is not None and (fail is None or ring <= b.get("failAfter", ring)) and \
            (answer is None or ring < answer):
        parts.append(f'  <pause milliseconds="{max(0, int(ring))}"/>\n')
        parts.append(_response(180, "Ringing"))
        now = int(ring)
    if fail is not None:
        at = int(b.get("failAfter", ring if ring is not None else 0))
        parts.append(f'  <pause milliseconds="{max(0, at - now)}"/>\n')
        parts.append(_response(int(fail), _REASONS.get(int(fail), "Failed")))
        parts.append(f'  <recv request="ACK" timeout="{wait_ms}"/>\n')
    elif answer is not None:
        parts.append(f'  <pause milliseconds="{max(0, int(answer) - now)}"/>\n')
        parts.append(_response(200, "OK", sdp=True))
        if b.get("hangupAfter") is not None:
            # Keep the ACK's From/To: a BYE of ours swaps them.
            parts.append(f"""  <recv request="ACK" timeout="{wait_ms}">
    <action>
      <ereg regexp="^.*$" search_in="hdr" header="From:" check_it="true" assign_to="ack_from"/>
      <ereg regexp="^.*$" search_in="hdr" header="To:" check_it="true" assign_to="ack_to"/>
    </action>
  </recv>
""")
            after = min(int(b["hangupAfter"]), GAP_CAP_MS)
            parts.append(f'  <pause milliseconds="{after}"/>\n')
            parts.append("""  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From:[$ack_to]
      To:[$ack_from]
      [last_Call-ID:]
      CSeq: 2 BYE
      [routes]
      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" timeout="10000"/>
""")
        else:
            parts.append(f'  <recv request="ACK" timeout="{wait_ms}"/>\n')
            parts.append(f'  <recv request="BYE" timeout="{wait_ms}"/>\n')
            parts.append(_response(200, "OK", tag=False))
    else:
        parts.append(f'  <recv request="CANCEL" timeout="{wait_ms}"/>\n')
        parts.append(_response(200, "OK", tag=False))
        parts.append(_response(487, "Request Terminated").replace("[last_CSeq:]", "CSeq: 1 INVITE"))
        parts.append(f'  <recv request="ACK" timeout="{wait_ms}"/>\n')
    parts.append('  <pause milliseconds="300"/>\n</scenario>\n')
    return "".join(parts)


# --- the real run --------------------------------------------------------------------------------


class RealRunError(AssertionError):
    pass


class _Serve(Dialtone):
    """``dialtone serve`` on free loopback ports, for specs without an inbound call."""

    ADMIN_KEY = "differential-admin-key-0123456789abcdef"

    def __init__(self, data_dir: Path, **kwargs):
        # The world's callees and web server live on loopback, which serve
        # denies to scenarios unless allowed.
        super().__init__(SCRIPTS / "echo.js", env={"DIALTONE_ADMIN_KEY": self.ADMIN_KEY,
                                                   "DIALTONE_EGRESS_ALLOW": "127.0.0.0/8"},
                         **kwargs)
        self.data_dir = data_dir
        self.http_port = PORTS.sip_port()

    @property
    def argv(self) -> list[str]:
        return [str(self.binary), "serve", "--sip", f"{LOOPBACK}:{self.sip_port}",
                "--http", f"{LOOPBACK}:{self.http_port}",
                "--rtp-ports", f"{self.rtp_ports[0]}-{self.rtp_ports[1]}",
                "--data-dir", str(self.data_dir), "--shutdown-timeout", "2s"]

    def api(self, method: str, path: str, body=None, key: str | None = None,
            ctype: str = "application/json") -> tuple[int, dict]:
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        req = urllib.request.Request(f"http://{LOOPBACK}:{self.http_port}{path}", data=data,
                                     method=method)
        req.add_header("Authorization", f"Bearer {key or self.ADMIN_KEY}")
        if data is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                text = resp.read().decode()
                return resp.status, json.loads(text) if text else {}
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            return e.code, json.loads(text) if text.startswith("{") else {"body": text}


def _access_request(base: str, req: dict, results: list, lock: threading.Lock) -> None:
    method = str(req.get("method", "GET")).upper()
    content = req.get("content", "")
    if not isinstance(content, str):
        content = json.dumps(content, separators=(",", ":"))
    url = base.rstrip("/") + (req.get("path") or "")
    r = urllib.request.Request(url, data=content.encode() if content else None, method=method)
    for k, v in (req.get("headers") or {}).items():
        r.add_header(k, str(v))
    try:
        with urllib.request.urlopen(r, timeout=15) as resp:
            out = (resp.status, resp.read().decode(errors="replace"))
    except urllib.error.HTTPError as e:
        out = (e.code, e.read().decode(errors="replace"))
    except OSError as e:
        out = (None, repr(e))
    with lock:
        results.append({"method": method, "url": url, "status": out[0], "body": out[1][:300]})


def real_run(script: Path, workdir: Path, binary: Path | None = None,
             objects: list | None = None) -> RawRun:
    """Reproduce the spec's world with real peers and collect the session's lines.

    ``objects`` (a list) receives every process started, for a caller's failure
    report; all of them are stopped before this returns."""
    script = Path(script).resolve()
    spec = load_spec(script)
    why = unsupported(spec)
    if why:
        raise NotImplementedError(why)
    workdir.mkdir(parents=True, exist_ok=True)
    world = World(script, spec, workdir)
    started: list = [] if objects is None else objects
    run = RawRun([], [], [], world.addresses)
    d = None
    try:
        world.start_http()
        for c in world.callees:
            s = Sipp(c.xml, None, workdir=workdir / f"sipp_{c.port}", local_port=c.port,
                     timeout_s=REAL_RUN_TIMEOUT_S + 10, name=f"callee_{_user_of(c.spec_uri)}",
                     extra=["-rtp_echo", "-trace_msg"])
            started.append(s)
            s.start()
        for c, s in zip(world.callees, [o for o in started if isinstance(o, Sipp)]):
            if not harness.wait_until(lambda: harness.udp_bound(c.port) or s.proc.poll() is not None, 10) \
                    or s.proc.poll() is not None:
                s.stop()
                raise RealRunError(f"the SIPp callee for {c.spec_uri} did not start:\n{s.report()}")
        data_dir = workdir / "data"
        data_dir.mkdir(exist_ok=True)
        call = spec.get("call")
        if call is not None:
            http_port = PORTS.sip_port()
            d = Dialtone(script, custom_data=world.custom_data, binary=binary,
                         log_path=workdir / "dialtone.log",
                         extra_args=["--http", f"{LOOPBACK}:{http_port}", "--data-dir", str(data_dir),
                                     "--media-dir", str(world.media_dir)])
            started.append(d)
            d.start()
            agent = _start_caller(d, call, workdir, started)
            access_url = None
        else:
            d = _Serve(data_dir, binary=binary, log_path=workdir / "dialtone.log")
            started.append(d)
            d.start()
            agent = None
            access_url = _start_rest_session(d, script, world.custom_data)
        deadline = time.monotonic() + REAL_RUN_TIMEOUT_S
        inbound = None
        if call is not None:
            m = d.wait_for(r"kind=event Application\.CallAlerting call=(\S+)", timeout=15,
                           what="the inbound call's CallAlerting")
            inbound = m.group(1)
        responses: list[dict] = []
        lock = threading.Lock()
        threads = []
        for step in world.steps:
            t_anchor = _wait_anchor(d, step, inbound, deadline)
            wait = t_anchor + step.delay_ms / 1000.0 - time.time()
            if wait > 0:
                time.sleep(wait)  # the spec's (capped) offset: an action's time, not a wait for an outcome
            ev = step.action
            if "dtmf" in ev:
                agent.command(f"dtmf {ev['dtmf']}")
            elif "hangup" in ev:
                agent.command("hangup")
            elif "reinvite" in ev:
                agent.command("hold" if ev["reinvite"] == "sendonly" else "unhold")
            elif "info" in ev:
                agent.command(f"info {ev['info']['contentType']} {ev['info'].get('body', '')}")
            elif "message" in ev:
                agent.command(f"message {ev['message']}")
            elif "request" in ev:
                t = threading.Thread(target=_access_request, args=(access_url, ev["request"], responses, lock),
                                     daemon=True)
                t.start()
                threads.append(t)
            run.notes.append(f"step at spec {step.at} ms done at +{step.delay_ms} ms from /{step.anchor}/")
        left = max(1.0, deadline - time.monotonic())
        d.wait_for(r"kind=event Application\.Terminated\b", timeout=left,
                   what="Application.Terminated (the session's end)")
        for t in threads:
            t.join(10)
        if agent is not None:
            try:
                agent.wait_event("disconnected", timeout=5)
            except AssertionError as exc:
                run.peer_failures.append(f"the caller's call did not end: {exc}")
        for s in started:
            if isinstance(s, Sipp):
                try:
                    code = s.wait(timeout=5)
                    if code != 0:
                        run.peer_failures.append(f"SIPp {s.name} exited {code}:\n{s.report()}")
                except AssertionError as exc:
                    run.peer_failures.append(str(exc))
        run.notes += [f"accessURL answer: {json.dumps(r)}" for r in responses]
        run.notes += [f"http peer got: {json.dumps(r)}" for r in world.http_log]
    finally:
        for obj in reversed(started):
            obj.stop()
        world.stop_http()
        if d is not None:
            _collect(d, run)
    return run


def _collect(d: Dialtone, run: RawRun) -> None:
    lines = parse_session_lines(d.lines)
    # Session by session, in the order they started (the caller's first), as
    # `by_session` orders the simulator's.
    sessions: list[str] = []
    for _, session, _, _ in lines:
        if session not in sessions:
            sessions.append(session)
    if len(sessions) > 1:
        run.notes.append(f"{len(sessions)} sessions in the log, compared one after the other")
    for wanted in sessions:
        for _, session, kind, text in lines:
            if session == wanted:
                {"event": run.events, "log": run.logs, "error": run.errors}.get(kind, []).append(text)
    run.notes.append("dialtone log:\n" + harness.tail(d.lines, 80))


class SipDelayRelay:
    """A minimal record-routing SIP relay over UDP that delays what the caller sends.

    The caller's INVITE goes to the relay, which adds ``Record-Route`` (so the
    ACK, BYE and INFO of the dialog come through it too, and the engine's
    in-dialog requests as well) and forwards it to the engine from its own
    socket (so responses come back to it, by rport). Caller -> engine traffic
    is held ``delay_s``; engine -> caller goes on at once. The relay's own
    ``Route`` entry is removed from requests it forwards. RTP does not pass here.
    """

    def __init__(self, engine_port: int, delay_s: float):
        self.engine = (LOOPBACK, engine_port)
        self.delay_s = delay_s
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.me = f"{LOOPBACK}:{self.port}"
        self.caller: tuple[str, int] | None = None
        self.count = 0
        self._queue: list = []
        self._seq = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _edit(self, data: bytes, from_caller: bool) -> bytes:
        head, sep, body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        if lines[0].startswith(b"SIP/2.0"):
            return data  # responses pass unchanged
        me = self.me.encode()
        # Our Route entry (first hop) is consumed here.
        lines = [ln for ln in lines
                 if not (ln.lower().startswith(b"route:") and me in ln and b"," not in ln)]
        if from_caller and lines[0].startswith(b"INVITE ") and not any(
                ln.lower().startswith(b"to:") and b"tag=" in ln.lower() for ln in lines):
            lines.insert(1, b"Record-Route: <sip:" + me + b";lr>")
        return b"\r\n".join(lines) + sep + body

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            while self._queue and self._queue[0][0] <= now:
                _, _, data, dest = heapq.heappop(self._queue)
                try:
                    self.sock.sendto(data, dest)
                except OSError:
                    pass
            wait = min(0.05, max(0.0, self._queue[0][0] - now)) if self._queue else 0.05
            try:
                ready, _, _ = select.select([self.sock], [], [], wait)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                data, src = self.sock.recvfrom(65535)
            except OSError:
                continue
            self.count += 1
            if src == self.engine:
                if self.caller is not None:
                    self.sock.sendto(self._edit(data, False), self.caller)
                continue
            if data.strip() == b"":
                continue  # keep-alive
            self.caller = src
            self._seq += 1
            heapq.heappush(self._queue, (time.monotonic() + self.delay_s, self._seq,
                                         self._edit(data, True), self.engine))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def _start_caller(d: Dialtone, call: dict, workdir: Path, started: list) -> Agent:
    extra = []
    for name, value in (call.get("headers") or {}).items():
        extra += ["--header", f"{name}: {value}"]
    if call.get("displayName"):
        extra += ["--display-name", call["displayName"]]
    relay = SipDelayRelay(d.sip_port, CALLER_LATENCY_MS / 1000.0)
    started.append(relay)
    agent = Agent("call", f"sip:{call.get('to', '100')}@{LOOPBACK}:{relay.port}",
                  name=str(call.get("from", "caller")), workdir=workdir, control=True,
                  max_time=REAL_RUN_TIMEOUT_S + 10, extra=extra)
    started.append(agent)
    agent.wait_listening()
    return agent


def _start_rest_session(d: _Serve, script: Path, custom_data: str) -> str:
    status, acct = d.api("POST", "/v1/accounts", {"name": "differential"})
    if status != 201:
        raise RealRunError(f"POST /v1/accounts: {status} {acct}")
    key = acct["apiKey"]
    status, body = d.api("PUT", "/v1/applications/diff", key=key)
    if status not in (200, 201):
        raise RealRunError(f"PUT /v1/applications/diff: {status} {body}")
    status, body = d.api("PUT", f"/v1/applications/diff/scenarios/{script.stem}", script.read_text(),
                         key=key, ctype="application/javascript")
    if status != 201:
        raise RealRunError(f"uploading {script.name}: {status} {body}")
    status, started = d.api("POST", "/v1/sessions", {"application": "diff", "scenario": script.stem,
                                                     "customData": custom_data}, key=key)
    if status != 201 or "accessURL" not in started:
        raise RealRunError(f"POST /v1/sessions: {status} {started}")
    return started["accessURL"]


def _wait_anchor(d: Dialtone, step: Step, inbound: str | None, deadline: float) -> float:
    """Epoch time of the step's anchor event (from the line's own timestamp)."""
    rx = re.compile(step.anchor.replace("{inbound}", re.escape(inbound or "")))
    seen = [0]

    def hit(line: str):
        m = _SESSION_LINE.match(line)
        if m and m.group(3) == "event" and rx.search(m.group(4)):
            seen[0] += 1
            if seen[0] >= step.anchor_nth:
                return m
        return None

    timeout = min(ANCHOR_TIMEOUT_S, max(1.0, deadline - time.monotonic()))
    found = d.pump.wait(hit, timeout)
    if found is None:
        raise RealRunError(f"no event #{step.anchor_nth} matching /{rx.pattern}/ within {timeout:.0f} s "
                           f"for {step.describe()}; log:\n{harness.tail(d.lines)}")
    return _line_epoch(found[1].group(1)) or time.time()


# --- reports --------------------------------------------------------------------------------------


def format_sequence(n: Normalized) -> str:
    out = ["events:"] + [f"  {e}" for e in n.events] + ["logs:"] + [f"  {l}" for l in n.logs]
    if n.errors:
        out += ["errors:"] + [f"  {e}" for e in n.errors]
    return "\n".join(out)


def differential(script: Path, workdir: Path, binary: Path | None = None,
                 objects: list | None = None) -> tuple[str | None, RawRun, RawRun]:
    """Sim first (fast, and without it there is nothing to compare), then real."""
    sim = sim_run(script, binary)
    real = real_run(script, workdir, binary, objects)
    return compare(real.normalized(script.stem), sim.normalized(script.stem)), real, sim


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("plan", "real", "sim", "diff", "twice"),
                   help="twice: the real half two times, compared (is it reproducible?)")
    p.add_argument("scripts", nargs="*", help="scripts/X.js (default: every one with a spec)")
    p.add_argument("--raw", action="store_true", help="also print the raw lines and the run's notes")
    p.add_argument("--keep", action="store_true", help="keep the work directory (SIPp traces, logs)")
    args = p.parse_args(argv)
    scripts = [Path(s).resolve() for s in args.scripts] or example_scripts()
    status = 0
    for script in scripts:
        stem = script.stem
        print(f"=== {script.relative_to(REPO)} ({args.mode})", flush=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"differential-{script.stem}-"))
        try:
            spec = load_spec(script)
            why = unsupported(spec)
            if why and args.mode != "sim":
                print(f"SKIP: {why}")
                continue
            if args.mode == "plan":
                world = World(script, spec, workdir)
                print(world.describe())
                world.stop_http()
                continue
            t0 = time.monotonic()
            if args.mode == "real":
                run = real_run(script, workdir)
                print(format_sequence(run.normalized(stem)))
            elif args.mode == "sim":
                run = sim_run(script)
                print(format_sequence(run.normalized(stem)))
                print(f"passed: {run.passed}")
            elif args.mode == "twice":
                real = real_run(script, workdir / "1")
                run = real_run(script, workdir / "2")
                diff = compare(real.normalized(stem), run.normalized(stem))
                print(diff or "SAME\n" + format_sequence(real.normalized(stem)))
                status |= 1 if diff else 0
            else:
                diff, real, run = differential(script, workdir)
                print(diff or "SAME\n" + format_sequence(real.normalized(stem)))
                status |= 1 if diff else 0
            for failure in (real if args.mode in ("diff", "twice") else run).peer_failures:
                print(f"PEER FAILURE: {failure}")
                status = 1
            if args.raw:
                print("raw events:\n  " + "\n  ".join(run.events))
                print("raw logs:\n  " + "\n  ".join(run.logs))
                print("notes:\n" + "\n".join(run.notes))
            print(f"({time.monotonic() - t0:.1f} s)")
        except (AssertionError, NotImplementedError) as exc:
            print(f"ERROR: {exc}")
            status = 1
        finally:
            if args.keep:
                print(f"work directory: {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
