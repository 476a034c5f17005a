"""Fixtures for Dialtone's interop suite (`python3 -m pytest tests -q`).

- ``dialtone``: starts ``dialtone run SCRIPT`` and returns a started
  :class:`harness.Dialtone` (waited for its ``listening`` line);
- ``agent``: starts a PJSIP user agent process (:class:`peers.Agent`);
- ``sipp``: builds a bounded SIPp run (:class:`peers.Sipp`);
- ``ports``: the run's :class:`harness.PortAllocator`.

Everything a test starts is stopped at teardown, even when the test fails; a
dialtone process that died on its own during a test fails that test. When a
test fails, the report carries each dialtone log, each agent's events and
each SIPp run's errors.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import audio
import harness
import mediakit
from harness import PORTS, SCENARIOS, SCRIPTS, SIPP_DIR, TESTS, Dialtone
from peers import SIPP, Agent, Sipp


def pytest_report_header(config):
    path = harness.dialtone_bin()
    lines = [f"dialtone binary: {path} ({'present' if path.exists() else 'MISSING'})"]
    stale = harness.binary_staleness(path)
    if stale:
        lines.append(f"WARNING: {stale}")
    lines.append(f"sipp: {shutil.which(SIPP) or 'MISSING'}")
    return lines


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when in ("setup", "call", "teardown"):
        for title, text in _evidence(item):
            rep.sections.append((title, text))


def _evidence(item):
    for obj in getattr(item, "_dialtone_objects", []):
        if isinstance(obj, Dialtone):
            yield (f"dialtone log: {obj.describe()}", obj.log_text() or "(no output)")
        elif isinstance(obj, Agent):
            yield (f"agent {obj.name}: {' '.join(obj.argv[1:])}",
                   f"{obj.describe_events()}\n--- stderr tail ---\n{obj.stderr_tail(25)}")
        elif isinstance(obj, Sipp) and obj.returncode not in (0, None):
            yield (f"sipp {obj.name}", obj.report())


class _Registry:
    """What one test started, stopped in reverse order at teardown."""

    def __init__(self, request):
        self.objects: list = []
        request.node._dialtone_objects = self.objects

    def add(self, obj):
        self.objects.append(obj)
        return obj

    def teardown(self):
        died = []
        for obj in reversed(self.objects):
            if isinstance(obj, Dialtone):
                if obj.died:
                    died.append(obj)
                obj.stop()
            else:
                obj.stop()
        if died:
            d = died[0]
            pytest.fail(f"dialtone exited on its own during the test (status {d.proc.poll()}); log:\n"
                        f"{harness.tail(d.lines)}", pytrace=False)


@pytest.fixture
def registry(request):
    reg = _Registry(request)
    yield reg
    reg.teardown()


@pytest.fixture
def ports():
    return PORTS


@pytest.fixture
def dialtone(registry, tmp_path):
    """Factory: ``dialtone("scripts/echo.js", custom_data=..., ...)`` -> started Dialtone.

    Paths are taken relative to the repository root. Fails (does not skip)
    when the binary is missing.
    """
    count = [0]

    def start(script, ready_timeout: float = 20.0, **kwargs) -> Dialtone:
        script = Path(script)
        if not script.is_absolute():
            script = harness.REPO / script
        count[0] += 1
        kwargs.setdefault("log_path", tmp_path / f"dialtone{count[0]}.log")
        d = Dialtone(script, **kwargs)
        registry.add(d)
        return d.start(ready_timeout=ready_timeout)

    return start


@pytest.fixture
def media_dialtone(dialtone, tmp_path):
    """Factory like ``dialtone`` plus the media options: an HTTP listener on a
    free loopback port, a data directory under tmp_path, ``--media-dir``
    (tests/media unless given; None leaves it out), ``--tts-url``/``--tts-engine``.
    The Dialtone gets ``http_port``, ``http_base``, ``data_dir``, ``media_dir``."""
    count = [0]

    def start(script, *, media_dir: Path | None = MEDIA, data_dir: Path | None = None,
              tts_url: str | None = None, tts_engine: str | None = None,
              extra_args=(), **kwargs) -> Dialtone:
        count[0] += 1
        http_port = PORTS.sip_port()
        data_dir = data_dir or tmp_path / f"data{count[0]}"
        data_dir.mkdir(parents=True, exist_ok=True)
        args = mediakit.media_args(http_port=http_port, data_dir=data_dir, media_dir=media_dir,
                                   tts_url=tts_url, tts_engine=tts_engine)
        d = dialtone(script, extra_args=[*args, *extra_args], **kwargs)
        d.http_port = http_port
        d.http_base = f"http://{harness.LOOPBACK}:{http_port}"
        d.data_dir = data_dir
        d.media_dir = media_dir
        return d

    return start


@pytest.fixture
def agent(registry, tmp_path):
    """Factory: ``agent("answer", name="b", play=..., record=...)`` -> Agent that is
    listening (its SIP port in ``.port``)."""

    def start(mode: str, *mode_args: str, **kwargs) -> Agent:
        kwargs.setdefault("workdir", tmp_path)
        a = registry.add(Agent(mode, *mode_args, **kwargs))
        a.wait_listening()
        return a

    return start


@pytest.fixture
def sipp(registry, tmp_path):
    """Factory: ``sipp("uac" | Path(xml), "127.0.0.1:5060", calls=..)`` -> Sipp (not started)."""
    count = [0]

    def make(scenario, target, **kwargs) -> Sipp:
        count[0] += 1
        kwargs.setdefault("name", f"sipp{count[0]}")
        kwargs.setdefault("workdir", tmp_path / kwargs["name"])
        if isinstance(scenario, str) and scenario.endswith(".xml") and "/" not in scenario:
            scenario = SIPP_DIR / scenario
        return registry.add(Sipp(scenario, target, **kwargs))

    return make


@pytest.fixture
def tones(tmp_path):
    """Factory for tone files: ``tones.wav(440)``, ``tones.ulaw(1000, workdir)``."""

    class Tones:
        def wav(self, freq: float, seconds: float = 10.0, rate: int = 8000) -> Path:
            return audio.write_tone_wav(tmp_path / f"tone_{int(freq)}_{rate}.wav", freq, seconds, rate)

        def ulaw(self, freq: float, where: Path | None = None, seconds: float = 2.0,
                 name: str = "tone.ulaw") -> Path:
            where = where or tmp_path
            where.mkdir(parents=True, exist_ok=True)
            return audio.write_tone_ulaw(where / name, freq, seconds)

    return Tones()


# Handy paths for test modules.
MEDIA = TESTS / "media"
ECHO = SCRIPTS / "echo.js"
FORWARD = SCRIPTS / "forward.js"
BUSY = SCRIPTS / "busy.js"
SLOW_ANSWER = SCENARIOS / "slow_answer.js"
DTMF_ECHO = SCRIPTS / "dtmf_echo.js"
PLAY = SCRIPTS / "play.js"
RECORD_BRIDGE = SCRIPTS / "record_bridge.js"
SAY = SCENARIOS / "say.js"
RECORD_ECHO = SCENARIOS / "record_echo.js"
MONITOR = SCENARIOS / "monitor.js"
REPLACE = SCENARIOS / "replace.js"
PROGRESS = SCENARIOS / "progress.js"
