#!/usr/bin/env python3
"""Trunk registration benchmark: --trunks trunks (100 per account, the
limit) registering with one provider, SIPp as its registrar
(tests/sipp/peer_provider_auth.xml: every REGISTER challenged, the digest
checked, --granted seconds granted), so that each trunk refreshes every
4/5 of --granted seconds, each refresh two REGISTERs (challenge, then
credentials).

Reported: time from the first PUT to every trunk registered (/metrics),
dialtone's CPU (% of one core) over --seconds of steady refreshing, the
REGISTERs per second that made, RSS added per registered trunk, and the
failures counted in /metrics.

Nothing is built here: the binary is target/release/dialtone, or $DIALTONE_BIN.
Everything runs on 127.0.0.1. Results: Markdown on stdout and in bench/results/.

    python3 bench/trunk_register_load.py                    # ~1 minute
    python3 bench/trunk_register_load.py --trunks 2000 --granted 10
"""

from __future__ import annotations

import argparse
import concurrent.futures
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
from echo_load import LOOPBACK, Window, free_port, raise_nofile, rss_kib, stop  # noqa: E402
from register_load import Serve  # noqa: E402

RESULTS = BENCH / "results"
PROVIDER_XML = REPO / "tests" / "sipp" / "peer_provider_auth.xml"


def metrics(d: Serve) -> str:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{d.http_port}/metrics", timeout=10) as r:
        return r.read().decode()


def sample(text: str, name: str, labels: str) -> float:
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def answered(text: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^dialtone_trunk_register_responses_total\{code="(\d+)"\} (\S+)$', text, re.M)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trunks", type=int, default=1000)
    ap.add_argument("--granted", type=int, default=20, help="seconds the registrar grants")
    ap.add_argument("--seconds", type=int, default=30, help="steady window")
    args = ap.parse_args()
    raise_nofile()
    work = Path(tempfile.mkdtemp(prefix="dialtone-trunkreg-"))
    xml = work / "provider.xml"
    xml.write_text(PROVIDER_XML.read_text().replace(";expires=4", f";expires={args.granted}"))
    port = free_port()
    provider = subprocess.Popen(
        [shutil.which("sipp") or "sipp", "-sf", str(xml), "-i", LOOPBACK, "-p", str(port),
         "-cp", str(free_port(both=False)), "-mp", str(free_port()), "-t", "u1", "-nostdin",
         "-m", str(args.trunks * 10), "-max_recv_loops", "10000", "-max_sched_loops", "10000",
         "-trace_err", "-timeout", f"{args.seconds + 600}s"],
        cwd=str(work), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT, start_new_session=True)
    d = Serve(work)
    try:
        accounts = []
        for i in range((args.trunks + 99) // 100):
            acct = d.call("POST", "/v1/accounts", {"name": f"acct{i}"})
            accounts.append(acct["apiKey"])
        time.sleep(1.0)
        rss_before = rss_kib(d.proc.pid)

        def put(i: int) -> None:
            key = accounts[i // 100]
            body = {"host": LOOPBACK, "port": port, "username": "trunkuser",
                    "password": "trunkpass", "register": True}
            req = urllib.request.Request(
                f"http://{LOOPBACK}:{d.http_port}/v1/trunks/t{i:05d}",
                data=json.dumps(body).encode(), method="PUT",
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as r:
                r.read()

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(put, range(args.trunks)))
        put_done = time.monotonic() - t0
        registered = 0.0
        while time.monotonic() - t0 < 300:
            registered = sample(metrics(d), "dialtone_trunk_registrations", 'state="registered"')
            if registered >= args.trunks:
                break
            time.sleep(0.2)
        all_registered = time.monotonic() - t0
        time.sleep(1.0)
        rss_after = rss_kib(d.proc.pid)
        before = answered(metrics(d))
        w = Window({"dialtone": d.proc.pid})
        t1 = time.monotonic()
        while time.monotonic() - t1 < args.seconds:
            time.sleep(0.5)
            w.sample()
        window = w.close()
        text = metrics(d)
        after = answered(text)
        ok = after.get("200", 0) - before.get("200", 0)
        failed = sum(v for k, v in after.items() if k != "200")
        result = {
            "trunks": args.trunks, "granted_s": args.granted,
            "puts_s": round(put_done, 1), "all_registered_s": round(all_registered, 1),
            "registered": registered,
            "steady_seconds": round(window["seconds"], 1),
            "refreshes_per_s": round(ok / window["seconds"], 1),
            "registers_per_s": round(2 * ok / window["seconds"], 1),
            "dialtone_cpu_pct": round(window["dialtone_cpu_pct"], 1),
            "rss_kib_per_trunk": round((rss_after - rss_before) / max(args.trunks, 1), 2),
            "failed_answers": failed,
            "still_registered": sample(text, "dialtone_trunk_registrations", 'state="registered"'),
        }
    finally:
        d.stop()
        stop(provider)
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"trunk_register_{stamp}.json").write_text(json.dumps(result, indent=2))
    print("| trunks | granted | all registered after | refreshes/s | REGISTERs/s | CPU (% of a core) | RSS per trunk | failed |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {result['trunks']} | {args.granted} s | {result['all_registered_s']} s "
          f"(PUTs {result['puts_s']} s) | {result['refreshes_per_s']} | {result['registers_per_s']} | "
          f"{result['dialtone_cpu_pct']} % | {result['rss_kib_per_trunk']} KiB | "
          f"{int(result['failed_answers'])} |")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if result["still_registered"] >= args.trunks and result["failed_answers"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
