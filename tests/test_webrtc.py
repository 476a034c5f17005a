"""WebRTC legs (ICE-lite, DTLS-SRTP, Opus) with a browser no one here wrote:
JsSIP in Debian's headless chromium, whose fake microphone plays a tone
file. The browser calls Dialtone over SIP-over-WebSocket; the scenario
(scripts/forward.js) calls a PJSIP phone over plain SIP/RTP (G.711) and
bridges the two. Each side must hear the other's tone: the browser's ears
are a WebAudio analyser on the remote track, the phone's a recording."""

from __future__ import annotations

import pytest

import audio
from conftest import FORWARD, RECORD_BRIDGE
from harness import LOOPBACK, SCRIPTS
from mediakit import event_rx, fetch, record_url
from test_desk import pages  # noqa: F401 (the fixture)
from test_serve import call, claim, start_serve
from test_sip_websocket import jssip_bundle

BROWSER_HZ = 440.0
PHONE_HZ = 1200.0

# What the page runs: a JsSIP UA that does not register, and helpers that
# tell the dominant frequency of what the browser hears.
PAGE_JS = """
window.heardHz = () => {
  const a = window.analyser;
  if (!a) return 0;
  const bins = new Float32Array(a.frequencyBinCount);
  a.getFloatFrequencyData(bins);
  let best = 0, at = 0;
  for (let i = 2; i < bins.length; i++) if (bins[i] > bins[best] || best < 2) { best = i; }
  at = best * a.context.sampleRate / a.fftSize;
  return bins[best] > -80 ? at : 0;
};
window.levelAt = (hz) => {
  const a = window.analyser;
  if (!a) return -200;
  const bins = new Float32Array(a.frequencyBinCount);
  a.getFloatFrequencyData(bins);
  const i = Math.round(hz * a.fftSize / a.context.sampleRate);
  return Math.max(bins[i - 1], bins[i], bins[i + 1]);
};
window.listen = (stream) => {
  const el = document.createElement('audio');
  el.srcObject = stream; el.muted = true; el.autoplay = true;
  document.body.appendChild(el);
  const ctx = new AudioContext();
  const src = ctx.createMediaStreamSource(stream);
  const an = ctx.createAnalyser(); an.fftSize = 8192;
  src.connect(an);
  window.analyser = an;
};
window.startUa = (wsUrl) => {
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(wsUrl)],
    uri: 'sip:browser@webrtc.invalid', register: false,
  });
  ua.start();
  window.ua = ua;
};
window.hook = (s) => {
  window.events = [];
  for (const name of ['progress', 'accepted', 'confirmed', 'ended', 'failed', 'hold', 'unhold']) {
    s.on(name, (e) => window.events.push(name + (e && e.cause ? ':' + e.cause : '')));
  }
};
window.startPhone = (wsUrl, uri, password) => {
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(wsUrl)], uri, password, register: true,
  });
  ua.on('registered', () => { window.registered = true; });
  ua.on('newRTCSession', (e) => {
    if (e.originator !== 'remote') return;
    const s = e.session;
    window.session = s;
    window.hook(s);
    s.on('peerconnection', (p) => p.peerconnection.addEventListener('track',
      (ev) => window.listen(ev.streams[0] || new MediaStream([ev.track]))));
    s.answer({ mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } });
  });
  ua.start();
  window.ua = ua;
};
window.dial = (target) => {
  window.events = [];
  const s = window.ua.call(target, {
    mediaConstraints: { audio: true, video: false },
    pcConfig: { iceServers: [] },
  });
  window.session = s;
  s.connection.addEventListener('track', (e) => window.listen(e.streams[0] || new MediaStream([e.track])));
  for (const name of ['progress', 'accepted', 'confirmed', 'ended', 'failed', 'hold', 'unhold']) {
    s.on(name, (e) => window.events.push(name + (e && e.cause ? ':' + e.cause : '')));
  }
  s.connection.addEventListener('connectionstatechange', () =>
    window.events.push('pc:' + s.connection.connectionState));
  return true;
};
"""


def wait_js(page, js: str, timeout_s: float = 15.0) -> object:
    """Evaluates `js` in the page until it is truthy (bounded)."""
    value = page.do(op="eval", timeout=int(timeout_s * 1000) + 2000, js=f"""(async () => {{
        const end = Date.now() + {int(timeout_s * 1000)};
        while (Date.now() < end) {{
          const v = ({js});
          if (v) return v;
          await new Promise(r => setTimeout(r, 50));
        }}
        return null;
      }})()""")["value"]
    if not value:
        print("events:", page.do(op="eval", js="JSON.stringify(window.events || [])")["value"])
        print("console:", "\n".join(page.do(op="console")["lines"][-30:]))
    assert value, f"page never satisfied: {js}"
    return value


