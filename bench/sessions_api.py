#!/usr/bin/env python3
"""Load benchmark: sessions started over REST (`POST /v1/sessions`).

Starts `dialtone serve` (target/release/dialtone, or $DIALTONE_BIN) on free
loopback ports with a temporary data directory, creates an application with a
scenario that ends at once:

    VoxEngine.addEventListener(AppEvents.Started, function () { VoxEngine.terminate(); });

then drives `POST /v1/sessions {"application", "scenario", "customData": {"n": i}}`
from client processes, each running asyncio clients on persistent HTTP/1.1
keep-alive connections (a minimal client written here: stdlib only).

- closed loop (default): every client sends its next request as soon as the
  previous answer is read, for --duration seconds after --warmup seconds;
- open loop (--rate R): requests are due at R per second in all, whatever
  the answers; latency counts from when a request was due, so a server that
  falls behind shows it (queueing in the client is included, not hidden).

Reported: requests/s, status counts, latency p50/p90/p99/max, dialtone's CPU
(% of one core, utime+stime of all threads) and RSS over the measured window,
the client processes' own CPU, live sessions during and after the run (GET
/v1/sessions must drain to 0) and the sessions in history (GET /v1/history).

    cargo build --release -p dialtone
    python3 bench/sessions_api.py                          # 100 clients, 20 s
    python3 bench/sessions_api.py --rate 1000              # open loop, 1000/s
    python3 bench/sessions_api.py --processes 2 --clients 100
    python3 bench/sessions_api.py --request applications   # GET /v1/applications: HTTP + auth floor

Results: a Markdown table on stdout and in bench/results/ (with the raw
numbers as JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from echo_load import (  # noqa: E402  (the shared dialtone-process helpers)
    LOOPBACK, REPO, RESULTS, DialtoneUnderTest, Window, free_port, percentile, raise_nofile,
    release_binary, rss_kib, stop, thread_count, wait_for_line)

APPLICATION = "bench"
SCENARIO = "start_stop"
SCENARIO_SOURCE = ("VoxEngine.addEventListener(AppEvents.Started, function () "
                   "{ VoxEngine.terminate(); });\n")
# A request not answered in this long counts as an error.
REQUEST_TIMEOUT_S = 10.0
# Clients above this share of one core are the bottleneck, not dialtone.
CLIENT_SATURATED_PCT = 85.0


# --- a minimal HTTP/1.1 keep-alive client -------------------------------------------------

class HttpError(Exception):
    """The connection failed or the answer could not be read."""


class Connection:
    """One persistent HTTP/1.1 connection; reconnects after a failure or a
    `Connection: close`."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.connects = 0

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connects += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        """Sends a prepared request (head ends with the blank line) and returns
        (status, body)."""
        if self.writer is None:
            await self._connect()
        try:
            self.writer.write(head + body)
            status_line_and_headers = await self.reader.readuntil(b"\r\n\r\n")
            lines = status_line_and_headers.split(b"\r\n")
            parts = lines[0].split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
                raise HttpError(f"bad status line {lines[0][:80]!r}")
            status = int(parts[1])
            length, chunked, close = 0, False, False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip())
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            payload = await self._chunked() if chunked else await self.reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            self.close()
            raise HttpError(type(e).__name__) from e
        if close:
            self.close()
        return status, payload

    async def _chunked(self) -> bytes:
        out = bytearray()
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return bytes(out)
            out += await self.reader.readexactly(size)
            await self.reader.readexactly(2)


def prepare(method: str, path: str, host: str, key: str, body: bytes) -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
            f"Accept: application/json\r\n")
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode()


# --- one client process --------------------------------------------------------------------

