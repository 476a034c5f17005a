"""SIP over WebSocket (RFC 7118) on the HTTP listener (`/sip`): a client
on a real WebSocket (`websockets`) registers a user with digest
authentication through its connection, is an agent's phone, and the queue
call to that agent arrives down the same socket; when the connection closes
its binding is gone. A client that does not offer the `sip` subprotocol is
disconnected."""

from __future__ import annotations

import hashlib
import http.client
import re
import secrets
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from harness import wait_until
from test_cti import PASSWORD, Desk, set_up_centre
from test_desk import BROWSER, pages  # noqa: F401 (the fixture)
from test_serve import call, start_serve


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class WsPhone:
    """A minimal SIP user agent on one WebSocket: sends requests, reads
    messages, answers requests it is sent."""

    def __init__(self, url: str, ssl_context: ssl.SSLContext | None = None):
        self._connection = connect(url, subprotocols=["sip"], open_timeout=10,
                                   ssl=ssl_context)
        self.ws = self._connection.__enter__()
        assert self.ws.subprotocol == "sip"
        self.host = f"{secrets.token_hex(4)}.invalid"
        self.call_id = secrets.token_hex(8)
        self.tag = secrets.token_hex(4)
        self.cseq = 0

    def request(self, method: str, uri: str, to: str, extra: list[str] | None = None) -> None:
        self.cseq += 1
        lines = [f"{method} {uri} SIP/2.0",
                 f"Via: SIP/2.0/WSS {self.host};branch=z9hG4bK{secrets.token_hex(6)}",
                 "Max-Forwards: 70", f"To: <{to}>", f"From: <{to}>;tag={self.tag}",
                 f"Call-ID: {self.call_id}", f"CSeq: {self.cseq} {method}",
                 f"Contact: <sip:phone@{self.host};transport=ws>;expires=300",
                 *(extra or []), "Content-Length: 0", "", ""]
        self.ws.send("\r\n".join(lines))

    def read(self, timeout: float = 10) -> str:
        return self.ws.recv(timeout=timeout)

    def register(self, user: str, domain: str, password: str) -> str:
        aor = f"sip:{user}@{domain}"
        self.request("REGISTER", f"sip:{domain}", aor)
        challenge = self.read()
        assert challenge.startswith("SIP/2.0 401"), challenge
        header = re.search(r"WWW-Authenticate: Digest (.*)", challenge).group(1)
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', header))
        ha1 = md5(f"{user}:{params['realm']}:{password}")
        ha2 = md5(f"REGISTER:sip:{domain}")
        cnonce, nc = secrets.token_hex(4), "00000001"
        if "qop" in params:
            response = md5(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
            auth = (f'Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
                    f'uri="sip:{domain}", response="{response}", algorithm=MD5, qop=auth, '
                    f'nc={nc}, cnonce="{cnonce}"')
        else:
            response = md5(f"{ha1}:{params['nonce']}:{ha2}")
            auth = (f'Digest username="{user}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
                    f'uri="sip:{domain}", response="{response}", algorithm=MD5')
        self.request("REGISTER", f"sip:{domain}", aor, [f"Authorization: {auth}"])
        return self.read()

    def answer(self, request: str, code: int, reason: str) -> None:
        """A response to `request`, echoing its dialog headers."""
        head = request.split("\r\n\r\n", 1)[0].split("\r\n")
        keep = [h for h in head[1:] if h.split(":", 1)[0].lower() in ("via", "from", "call-id", "cseq")]
        to = next(h for h in head[1:] if h.lower().startswith("to:"))
        if ";tag=" not in to:
            to += f";tag={secrets.token_hex(4)}"
        self.ws.send("\r\n".join([f"SIP/2.0 {code} {reason}", *keep, to,
                                  "Content-Length: 0", "", ""]))

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


def binding_count(d, key: str, name: str) -> int:
    status, user = call(d, "GET", f"/v1/applications/centre/users/{name}", key=key)
    assert status == 200, user
    return len(user["bindings"])


def test_a_websocket_phone_registers_and_is_called_down_its_connection(registry, agent, tones,
                                                                        tmp_path):
    d = start_serve(registry, tmp_path)
    key, account = set_up_centre(d, {"ann": ["support"]})
    url = f"ws://127.0.0.1:{d.http_port}/sip"

    # Without the sip subprotocol: disconnected at once.
    with connect(url, open_timeout=10) as plain:
        with pytest.raises(ConnectionClosed):
            plain.recv(timeout=5)

    phone = WsPhone(url)
    ok = phone.register("ann", "centre.acme.test", PASSWORD)
    assert ok.startswith("SIP/2.0 200"), ok
    assert "transport=ws" in ok, ok
    assert binding_count(d, key, "ann") == 1

    # ann's phone is this connection: the queue call arrives down it.
    ann = Desk(d, {"command": "login", "account": account, "agent": "ann", "password": PASSWORD})
    assert ann.command({"command": "ready"})["type"] == "ack"
    customer = agent("call", f"sip:support@{d.sip_uri_host}", name="customer",
                     play=tones.wav(440.0), no_telephone_event=True, duration=20.0, max_time=40)
    invite = phone.read(timeout=10)
    assert invite.startswith("INVITE sip:phone@"), invite
    assert "transport=ws" in invite.split("\r\n", 1)[0], invite
    assert "SIP/2.0/WS " in invite, invite
    phone.answer(invite, 486, "Busy Here")
    # Refused on the phone: the agent goes not ready, as from any phone.
    ann.wait_event(event="agentState", agent="ann", state="notReady", reason="call refused")

    # The connection closes: its binding goes with it.
    phone.close()
    assert wait_until(lambda: binding_count(d, key, "ann") == 0, 10), binding_count(d, key, "ann")
    customer.stop()
    ann.close()
    d.assert_alive()


def jssip_bundle(tmp_path) -> Path:
    """JsSIP (npm) bundled for the browser with esbuild (npm), as a page would
    ship it."""
    out = tmp_path / "jssip.js"
    subprocess.run([str(BROWSER / "node_modules" / ".bin" / "esbuild"),
                    str(BROWSER / "node_modules" / "jssip" / "lib" / "JsSIP.js"), "--bundle",
                    "--format=iife", "--global-name=JsSIP", f"--outfile={out}",
                    "--log-level=warning"], check=True, timeout=60)
    return out


def test_jssip_in_chromium_registers_and_is_offered_a_call(registry, agent, tones, tmp_path,
                                                          pages):
    """A browser SIP stack no one here wrote: JsSIP in headless chromium
    registers over the WebSocket with digest, is rung as an agent's phone
    (the INVITE reaches it; the page does not answer, so the agent goes not
    ready as for any phone that rings out) and unregisters. Answered calls
    with audio are tests/test_webrtc.py's."""
    d = start_serve(registry, tmp_path)
    key, account = set_up_centre(d, {"ann": ["support"]})
    assert call(d, "PUT", "/v1/queues/support", {"afterCallWork": 0, "ringTimeout": 10},
                key=key)[0] in (200, 201)
    page = pages()
    # A page of the server's own origin (a blank page is a public context,
    # which chromium does not let reach a loopback address).
    page.do(op="goto", url=f"http://127.0.0.1:{d.http_port}/metrics")
    page.do(op="addScript", path=str(jssip_bundle(tmp_path)))
    page.do(op="eval", js=f"""(() => {{
        const status = (s) => {{ document.body.textContent = s; }};
        const ua = new JsSIP.UA({{
          sockets: [new JsSIP.WebSocketInterface('ws://127.0.0.1:{d.http_port}/sip')],
          uri: 'sip:ann@centre.acme.test', password: '{PASSWORD}', register: true,
        }});
        ua.on('registered', () => status('registered'));
        ua.on('unregistered', () => status('unregistered'));
        ua.on('registrationFailed', (e) => status('failed ' + e.cause));
        ua.on('newRTCSession', (e) => {{
          window.offered = (window.offered || 0) + 1;
          e.session.on('failed', (f) => {{ window.ended = f.cause; }});
        }});
        ua.start();
        window.ua = ua;
        return true;
      }})()""")
    try:
        page.wait_text("body", "registered")
    except AssertionError:
        print("page:", page.do(op="eval", js="document.body.textContent")["value"][:300])
        print("console:", "\n".join(page.do(op="console")["lines"][-40:]))
        raise
    status, user = call(d, "GET", "/v1/applications/centre/users/ann", key=key)
    assert [b["contact"].endswith("transport=ws") for b in user["bindings"]] == [True], user
    # A browser's binding: calls to it get a WebRTC offer.
    assert [(b["transport"], b["webrtc"]) for b in user["bindings"]] == [("WS", True)], user

    ann = Desk(d, {"command": "login", "account": account, "agent": "ann", "password": PASSWORD})
    assert ann.command({"command": "ready"})["type"] == "ack"
    customer = agent("call", f"sip:support@{d.sip_uri_host}", name="customer",
                     play=tones.wav(440.0), no_telephone_event=True, duration=20.0, max_time=40)
    rung = ann.wait_event(event="newInboundCall", agent="ann")
    # The INVITE reaches the browser down its own WebSocket.
    page.do(op="waitFor", js="(window.offered || 0) >= 1", timeout=15000)
    # Nobody answers in the browser: after the queue's ring time (10 s) the
    # agent goes not ready.
    ann.wait_event(event="agentState", agent="ann", state="notReady", after_seq=rung["seq"],
                   timeout=30)
    assert page.do(op="eval", js="window.offered || 0")["value"] == 1

    page.do(op="eval", js="window.ua.unregister(); true")
    page.wait_text("body", "unregistered")
    assert wait_until(lambda: binding_count(d, key, "ann") == 0, 10), binding_count(d, key, "ann")
    customer.stop()
    ann.close()
    d.assert_alive()


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (openssl, PEM)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def test_secure_websocket_when_tls_is_configured(registry, tmp_path):
    """With a certificate, the HTTP listener speaks HTTPS only: the REST
    API, `/phone` and SIP over secure WebSocket (`wss://`), on which a phone
    registers with digest; plain HTTP on that port gets nothing."""
    cert, key = self_signed(tmp_path)
    d = start_serve(registry, tmp_path, tls=(cert, key))
    key_, _ = set_up_centre(d, {"ann": ["support"]})
    trust = ssl.create_default_context(cafile=str(cert))
    trust.check_hostname = False
    with urllib.request.urlopen(f"https://127.0.0.1:{d.http_port}/phone", timeout=10,
                                context=trust) as resp:
        assert resp.status == 200
    # Plain HTTP on the TLS port: no answer.
    with pytest.raises((urllib.error.URLError, http.client.HTTPException, OSError)):
        urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=5)

    phone = WsPhone(f"wss://127.0.0.1:{d.http_port}/sip", ssl_context=trust)
    ok = phone.register("ann", "centre.acme.test", PASSWORD)
    assert ok.startswith("SIP/2.0 200"), ok
    assert binding_count(d, key_, "ann") == 1
    phone.close()
    assert wait_until(lambda: binding_count(d, key_, "ann") == 0, 10), binding_count(d, key_, "ann")
    d.assert_alive()