def heard(page, seconds: float = 2.0) -> list[float]:
    """The browser's dominant frequency, sampled every 100 ms."""
    return page.do(op="eval", timeout=int(seconds * 1000) + 5000, js=f"""(async () => {{
        const out = [];
        for (let i = 0; i < {int(seconds * 10)}; i++) {{
          out.push(window.heardHz());
          await new Promise(r => setTimeout(r, 100));
        }}
        return out;
      }})()""")["value"]


def near(values: list[float], hz: float, share: float = 0.6, tol: float = 0.06) -> bool:
    return sum(1 for v in values if abs(v - hz) <= tol * hz) >= share * len(values)


def browser(pages, tones, d, tmp_path, hz: float = BROWSER_HZ):  # noqa: F811
    """A chromium page of the server's origin (which may reach loopback) whose
    microphone plays `hz`, with JsSIP and PAGE_JS loaded."""
    page = pages(fake_audio=tones.wav(hz, seconds=30.0, rate=48000))
    page.do(op="goto", url=f"http://{LOOPBACK}:{d.http_port}/metrics")
    bundle = tmp_path / "jssip.js"
    page.do(op="addScript", path=str(bundle if bundle.exists() else jssip_bundle(tmp_path)))
    page.do(op="eval", js=PAGE_JS + "; true")
    return page


def open_browser(pages, tones, d, tmp_path, hz: float = BROWSER_HZ):  # noqa: F811
    """A browser with a JsSIP UA that does not register (it only calls)."""
    page = browser(pages, tones, d, tmp_path, hz)
    page.do(op="eval", js=f"window.startUa('ws://{LOOPBACK}:{d.http_port}/sip'); true")
    return page


def registered_browser(pages, tones, d, tmp_path, aor: str, password: str):  # noqa: F811
    """A browser registered as the user `aor`, answering every call."""
    page = browser(pages, tones, d, tmp_path)
    page.do(op="eval", js=f"window.startPhone('ws://{LOOPBACK}:{d.http_port}/sip', "
                          f"'{aor}', '{password}'); true")
    wait_js(page, "window.registered")
    return page


def test_browser_calls_a_sip_phone_through_dialtone_each_hears_the_other(
        media_dialtone, agent, tones, tmp_path, pages):  # noqa: F811
    heard_by_phone = tmp_path / "heard_by_phone.wav"
    phone = agent("answer", name="phone", play=tones.wav(PHONE_HZ, rate=16000),
                  record=heard_by_phone, max_time=60)
    d = media_dialtone(FORWARD, custom_data=f"sip:phone@{LOOPBACK}:{phone.port}")
    page = open_browser(pages, tones, d, tmp_path)
    page.do(op="eval", js=f"window.dial('sip:forward@{LOOPBACK}:{d.sip_port}')")
    wait_js(page, "window.events.includes('confirmed') && window.events.includes('pc:connected')")
    phone.wait_event("confirmed", 10)

    # The browser hears the phone's tone (Opus from Dialtone, G.711 from the phone).
    wait_js(page, f"Math.abs(window.heardHz() - {PHONE_HZ}) < {PHONE_HZ * 0.06}", 10)
    samples = heard(page, 2.0)
    assert near(samples, PHONE_HZ), samples

    page.do(op="eval", js="window.session.terminate(); true")
    wait_js(page, "window.events.some(e => e.startsWith('ended'))", 10)
    ended = phone.wait_event("disconnected", 10)
    assert ended["connected"], ended
    assert phone.wait_exit(10) == 0
    # The phone heard the browser's microphone.
    a = audio.assert_tone(heard_by_phone, BROWSER_HZ)
    print(f"browser heard {samples}\nphone heard {a}")
    d.assert_alive()


