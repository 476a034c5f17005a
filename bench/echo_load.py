#!/usr/bin/env python3
"""Load benchmark: dialtone running scripts/echo.js under SIPp traffic.

(a) Long calls: N concurrent calls (default 100, 500, 1000), each streaming
    G.711 mu-law with SIPp's rtp_stream, held for --hold seconds. dialtone's
    CPU time (utime+stime, /proc/PID/stat) and resident memory (VmRSS,
    /proc/PID/status) are sampled over the window where all N calls are up.
    Reported: % of one core per call, KiB of RSS per call above the idle
    baseline, and RSS once the calls have ended.
(b) Short-call bursts at increasing rates (default 200..1000 calls/s, --burst
    seconds each): successful and failed calls from SIPp's -trace_stat CSV and
    INVITE->200 p50/p99 from -trace_rtt. The highest rate with no failed call
    is reported.

Nothing is built here: the binary is target/release/dialtone, or $DIALTONE_BIN.
Everything runs on 127.0.0.1. Results: a Markdown table on stdout and in
bench/results/ (with the raw numbers as JSON).

    python3 bench/echo_load.py                      # full run, ~6 minutes
    python3 bench/echo_load.py --calls 100 --rates 200,400 --hold 20 --burst 5
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import urllib.request
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
SIPP_XML = BENCH / "sipp"
RESULTS = BENCH / "results"
sys.path.insert(0, str(REPO / "tests"))
import audio  # noqa: E402  (tone generation and mu-law encoding)

LOOPBACK = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
DIALTONE_RTP = (10000, 29999)  # below the kernel's ephemeral ports
SIPP_MEDIA_PORTS = range(30000, 32000, 4)


# --- /proc sampling ----------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def udp_drops(port: int) -> int | None:
    """Datagrams dropped by the UDP socket bound to 127.0.0.1:port (/proc/net/udp).
    SIPp never reads its media socket while streaming: once its buffer is full,
    every RTP packet echoed back to it is counted here."""
    want = f"0100007F:{port:04X}"
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        f = line.split()
        if len(f) >= 13 and f[1] == want:
            return int(f[12])
    return None


def thread_count(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


class Window:
    """CPU and RSS of a set of processes over a wall-clock window. A process
    that exits during the window counts up to its last sample."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.t0 = time.monotonic()
        self.cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        self.last = {k: (self.t0, v) for k, v in self.cpu0.items()}
        self.rss: list[int] = []

    def sample(self, rss_of: str | None = "dialtone") -> None:
        now = time.monotonic()
        for k, p in self.pids.items():
            try:
                self.last[k] = (now, cpu_seconds(p))
            except OSError:
                pass
        if rss_of:
            try:
                self.rss.append(rss_kib(self.pids[rss_of]))
            except OSError:
                pass

    def close(self) -> dict:
        self.sample(rss_of=None)
        out = {"seconds": time.monotonic() - self.t0}
        for k in self.pids:
            t, v = self.last[k]
            span = t - self.t0
            out[f"{k}_cpu_pct"] = 100.0 * (v - self.cpu0[k]) / span if span > 0 else 0.0
        if self.rss:
            out["rss_kib"] = statistics.mean(self.rss)
        return out


# --- helpers -------------------------------------------------------------------------------

def free_port(kind=socket.SOCK_DGRAM, both=True) -> int:
    for _ in range(100):
        s = socket.socket(socket.AF_INET, kind)
        s.bind((LOOPBACK, 0))
        port = s.getsockname()[1]
        s.close()
        if not both:
            return port
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind((LOOPBACK, port))
            return port
        except OSError:
            continue
        finally:
            t.close()
    raise RuntimeError("no free port")


