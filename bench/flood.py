#!/usr/bin/env python3
"""Floods while 100 echo calls run: does their audio survive, does memory stay
bounded, is any history lost?

`dialtone serve` (fresh SQLite data directory) routes 1xxx to scripts/echo.js.
SIPp opens --calls (default 100) long calls with G.711 RTP
(bench/sipp/uac_rtp_hold.xml). Once all are up, a baseline window is measured,
then one flood after another hits dialtone's SIP port for --flood-seconds each,
with --gap seconds of recovery in between, then an after window:

  sipsak          `sipsak -F` (flood mode: OPTIONS, replies ignored), run in
                  chunks back to back
  junk            bench/flooder (Rust, one plain UDP socket in a tight loop):
                  random bytes, truncated and mangled INVITEs, requests
                  without Via, stray responses, lying Content-Length
  sipp-options    SIPp bench/sipp/flood_options.xml at -r --sipp-rate
  sipp-invite     SIPp bench/sipp/flood_invite.xml at -r --sipp-rate: INVITEs
                  with SDP to an unclaimed number, never ACKed
  options-max     bench/flooder OPTIONS, as fast as it can send
  invite-max      bench/flooder INVITEs with SDP, as fast as it can send
  all             junk + sipp-options + sipp-invite + sipsak at once

Every flood goes to a number nobody claims (--flood-user, 9999), as scanners
and toll-fraud floods do. Per window: the rate each sender achieved (its own
count of datagrams sent / wall time), the datagrams dialtone's SIP socket
dropped (/proc/net/udp), INVITEs dialtone answered (404, 503: its metrics),
the echo continuity (RTP packets back at SIPp's media socket, counted by its
drop counter as in echo_load.py, over the packets SIPp sent: dialtone's
rtp_packets_in + rtp_packets_lost), dialtone's CPU and RSS, the senders' CPU
(rusage). Then the calls end, and every one of them must be in /v1/history
(ended, answered, hung up by the caller); RSS is read again once the INVITE
flood's transactions have expired (--expire-wait).

Nothing of dialtone is built here: target/release/dialtone or $DIALTONE_BIN.
bench/flooder is built (cargo, no dependencies) into bench/flooder/target.

    python3 bench/flood.py                                 # about 5 minutes
    python3 bench/flood.py --floods junk,sipp-invite --flood-seconds 10
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
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from echo_load import (  # noqa: E402  (the shared dialtone-process helpers)
    BENCH, LOOPBACK, REPO, RESULTS, SIPP_MEDIA_PORTS, SIPP_XML, DialtoneUnderTest, SippRun, Window,
    audio, free_port, raise_nofile, release_binary, rss_kib, stop, thread_count,
    udp_drops, wait_for_line)

FLOODER_DIR = BENCH / "flooder"
FLOODER_BIN = FLOODER_DIR / "target" / "release" / "dialtone-flooder"
DIALTONE_RTP = (10000, 29999)
APPLICATION = "bench"
PACKETS_PER_SECOND = 50  # G.711 at 20 ms
ALL_FLOODS = ["sipsak", "junk", "sipp-options", "sipp-invite", "options-max", "invite-max", "all"]


# --- flood senders ---------------------------------------------------------------------------

_handed_out: set[int] = set()
_ports_lock = threading.Lock()


def _free_media_block(skip: set[int]) -> int:
    """Like echo_load.free_media_port, leaving out the ports in `skip`."""
    for port in SIPP_MEDIA_PORTS:
        block = (port, port + 1, port + 2, port + 3)
        if any(p in skip for p in block):
            continue
        try:
            for p in block:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind((LOOPBACK, p))
        except OSError:
            continue
        return port
    raise RuntimeError("no free SIPp media port in 30000-32000")


def sipp_ports() -> tuple[int, int]:
    """A SIP port and a media port block for one SIPp flood. Floods start
    together: a port handed out once is never handed out again, even before
    its SIPp has bound it."""
    with _ports_lock:
        for _ in range(200):
            sip, media = free_port(), _free_media_block(_handed_out)
            if sip not in _handed_out:
                _handed_out.update({sip, media, media + 1, media + 2, media + 3})
                return sip, media
    raise RuntimeError("no free ports for a SIPp flood")


def wait_rusage(proc: subprocess.Popen, timeout: float) -> float:
    """Waits for `proc` (killing it after `timeout`) and returns the CPU seconds it used."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
            deadline = float("inf")
        time.sleep(0.05)


