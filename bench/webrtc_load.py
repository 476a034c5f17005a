#!/usr/bin/env python3
"""Load benchmark: WebRTC legs (Opus, DTLS-SRTP) bridged to SIP G.711 legs.

`bench/webrtc-load` (a Rust client built here with cargo, str0m + libopus)
places N calls to `dialtone run scripts/forward.js`, each a browser-like
WebRTC leg: its own UDP socket, full ICE (controlling), DTLS-SRTP, an Opus
tone every 20 ms. forward.js calls a SIPp UAS (`-sn uas -rtp_echo`, G.711
μ-law) for each and bridges the two legs, so the tone comes back transcoded
twice (Opus -> G.711 -> echo -> G.711 -> Opus) and the client checks it.

For each N in --legs: once every call is connected (or failed), dialtone's
CPU (utime+stime of all threads, /proc/PID/stat) and RSS (VmRSS) are sampled
over --window seconds; reported per call: % of one core and KiB of RSS above
the idle baseline. Handshake times: client-side (first STUN sent ->
str0m's Event::Connected) p50/p99, and server-side from /metrics
(dialtone_webrtc_connect_total, a non-cumulative histogram: p99 is the upper
bound of the bucket holding the 99th percentile). dialtone_webrtc_failed_total
must stay 0. Audio: frames received / sent per leg and the share of decoded
frames that carry the tone.

Nothing of dialtone is built: the binary is $DIALTONE_BIN or
target/release/dialtone. Everything runs on 127.0.0.1. Output: a Markdown
table on stdout and bench/results/webrtc_load-DATE.{md,json}.

    python3 bench/webrtc_load.py                   # 200 legs, about 2 minutes
    python3 bench/webrtc_load.py --legs 50,200 --rate 10 --window 20
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
CLIENT_DIR = BENCH / "webrtc-load"
CLIENT = CLIENT_DIR / "target" / "release" / "webrtc-load"
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))
from echo_load import (  # noqa: E402
    LOOPBACK, DIALTONE_RTP, Window, DialtoneUnderTest, free_port, free_media_port,
    raise_nofile, release_binary, rss_kib, stop, thread_count, wait_for_line,
)

BUCKETS = ["5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "inf"]


def metrics(http_port: int) -> dict[str, float]:
    """Every sample line of /metrics, by its name with labels."""
    with urllib.request.urlopen(f"http://{LOOPBACK}:{http_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def connect_histogram(before: dict, after: dict) -> dict[str, int]:
    return {b: int(after.get(f'dialtone_webrtc_connect_total{{le_ms="{b}"}}', 0)
                   - before.get(f'dialtone_webrtc_connect_total{{le_ms="{b}"}}', 0))
            for b in BUCKETS}


def bucket_percentile(hist: dict[str, int], q: float) -> str | None:
    """Upper bound (ms) of the bucket holding the q-th quantile."""
    total = sum(hist.values())
    if total == 0:
        return None
    want, acc = q * total, 0
    for b in BUCKETS:
        acc += hist[b]
        if acc >= want:
            return b
    return "inf"


def delta(before: dict, after: dict, name: str) -> float:
    return after.get(name, 0) - before.get(name, 0)


def refused(m: dict) -> dict[str, float]:
    return {k.split('"')[1]: v for k, v in m.items() if k.startswith("dialtone_sessions_refused_total{")}


def cpu_busy_seconds() -> float:
    """Busy CPU time of the whole machine (all cores, /proc/stat), seconds."""
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return (sum(f[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def progress(path: Path) -> dict[str, float]:
    """The client's last `progress k=v ...` line on stderr."""
    try:
        lines = [l for l in path.read_text(errors="replace").splitlines() if l.startswith("progress ")]
    except OSError:
        return {}
    if not lines:
        return {}
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", lines[-1])}


