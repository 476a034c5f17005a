#!/usr/bin/env python3
"""Registrar benchmark: REGISTER with digest authentication, and calls to
registered users.

(a) Registrations: `dialtone serve` with --users users of one application
    (created over REST); SIPp registers them at --rate per second for
    --seconds (bench/sipp/register_digest.xml: REGISTER, 401 with a nonce,
    REGISTER with an MD5 digest, 200), each registration with a new contact,
    so every user collects bindings up to the registrar's limit (10).
    Reported: registrations completed per second and failed, dialtone's CPU
    (% of one core) during the run, REGISTER round trip p50/p99 at SIPp, and
    RSS added per binding (RSS after minus before, over the bindings held,
    read back over REST).
(b) callUser fork set-up: a SIPp UAS registers two contacts of one user,
    and a SIPp UAC calls a scenario that calls that user
    (bench/scenarios/call_user_bench.js): both contacts ring at once, the
    first 200 is bridged and the other leg ends. Reported: the caller's
    INVITE -> 200 time p50/p99 at --fork-rate calls per second.

Nothing is built here: the binary is target/release/dialtone, or $DIALTONE_BIN.
Everything runs on 127.0.0.1. Results: Markdown on stdout and in bench/results/.

    python3 bench/register_load.py                     # ~1 minute
    python3 bench/register_load.py --rate 3000 --seconds 20 --users 5000
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
from echo_load import (DIALTONE_RTP, LOOPBACK, SippRun, Window, free_port,  # noqa: E402
                       percentile, raise_nofile, release_binary, rss_kib, stop, wait_for_line)

RESULTS = BENCH / "results"
APP = "bench"
DOMAIN = "bench.test"
USER_DOMAIN = f"{APP}.{DOMAIN}"


class Serve:
    def __init__(self, work: Path):
        self.binary = release_binary()
        self.work = work
        self.sip_port = free_port()
        self.http_port = free_port(kind=socket.SOCK_STREAM, both=False)
        self.key = "bench-admin-key-" + os.urandom(12).hex()
        self.log = work / "dialtone.log"
        argv = [str(self.binary), "serve", "--sip", f"{LOOPBACK}:{self.sip_port}",
                "--http", f"{LOOPBACK}:{self.http_port}", "--data-dir", str(work / "data"),
                "--rtp-ports", f"{DIALTONE_RTP[0]}-{DIALTONE_RTP[1]}"]
        env = dict(os.environ, DIALTONE_ADMIN_KEY=self.key, DIALTONE_EGRESS_ALLOW="127.0.0.0/8")
        self.log_fh = open(self.log, "w")
        self.proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.DEVNULL, env=env,
                                     stdout=self.log_fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for_line(self.log, "listening", self.proc, 30)

    def call(self, method: str, path: str, body=None, ctype: str = "application/json"):
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(f"http://{LOOPBACK}:{self.http_port}{path}", data=data,
                                     method=method,
                                     headers={"Authorization": f"Bearer {self.key}",
                                              "Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
            return json.loads(text) if text else {}

    def stop(self) -> None:
        stop(self.proc)
        self.log_fh.close()


def make_users(d: Serve, n: int) -> list[tuple[str, str]]:
    d.call("PUT", f"/v1/applications/{APP}")
    d.call("POST", "/v1/claims", {"domain": DOMAIN})
    users = [(f"u{i:05d}", f"pw-{i:05d}-bench") for i in range(n)]

    def put(user):
        name, password = user
        d.call("PUT", f"/v1/applications/{APP}/users/{name}", {"password": password})

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(put, users))
    print(f"{n} users created over REST in {time.monotonic() - t0:.1f} s", flush=True)
    return users


def bindings_held(d: Serve) -> int:
    listed = d.call("GET", f"/v1/applications/{APP}/users")
    return sum(len(u["bindings"]) for u in listed["users"])


def registrations(d: Serve, users, args, work: Path) -> dict:
    inf = work / "users.csv"
    inf.write_text("SEQUENTIAL\n" + "".join(
        f"{u};[authentication username={u} password={p}];{USER_DOMAIN}\n" for u, p in users))
    time.sleep(1.0)
    rss_before = rss_kib(d.proc.pid)
    total = args.rate * args.seconds
    run = SippRun(work / "register", "register_digest.xml", f"{LOOPBACK}:{d.sip_port}",
                  ["-inf", str(inf), "-r", str(args.rate), "-rp", "1000", "-m", str(total),
                   "-l", str(max(args.rate * 2, 100)), "-rtt_freq", "1", "-trace_rtt"],
                  timeout_s=args.seconds + 60)
    w = Window({"dialtone": d.proc.pid, "sipp": run.proc.pid})
    t0 = time.monotonic()
    while run.proc.poll() is None and time.monotonic() - t0 < args.seconds + 60:
        time.sleep(0.5)
        w.sample()
    window = w.close()
    status = run.wait()
    elapsed = time.monotonic() - t0
    ok, failed = run.counts()
    rtts = run.rtts_ms_all()
    time.sleep(1.0)
    rss_after = rss_kib(d.proc.pid)
    held = bindings_held(d)
    return {
        "offered_per_s": args.rate, "seconds": round(elapsed, 1), "sipp_status": status,
        "completed": ok, "failed": failed,
        "completed_per_s": round(ok / window["seconds"], 1) if window["seconds"] else None,
        "dialtone_cpu_pct": round(window["dialtone_cpu_pct"], 1),
        "sipp_cpu_pct": round(window["sipp_cpu_pct"], 1),
        "rtt_p50_ms": percentile(rtts, 0.5), "rtt_p99_ms": percentile(rtts, 0.99),
        "bindings": held, "rss_before_kib": rss_before, "rss_after_kib": rss_after,
        "bytes_per_binding": round((rss_after - rss_before) * 1024 / held) if held else None,
        "errors": run.error_tail()[-600:] if failed else "",
    }


FORK_SCENARIO = r"""
// Benchmark: every call rings the user "forked" (two bindings) and is
// bridged to the first that answers.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var out = VoxEngine.callUser({ username: "forked", callerid: e.callerid });
  VoxEngine.easyProcess(e.call, out);
});
"""


def register_contacts(d: Serve, uas_port: int, password: str, count: int) -> None:
    """REGISTERs `count` contacts of user `forked` from the UAS's own port, so
    that calls to them reach it (a binding is reached where its REGISTER came
    from). Plain digest over UDP, done here before SIPp takes the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, uas_port))
    sock.settimeout(5)
    target = (LOOPBACK, d.sip_port)
    try:
        for i in range(count):
            cseq = 1
            auth = ""
            for _ in range(2):
                msg = (f"REGISTER sip:{USER_DOMAIN} SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP {LOOPBACK}:{uas_port};branch=z9hG4bK{os.urandom(6).hex()};rport\r\n"
                       f"From: <sip:forked@{USER_DOMAIN}>;tag=r{i}\r\n"
                       f"To: <sip:forked@{USER_DOMAIN}>\r\n"
                       f"Call-ID: bench-reg-{i}\r\nCSeq: {cseq} REGISTER\r\n"
                       f"Contact: <sip:forked{i}@{LOOPBACK}:{uas_port}>\r\n{auth}"
                       f"Expires: 3600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
                sock.sendto(msg.encode(), target)
                resp = sock.recv(65535).decode(errors="replace")
                code = int(resp.split(" ", 2)[1])
                if code == 200:
                    break
                challenge = next(line for line in resp.split("\r\n")
                                 if line.startswith("WWW-Authenticate") and "MD5" in line)
                realm = re.search(r'realm="([^"]*)"', challenge).group(1)
                nonce = re.search(r'nonce="([^"]*)"', challenge).group(1)
                md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
                ha1 = md5(f"forked:{realm}:{password}")
                ha2 = md5(f"REGISTER:sip:{USER_DOMAIN}")
                response = md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}")
                auth = (f'Authorization: Digest username="forked", realm="{realm}", nonce="{nonce}", '
                        f'uri="sip:{USER_DOMAIN}", response="{response}", algorithm=MD5, qop=auth, '
                        f'nc=00000001, cnonce="c0ffee"\r\n')
                cseq += 1
            else:
                raise RuntimeError(f"REGISTER of contact {i} failed: {resp[:200]}")
    finally:
        sock.close()


