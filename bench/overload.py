#!/usr/bin/env python3
"""Overload benchmark: where does dialtone start refusing calls, and do the
calls it took keep their audio?

For each offered set-up rate R in --rates, a fresh dialtone runs
bench/scenarios/prompt.js (answer, loop a prompt to the caller) and SIPp
(bench/sipp/uac_prompt_or_503.xml) offers R calls/s for --seconds seconds,
each held --hold seconds if answered. Dialtone plays 50 prompt packets/s to
every answered call, all to SIPp's one media socket, which SIPp never reads:
once its buffer is full every packet that arrives is counted in that
socket's drop counter (/proc/net/udp), so the counter's rate is what the
callers heard, in packets/s.

Every second the driver reads dialtone's /metrics (live calls, sessions
refused by reason, overload state, media and signalling load, RTP packets
out, late media ticks), the media socket's counter and dialtone's RSS and
CPU. Reported per rate:

- answered and refused (503) calls, and when the first 503 came;
- peak live calls, INVITE->200 p50/p99 (SIPp's -trace_rtt);
- prompt packets heard per live call per second: the mean over the run and
  the worst one-second sample once calls were up (50 means every packet);
- late media ticks (ticks a media worker skipped: audio lost);
- peak media load (per mille), peak RSS, dialtone CPU.

A binary without overload control (DIALTONE_BIN=...) runs the same load for
comparison; flags it does not know are left out.

    cargo build --release -p dialtone
    python3 bench/overload.py                                   # 200..3000 calls/s
    python3 bench/overload.py --rates 500,1500 --seconds 10 --hold 20
    DIALTONE_BIN=/path/to/old/dialtone python3 bench/overload.py --rates 1500
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))
import audio  # noqa: E402
from echo_load import (DIALTONE_RTP, LOOPBACK, DialtoneUnderTest, SippRun, cpu_seconds,  # noqa: E402
                       free_port, percentile, raise_nofile, release_binary, rss_kib, stop,
                       udp_drops, wait_for_line)

RESULTS = BENCH / "results"
SCENARIO = BENCH / "scenarios" / "prompt.js"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')


def scrape(port: int) -> dict[str, float]:
    """`name{labels}` -> value, from /metrics; {} when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def refused(s: dict[str, float]) -> float:
    return sum(v for k, v in s.items() if k.startswith("dialtone_sessions_refused_total"))


def overloaded(s: dict[str, float]) -> str | None:
    """The resource overload control names, else the reason most new
    sessions were refused for (e.g. setup_rate)."""
    for k, v in s.items():
        if k.startswith("dialtone_overloaded{") and v == 1:
            return k.split('"')[1]
    reasons = {k.split('"')[1]: v for k, v in s.items()
               if k.startswith("dialtone_sessions_refused_total{") and v > 0}
    return max(reasons, key=reasons.get) if reasons else None