class Bench(DialtoneUnderTest):
    def __init__(self, args):
        self.args = args
        self.binary = release_binary()
        if not shutil.which("sipp"):
            sys.exit("sipp not found (Debian package sip-tester)")
        self.work = Path(tempfile.mkdtemp(prefix="dialtone-webrtc-bench-"))
        self.nofile = raise_nofile()
        self.log = self.work / "dialtone.log"
        self.results: dict = {"points": []}
        self.proc = None
        self.sipp = None

    def build_client(self) -> None:
        print("building bench/webrtc-load (cargo build --release) ...", flush=True)
        r = subprocess.run(["nice", "-n", "10", "cargo", "build", "--release", "--manifest-path",
                            str(CLIENT_DIR / "Cargo.toml")], stdout=sys.stderr, stderr=sys.stderr)
        if r.returncode != 0 or not CLIENT.exists():
            sys.exit("building the load client failed")

    def start(self) -> None:
        self.sipp_port = free_port()
        media = free_media_port()
        self.sipp_out = open(self.work / "sipp.stdout", "w")
        self.sipp = subprocess.Popen(
            [shutil.which("sipp") or "sipp", "-sn", "uas", "-i", LOOPBACK, "-p", str(self.sipp_port),
             "-mi", LOOPBACK, "-mp", str(media), "-rtp_echo", "-t", "u1", "-nostdin",
             "-max_recv_loops", "10000", "-max_sched_loops", "10000", "-trace_err"],
            cwd=str(self.work), stdin=subprocess.DEVNULL, stdout=self.sipp_out,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.port = free_port()
        self.http_port = free_port(both=False)
        argv = [str(self.binary), "run", str(REPO / "scripts" / "forward.js"),
                "--sip", f"{LOOPBACK}:{self.port}", "--http", f"{LOOPBACK}:{self.http_port}",
                "--rtp-ports", f"{DIALTONE_RTP[0]}-{DIALTONE_RTP[1]}",
                "--custom-data", f"sip:echo@{LOOPBACK}:{self.sipp_port}",
                "--log-format", "text", "--data-dir", str(self.work / "data")]
        self.log_fh = open(self.log, "w")
        self.proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.DEVNULL,
                                     stdout=self.log_fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for_line(self.log, "listening", self.proc, 30)
        time.sleep(0.5)
        if self.sipp.poll() is not None:
            raise RuntimeError(f"sipp exited: {(self.work / 'sipp.stdout').read_text()[-2000:]}")

    def point(self, n: int) -> dict:
        a = self.args
        ramp = n / a.rate
        hold = ramp + a.settle + a.window + 8
        print(f"{n} legs at {a.rate}/s, each held {hold:.0f} s ...", flush=True)
        m0 = metrics(self.http_port)
        err = self.work / f"client_{n}.stderr"
        out = self.work / f"client_{n}.json"
        with open(err, "w") as ferr, open(out, "w") as fout:
            client = subprocess.Popen(
                [str(CLIENT), "--target", f"{LOOPBACK}:{self.port}", "--calls", str(n),
                 "--rate", str(a.rate), "--hold", f"{hold:.1f}",
                 "--legs-per-thread", str(a.legs_per_thread), "--codecs", a.codecs],
                stdin=subprocess.DEVNULL, stdout=fout, stderr=ferr, start_new_session=True)
        row: dict = {"legs": n, "rate": a.rate, "hold_s": hold, "codecs": a.codecs}
        try:
            deadline = time.monotonic() + ramp + 30
            while time.monotonic() < deadline and client.poll() is None:
                p = progress(err)
                if p and p.get("started", 0) >= n and p.get("connected", 0) + p.get("failed", 0) >= n:
                    break
                time.sleep(0.25)
            time.sleep(a.settle)
            self.alive()
            up0 = progress(err).get("up", 0)
            mw0 = metrics(self.http_port)
            w = Window({"dialtone": self.proc.pid, "sipp": self.sipp.pid, "client": client.pid})
            busy0 = cpu_busy_seconds()
            load = []
            end = time.monotonic() + a.window
            while time.monotonic() < end:
                w.sample()
                try:
                    load.append(metrics(self.http_port).get("dialtone_media_load_permille", 0))
                except OSError:
                    pass
                time.sleep(0.5)
            m = w.close()
            machine = 100.0 * (cpu_busy_seconds() - busy0) / m["seconds"]
            mw1 = metrics(self.http_port)
            up1 = progress(err).get("up", 0)
            row.update({"up_start": up0, "up_end": up1, "window_s": m["seconds"],
                        "cpu_pct": m["dialtone_cpu_pct"], "sipp_cpu_pct": m["sipp_cpu_pct"],
                        "client_cpu_pct": m["client_cpu_pct"], "rss_kib": m.get("rss_kib", 0),
                        "threads": thread_count(self.proc.pid),
                        "webrtc_legs_metric": mw1.get("dialtone_webrtc_legs"),
                        "media_load_permille_max": max(load, default=None),
                        "media_load_permille_mean": sum(load) / len(load) if load else None,
                        "late_ticks_in_window": delta(mw0, mw1, "dialtone_media_late_ticks_total"),
                        # Everything else the machine ran in the window (other
                        # users of the shared cores), % of one core.
                        "machine_cpu_pct": machine,
                        "others_cpu_pct": machine - m["dialtone_cpu_pct"] - m["sipp_cpu_pct"]
                        - m["client_cpu_pct"],
                        "loadavg": Path("/proc/loadavg").read_text().split()[:3]})
        finally:
            try:
                client.wait(hold + ramp + 90)
            except subprocess.TimeoutExpired:
                stop(client)
        try:
            row["client"] = json.loads(out.read_text())
        except (OSError, ValueError):
            row["client"] = None
            row["client_stderr_tail"] = err.read_text(errors="replace")[-2000:]
        time.sleep(a.settle + 3)
        self.alive()
        m1 = metrics(self.http_port)
        row["rss_after_kib"] = rss_kib(self.proc.pid)
        hist = connect_histogram(m0, m1)
        row["server_connect_hist"] = hist
        row["server_connects"] = sum(hist.values())
        row["server_connect_p50_le_ms"] = bucket_percentile(hist, 0.50)
        row["server_connect_p99_le_ms"] = bucket_percentile(hist, 0.99)
        ms = delta(m0, m1, "dialtone_webrtc_connect_milliseconds_total")
        row["server_connect_mean_ms"] = ms / row["server_connects"] if row["server_connects"] else None
        row["webrtc_failed"] = delta(m0, m1, "dialtone_webrtc_failed_total")
        row["webrtc_failed_total"] = m1.get("dialtone_webrtc_failed_total")
        r0, r1 = refused(m0), refused(m1)
        row["refused"] = {k: r1[k] - r0.get(k, 0) for k in r1 if r1[k] - r0.get(k, 0)}
        row["webrtc_legs_after"] = m1.get("dialtone_webrtc_legs")
        up = (row.get("up_start", 0) + row.get("up_end", 0)) / 2
        row["calls_up"] = up
        if up and "cpu_pct" in row:
            row["cpu_pct_per_call"] = row["cpu_pct"] / up
            row["rss_kib_per_call"] = (row["rss_kib"] - self.results["idle"]["rss_kib"]) / up
        brief = {k: v for k, v in row.items() if k not in ("client", "client_stderr_tail")}
        print("  " + json.dumps(brief), flush=True)
        return row

    def run(self) -> None:
        self.build_client()
        try:
            self.start()
            self.idle_baseline()
            for n in self.args.legs:
                self.results["points"].append(self.point(n))
        except BaseException:
            print(f"benchmark aborted; work files kept in {self.work}", file=sys.stderr)
            raise
        finally:
            stop(self.proc)
            stop(self.sipp)
            for fh in ("log_fh", "sipp_out"):
                try:
                    getattr(self, fh).close()
                except AttributeError:
                    pass
        self.report()
        bad = [x["legs"] for x in self.results["points"] if x.get("webrtc_failed")]
        if bad:
            print(f"CHECK FAILED: dialtone_webrtc_failed_total rose at {bad} legs", file=sys.stderr)
        if not self.args.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"work files: {self.work}")

    def report(self) -> None:
        r = self.results
        now = dt.datetime.now()
        idle = r.get("idle", {})
        lines = [f"# dialtone WebRTC legs bridged to G.711: {now:%Y-%m-%d %H:%M}", "",
                 f"- binary: `{self.binary}`",
                 f"- host: {os.cpu_count()} cores, {os.uname().release}, nofile {self.nofile}",
                 f"- idle: RSS {idle.get('rss_kib', 0):.0f} KiB, CPU {idle.get('cpu_pct', 0):.2f} %, "
                 f"{idle.get('threads', 0)} threads",
                 f"- set-up rate {self.args.rate}/s, window {self.args.window:.0f} s, "
                 f"client offers {'Opus, PCMU, PCMA' if self.args.codecs == 'opus' else 'PCMU, PCMA only'}", "",
                 "| legs | up | ok | failed | CPU % (1 core) | CPU % per call | RSS MiB | KiB per call "
                 "| RSS after MiB | handshake p50 / p99 ms (client) | server connect p99 bucket "
                 "| received / sent | tone frames | SIPp CPU % | client CPU % | others CPU % | refused (503) |",
                 "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for x in r["points"]:
            c = x.get("client") or {}
            hs = c.get("handshake_ms") or {}
            ros = c.get("received_over_sent") or {}
            tone = c.get("tone_fraction_of_decoded") or {}
            ref = sum((x.get("refused") or {}).values())
            lines.append(
                f"| {x['legs']} | {x.get('calls_up', 0):.0f} | {c.get('ok', 'n/a')} | {c.get('failed', 'n/a')} "
                f"| {x.get('cpu_pct', 0):.1f} | {_f(x.get('cpu_pct_per_call'), 3)} "
                f"| {x.get('rss_kib', 0) / 1024:.1f} | {_f(x.get('rss_kib_per_call'), 0)} "
                f"| {x.get('rss_after_kib', 0) / 1024:.1f} "
                f"| {_f(hs.get('p50'), 1)} / {_f(hs.get('p99'), 1)} "
                f"| ≤ {x.get('server_connect_p99_le_ms')} ms "
                f"| {_f(ros.get('mean'), 3)} (min {_f(ros.get('min'), 3)}) "
                f"| {_f(tone.get('mean'), 3)} | {x.get('sipp_cpu_pct', 0):.0f} "
                f"| {x.get('client_cpu_pct', 0):.0f} | {x.get('others_cpu_pct', 0):.0f} | {ref:.0f} |")
        lines += ["", "dialtone_webrtc_failed_total: "
                  + ", ".join(f"{x.get('webrtc_failed_total')}" for x in r["points"])]
        for x in r["points"]:
            lines.append(f"- {x['legs']} legs: 503s by reason {x.get('refused')}, media load ‰ in the window "
                         f"mean {_f(x.get('media_load_permille_mean'), 0)} max {_f(x.get('media_load_permille_max'), 0)}, "
                         f"late ticks {x.get('late_ticks_in_window')}, server connect histogram {x.get('server_connect_hist')}, "
                         f"loadavg {x.get('loadavg')}")
        lines.append("")
        text = "\n".join(lines)
        print("\n" + text)
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = RESULTS / f"webrtc_load-{now:%Y%m%d-%H%M%S}"
        stem.with_suffix(".md").write_text(text + "\n")
        stem.with_suffix(".json").write_text(json.dumps(r, indent=2) + "\n")
        print(f"written: {stem}.md, {stem}.json")


def _f(v, digits: int) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--legs", type=_ints, default=[200], help="concurrent WebRTC legs, comma list")
    p.add_argument("--rate", type=float, default=5.0,
                   help="calls set up per second (at 20/s the media overload gate closes sooner)")
    p.add_argument("--window", type=float, default=20.0, help="steady-state sampling window, seconds")
    p.add_argument("--settle", type=float, default=3.0, help="seconds to let things settle")
    p.add_argument("--legs-per-thread", type=int, default=50, help="client: legs per media thread")
    p.add_argument("--codecs", choices=("opus", "g711"), default="opus",
                   help="g711: the client offers no Opus (DTLS-SRTP without transcoding, for comparison)")
    p.add_argument("--keep-work", action="store_true", help="keep the logs and the client's output")
    bench = Bench(p.parse_args())
    bench.run()
    if any(x.get("webrtc_failed") for x in bench.results["points"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