def forks(d: Serve, args, work: Path) -> dict:
    d.call("PUT", f"/v1/applications/{APP}/users/forked", {"password": "forked-password"})
    d.call("PUT", f"/v1/applications/{APP}/scenarios/fork", FORK_SCENARIO.encode(),
           "application/javascript")
    d.call("POST", "/v1/claims", {"pattern": r"7\d{3}"})
    d.call("POST", f"/v1/applications/{APP}/rules",
           {"name": "fork", "pattern": r"7\d{3}", "scenarios": ["fork"]})
    uas_port = free_port()
    register_contacts(d, uas_port, "forked-password", 2)
    total = args.fork_rate * args.fork_seconds
    (work / "fork-uas").mkdir(parents=True, exist_ok=True)
    uas_out = open(work / "fork-uas" / "sipp.stdout", "w")
    uas = subprocess.Popen(
        [shutil.which("sipp") or "sipp", "-sf", str(BENCH / "sipp" / "uas_answer_bye.xml"),
         "-i", LOOPBACK, "-p", str(uas_port), "-t", "u1", "-nostdin", "-trace_err",
         "-max_recv_loops", "10000", "-max_sched_loops", "10000"],
        cwd=str(work / "fork-uas"), stdin=subprocess.DEVNULL, stdout=uas_out,
        stderr=subprocess.STDOUT, start_new_session=True)
    time.sleep(0.5)
    uac = SippRun(work / "fork-uac", "uac_short.xml", f"{LOOPBACK}:{d.sip_port}",
                  ["-s", "7000", "-r", str(args.fork_rate), "-m", str(total),
                   "-d", "1000", "-trace_rtt", "-rtt_freq", "1"],
                  timeout_s=args.fork_seconds + 60)
    status = uac.wait()
    ok, failed = uac.counts()
    rtts = uac.rtts_ms_all()
    stop(uas)
    uas_out.close()
    return {"calls_per_s": args.fork_rate, "calls": total, "completed": ok, "failed": failed,
            "sipp_status": status, "setup_p50_ms": percentile(rtts, 0.5),
            "setup_p99_ms": percentile(rtts, 0.99),
            "errors": uac.error_tail()[-600:] if failed else ""}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--rate", type=int, default=2000, help="registrations offered per second")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--fork-rate", type=int, default=50, help="callUser calls per second")
    p.add_argument("--fork-seconds", type=int, default=10)
    p.add_argument("--skip-forks", action="store_true")
    args = p.parse_args()
    if not shutil.which("sipp"):
        sys.exit("sipp not found (Debian package sip-tester)")
    raise_nofile()
    work = Path(tempfile.mkdtemp(prefix="dialtone-register-"))
    d = Serve(work)
    results: dict = {"machine": os.uname().nodename, "cpus": os.cpu_count(),
                     "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    try:
        users = make_users(d, args.users)
        results["register"] = registrations(d, users, args, work)
        print(json.dumps(results["register"], indent=1), flush=True)
        if not args.skip_forks:
            results["forks"] = forks(d, args, work)
            print(json.dumps(results["forks"], indent=1), flush=True)
    finally:
        d.stop()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"register-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=1))
    r = results["register"]
    print("\n| figure | value |\n|---|---|")
    print(f"| registrations offered | {r['offered_per_s']}/s for {args.seconds} s, {args.users} users |")
    print(f"| completed (digest, 2 round trips each) | {r['completed_per_s']}/s, {r['failed']} failed |")
    print(f"| dialtone CPU | {r['dialtone_cpu_pct']} % of one core |")
    print(f"| REGISTER round trips p50 / p99 | {r['rtt_p50_ms']} / {r['rtt_p99_ms']} ms |")
    print(f"| bindings held | {r['bindings']}, {r['bytes_per_binding']} bytes of RSS each |")
    if "forks" in results:
        f = results["forks"]
        print(f"| callUser (2 forks) INVITE -> 200 p50 / p99 | {f['setup_p50_ms']} / {f['setup_p99_ms']} ms "
              f"at {f['calls_per_s']}/s, {f['failed']} of {f['calls']} failed |")
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
