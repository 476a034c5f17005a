"""The browser softphone Dialtone serves at `/phone` (web/phone, JsSIP
bundled into the binary at build time), in headless chromium: a user signs
in on the page's form and registers over the same origin's `/sip`
WebSocket (its binding shows in the REST API), dials a number with the
page's buttons and the call reaches the user's application's scenario,
which refuses it busy; the page reports why. A scenario's call to the user
rings on the page, whose Hang up refuses it. Unregistering removes the
binding.

Whole calls with audio (the page's fake microphone plays a tone; its ears
are a WebAudio analyser on `phone.remoteStream()`, PJSIP phones' ears their
recordings): the page calls a number whose scenario bridges it to a phone,
holds and unholds (OnHold/OffHold, the audio comes back), presses keypad
keys (ToneReceived) and transfers the call blind (REFER: the scenario calls
a second phone and bridges the first to it). A REST-started scenario's
callUser rings the page, which answers, hears the phone the scenario
bridges it to, has a transfer declined (603: no handleBlindTransfer) and
hangs up (Disconnected)."""

from __future__ import annotations

import re
import urllib.request

import audio
from harness import wait_until
from test_desk import pages  # noqa: F401 (the fixture)
from test_serve import call, claim, start_serve
from test_webrtc import heard, near, wait_js

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


# --- Calls with audio: the page against PJSIP phones through scenarios --------

PAGE_HZ = 440.0  # the page's (fake) microphone
PHONE_HZ = 1200.0  # the PJSIP phone the scenario bridges the page to
TARGET_HZ = 700.0  # the PJSIP phone the page transfers the call to

# Ears for the page: a WebAudio analyser on what the page plays
# (`phone.remoteStream()`), and `heardHz()`, its dominant frequency (0 in
# silence). Made again when the page's remote stream changes.
EARS_JS = """(() => {
  const stream = window.phone.remoteStream();
  if (!stream || !stream.getAudioTracks().length) return false;
  if (window.ears && window.ears.stream === stream) return true;
  const ctx = new AudioContext();
  const an = ctx.createAnalyser();
  an.fftSize = 8192;
  ctx.createMediaStreamSource(stream).connect(an);
  window.ears = { stream, an };
  window.heardHz = () => {
    const a = window.ears.an;
    const bins = new Float32Array(a.frequencyBinCount);
    a.getFloatFrequencyData(bins);
    let best = 2;
    for (let i = 2; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
    return bins[best] > -80 ? best * a.context.sampleRate / a.fftSize : 0;
  };
  return true;
})()"""

# The page's calls to 3xxx: bridged to the phone (callSIP), with the page's
# hold, DTMF and blind transfer logged; a transfer calls the target and
# bridges the phone to it, then the page's leg is let go.
BRIDGE = """
var PHONE = "sip:phone@127.0.0.1:@PHONE_PORT@";
var TARGET = "sip:target@127.0.0.1:@TARGET_PORT@";
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var page = e.call, transferred = false, target = null;
  Logger.write("bridge: " + e.callerid + " calls " + e.destination);
  var out = VoxEngine.callSIP(PHONE, {callerid: e.callerid});
  page.handleTones(true);
  page.handleBlindTransfer(true);
  page.addEventListener(CallEvents.OnHold, function () { Logger.write("bridge: page on hold"); });
  page.addEventListener(CallEvents.OffHold, function () { Logger.write("bridge: page off hold"); });
  page.addEventListener(CallEvents.ToneReceived, function (t) { Logger.write("bridge: tone " + t.tone); });
  page.addEventListener(CallEvents.BlindTransferRequested, function (t) {
    Logger.write("bridge: transfer to " + t.transferTo + " (" + t.referTo + ")");
    target = VoxEngine.callSIP(TARGET, {callerid: e.callerid});
    target.addEventListener(CallEvents.Connected, function () {
      transferred = true;
      VoxEngine.sendMediaBetween(out, target);
      page.notifyBlindTransferSuccess();
      page.hangup();
      Logger.write("bridge: phone talks to the target");
    });
    target.addEventListener(CallEvents.Failed, function (f) {
      Logger.write("bridge: transfer failed " + f.code);
      page.notifyBlindTransferFailed(f.code, f.reason);
    });
    target.addEventListener(CallEvents.Disconnected, function () {
      Logger.write("bridge: target hung up");
      out.hangup();
      VoxEngine.terminate();
    });
  });
  out.addEventListener(CallEvents.Connected, function () {
    page.answer();
    VoxEngine.sendMediaBetween(page, out);
    Logger.write("bridge: connected");
  });
  out.addEventListener(CallEvents.Failed, function (f) {
    Logger.write("bridge: phone failed " + f.code);
    page.reject(f.code);
    VoxEngine.terminate();
  });
  out.addEventListener(CallEvents.Disconnected, function () {
    if (target) target.hangup(); else page.hangup();
    VoxEngine.terminate();
  });
  page.addEventListener(CallEvents.Disconnected, function () {
    Logger.write("bridge: page hung up" + (transferred ? " after the transfer" : ""));
    if (!transferred) { out.hangup(); VoxEngine.terminate(); }
  });
});
"""
# Started over REST: rings ann's phones (the page); once she answers, the
# phone is called and bridged to her. Logs how her call ends.
CALL_ANN = """
var PHONE = "sip:phone@127.0.0.1:@PHONE_PORT@";
VoxEngine.addEventListener(AppEvents.Started, function () {
  var out = null;
  var ann = VoxEngine.callUser({username: "ann", callerid: "5557000"});
  ann.addEventListener(CallEvents.Failed, function (e) {
    Logger.write("call-ann: failed " + e.code);
    VoxEngine.terminate();
  });
  ann.addEventListener(CallEvents.Connected, function () {
    Logger.write("call-ann: ann answered");
    out = VoxEngine.callSIP(PHONE, {callerid: "5557000"});
    out.addEventListener(CallEvents.Connected, function () {
      VoxEngine.sendMediaBetween(ann, out);
      Logger.write("call-ann: bridged");
    });
    out.addEventListener(CallEvents.Disconnected, function () { ann.hangup(); VoxEngine.terminate(); });
  });
  ann.addEventListener(CallEvents.Disconnected, function () {
    Logger.write("call-ann: ann disconnected");
    if (out) out.hangup();
    VoxEngine.terminate();
  });
});
"""


