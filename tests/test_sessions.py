"""Sessions started over REST (``POST /v1/sessions``) in ``dialtone serve``: the
scenario calls a real PJSIP user agent and plays to it, HTTP requests to the
session's ``accessURL`` change what it does, and history keeps the call and
the session log — for its own account only."""

from __future__ import annotations

import concurrent.futures
import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

import audio
from harness import LOOPBACK, SCRIPTS, wait_until
from sipwire import RawSip, pcmu_offer, sip_request
from test_serve import ADMIN_KEY, ServeDialtone, call, start_serve

# PJSIP records at its 16 kHz clock: 2 bytes per sample.
REC_BYTES_PER_S = 16000 * 2


def fetch(url: str, method: str = "GET", body=None) -> tuple[int, str, str]:
    """(status, content type, body) of a request to an accessURL (no API key)."""
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def new_account(d: ServeDialtone, name: str) -> str:
    status, acct = call(d, "POST", "/v1/accounts", {"name": name})
    assert status == 201, acct
    return acct["apiKey"]


def upload(d: ServeDialtone, key: str, app: str, name: str, source: str) -> None:
    assert call(d, "PUT", f"/v1/applications/{app}", key=key)[0] in (200, 201)
    status, saved = call(d, "PUT", f"/v1/applications/{app}/scenarios/{name}", source,
                         "application/javascript", key)
    assert status == 201, saved


def wait_grown(path: Path, start: int, seconds: float, timeout: float) -> int:
    """Wait until the peer's recording holds `seconds` more audio than at `start`
    bytes: audio that arrived, not time that passed."""
    want = start + int(seconds * REC_BYTES_PER_S)
    size = wait_until(lambda: path.exists() and path.stat().st_size >= want and path.stat().st_size,
                      timeout=timeout, interval=0.05)
    assert size, f"{path} did not grow to {want} bytes"
    return size


def segment_hz(samples: np.ndarray, rate: int, start_s: float, end_s: float) -> float:
    part = samples[int(start_s * rate):int(end_s * rate)]
    return audio.dominant_frequency(part, rate)


def test_rest_session_calls_pjsip_and_access_url_steers_it(registry, agent, tmp_path):
    # Serve denies loopback to scenarios; the PJSIP callee lives there.
    d = start_serve(registry, tmp_path, egress_allow="127.0.0.0/8")
    key = new_account(d, "ops")
    other = new_account(d, "intruder")
    upload(d, key, "ctl", "remote", (SCRIPTS / "remote_control.js").read_text())

    rec = tmp_path / "heard_by_b.wav"
    b = agent("answer", name="b", record=rec, max_time=60)
    status, started = call(d, "POST", "/v1/sessions", {
        "application": "ctl", "scenario": "remote",
        "customData": {"to": f"sip:b@{LOOPBACK}:{b.port}", "tone": 440},
    }, key=key)
    assert status == 201, started
    sid, access = started["id"], started["accessURL"]
    assert started["scenario"] == "ctl/remote" and started["rule"] is None, started
    assert access.startswith(f"http://{LOOPBACK}:{d.http_port}/access/{sid}/"), access
    assert started["accessSecureURL"] == access

    b.wait_event("confirmed", 15)
    status, live = call(d, "GET", "/v1/sessions", key=key)
    assert status == 200 and [s["id"] for s in live["sessions"]] == [sid], live
    assert live["sessions"][0]["state"] == "running"
    detail = wait_until(lambda: (lambda r: r[1] if r[1].get("calls") and r[1]["calls"][0]["state"]
                                 == "CONNECTED" else None)(call(d, "GET", f"/v1/sessions/{sid}",
                                                                key=key)), timeout=10)
    assert detail, call(d, "GET", f"/v1/sessions/{sid}", key=key)
    assert detail["calls"][0]["direction"] == "outbound", detail
    assert detail["calls"][0]["to"] == f"sip:b@{LOOPBACK}:{b.port}", detail

    # The other account sees none of it, not even the accessURL's session.
    assert call(d, "GET", "/v1/sessions", key=other) == (200, {"sessions": []})
    assert call(d, "GET", f"/v1/sessions/{sid}", key=other)[0] == 404
    assert call(d, "DELETE", f"/v1/sessions/{sid}", key=other)[0] == 404
    assert fetch(access.rsplit("/", 1)[0] + "/" + "0" * 32)[0] == 404

    size = wait_grown(rec, 0, 2.5, timeout=15)
    status, ctype, body = fetch(access, "POST", {"tone": 1200})
    assert (status, ctype) == (200, "application/json"), (status, ctype, body)
    assert json.loads(body) == {"state": "connected", "tone": 1200}
    switched_at = size
    wait_grown(rec, switched_at, 2.5, timeout=15)
    status, _, body = fetch(access + "/state")
    assert status == 200 and json.loads(body)["tone"] == 1200, body
    status, _, body = fetch(access, "POST", {"hangup": True})
    assert status == 200 and json.loads(body)["state"] == "hanging up", body

    ended = b.wait_event("disconnected", 10)
    assert ended["connected"], ended
    assert b.wait_exit(10) == 0

    samples, rate = audio.read_wav(rec)
    switch_s = (switched_at - 44) / (2 * rate)
    first = segment_hz(samples, rate, switch_s - 1.5, switch_s - 0.2)
    second = segment_hz(samples, rate, switch_s + 0.8, switch_s + 2.0)
    print(f"B heard {first:.0f} Hz, then {second:.0f} Hz after the accessURL request")
    assert abs(first - 440) < 20, first
    assert abs(second - 1200) < 40, second

    # The session ends with its call; history keeps the call and the log.
    assert wait_until(lambda: call(d, "GET", "/v1/sessions", key=key)[1]["sessions"] == [],
                      timeout=10), call(d, "GET", "/v1/sessions", key=key)
    assert fetch(access)[0] in (404, 410)

    def ended_detail():
        status, v = call(d, "GET", f"/v1/sessions/{sid}", key=key)
        return v if status == 200 and v.get("state") == "ended" and v.get("log") else None
    done = wait_until(ended_detail, timeout=15, interval=0.2)
    assert done, call(d, "GET", f"/v1/sessions/{sid}", key=key)
    assert [c["disconnectCode"] for c in done["calls"]] == [200], done
    log = "\n".join(done["log"])
    assert "remote_control: playing 440 Hz" in log and "remote_control: playing 1200 Hz" in log, log
    assert "Application.HttpRequest method=POST" in log, log
    status, page = call(d, "GET", "/v1/history", key=key)
    assert status == 200 and [s["id"] for s in page["sessions"]] == [sid], page
    assert call(d, "GET", "/v1/history", key=other)[1]["sessions"] == []
    assert call(d, "GET", f"/v1/sessions/{sid}", key=other)[0] == 404
    d.assert_alive()