PASSWORD = "webrtc-secret-1"
# A caller is put through to ann's phones (callUser); what happens to the
# browser's leg is logged.
TO_ANN = """
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var out = VoxEngine.callUser({username: "ann", callerid: e.callerid});
  out.handleTones(true);
  out.addEventListener(CallEvents.OnHold, function () { Logger.write("ann: on hold"); });
  out.addEventListener(CallEvents.OffHold, function () { Logger.write("ann: off hold"); });
  out.addEventListener(CallEvents.ToneReceived, function (t) { Logger.write("ann: tone " + t.tone); });
  out.addEventListener(CallEvents.Connected, function () {
    e.call.answer();
    VoxEngine.sendMediaBetween(e.call, out);
  });
  out.addEventListener(CallEvents.Failed, function (f) { e.call.reject(f.code); });
  out.addEventListener(CallEvents.Disconnected, function () { e.call.hangup(); VoxEngine.terminate(); });
  e.call.addEventListener(CallEvents.Disconnected, function () { out.hangup(); VoxEngine.terminate(); });
});
"""


def set_up_office(d) -> str:
    _, acct = call(d, "POST", "/v1/accounts", {"name": "office"})
    key = acct["apiKey"]
    claim(d, key, domain="acme.test")
    claim(d, key, number="2000")
    assert call(d, "PUT", "/v1/applications/office", key=key)[0] == 201
    assert call(d, "PUT", "/v1/applications/office/scenarios/to-ann", TO_ANN,
                "application/javascript", key)[0] == 201
    status, rule = call(d, "POST", "/v1/applications/office/rules",
                        {"name": "ann", "pattern": "2000", "scenarios": ["to-ann"]}, key=key)
    assert status == 201, rule
    assert call(d, "PUT", "/v1/applications/office/users/ann", {"password": PASSWORD},
                key=key)[0] == 201
    return key


def test_a_sip_phone_calls_a_registered_browser_hold_and_dtmf_from_the_browser(
        registry, agent, tones, tmp_path, pages):  # noqa: F811
    d = start_serve(registry, tmp_path)
    set_up_office(d)
    page = registered_browser(pages, tones, d, tmp_path, "sip:ann@office.acme.test", PASSWORD)

    heard_by_phone = tmp_path / "heard_by_phone.wav"
    phone = agent("call", f"sip:2000@{d.sip_uri_host}", name="phone",
                  play=tones.wav(PHONE_HZ, rate=16000), record=heard_by_phone,
                  no_telephone_event=True, duration=14.0, max_time=60)
    phone.wait_event("confirmed", 20)
    wait_js(page, "window.events.includes('confirmed')")
    wait_js(page, f"Math.abs(window.heardHz() - {PHONE_HZ}) < {PHONE_HZ * 0.06}", 10)
    samples = heard(page, 1.5)
    assert near(samples, PHONE_HZ), samples

    # Hold from the browser: a re-INVITE (sendonly) the call core answers;
    # the scenario hears OnHold, then OffHold.
    mark = d.mark()
    # JsSIP's hold() and unhold() say false, and do nothing, while an offer
    # is still under way (the call's UPDATE, then the hold's re-INVITE until
    # its ACK): ask again until it is taken.
    wait_js(page, "window.session.hold()")
    wait_js(page, "window.events.includes('hold')")
    d.wait_for(r"ann: on hold", timeout=10, start=mark)
    wait_js(page, "window.session.unhold()")
    wait_js(page, "window.events.includes('unhold')")
    d.wait_for(r"ann: off hold", timeout=10, start=mark)
    # Audio both ways again after the hold.
    wait_js(page, f"Math.abs(window.heardHz() - {PHONE_HZ}) < {PHONE_HZ * 0.06}", 10)

    # DTMF from the browser (JsSIP sends SIP INFO): ToneReceived.
    page.do(op="eval", js="window.session.sendDTMF('5'); true")
    d.wait_for(r"ann: tone 5", timeout=10, start=mark)

    ended = phone.wait_event("disconnected", 30)
    assert ended["connected"], ended
    wait_js(page, "window.events.some(e => e.startsWith('ended'))", 10)
    assert phone.wait_exit(10) == 0
    a = audio.assert_tone(heard_by_phone, BROWSER_HZ)
    print(f"browser heard {samples}\nphone heard {a}")
    d.assert_alive()


