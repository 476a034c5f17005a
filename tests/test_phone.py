"""The browser softphone Dialtone serves at `/phone` (web/phone, JsSIP
bundled into the binary at build time), in headless chromium: a user signs
in on the page's form and registers over the same origin's `/sip`
WebSocket (its binding shows in the REST API), dials a number with the
page's buttons and the call reaches the user's application's scenario,
which refuses it busy; the page reports why. A scenario's call to the user
rings on the page, whose Hang up refuses it. Unregistering removes the
binding."""

from __future__ import annotations

import urllib.request

from harness import wait_until
from test_desk import pages  # noqa: F401 (the fixture)
from test_serve import call, claim, start_serve

PASSWORD = "phone-secret-1"
# Logs the INVITE and refuses it busy: what reached the scenario shows in
# the log, and the page sees the 486.
BUSY = """
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  Logger.write("busy: INVITE to " + e.destination + " from " + e.callerid);
  e.call.addEventListener(CallEvents.Disconnected, function () { VoxEngine.terminate(); });
  e.call.addEventListener(CallEvents.Failed, function () { VoxEngine.terminate(); });
  e.call.reject(486);
});
"""
# Started over REST: calls ann's phones and logs how the call ends.
RING = """
VoxEngine.addEventListener(AppEvents.Started, function () {
  var call = VoxEngine.callUser({username: "ann", callerid: "5551234"});
  call.addEventListener(CallEvents.Failed, function (e) {
    Logger.write("ring: failed " + e.code);
    VoxEngine.terminate();
  });
  call.addEventListener(CallEvents.Connected, function () {
    Logger.write("ring: connected");
    call.hangup();
  });
  call.addEventListener(CallEvents.Disconnected, function () { VoxEngine.terminate(); });
});
"""


def set_up_office(d) -> str:
    """An account claiming acme.test, application "office" with user ann and
    a rule sending 1xxx to the busy scenario. Returns the API key."""
    _, acct = call(d, "POST", "/v1/accounts", {"name": "office"})
    key = acct["apiKey"]
    claim(d, key, domain="acme.test")
    assert call(d, "PUT", "/v1/applications/office", key=key)[0] == 201
    assert call(d, "PUT", "/v1/applications/office/scenarios/busy", BUSY,
                "application/javascript", key)[0] == 201
    status, rule = call(d, "POST", "/v1/applications/office/rules",
                        {"name": "desks", "pattern": r"1\d{3}", "scenarios": ["busy"]}, key=key)
    assert status == 201, rule
    assert call(d, "PUT", "/v1/applications/office/scenarios/ring", RING,
                "application/javascript", key)[0] == 201
    assert call(d, "PUT", "/v1/applications/office/users/ann", {"password": PASSWORD},
                key=key)[0] == 201
    return key


def bindings(d, key: str) -> list[dict]:
    status, user = call(d, "GET", "/v1/applications/office/users/ann", key=key)
    assert status == 200, user
    return user["bindings"]


def test_the_phone_page_is_served_from_the_binary(registry, tmp_path):
    d = start_serve(registry, tmp_path)
    base = f"http://127.0.0.1:{d.http_port}"
    for path, kind in [("/phone", "text/html"), ("/phone/phone.js", "text/javascript"),
                       ("/phone/phone.css", "text/css")]:
        with urllib.request.urlopen(base + path, timeout=10) as resp:
            assert resp.status == 200, path
            assert resp.headers["Content-Type"].startswith(kind), (path, resp.headers)
            body = resp.read().decode()
        if path == "/phone":
            assert '<script src="/phone/phone.js">' in body, body
        if path == "/phone/phone.js":
            assert "JsSIP" in body


def test_the_phone_page_registers_and_its_call_reaches_the_scenario(registry, tmp_path, pages):
    d = start_serve(registry, tmp_path)
    key = set_up_office(d)
    page = pages()
    page.do(op="goto", url=f"http://127.0.0.1:{d.http_port}/phone")
    page.wait_text("#registration", "unregistered")

    # Signs in with the page's form, as a person would.
    page.do(op="fill", sel="#user", value="ann")
    page.do(op="fill", sel="#password", value=PASSWORD)
    page.do(op="fill", sel="#domain", value="office.acme.test")
    page.do(op="click", sel="#register")
    try:
        page.wait_text("#registration", "registered")
    except AssertionError:
        print("status:", page.do(op="text", sel="#status")["text"])
        print("console:", "\n".join(page.do(op="console")["lines"][-40:]))
        raise
    contacts = [b["contact"] for b in bindings(d, key)]
    assert len(contacts) == 1 and contacts[0].endswith("transport=ws"), contacts

    # Dials 1234 with the buttons: the INVITE (digest-authenticated as ann)
    # runs the office's rule, whose scenario refuses it busy.
    mark = d.mark()
    page.do(op="fill", sel="#target", value="1234")
    page.do(op="click", sel="#call")
    page.wait_text("#call-state", "failed", timeout=20000)
    state = page.do(op="eval", js="window.phone.state()")["value"]
    assert state["registration"] == "registered", state

    # A scenario calls ann: the page rings with the caller's number, and its
    # Hang up button refuses the call, which the scenario sees fail.
    mark_in = d.mark()
    status, started = call(d, "POST", "/v1/sessions",
                           {"application": "office", "scenario": "ring"}, key=key)
    assert status == 201, started
    page.do(op="waitFor", js="window.phone.state().call === 'incoming'", timeout=15000)
    ringing = page.do(op="eval", js="window.phone.state()")["value"]
    assert "5551234" in ringing["peer"], ringing
    page.do(op="click", sel="#hangup")
    page.wait_text("#call-state", "failed")
    refused = page.do(op="eval", js="window.phone.state()")["value"]
    assert refused["cause"] == "Rejected", refused
    d.wait_for(r"ring: failed 480", timeout=10, start=mark_in)

    # Unregisters: the binding is gone.
    page.do(op="eval", js="window.phone.unregister(); true")
    page.wait_text("#registration", "unregistered")
    assert wait_until(lambda: bindings(d, key) == [], 10), bindings(d, key)
    d.assert_alive()

    assert state["cause"] == "Busy", state
    d.wait_for(r"busy: INVITE to 1234 from ann", timeout=10, start=mark)
