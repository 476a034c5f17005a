#!/usr/bin/env python3
"""A fuzzing campaign: every target for a budget of CPU time (not wall time),
at idle scheduling priority, a few targets at once.

Each target runs its cargo-fuzz binary (built with `cargo +nightly fuzz build
-O`, AddressSanitizer on) on fuzz/corpus/<target> (grown in place), its seeds
and its regression inputs. The script reads the fuzzer's CPU time from /proc
and stops it with SIGINT once it has had --cpu-minutes. It then prints, and
appends to fuzz/target/campaign.tsv, per target: CPU seconds, executions,
executions per CPU second, corpus size, and whether it crashed. A crash leaves
its input in fuzz/artifacts/<target>/; fix it and copy the input into
fuzz/regressions/<target>/ (the smoke run and the regression tests replay it).

    python3 fuzz/campaign.py                           # 30 CPU-min per target
    python3 fuzz/campaign.py --cpu-minutes 1 --targets sdp,rtp
    python3 fuzz/campaign.py --resume                  # only what campaign.tsv lacks
    python3 fuzz/campaign.py --report                  # totals per target from campaign.tsv

Do not SIGSTOP a running fuzzer: libFuzzer's -timeout counts wall time, so a
pause longer than 10 s reads as a hang. To make room for a benchmark, send the
campaign SIGTERM: it stops its fuzzers, records what they did, and exits;
`--resume` later goes on from there.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
TARGETS = ["sip_parse", "sip_framer", "ua_input", "sdp", "rtp", "spec_json", "audio_decode", "webrtc_sdp"]
BIN = FUZZ / "target" / "x86_64-unknown-linux-gnu" / "release"
TICK = os.sysconf("SC_CLK_TCK")
TABLE = FUZZ / "target" / "campaign.tsv"
COLUMNS = ["target", "cpu_s", "wall_s", "execs", "execs_per_cpu_s", "corpus_files", "corpus_kib",
           "crashed"]


def done_so_far() -> dict[str, dict]:
    """CPU seconds and executions per target over every run in campaign.tsv."""
    totals: dict[str, dict] = {}
    if TABLE.exists():
        for line in TABLE.read_text().splitlines():
            row = dict(zip(COLUMNS, line.split("\t")))
            t = totals.setdefault(row["target"], {"runs": 0, "cpu_s": 0, "execs": 0,
                                                  "crashed": False})
            t["runs"] += 1
            t["cpu_s"] += int(row["cpu_s"])
            t["execs"] += int(row["execs"])
            t["crashed"] |= row.get("crashed") == "True"
    return totals


def report() -> None:
    print("| target | runs | CPU min | executions | executions per CPU s | crashes |")
    print("|---|---:|---:|---:|---:|---|")
    for target, t in done_so_far().items():
        print(f"| {target} | {t['runs']} | {t['cpu_s'] / 60:.1f} | {t['execs']:,} | "
              f"{t['execs'] / max(t['cpu_s'], 1):,.0f} | {'yes' if t['crashed'] else 'none'} |")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its reaped children, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # fields[0] is state (field 3); utime is field 14, stime 15, cutime 16, cstime 17.
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICK


class Run:
    def __init__(self, target: str, budget_s: float, idle: bool) -> None:
        self.target = target
        self.budget_s = budget_s
        corpus = FUZZ / "corpus" / target
        corpus.mkdir(parents=True, exist_ok=True)
        artifacts = FUZZ / "artifacts" / target
        artifacts.mkdir(parents=True, exist_ok=True)
        dirs = [str(corpus), str(FUZZ / "seeds" / target)]
        if (FUZZ / "regressions" / target).is_dir():
            dirs.append(str(FUZZ / "regressions" / target))
        self.log_path = FUZZ / "target" / f"campaign-{target}.log"
        argv = [str(BIN / target), "-timeout=10", "-rss_limit_mb=2048", "-max_len=65536",
                "-print_final_stats=1", f"-artifact_prefix={artifacts}/", *dirs]
        if idle:
            argv = ["chrt", "-i", "0", *argv]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.cpu = 0.0
        self.started = time.monotonic()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.cpu = cpu_seconds(self.proc.pid)
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def poll(self) -> bool:
        """True while it should keep running."""
        if self.proc.poll() is not None:
            return False
        self.cpu = cpu_seconds(self.proc.pid)
        if self.cpu >= self.budget_s:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            return False
        return True

    def result(self) -> dict:
        self.log.close()
        text = self.log_path.read_text(errors="replace")
        execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
        if not execs:
            execs = re.findall(r"^#(\d+)\s", text, re.M)
        n = int(execs[-1]) if execs else 0
        crashed = bool(re.search(r"==\d+==\s*(ERROR|WARNING): libFuzzer|deadly signal|"
                                 r"AddressSanitizer|panicked at", text))
        corpus = FUZZ / "corpus" / self.target
        files = [p for p in corpus.iterdir() if p.is_file()]
        return {
            "target": self.target,
            "cpu_s": round(self.cpu),
            "wall_s": round(time.monotonic() - self.started),
            "execs": n,
            "execs_per_cpu_s": round(n / self.cpu) if self.cpu else 0,
            "corpus_files": len(files),
            "corpus_kib": sum(p.stat().st_size for p in files) // 1024,
            "crashed": crashed,
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cpu-minutes", type=float, default=30.0)
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--jobs", type=int, default=2, help="targets at once")
    ap.add_argument("--no-idle", action="store_true", help="normal priority, not SCHED_IDLE")
    ap.add_argument("--resume", action="store_true",
                    help="give each target only what campaign.tsv says it still lacks")
    ap.add_argument("--report", action="store_true", help="print the totals and exit")
    args = ap.parse_args()
    if args.report:
        report()
        return 0

    todo = [t for t in args.targets.split(",") if t]
    for t in todo:
        if not (BIN / t).exists():
            sys.exit(f"{BIN / t} missing: run `cargo +nightly fuzz build -O` in fuzz/ first")
    budget = args.cpu_minutes * 60
    before = done_so_far() if args.resume else {}
    left = {t: budget - before.get(t, {}).get("cpu_s", 0) for t in todo}
    todo = [t for t in todo if left[t] > 0]
    running: list[Run] = []
    results = []
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    while todo or running:
        if stopping:
            todo = []
            for run in running:
                run.stop()
        while todo and len(running) < args.jobs:
            t = todo.pop(0)
            running.append(Run(t, left[t], not args.no_idle))
        time.sleep(2)
        for run in list(running):
            if not run.poll():
                running.remove(run)
                r = run.result()
                results.append(r)
                print("\t".join(f"{k}={v}" for k, v in r.items()), flush=True)
                with open(TABLE, "a") as f:
                    f.write("\t".join(str(v) for v in r.values()) + "\n")
    report()
    return 1 if any(r["crashed"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
