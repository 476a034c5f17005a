"""Voicemail: scripts/voicemail.js answers, says a prompt, beeps, records the
caller until ``#`` and reports the recording with ``Net.httpRequestAsync``.

The real-peer test runs ``dialtone run scripts/voicemail.js`` with a local web
server as the report endpoint (its URL in the custom data) and an HTTP TTS
engine whose prompt lasts a known time. A PJSIP caller stays silent through the
prompt and the beep, plays a 700 Hz tone, then presses ``#`` (RFC 4733). The
report must carry the recording's URL, and the recording behind it the tone.

The offline tests run ``dialtone test`` with specs of the report endpoint
failing and of a session without a report URL.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import audio
import harness
from harness import LOOPBACK, SCRIPTS
from mediakit import TtsServer, event_rx, fetch

VOICEMAIL = SCRIPTS / "voicemail.js"

# The prompt the TTS engine returns, and the script's beep that follows it.
PROMPT_S = 1.0
PROMPT_HZ = 400.0
BEEP_HZ = 1000.0
# The tone script "1000@-10;1(.5/0/1)" sounds for 1 s.
BEEP_S = 1.0
# What the caller sends: silence through the prompt and the beep (with room for
# the TTS request and the jitter of both ends), then the tone, then `#`.
TONE_HZ = 700.0
TONE_START_S = PROMPT_S + BEEP_S + 0.6
TONE_S = 2.0
HASH_AT_S = TONE_START_S + TONE_S + 0.3
# The client hangs up by itself only if the script never does.
CLIENT_LIMIT_S = HASH_AT_S + 15.0
# The script's report timeout, and how long the report may take to arrive
# after the hang-up (the recording is closed first).
REPORT_WAIT_S = 15.0


class ReportEndpoint:
    """A web server on loopback that stores every POSTed JSON body and answers
    each with ``status``."""

    def __init__(self, status: int = 200):
        self.status = status
        self.reports: list[dict] = []
        self._cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"unparsed": raw.decode("utf-8", "replace")}
                with outer._cond:
                    outer.reports.append({"path": self.path, "body": body,
                                          "content_type": self.headers.get("Content-Type")})
                    outer._cond.notify_all()
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/report") -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"

    def wait_report(self, timeout: float) -> dict:
        with self._cond:
            if not self._cond.wait_for(lambda: self.reports, timeout):
                raise AssertionError(f"no report reached the endpoint within {timeout:.0f} s")
            return self.reports[0]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


@pytest.fixture
def endpoint():
    server = ReportEndpoint()
    yield server
    server.stop()


def _caller_audio(path):
    """Silence until TONE_START_S, the tone for TONE_S, then silence."""
    rate = 16000
    samples = np.concatenate([
        np.zeros(int(TONE_START_S * rate)),
        audio.tone_samples(TONE_HZ, TONE_S, rate, amplitude=0.5),
        np.zeros(int(3.0 * rate)),
    ])
    return audio.write_wav(path, samples, rate)


def _first_beep_s(path) -> float | None:
    """Start (s) of the first 100 ms window of ``path`` dominated by the beep."""
    samples, rate = audio.read_wav(path)
    step = int(0.1 * rate)
    for start in range(0, len(samples) - step, step):
        window = samples[start:start + step]
        if audio.rms(window) < 0.01:
            continue
        if abs(audio.dominant_frequency(window, rate) - BEEP_HZ) <= 0.03 * BEEP_HZ:
            return start / rate
    return None


def test_message_is_recorded_and_reported(media_dialtone, agent, endpoint, tmp_path):
    prompt = audio.write_tone_wav(tmp_path / "prompt.wav", PROMPT_HZ, PROMPT_S, 16000,
                                  amplitude=0.3)
    with TtsServer(prompt.read_bytes()) as tts:
        d = media_dialtone(VOICEMAIL, tts_engine="http", tts_url=tts.url("/tts"),
                           custom_data=json.dumps({"reportUrl": endpoint.url("/report")}))
        heard = tmp_path / "heard.wav"
        a = agent("call", d.uri("400"), name="alice", codec="PCMU",
                  play=_caller_audio(tmp_path / "caller.wav"), play_once=True, record=heard,
                  dtmf="#", dtmf_delay=HASH_AT_S, duration=CLIENT_LIMIT_S,
                  max_time=CLIENT_LIMIT_S + 20)
        a.wait_event("confirmed", 15)
        ended = a.wait_event("disconnected", CLIENT_LIMIT_S + 5)
        assert ended["connected"], ended
        assert a.find_event("hangup") is None, "the client hung up: # did not end the call"
        assert a.digits("dtmf_sent") == "#", a.describe_events()
        report = endpoint.wait_report(REPORT_WAIT_S)
    assert a.wait_exit(10) == 0

    # The caller heard the beep before it started to talk.
    beep_at = _first_beep_s(heard)
    assert beep_at is not None, f"no {BEEP_HZ:.0f} Hz beep heard: {audio.analyze(heard)}"
    assert PROMPT_S - 0.3 <= beep_at < TONE_START_S, (
        f"beep heard at {beep_at:.2f} s: want after the {PROMPT_S} s prompt and before the "
        f"caller's tone at {TONE_START_S} s")

    # The report: one JSON POST naming the caller, the number called and the recording.
    assert report["path"] == "/report", report
    assert report["content_type"] == "application/json", report
    body = report["body"]
    assert set(body) == {"callerid", "destination", "url", "duration"}, body
    assert body["callerid"] == "alice", body
    assert body["destination"] == "400", body
    url = body["url"]
    assert url.startswith(f"{d.http_base}/recordings/"), body
    d.wait_for(event_rx("Call.RecordStarted") + r".*" + re.escape(url), timeout=1,
               what="RecordStarted with the reported URL")
    d.wait_for(r"voicemail: reported, code 200", timeout=5, what="the report's outcome")
    d.wait_for(event_rx("Application.Terminated"), timeout=5, what="the session's end")
    assert len(endpoint.reports) == 1, endpoint.reports

    # The recording holds the caller's tone (not the prompt or the beep), and
    # its length is what the report says: from the beep's end to the `#`.
    got = fetch(url, tmp_path / "message.wav")
    analysis = audio.assert_tone(got, TONE_HZ, tolerance=0.02, min_rms=0.05, min_seconds=1.5)
    duration = float(body["duration"])
    assert abs(duration - analysis.duration_s) <= 0.3, f"reported {duration} s, file: {analysis}"
    expected = HASH_AT_S - (PROMPT_S + BEEP_S)
    assert expected - 1.0 <= duration <= expected + 0.5, (
        f"reported {duration} s: want about {expected:.1f} s (beep end to #)")
    samples, rate = audio.read_wav(got)
    levels = audio.band_levels(samples, rate, (TONE_HZ, BEEP_HZ, PROMPT_HZ))
    assert levels[BEEP_HZ] < 0.05 and levels[PROMPT_HZ] < 0.05, f"prompt or beep recorded: {levels}"
    d.assert_alive()


# --- offline: the report endpoint failing, no report URL --------------------------------

BASE_SPEC = {
    "call": {"from": "alice", "to": "400"},
    "playback": {"default_ms": 3000, "1000@-10;1(.5/0/1)": 500},
    "events": [{"at": 10000, "dtmf": "#"}],
}
REPORT_URL = "https://voicemail.example.com/report"


def _dialtone_test(tmp_path, spec: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "voicemail.spec.json"
    path.write_text(json.dumps(spec))
    binary = harness.require_dialtone()
    return subprocess.run([str(binary), "test", str(VOICEMAIL), "--spec", str(path)],
                          cwd=str(harness.REPO), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("reply,logged", [
    ({"code": 503, "delay": 200}, "voicemail: report failed with code 503"),
    ({"code": -4}, "/voicemail: report failed with code -4 \\(.+\\)/"),
    ({"code": -7, "delay": 10000}, "/voicemail: report failed with code -7 \\(.+\\)/"),
], ids=["http-503", "connection-error", "timeout"])
def test_a_failed_report_is_logged_and_the_session_ends(tmp_path, reply, logged):
    spec = dict(BASE_SPEC, customData=json.dumps({"reportUrl": REPORT_URL}),
                http={REPORT_URL: reply},
                expect=[{"record": True}, {"hangup": True},
                        {"log": "voicemail: reporting"}, {"http": REPORT_URL},
                        {"log": logged}, {"terminated": True}])
    out = _dialtone_test(tmp_path, spec)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "voicemail: reported, code" not in out.stdout, out.stdout


@pytest.mark.parametrize("custom_data", ["", "not json", '{"other": 1}'],
                         ids=["none", "not-json", "no-reportUrl"])
def test_without_a_report_url_the_message_is_only_logged(tmp_path, custom_data):
    spec = dict(BASE_SPEC, customData=custom_data,
                expect=[{"record": True}, {"hangup": True},
                        {"log": "/voicemail: message sim://recordings/\\S+\\.wav \\(6\\.5 s\\)/"},
                        {"log": "voicemail: no report URL, message not reported"},
                        {"terminated": True}])
    out = _dialtone_test(tmp_path, spec)
    assert out.returncode == 0, out.stdout + out.stderr
    # No request at all: a spec expecting any `Net` request fails on it.
    out = _dialtone_test(tmp_path, dict(spec, expect=[{"http": ""}]))
    assert out.returncode == 1 and 'FAIL  http ""' in out.stdout, out.stdout + out.stderr
