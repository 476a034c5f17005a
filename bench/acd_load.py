#!/usr/bin/env python3
"""Contact-centre benchmark: --callers callers queued, --agents agents.

`dialtone serve` with one queue and --agents agents, each the user of a
phone: all phones are one SIPp UAS (bench/sipp/uas_agent_phone.xml: answers
at once, talks --talk-ms, hangs up), registered from its port. Every agent
has a desktop on the CTI WebSocket (asyncio `websockets` clients, logged in
with the agent's password). Callers are SIPp UACs
(bench/sipp/uac_queue_caller.xml: PCMU RTP throughout, until Dialtone's
BYE) into bench/scenarios/acd_queue.js, which queues them and bridges them
to the agent who answers.

1. Agents logged in, not ready; --callers callers arrive at --rate per
   second and wait. Reported: RSS added per queued caller.
2. Every desktop sends `ready` at once. The queue drains: each agent takes
   a call, talks, hangs up, is ready again at once (no after-call work) and
   takes the next. Reported: time from an agent becoming ready to its phone
   being called (the `agentState ready` and `newInboundCall` events' server
   times, and the desktop's `ready` command to its `newInboundCall`), calls
   distributed per second, and the CTI fan-out latency (each event's arrival
   minus its server time), p50/p99: at an integration's desktop in a process
   of its own (the probe, which sees every event of the account), and at the
   200 agent desktops (one asyncio loop: mostly the client's own latency).

Nothing is built here: the binary is target/release/dialtone, or $DIALTONE_BIN.
Everything runs on 127.0.0.1. Results: Markdown on stdout and in bench/results/.

    python3 bench/acd_load.py                       # 200 agents, 1,000 callers
    python3 bench/acd_load.py --agents 50 --callers 200
"""

from __future__ import annotations

import argparse
import asyncio
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
import threading
import time
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))
import audio  # noqa: E402
from echo_load import LOOPBACK, cpu_seconds, free_port, percentile, raise_nofile, rss_kib, stop  # noqa: E402
from register_load import Serve  # noqa: E402

RESULTS = BENCH / "results"
APP = "centre"
DOMAIN = "centre.test"
USER_DOMAIN = f"{APP}.{DOMAIN}"


def password(i: int) -> str:
    return f"agent-pw-{i:04d}"


