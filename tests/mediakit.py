"""Helpers for the media tests (playback, TTS, tones, DTMF, recording).

- HTTP peers on 127.0.0.1 in a thread: :class:`FileServer` (serves files with
  ETag/Last-Modified, answers conditional GETs with 304, counts requests) and
  :class:`TtsServer` (answers POSTed JSON with a WAV, or with an error status);
- :func:`fetch`: GET a URL (a recording) into a file;
- session-log readers for the events media scenarios print, e.g.
  ``... kind=event Call.ToneReceived call=1 tone=5``.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import re
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness import LOOPBACK, Dialtone

# --- HTTP peers ----------------------------------------------------------------------


class _Server:
    """A ThreadingHTTPServer on a free loopback port, with a request journal."""

    def __init__(self, handler_cls):
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        outer = self

        class Handler(handler_cls):
            server_ref = outer

            def log_message(self, fmt, *args):  # keep pytest output clean
                pass

        self.httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.port}/{path.lstrip('/')}"

    def note(self, **entry) -> None:
        with self._cond:
            self.requests.append(entry)
            self._cond.notify_all()

    def wait_requests(self, count: int, timeout: float) -> list[dict]:
        """Block until ``count`` requests were seen (or the timeout); returns the journal."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def describe(self) -> str:
        with self._lock:
            return "\n".join(json.dumps(r) for r in self.requests) or "(no requests)"


class _FileHandler(BaseHTTPRequestHandler):
    server_ref: "FileServer"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        srv = self.server_ref
        name = self.path.split("?", 1)[0].lstrip("/")
        body = srv.files.get(name)
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if body is None:
            srv.note(method="GET", path=name, status=404, inm=inm, ims=ims)
            self.send_error(404)
            return
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if (inm and etag in inm) or (ims and not inm and ims == srv.last_modified):
            srv.note(method="GET", path=name, status=304, inm=inm, ims=ims)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        srv.note(method="GET", path=name, status=200, inm=inm, ims=ims)
        self.send_response(200)
        self.send_header("Content-Type", srv.content_type(name))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", srv.last_modified)
        self.send_header("Cache-Control", "max-age=3600")
        self.end_headers()
        self.wfile.write(body)


class FileServer(_Server):
    """Serves ``{name: bytes}`` over GET. ``full_gets()`` counts 200 responses:
    a client with a working cache sends one (and perhaps conditional GETs)."""

    TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".flac": "audio/flac"}

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.last_modified = email.utils.formatdate(usegmt=True)
        super().__init__(_FileHandler)

    def content_type(self, name: str) -> str:
        return self.TYPES.get(Path(name).suffix, "application/octet-stream")

    def full_gets(self, name: str) -> int:
        return sum(1 for r in self.requests if r["path"] == name and r["status"] == 200)


class _TtsHandler(BaseHTTPRequestHandler):
    server_ref: "TtsServer"

    def do_POST(self):  # noqa: N802
        srv = self.server_ref
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        srv.note(method="POST", path=self.path, status=srv.status,
                 content_type=self.headers.get("Content-Type"), body=body)
        if srv.status != 200:
            self.send_error(srv.status, "synthesis failed on purpose")
            return
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(srv.audio)))
        self.end_headers()
        self.wfile.write(srv.audio)


class TtsServer(_Server):
    """An HTTP TTS engine: every POST gets ``audio`` (a WAV) with ``status`` 200,
    or an error response when ``status`` is not 200."""

    def __init__(self, audio_bytes: bytes = b"", status: int = 200):
        self.audio = audio_bytes
        self.status = status
        super().__init__(_TtsHandler)

    def posts(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST"]


def fetch(url: str, dest: Path, timeout: float = 10.0) -> Path:
    """GET ``url`` into ``dest``; raises on any status but 200."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        assert resp.status == 200, f"GET {url}: {resp.status}"
        dest.write_bytes(resp.read())
    return dest


# --- dialtone with the media options ---------------------------------------------------

def media_args(*, http_port: int, data_dir: Path, media_dir: Path | None,
               tts_url: str | None = None, tts_engine: str | None = None) -> list[str]:
    args = ["--http", f"{LOOPBACK}:{http_port}", "--data-dir", str(data_dir)]
    if media_dir is not None:
        args += ["--media-dir", str(media_dir)]
    if tts_url:
        args += ["--tts-url", tts_url]
    if tts_engine:
        args += ["--tts-engine", tts_engine]
    return args


# --- the session log --------------------------------------------------------------------

def event_rx(name: str) -> str:
    """A regex for a session-log event line, e.g. ``event_rx("Call.RecordStopped")``."""
    return rf"kind=event\s+{re.escape(name)}\b"


TONE_RX = event_rx("Call.ToneReceived") + r".*\btone=\"?([0-9A-Da-d*#])"


def tones_logged(d: Dialtone, start: int = 0) -> str:
    """Every ``Call.ToneReceived`` digit in the log from line ``start``, in order."""
    return "".join(m.group(1) for m in d.find_all(TONE_RX, start))


def wait_tones(d: Dialtone, count: int, timeout: float, start: int = 0) -> str:
    """Wait until ``count`` ToneReceived events were logged (or the timeout); the digits."""
    rx = re.compile(TONE_RX)
    seen = [0]

    def enough(line: str) -> bool:
        if rx.search(line):
            seen[0] += 1
        return seen[0] >= count

    d.pump.wait(enough, timeout, start)
    return tones_logged(d, start)


URL_RX = r"\burl=\"?(https?://[^\s\"]+)"


def record_url(d: Dialtone, event: str = "Call.RecordStopped", timeout: float = 15.0, start: int = 0) -> str:
    m = d.wait_for(event_rx(event) + r".*" + URL_RX, timeout=timeout, start=start,
                   what=f"{event} with a url")
    return m.group(1)


def playback_error_rx() -> str:
    """PlaybackFinished carrying an error (any non-empty error field)."""
    return event_rx("Call.PlaybackFinished") + r".*\berror=\"?(?!(?:null|none|None)\b)[^\s\"]"
