"""The CTI WebSocket with a real WebSocket client (the `websockets`
package): an agent logs in with its phone's password and changes state, an
integration with an API key and a supervisor see the agent's events, each
command is acknowledged or refused with the seeds' error types, a queue
call brings newInboundCall and dialogState events, and a desktop that drops
and reconnects with its last sequence number misses none. Mute is checked
in what the customer hears: the agent's tone stops for as long as the
agent is muted."""

from __future__ import annotations

import json
import time

from websockets.sync.client import connect

import audio
from harness import wait_until
from test_serve import SCRIPTS, call, claim, start_serve

PASSWORD = "agent phone pw"
MUTED_S = 3.0


def set_up_centre(d, agents: dict[str, list[str]], supervisors: dict[str, list[str]] | None = None,
                  ) -> tuple[str, str]:
    """An account with application "centre" (domain acme.test), the number
    "support" running scripts/queue.js, a queue (no after-call work) for
    every queue named, and an agent with a phone user (PASSWORD) for each of
    `agents` and `supervisors` (id → queues). Returns (API key, account id)."""
    _, acct = call(d, "POST", "/v1/accounts", {"name": "centre"})
    key, account = acct["apiKey"], acct["id"]
    claim(d, key, domain="acme.test")
    claim(d, key, number="support")
    assert call(d, "PUT", "/v1/applications/centre", key=key)[0] == 201
    assert call(d, "PUT", "/v1/applications/centre/scenarios/queue",
                (SCRIPTS / "queue.js").read_text(), "application/javascript", key)[0] == 201
    assert call(d, "POST", "/v1/applications/centre/rules",
                {"name": "support", "pattern": "support", "scenarios": ["queue"]}, key=key)[0] == 201
    people = [(name, queues, "agent") for name, queues in agents.items()]
    people += [(name, queues, "supervisor") for name, queues in (supervisors or {}).items()]
    for queue in sorted({q for _, queues, _ in people for q in queues}):
        assert call(d, "PUT", f"/v1/queues/{queue}", {"afterCallWork": 0}, key=key)[0] == 201
    for name, queues, role in people:
        assert call(d, "PUT", f"/v1/applications/centre/users/{name}",
                    {"password": PASSWORD}, key=key)[0] == 201
        status, body = call(d, "PUT", f"/v1/agents/{name}",
                            {"application": "centre", "user": name, "role": role,
                             "queues": queues}, key=key)
        assert status == 201, body
    return key, account


class Desk:
    """One CTI connection: commands answered in order, events collected."""

    def __init__(self, d, first: dict):
        self._connection = connect(f"ws://127.0.0.1:{d.http_port}/v1/cti", open_timeout=10)
        self.ws = self._connection.__enter__()
        self.events: list[dict] = []
        self.states: list[dict] = []
        self.next_id = 0
        self.login = self.command(first)

    def _read(self, timeout: float) -> dict | None:
        try:
            msg = json.loads(self.ws.recv(timeout=timeout))
        except TimeoutError:
            return None
        if msg.get("type") == "event":
            self.events.append(msg)
        elif msg.get("type") == "state":
            self.states.append(msg)
        return msg

    def command(self, body: dict, timeout: float = 10) -> dict:
        self.next_id += 1
        body = {"id": str(self.next_id), **body}
        self.ws.send(json.dumps(body))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self._read(deadline - time.monotonic())
            if msg and msg.get("type") in ("ack", "error") and msg.get("id") == body["id"]:
                return msg
        raise AssertionError(f"no answer to {body}")

    def wait_event(self, timeout: float = 15, after_seq: int = -1, **match) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e.get("seq", 0) > after_seq and all(e.get(k) == v for k, v in match.items()):
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no event {match}: {self.events}")
            self._read(min(left, 0.5))

    def wait_state(self, agent: str, timeout: float = 10) -> dict:
        """The current-state message about `agent` sent after (re)login."""
        deadline = time.monotonic() + timeout
        while True:
            for s in self.states:
                if s["agent"] == agent:
                    return s
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no state of {agent}: {self.states}")
            self._read(min(left, 0.5))

    def last_seq(self) -> int:
        return max((e["seq"] for e in self.events), default=self.login.get("lastSeq", 0))

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