def levels(page, freqs: tuple[float, ...], seconds: float = 1.5) -> dict[float, float]:
    """The browser's median level (dB) at each frequency, sampled every 100 ms."""
    got = page.do(op="eval", timeout=int(seconds * 1000) + 5000, js=f"""(async () => {{
        const out = [];
        for (let i = 0; i < {int(seconds * 10)}; i++) {{
          out.push({list(freqs)}.map(window.levelAt));
          await new Promise(r => setTimeout(r, 100));
        }}
        return out;
      }})()""")["value"]
    return {hz: sorted(row[k] for row in got)[len(got) // 2] for k, hz in enumerate(freqs)}


def test_a_browser_in_a_conference_hears_the_others_and_not_itself(
        media_dialtone, agent, tones, tmp_path, pages):  # noqa: F811
    """scripts/conference.js with the browser as its caller and two PJSIP
    parties: the mixer gives the browser both others and not its own voice,
    and each phone hears the browser."""
    a_hz, b_hz = 1200.0, 700.0
    recs = {k: tmp_path / f"heard_by_{k}.wav" for k in "ab"}
    a = agent("answer", name="a", play=tones.wav(a_hz, rate=16000), record=recs["a"],
              codec="PCMU", max_time=60)
    b = agent("answer", name="b", play=tones.wav(b_hz, rate=16000), record=recs["b"],
              codec="PCMU", max_time=60)
    d = media_dialtone(SCRIPTS / "conference.js",
                       custom_data=f"sip:a@{LOOPBACK}:{a.port},sip:b@{LOOPBACK}:{b.port}")
    page = open_browser(pages, tones, d, tmp_path)
    page.do(op="eval", js=f"window.dial('sip:800@{LOOPBACK}:{d.sip_port}')")
    wait_js(page, "window.events.includes('confirmed') && window.events.includes('pc:connected')")
    d.wait_for(r"conference: BOTH endpoint added, 3 in", 15)
    wait_js(page, f"window.levelAt({a_hz}) > -60 && window.levelAt({b_hz}) > -60", 10)
    got = levels(page, (a_hz, b_hz, BROWSER_HZ))
    print(f"browser levels: {got}")
    assert got[a_hz] > -60 and got[b_hz] > -60, got
    # Its own voice is not sent back: well below the others.
    assert got[BROWSER_HZ] < min(got[a_hz], got[b_hz]) - 25, got
    page.do(op="eval", js="window.session.terminate(); true")
    for p in (a, b):
        p.wait_event("disconnected", 10)
    d.wait_for(r"conference: stopped", 10)
    assert a.wait_exit(10) == 0 and b.wait_exit(10) == 0
    for k, hz in (("a", b_hz), ("b", a_hz)):
        samples, rate = audio.read_wav(recs[k])
        lv = audio.band_levels(samples[rate:], rate, (BROWSER_HZ, hz))
        assert lv[BROWSER_HZ] > 0.05 and lv[hz] > 0.05, (k, lv)
    d.assert_alive()


def test_a_browser_call_is_recorded_in_stereo(media_dialtone, agent, tones, tmp_path,
                                              pages):  # noqa: F811
    """scripts/record_bridge.js records the browser's call: left is what the
    browser sends, right what it hears."""
    phone = agent("answer", name="phone", play=tones.wav(PHONE_HZ, rate=16000), max_time=60)
    d = media_dialtone(RECORD_BRIDGE, custom_data=f"sip:phone@{LOOPBACK}:{phone.port}")
    page = open_browser(pages, tones, d, tmp_path)
    page.do(op="eval", js=f"window.dial('sip:rec@{LOOPBACK}:{d.sip_port}')")
    wait_js(page, "window.events.includes('confirmed') && window.events.includes('pc:connected')")
    url = record_url(d, "Call.RecordStarted", timeout=15)
    wait_js(page, f"Math.abs(window.heardHz() - {PHONE_HZ}) < {PHONE_HZ * 0.06}", 10)
    heard(page, 2.0)
    page.do(op="eval", js="window.session.terminate(); true")
    phone.wait_event("disconnected", 10)
    d.wait_for(rf"{event_rx('Call.RecordStopped')}|{event_rx('Application.Terminated')}",
               timeout=15)
    got = fetch(url, tmp_path / "stereo.wav")
    data, rate = audio.read_wav_channels(got)
    assert data.shape[1] == 2, data.shape
    body = slice(int(0.5 * rate), max(int(0.5 * rate) + 1, len(data) - int(0.2 * rate)))
    lv = audio.band_levels(data[body, 0], rate, (BROWSER_HZ, PHONE_HZ))
    rv = audio.band_levels(data[body, 1], rate, (BROWSER_HZ, PHONE_HZ))
    print(f"left {lv} right {rv}")
    assert lv[BROWSER_HZ] > 0.3 and lv[BROWSER_HZ] > 10 * lv[PHONE_HZ], lv
    assert rv[PHONE_HZ] > 0.3 and rv[PHONE_HZ] > 10 * rv[BROWSER_HZ], rv
    d.assert_alive()


def test_two_browsers_bridged_stay_wideband(registry, tones, tmp_path, pages):  # noqa: F811
    """A browser calls a number whose scenario rings a second browser (a
    registered user) and bridges them: Opus passes from one to the other
    untouched, so a 6 kHz tone (which no 8 kHz G.711 path can carry) is
    heard by the far browser."""
    wide_hz = 6000.0
    d = start_serve(registry, tmp_path)
    set_up_office(d)
    callee = registered_browser(pages, tones, d, tmp_path, "sip:ann@office.acme.test",
                                PASSWORD)
    caller = open_browser(pages, tones, d, tmp_path, wide_hz)
    caller.do(op="eval", js=f"window.dial('sip:2000@{d.sip_uri_host}')")
    wait_js(caller, "window.events.includes('confirmed') && window.events.includes('pc:connected')")
    wait_js(callee, "window.events.includes('confirmed')")

    wait_js(callee, f"Math.abs(window.heardHz() - {wide_hz}) < {wide_hz * 0.03}", 10)
    far = heard(callee, 1.5)
    assert near(far, wide_hz, tol=0.03), far
    wait_js(caller, f"Math.abs(window.heardHz() - {BROWSER_HZ}) < {BROWSER_HZ * 0.06}", 10)
    back = heard(caller, 1.5)
    assert near(back, BROWSER_HZ), back
    print(f"callee heard {far[:5]}..., caller heard {back[:5]}...")
    caller.do(op="eval", js="window.session.terminate(); true")
    wait_js(callee, "window.events.some(e => e.startsWith('ended'))", 10)
    d.assert_alive()


def test_a_browser_is_an_agents_phone(registry, agent, tones, tmp_path, pages):  # noqa: F811
    """The contact centre with a browser for the agent's phone: a queue call
    rings the agent's registered JsSIP, which answers; the desktop (CTI) sees
    the agent talking, and customer and agent hear each other."""
    from test_cti import PASSWORD as AGENT_PASSWORD, Desk, set_up_centre

    d = start_serve(registry, tmp_path)
    _, account = set_up_centre(d, {"ann": ["support"]})
    page = registered_browser(pages, tones, d, tmp_path, "sip:ann@centre.acme.test",
                              AGENT_PASSWORD)
    ann = Desk(d, {"command": "login", "account": account, "agent": "ann",
                   "password": AGENT_PASSWORD})
    assert ann.command({"command": "ready"})["type"] == "ack"

    heard_by_customer = tmp_path / "heard_by_customer.wav"
    customer = agent("call", f"sip:support@{d.sip_uri_host}", name="customer",
                     play=tones.wav(PHONE_HZ), record=heard_by_customer,
                     no_telephone_event=True, duration=8.0, max_time=40)
    ann.wait_event(event="agentState", agent="ann", state="talking", timeout=20)
    wait_js(page, "window.events.includes('confirmed')")
    wait_js(page, f"Math.abs(window.heardHz() - {PHONE_HZ}) < {PHONE_HZ * 0.06}", 10)
    samples = heard(page, 1.5)
    assert near(samples, PHONE_HZ), samples
    customer.wait_event("disconnected", 20)
    wait_js(page, "window.events.some(e => e.startsWith('ended'))", 10)
    assert customer.wait_exit(10) == 0
    a = audio.assert_tone(heard_by_customer, BROWSER_HZ)
    print(f"agent's browser heard {samples[:3]}..., customer heard {a}")
    ann.close()
    d.assert_alive()


WIDE_CONFERENCE = """
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var conf = VoxEngine.createConference();
  var legs = [];
  e.call.addEventListener(CallEvents.Connected, function () {
    VoxEngine.sendMediaBetween(e.call, conf);
    legs.push(VoxEngine.callUser({username: "ann", callerid: e.callerid}));
    legs.push(VoxEngine.callSIP("PHONE", {callerid: e.callerid}));
    legs.forEach(function (leg) {
      leg.addEventListener(CallEvents.Connected, function () {
        conf.add({call: leg, mode: "MIX", direction: "BOTH"});
        Logger.write("wide: " + conf.getList().length + " in");
      });
    });
  });
  e.call.addEventListener(CallEvents.Disconnected, function () {
    legs.forEach(function (leg) { leg.hangup(); });
    VoxEngine.terminate();
  });
  e.call.answer();
});
"""


def test_browsers_in_a_conference_hear_each_other_in_wideband(registry, agent, tones, tmp_path,
                                                              pages):  # noqa: F811
    """Two browsers and a SIP phone in one conference: the browsers' mix is
    made at 16 kHz, so a 6 kHz tone of one browser reaches the other (no
    8 kHz mix could carry it), while the phone hears the G.711 mix."""
    wide_hz = 6000.0
    heard_by_phone = tmp_path / "heard_by_phone.wav"
    phone = agent("answer", name="phone", play=tones.wav(PHONE_HZ, rate=16000),
                  record=heard_by_phone, max_time=60)
    d = start_serve(registry, tmp_path, egress_allow="127.0.0.1")
    key = set_up_office(d)
    scenario = WIDE_CONFERENCE.replace("PHONE", f"sip:phone@{LOOPBACK}:{phone.port}")
    assert call(d, "PUT", "/v1/applications/office/scenarios/to-ann", scenario,
                "application/javascript", key)[0] == 201
    ann = registered_browser(pages, tones, d, tmp_path, "sip:ann@office.acme.test", PASSWORD)
    caller = open_browser(pages, tones, d, tmp_path, wide_hz)
    caller.do(op="eval", js=f"window.dial('sip:2000@{d.sip_uri_host}')")
    wait_js(caller, "window.events.includes('confirmed') && window.events.includes('pc:connected')")
    d.wait_for(r"wide: 3 in", timeout=15)

    wait_js(ann, f"window.levelAt({wide_hz}) > -60 && window.levelAt({PHONE_HZ}) > -60", 10)
    got = levels(ann, (wide_hz, PHONE_HZ, BROWSER_HZ))
    print(f"ann hears {got}")
    assert got[wide_hz] > -60 and got[PHONE_HZ] > -60, got
    assert got[BROWSER_HZ] < min(got[wide_hz], got[PHONE_HZ]) - 25, got
    wait_js(caller, f"window.levelAt({BROWSER_HZ}) > -60", 10)
    back = levels(caller, (BROWSER_HZ, PHONE_HZ, wide_hz))
    print(f"the caller hears {back}")
    assert back[BROWSER_HZ] > -60 and back[PHONE_HZ] > -60, back
    assert back[wide_hz] < min(back[BROWSER_HZ], back[PHONE_HZ]) - 25, back

    caller.do(op="eval", js="window.session.terminate(); true")
    phone.wait_event("disconnected", 10)
    assert phone.wait_exit(10) == 0
    samples, rate = audio.read_wav(heard_by_phone)
    lv = audio.band_levels(samples[rate:], rate, (BROWSER_HZ, PHONE_HZ))
    assert lv[BROWSER_HZ] > 0.05, lv
    d.assert_alive()


HOLDS_THE_BROWSER = """
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  call.addEventListener(CallEvents.Connected, function () {
    VoxEngine.sendMediaBetween(call, call);
    setTimeout(function () { Logger.write("holder: hold"); call.hold(); }, 1000);
    setTimeout(function () { Logger.write("holder: unhold"); call.unhold(); }, 3000);
  });
  call.addEventListener(CallEvents.Disconnected, function () { VoxEngine.terminate(); });
  call.answer();
});
"""


def test_the_scenario_holds_and_retrieves_a_browser(media_dialtone, tones, tmp_path,
                                                    pages):  # noqa: F811
    """`call.hold()` on a browser's call: Dialtone's re-INVITE (a WebRTC
    offer, sendonly) is taken by the browser, which says it is held; after
    `unhold()` the echo is heard again."""
    script = tmp_path / "holder.js"
    script.write_text(HOLDS_THE_BROWSER)
    d = media_dialtone(script)
    page = open_browser(pages, tones, d, tmp_path)
    page.do(op="eval", js=f"window.dial('sip:hold@{LOOPBACK}:{d.sip_port}')")
    wait_js(page, "window.events.includes('confirmed') && window.events.includes('pc:connected')")
    wait_js(page, f"Math.abs(window.heardHz() - {BROWSER_HZ}) < {BROWSER_HZ * 0.06}", 10)
    wait_js(page, "window.events.includes('hold')", 10)
    d.wait_for(r"holder: hold", timeout=5)
    wait_js(page, "window.events.includes('unhold')", 10)
    # The echo comes back once retrieved.
    wait_js(page, f"Math.abs(window.heardHz() - {BROWSER_HZ}) < {BROWSER_HZ * 0.06}", 10)
    page.do(op="eval", js="window.session.terminate(); true")
    d.assert_alive()
