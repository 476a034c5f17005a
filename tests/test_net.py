"""Net.httpRequestAsync end to end: scripts/webhook.js POSTs the caller's
number to a local web server during a real PJSIP call, and logs the answer or
VoxEngine's failure code (closed port, timeout, body over 2 MB)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import LOOPBACK, SCRIPTS

WEBHOOK = SCRIPTS / "webhook.js"
# webhook.js asks for a 5 s timeout.
SCRIPT_TIMEOUT_S = 5


class _Server:
    """A web server on loopback whose answer per path is set by the test.

    Paths: ``/hook`` answers ``Hello <callerid>`` as text, ``/slow`` waits
    past the script's timeout, ``/big`` sends a body over 2 MB."""

    def __init__(self):
        self.posts: list[dict] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                outer.posts.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                    "body": body})
                if self.path == "/slow":
                    # Held until the test is over; the script gives up first.
                    outer.release.wait(SCRIPT_TIMEOUT_S + 10)
                    return
                if self.path == "/big":
                    chunk = b"x" * 65536
                    self.send_response(200)
                    self.send_header("Content-Length", str(2 * 1024 * 1024 + len(chunk)))
                    self.end_headers()
                    try:
                        for _ in range(2 * 1024 * 1024 // len(chunk) + 1):
                            self.wfile.write(chunk)
                    except OSError:
                        pass
                    return
                try:
                    who = json.loads(body)["callerid"]
                except (ValueError, KeyError, TypeError):
                    who = "?"
                text = f"Hello {who}".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

        self.httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def web():
    server = _Server()
    yield server
    server.stop()


def _closed_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((LOOPBACK, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _call(dialtone, agent, url: str, name: str = "alice"):
    d = dialtone(WEBHOOK, custom_data=url)
    a = agent("call", d.uri("hook"), name=name, duration=20, max_time=40)
    a.wait_event("confirmed", 15)
    return d, a


def test_webhook_posts_the_callerid_and_logs_the_answer(dialtone, agent, web):
    d, a = _call(dialtone, agent, web.url("/hook"), name="alice")
    d.wait_for(r"webhook: 200 Hello alice", timeout=10, what="the web server's answer in the log")
    # The script hangs up once the answer is said (or its playback failed).
    ended = a.wait_event("disconnected", 15)
    assert ended["connected"], ended
    assert len(web.posts) == 1, web.posts
    post = web.posts[0]
    assert post["path"] == "/hook"
    assert post["content_type"] == "application/json"
    assert json.loads(post["body"]) == {"callerid": "alice"}
    d.assert_alive()


def test_a_closed_port_gives_a_negative_code(dialtone, agent):
    d, a = _call(dialtone, agent, f"http://{LOOPBACK}:{_closed_port()}/hook")
    d.wait_for(r"webhook: failed with code -4\b", timeout=10, what="the connection error code")
    a.wait_event("disconnected", 15)
    d.assert_alive()


def test_a_slow_server_gives_the_timeout_code(dialtone, agent, web):
    d, a = _call(dialtone, agent, web.url("/slow"))
    m = d.wait_for(r"webhook: failed with code -7\b", timeout=SCRIPT_TIMEOUT_S + 10,
                   what="the timeout code")
    print(m.string)
    a.wait_event("disconnected", 15)
    assert [p["path"] for p in web.posts] == ["/slow"]
    d.assert_alive()


def test_a_body_over_2_mb_gives_the_too_large_code(dialtone, agent, web):
    d, a = _call(dialtone, agent, web.url("/big"))
    d.wait_for(r"webhook: failed with code -9\b", timeout=10, what="the too-large code")
    a.wait_event("disconnected", 15)
    d.assert_alive()