def set_up_calls(d, scenarios: dict[str, str], rules: dict[str, str] | None = None) -> str:
    """The office (set_up_office) plus `scenarios` and rules {pattern: scenario}."""
    key = set_up_office(d)
    for name, text in scenarios.items():
        assert call(d, "PUT", f"/v1/applications/office/scenarios/{name}", text,
                    "application/javascript", key)[0] == 201
    for pattern, scenario in (rules or {}).items():
        status, rule = call(d, "POST", "/v1/applications/office/rules",
                            {"name": scenario, "pattern": pattern, "scenarios": [scenario]}, key=key)
        assert status == 201, rule
    return key


def open_phone(pages, tones, d):  # noqa: F811
    """The page with a microphone playing PAGE_HZ, registered as ann with its form."""
    page = pages(fake_audio=tones.wav(PAGE_HZ, seconds=60.0, rate=48000))
    page.do(op="goto", url=f"http://127.0.0.1:{d.http_port}/phone")
    page.do(op="fill", sel="#user", value="ann")
    page.do(op="fill", sel="#password", value=PASSWORD)
    page.do(op="fill", sel="#domain", value="office.acme.test")
    page.do(op="click", sel="#register")
    page.wait_text("#registration", "registered")
    return page


def explain(page) -> str:
    state = page.do(op="eval", js="JSON.stringify(window.phone.state())")["value"]
    lines = page.do(op="console")["lines"][-30:]
    return f"page state: {state}\nconsole:\n" + "\n".join(lines)


def page_hears(page, hz: float, timeout_s: float = 10.0) -> list[float]:
    """Waits until the page hears `hz`, then samples it for 1.5 s: most samples
    must be `hz`. Returns the samples."""
    try:
        wait_js(page, EARS_JS, timeout_s)
        wait_js(page, f"Math.abs(window.heardHz() - {hz}) < {hz * 0.06}", timeout_s)
    except AssertionError:
        print(explain(page))
        raise
    samples = heard(page, 1.5)
    assert near(samples, hz), (hz, samples)
    return samples


def recording_tone(path, start_s: float, end_s: float) -> float:
    """The dominant frequency of a recording between two of its seconds."""
    return audio.tone_between(path, start_s, end_s)[0]