class Tally:
    """What one client process saw in the measured window."""

    def __init__(self):
        self.latencies_ms: list[float] = []
        self.service_ms: list[float] = []
        self.statuses: collections.Counter = collections.Counter()
        self.errors: collections.Counter = collections.Counter()
        self.bodies: dict[int, str] = {}
        self.unsent = 0
        self.max_backlog = 0
        # 2xx answers of the whole run (warm-up and tail too): history must hold them all.
        self.all_ok = 0

    def note(self, status: int, payload: bytes) -> None:
        self.statuses[status] += 1
        if not 200 <= status < 300 and status not in self.bodies:
            self.bodies[status] = payload[:300].decode("utf-8", "replace")

    def as_dict(self) -> dict:
        return {"latencies_ms": self.latencies_ms, "service_ms": self.service_ms,
                "statuses": dict(self.statuses), "errors": dict(self.errors),
                "bodies": self.bodies, "unsent": self.unsent, "max_backlog": self.max_backlog,
                "all_ok": self.all_ok}


def _request_maker(cfg: dict):
    """A function of the request number returning (head, body)."""
    host = f"{LOOPBACK}:{cfg['port']}"
    if cfg["request"] == "applications":
        head = prepare("GET", "/v1/applications", host, cfg["key"], b"")
        return lambda n: (head, b"")

    def make(n: int):
        body = json.dumps({"application": APPLICATION, "scenario": SCENARIO,
                           "customData": {"n": n}}, separators=(",", ":")).encode()
        return prepare("POST", "/v1/sessions", host, cfg["key"], body), body

    return make


async def _closed_loop(cfg: dict, conns: list[Connection], tally: Tally) -> None:
    make = _request_maker(cfg)
    counter = iter(range(cfg["index"], 1 << 62, cfg["processes"]))
    measure_from, measure_to = cfg["measure_from"], cfg["measure_to"]

    async def client(conn: Connection) -> None:
        while True:
            start = time.monotonic()
            if start >= measure_to:
                return
            head, body = make(next(counter))
            end = await _exchange(conn, tally, head, body, measured=start >= measure_from)
            if end is not None and start >= measure_from:
                tally.latencies_ms.append((end - start) * 1000.0)

    await asyncio.gather(*(client(c) for c in conns))


async def _exchange(conn: Connection, tally: Tally, head: bytes, body: bytes,
                    measured: bool) -> float | None:
    """One request on `conn`, counted in `tally` (statuses and errors only
    when `measured`); the time its answer arrived, or None when it failed
    (the connection is then closed and reopened on next use)."""
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            status, payload = await conn.request(head, body)
    except (HttpError, TimeoutError) as e:
        conn.close()
        if measured:
            tally.errors[str(e) or type(e).__name__] += 1
        return None
    end = time.monotonic()
    tally.all_ok += 200 <= status < 300
    if measured:
        tally.note(status, payload)
    return end


async def _open_loop(cfg: dict, conns: list[Connection], tally: Tally) -> None:
    """Requests due every 1/rate s from measure_from - warmup; each free
    connection takes the oldest due request."""
    make = _request_maker(cfg)
    rate = cfg["rate"] / cfg["processes"]
    start_at = cfg["start_at"]
    measure_from, measure_to = cfg["measure_from"], cfg["measure_to"]
    # Stagger the processes' schedules so that they do not fire together.
    offset = cfg["index"] / (rate * cfg["processes"])
    due: asyncio.Queue = asyncio.Queue()

    async def scheduler() -> None:
        k = 0
        while True:
            now = time.monotonic()
            while True:
                t = start_at + offset + k / rate
                if t > now or t >= measure_to:
                    break
                due.put_nowait((t, cfg["index"] + k * cfg["processes"]))
                k += 1
            tally.max_backlog = max(tally.max_backlog, due.qsize())
            if start_at + offset + k / rate >= measure_to:
                for _ in conns:
                    due.put_nowait(None)  # one end mark per client
                return
            await asyncio.sleep(max(0.0, min(0.001, start_at + offset + k / rate - now)))

    async def client(conn: Connection) -> None:
        grace_until = measure_to + REQUEST_TIMEOUT_S
        while True:
            item = await due.get()
            if item is None:
                return
            t_due, n = item
            if time.monotonic() > grace_until:
                tally.unsent += 1
                continue
            head, body = make(n)
            sent = time.monotonic()
            end = await _exchange(conn, tally, head, body, measured=t_due >= measure_from)
            if end is not None and t_due >= measure_from:
                tally.latencies_ms.append((end - t_due) * 1000.0)
                tally.service_ms.append((end - sent) * 1000.0)

    await asyncio.gather(scheduler(), *(client(c) for c in conns))


