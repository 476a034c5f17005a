"""Process and network helpers for Dialtone's interop tests.

Everything here talks to 127.0.0.1 only, waits on events (a stdout line, a JSON
event, a process exit) with a timeout, and can always be torn down: processes
start in their own session and are stopped with SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
SIPP_DIR = TESTS / "sipp"
SCENARIOS = TESTS / "scenarios"
SCRIPTS = REPO / "scripts"
AGENT = TESTS / "pjsip_agent.py"
LOOPBACK = "127.0.0.1"


def dialtone_bin() -> Path:
    """The binary under test: $DIALTONE_BIN, else target/debug/dialtone."""
    env = os.environ.get("DIALTONE_BIN")
    return Path(env) if env else REPO / "target" / "debug" / "dialtone"


def require_dialtone() -> Path:
    path = dialtone_bin()
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise AssertionError(
            f"dialtone binary not found at {path}: build it first (`cargo build -p dialtone`, "
            f"or `cargo test --workspace`), or point DIALTONE_BIN at it")
    return path


def binary_staleness(path: Path) -> str | None:
    """A warning if any engine source is newer than the binary."""
    try:
        built = path.stat().st_mtime
    except OSError:
        return None
    newest = None
    for src in (REPO / "engine").rglob("*.rs"):
        try:
            if src.stat().st_mtime > built and (newest is None or src.stat().st_mtime > newest[1]):
                newest = (src, src.stat().st_mtime)
        except OSError:
            continue
    if newest:
        return f"{path} is older than {newest[0].relative_to(REPO)}: rebuild before trusting results"
    return None


# --- ports -----------------------------------------------------------------------

def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


class PortAllocator:
    """Free ports on 127.0.0.1 that do not collide within this test run.

    SIP ports must be free on both UDP and TCP (dialtone listens on both).
    RTP blocks are carved below the kernel's ephemeral range, so they never
    meet the ports the kernel hands out for bind(0), and are never handed out
    twice in one run. A random start keeps parallel runs apart.
    """

    def __init__(self, low: int = 10000, high: int | None = None):
        self.low = low
        self.high = min(high or _ephemeral_low(), 65000)
        if self.high - self.low < 2000:  # odd ip_local_port_range: use a fixed band
            self.low, self.high = 40000, 60000
        self._taken: set[int] = set()
        self._lock = threading.Lock()
        self._cursor = random.Random(os.getpid() ^ int(time.time())).randrange(self.low, self.high)

    @staticmethod
    def _udp_free(port: int) -> bool:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((LOOPBACK, port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    @staticmethod
    def _tcp_free(port: int) -> bool:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((LOOPBACK, port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def sip_port(self) -> int:
        """A port free on UDP and TCP, chosen by the kernel."""
        with self._lock:
            for _ in range(200):
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    u.bind((LOOPBACK, 0))
                    port = u.getsockname()[1]
                    if port in self._taken or not self._tcp_free(port):
                        continue
                    self._taken.add(port)
                    return port
                finally:
                    u.close()
        raise RuntimeError("no port free on both UDP and TCP")

    def udp_port(self) -> int:
        with self._lock:
            for _ in range(200):
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    u.bind((LOOPBACK, 0))
                    port = u.getsockname()[1]
                    if port not in self._taken:
                        self._taken.add(port)
                        return port
                finally:
                    u.close()
        raise RuntimeError("no free UDP port")

    def block(self, size: int) -> tuple[int, int]:
        """An even-aligned block [lo, hi] of ``size`` UDP ports, all free now."""
        size += size % 2
        span = self.high - self.low
        with self._lock:
            for _ in range(span // size + 1):
                lo = self._cursor - (self._cursor - self.low) % 2
                if lo + size > self.high:
                    lo = self.low
                self._cursor = lo + size
                ports = range(lo, lo + size)
                if any(p in self._taken for p in ports):
                    continue
                if all(self._udp_free(p) for p in ports):
                    self._taken.update(ports)
                    return lo, lo + size - 1
        raise RuntimeError(f"no free block of {size} UDP ports in {self.low}-{self.high}")


PORTS = PortAllocator()


def udp_socket_queue(port: int, ip: str = LOOPBACK) -> tuple[int, int] | None:
    """(rx_queue bytes, drops) of the UDP socket bound to ip:port, from
    /proc/net/udp; None when no such socket exists. A socket that nobody reads
    (SIPp's media socket while it only streams) fills up with what peers send."""
    want_ip = "".join(f"{int(b):02X}" for b in reversed(ip.split(".")))
    want = f"{want_ip}:{port:04X}"
    try:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        f = line.split()
        if len(f) >= 13 and f[1] == want:
            rx = int(f[4].split(":")[1], 16)
            return rx, int(f[12])
    return None


# --- line-oriented process output --------------------------------------------------

class LinePump:
    """Reads a text stream in a thread into a list; waiters block on a condition."""

    def __init__(self, stream, transform: Callable[[str], object] | None = None, tee=None):
        self.lines: list = []
        self.raw: list[str] = []
        self.eof = False
        self._cond = threading.Condition()
        self._transform = transform
        self._tee = tee
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream) -> None:
        try:
            for line in stream:
                line = line.rstrip("\r\n")
                item = self._transform(line) if self._transform else line
                if self._tee is not None:
                    try:
                        self._tee.write(line + "\n")
                        self._tee.flush()
                    except (OSError, ValueError):
                        pass
                with self._cond:
                    self.raw.append(line)
                    if item is not None:
                        self.lines.append(item)
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self.eof = True
                self._cond.notify_all()

    def wait(self, predicate: Callable[[object], object], timeout: float, start: int = 0):
        """First (index, result) with a truthy predicate(item) at or after ``start``;
        None on timeout or when the stream ends without one."""
        deadline = time.monotonic() + timeout
        i = start
        with self._cond:
            while True:
                while i < len(self.lines):
                    r = predicate(self.lines[i])
                    if r:
                        return i, r
                    i += 1
                if self.eof:
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.25))

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