def register(d: Serve, port: int, names: list[str]) -> None:
    """REGISTERs each agent's user from `port` (where the SIPp UAS will
    listen): a binding is reached where its REGISTER came from."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, port))
    sock.settimeout(5)
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
    try:
        for i, name in enumerate(names):
            auth, cseq = "", 1
            for _ in range(2):
                msg = (f"REGISTER sip:{USER_DOMAIN} SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP {LOOPBACK}:{port};branch=z9hG4bK{os.urandom(6).hex()};rport\r\n"
                       f"From: <sip:{name}@{USER_DOMAIN}>;tag=r{i}\r\nTo: <sip:{name}@{USER_DOMAIN}>\r\n"
                       f"Call-ID: acd-reg-{i}\r\nCSeq: {cseq} REGISTER\r\n"
                       f"Contact: <sip:{name}@{LOOPBACK}:{port}>\r\n{auth}"
                       f"Expires: 3600\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
                sock.sendto(msg.encode(), (LOOPBACK, d.sip_port))
                resp = sock.recv(65535).decode(errors="replace")
                if int(resp.split(" ", 2)[1]) == 200:
                    break
                challenge = next(line for line in resp.split("\r\n")
                                 if line.startswith("WWW-Authenticate") and "MD5" in line)
                realm = re.search(r'realm="([^"]*)"', challenge).group(1)
                nonce = re.search(r'nonce="([^"]*)"', challenge).group(1)
                ha1 = md5(f"{name}:{realm}:{password(i)}")
                ha2 = md5(f"REGISTER:sip:{USER_DOMAIN}")
                response = md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}")
                auth = (f'Authorization: Digest username="{name}", realm="{realm}", nonce="{nonce}", '
                        f'uri="sip:{USER_DOMAIN}", response="{response}", algorithm=MD5, qop=auth, '
                        f'nc=00000001, cnonce="c0ffee"\r\n')
                cseq += 1
            else:
                raise RuntimeError(f"REGISTER of {name} failed: {resp[:200]}")
    finally:
        sock.close()


class Desks:
    """The agents' desktops, on an asyncio loop of their own."""

    def __init__(self, d: Serve, account: str, names: list[str]):
        self.d, self.account, self.names = d, account, names
        self.events: list[tuple[str, dict, float]] = []  # (agent, event, arrival ms)
        self.ready_sent: dict[str, float] = {}
        self.reconnects = 0
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.go_ready = None
        self.done = None
        self.logged_in = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.main(),),
                                       daemon=True)
        self.thread.start()

    async def desk(self, i: int, name: str, started: list[int]) -> None:
        """One desktop. A desktop that falls too far behind is disconnected
        by the server; like a real one, it reconnects with the last sequence
        number it saw and gets what it missed."""
        import websockets
        url = f"ws://{LOOPBACK}:{self.d.http_port}/v1/cti"
        last_seq = None
        logged_in = ready_sent = False
        while not self.done.is_set():
            try:
                async with websockets.connect(url, max_queue=None, open_timeout=30) as ws:
                    login = {"id": "login", "command": "login", "account": self.account,
                             "agent": name, "password": password(i)}
                    if last_seq is not None:
                        login["lastSeq"] = last_seq
                    await ws.send(json.dumps(login))
                    while True:
                        msg = json.loads(await ws.recv())
                        if msg.get("id") == "login":
                            assert msg["type"] == "ack", msg
                            break
                    if not logged_in:
                        logged_in = True
                        started[0] += 1
                        if started[0] == len(self.names):
                            self.logged_in.set()

                    async def reader():
                        nonlocal last_seq
                        async for raw in ws:
                            now = time.time() * 1000
                            msg = json.loads(raw)
                            if msg.get("type") == "event":
                                last_seq = msg["seq"]
                                with self.lock:
                                    self.events.append((name, msg, now))

                    task = asyncio.create_task(reader())
                    if not ready_sent:
                        await self.go_ready.wait()
                        with self.lock:
                            self.ready_sent[name] = time.time() * 1000
                        await ws.send(json.dumps({"id": "ready", "command": "ready"}))
                        ready_sent = True
                    done = asyncio.create_task(self.done.wait())
                    await asyncio.wait({task, done}, return_when=asyncio.FIRST_COMPLETED)
                    task.cancel()
                    done.cancel()
            except websockets.ConnectionClosed:
                pass
            if not self.done.is_set():
                with self.lock:
                    self.reconnects += 1

    async def main(self) -> None:
        self.go_ready = asyncio.Event()
        self.done = asyncio.Event()
        started = [0]
        await asyncio.gather(*(self.desk(i, n, started) for i, n in enumerate(self.names)))

    def ready(self) -> None:
        self.loop.call_soon_threadsafe(self.go_ready.set)

    def finish(self) -> None:
        self.loop.call_soon_threadsafe(self.done.set)
        self.thread.join(30)


def phone_trace(path: Path) -> dict[str, list[tuple[str, float]]]:
    """The agent phones' SIPp message log, per agent: ("INVITE", arrival)
    and ("BYE", departure), in ms since the epoch."""
    out: dict[str, list[tuple[str, float]]] = {}
    text = path.read_text(errors="replace") if path.exists() else ""
    for block in text.split("----------------------------------------------- ")[1:]:
        lines = block.split("\n")
        stamp = dt.datetime.strptime(lines[0].strip(), "%Y-%m-%d %H:%M:%S.%f")
        at = stamp.replace(tzinfo=dt.timezone.utc).timestamp() * 1000
        direction = lines[1]
        start = next((line for line in lines[2:] if line.strip()), "")
        if "received" in direction and start.startswith("INVITE "):
            header = "To:"
        elif "sent" in direction and start.startswith("BYE "):
            header = "From:"
        else:
            continue
        value = next((line for line in lines if line.startswith(header)), "")
        m = re.search(r"sip:([^@>;]+)@", value)
        if m:
            out.setdefault(m.group(1), []).append((start.split(" ", 1)[0], at))
    return out


