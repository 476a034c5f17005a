"""Process and network helpers for Dialtone's interop tests.

Everything here talks to 127.0.0.1 only, waits on events (a stdout line, a JSON
event, a process exit) with a timeout, and can always be torn down: processes
start in their own session and are stopped with SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import os
import tempfile
import random
import re
import shutil
import signal
import socket
import subprocess
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
    meet the ports the kernel hands out for bind(0). A block is handed out once
    per pass over the range: a dialtone's block comes back when it has stopped,
    and is reused only after the cursor has gone round. A random start keeps
    parallel runs apart.
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

    def release(self, block: tuple[int, int]) -> None:
        """Gives a block back once nothing uses it. It is handed out again only
        after the cursor has gone round the whole range, so a late packet of a
        finished test cannot reach the next one's sockets."""
        with self._lock:
            self._taken.difference_update(range(block[0], block[1] + 1))


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
                 binary: Path | None = None, log_path: Path | None = None,
                 sip_bind: str = LOOPBACK):
        self.script = Path(script)
        self.sip_bind = sip_bind
        self.binary = binary or require_dialtone()
        self.sip_port = sip_port or PORTS.sip_port()
        # A block this instance took itself goes back to the pool when it stops.
        self._own_rtp_block = rtp_ports is None
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
        self._data_dir: str | None = None

    # -- lifecycle ------------------------------------------------------------------
    @property
    def argv(self) -> list[str]:
        argv = [str(self.binary), "run", str(self.script),
                "--sip", f"{self.sip_bind}:{self.sip_port}",
                "--rtp-ports", f"{self.rtp_ports[0]}-{self.rtp_ports[1]}",
                "--log-format", self.log_format]
        if self.custom_data is not None:
            argv += ["--custom-data", self.custom_data]
        if "--data-dir" not in self.extra_args:
            # Keep recordings and caches out of the working tree.
            if self._data_dir is None:
                self._data_dir = tempfile.mkdtemp(prefix="dialtone-data-")
            argv += ["--data-dir", self._data_dir]
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
        if self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None
        if self._own_rtp_block and self.proc.poll() is not None:
            PORTS.release(self.rtp_ports)
            self._own_rtp_block = False
        return self.exit_status

    def kill_hard(self) -> int | None:
        """SIGKILL the whole process group now (a crash, as far as files on disk
        can tell). Counts as stopped by us."""
        if self.proc is None:
            return None
        self.stopped_by_us = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        return self.proc.poll()

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