WAITER = """
VoxEngine.addEventListener(AppEvents.Started, function (e) {
  Logger.write("data " + VoxEngine.customData() + " same " + (e.customData === VoxEngine.customData()));
});
VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
  if (e.content === "throw") throw new Error("asked to fail");
  return e.method + " " + e.content;
});
VoxEngine.addEventListener(AppEvents.Terminating, function () { Logger.write("terminating"); });
"""


def test_rest_sessions_validate_start_by_rule_and_delete(registry, tmp_path):
    d = start_serve(registry, tmp_path)
    key = new_account(d, "ops")
    upload(d, key, "app", "waiter", WAITER)
    status, rule = call(d, "POST", "/v1/applications/app/rules",
                        {"name": "wait", "pattern": "wait", "scenarios": ["waiter"]}, key=key)
    assert status == 201, rule

    def start(body):
        return call(d, "POST", "/v1/sessions", body, key=key)

    assert start({"application": "nope", "scenario": "waiter"})[0] == 404
    assert start({"application": "app", "scenario": "nope"})[0] == 404
    assert start({"application": "app", "rule": "nope"})[0] == 404
    status, err = start({"application": "app", "scenario": "waiter", "rule": "wait"})
    assert status == 422 and err["error"]["code"] == "invalid", err
    assert start({"application": "app"})[0] == 422
    status, err = start({"application": "app", "scenario": "waiter", "customData": "x" * 65537})
    assert status == 413 and err["error"]["code"] == "too_large", err
    assert start({"application": "app", "scenario": "waiter", "customData": "x" * 65536})[0] == 201
    status, err = call(d, "POST", "/v1/sessions", "{not json", key=key)
    assert status == 400 and "error" in err, err

    # By rule name, with JSON custom data passed as its text.
    status, s = start({"application": "app", "rule": "wait", "customData": {"n": 1}})
    assert status == 201 and s["rule"] == rule["id"], s
    sid = s["id"]
    d.wait_for(r'data \{"n":1\} same true', timeout=10)
    assert fetch(s["accessURL"], "PUT", "hello")[1:] == ("text/plain; charset=utf-8", "PUT hello")

    # A handler that throws answers 500 and ends its session.
    status, _, body = fetch(s["accessURL"], "POST", "throw")
    assert status == 500 and "asked to fail" in body, (status, body)
    assert wait_until(lambda: call(d, "GET", f"/v1/sessions/{sid}", key=key)[1].get("state")
                      == "failed", timeout=15, interval=0.2), call(d, "GET", f"/v1/sessions/{sid}",
                                                                   key=key)

    # DELETE ends a live session gracefully (Terminating runs).
    status, s2 = start({"application": "app", "scenario": "waiter", "customData": "plain"})
    assert status == 201, s2
    mark = d.mark()
    status, body = call(d, "DELETE", f"/v1/sessions/{s2['id']}", key=key)
    assert (status, body) == (202, {"id": s2["id"], "state": "terminating"}), body
    d.wait_for(rf"session={s2['id']}.*terminating", timeout=10, start=mark)
    assert wait_until(lambda: s2["id"] not in [x["id"] for x in call(d, "GET", "/v1/sessions",
                                                                     key=key)[1]["sessions"]],
                      timeout=10)
    assert call(d, "DELETE", f"/v1/sessions/{s2['id']}", key=key)[0] == 404
    assert call(d, "GET", "/v1/sessions/not-a-session", key=key)[0] == 404
    d.assert_alive()


