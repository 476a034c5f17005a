#!/usr/bin/env python3
"""Load benchmark: every call loops one cached prompt and is recorded to WAV.

dialtone runs bench/scenarios/play_record.js (answer, record(), startPlayback
of prompt.wav from a media directory, looped) with --media-dir and --data-dir
in a temporary directory.

(a) Concurrent calls: N SIPp calls (default 100, 500, 1000; bench/sipp/
    uac_rtp_hold.xml, each streaming G.711 so the recording has input), held
    --hold seconds. Over the window where all N are up: dialtone's CPU
    (% of one core per call) and RSS above idle (KiB per call). The whole
    N-call ramp plays the same file: every log line mentioning decoding is
    counted and shown ("decoded once" check).
(b) First-RTP latency: --latency-calls sequential calls from a bare UDP SIP
    client (tests/sipwire.py) with its own RTP socket. Latency is the time
    from the timestamp of the session's "bench: play" log line (written just
    before startPlayback) to the arrival of the first RTP packet that is not
    silence. Both clocks are this machine's wall clock; the log timestamp has
    microsecond resolution. The prompt is cached by the (a) runs or by a
    warm-up call.

Nothing is built here: the binary is target/release/dialtone or $DIALTONE_BIN.

    python3 bench/playback_record.py                           # full run
    python3 bench/playback_record.py --calls 100 --hold 15     # quick look
    python3 bench/playback_record.py --skip-load --latency-calls 20
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
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))
import audio  # noqa: E402
import sipwire  # noqa: E402
from echo_load import (DIALTONE_RTP, LOOPBACK, DialtoneUnderTest, SippRun, Window, free_port, percentile,  # noqa: E402
                       raise_nofile, release_binary, rss_kib, stop, thread_count, wait_for_line)

RESULTS = BENCH / "results"
SCENARIO = BENCH / "scenarios" / "play_record.js"
PROMPT_HZ = 440.0
DECODE_RX = re.compile(r"decod", re.I)
PLAY_RX = re.compile(r"^(\S+Z)\s.*session=(\S+).*kind=log bench: play")


class Bench(DialtoneUnderTest):
    def __init__(self, args):
        self.args = args
        self.binary = release_binary()
        if not shutil.which("sipp") and not args.skip_load:
            sys.exit("sipp not found (Debian package sip-tester)")
        self.work = Path(tempfile.mkdtemp(prefix="dialtone-bench-play-"))
        self.media = self.work / "media"
        self.data = self.work / "data"
        self.media.mkdir()
        self.data.mkdir()
        # 16 kHz source: the engine resamples it to the call's 8 kHz, once.
        audio.write_tone_wav(self.media / "prompt.wav", PROMPT_HZ, 3.0, 16000, amplitude=0.3)
        self.nofile = raise_nofile()
        self.port = free_port()
        self.http_port = free_port()
        self.log = self.work / "dialtone.log"
        self.proc: subprocess.Popen | None = None
        self.results: dict = {"long": [], "latency": {}}

    def start_dialtone(self) -> None:
        argv = [str(self.binary), "run", str(SCENARIO),
                "--sip", f"{LOOPBACK}:{self.port}",
                "--rtp-ports", f"{DIALTONE_RTP[0]}-{DIALTONE_RTP[1]}",
                "--http", f"{LOOPBACK}:{self.http_port}",
                "--media-dir", str(self.media), "--data-dir", str(self.data)]
        self.log_fh = open(self.log, "w")
        self.proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.DEVNULL,
                                     stdout=self.log_fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for_line(self.log, "listening", self.proc, 30)

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    # -- (a) concurrent calls ---------------------------------------------------------------
    def long_calls(self, n: int) -> dict:
        a = self.args
        rate = min(a.setup_rate, n)
        ramp_s = n / rate
        hold_s = max(a.hold, ramp_s + 12)
        wd = self.work / f"long_{n}"
        wd.mkdir()
        audio.write_tone_ulaw(wd / "loop.ulaw", 1000.0, 2.0, amplitude=0.3)
        mark = len(self.log_lines())
        run = SippRun(wd, "uac_rtp_hold.xml", f"{LOOPBACK}:{self.port}",
                      ["-r", str(rate), "-m", str(n), "-l", str(n), "-d", str(int(hold_s * 1000)),
                       "-recv_timeout", "20000"],
                      timeout_s=int(ramp_s + hold_s + 60))
        print(f"calls: {n} at {rate}/s, held {hold_s:.0f} s ...", flush=True)
        row = {"calls": n, "hold_s": hold_s}
        try:
            deadline = time.monotonic() + ramp_s + 20
            while run.current_calls() < n and time.monotonic() < deadline and run.proc.poll() is None:
                time.sleep(0.25)
            row["calls_up"] = up = run.current_calls()
            time.sleep(a.settle)
            self.alive()
            window_s = max(3.0, min(a.window, hold_s - ramp_s - a.settle - 4))
            w = Window({"dialtone": self.proc.pid, "sipp": run.proc.pid})
            end = time.monotonic() + window_s
            while time.monotonic() < end:
                w.sample()
                time.sleep(0.5)
            m = w.close()
            row.update({"window_s": m["seconds"], "cpu_pct": m["dialtone_cpu_pct"],
                        "sipp_cpu_pct": m["sipp_cpu_pct"], "rss_kib": m["rss_kib"],
                        "threads": thread_count(self.proc.pid)})
        finally:
            rc = run.wait()
        ok, failed = run.counts()
        row.update({"sipp_exit": rc, "successful": ok, "failed": failed})
        up = max(row.get("calls_up", 0), 1)
        if "cpu_pct" in row:
            row["cpu_pct_per_call"] = row["cpu_pct"] / up
            row["rss_kib_per_call"] = (row["rss_kib"] - self.results["idle"]["rss_kib"]) / up
        time.sleep(a.settle + 3)
        self.alive()
        row["rss_after_kib"] = rss_kib(self.proc.pid)
        lines = self.log_lines()[mark:]
        row["play_lines"] = sum(1 for ln in lines if PLAY_RX.search(ln))
        row["decode_lines"] = [ln[-200:] for ln in lines if DECODE_RX.search(ln)][:10]
        row["playback_errors"] = sum(1 for ln in lines if "playback failed" in ln)
        row["record_errors"] = sum(1 for ln in lines if "record failed" in ln or "RecordError" in ln)
        row["recordings"] = sum(1 for _ in self.data.rglob("*.wav"))
        if failed:
            row["errors"] = run.error_tail()
        print("  " + json.dumps({k: v for k, v in row.items() if k != "errors"}), flush=True)
        return row

    # -- (b) first RTP after startPlayback ------------------------------------------------------
    def one_latency(self) -> float | None:
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind((LOOPBACK, 0))
        rtp_port = rtp.getsockname()[1]
        target = (LOOPBACK, self.port)
        call_id = f"lat{time.monotonic_ns()}@{LOOPBACK}"
        from_tag = f"{time.monotonic_ns() & 0xffffffff:08x}"
        mark = len(self.log_lines())
        with sipwire.RawSip("udp", target) as sip:
            sip.send(sipwire.sip_request("INVITE", target=target, local_port=sip.port, user="latency",
                                         call_id=call_id, from_tag=from_tag, body=sipwire.pcmu_offer(rtp_port),
                                         content_type="application/sdp"))
            resp = sip.final_response(10)
            if resp is None or resp.code != 200:
                rtp.close()
                raise RuntimeError(f"INVITE got {resp}")
            to_tag = re.search(r"tag=([^;>\s]+)", resp.header("to") or "")
            to_tag = to_tag.group(1) if to_tag else None
            sip.send(sipwire.sip_request("ACK", target=target, local_port=sip.port, user="latency",
                                         call_id=call_id, from_tag=from_tag, to_tag=to_tag))
            first = None
            rtp.settimeout(5.0)
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                try:
                    pkt = rtp.recv(2048)
                except socket.timeout:
                    break
                arrived = time.time()
                payload = pkt[12:]
                # mu-law silence is 0xFF/0x7F; the prompt is a -10 dBFS tone.
                pcm = audio.ulaw_decode(np.frombuffer(payload, dtype=np.uint8)) / 32768.0
                if len(payload) >= 80 and audio.rms(pcm) > 0.01:
                    first = arrived
                    break
            sip.send(sipwire.sip_request("BYE", target=target, local_port=sip.port, user="latency",
                                         call_id=call_id, from_tag=from_tag, to_tag=to_tag, cseq=2))
            sip.final_response(5)
        rtp.close()
        if first is None:
            return None
        # The log line may still be on its way to the file: give it a moment.
        for _ in range(50):
            for ln in self.log_lines()[mark:]:
                m = PLAY_RX.search(ln)
                if m:
                    stamp = dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ")
                    started = stamp.replace(tzinfo=dt.timezone.utc).timestamp()
                    return (first - started) * 1000.0
            time.sleep(0.02)
        return None

    def latency(self) -> None:
        n = self.args.latency_calls
        print(f"first-RTP latency: {n} sequential calls ...", flush=True)
        self.one_latency()  # warm-up: the prompt is decoded and cached
        samples, missing = [], 0
        for _ in range(n):
            v = self.one_latency()
            if v is None:
                missing += 1
            else:
                samples.append(v)
        self.results["latency"] = {
            "calls": n, "missing": missing,
            "p50_ms": percentile(samples, 0.5), "p95_ms": percentile(samples, 0.95),
            "max_ms": max(samples) if samples else None,
            "mean_ms": statistics.mean(samples) if samples else None}
        print("  " + json.dumps(self.results["latency"]), flush=True)

    def run(self) -> None:
        a = self.args
        try:
            self.start_dialtone()
            self.idle_baseline()
            if not a.skip_load:
                for n in a.calls:
                    self.results["long"].append(self.long_calls(n))
            if a.latency_calls:
                self.latency()
        except BaseException:
            print(f"benchmark aborted; work files kept in {self.work}", file=sys.stderr)
            raise
        finally:
            stop(self.proc)
            try:
                self.log_fh.close()
            except AttributeError:
                pass
        # Counters the engine prints at exit (e.g. decodes) are in the tail.
        self.results["exit_decode_lines"] = [ln[-200:] for ln in self.log_lines()[-50:]
                                             if DECODE_RX.search(ln)]
        self.report()
        if not a.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"work files: {self.work}")

    def report(self) -> None:
        r = self.results
        now = dt.datetime.now()
        lines = [f"# dialtone playback + recording load: {now:%Y-%m-%d %H:%M}", "",
                 f"- binary: `{self.binary}`",
                 f"- host: {os.cpu_count()} cores, {os.uname().release}, nofile {self.nofile}",
                 f"- idle: RSS {r.get('idle', {}).get('rss_kib', 0):.0f} KiB", ""]
        if r["long"]:
            lines += ["## Concurrent calls: looping cached prompt + WAV recording", "",
                      "| calls | up | CPU % (1 core) | CPU % per call | RSS MiB | KiB per call | RSS after MiB "
                      "| play lines | decode log lines | recordings | playback/record errors | ok | failed |",
                      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for x in r["long"]:
                lines.append(
                    f"| {x['calls']} | {x.get('calls_up', 0)} | {x.get('cpu_pct', 0):.1f} "
                    f"| {x.get('cpu_pct_per_call', 0):.3f} | {x.get('rss_kib', 0) / 1024:.1f} "
                    f"| {x.get('rss_kib_per_call', 0):.0f} | {x.get('rss_after_kib', 0) / 1024:.1f} "
                    f"| {x['play_lines']} | {len(x['decode_lines'])} | {x['recordings']} "
                    f"| {x['playback_errors']}/{x['record_errors']} | {x['successful']} | {x['failed']} |")
            lines += ["", "Targets: ≤ 0.08 % of one core and ≤ 400 KiB per call at 500 calls.", ""]
            for x in r["long"]:
                if x["decode_lines"]:
                    lines += [f"Decode log lines during the {x['calls']}-call run:", "```",
                              *x["decode_lines"], "```", ""]
        if r.get("exit_decode_lines"):
            lines += ["Decode lines at exit:", "```", *r["exit_decode_lines"], "```", ""]
        lat = r.get("latency") or {}
        if lat:
            lines += ["## First RTP after startPlayback (cached prompt)", "",
                      "| calls | p50 ms | p95 ms | max ms | no audio |", "|---:|---:|---:|---:|---:|",
                      f"| {lat['calls']} | {_ms(lat['p50_ms'])} | {_ms(lat['p95_ms'])} | {_ms(lat['max_ms'])} "
                      f"| {lat['missing']} |", "", "Target: ≤ 20 ms.", ""]
        text = "\n".join(lines)
        print("\n" + text)
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = RESULTS / f"playback_record-{now:%Y%m%d-%H%M%S}"
        stem.with_suffix(".md").write_text(text + "\n")
        stem.with_suffix(".json").write_text(json.dumps(r, indent=2) + "\n")
        print(f"written: {stem}.md, {stem}.json")


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=_ints, default=[100, 500, 1000], help="concurrent calls, comma list")
    p.add_argument("--hold", type=float, default=30.0, help="call duration, seconds")
    p.add_argument("--setup-rate", type=int, default=100, help="calls/s while ramping up")
    p.add_argument("--window", type=float, default=15.0, help="steady-state sampling window, seconds")
    p.add_argument("--settle", type=float, default=2.0, help="seconds to let things settle")
    p.add_argument("--latency-calls", type=int, default=30, help="sequential calls for first-RTP latency")
    p.add_argument("--skip-load", action="store_true", help="only the latency measurement")
    p.add_argument("--keep-work", action="store_true", help="keep SIPp traces, recordings and the log")
    Bench(p.parse_args()).run()


if __name__ == "__main__":
    main()