def _stop_process(proc: subprocess.Popen, term_timeout: float = 5.0) -> int | None:
    """SIGTERM the process group, then SIGKILL it. Returns the exit status."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(term_timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
    else:
        # The leader is gone; make sure no child of it lingers.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return proc.poll()


def tail(lines: Iterable[str], n: int = 60) -> str:
    lines = list(lines)
    head = f"... ({len(lines) - n} earlier lines)\n" if len(lines) > n else ""
    return head + "\n".join(lines[-n:])


# --- dialtone ----------------------------------------------------------------------

class Dialtone:
    """``dialtone run SCRIPT --sip 127.0.0.1:PORT ...`` with its stdout captured.

    Use as a context manager, or start()/stop(). ``wait_for`` blocks on a regex
    over stdout lines; every failure message carries the tail of the log.
    """

    def __init__(self, script: str | os.PathLike, *, sip_port: int | None = None,
                 rtp_ports: tuple[int, int] | None = None, rtp_size: int = 200,
                 custom_data: str | None = None, log_format: str = "text",
                 extra_args: Iterable[str] = (), env: dict | None = None,
                 binary: Path | None = None, log_path: Path | None = None):
        self.script = Path(script)
        self.binary = binary or require_dialtone()
        self.sip_port = sip_port or PORTS.sip_port()
        self.rtp_ports = rtp_ports or PORTS.block(rtp_size)
        self.custom_data = custom_data
        self.log_format = log_format
        self.extra_args = list(extra_args)
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.pump: LinePump | None = None
        self._log_file = None
        self.stopped_by_us = False
        self.ready = False
        self.exit_status: int | None = None

    # -- lifecycle ------------------------------------------------------------------
    @property
    def argv(self) -> list[str]:
        argv = [str(self.binary), "run", str(self.script),
                "--sip", f"{LOOPBACK}:{self.sip_port}",
                "--rtp-ports", f"{self.rtp_ports[0]}-{self.rtp_ports[1]}",
                "--log-format", self.log_format]
        if self.custom_data is not None:
            argv += ["--custom-data", self.custom_data]
        return argv + self.extra_args

    @property
    def sip_uri_host(self) -> str:
        return f"{LOOPBACK}:{self.sip_port}"

    def uri(self, user: str = "test", transport: str = "udp") -> str:
        suffix = ";transport=tcp" if transport == "tcp" else ""
        return f"sip:{user}@{LOOPBACK}:{self.sip_port}{suffix}"

    def start(self, ready_timeout: float = 20.0) -> "Dialtone":
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        if self.env:
            env.update(self.env)
        if self.log_path is not None:
            self._log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            self.argv, cwd=str(REPO), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1, errors="replace",
            start_new_session=True, env=env)
        self.pump = LinePump(self.proc.stdout, tee=self._log_file)
        try:
            self.wait_for(r"listening", timeout=ready_timeout, what="the 'listening' line")
        except AssertionError:
            self.stop()
            raise
        self.ready = True
        return self

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.stopped_by_us = True
        self.exit_status = _stop_process(self.proc)
        if self.pump:
            self.pump.join(2.0)
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        return self.exit_status

    @property
    def died(self) -> bool:
        """True when the process ended without us stopping it."""
        return (self.ready and self.proc is not None and not self.stopped_by_us
                and self.proc.poll() is not None)

    def __enter__(self) -> "Dialtone":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- observation ----------------------------------------------------------------
    @property
    def lines(self) -> list[str]:
        return list(self.pump.lines) if self.pump else []

    def log_text(self) -> str:
        return "\n".join(self.lines)

    def mark(self) -> int:
        """Index to pass as ``start`` to wait_for: only later lines count."""
        return len(self.pump.lines) if self.pump else 0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def assert_alive(self) -> None:
        if not self.alive():
            code = self.proc.poll() if self.proc else None
            raise AssertionError(
                f"dialtone is not running (exit status {code}); log:\n{tail(self.lines)}")

    def wait_for(self, pattern: str, timeout: float = 10.0, start: int = 0,
                 what: str | None = None) -> re.Match:
        """The first stdout line (from index ``start``) matching ``pattern``."""
        rx = re.compile(pattern)
        hit = self.pump.wait(lambda line: rx.search(line), timeout, start)
        if hit is None:
            if self.alive():
                why = f"within {timeout:.0f} s"
            else:
                why = f"before it exited with status {self.proc.poll()}"
            raise AssertionError(
                f"dialtone printed no line matching {what or repr(pattern)} {why}; "
                f"log:\n{tail(self.lines) or '(no output)'}")
        return hit[1]

    def find_all(self, pattern: str, start: int = 0) -> list[re.Match]:
        rx = re.compile(pattern)
        return [m for m in (rx.search(line) for line in self.lines[start:]) if m]

    def describe(self) -> str:
        return " ".join(self.argv)


# --- PJSIP agent -------------------------------------------------------------------

def _json_or_none(line: str):
    if not line.startswith("{"):
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None


class Agent:
    """tests/pjsip_agent.py in its own process; JSON events from its stdout."""

    def __init__(self, mode: str, *mode_args: str, name: str = "agent", workdir: Path,
                 play: Path | None = None, record: Path | None = None,
                 codec: str | Iterable[str] | None = None, duration: float | None = None,
                 max_time: float = 60.0, transport: str = "udp", port: int = 0,
                 no_telephone_event: bool = False, extra: Iterable[str] = (),
                 mode_opts: Iterable[str] = ()):
        self.name = name
        self.workdir = Path(workdir)
        rtp_lo, _ = PORTS.block(20)
        argv = [sys.executable, str(AGENT), "--port", str(port), "--transport", transport,
                "--user", name, "--rtp-port", str(rtp_lo), "--rtp-port-range", "20",
                "--max-time", str(max_time)]
        if play:
            argv += ["--play", str(play)]
        if record:
            argv += ["--record", str(record)]
        if isinstance(codec, str):
            codec = [codec]
        for c in codec or ():
            argv += ["--codec", c]
        if duration is not None:
            argv += ["--duration", str(duration)]
        if no_telephone_event:
            argv.append("--no-telephone-event")
        argv += list(extra)
        argv += [mode, *mode_opts, *mode_args]
        self.argv = argv
        self.record = record
        self.max_time = max_time
        self.stderr_path = self.workdir / f"{name}.stderr.log"
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(argv, cwd=str(self.workdir), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     bufsize=1, start_new_session=True)
        self.pump = LinePump(self.proc.stdout, transform=_json_or_none)
        self.port: int | None = None

    @property
    def events(self) -> list[dict]:
        return list(self.pump.lines)

    def wait_event(self, event: str, timeout: float = 10.0, start: int = 0, **match) -> dict:
        def pred(e):
            return e.get("event") == event and all(e.get(k) == v for k, v in match.items())

        hit = self.pump.wait(pred, timeout, start)
        if hit is None:
            raise AssertionError(
                f"{self.name}: no {event!r} event{' with ' + repr(match) if match else ''} "
                f"within {timeout:.0f} s; events:\n{self.describe_events()}\n"
                f"stderr tail:\n{self.stderr_tail()}")
        return self.pump.lines[hit[0]]

    def find_event(self, event: str) -> dict | None:
        for e in self.events:
            if e.get("event") == event:
                return e
        return None

    def wait_listening(self, timeout: float = 15.0) -> int:
        self.port = int(self.wait_event("listening", timeout)["port"])
        return self.port

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name}: still running after {timeout:.0f} s; events:\n"
                f"{self.describe_events()}") from None

    def stop(self) -> None:
        _stop_process(self.proc)
        self.pump.join(2.0)
        try:
            self._stderr.close()
        except OSError:
            pass

    def describe_events(self) -> str:
        out = []
        for e in self.events:
            e = dict(e)
            if "msg" in e:
                e["msg"] = e["msg"][:200] + "..."
            out.append(json.dumps(e))
        return "\n".join(out) or "(none)"

    def stderr_tail(self, n: int = 40) -> str:
        try:
            return tail(self.stderr_path.read_text(errors="replace").splitlines(), n)
        except OSError:
            return "(no stderr)"


# --- SIPp ----------------------------------------------------------------------------

SIPP = os.environ.get("SIPP_BIN", "sipp")


class Sipp:
    """One SIPp run. ``scenario`` is a built-in name (``uac``) or an XML path.

    Every run is bounded: ``-m`` calls, ``-timeout`` with ``-timeout_error``,
    per-message timeouts in our XML, and a hard kill past the timeout.
    Trace files land in ``workdir``.
    """

    def __init__(self, scenario: str | Path, target: str | None, *, workdir: Path,
                 transport: str = "u1", calls: int = 1, rate: float = 10, limit: int | None = None,
                 timeout_s: float = 30.0, service: str | None = None, duration_ms: int | None = None,
                 local_port: int | None = None, media_port: int | None = None,
                 extra: Iterable[str] = (), name: str = "sipp"):
        self.name = name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.media_port = media_port or PORTS.block(4)[0]
        self.control_port = PORTS.udp_port()
        self.timeout_s = timeout_s
        argv = [SIPP]
        if target:
            argv.append(target)
        if isinstance(scenario, Path) or str(scenario).endswith(".xml"):
            argv += ["-sf", str(scenario)]
            self.scenario_name = Path(scenario).stem
        else:
            argv += ["-sn", str(scenario)]
            self.scenario_name = str(scenario)
        argv += ["-i", LOOPBACK, "-mi", LOOPBACK, "-ci", LOOPBACK,
                 "-cp", str(self.control_port), "-mp", str(self.media_port),
                 "-t", transport, "-m", str(calls), "-r", str(rate),
                 "-timeout", f"{int(timeout_s)}s", "-timeout_error",
                 "-trace_err", "-trace_screen", "-nostdin", "-max_recv_loops", "1000"]
        if limit:
            argv += ["-l", str(limit)]
        if service:
            argv += ["-s", service]
        if duration_ms is not None:
            argv += ["-d", str(duration_ms)]
        # SIPp's own default local port is 5060 when free: never let it pick.
        self.local_port = local_port or PORTS.sip_port()
        argv += ["-p", str(self.local_port)]
        argv += list(extra)
        self.argv = argv
        self.proc: subprocess.Popen | None = None
        self.stdout = ""
        self.returncode: int | None = None

    def start(self) -> "Sipp":
        self._out = open(self.workdir / f"{self.name}.stdout.log", "w")
        self.proc = subprocess.Popen(self.argv, cwd=str(self.workdir), stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    def wait(self, timeout: float | None = None) -> int:
        timeout = timeout if timeout is not None else self.timeout_s + 15
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop_process(self.proc)
            self.returncode = self.proc.poll()
            self._finish()
            raise AssertionError(f"{self.name}: SIPp did not exit within {timeout:.0f} s\n"
                                 f"{self.report()}") from None
        self._finish()
        return self.returncode

    def run(self) -> int:
        return self.start().wait()

    def _finish(self) -> None:
        try:
            self._out.close()
        except (OSError, AttributeError):
            pass
        try:
            self.stdout = (self.workdir / f"{self.name}.stdout.log").read_text(errors="replace")
        except OSError:
            self.stdout = ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            _stop_process(self.proc)
            self.returncode = self.proc.poll()
            self._finish()

    def trace_files(self, suffix: str) -> list[Path]:
        pid = self.proc.pid if self.proc else "*"
        return sorted(self.workdir.glob(f"{self.scenario_name}_{pid}_{suffix}"))

    def _read(self, suffix: str, limit: int = 6000) -> str:
        chunks = []
        for p in self.trace_files(suffix):
            text = p.read_text(errors="replace")
            chunks.append(f"--- {p.name} ---\n{text[-limit:]}")
        return "\n".join(chunks)

    def report(self) -> str:
        return (f"$ {' '.join(self.argv)}\n(exit status {self.returncode})\n"
                f"{self._read('errors.log')}\n{self._read('screen.log', 3000)}\n"
                f"--- output tail ---\n{self.stdout[-2000:]}")

    def assert_ok(self) -> None:
        assert self.returncode == 0, f"{self.name}: SIPp reported failed calls\n{self.report()}"

    def counts(self) -> dict[str, int]:
        """Successful/failed call counts from the final screen."""
        text = self._read("screen.log", 100000)
        out = {}
        for key in ("Successful call", "Failed call"):
            m = re.findall(rf"{key}\s*\|\s*\d+\s*\|\s*(\d+)", text)
            if m:
                out[key] = int(m[-1])
        return out


# --- raw SIP over sockets (for the malformed-input tests) ----------------------------

class RawSip:
    """A bare UDP or TCP socket on 127.0.0.1 that sends bytes and reads SIP responses."""

    def __init__(self, transport: str, target: tuple[str, int]):
        self.transport = transport
        self.target = target
        if transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((LOOPBACK, 0))
        else:
            self.sock = socket.create_connection(target, timeout=5)
        self.port = self.sock.getsockname()[1]
        self._buf = b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data: bytes) -> None:
        if self.transport == "udp":
            self.sock.sendto(data, self.target)
        else:
            self.sock.sendall(data)

    def recv_response(self, timeout: float = 2.0) -> "SipResponse | None":
        """The next SIP response, None on timeout; raises EOFError when a TCP
        peer closes the connection."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            if self.transport == "udp":
                try:
                    data, _ = self.sock.recvfrom(65535)
                except socket.timeout:
                    return None
                resp = SipResponse.parse(data)
                if resp is not None:
                    return resp
                continue
            msg = self._take_tcp_message()
            if msg is not None:
                resp = SipResponse.parse(msg)
                if resp is not None:
                    return resp
                continue
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                return None
            except ConnectionResetError:
                raise EOFError("connection reset") from None
            if not data:
                raise EOFError("connection closed")
            self._buf += data

    def _take_tcp_message(self) -> bytes | None:
        while self._buf.startswith(b"\r\n"):
            self._buf = self._buf[2:]  # keep-alives
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self._buf[:end + 4]
        m = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
        length = int(m.group(1)) if m else 0
        if len(self._buf) < end + 4 + length:
            return None
        msg, self._buf = self._buf[:end + 4 + length], self._buf[end + 4 + length:]
        return msg

    def final_response(self, timeout: float = 5.0) -> "SipResponse | None":
        """Skip provisional responses; the first final one or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r = self.recv_response(left)
            if r is None or r.code >= 200:
                return r


class SipResponse:
    def __init__(self, code: int, reason: str, headers: list[tuple[str, str]], body: bytes, raw: bytes):
        self.code = code
        self.reason = reason
        self.headers = headers
        self.body = body
        self.raw = raw

    COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
               "l": "content-length", "c": "content-type", "k": "supported"}

    @classmethod
    def parse(cls, data: bytes) -> "SipResponse | None":
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        m = re.match(r"SIP/2\.0\s+(\d{3})\s*(.*)", lines[0])
        if not m:
            return None
        headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:
                name, value = headers[-1]
                headers[-1] = (name, value + " " + line.strip())
                continue
            name, sep, value = line.partition(":")
            if sep:
                n = name.strip().lower()
                headers.append((cls.COMPACT.get(n, n), value.strip()))
        return cls(int(m.group(1)), m.group(2), headers, body, data)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def __repr__(self) -> str:
        return f"<SIP {self.code} {self.reason}>"


def sip_request(method: str, *, target: tuple[str, int], local_port: int, transport: str = "udp",
                user: str = "test", call_id: str | None = None, cseq: int = 1,
                from_tag: str | None = None, to_tag: str | None = None,
                body: bytes = b"", content_type: str | None = None,
                extra_headers: Iterable[str] = (), content_length: str | None = None,
                request_line: str | None = None) -> bytes:
    """A SIP request as bytes. ``content_length`` overrides the computed value
    (to lie about it); ``request_line`` replaces the first line."""
    host, port = target
    tp = transport.upper()
    call_id = call_id or f"{random.getrandbits(64):016x}@{LOOPBACK}"
    from_tag = from_tag or f"{random.getrandbits(32):08x}"
    branch = f"z9hG4bK{random.getrandbits(64):016x}"
    ruri = f"sip:{user}@{host}:{port}" + (";transport=tcp" if transport == "tcp" else "")
    lines = [
        request_line or f"{method} {ruri} SIP/2.0",
        f"Via: SIP/2.0/{tp} {LOOPBACK}:{local_port};rport;branch={branch}",
        "Max-Forwards: 70",
        f"From: <sip:tester@{LOOPBACK}:{local_port}>;tag={from_tag}",
        f"To: <sip:{user}@{host}:{port}>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:tester@{LOOPBACK}:{local_port}" + (";transport=tcp" if transport == "tcp" else "") + ">",
    ]
    lines += list(extra_headers)
    if body and content_type:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {content_length if content_length is not None else len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def pcmu_offer(media_port: int = 40000) -> bytes:
    return (
        "v=0\r\n"
        f"o=tester 1 1 IN IP4 {LOOPBACK}\r\n"
        "s=-\r\n"
        f"c=IN IP4 {LOOPBACK}\r\n"
        "t=0 0\r\n"
        f"m=audio {media_port} RTP/AVP 0\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=sendrecv\r\n").encode()


# --- waiting on socket state -----------------------------------------------------------

def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy (returned) or the
    timeout passes (None). For state that has no event to block on, such as a
    kernel socket table."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def tcp_listening(port: int, ip: str = LOOPBACK) -> bool:
    want_ip = "".join(f"{int(b):02X}" for b in reversed(ip.split(".")))
    wanted = {f"{want_ip}:{port:04X}", f"00000000:{port:04X}"}
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(len(f) > 3 and f[1] in wanted and f[3] == "0A" for f in (ln.split() for ln in lines))


def udp_bound(port: int, ip: str = LOOPBACK) -> bool:
    return udp_socket_queue(port, ip) is not None or udp_socket_queue(port, "0.0.0.0") is not None


def wait_bound(port: int, transport: str = "udp", timeout: float = 10.0) -> None:
    check = (lambda: tcp_listening(port)) if transport.startswith("t") else (lambda: udp_bound(port))
    if not wait_until(check, timeout):
        raise AssertionError(f"nothing bound {transport} port {port} within {timeout:.0f} s")


def wait_rtp_back(media_port: int, timeout: float, still_running: Callable[[], bool] = lambda: True) -> bool:
    """True once the unread media socket on ``media_port`` has received data."""
    def got():
        if not still_running():
            return "stopped"
        q = udp_socket_queue(media_port)
        return q is not None and (q[0] > 0 or q[1] > 0)

    return wait_until(got, timeout) is True
