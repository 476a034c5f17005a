"""Interop peers as processes: the PJSIP agent and SIPp runs.

Both are started in their own session, bounded in time, stopped with SIGTERM
then SIGKILL, and can describe what they saw for a failure report.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterable

from harness import AGENT, LOOPBACK, PORTS, LinePump, _stop_process, tail


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
                 mode_opts: Iterable[str] = (), play_once: bool = False,
                 dtmf: str | None = None, dtmf_method: str = "rfc2833",
                 dtmf_delay: float | None = None, dtmf_gap: float | None = None,
                 control: bool = False, register: str | None = None,
                 registrar: str | None = None, password: str = "",
                 reg_expires: int | None = None):
        self.name = name
        self.workdir = Path(workdir)
        # Given back when the agent is stopped: leaked small blocks would
        # fragment the range until no server's block fits.
        self._rtp_block: tuple[int, int] | None = PORTS.block(20)
        rtp_lo = self._rtp_block[0]
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
        if play_once:
            argv.append("--play-once")
        if dtmf:
            argv += ["--dtmf", dtmf, "--dtmf-method", dtmf_method]
            if dtmf_delay is not None:
                argv += ["--dtmf-delay", str(dtmf_delay)]
            if dtmf_gap is not None:
                argv += ["--dtmf-gap", str(dtmf_gap)]
        if control:
            argv.append("--control")
        if register:
            argv += ["--register", register, "--registrar", registrar or "", "--password", password]
            if reg_expires is not None:
                argv += ["--reg-expires", str(reg_expires)]
        argv += list(extra)
        argv += [mode, *mode_opts, *mode_args]
        self.argv = argv
        self.record = record
        self.max_time = max_time
        self.stderr_path = self.workdir / f"{name}.stderr.log"
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(argv, cwd=str(self.workdir),
                                     stdin=subprocess.PIPE if control else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     bufsize=1, start_new_session=True)
        self.pump = LinePump(self.proc.stdout, transform=_json_or_none)
        self.port: int | None = None

    def command(self, line: str) -> None:
        """Send one ``--control`` command (``dtmf 12``, ``hangup``); the agent
        answers with a ``command`` event."""
        if self.proc.stdin is None:
            raise AssertionError(f"{self.name}: started without control=True")
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise AssertionError(f"{self.name}: cannot send {line!r}: {exc}; events:\n"
                                 f"{self.describe_events()}") from None

    def run(self, line: str, timeout: float = 10.0) -> float:
        """Sends a ``--control`` command and waits until the agent has carried
        it out; returns the agent's time (``t``) of it."""
        start = len(self.events)
        self.command(line)
        ack = self.wait_event("command", timeout, start=start, command=line)
        if not ack.get("ok"):
            raise AssertionError(f"{self.name}: {line!r} failed: {ack}")
        return ack["t"]

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

    def digits(self, event: str = "dtmf") -> str:
        """The digits of every ``dtmf`` (received) or ``dtmf_sent`` event, in order."""
        return "".join(str(e.get("digit", "")) for e in self.events if e.get("event") == event)

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
        if self._rtp_block and self.proc.poll() is not None:
            PORTS.release(self._rtp_block)
            self._rtp_block = None
        self.pump.join(2.0)
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
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
        self._media_block = None if media_port else PORTS.block(4)
        self.media_port = media_port or self._media_block[0]
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
        if self._media_block and (self.proc is None or self.proc.poll() is not None):
            PORTS.release(self._media_block)
            self._media_block = None

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