def test_desktops_follow_agents_and_calls_and_resume_after_a_drop(registry, agent, tones, tmp_path):
    d = start_serve(registry, tmp_path)
    heard_by_customer = tmp_path / "heard_by_customer.wav"
    key, account = set_up_centre(d, {"ann": ["support"]}, {"sup": ["support"]})

    # Wrong password, wrong key: refused.
    bad = Desk(d, {"command": "login", "account": account, "agent": "ann", "password": "nope"})
    assert bad.login["type"] == "error" and bad.login["errorType"] == "notAllowed", bad.login
    bad.close()

    integration = Desk(d, {"command": "authenticate", "apiKey": key})
    assert integration.login["type"] == "ack" and integration.login["role"] == "integration"
    sup = Desk(d, {"command": "login", "account": account, "agent": "sup", "password": PASSWORD})
    assert sup.login["role"] == "supervisor", sup.login
    ann = Desk(d, {"command": "login", "account": account, "agent": "ann", "password": PASSWORD})
    assert ann.login["type"] == "ack" and ann.login["role"] == "agent", ann.login
    ann.wait_event(event="agentState", agent="ann", state="notReady")

    # The seeds' errors: invalidState, notAllowed, generalError.
    r = ann.command({"command": "completeAfterCallWork"})
    assert r["type"] == "error" and r["errorType"] == "invalidState", r
    r = ann.command({"command": "ready", "agent": "sup"})
    assert r["type"] == "error" and r["errorType"] == "notAllowed", r
    r = ann.command({"command": "delayAfterCallWork", "seconds": 30})
    assert r["type"] == "error" and r["errorType"] == "invalidState", r
    r = ann.command({"command": "delayAfterCallWork", "seconds": 0})
    assert r["type"] == "error" and r["errorType"] == "generalError", r
    r = ann.command({"command": "dance"})
    assert r["type"] == "error" and r["errorType"] == "generalError", r
    r = sup.command({"command": "ready"})
    assert r["type"] == "error" and r["errorType"] == "notAllowed", r

    r = ann.command({"command": "notReady", "reason": "coffee"})
    assert r["type"] == "ack" and r["agent"]["state"] == "notReady" and r["agent"]["reason"] == "coffee"
    # A supervisor makes the agent of its queue ready.
    r = sup.command({"command": "ready", "agent": "ann"})
    assert r["type"] == "ack" and r["agent"]["state"] == "ready", r
    for desk in (ann, sup, integration):
        desk.wait_event(event="agentState", agent="ann", state="ready")
    r = integration.command({"command": "queryAgents"})
    assert {a["agent"]: a["state"] for a in r["agents"]} == {"ann": "ready", "sup": "loggedOut"} \
        or {a["agent"]: a["state"] for a in r["agents"]}["ann"] == "ready", r
    r = ann.command({"command": "queryQueues"})
    assert r["queues"][0]["queue"] == "support", r

    # ann's phone registers; a customer calls the queue.
    phone = agent("answer", name="ann-phone", register="sip:ann@centre.acme.test",
                  registrar=f"sip:127.0.0.1:{d.sip_port}", password=PASSWORD,
                  play=tones.wav(1200.0, rate=16000), max_time=60,
                  mode_opts=["--answer-delay", "2"])
    assert phone.wait_event("reg_state", timeout=10)["code"] == 200, phone.describe_events()
    customer = agent("call", f"sip:support@{d.sip_uri_host}", name="customer",
                     play=tones.wav(440.0), record=heard_by_customer, no_telephone_event=True,
                     duration=40.0, max_time=70)
    offered = ann.wait_event(event="newInboundCall", agent="ann")
    assert offered["queue"] == "support", offered
    ann.wait_event(event="dialogState", state="alerting", call=offered["call"])
    # The desktop drops while the phone rings, and comes back.
    seen = ann.last_seq()
    ann.close()
    phone.wait_event("confirmed", 15)
    customer.wait_event("confirmed", 5)
    sup.wait_event(event="dialogState", state="active", call=offered["call"])
    ann = Desk(d, {"command": "login", "account": account, "agent": "ann",
                   "password": PASSWORD, "lastSeq": seen})
    assert ann.login["resumed"] is True, ann.login
    # What happened meanwhile comes first, in order, then the current state.
    active = ann.wait_event(event="dialogState", state="active", call=offered["call"])
    talking = ann.wait_event(event="agentState", agent="ann", state="talking")
    assert seen < talking["seq"] and active["seq"] > seen, (seen, talking, active)
    assert ann.wait_state("ann")["state"] == "talking", ann.states
    seqs = [e["seq"] for e in ann.events]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)), seqs
    # Call control from the desktop: hold (the phone sees the re-INVITE),
    # retrieve, DTMF, then release ends the call.
    r = ann.command({"command": "hold"})
    assert r["type"] == "ack" and r["agent"]["state"] == "held", r
    ann.wait_event(event="dialogState", state="held", call=offered["call"])
    phone.wait_event("media", 10, status_name="REMOTE_HOLD")
    r = ann.command({"command": "hold"})
    assert r["type"] == "error" and r["errorType"] == "invalidState", r
    r = ann.command({"command": "retrieve"})
    assert r["type"] == "ack" and r["agent"]["state"] == "talking", r
    r = ann.command({"command": "sendDtmf", "digits": "12#"})
    assert r["type"] == "ack", r
    # Mute: the customer stops hearing the agent for MUTED_S, then hears
    # it again. (The pauses shape the audio; every step waits on events.)
    time.sleep(1.5)
    r = ann.command({"command": "mute"})
    assert r["type"] == "ack" and r["agent"]["state"] == "talking", r
    muted = ann.wait_event(event="dialogState", call=offered["call"], mute=True)
    assert muted["state"] == "active", muted
    calls = ann.command({"command": "queryCalls"})["calls"]
    assert [(c["call"], c["state"], c["mute"]) for c in calls] == [(offered["call"], "active", True)]
    time.sleep(MUTED_S)
    r = ann.command({"command": "unmute"})
    assert r["type"] == "ack", r
    ann.wait_event(event="dialogState", call=offered["call"], mute=False, state="active",
                   after_seq=muted["seq"])
    time.sleep(2.0)
    r = ann.command({"command": "release"})
    assert r["type"] == "ack", r
    # The call ends: dropped, and (no after-call work) ready again.
    customer.wait_event("disconnected", 20)
    assert customer.wait_exit(10) == 0
    # The agent's tone, a silence as long as the mute, the agent's tone.
    samples, rate = audio.read_wav(heard_by_customer)
    runs = audio.active_runs(samples, rate, threshold_dbfs=-35.0)
    gaps = [(a + la, b - (a + la)) for (a, la), (b, _) in zip(runs, runs[1:])]
    mute_gaps = [(at, gap) for at, gap in gaps if MUTED_S - 0.8 <= gap <= MUTED_S + 0.8]
    assert len(mute_gaps) == 1, (runs, gaps)
    at, gap = mute_gaps[0]
    assert abs(audio.tone_between(heard_by_customer, at - 1.0, at - 0.1)[0] - 1200.0) < 40, runs
    assert abs(audio.tone_between(heard_by_customer, at + gap + 0.1, at + gap + 1.0)[0] - 1200.0) < 40
    ann.wait_event(event="dialogState", state="dropped", call=offered["call"])
    ann.wait_event(event="agentState", agent="ann", state="ready", timeout=10)
    # Queue figures reach the queue's supervisor as they change (the call
    # was answered), never an agent.
    stats = sup.wait_event(event="queueStats", queue="support", answered=1, timeout=10)
    assert stats["waiting"] == 0 and stats["abandoned"] == 0, stats
    assert not [e for e in ann.events if e["event"] == "queueStats"], ann.events
    # The integration saw every one of ann's events, numbered without gaps
    # in its account.
    integration.wait_event(event="dialogState", state="dropped", call=offered["call"])
    all_seqs = [e["seq"] for e in integration.events]
    assert all_seqs == list(range(all_seqs[0], all_seqs[0] + len(all_seqs))), all_seqs
    # An integration may give its key in the upgrade request instead, and
    # resume from a number there.
    with connect(f"ws://127.0.0.1:{d.http_port}/v1/cti?lastSeq={all_seqs[0] - 1}",
                 additional_headers={"Authorization": f"Bearer {key}"}, open_timeout=10) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "ack" and hello["role"] == "integration", hello
        replayed = json.loads(ws.recv(timeout=10))
        assert replayed["type"] == "event" and replayed["seq"] == all_seqs[0], replayed
    try:
        with connect(f"ws://127.0.0.1:{d.http_port}/v1/cti",
                     additional_headers={"Authorization": "Bearer wrong"}, open_timeout=10):
            raise AssertionError("a wrong key was let in")
    except Exception as e:  # noqa: BLE001 - the handshake's rejection
        assert "401" in str(e), e
    for desk in (ann, sup, integration):
        desk.close()
    d.assert_alive()