async def _client_process(cfg: dict) -> dict:
    conns = [Connection(LOOPBACK, cfg["port"]) for _ in range(cfg["clients"])]
    # Connect before the start so that set-up is not measured.
    await asyncio.gather(*(c._connect() for c in conns))
    await asyncio.sleep(max(0.0, cfg["start_at"] - time.monotonic()))
    tally = Tally()
    if cfg["rate"]:
        await _open_loop(cfg, conns, tally)
    else:
        await _closed_loop(cfg, conns, tally)
    out = tally.as_dict()
    out["connects"] = sum(c.connects for c in conns)
    for c in conns:
        c.close()
    return out


def client_main(cfg: dict, results) -> None:
    """Entry point of a client process: runs its clients, puts its tally on
    `results`."""
    try:
        out = asyncio.run(_client_process(cfg))
    except Exception as e:  # reported by the parent
        out = {"failure": repr(e)}
    results.put((cfg["index"], out))


# --- the server under test -----------------------------------------------------------------

class Server(DialtoneUnderTest):
    """`dialtone serve` on a fresh SQLite data directory, with the bench
    application and its scenario uploaded over REST."""

    def __init__(self, binary: Path, work: Path, log_format: str):
        self.binary = binary
        self.work = work
        self.log = work / "dialtone.log"
        self.results: dict = {}
        self.key = "bench-admin-key-" + os.urandom(12).hex()
        self.sip_port = free_port()
        self.http_port = free_port(kind=socket.SOCK_STREAM, both=False)
        argv = [str(binary), "serve", "--sip", f"{LOOPBACK}:{self.sip_port}",
                "--http", f"{LOOPBACK}:{self.http_port}", "--data-dir", str(work / "data"),
                "--log-format", log_format]
        env = dict(os.environ, DIALTONE_ADMIN_KEY=self.key)
        self.log_fh = open(self.log, "w")
        self.proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.DEVNULL, env=env,
                                     stdout=self.log_fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for_line(self.log, "listening", self.proc, 30)
        self.base = f"http://{LOOPBACK}:{self.http_port}"

    def rest(self, method: str, path: str, body: bytes = b"",
             ctype: str = "application/json") -> tuple[int, dict | str]:
        req = urllib.request.Request(self.base + path, data=body or None, method=method,
                                     headers={"Authorization": f"Bearer {self.key}",
                                              "Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw) if raw else {}
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def set_up(self) -> None:
        for method, path, body, ctype in [
            ("PUT", f"/v1/applications/{APPLICATION}", b"", "application/json"),
            ("PUT", f"/v1/applications/{APPLICATION}/scenarios/{SCENARIO}",
             SCENARIO_SOURCE.encode(), "application/javascript"),
        ]:
            status, answer = self.rest(method, path, body, ctype)
            if status >= 300:
                raise RuntimeError(f"{method} {path}: {status} {answer}")

    def live_sessions(self) -> int | None:
        status, answer = self.rest("GET", "/v1/sessions")
        if status != 200 or not isinstance(answer, dict):
            return None
        return len(answer.get("sessions", []))

    def history_count(self, since_ms: int) -> collections.Counter | None:
        """Sessions of the bench application in history started since
        `since_ms`, by status."""
        count, cursor = collections.Counter(), None
        while True:
            path = f"/v1/history?application={APPLICATION}&from={since_ms}&limit=500"
            if cursor:
                path += f"&cursor={urllib.parse.quote(cursor)}"
            status, answer = self.rest("GET", path)
            if status != 200 or not isinstance(answer, dict):
                return None
            count.update(s.get("status") for s in answer.get("sessions", []))
            cursor = answer.get("nextCursor")
            if not cursor:
                return count

    def stop(self) -> None:
        stop(self.proc)
        self.log_fh.close()


# --- the benchmark -------------------------------------------------------------------------

def _wait_until(predicate, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class Bench:
    def __init__(self, args):
        self.args = args
        self.binary = release_binary()
        if args.clients < args.processes:
            sys.exit("--clients must be at least --processes")
        self.work = Path(tempfile.mkdtemp(prefix="dialtone-sessions-bench-"))
        self.nofile = raise_nofile()
        self.results: dict = {"args": vars(args), "binary": str(self.binary)}

    def run(self) -> None:
        a = self.args
        server = None
        try:
            server = Server(self.binary, self.work, a.log_format)
            server.set_up()
            server.idle_baseline()
            self.results["idle"] = server.results["idle"]
            if a.request == "sessions":
                status, answer = server.rest("GET", "/v1/sessions")
                if status != 200:
                    raise RuntimeError(f"GET /v1/sessions: {status} {answer}: is the endpoint there?")
            self.measure(server)
            if a.request == "sessions":
                self.after(server)
        except BaseException:
            print(f"benchmark aborted; work files kept in {self.work}", file=sys.stderr)
            if server is not None:
                server.stop()
            raise
        server.alive()
        server.stop()
        self.report()
        if not a.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)

    def measure(self, server: Server) -> None:
        a = self.args
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        # Time for the client processes to start and connect.
        start_at = time.monotonic() + 3.0
        measure_from = start_at + a.warmup
        measure_to = measure_from + a.duration
        self.since_ms = int(time.time() * 1000) - 1000
        share = [a.clients // a.processes + (1 if i < a.clients % a.processes else 0)
                 for i in range(a.processes)]
        procs = []
        for i in range(a.processes):
            cfg = {"index": i, "processes": a.processes, "clients": share[i], "port": server.http_port,
                   "key": server.key, "request": a.request, "rate": a.rate, "start_at": start_at,
                   "measure_from": measure_from, "measure_to": measure_to}
            p = ctx.Process(target=client_main, args=(cfg, queue), daemon=True)
            p.start()
            procs.append(p)
        mode = f"open loop at {a.rate}/s" if a.rate else "closed loop"
        print(f"{a.request}: {a.clients} clients in {a.processes} process(es), {mode}, "
              f"{a.warmup:.0f} s warm-up + {a.duration:.0f} s ...", flush=True)
        time.sleep(max(0.0, measure_from - time.monotonic()))
        pids = {"dialtone": server.proc.pid}
        pids.update({f"client{i}": p.pid for i, p in enumerate(procs)})
        w = Window(pids)
        live: list[int] = []
        next_live = time.monotonic()
        while time.monotonic() < measure_to:
            w.sample()
            if a.request == "sessions" and time.monotonic() >= next_live:
                n = server.live_sessions()
                if n is not None:
                    live.append(n)
                next_live += 1.0
            time.sleep(0.5)
        m = w.close()
        threads = thread_count(server.proc.pid)
        outs: dict[int, dict] = {}
        deadline = time.monotonic() + REQUEST_TIMEOUT_S + 30
        while len(outs) < len(procs) and time.monotonic() < deadline:
            try:
                i, out = queue.get(timeout=1.0)
                outs[i] = out
            except Exception:  # queue.Empty
                continue
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
        failures = [o["failure"] for o in outs.values() if "failure" in o]
        if len(outs) < len(procs) or failures:
            raise RuntimeError(f"client processes failed: {failures or 'no result'}")
        self.collect(outs, m, live, threads)

    def collect(self, outs: dict[int, dict], m: dict, live: list[int], threads: int) -> None:
        a = self.args
        lat = [x for o in outs.values() for x in o["latencies_ms"]]
        service = [x for o in outs.values() for x in o["service_ms"]]
        statuses: collections.Counter = collections.Counter()
        errors: collections.Counter = collections.Counter()
        bodies: dict = {}
        for o in outs.values():
            statuses.update({int(k): v for k, v in o["statuses"].items()})
            errors.update(o["errors"])
            bodies.update(o["bodies"])
        answered = sum(statuses.values())
        ok = sum(v for k, v in statuses.items() if 200 <= k < 300)
        client_cpu = [m[f"client{i}_cpu_pct"] for i in range(a.processes)]
        r = {
            "window_s": m["seconds"], "answered": answered, "ok": ok,
            "requests_per_s": answered / a.duration, "ok_per_s": ok / a.duration,
            "statuses": {str(k): v for k, v in sorted(statuses.items())}, "errors": dict(errors),
            "error_bodies": {str(k): v for k, v in bodies.items()},
            "unsent": sum(o["unsent"] for o in outs.values()),
            "max_backlog": max(o["max_backlog"] for o in outs.values()),
            "reconnects": sum(o["connects"] for o in outs.values()) - a.clients,
            "all_ok": sum(o["all_ok"] for o in outs.values()),
            "p50_ms": percentile(lat, 0.50), "p90_ms": percentile(lat, 0.90),
            "p99_ms": percentile(lat, 0.99), "max_ms": max(lat) if lat else None,
            "service_p99_ms": percentile(service, 0.99) if service else None,
            "dialtone_cpu_pct": m["dialtone_cpu_pct"], "dialtone_rss_kib": m.get("rss_kib", 0.0),
            "dialtone_threads": threads, "client_cpu_pct": client_cpu,
            "live_sessions_during": {"max": max(live), "mean": sum(live) / len(live)} if live else None,
        }
        self.results["run"] = r
        print("  " + json.dumps({k: v for k, v in r.items() if k != "error_bodies"}), flush=True)
        saturated = [i for i, c in enumerate(client_cpu) if c >= CLIENT_SATURATED_PCT]
        if saturated:
            print(f"WARNING: client process(es) {saturated} used {max(client_cpu):.0f} % of a core: "
                  f"the client may be the bottleneck; try --processes {a.processes + 1}", flush=True)
        self.results["client_saturated"] = bool(saturated)

    def after(self, server: Server) -> None:
        """Live sessions must drain to 0 and history must hold every session
        started (bounded waits)."""
        a = self.args
        r = self.results["run"]
        t0 = time.monotonic()
        drained = _wait_until(lambda: server.live_sessions() == 0, a.drain_timeout)
        r["drained"] = bool(drained)
        r["drain_s"] = time.monotonic() - t0
        r["live_sessions_after"] = server.live_sessions()
        # Every 2xx of the run (warm-up and tail too) must reach history.
        t0 = time.monotonic()
        seen: list[collections.Counter] = []

        def settled() -> bool:
            seen.append(server.history_count(self.since_ms) or collections.Counter())
            return sum(seen[-1].values()) >= r["all_ok"]

        _wait_until(settled, a.drain_timeout, interval=1.0)
        by_status = seen[-1] if seen else collections.Counter()
        r["history_sessions"] = sum(by_status.values())
        r["history_by_status"] = dict(by_status)
        r["history_complete"] = r["history_sessions"] == r["all_ok"]
        r["history_s"] = time.monotonic() - t0
        # Memory once idle again (the JS workers trim freed heap when idle).
        time.sleep(a.settle)
        server.alive()
        r["rss_after_kib"] = rss_kib(server.proc.pid)
        print(f"  drained: {r['drained']} in {r['drain_s']:.1f} s (live after: "
              f"{r['live_sessions_after']}); history: {r['history_sessions']} sessions "
              f"{dict(by_status)} for {r['all_ok']} started; RSS after "
              f"{r['rss_after_kib'] / 1024:.1f} MiB", flush=True)

    # -- output ---------------------------------------------------------------------------------
    def report(self) -> None:
        a = self.args
        r = self.results["run"]
        now = dt.datetime.now()
        what = "POST /v1/sessions" if a.request == "sessions" else "GET /v1/applications"
        mode = f"open loop, {a.rate}/s due" if a.rate else "closed loop"
        idle = self.results["idle"]
        lines = [f"# dialtone {what}: {now:%Y-%m-%d %H:%M}", "",
                 f"- binary: `{self.binary}`",
                 f"- host: {os.cpu_count()} cores, {os.uname().release}, nofile {self.nofile}",
                 f"- {a.clients} keep-alive connections in {a.processes} client process(es), {mode}; "
                 f"{a.warmup:.0f} s warm-up, {a.duration:.0f} s measured",
                 f"- idle dialtone: RSS {idle['rss_kib'] / 1024:.1f} MiB, {idle['threads']} threads", "",
                 "| requests/s | 2xx/s | statuses | errors | p50 ms | p90 ms | p99 ms | max ms "
                 "| dialtone CPU % | dialtone RSS MiB | client CPU % |",
                 "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
                 f"| {r['requests_per_s']:.0f} | {r['ok_per_s']:.0f} "
                 f"| {', '.join(f'{k}: {v}' for k, v in r['statuses'].items()) or 'none'} "
                 f"| {sum(r['errors'].values())} | {_ms(r['p50_ms'])} | {_ms(r['p90_ms'])} "
                 f"| {_ms(r['p99_ms'])} | {_ms(r['max_ms'])} | {r['dialtone_cpu_pct']:.0f} "
                 f"| {r['dialtone_rss_kib'] / 1024:.1f} "
                 f"| {' + '.join(f'{c:.0f}' for c in r['client_cpu_pct'])} |", ""]
        if a.rate:
            lines += [f"Latency counts from when each request was due; server time alone "
                      f"(send to answer) p99 {_ms(r['service_p99_ms'])} ms; largest backlog of due "
                      f"requests {r['max_backlog']}; not sent {r['unsent']}.", ""]
        if a.request == "sessions":
            during = r["live_sessions_during"] or {}
            lines += [f"Live sessions during the run (GET /v1/sessions, once a second): max "
                      f"{during.get('max', 'n/a')}, mean {during.get('mean', 0):.1f}; after: "
                      f"{r['live_sessions_after']} (drained: {'yes' if r['drained'] else 'NO'} in "
                      f"{r['drain_s']:.1f} s). History: {r['history_sessions']} sessions "
                      f"{r['history_by_status']} for {r['all_ok']} started (warm-up and tail "
                      f"included): {'complete' if r['history_complete'] else 'INCOMPLETE'}. "
                      f"RSS {a.settle:.0f} s later: {r['rss_after_kib'] / 1024:.1f} MiB.", ""]
        if r["error_bodies"] or r["errors"]:
            lines += ["Errors: " + json.dumps({"errors": r["errors"], "bodies": r["error_bodies"]}), ""]
        if self.results.get("client_saturated"):
            lines += ["**The client used most of a core: it may be the bottleneck.**", ""]
        text = "\n".join(lines)
        print("\n" + text)
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = RESULTS / f"sessions_api-{now:%Y%m%d-%H%M%S}"
        stem.with_suffix(".md").write_text(text + "\n")
        stem.with_suffix(".json").write_text(json.dumps(self.results, indent=2) + "\n")
        print(f"written: {stem}.md, {stem}.json")


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=100, help="keep-alive connections in all")
    p.add_argument("--processes", type=int, default=1, help="client processes sharing --clients")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring")
    p.add_argument("--rate", type=float, default=0.0,
                   help="open loop: requests due per second in all (0: closed loop)")
    p.add_argument("--request", choices=("sessions", "applications"), default="sessions",
                   help="POST /v1/sessions, or GET /v1/applications (HTTP and auth alone)")
    p.add_argument("--drain-timeout", type=float, default=30.0,
                   help="how long live sessions may take to drain, and history to settle")
    p.add_argument("--settle", type=float, default=5.0,
                   help="idle seconds after the run before RSS is read again")
    p.add_argument("--log-format", default="text", choices=("text", "json"))
    p.add_argument("--keep-work", action="store_true", help="keep the data directory and the log")
    Bench(p.parse_args()).run()


if __name__ == "__main__":
    main()
