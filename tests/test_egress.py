"""The egress policy under ``dialtone serve``: a tenant's scenario cannot reach
Dialtone's own listeners (``/metrics`` on the HTTP port, its SIP port), cloud
metadata (169.254.169.254) or loopback servers nobody allowed — by address, by
a name that resolves there, or through a redirect — with ``Net``, a URL player
or ``callSIP``; a local server the operator allow-listed works.

Nothing here leaves the machine: every denied destination is refused before a
packet is sent, which the counters of the local servers confirm."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import audio
from harness import LOOPBACK
from test_serve import call, start_serve

SCENARIO = r"""
// Tries every destination in customData in turn and logs what became of it.
function player(url) {
  return new Promise(function (resolve) {
    var p = VoxEngine.createURLPlayer(url);
    p.addEventListener(PlayerEvents.PlaybackReady, function () { p.stop(); resolve("ready"); });
    p.addEventListener(PlayerEvents.PlaybackFinished, function (e) { resolve("failed " + e.error); });
  });
}

function dial(to) {
  return new Promise(function (resolve) {
    var c = VoxEngine.callSIP(to);
    c.addEventListener(CallEvents.Failed, function (e) { resolve(e.code + " " + e.reason); });
    c.addEventListener(CallEvents.Connected, function () { c.hangup(); resolve("connected"); });
  });
}

VoxEngine.addEventListener(AppEvents.Started, async function (e) {
  var data = JSON.parse(e.customData);
  for (var i = 0; i < data.urls.length; i++) {
    var r = await Net.httpRequestAsync(data.urls[i], { timeout: 5 });
    Logger.write("egress net " + i + " " + r.code + " " + (r.error || r.text));
  }
  for (var j = 0; j < data.players.length; j++) {
    Logger.write("egress play " + j + " " + (await player(data.players[j])));
  }
  for (var k = 0; k < data.calls.length; k++) {
    Logger.write("egress sip " + k + " " + (await dial(data.calls[k])));
  }
  Logger.write("egress done");
  VoxEngine.terminate();
});
"""


class _Web:
    """A web server on loopback: ``/ok`` says hello, ``/tone.wav`` is a WAV,
    ``/redirect`` sends to ``redirect_to``. Every request is journalled."""

    def __init__(self, wav: bytes):
        self.paths: list[str] = []
        self.redirect_to = ""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 (http.server's naming)
                outer.paths.append(self.path)
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", outer.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body, ctype = (wav, "audio/wav") if self.path == "/tone.wav" else (b"hello", "text/plain")
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = LOOPBACK) -> str:
        return f"http://{host}:{self.port}{path}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def web(tmp_path):
    wav = audio.write_tone_wav(tmp_path / "tone.wav", 440.0, 0.5).read_bytes()
    allowed, denied = _Web(wav), _Web(wav)
    yield allowed, denied
    allowed.stop()
    denied.stop()


def test_a_scenario_reaches_only_what_the_operator_allowed(registry, tmp_path, web):
    allowed, denied = web
    allowed.redirect_to = denied.url("/ok")
    d = start_serve(registry, tmp_path, egress_allow=f"{LOOPBACK}:{allowed.port}")
    status, acct = call(d, "POST", "/v1/accounts", {"name": "tenant"})
    assert status == 201, acct
    key = acct["apiKey"]
    assert call(d, "PUT", "/v1/applications/app", key=key)[0] in (200, 201)
    status, saved = call(d, "PUT", "/v1/applications/app/scenarios/egress", SCENARIO,
                         "application/javascript", key)
    assert status == 201, saved

    urls = [
        f"http://{LOOPBACK}:{d.http_port}/metrics",   # Dialtone's own HTTP listener
        "http://169.254.169.254/latest/meta-data/",   # cloud metadata
        allowed.url("/ok"),                            # allow-listed
        denied.url("/ok", host="localhost"),           # a name that resolves to loopback
        allowed.url("/redirect"),                      # allowed, redirecting to a denied port
    ]
    players = [allowed.url("/tone.wav"), denied.url("/tone.wav")]
    calls = [f"sip:loop@{LOOPBACK}:{d.sip_port}", "sip:meta@169.254.169.254"]
    mark = d.mark()
    status, started = call(d, "POST", "/v1/sessions", {
        "application": "app", "scenario": "egress",
        "customData": {"urls": urls, "players": players, "calls": calls},
    }, key=key)
    assert status == 201, started
    d.wait_for(r"egress done", timeout=30, start=mark)

    def line(kind: str, n: int) -> str:
        return d.wait_for(rf"egress {kind} {n} (.*)$", timeout=1, start=mark).group(1)

    own = line("net", 0)
    assert own.startswith("-4 denied by the egress policy: ") and "own listeners" in own, own
    metadata = line("net", 1)
    assert metadata == ("-4 denied by the egress policy: 169.254.169.254:80 is link-local "
                        "(169.254.0.0/16)"), metadata
    assert line("net", 2) == "200 hello"
    by_name = line("net", 3)
    assert by_name.startswith("-4 denied by the egress policy: ") and "loopback" in by_name, by_name
    redirected = line("net", 4)
    assert redirected.startswith("-4 denied by the egress policy: "), redirected
    assert f":{denied.port} is loopback" in redirected, redirected

    assert line("play", 0) == "ready"
    refused = line("play", 1)
    assert refused.startswith("failed ") and "denied by the egress policy" in refused, refused

    loop = line("sip", 0)
    assert loop.startswith("403 Forbidden (egress policy): ") and "own listeners" in loop, loop
    meta = line("sip", 1)
    assert meta.startswith("403 Forbidden (egress policy): 169.254.169.254:5060 is link-local"), meta

    # The allow-listed server saw its requests; the denied one saw none.
    assert sorted(allowed.paths) == ["/ok", "/redirect", "/tone.wav"], allowed.paths
    assert denied.paths == [], denied.paths
    d.assert_alive()
