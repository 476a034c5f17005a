// Dialtone's browser softphone: JsSIP over this page's own origin (`/sip`,
// SIP over WebSocket), one call at a time. `window.phone` is what the
// buttons call, and what tests drive; `phone.state()` says where it is.
import JsSIP from "jssip/lib/JsSIP.js";

const $ = (id) => document.getElementById(id);

// What the page shows and `state()` returns.
const state = {
  registration: "unregistered", // registering | registered | unregistered | failed
  call: "idle", // idle | calling | ringing | incoming | connected | ended | failed
  held: false,
  peer: "",
  cause: "", // why the last registration or call failed or ended
  transfer: "", // the last transfer: sent | accepted (202) | completed | failed
};

let ua = null;
let session = null;

function show() {
  const parts = [`registration: ${state.registration}`, `call: ${state.call}`];
  if (state.peer) parts.push(state.peer);
  if (state.held) parts.push("on hold");
  if (state.cause) parts.push(`(${state.cause})`);
  if (state.transfer) parts.push(`transfer: ${state.transfer}`);
  $("status").textContent = parts.join(" · ");
  $("registration").textContent = state.registration;
  $("call-state").textContent = state.call;
  const live = session !== null;
  $("answer").disabled = !(live && state.call === "incoming");
  $("hangup").disabled = !live;
  const talking = live && state.call === "connected";
  // Our own hold (the other side may hold us too: that shows as "on hold").
  const holding = talking && session.isOnHold().local;
  $("hold").disabled = !talking || holding;
  $("unhold").disabled = !holding;
  $("transfer").disabled = !talking;
  for (const key of document.querySelectorAll("#keypad button")) key.disabled = !talking;
  $("call").disabled = live || state.registration !== "registered";
  $("unregister").disabled = state.registration !== "registered";
}

function set(changes) {
  Object.assign(state, changes);
  show();
}