def test_the_page_calls_holds_sends_dtmf_and_transfers(registry, agent, tones, tmp_path, pages):  # noqa: F811
    d = start_serve(registry, tmp_path, egress_allow="127.0.0.1")
    heard_by_phone = tmp_path / "heard_by_phone.wav"
    heard_by_target = tmp_path / "heard_by_target.wav"
    phone = agent("answer", name="phone", play=tones.wav(PHONE_HZ, seconds=30.0, rate=16000),
                  record=heard_by_phone, control=True, max_time=60)
    target = agent("answer", name="target", play=tones.wav(TARGET_HZ, seconds=30.0, rate=16000),
                   record=heard_by_target, duration=4.0, max_time=60)
    bridge = BRIDGE.replace("@PHONE_PORT@", str(phone.port)).replace("@TARGET_PORT@", str(target.port))
    set_up_calls(d, {"bridge": bridge}, {r"3\d{3}": "bridge"})
    page = open_phone(pages, tones, d)

    # 1. The page calls 3000: the scenario bridges it to the phone, and each
    # hears the other.
    mark = d.mark()
    page.do(op="fill", sel="#target", value="3000")
    page.do(op="click", sel="#call")
    page.wait_text("#call-state", "connected", timeout=20000)
    confirmed = phone.wait_event("confirmed", 10)
    d.wait_for(r"bridge: ann calls 3000", timeout=10, start=mark)
    page_hears(page, PHONE_HZ)
    # The phone's clock now: its recording has had the page's tone till here.
    talked = phone.run("ping") - confirmed["t"]

    # 2. Hold and Unhold (buttons): the scenario sees OnHold and OffHold; the
    # phone's tone comes back after.
    page.do(op="click", sel="#hold")
    page.do(op="waitFor", js="window.phone.state().held", timeout=5000)
    d.wait_for(r"bridge: page on hold", timeout=10, start=mark)
    assert page.do(op="eval", js="document.getElementById('hold').disabled")["value"]
    # Held (sendonly), the page hears nothing.
    wait_js(page, "window.heardHz() === 0", 5)
    page.do(op="click", sel="#unhold")
    page.do(op="waitFor", js="!window.phone.state().held", timeout=5000)
    d.wait_for(r"bridge: page off hold", timeout=10, start=mark)
    page_hears(page, PHONE_HZ)

    # 3. The keypad: each key pressed is a ToneReceived.
    for key in ["4", "2", "#"]:
        page.do(op="click", sel=f'#keypad button:text-is("{key}")')
    for key in ["4", "2", "#"]:
        d.wait_for(rf"bridge: tone {re.escape(key)}", timeout=10, start=mark)

    # 5. Transfer to 4000 (REFER): the scenario calls the target and bridges
    # the phone to it; the page's leg ends, its transfer completed.
    page.do(op="fill", sel="#transfer-target", value="4000")
    page.do(op="click", sel="#transfer")
    d.wait_for(r"bridge: transfer to 4000 \(sip:4000@office\.acme\.test\)", timeout=10, start=mark)
    target.wait_event("confirmed", 10)
    d.wait_for(r"bridge: phone talks to the target", timeout=10, start=mark)
    page.wait_text("#call-state", "ended", timeout=10000)
    page.do(op="waitFor", js="window.phone.state().transfer === 'completed'", timeout=5000)
    d.wait_for(r"bridge: page hung up after the transfer", timeout=10, start=mark)
    transferred = phone.run("ping") - confirmed["t"]
    # The target hangs up after 4 s of talk; so does the phone then.
    target.wait_event("disconnected", 15)
    phone.wait_event("disconnected", 10)
    d.wait_for(r"bridge: target hung up", timeout=10, start=mark)
    assert target.wait_exit(10) == 0
    assert phone.wait_exit(10) == 0

    # The phone heard the page before the transfer and the target after; the
    # target heard the phone.
    before = recording_tone(heard_by_phone, max(0.3, talked - 1.5), talked)
    assert abs(before - PAGE_HZ) < PAGE_HZ * 0.05, (before, talked)
    after = recording_tone(heard_by_phone, transferred + 0.5, transferred + 2.0)
    assert abs(after - TARGET_HZ) < TARGET_HZ * 0.05, (after, transferred)
    audio.assert_tone(heard_by_target, PHONE_HZ)
    d.assert_alive()


def test_the_page_answers_a_scenarios_call_and_hangs_up(registry, agent, tones, tmp_path, pages):  # noqa: F811
    d = start_serve(registry, tmp_path, egress_allow="127.0.0.1")
    heard_by_phone = tmp_path / "heard_by_phone.wav"
    phone = agent("answer", name="phone", play=tones.wav(PHONE_HZ, seconds=30.0, rate=16000),
                  record=heard_by_phone, max_time=60)
    key = set_up_calls(d, {"call-ann": CALL_ANN.replace("@PHONE_PORT@", str(phone.port))})
    page = open_phone(pages, tones, d)

    # 4. A scenario started over REST calls ann: the page rings; Answer.
    mark = d.mark()
    status, started = call(d, "POST", "/v1/sessions",
                           {"application": "office", "scenario": "call-ann"}, key=key)
    assert status == 201, started
    page.wait_text("#call-state", "incoming", timeout=15000)
    assert "5557000" in page.do(op="eval", js="window.phone.state()")["value"]["peer"]
    page.do(op="click", sel="#answer")
    page.wait_text("#call-state", "connected", timeout=10000)
    d.wait_for(r"call-ann: ann answered", timeout=10, start=mark)
    phone.wait_event("confirmed", 10)
    d.wait_for(r"call-ann: bridged", timeout=10, start=mark)
    page_hears(page, PHONE_HZ)

    # This scenario does not take transfers: the REFER is declined (603) and
    # the page says so; the call goes on.
    page.do(op="fill", sel="#transfer-target", value="4000")
    page.do(op="click", sel="#transfer")
    page.do(op="waitFor", js="window.phone.state().transfer === 'failed'", timeout=5000)
    assert page.do(op="eval", js="window.phone.state().call")["value"] == "connected"
    page_hears(page, PHONE_HZ)

    # Hang up: the scenario sees Disconnected, and lets the phone go.
    page.do(op="click", sel="#hangup")
    page.wait_text("#call-state", "ended", timeout=10000)
    d.wait_for(r"call-ann: ann disconnected", timeout=10, start=mark)
    phone.wait_event("disconnected", 10)
    assert phone.wait_exit(10) == 0
    audio.assert_tone(heard_by_phone, PAGE_HZ)
    d.assert_alive()