def metric(d: Serve, name: str) -> float:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{d.http_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def probe(url: str, key: str, out: str) -> int:
    """An integration's desktop in a process of its own (so the 200 agent
    desktops' Python does not slow it): each event's sequence number, server
    time and arrival, one line each, until killed."""
    from websockets.sync.client import connect
    with connect(url, additional_headers={"Authorization": f"Bearer {key}"},
                 open_timeout=30, max_size=None) as ws, open(out, "w", buffering=1) as f:
        for raw in ws:
            now = time.time() * 1000
            msg = json.loads(raw)
            if msg.get("type") == "event":
                f.write(f"{msg['seq']} {msg['at']} {now:.3f}\n")
    return 0


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--probe":
        return probe(*sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--callers", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=100, help="callers arriving per second")
    ap.add_argument("--talk-ms", type=int, default=2000)
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, traces)")
    args = ap.parse_args()
    raise_nofile()
    work = Path(tempfile.mkdtemp(prefix="dialtone-acd-"))
    d = Serve(work)
    uas = callers = prober = None
    desks = None
    try:
        created = d.call("POST", "/v1/accounts", {"name": "centre"})
        account, d.key = created["id"], created["apiKey"]
        d.call("PUT", f"/v1/applications/{APP}")
        d.call("POST", "/v1/claims", {"domain": DOMAIN})
        d.call("POST", "/v1/claims", {"number": "support"})
        d.call("PUT", f"/v1/applications/{APP}/scenarios/queue",
               (BENCH / "scenarios" / "acd_queue.js").read_bytes(), "application/javascript")
        d.call("POST", f"/v1/applications/{APP}/rules",
               {"name": "queue", "pattern": "support", "scenarios": ["queue"]})
        d.call("PUT", "/v1/queues/support",
               {"maxWaiting": 10000, "ringTimeout": 20, "afterCallWork": 0})
        names = [f"a{i:04d}" for i in range(args.agents)]

        def provision(i: int) -> None:
            d.call("PUT", f"/v1/applications/{APP}/users/{names[i]}", {"password": password(i)})
            d.call("PUT", f"/v1/agents/{names[i]}",
                   {"application": APP, "user": names[i], "queues": ["support"]})

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(provision, range(args.agents)))
        uas_port = free_port()
        register(d, uas_port, names)
        (work / "uas").mkdir()
        uas = subprocess.Popen(
            [shutil.which("sipp") or "sipp", "-sf", str(BENCH / "sipp" / "uas_agent_phone.xml"),
             "-i", LOOPBACK, "-p", str(uas_port), "-mp", str(free_port()), "-cp",
             str(free_port(both=False)), "-t", "u1", "-nostdin", "-trace_err", "-trace_msg",
             "-buff_size", str(8 << 20),
             "-d", str(args.talk_ms), "-max_recv_loops", "10000",
             "-max_sched_loops", "10000"],
            cwd=str(work / "uas"), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT, start_new_session=True)
        probe_file = work / "probe.txt"
        prober = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--probe",
             f"ws://{LOOPBACK}:{d.http_port}/v1/cti", d.key, str(probe_file)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True)
        desks = Desks(d, account, names)
        if not desks.logged_in.wait(60):
            raise RuntimeError("desktops did not all log in")
        time.sleep(1.0)
        rss_before = rss_kib(d.proc.pid)
        (work / "callers").mkdir()
        audio.write_tone_ulaw(work / "callers" / "loop.ulaw", 440.0, 2.0, amplitude=0.3)
        callers = subprocess.Popen(
            [shutil.which("sipp") or "sipp", f"{LOOPBACK}:{d.sip_port}", "-sf",
             str(BENCH / "sipp" / "uac_queue_caller.xml"), "-s", "support", "-i", LOOPBACK,
             "-p", str(free_port()), "-mp", str(free_port()), "-cp", str(free_port(both=False)),
             "-t", "u1", "-nostdin", "-buff_size", str(8 << 20), "-m", str(args.callers), "-r", str(args.rate),
             "-l", str(args.callers), "-trace_err", "-max_recv_loops", "10000",
             "-max_sched_loops", "10000", "-timeout", "900s"],
            cwd=str(work / "callers"), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + args.callers / args.rate + 60
        waiting = 0.0
        while time.monotonic() < deadline:
            waiting = metric(d, "dialtone_acd_waiting")
            if waiting >= args.callers:
                break
            time.sleep(0.5)
        time.sleep(2.0)
        rss_queued = rss_kib(d.proc.pid)
        t_ready = time.time() * 1000
        cpu_ready = cpu_seconds(d.proc.pid)
        others = {"callers_sipp": callers.pid, "phones_sipp": uas.pid, "probe": prober.pid}
        others_ready = {k: cpu_seconds(p) for k, p in others.items()}
        desks_ready = sum(os.times()[:2])
        desks.ready()
        code = callers.wait(timeout=args.callers / args.agents * (args.talk_ms / 1000 + 5) + 120)
        t_done = time.time() * 1000
        time.sleep(1.0)
        stop(prober)
        probed = [[float(x) for x in line.split()] for line in
                  probe_file.read_text().splitlines() if len(line.split()) == 3]
        probe_lag = [arrival - at for _, at, arrival in probed]
        cpu_drain = cpu_seconds(d.proc.pid) - cpu_ready
        span = max((t_done - t_ready) / 1000, 1e-3)
        load_pct = {k: round(100 * (cpu_seconds(p) - others_ready[k]) / span, 1)
                    for k, p in others.items() if Path(f"/proc/{p}/stat").exists()}
        load_pct["desks_python"] = round(100 * (sum(os.times()[:2]) - desks_ready) / span, 1)
        desks.finish()
        with desks.lock:
            events = list(desks.events)
            ready_sent = dict(desks.ready_sent)
        # A replayed event (after a reconnect) counts once, at its first arrival.
        seen_events = set()
        unique = []
        for name, e, arrival in events:
            if (name, e["seq"]) not in seen_events:
                seen_events.add((name, e["seq"]))
                unique.append((name, e, arrival))
        events = unique
        offers = sorted(e["at"] for _, e, _ in events if e["event"] == "newInboundCall")
        fanout = [arrival - e["at"] for _, e, arrival in events]
        # Per agent, in order: each `ready` followed by the next offer.
        by_agent: dict[str, list[dict]] = {}
        for name, e, _ in events:
            by_agent.setdefault(name, []).append(e)
        ready_to_ring = []
        first_offer_from_command = []
        for name, evs in by_agent.items():
            evs.sort(key=lambda e: e["seq"])
            ready_at = None
            first = True
            for e in evs:
                if e["event"] == "agentState" and e["state"] == "ready":
                    ready_at = e["at"]
                elif e["event"] == "newInboundCall" and ready_at is not None:
                    ready_to_ring.append(e["at"] - ready_at)
                    ready_at = None
                    if first and name in ready_sent:
                        arrival = next(a for n, x, a in events if n == name and x is e)
                        first_offer_from_command.append(arrival - ready_sent[name])
                    first = False
        # At the phones: the agent's `ready` command to its first INVITE, and
        # each hang-up (the phone's BYE, which makes the agent ready again)
        # to the next INVITE.
        trace = phone_trace(next((work / "uas").glob("*_messages.log"), work / "none"))
        ready_to_invite, bye_to_invite = [], []
        for name, msgs in trace.items():
            msgs.sort(key=lambda m: m[1])
            if msgs and msgs[0][0] == "INVITE" and name in ready_sent:
                ready_to_invite.append(msgs[0][1] - ready_sent[name])
            for (kind, at), (next_kind, next_at) in zip(msgs, msgs[1:]):
                if kind == "BYE" and next_kind == "INVITE":
                    bye_to_invite.append(next_at - at)
        span_s = (offers[-1] - offers[0]) / 1000 if len(offers) > 1 else 0
        result = {
            "agents": args.agents, "callers": args.callers, "talk_ms": args.talk_ms,
            "queued_at_peak": waiting, "sipp_callers_exit": code,
            "rss_kib_per_queued_caller": round((rss_queued - rss_before) / max(args.callers, 1), 1),
            "offers": len(offers),
            "calls_distributed_per_s": round(len(offers) / span_s, 1) if span_s else None,
            "drain_s": round((t_done - t_ready) / 1000, 1),
            "cpu_pct_of_one_core_while_draining": round(100 * cpu_drain / span, 1),
            "load_generators_cpu_pct_while_draining": load_pct,
            "ready_to_ring_ms_p50": percentile(ready_to_ring, 0.5),
            "ready_to_ring_ms_p99": percentile(ready_to_ring, 0.99),
            "phone_ready_command_to_invite_ms_p50": percentile(ready_to_invite, 0.5),
            "phone_ready_command_to_invite_ms_p99": percentile(ready_to_invite, 0.99),
            "phone_hangup_to_next_invite_ms_p50": percentile(bye_to_invite, 0.5),
            "phone_hangup_to_next_invite_ms_p99": percentile(bye_to_invite, 0.99),
            "phone_hangups_followed_by_invite": len(bye_to_invite),
            "ready_command_to_offer_ms_p50": percentile(first_offer_from_command, 0.5),
            "ready_command_to_offer_ms_p99": percentile(first_offer_from_command, 0.99),
            "cti_events": len(fanout),
            "cti_reconnects": desks.reconnects,
            "probe_events": len(probed),
            "probe_fanout_ms_p50": percentile(probe_lag, 0.5),
            "probe_fanout_ms_p99": percentile(probe_lag, 0.99),
            "cti_fanout_ms_p50": percentile(fanout, 0.5),
            "cti_fanout_ms_p99": percentile(fanout, 0.99),
        }
    finally:
        if desks:
            desks.finish()
        stop(callers)
        stop(uas)
        stop(prober)
        d.stop()
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"acd_{stamp}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=1))
    if args.keep:
        print(f"kept {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if result["offers"] >= args.callers and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