/// The WebSocket SIP endpoint of the server that served this page.
function sipUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/sip`;
}

/// `domain` may be a domain (`support.example.com`) or a whole SIP URI
/// (`sip:alice@support.example.com`), which then wins over `user`.
function addressOf(user, domain) {
  const d = String(domain).trim();
  if (d.startsWith("sip:") || d.startsWith("sips:")) return d;
  if (d.includes("@")) return `sip:${d}`;
  return `sip:${String(user).trim()}@${d}`;
}

function playRemote(connection) {
  const audio = $("remote-audio");
  const attach = () => {
    const tracks = connection.getReceivers().map((r) => r.track).filter((t) => t);
    if (tracks.length) audio.srcObject = new MediaStream(tracks);
  };
  connection.addEventListener("track", attach);
  attach();
}

function follow(s) {
  session = s;
  s.on("peerconnection", (e) => playRemote(e.peerconnection));
  if (s.connection) playRemote(s.connection);
  s.on("progress", () => {
    if (s.direction === "outgoing") set({ call: "ringing" });
  });
  s.on("accepted", () => set({ call: "connected", cause: "" }));
  s.on("confirmed", () => set({ call: "connected" }));
  // Either side's hold: "held" while any is on.
  const heldNow = () => {
    const h = s.isOnHold();
    set({ held: h.local || h.remote });
  };
  s.on("hold", heldNow);
  s.on("unhold", heldNow);
  const over = (call) => (e) => {
    if (session !== s) return;
    session = null;
    $("remote-audio").srcObject = null;
    set({ call, held: false, cause: e.cause || "" });
  };
  s.on("ended", over("ended"));
  s.on("failed", over("failed"));
}

const MEDIA = { mediaConstraints: { audio: true, video: false } };

/// Fails with an Error the buttons show on the status line.
function needSession() {
  if (!session) throw new Error("no call");
  return session;
}

const phone = {
  register(user, password, domain) {
    if (ua) ua.stop();
    const uri = addressOf(user, domain);
    const parsed = JsSIP.URI.parse(uri);
    if (!parsed) throw new Error(`not a SIP address: ${uri}`);
    ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(sipUrl())],
      uri,
      authorization_user: parsed.user,
      password,
      register: true,
      session_timers: false,
    });
    ua.on("registered", () => set({ registration: "registered", cause: "" }));
    ua.on("unregistered", () => set({ registration: "unregistered" }));
    ua.on("registrationFailed", (e) => set({ registration: "failed", cause: e.cause || "" }));
    ua.on("disconnected", () => {
      if (state.registration === "registered") set({ registration: "unregistered", cause: "disconnected" });
    });
    ua.on("newRTCSession", (e) => {
      if (e.originator !== "remote") return;
      if (session) {
        e.session.terminate({ status_code: 486 });
        return;
      }
      follow(e.session);
      set({ call: "incoming", peer: e.request.from.uri.toString(), cause: "", transfer: "" });
    });
    set({ registration: "registering", cause: "" });
    ua.start();
  },
  unregister() {
    if (ua) ua.unregister();
  },
  call(target) {
    if (!ua) throw new Error("not registered");
    if (session) throw new Error("already in a call");
    set({ call: "calling", peer: String(target), cause: "", transfer: "" });
    follow(ua.call(String(target).trim(), {
      ...MEDIA,
      pcConfig: { iceServers: [] },
    }));
  },
  answer() {
    const s = needSession();
    if (s.direction !== "incoming") throw new Error("no incoming call");
    s.answer(MEDIA);
  },
  hangup() {
    needSession().terminate();
  },
  async hold() {
    const s = needSession();
    await readyToReOffer(s);
    if (s.hold() === false) throw new Error("cannot hold now");
  },
  async unhold() {
    const s = needSession();
    await readyToReOffer(s);
    if (s.unhold() === false) throw new Error("cannot unhold now");
  },
  dtmf(digits) {
    needSession().sendDTMF(String(digits));
  },
  transfer(target) {
    const s = needSession();
    set({ transfer: "sent" });
    s.refer(String(target).trim(), {
      eventHandlers: {
        requestSucceeded: () => set({ transfer: "accepted" }),
        requestFailed: () => set({ transfer: "failed" }),
        accepted: () => set({ transfer: "completed" }),
        failed: () => set({ transfer: "failed" }),
      },
    });
  },
  state() {
    return { ...state };
  },
  /// What the page plays: the remote party's audio (a MediaStream), or null
  /// before the call has any.
  remoteStream() {
    return $("remote-audio").srcObject || null;
  },
};

window.phone = phone;

/// Waits (2 s at most) until the call may make a new offer: JsSIP says
/// false to hold and unhold, and does nothing, while a re-INVITE or an
/// UPDATE is still under way (a hold clicked right after an unhold).
async function readyToReOffer(s) {
  for (let i = 0; i < 40 && !s.isReadyToReOffer(); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/// Runs a button's action; what goes wrong lands on the status line.
function act(fn) {
  return (event) => {
    event.preventDefault();
    // Sync or async, what goes wrong is shown.
    Promise.resolve()
      .then(fn)
      .catch((e) => set({ cause: e.message }));
  };
}

$("register-form").addEventListener("submit", act(() => {
  phone.register($("user").value, $("password").value, $("domain").value);
}));
$("unregister").addEventListener("click", act(() => phone.unregister()));
$("call").addEventListener("click", act(() => phone.call($("target").value)));
$("answer").addEventListener("click", act(() => phone.answer()));
$("hangup").addEventListener("click", act(() => phone.hangup()));
$("hold").addEventListener("click", act(() => phone.hold()));
$("unhold").addEventListener("click", act(() => phone.unhold()));
$("transfer").addEventListener("click", act(() => phone.transfer($("transfer-target").value)));
for (const key of document.querySelectorAll("#keypad button")) {
  key.addEventListener("click", act(() => phone.dtmf(key.textContent)));
}
$("domain").placeholder = `support.${location.hostname}`;
show();