HOLDER = """
var waiting = [];
VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
  return new Promise(function (resolve) { waiting.push(resolve); });
});
"""


def test_access_url_bounds_requests_waiting_on_one_session(registry, tmp_path):

    d = start_serve(registry, tmp_path)
    key = new_account(d, "ops")
    upload(d, key, "app", "holder", HOLDER)
    status, s = call(d, "POST", "/v1/sessions", {"application": "app", "scenario": "holder"},
                     key=key)
    assert status == 201, s
    url = s["accessURL"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        held = [pool.submit(fetch, url, "POST", "hold") for _ in range(16)]
        # Every one of them reached the session and waits on its promise.
        assert wait_until(lambda: len(d.find_all(r"Application\.HttpRequest method=POST")) >= 16,
                          timeout=10), d.log_text()[-3000:]
        status, _, body = fetch(url, "POST", "one too many")
        assert status == 429 and "too_many_requests" in body, (status, body)
        # Ending the session answers everything still waiting: 410.
        status, _ = call(d, "DELETE", f"/v1/sessions/{s['id']}", key=key)
        assert status == 202
        answers = [f.result(timeout=15) for f in held]
    assert [st for st, _, _ in answers] == [410] * 16, answers
    assert fetch(url, "POST", "release")[0] == 404
    d.assert_alive()


def test_a_wrong_token_is_refused_before_the_body_is_read(registry, tmp_path):
    """A request to an accessURL with a wrong token (or an unknown session) gets
    404 at once: its body is never read, so announcing a huge one and sending
    nothing cannot tie up the listener or the session."""
    import socket
    from urllib.parse import urlparse

    d = start_serve(registry, tmp_path)
    key = new_account(d, "ops")
    upload(d, key, "app", "holder", HOLDER)
    status, s = call(d, "POST", "/v1/sessions", {"application": "app", "scenario": "holder"},
                     key=key)
    assert status == 201, s
    url = urlparse(s["accessURL"])
    wrong = url.path.rsplit("/", 1)[0] + "/" + "0" * 32
    for path in (wrong, "/access/" + s["id"].replace("-", "")[:8] + "/x"):
        with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
            sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                          "Content-Type: application/json\r\n"
                          "Content-Length: 100000000\r\n\r\n").encode())
            # No body follows: an answer can only come from a check made first.
            head = sock.recv(4096).decode(errors="replace")
        assert head.startswith("HTTP/1.1 404"), head
    # The session was never bothered.
    assert not d.find_all(r"Application\.HttpRequest"), d.log_text()[-2000:]
    d.assert_alive()


def test_session_limit_refuses_new_sessions_and_calls_with_503(registry, tmp_path):
    d = ServeDialtone(tmp_path / "data", env={"DIALTONE_ADMIN_KEY": ADMIN_KEY,
                                             "DIALTONE_MAX_SESSIONS": "1"},
                      log_path=tmp_path / "serve.log")
    registry.add(d)
    d.start()
    key = new_account(d, "ops")
    upload(d, key, "app", "holder", HOLDER)
    status, rule = call(d, "POST", "/v1/applications/app/rules",
                        {"name": "any", "pattern": r"\d+", "scenarios": ["holder"]}, key=key)
    assert status == 201, rule
    status, first = call(d, "POST", "/v1/sessions", {"application": "app", "scenario": "holder"},
                         key=key)
    assert status == 201, first

    status, err = call(d, "POST", "/v1/sessions", {"application": "app", "scenario": "holder"},
                       key=key)
    assert status == 503 and err["error"]["code"] == "session_limit", err
    target = (LOOPBACK, d.sip_port)
    with RawSip("udp", target) as raw:
        raw.send(sip_request("INVITE", target=target, local_port=raw.port, user="1234",
                             body=pcmu_offer(), content_type="application/sdp"))
        final = raw.final_response(5)
    assert final is not None and final.code == 503, final

    # Room again once the first session has ended.
    assert call(d, "DELETE", f"/v1/sessions/{first['id']}", key=key)[0] == 202
    started = wait_until(lambda: call(d, "POST", "/v1/sessions",
                                      {"application": "app", "scenario": "holder"},
                                      key=key)[0] == 201, timeout=10, interval=0.1)
    assert started
    d.assert_alive()