class Sender(threading.Thread):
    """One flood source, run in a thread until its deadline; `result` then
    holds what it sent: datagrams, wall seconds, datagrams/s, CPU seconds."""

    name = "sender"

    def __init__(self, bench: "FloodBench", seconds: float):
        super().__init__(daemon=True)
        self.bench = bench
        self.seconds = seconds
        self.result: dict = {"sender": self.name, "sent": 0, "seconds": 0.0, "cpu_s": 0.0}
        self.procs: list[subprocess.Popen] = []

    def spawn(self, argv: list[str], cwd: Path, stdout=subprocess.PIPE) -> subprocess.Popen:
        p = subprocess.Popen(argv, cwd=str(cwd), stdin=subprocess.DEVNULL, stdout=stdout,
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def run(self) -> None:
        t0 = time.monotonic()
        try:
            self.flood()
        except Exception as e:  # reported, not raised: the other senders go on
            self.result["error"] = repr(e)
        self.result["seconds"] = time.monotonic() - t0
        self.result["pps"] = self.result["sent"] / self.result["seconds"] if self.result["seconds"] else 0

    def flood(self) -> None:
        raise NotImplementedError

    def kill(self) -> None:
        for p in self.procs:
            stop(p, grace=2)


class RustFlooder(Sender):
    def __init__(self, bench, seconds, mode: str):
        self.mode = mode
        self.name = {"junk": "junk", "options": "options-max", "invite": "invite-max"}[mode]
        super().__init__(bench, seconds)

    def flood(self) -> None:
        b = self.bench
        p = self.spawn([str(FLOODER_BIN), "--target", f"{LOOPBACK}:{b.sip_port}", "--mode", self.mode,
                        "--seconds", str(self.seconds), "--threads", str(b.args.flooder_threads),
                        "--user", b.args.flood_user], cwd=b.work)
        out = p.stdout.read().decode(errors="replace")
        self.result["cpu_s"] = wait_rusage(p, self.seconds + 10)
        line = out.strip().splitlines()[-1] if out.strip() else "{}"
        report = json.loads(line)
        self.result.update(sent=report.get("sent", 0), send_errors=report.get("errors", 0))


class Sipsak(Sender):
    """sipsak -F sends a fixed count then reports how long it took; chunks are
    sized from the last chunk's rate so the flood ends close to the deadline."""

    name = "sipsak"

    def flood(self) -> None:
        b = self.bench
        deadline = time.monotonic() + self.seconds
        chunk, sent = 50_000, 0
        while (left := deadline - time.monotonic()) > 0.05:
            p = self.spawn([shutil.which("sipsak") or "sipsak", "-F", "-e", str(chunk),
                            "-s", f"sip:{b.args.flood_user}@{LOOPBACK}:{b.sip_port}"], cwd=b.work)
            out = p.stdout.read().decode(errors="replace")
            self.result["cpu_s"] += wait_rusage(p, left + 10)
            m = re.search(r"it took ([\d.]+) ms seconds to send (\d+) request", out)
            if not m:
                self.result["error"] = out[-500:]
                break
            ms, n = float(m.group(1)), int(m.group(2))
            sent += n
            rate = n / max(ms / 1000, 1e-3)
            left = deadline - time.monotonic()
            chunk = int(max(1000, min(rate * left, rate * 2)))
        self.result["sent"] = sent


class SippFlood(Sender):
    def __init__(self, bench, seconds, what: str):
        self.what = what
        self.name = f"sipp-{what}"
        super().__init__(bench, seconds)

    def flood(self) -> None:
        b = self.bench
        wd = b.work / f"{self.name}-{time.monotonic_ns()}"
        wd.mkdir()
        secs = max(1, round(self.seconds))
        sip_port, media_port = sipp_ports()
        argv = [shutil.which("sipp") or "sipp", f"{LOOPBACK}:{b.sip_port}",
                "-sf", str(SIPP_XML / f"flood_{self.what}.xml"), "-s", b.args.flood_user,
                "-i", LOOPBACK, "-mi", LOOPBACK, "-p", str(sip_port),
                "-mp", str(media_port), "-t", "u1", "-nostdin",
                "-r", str(b.args.sipp_rate), "-rp", "1000", "-l", str(b.args.sipp_rate * 2),
                "-timeout", f"{secs}s", "-trace_stat", "-fd", "1"]
        with open(wd / "sipp.stdout", "w") as out:
            p = self.spawn(argv, cwd=wd, stdout=out)
            self.result["cpu_s"] = wait_rusage(p, secs + 20)
        stats = sorted(wd.glob("*_.csv"))
        if not stats:
            self.result["error"] = (wd / "sipp.stdout").read_text(errors="replace")[-500:]
            return
        rows = [r.split(";") for r in stats[0].read_text(errors="replace").splitlines() if r.strip()]
        if len(rows) >= 2:
            cols = dict(zip(rows[0], rows[-1]))
            self.result["sent"] = int(cols.get("TotalCallCreated", 0) or 0)


def make_senders(bench: "FloodBench", flood: str, seconds: float) -> list[Sender]:
    one = {
        "sipsak": lambda: Sipsak(bench, seconds),
        "junk": lambda: RustFlooder(bench, seconds, "junk"),
        "sipp-options": lambda: SippFlood(bench, seconds, "options"),
        "sipp-invite": lambda: SippFlood(bench, seconds, "invite"),
        "options-max": lambda: RustFlooder(bench, seconds, "options"),
        "invite-max": lambda: RustFlooder(bench, seconds, "invite"),
    }
    if flood == "all":
        return [one[k]() for k in ("junk", "sipp-options", "sipp-invite", "sipsak")]
    return [one[flood]()]


# --- the benchmark ---------------------------------------------------------------------------

def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text: `name{labels}` -> value (labels kept in the key)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        try:
            out[key] = float(value)
        except ValueError:
            pass
    return out


class FloodBench(DialtoneUnderTest):
    def __init__(self, args):
        self.args = args
        self.binary = release_binary()
        for tool, pkg in (("sipp", "sip-tester"), ("sipsak", "sipsak")):
            if not shutil.which(tool):
                sys.exit(f"{tool} not found (Debian package {pkg})")
        self.work = Path(tempfile.mkdtemp(prefix="dialtone-flood-"))
        self.nofile = raise_nofile()
        self.sip_port = free_port()
        self.http_port = free_port(kind=socket.SOCK_STREAM, both=False)
        self.key = "bench-admin-key-" + os.urandom(12).hex()
        self.proc: subprocess.Popen | None = None
        self.log = self.work / "dialtone.log"
        self.results: dict = {"windows": [], "rss": {}}
        self.calls: SippRun | None = None

    # -- dialtone and its REST API -------------------------------------------------------------
    def rest(self, method: str, path: str, body: bytes | None = None,
             ctype: str = "application/json", timeout: float = 10) -> tuple[int, bytes]:
        req = urllib.request.Request(f"http://{LOOPBACK}:{self.http_port}{path}", data=body,
                                     method=method,
                                     headers={"Authorization": f"Bearer {self.key}",
                                              "Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def metrics(self) -> dict[str, float]:
        status, body = self.rest("GET", "/metrics")
        if status != 200:
            raise RuntimeError(f"GET /metrics answered {status}")
        return parse_metrics(body.decode(errors="replace"))

    def start_server(self) -> None:
        argv = [str(self.binary), "serve", "--sip", f"{LOOPBACK}:{self.sip_port}",
                "--http", f"{LOOPBACK}:{self.http_port}", "--data-dir", str(self.work / "data"),
                "--rtp-ports", f"{DIALTONE_RTP[0]}-{DIALTONE_RTP[1]}"]
        env = dict(os.environ, DIALTONE_ADMIN_KEY=self.key)
        self.log_fh = open(self.log, "w")
        self.proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.DEVNULL, env=env,
                                     stdout=self.log_fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for_line(self.log, "listening", self.proc, 30)
        base = f"/v1/applications/{APPLICATION}"
        steps = [("PUT", base, b"", "application/json"),
                 ("PUT", f"{base}/scenarios/echo", (REPO / "scripts" / "echo.js").read_bytes(),
                  "application/javascript"),
                 ("POST", "/v1/claims", json.dumps({"pattern": r"1\d{3}"}).encode(), "application/json"),
                 ("POST", f"{base}/rules",
                  json.dumps({"name": "bench", "pattern": r"1\d{3}", "scenarios": ["echo"]}).encode(),
                  "application/json")]
        for method, path, body, ctype in steps:
            status, answer = self.rest(method, path, body, ctype)
            if status >= 300:
                raise RuntimeError(f"{method} {path}: {status} {answer[:300]!r}")

    def build_flooder(self) -> None:
        cargo = shutil.which("cargo")
        if not cargo:
            sys.exit("cargo not found: bench/flooder is built with it")
        subprocess.run([cargo, "build", "--release", "--quiet", "--manifest-path",
                        str(FLOODER_DIR / "Cargo.toml"), "--target-dir", str(FLOODER_DIR / "target")],
                       check=True)

    # -- measuring -------------------------------------------------------------------------------
    def window(self, name: str, senders: list[Sender], seconds: float) -> dict:
        """Measures one window (with `senders` flooding during it, or none)."""
        self.alive()
        calls_up = self.calls.current_calls()
        m0 = self.metrics()
        echo0 = udp_drops(self.calls.media_port)
        sip0 = udp_drops(self.sip_port)
        w = Window({"dialtone": self.proc.pid, "sipp_calls": self.calls.proc.pid})
        for s in senders:
            s.start()
        end = time.monotonic() + seconds
        while time.monotonic() < end or any(s.is_alive() for s in senders):
            w.sample()
            time.sleep(0.5)
            if time.monotonic() > end + 30:
                for s in senders:
                    s.kill()
        for s in senders:
            s.join(10)
        m1 = self.metrics()
        echo1 = udp_drops(self.calls.media_port)
        sip1 = udp_drops(self.sip_port)
        rss = list(w.rss)
        meas = w.close()
        secs = meas["seconds"]

        def delta(key: str) -> float:
            return m1.get(key, 0.0) - m0.get(key, 0.0)

        rtp_in, rtp_lost = delta("dialtone_rtp_packets_in_total"), delta("dialtone_rtp_packets_lost_total")
        rtp_out = delta("dialtone_rtp_packets_out_total")
        echoed = (echo1 - echo0) if echo0 is not None and echo1 is not None else None
        sent_by_sipp = rtp_in + rtp_lost
        failed = {k.split('"')[1]: v - m0.get(k, 0.0) for k, v in m1.items()
                  if k.startswith("dialtone_calls_failed_total{")}
        row = {
            "window": name, "seconds": secs, "calls_up": calls_up,
            "senders": [s.result for s in senders],
            "flood_sent": sum(s.result["sent"] for s in senders),
            "flood_pps": sum(s.result.get("pps", 0) for s in senders),
            "senders_cpu_pct": 100 * sum(s.result["cpu_s"] for s in senders) / secs if secs else 0,
            "sip_socket_drops": (sip1 - sip0) if sip0 is not None and sip1 is not None else None,
            "invites_refused": {k: v for k, v in failed.items() if v},
            "rtp_in": rtp_in, "rtp_lost": rtp_lost, "rtp_out": rtp_out, "echoed": echoed,
            "rtp_dropped": delta("dialtone_rtp_packets_dropped_total"),
            "late_ticks": delta("dialtone_media_late_ticks_total"),
            "continuity": (echoed / sent_by_sipp) if echoed is not None and sent_by_sipp else None,
            "dialtone_echo_ratio": (rtp_out / rtp_in) if rtp_in else None,
            "sipp_send_ratio": sent_by_sipp / (PACKETS_PER_SECOND * max(calls_up, 1) * secs) if secs else None,
            "echo_pps_per_call": (echoed / secs / max(calls_up, 1)) if echoed is not None and secs else None,
            "cpu_pct": meas["dialtone_cpu_pct"], "sipp_calls_cpu_pct": meas["sipp_calls_cpu_pct"],
            "rss_mean_kib": statistics.mean(rss) if rss else None, "rss_max_kib": max(rss) if rss else None,
            "rss_end_kib": rss[-1] if rss else None,
            "live_calls": m1.get("dialtone_live_calls"),
        }
        errors = [s.result["error"] for s in senders if "error" in s.result]
        if errors:
            row["sender_errors"] = errors
        summary = {k: row[k] for k in ("window", "flood_pps", "sip_socket_drops", "continuity",
                                       "cpu_pct", "rss_max_kib", "calls_up")}
        print("  " + json.dumps(summary), flush=True)
        self.results["windows"].append(row)
        return row

    def rest_gap(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.alive()
            time.sleep(0.5)

    def history(self, since_ms: int) -> list[dict]:
        sessions, cursor = [], None
        while True:
            path = f"/v1/history?application={APPLICATION}&from={since_ms}&limit=500"
            if cursor:
                path += f"&cursor={urllib.parse.quote(cursor)}"
            status, body = self.rest("GET", path)
            if status != 200:
                raise RuntimeError(f"GET /v1/history: {status} {body[:300]!r}")
            answer = json.loads(body)
            sessions += answer.get("sessions", [])
            cursor = answer.get("nextCursor")
            if not cursor:
                return sessions

    def check_history(self, since_ms: int, expected: int, hold_s: float) -> dict:
        """Every call SIPp placed must be in history: session ended, one inbound
        call answered, hung up by the caller (BYE), about as long as the hold."""
        deadline = time.monotonic() + self.args.settle + 30
        sessions: list[dict] = []
        while time.monotonic() < deadline:
            status, body = self.rest("GET", "/v1/sessions")
            live = len(json.loads(body).get("sessions", [])) if status == 200 else -1
            sessions = self.history(since_ms)
            done = [s for s in sessions if s.get("status") != "running"]
            if live == 0 and len(done) >= expected:
                break
            time.sleep(0.5)
        by_status: dict[str, int] = {}
        good = 0
        codes: dict[str, int] = {}
        for s in sessions:
            by_status[s.get("status")] = by_status.get(s.get("status"), 0) + 1
            calls = s.get("calls", [])
            for c in calls:
                codes[str(c.get("disconnectCode"))] = codes.get(str(c.get("disconnectCode")), 0) + 1
            if (s.get("status") == "ended" and len(calls) == 1 and calls[0].get("answeredAt")
                    and calls[0].get("direction") == "inbound"
                    and (calls[0].get("durationMs") or 0) >= 1000 * (hold_s - 5)):
                good += 1
        return {"expected": expected, "sessions": len(sessions), "by_status": by_status,
                "disconnect_codes": codes, "complete": good, "all_present": good == expected}

    def run(self) -> None:
        a = self.args
        floods = a.floods
        unknown = [f for f in floods if f not in ALL_FLOODS]
        if unknown:
            sys.exit(f"unknown floods {unknown}; known: {', '.join(ALL_FLOODS)}")
        if any(f in ("junk", "options-max", "invite-max", "all") for f in floods):
            self.build_flooder()
        self.results["loadavg_start"] = os.getloadavg()
        ramp_s = a.calls / a.setup_rate
        plan_s = a.baseline + len(floods) * (a.flood_seconds + a.gap) + a.after
        hold_s = ramp_s + a.settle + plan_s + 20
        try:
            self.start_server()
            self.idle_baseline()
            self.results["rss"]["idle_kib"] = self.results["idle"]["rss_kib"]
            since_ms = int(time.time() * 1000) - 1000
            wd = self.work / "calls"
            wd.mkdir()
            audio.write_tone_ulaw(wd / "loop.ulaw", 1000.0, 2.0, amplitude=0.3)
            self.calls = SippRun(wd, "uac_rtp_hold.xml", f"{LOOPBACK}:{self.sip_port}",
                                 ["-s", a.service, "-r", str(a.setup_rate), "-m", str(a.calls),
                                  "-l", str(a.calls), "-d", str(int(hold_s * 1000)),
                                  "-recv_timeout", "20000"],
                                 timeout_s=int(ramp_s + hold_s + 60))
            print(f"{a.calls} echo calls at {a.setup_rate}/s, held {hold_s:.0f} s; floods: "
                  f"{', '.join(floods)} ({a.flood_seconds:.0f} s each) ...", flush=True)
            deadline = time.monotonic() + ramp_s + 20
            while (self.calls.current_calls() < a.calls and time.monotonic() < deadline
                   and self.calls.proc.poll() is None):
                time.sleep(0.25)
            self.results["calls_up"] = self.calls.current_calls()
            self.rest_gap(a.settle)
            before = self.window("before", [], a.baseline)
            self.results["rss"]["before_kib"] = before["rss_mean_kib"]
            for flood in floods:
                self.window(flood, make_senders(self, flood, a.flood_seconds), a.flood_seconds)
                self.rest_gap(a.gap)
            after = self.window("after", [], a.after)
            self.results["rss"]["after_floods_kib"] = after["rss_mean_kib"]
            rc = self.calls.wait()
            ok, failed = self.calls.counts()
            self.results["sipp"] = {"exit": rc, "successful": ok, "failed": failed}
            if failed:
                self.results["sipp"]["errors"] = self.calls.error_tail()
            print(f"calls ended: {ok} successful, {failed} failed", flush=True)
            self.results["history"] = self.check_history(since_ms, a.calls, hold_s)
            print(f"history: {json.dumps(self.results['history'])}", flush=True)
            self.alive()
            self.results["rss"]["calls_ended_kib"] = rss_kib(self.proc.pid)
            # A never-ACKed INVITE's transaction lives 32 s (Timer H): wait them out.
            self.rest_gap(a.expire_wait)
            self.results["rss"]["expired_kib"] = rss_kib(self.proc.pid)
            self.results["threads"] = thread_count(self.proc.pid)
            log = self.log.read_text(errors="replace")
            self.results["rtp_stopped_events"] = log.count("Call.RtpStopped")
            self.results["panics"] = log.count("panicked")
            self.results["loadavg_end"] = os.getloadavg()
        except BaseException:
            print(f"benchmark aborted; work files kept in {self.work}", file=sys.stderr)
            raise
        finally:
            if self.calls is not None:
                stop(self.calls.proc)
            stop(self.proc)
            try:
                self.log_fh.close()
            except AttributeError:
                pass
        self.report()
        if not a.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- output -------------------------------------------------------------------------------
    def report(self) -> None:
        r, a = self.results, self.args
        now = dt.datetime.now()
        mib = lambda kib: "n/a" if kib is None else f"{kib / 1024:.1f}"  # noqa: E731
        pct = lambda x: "n/a" if x is None else f"{100 * x:.2f}"  # noqa: E731
        lines = [f"# dialtone under floods with {a.calls} echo calls: {now:%Y-%m-%d %H:%M}", "",
                 f"- binary: `{self.binary}`",
                 f"- host: {os.cpu_count()} cores (shared with SIPp and the flood senders), "
                 f"{os.uname().release}; load average (1 min) {r.get('loadavg_start', [0])[0]:.1f} "
                 f"at the start, {r.get('loadavg_end', [0])[0]:.1f} at the end",
                 f"- `dialtone serve`, 1xxx → scripts/echo.js; {r.get('calls_up', 0)} of {a.calls} "
                 f"SIPp calls up (G.711, 50 pkt/s each); floods to `sip:{a.flood_user}@` (unclaimed), "
                 f"{a.flood_seconds:.0f} s each, {a.gap:.0f} s apart", "",
                 "| window | sender(s) | sent/s | SIP socket drops/s | INVITEs refused | echo continuity % "
                 "| SIPp RTP sent vs 50/s % | echo pkt/s per call | dialtone CPU % | senders CPU % "
                 "| media ticks skipped | SIPp calls CPU % | RSS mean / max MiB |",
                 "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for w in r["windows"]:
            secs = w["seconds"] or 1
            senders = ", ".join(f"{s['sender']} {s.get('pps', 0):,.0f}/s" for s in w["senders"]) or "—"
            drops = "n/a" if w["sip_socket_drops"] is None else f"{w['sip_socket_drops'] / secs:,.0f}"
            refused = ", ".join(f"{k}: {v:,.0f}" for k, v in sorted(w["invites_refused"].items())) or "—"
            lines.append(
                f"| {w['window']} | {senders} | {w['flood_pps']:,.0f} | {drops} | {refused} "
                f"| {pct(w['continuity'])} | {pct(w['sipp_send_ratio'])} "
                f"| {'n/a' if w['echo_pps_per_call'] is None else format(w['echo_pps_per_call'], '.1f')} "
                f"| {w['cpu_pct']:.0f} | {w['senders_cpu_pct']:.0f} | {w['late_ticks']:.0f} "
                f"| {w['sipp_calls_cpu_pct']:.0f} "
                f"| {mib(w['rss_mean_kib'])} / {mib(w['rss_max_kib'])} |")
        rss = r["rss"]
        worst = min((w["continuity"] for w in r["windows"] if w["continuity"] is not None), default=None)
        peak = max((w["rss_max_kib"] or 0 for w in r["windows"]), default=0)
        h = r.get("history", {})
        sipp = r.get("sipp", {})
        lines += ["",
                  f"- RSS: idle {mib(rss.get('idle_kib'))} MiB, calls up before the floods "
                  f"{mib(rss.get('before_kib'))} MiB, peak during the floods {mib(peak)} MiB, after "
                  f"the floods (calls still up) {mib(rss.get('after_floods_kib'))} MiB, calls ended "
                  f"{mib(rss.get('calls_ended_kib'))} MiB, {a.expire_wait:.0f} s later "
                  f"{mib(rss.get('expired_kib'))} MiB",
                  f"- worst echo continuity of a window: {pct(worst)} % (target ≥ 99 %); "
                  f"RtpStopped events: {r.get('rtp_stopped_events', 'n/a')}",
                  f"- SIPp calls: {sipp.get('successful', 0)} successful, {sipp.get('failed', 0)} failed",
                  f"- history: {h.get('complete', 0)} of {h.get('expected', 0)} calls present, ended, "
                  f"answered and full length ({h.get('sessions', 0)} sessions, by status "
                  f"{h.get('by_status')}, disconnect codes {h.get('disconnect_codes')}): "
                  f"{'nothing lost' if h.get('all_present') else 'INCOMPLETE'}",
                  "",
                  "Echo continuity: RTP packets that came back to SIPp (its media socket's drop "
                  "counter) over the packets SIPp sent (dialtone's received + lost-by-sequence "
                  "counters). SIPp RTP sent vs 50/s: how far the load generator itself kept up on "
                  "the shared cores. SIP socket drops: datagrams the kernel dropped on dialtone's "
                  "SIP socket (receive buffer full). INVITEs refused: dialtone's "
                  "calls_failed_total by code over the window. Media ticks skipped: 20 ms ticks a "
                  "media worker ran too late to keep (each costs every call on that worker one "
                  "frame).", ""]
        text = "\n".join(lines)
        print("\n" + text)
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = RESULTS / f"flood-{now:%Y%m%d-%H%M%S}"
        stem.with_suffix(".md").write_text(text + "\n")
        stem.with_suffix(".json").write_text(json.dumps(r, indent=2, default=str) + "\n")
        print(f"written: {stem}.md, {stem}.json")


def _floods(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=100, help="concurrent echo calls")
    p.add_argument("--setup-rate", type=int, default=100, help="calls/s while opening them")
    p.add_argument("--floods", type=_floods, default=ALL_FLOODS,
                   help=f"comma list, in order (default: {','.join(ALL_FLOODS)})")
    p.add_argument("--flood-seconds", type=float, default=20.0, help="length of each flood")
    p.add_argument("--gap", type=float, default=5.0, help="seconds between floods")
    p.add_argument("--baseline", type=float, default=10.0, help="window before the floods, seconds")
    p.add_argument("--after", type=float, default=10.0, help="window after the floods, seconds")
    p.add_argument("--settle", type=float, default=2.0, help="seconds to let things settle")
    p.add_argument("--expire-wait", type=float, default=35.0,
                   help="seconds after the calls end before the last RSS reading (Timer H is 32 s)")
    p.add_argument("--sipp-rate", type=int, default=200_000,
                   help="SIPp flood rate asked for (-r, per second); it sends what it can")
    p.add_argument("--flooder-threads", type=int, default=1, help="sender threads of bench/flooder")
    p.add_argument("--flood-user", default="9999", help="the (unclaimed) number floods are sent to")
    p.add_argument("--service", default="1234", help="the number the echo calls dial (rule 1xxx)")
    p.add_argument("--keep-work", action="store_true", help="keep SIPp traces and the dialtone log")
    FloodBench(p.parse_args()).run()


if __name__ == "__main__":
    main()
