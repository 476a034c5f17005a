#!/usr/bin/env python3
"""Conference benchmark: what mixing costs dialtone, with SIPp parties.

(a) Many small conferences (default 100 x 5): SIPp places --rooms calls to
    `dialtone run bench/scenarios/conference5.js`; each call opens a
    conference of five: itself and four calls dialtone places to a SIPp UAS.
    Every party streams G.711 (a looping tone), so every member speaks every
    tick. Over a steady window: dialtone's CPU (% of one core) and RSS above
    idle, per participant; mixing time per tick (dialtone_mixer_* metrics);
    late media ticks.
(b) One large conference (default 200): SIPp places --big calls to
    `dialtone run scripts/meet.js`; each caller's session reaches the one
    conference session with VoxEngine.callConference. A probe party (a small
    SIP client here, not SIPp) calls in too and timestamps every RTP packet
    dialtone sends it with the kernel's receive time (SO_TIMESTAMPNS):
    reported are the mixing time per tick (mean, and the bucket holding the
    99th percentile) and the p99 deviation of the probe's packet spacing from
    20 ms. --talkers chooses how many of the SIPp callers send a tone (the
    others send silence): all of them is the mixer's worst case.

Nothing is built here: the binary is target/release/dialtone, or $DIALTONE_BIN.
Everything runs on 127.0.0.1. Results: Markdown on stdout and in bench/results/.

    python3 bench/conference_load.py                    # both parts, ~3 minutes
    python3 bench/conference_load.py --rooms 20 --big 50 --window 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))
import audio  # noqa: E402
from echo_load import (DIALTONE_RTP, LOOPBACK, DialtoneUnderTest, SippRun, Window,  # noqa: E402
                       free_port, percentile, raise_nofile, release_binary, stop, wait_for_line)
from overload import scrape  # noqa: E402

RESULTS = BENCH / "results"
BUCKETS_US = [50, 100, 200, 500, 1000, 2000, 5000, 10000]
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def mixing(before: dict[str, float], after: dict[str, float]) -> dict:
    """Mixing time per tick over a window, from two scrapes."""
    ticks = after.get("dialtone_mixer_ticks_total", 0) - before.get("dialtone_mixer_ticks_total", 0)
    nanos = (after.get("dialtone_mixer_nanoseconds_total", 0)
             - before.get("dialtone_mixer_nanoseconds_total", 0))
    counts = []
    for b in [*map(str, BUCKETS_US), "inf"]:
        key = f'dialtone_mixer_ticks_by_time_total{{le_us="{b}"}}'
        counts.append(after.get(key, 0) - before.get(key, 0))
    p99_bound = None
    if ticks > 0:
        seen = 0.0
        for bound, n in zip([*BUCKETS_US, None], counts):
            seen += n
            if seen >= 0.99 * ticks:
                p99_bound = bound
                break
    lateness = []
    for b in [*map(str, BUCKETS_US), "inf"]:
        key = f'dialtone_media_ticks_by_lateness_total{{le_us="{b}"}}'
        lateness.append(after.get(key, 0) - before.get(key, 0))
    total = sum(lateness)
    late_p99 = None
    if total > 0:
        seen = 0.0
        for bound, n in zip([*BUCKETS_US, None], lateness):
            seen += n
            if seen >= 0.99 * total:
                late_p99 = bound
                break
    late = (after.get("dialtone_media_late_ticks_total", 0)
            - before.get("dialtone_media_late_ticks_total", 0))
    return {"mix_ticks": ticks, "mix_us_per_tick": nanos / ticks / 1000 if ticks else None,
            "mix_p99_bucket_us": p99_bound, "mix_buckets": counts, "late_ticks": late,
            "tick_lateness_p99_bucket_us": late_p99, "tick_lateness_buckets": lateness}


class Probe:
    """One call from a minimal SIP client: it streams silence (so the call is
    not hung up for lack of RTP) and stamps every packet it receives with
    the kernel's receive time."""

    def __init__(self, target_port: int, number: str):
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind((LOOPBACK, 0))
        self.sip.settimeout(0.5)
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((LOOPBACK, 0))
        self.rtp.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.rtp.settimeout(0.2)
        self.target = (LOOPBACK, target_port)
        self.number = number
        self.stamps: list[int] = []
        self.recording = False
        self.stop_flag = threading.Event()
        self.to_header = ""
        self.remote_rtp: tuple[str, int] | None = None

    def _request(self, method: str, cseq: int, branch: str, extra: str = "", body: str = "") -> bytes:
        lport = self.sip.getsockname()[1]
        to = self.to_header or f"<sip:{self.number}@{LOOPBACK}:{self.target[1]}>"
        head = (f"{method} sip:{self.number}@{LOOPBACK}:{self.target[1]} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {LOOPBACK}:{lport};branch=z9hG4bK{branch};rport\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:probe@{LOOPBACK}:{lport}>;tag=probe1\r\n"
                f"To: {to}\r\nCall-ID: probe-{lport}@{LOOPBACK}\r\nCSeq: {cseq} {method}\r\n"
                f"Contact: <sip:probe@{LOOPBACK}:{lport}>\r\n{extra}"
                f"Content-Length: {len(body)}\r\n\r\n{body}")
        return head.encode()

    def call(self, timeout: float = 20.0) -> None:
        rport = self.rtp.getsockname()[1]
        sdp = (f"v=0\r\no=probe 1 1 IN IP4 {LOOPBACK}\r\ns=-\r\nc=IN IP4 {LOOPBACK}\r\nt=0 0\r\n"
               f"m=audio {rport} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n")
        invite = self._request("INVITE", 1, "probeinv", "Content-Type: application/sdp\r\n", sdp)
        deadline = time.monotonic() + timeout
        sent_at = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() - sent_at > 1.0:
                self.sip.sendto(invite, self.target)
                sent_at = time.monotonic()
            try:
                data, _ = self.sip.recvfrom(65535)
            except socket.timeout:
                continue
            text = data.decode(errors="replace")
            status = text.split(" ", 2)[1] if text.startswith("SIP/2.0") else ""
            if status.startswith("2") and "INVITE" in text.split("CSeq:", 1)[-1].split("\r\n")[0]:
                for line in text.split("\r\n"):
                    if line.lower().startswith("to:"):
                        self.to_header = line.split(":", 1)[1].strip()
                m = re.search(r"m=audio (\d+)", text)
                c = re.search(r"c=IN IP4 (\S+)", text)
                if m and c:
                    self.remote_rtp = (c.group(1), int(m.group(1)))
                self.sip.sendto(self._request("ACK", 1, "probeack"), self.target)
                threading.Thread(target=self._stream, daemon=True).start()
                threading.Thread(target=self._receive, daemon=True).start()
                return
            if status and status[0] in "3456":
                raise RuntimeError(f"probe call refused: {text.splitlines()[0]}")
        raise RuntimeError("probe call not answered")

    def _stream(self) -> None:
        payload = bytes([0xFF]) * 160
        seq, ts, start = 0, 0, time.monotonic()
        while not self.stop_flag.is_set() and self.remote_rtp:
            header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, ts & 0xFFFFFFFF, 0x5EED)
            self.rtp.sendto(header + payload, self.remote_rtp)
            seq, ts = seq + 1, ts + 160
            due = start + seq * 0.02
            time.sleep(max(0.0, due - time.monotonic()))

    def _receive(self) -> None:
        while not self.stop_flag.is_set():
            try:
                data, anc, _, _ = self.rtp.recvmsg(2048, socket.CMSG_SPACE(16))
            except socket.timeout:
                continue
            except OSError:
                return
            if not self.recording:
                continue
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= 16:
                    sec, nsec = struct.unpack("qq", raw[:16])
                    self.stamps.append(sec * 1_000_000_000 + nsec)

    def cadence(self) -> dict:
        gaps = [(b - a) / 1e6 for a, b in zip(self.stamps, self.stamps[1:])]
        dev = [abs(g - 20.0) for g in gaps]
        return {"packets": len(self.stamps), "gap_mean_ms": statistics.mean(gaps) if gaps else None,
                "dev_p50_ms": percentile(dev, 0.50), "dev_p99_ms": percentile(dev, 0.99),
                "dev_max_ms": max(dev) if dev else None}

    def hangup(self) -> None:
        self.stop_flag.set()
        try:
            self.sip.sendto(self._request("BYE", 2, "probebye"), self.target)
        except OSError:
            pass