class Bench(DialtoneUnderTest):
    def __init__(self, args):
        self.args = args
        self.binary = release_binary()
        if not shutil.which("sipp"):
            sys.exit("sipp not found (Debian package sip-tester)")
        self.work = Path(tempfile.mkdtemp(prefix="dialtone-bench-overload-"))
        self.media = self.work / "media"
        self.media.mkdir()
        audio.write_tone_wav(self.media / "prompt.wav", 440.0, 3.0, 8000, amplitude=0.3)
        self.nofile = raise_nofile()
        helptext = subprocess.run([str(self.binary), "run", "--help"], capture_output=True,
                                  text=True).stdout
        self.knows = lambda flag: flag in helptext
        self.results: dict = {"binary": str(self.binary), "runs": []}
        self.proc: subprocess.Popen | None = None

    def start_dialtone(self, tag: str) -> None:
        self.port = free_port()
        self.http_port = free_port()
        self.log = self.work / f"dialtone-{tag}.log"
        data = Path(tempfile.mkdtemp(prefix=f"data-{tag}-", dir=self.work))
        argv = [str(self.binary), "run", str(SCENARIO),
                "--sip", f"{LOOPBACK}:{self.port}",
                "--rtp-ports", f"{DIALTONE_RTP[0]}-{DIALTONE_RTP[1]}",
                "--http", f"{LOOPBACK}:{self.http_port}",
                "--media-dir", str(self.media), "--data-dir", str(data)]
        if self.knows("--max-sessions"):
            # Overload control, not the session limit, is what is measured.
            argv += ["--max-sessions", "0"]
        argv += self.args.dialtone_arg
        self.log_fh = open(self.log, "w")
        self.proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.DEVNULL,
                                     stdout=self.log_fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for_line(self.log, "listening", self.proc, 30)

    def run_rate(self, rate: int) -> dict:
        a = self.args
        self.start_dialtone(str(rate))
        total = rate * a.seconds
        wd = self.work / f"rate_{rate}"
        run = SippRun(wd, "uac_prompt_or_503.xml", f"{LOOPBACK}:{self.port}",
                      ["-r", str(rate), "-m", str(total), "-l", str(total * 2),
                       "-d", str(a.hold * 1000), "-recv_timeout", "40000", "-trace_rtt",
                       "-rtt_freq", "1"],
                      timeout_s=a.seconds + a.hold + 60)
        print(f"rate {rate}/s for {a.seconds} s ({total} calls), held {a.hold} s ...", flush=True)
        samples = []
        t0 = time.monotonic()
        cpu0 = cpu_seconds(self.proc.pid)
        first_refusal = None
        try:
            prev = None
            while run.proc.poll() is None and time.monotonic() - t0 < a.seconds + a.hold + 60:
                time.sleep(1.0)
                now = time.monotonic()
                s = scrape(self.http_port)
                drops = udp_drops(run.media_port)
                try:
                    rss = rss_kib(self.proc.pid)
                except OSError:
                    rss = 0
                cur = {"t": now - t0, "s": s, "drops": drops, "rss_kib": rss}
                if first_refusal is None and refused(s) > 0:
                    first_refusal = {"t": round(now - t0, 1),
                                     "live_calls": s.get("dialtone_live_calls", 0),
                                     "resource": overloaded(s)}
                if prev is not None and prev["drops"] is not None and drops is not None:
                    dt_s = cur["t"] - prev["t"]
                    live = s.get("dialtone_live_calls", 0)
                    out = s.get("dialtone_rtp_packets_out_total", 0) - \
                        prev["s"].get("dialtone_rtp_packets_out_total", 0)
                    cur["heard_pps"] = (drops - prev["drops"]) / dt_s
                    cur["sent_pps"] = out / dt_s
                    cur["live"] = live
                    # Calls neither ramping up nor ending over the second.
                    before = prev["s"].get("dialtone_live_calls", 0)
                    cur["steady"] = abs(live - before) <= 0.01 * live + 1
                samples.append(cur)
                prev = cur
                self.alive()
        finally:
            rc = run.wait()
        cpu = cpu_seconds(self.proc.pid) - cpu0
        span = time.monotonic() - t0
        last = scrape(self.http_port)
        stop(self.proc)
        self.log_fh.close()
        ok, failed = run.counts()
        rtts = run.rtts_ms()
        # Per-call audio over the seconds when the number of calls stood
        # still (a second in which calls were added or ended has no single
        # divisor); the first samples are skipped (socket buffers filling).
        steady = [x for x in samples[2:] if x.get("live", 0) >= 10 and x.get("steady")]
        per_call = [x["heard_pps"] / x["live"] for x in steady]
        sent_per_call = [x["sent_pps"] / x["live"] for x in steady]
        refused_n = refused(last)
        row = {
            "rate": rate, "offered": total, "sipp_exit": rc,
            "answered": len(rtts), "refused_503": int(refused_n),
            "sipp_failed": failed, "sipp_ok": ok,
            "first_refusal": first_refusal,
            "peak_live_calls": max((x["s"].get("dialtone_live_calls", 0) for x in samples), default=0),
            "setup_p50_ms": percentile(rtts, 0.5), "setup_p99_ms": percentile(rtts, 0.99),
            "heard_pps_per_call_mean": (sum(per_call) / len(per_call)) if per_call else None,
            "heard_pps_per_call_min": min(per_call) if per_call else None,
            "sent_pps_per_call_min": min(sent_per_call) if sent_per_call else None,
            "late_ticks": last.get("dialtone_media_late_ticks_total",
                                   max((x["s"].get("dialtone_media_late_ticks_total", 0)
                                        for x in samples), default=0)),
            "peak_media_load": max((x["s"].get("dialtone_media_load_permille", 0) for x in samples),
                                   default=0),
            "peak_signalling_load": max((x["s"].get("dialtone_signalling_load_permille", 0)
                                         for x in samples), default=0),
            "peak_rss_mib": max((x["rss_kib"] for x in samples), default=0) / 1024,
            "cpu_pct": 100.0 * cpu / span if span > 0 else 0.0,
        }
        late_seen = max((x["s"].get("dialtone_media_late_ticks_total", 0) for x in samples), default=0)
        row["late_ticks"] = max(row["late_ticks"], late_seen)
        # When ticks were skipped: [second, live calls, ticks skipped in it].
        when, seen = [], 0.0
        for x in samples + [{"t": span, "s": last}]:
            n = x["s"].get("dialtone_media_late_ticks_total", seen)
            if n > seen:
                when.append([round(x["t"]), x["s"].get("dialtone_live_calls", 0), n - seen])
                seen = n
        row["late_ticks_when"] = when
        print(json.dumps(row), flush=True)
        return row

    def run(self) -> None:
        try:
            for rate in self.args.rates:
                self.results["runs"].append(self.run_rate(rate))
                time.sleep(3)
        finally:
            stop(self.proc)
        self.report()

    def report(self) -> None:
        RESULTS.mkdir(exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        lines = [f"binary: `{self.binary}` {' '.join(self.args.dialtone_arg)}; {self.args.seconds} s per rate, calls held "
                 f"{self.args.hold} s", "",
                 "| offered/s | answered | 503 | first 503 at (live calls, resource) | peak live "
                 "| INVITE→200 p50/p99 ms | heard pkt/s per call mean / worst s | late ticks "
                 "| peak media ‰ | peak RSS MiB | CPU % |",
                 "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in self.results["runs"]:
            fr = r["first_refusal"]
            first = f"{fr['t']} s ({fr['live_calls']:.0f}, {fr['resource']})" if fr else "—"

            def n(v, fmt="{:.0f}"):
                return "—" if v is None else fmt.format(v)
            lines.append(
                f"| {r['rate']} | {r['answered']} | {r['refused_503']} | {first} "
                f"| {r['peak_live_calls']:.0f} | {n(r['setup_p50_ms'])}/{n(r['setup_p99_ms'])} "
                f"| {n(r['heard_pps_per_call_mean'], '{:.1f}')} / "
                f"{n(r['heard_pps_per_call_min'], '{:.1f}')} | {r['late_ticks']:.0f} "
                f"| {r['peak_media_load']:.0f} | {r['peak_rss_mib']:.0f} | {r['cpu_pct']:.0f} |")
        text = "\n".join(lines) + "\n"
        print(text)
        (RESULTS / f"overload-{stamp}.md").write_text(text)
        (RESULTS / f"overload-{stamp}.json").write_text(json.dumps(self.results, indent=2))
        if not self.args.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"work directory kept: {self.work}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")],
                   default=[200, 500, 1000, 1500, 2000, 3000])
    p.add_argument("--seconds", type=int, default=10, help="seconds each rate is offered")
    p.add_argument("--hold", type=int, default=25, help="seconds an answered call is held")
    p.add_argument("--keep-work", action="store_true")
    p.add_argument("--dialtone-arg", action="append", default=[],
                   help="an extra argument for `dialtone run` (repeat; e.g. --dialtone-arg=--media-nice=-10)")
    Bench(p.parse_args()).run()


if __name__ == "__main__":
    main()