def free_media_port() -> int:
    for port in SIPP_MEDIA_PORTS:
        ok = True
        for p in (port, port + 1, port + 2, port + 3):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind((LOOPBACK, p))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise RuntimeError("no free SIPp media port in 30000-32000")


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def stop(proc: subprocess.Popen | None, grace: float = 5.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass


def wait_for_line(path: Path, needle: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dialtone exited with status {proc.returncode}:\n{path.read_text()[-3000:]}")
        try:
            if needle in path.read_text(errors="replace"):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"dialtone did not print '{needle}' within {timeout} s")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


class SippRun:
    def __init__(self, workdir: Path, xml: str, target: str, argv_extra: list[str], timeout_s: int):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = Path(xml).stem
        self.media_port = free_media_port()
        self.argv = [shutil.which("sipp") or "sipp", target, "-sf", str(SIPP_XML / xml),
                     "-i", LOOPBACK, "-mi", LOOPBACK, "-ci", LOOPBACK,
                     "-cp", str(free_port(both=False)), "-p", str(free_port()),
                     "-mp", str(self.media_port), "-t", "u1", "-nostdin",
                     "-timeout", f"{timeout_s}s", "-timeout_error",
                     "-trace_stat", "-fd", "1", "-trace_err", "-trace_screen",
                     "-max_recv_loops", "10000", "-max_sched_loops", "10000",
                     *argv_extra]
        self.timeout_s = timeout_s
        self.out = open(self.workdir / "sipp.stdout", "w")
        self.proc = subprocess.Popen(self.argv, cwd=str(self.workdir), stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait(self) -> int:
        try:
            return self.proc.wait(self.timeout_s + 30)
        except subprocess.TimeoutExpired:
            stop(self.proc)
            return -1
        finally:
            self.out.close()

    def _file(self, suffix: str) -> Path | None:
        p = self.workdir / f"{self.name}_{self.proc.pid}_{suffix}"
        return p if p.exists() else None

    def stats(self) -> dict[str, str]:
        """The last row of the -trace_stat CSV, by column name."""
        p = self._file(".csv")
        if p is None:
            return {}
        rows = list(csv.reader(p.read_text(errors="replace").splitlines(), delimiter=";"))
        if len(rows) < 2:
            return {}
        return dict(zip(rows[0], rows[-1]))

    def current_calls(self) -> int:
        try:
            return int(self.stats().get("CurrentCall", "0") or 0)
        except ValueError:
            return 0

    def counts(self) -> tuple[int, int]:
        st = self.stats()
        return int(st.get("SuccessfulCall(C)", 0) or 0), int(st.get("FailedCall(C)", 0) or 0)

    def rtts_ms(self) -> list[float]:
        p = self._file("rtt.csv")
        if p is None:
            return []
        out = []
        for row in csv.reader(p.read_text().splitlines()[1:], delimiter=";"):
            if len(row) >= 3 and row[2] == "setup":
                try:
                    out.append(float(row[1]))
                except ValueError:
                    pass
        return out

    def rtts_ms_all(self) -> list[float]:
        """Every response time SIPp measured (any rtd), in ms."""
        p = self._file("rtt.csv")
        if p is None:
            return []
        out = []
        for row in csv.reader(p.read_text().splitlines()[1:], delimiter=";"):
            if len(row) >= 2:
                try:
                    out.append(float(row[1]))
                except ValueError:
                    pass
        return out

    def error_tail(self) -> str:
        p = self._file("errors.log")
        return p.read_text(errors="replace")[-1500:] if p else ""


# --- the benchmark ---------------------------------------------------------------------------

def release_binary() -> Path:
    """The dialtone binary a benchmark measures: $DIALTONE_BIN, else the
    release build; exits with how to build it when there is none."""
    binary = Path(os.environ.get("DIALTONE_BIN") or REPO / "target" / "release" / "dialtone")
    if not os.access(binary, os.X_OK):
        sys.exit(f"no dialtone binary at {binary}: run `cargo build --release -p dialtone` "
                 f"or set DIALTONE_BIN")
    return binary


class DialtoneUnderTest:
    """What every benchmark does with the dialtone process it started: `proc`
    (the process), `log` (its stdout file) and `results` (the report) are set
    by the subclass."""

    proc: subprocess.Popen
    log: Path
    results: dict

    def alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"dialtone died (status {self.proc.returncode}); log tail:\n"
                               f"{self.log.read_text(errors='replace')[-3000:]}")

    def idle_baseline(self) -> None:
        time.sleep(2.0)
        w = Window({"dialtone": self.proc.pid})
        for _ in range(6):
            time.sleep(0.5)
            w.sample()
        idle = w.close()
        self.results["idle"] = {"rss_kib": idle["rss_kib"], "cpu_pct": idle["dialtone_cpu_pct"],
                                "threads": thread_count(self.proc.pid)}
        print(f"idle: RSS {idle['rss_kib']:.0f} KiB, CPU {idle['dialtone_cpu_pct']:.2f} %", flush=True)


class Bench(DialtoneUnderTest):
    def __init__(self, args):
        self.args = args
        self.binary = release_binary()
        if not shutil.which("sipp"):
            sys.exit("sipp not found (Debian package sip-tester)")
        self.work = Path(tempfile.mkdtemp(prefix="dialtone-bench-"))
        self.nofile = raise_nofile()
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = self.work / "dialtone.log"
        self.results: dict = {"long": [], "burst": []}

    def start_dialtone(self) -> None:
        if self.args.serve:
            return self.start_server()
        argv = [str(self.binary), "run", str(REPO / "scripts" / "echo.js"),
                "--sip", f"{LOOPBACK}:{self.port}",
                "--rtp-ports", f"{DIALTONE_RTP[0]}-{DIALTONE_RTP[1]}",
                "--log-format", self.args.log_format]
        self.log_fh = open(self.log, "w")
        self.proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.DEVNULL,
                                     stdout=self.log_fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for_line(self.log, "listening", self.proc, 30)

    def start_server(self) -> None:
        """`dialtone serve` on a fresh SQLite data directory; echo.js and a rule
        matching the benchmark's number are uploaded over REST, so every call is
        routed by a rule as in production."""
        http_port = free_port(kind=socket.SOCK_STREAM, both=False)
        key = "bench-admin-key-" + os.urandom(12).hex()
        argv = [str(self.binary), "serve", "--sip", f"{LOOPBACK}:{self.port}",
                "--http", f"{LOOPBACK}:{http_port}", "--data-dir", str(self.work / "data"),
                "--rtp-ports", f"{DIALTONE_RTP[0]}-{DIALTONE_RTP[1]}",
                "--log-format", self.args.log_format]
        env = dict(os.environ, DIALTONE_ADMIN_KEY=key)
        self.log_fh = open(self.log, "w")
        self.proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.DEVNULL, env=env,
                                     stdout=self.log_fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for_line(self.log, "listening", self.proc, 30)
        base = f"http://{LOOPBACK}:{http_port}/v1/applications/bench"

        def call(method: str, url: str, body: bytes, ctype: str) -> None:
            req = urllib.request.Request(url, data=body, method=method,
                                         headers={"Authorization": f"Bearer {key}", "Content-Type": ctype})
            with urllib.request.urlopen(req, timeout=10) as r:
                r.read()

        call("PUT", base, b"", "application/json")
        call("PUT", f"{base}/scenarios/echo", (REPO / "scripts" / "echo.js").read_bytes(),
             "application/javascript")
        # The account claims the numbers first: only then do its rules see them.
        call("POST", f"http://{LOOPBACK}:{http_port}/v1/claims",
             json.dumps({"pattern": r"1\d{3}"}).encode(), "application/json")
        rule = {"name": "bench", "pattern": r"1\d{3}", "scenarios": ["echo"]}
        call("POST", f"{base}/rules", json.dumps(rule).encode(), "application/json")
        print(f"serve: echo.js routed by rule 1\\d{{3}}; calls dial {self.args.service}", flush=True)

    def long_calls(self, n: int) -> dict:
        a = self.args
        rate = min(a.setup_rate, n)
        ramp_s = n / rate
        hold_s = max(a.hold, ramp_s + 12)
        wd = self.work / f"long_{n}"
        wd.mkdir()
        audio.write_tone_ulaw(wd / "loop.ulaw", 1000.0, 2.0, amplitude=0.3)
        run = SippRun(wd, "uac_rtp_hold.xml", f"{LOOPBACK}:{self.port}",
                      ["-r", str(rate), "-m", str(n), "-l", str(n), "-d", str(int(hold_s * 1000)),
                       "-recv_timeout", "20000"],
                      timeout_s=int(ramp_s + hold_s + 60))
        print(f"long calls: {n} at {rate}/s, held {hold_s:.0f} s ...", flush=True)
        row = {"calls": n, "hold_s": hold_s}
        try:
            deadline = time.monotonic() + ramp_s + 20
            while run.current_calls() < n and time.monotonic() < deadline and run.proc.poll() is None:
                time.sleep(0.25)
            up = run.current_calls()
            row["calls_up"] = up
            time.sleep(a.settle)
            self.alive()
            window_s = max(3.0, min(a.window, hold_s - ramp_s - a.settle - 4))
            w = Window({"dialtone": self.proc.pid, "sipp": run.proc.pid})
            drops0 = udp_drops(run.media_port)
            end = time.monotonic() + window_s
            while time.monotonic() < end:
                w.sample()
                time.sleep(0.5)
            drops1 = udp_drops(run.media_port)
            row["threads"] = thread_count(self.proc.pid)
            m = w.close()
            if drops0 is not None and drops1 is not None:
                # Packets echoed back per second per call (50 expected at 20 ms ptime).
                row["echo_pps_per_call"] = (drops1 - drops0) / m["seconds"] / max(up, 1)
            row.update({"window_s": m["seconds"], "cpu_pct": m["dialtone_cpu_pct"],
                        "sipp_cpu_pct": m["sipp_cpu_pct"], "rss_kib": m["rss_kib"]})
        finally:
            rc = run.wait()
        ok, failed = run.counts()
        row.update({"sipp_exit": rc, "successful": ok, "failed": failed})
        idle_rss = self.results["idle"]["rss_kib"]
        up = max(row.get("calls_up", 0), 1)
        if "cpu_pct" in row:
            row["cpu_pct_per_call"] = row["cpu_pct"] / up
            row["rss_kib_per_call"] = (row["rss_kib"] - idle_rss) / up
        time.sleep(a.settle + 3)
        self.alive()
        row["rss_after_kib"] = rss_kib(self.proc.pid)
        if failed:
            row["errors"] = run.error_tail()
        print("  " + json.dumps({k: v for k, v in row.items() if k != "errors"}), flush=True)
        return row

    def burst(self, rate: int) -> dict:
        a = self.args
        total = rate * a.burst
        wd = self.work / f"burst_{rate}"
        run = SippRun(wd, "uac_short.xml", f"{LOOPBACK}:{self.port}",
                      ["-s", a.service, "-r", str(rate), "-m", str(total), "-l", str(rate * 10),
                       "-d", str(a.short_hold_ms),
                       "-trace_rtt", "-rtt_freq", "50", "-recv_timeout", "10000"],
                      timeout_s=a.burst + 40)
        print(f"burst: {rate} calls/s for {a.burst} s ...", flush=True)
        w = Window({"dialtone": self.proc.pid, "sipp": run.proc.pid})
        deadline = time.monotonic() + run.timeout_s + 30
        while run.proc.poll() is None and time.monotonic() < deadline:
            w.sample(rss_of=None)
            time.sleep(0.25)
        m = w.close()
        rc = run.wait()
        ok, failed = run.counts()
        rtts = run.rtts_ms()
        st = run.stats()
        row = {"rate": rate, "calls": total, "successful": ok, "failed": failed, "sipp_exit": rc,
               "achieved_cps": float(st.get("CallRate(C)", 0) or 0),
               "setup_p50_ms": percentile(rtts, 0.50), "setup_p99_ms": percentile(rtts, 0.99),
               "rtt_samples": len(rtts), "cpu_pct": m["dialtone_cpu_pct"], "sipp_cpu_pct": m["sipp_cpu_pct"]}
        if failed or ok < total:
            row["errors"] = run.error_tail()
        print("  " + json.dumps({k: v for k, v in row.items() if k != "errors"}), flush=True)
        time.sleep(a.settle)
        self.alive()
        return row

    def run(self) -> None:
        a = self.args
        try:
            self.start_dialtone()
            self.idle_baseline()
            if not a.skip_long:
                for n in a.calls:
                    self.results["long"].append(self.long_calls(n))
            if not a.skip_burst:
                misses = 0
                for rate in a.rates:
                    row = self.burst(rate)
                    self.results["burst"].append(row)
                    clean = row["failed"] == 0 and row["successful"] == row["calls"]
                    misses = 0 if clean else misses + 1
                    if misses >= 2 and not a.keep_going:
                        break
        except BaseException:
            print(f"benchmark aborted; work files kept in {self.work}", file=sys.stderr)
            raise
        finally:
            stop(self.proc)
            try:
                self.log_fh.close()
            except AttributeError:
                pass
        self.report()
        if not a.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- output -----------------------------------------------------------------------------
    def report(self) -> None:
        r = self.results
        now = dt.datetime.now()
        lines = [f"# dialtone echo load: {now:%Y-%m-%d %H:%M}", "",
                 f"- binary: `{self.binary}`",
                 f"- host: {os.cpu_count()} cores, {os.uname().release}, nofile {self.nofile}",
                 f"- idle: RSS {r.get('idle', {}).get('rss_kib', 0):.0f} KiB, "
                 f"{r.get('idle', {}).get('threads', 0)} threads", ""]
        if r["long"]:
            lines += ["## Concurrent calls with G.711 RTP (scripts/echo.js)", "",
                      "| calls | up | window s | CPU % (1 core) | CPU % per call | RSS MiB | KiB per call "
                      "| RSS after MiB | echo pkt/s per call | SIPp CPU % | ok | failed |",
                      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for x in r["long"]:
                lines.append(
                    f"| {x['calls']} | {x.get('calls_up', 0)} | {x.get('window_s', 0):.0f} "
                    f"| {x.get('cpu_pct', 0):.1f} | {x.get('cpu_pct_per_call', 0):.3f} "
                    f"| {x.get('rss_kib', 0) / 1024:.1f} | {x.get('rss_kib_per_call', 0):.0f} "
                    f"| {x.get('rss_after_kib', 0) / 1024:.1f} | {_num(x.get('echo_pps_per_call'))} "
                    f"| {x.get('sipp_cpu_pct', 0):.0f} "
                    f"| {x['successful']} | {x['failed']} |")
            lines.append("")
        if r["burst"]:
            best = max((x["rate"] for x in r["burst"]
                        if x["failed"] == 0 and x["successful"] == x["calls"]), default=None)
            lines += ["## Short-call bursts", "",
                      "| target cps | achieved cps | calls | ok | failed | INVITE→200 p50 ms | p99 ms "
                      "| dialtone CPU % | SIPp CPU % |",
                      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for x in r["burst"]:
                p50, p99 = _ms(x["setup_p50_ms"]), _ms(x["setup_p99_ms"])
                lines.append(f"| {x['rate']} | {x['achieved_cps']:.0f} | {x['calls']} | {x['successful']} "
                             f"| {x['failed']} | {p50} | {p99} | {x['cpu_pct']:.0f} | {x['sipp_cpu_pct']:.0f} |")
            lines += ["", f"Highest rate with no failed call: **{best if best else 'none'}** calls/s "
                          f"(SIPp's response times have 1 ms resolution).", ""]
        text = "\n".join(lines)
        print("\n" + text)
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = RESULTS / f"echo_load-{now:%Y%m%d-%H%M%S}"
        stem.with_suffix(".md").write_text(text + "\n")
        stem.with_suffix(".json").write_text(json.dumps(r, indent=2) + "\n")
        print(f"written: {stem}.md, {stem}.json")


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "<1" if value < 1 else f"{value:.0f}"


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=_ints, default=[100, 500, 1000], help="concurrent long calls, comma list")
    p.add_argument("--hold", type=float, default=30.0, help="long-call duration, seconds")
    p.add_argument("--setup-rate", type=int, default=100, help="calls/s while ramping up long calls")
    p.add_argument("--window", type=float, default=15.0, help="steady-state sampling window, seconds")
    p.add_argument("--settle", type=float, default=2.0, help="seconds to let things settle")
    p.add_argument("--rates", type=_ints, default=[200, 400, 600, 800, 1000], help="burst rates, calls/s")
    p.add_argument("--burst", type=int, default=10, help="seconds per burst rate")
    p.add_argument("--short-hold-ms", type=int, default=0, help="talk time of a burst call")
    p.add_argument("--keep-going", action="store_true", help="try every rate even after failures")
    p.add_argument("--skip-long", action="store_true")
    p.add_argument("--skip-burst", action="store_true")
    p.add_argument("--log-format", default="text", choices=("text", "json"))
    p.add_argument("--keep-work", action="store_true", help="keep SIPp traces and the dialtone log")
    p.add_argument("--serve", action="store_true",
                   help="run `dialtone serve` with echo.js behind a routing rule instead of `dialtone run`")
    p.add_argument("--service", default="1234", help="the number SIPp dials (the rule matches 1xxx)")
    Bench(p.parse_args()).run()


if __name__ == "__main__":
    main()