def start_uas(workdir: Path, port: int) -> subprocess.Popen:
    """SIPp answering every call on `port` and streaming workdir/loop.ulaw."""
    from echo_load import SIPP_XML, free_media_port
    argv = [shutil.which("sipp") or "sipp", "-sf", str(SIPP_XML / "uas_rtp.xml"),
            "-i", LOOPBACK, "-mi", LOOPBACK, "-p", str(port), "-mp", str(free_media_port()),
            "-t", "u1", "-nostdin", "-max_recv_loops", "10000", "-max_sched_loops", "10000",
            "-trace_err"]
    out = open(workdir / "sipp.stdout", "w")
    return subprocess.Popen(argv, cwd=str(workdir), stdin=subprocess.DEVNULL, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)


class ConferenceBench(DialtoneUnderTest):
    def __init__(self, args):
        self.args = args
        self.binary = release_binary()
        if not shutil.which("sipp"):
            sys.exit("sipp not found (Debian package sip-tester)")
        self.work = Path(tempfile.mkdtemp(prefix="dialtone-conf-bench-"))
        self.nofile = raise_nofile()
        self.results: dict = {"args": vars(args)}
        self.proc = None

    def start(self, scenario: Path, custom_data: str = "") -> None:
        self.port = free_port()
        self.http_port = free_port(kind=socket.SOCK_STREAM, both=False)
        self.log = self.work / f"dialtone-{scenario.stem}.log"
        argv = [str(self.binary), "run", str(scenario), "--sip", f"{LOOPBACK}:{self.port}",
                "--http", f"{LOOPBACK}:{self.http_port}",
                "--rtp-ports", f"{DIALTONE_RTP[0]}-{DIALTONE_RTP[1]}", "--custom-data", custom_data]
        self.log_fh = open(self.log, "w")
        self.proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.DEVNULL,
                                     stdout=self.log_fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for_line(self.log, "listening", self.proc, 30)

    def finish(self) -> None:
        stop(self.proc)
        self.log_fh.close()

    def count(self, needle: str) -> int:
        return self.log.read_text(errors="replace").count(needle)

    def steady_window(self, pids: dict[str, int]) -> tuple[dict, dict]:
        before = scrape(self.http_port)
        w = Window(pids)
        end = time.monotonic() + self.args.window
        while time.monotonic() < end:
            w.sample()
            time.sleep(0.5)
        m = w.close()
        return m, mixing(before, scrape(self.http_port))

    # (a) ------------------------------------------------------------------------------------
    def many(self) -> dict:
        a = self.args
        wd = self.work / "many"
        wd.mkdir()
        for d in ("uas", "uac"):
            (wd / d).mkdir()
            audio.write_tone_ulaw(wd / d / "loop.ulaw", 1000.0, 2.0, amplitude=0.1)
        uas_port = free_port()
        uas = start_uas(wd / "uas", uas_port)
        self.start(BENCH / "scenarios" / "conference5.js", f"sip:uas@{LOOPBACK}:{uas_port}")
        self.idle_baseline()
        n = a.rooms
        rate = min(a.setup_rate, n)
        ramp_s = n / rate
        hold_s = max(a.hold, ramp_s + a.settle + a.window + 10)
        uac = SippRun(wd / "uac", "uac_rtp_hold.xml", f"{LOOPBACK}:{self.port}",
                      ["-s", "100", "-r", str(rate), "-m", str(n), "-l", str(n),
                       "-d", str(int(hold_s * 1000)), "-recv_timeout", "20000"],
                      timeout_s=int(ramp_s + hold_s + 60))
        print(f"(a) {n} conferences of 5 ...", flush=True)
        row = {"rooms": n, "participants": 5 * n}
        try:
            deadline = time.monotonic() + ramp_s + 30
            while self.count("bench-conf: 5 in") < n and time.monotonic() < deadline:
                self.alive()
                time.sleep(0.5)
            row["rooms_full"] = self.count("bench-conf: 5 in")
            time.sleep(a.settle)
            m, mix = self.steady_window({"dialtone": self.proc.pid, "sipp_uac": uac.proc.pid,
                                         "sipp_uas": uas.pid})
            up = 5 * row["rooms_full"]
            row.update(mix)
            row.update({"cpu_pct": m["dialtone_cpu_pct"], "rss_kib": m["rss_kib"],
                        "sipp_cpu_pct": m["sipp_uac_cpu_pct"] + m["sipp_uas_cpu_pct"],
                        "cpu_pct_per_participant": m["dialtone_cpu_pct"] / max(up, 1),
                        "kib_per_participant": (m["rss_kib"] - self.results["idle"]["rss_kib"]) / max(up, 1)})
        finally:
            uac.wait()
            stop(uas)
            self.finish()
        ok, failed = uac.counts()
        row.update({"sipp_successful": ok, "sipp_failed": failed})
        print("  " + json.dumps(row), flush=True)
        return row

    # (b) ------------------------------------------------------------------------------------
    def big(self) -> dict:
        a = self.args
        wd = self.work / "big"
        wd.mkdir()
        n = a.big
        talkers = min(a.talkers, n)
        self.start(REPO / "scripts" / "meet.js")
        self.idle_baseline()
        rate = min(a.setup_rate, n)
        hold_s = max(a.hold, n / rate + a.settle + a.window + 20)
        runs = []
        for name, count, amplitude in (("talk", talkers, 0.1), ("quiet", n - talkers, 0.0)):
            if count == 0:
                continue
            d = wd / name
            d.mkdir()
            if amplitude > 0:
                audio.write_tone_ulaw(d / "loop.ulaw", 1000.0, 2.0, amplitude=amplitude)
            else:
                (d / "loop.ulaw").write_bytes(bytes([0xFF]) * 16000)
            runs.append(SippRun(d, "uac_rtp_hold.xml", f"{LOOPBACK}:{self.port}",
                                ["-s", "100", "-r", str(rate), "-m", str(count), "-l", str(count),
                                 "-d", str(int(hold_s * 1000)), "-recv_timeout", "20000"],
                                timeout_s=int(n / rate + hold_s + 60)))
            # Let it bind its media port before the next SIPp looks for a free one.
            time.sleep(1.0)
        print(f"(b) one conference of {n} ({talkers} talking) + a probe ...", flush=True)
        row = {"participants": n, "talkers": talkers}
        probe = None
        try:
            deadline = time.monotonic() + n / rate + 40
            while self.count("joined the room") < n and time.monotonic() < deadline:
                self.alive()
                time.sleep(0.5)
            row["joined"] = self.count("joined the room")
            # The probe dials the room itself: it is a member of the conference
            # session, served by the mixer's own worker.
            probe = Probe(self.port, "room")
            probe.call()
            time.sleep(a.settle)
            probe.recording = True
            pids = {"dialtone": self.proc.pid}
            pids.update({f"sipp{i}": r.proc.pid for i, r in enumerate(runs)})
            m, mix = self.steady_window(pids)
            probe.recording = False
            row.update(mix)
            row.update(probe.cadence())
            row.update({"cpu_pct": m["dialtone_cpu_pct"], "rss_kib": m["rss_kib"]})
        finally:
            if probe:
                probe.hangup()
            for r in runs:
                r.wait()
            self.finish()
        print("  " + json.dumps({k: v for k, v in row.items() if k != "mix_buckets"}), flush=True)
        return row

    def run(self) -> None:
        try:
            if not self.args.skip_many:
                self.results["many"] = self.many()
            if not self.args.skip_big:
                self.results["big"] = self.big()
        except BaseException:
            print(f"benchmark aborted; work files kept in {self.work}", file=sys.stderr)
            raise
        finally:
            if self.proc and self.proc.poll() is None:
                stop(self.proc)
        self.report()
        if not self.args.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)

    def report(self) -> None:
        r = self.results
        now = dt.datetime.now()
        f = lambda v, p=3: "—" if v is None else f"{v:.{p}f}"  # noqa: E731
        lines = [f"# dialtone conferences: {now:%Y-%m-%d %H:%M}", ""]
        if "many" in r:
            m = r["many"]
            lines += ["## (a) many conferences of five", "",
                      "| rooms full | participants | CPU % of one core | CPU % per participant | "
                      "KiB per participant | mixing µs per tick (mean / p99 bucket) | late ticks | SIPp failed |",
                      "|---|---|---|---|---|---|---|---|",
                      f"| {m.get('rooms_full')} / {m['rooms']} | {5 * m.get('rooms_full', 0)} | "
                      f"{f(m.get('cpu_pct'), 1)} | {f(m.get('cpu_pct_per_participant'))} | "
                      f"{f(m.get('kib_per_participant'), 0)} | {f(m.get('mix_us_per_tick'), 0)} / "
                      f"≤ {m.get('mix_p99_bucket_us')} | {m.get('late_ticks')} | {m.get('sipp_failed')} |", ""]
        if "big" in r:
            b = r["big"]
            lines += ["## (b) one large conference", "",
                      "| joined | talking | mixing µs per tick (mean / p99 bucket) | probe packets | "
                      "spacing deviation p50 / p99 / max ms | worker tick start p99 late | late ticks | "
                      "CPU % | RSS MiB |",
                      "|---|---|---|---|---|---|---|---|---|",
                      f"| {b.get('joined')} / {b['participants']} | {b['talkers']} | "
                      f"{f(b.get('mix_us_per_tick'), 0)} / ≤ {b.get('mix_p99_bucket_us')} | "
                      f"{b.get('packets')} | {f(b.get('dev_p50_ms'))} / {f(b.get('dev_p99_ms'))} / "
                      f"{f(b.get('dev_max_ms'))} | ≤ {b.get('tick_lateness_p99_bucket_us')} µs | "
                      f"{b.get('late_ticks')} | {f(b.get('cpu_pct'), 1)} | "
                      f"{f((b.get('rss_kib') or 0) / 1024, 0)} |", ""]
        text = "\n".join(lines)
        print(text)
        RESULTS.mkdir(exist_ok=True)
        stem = RESULTS / f"conference_load-{now:%Y%m%d-%H%M%S}"
        stem.with_suffix(".md").write_text(text + "\n")
        stem.with_suffix(".json").write_text(json.dumps(r, indent=2, default=str))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rooms", type=int, default=100, help="conferences of five in part (a)")
    p.add_argument("--big", type=int, default=200, help="participants of the conference in (b)")
    p.add_argument("--talkers", type=int, default=200,
                   help="how many of (b)'s SIPp callers send a tone (the rest send silence)")
    p.add_argument("--setup-rate", type=int, default=50)
    p.add_argument("--hold", type=float, default=40.0)
    p.add_argument("--settle", type=float, default=3.0)
    p.add_argument("--window", type=float, default=15.0)
    p.add_argument("--skip-many", action="store_true")
    p.add_argument("--skip-big", action="store_true")
    p.add_argument("--keep-work", action="store_true")
    ConferenceBench(p.parse_args()).run()


if __name__ == "__main__":
    main()
