"""The ACD end to end with real phones: two PJSIP agents register as users
of the contact centre's application and are made ready over REST; a PJSIP
customer calls scripts/queue.js, which queues it. The longest idle agent's
phone rings first and is not answered within the queue's ring time: the
customer goes back to its place, that agent to not ready ("no answer"),
and the other agent's phone rings and answers. The customer hears that
agent's tone and the agent the customer's; after the call the agent wraps
up for the queue's after-call work time and is ready again. Queue figures
and agent states are read over REST."""

from __future__ import annotations

import audio
from harness import wait_until
from test_serve import SCRIPTS, call, claim, start_serve

PASSWORD = "agent phone pw"


def agent_status(d, key: str, agent: str) -> dict:
    status, body = call(d, "GET", f"/v1/agents/{agent}", key=key)
    assert status == 200, body
    return body["status"]


def test_a_queued_customer_reaches_the_next_agent_when_the_first_does_not_answer(
        registry, agent, tones, tmp_path):
    customer_hz, bob_hz = 440.0, 1200.0
    d = start_serve(registry, tmp_path)
    status, acct = call(d, "POST", "/v1/accounts", {"name": "centre"})
    key = acct["apiKey"]
    claim(d, key, domain="acme.test")
    claim(d, key, number="support")
    assert call(d, "PUT", "/v1/applications/centre", key=key)[0] == 201
    for user in ("ann", "bob"):
        assert call(d, "PUT", f"/v1/applications/centre/users/{user}",
                    {"password": PASSWORD}, key=key)[0] == 201
    assert call(d, "PUT", "/v1/applications/centre/scenarios/queue",
                (SCRIPTS / "queue.js").read_text(), "application/javascript", key)[0] == 201
    status, rule = call(d, "POST", "/v1/applications/centre/rules",
                        {"name": "support", "pattern": "support", "scenarios": ["queue"]}, key=key)
    assert status == 201, rule
    status, queue = call(d, "PUT", "/v1/queues/support",
                         {"ringTimeout": 10, "afterCallWork": 2}, key=key)
    assert status == 201, queue
    for user in ("ann", "bob"):
        status, body = call(d, "PUT", f"/v1/agents/{user}",
                            {"name": user.title(), "application": "centre", "user": user,
                             "queues": ["support"]}, key=key)
        assert status == 201, body
        assert body["status"]["state"] == "loggedOut", body

    registrar = f"sip:127.0.0.1:{d.sip_port}"
    heard_by_bob = tmp_path / "heard_by_bob.wav"
    heard_by_customer = tmp_path / "heard_by_customer.wav"
    # ann's phone never answers in time; bob's answers after a second.
    ann = agent("answer", name="ann", register="sip:ann@centre.acme.test", registrar=registrar,
                password=PASSWORD, max_time=60, mode_opts=["--answer-delay", "30"])
    bob = agent("answer", name="bob", register="sip:bob@centre.acme.test", registrar=registrar,
                password=PASSWORD, play=tones.wav(bob_hz, rate=16000), record=heard_by_bob,
                max_time=60, mode_opts=["--answer-delay", "1"])
    for phone in (ann, bob):
        assert phone.wait_event("reg_state", timeout=10)["code"] == 200, phone.describe_events()

    # ann is ready first: she has been idle longest.
    for user in ("ann", "bob"):
        for state in ("loggedIn", "ready"):
            status, body = call(d, "POST", f"/v1/agents/{user}/state", {"state": state}, key=key)
            assert status == 200, body
    status, err = call(d, "POST", "/v1/agents/ann/state", {"state": "loggedIn"}, key=key)
    assert status == 409 and err["error"]["code"] == "invalid_state", err

    mark = d.mark()
    customer = agent("call", f"sip:support@{d.sip_uri_host}", name="customer",
                     play=tones.wav(customer_hz), record=heard_by_customer,
                     no_telephone_event=True, duration=16.0, max_time=60)
    customer.wait_event("confirmed", 10)
    ann.wait_event("incoming", 10)
    d.wait_for(r"queue: waiting", timeout=10, start=mark)
    # Ten seconds of ringing later, ann's phone is cancelled and bob's rings.
    bob.wait_event("incoming", 20)
    assert not ann.wait_event("disconnected", 5)["connected"]
    d.wait_for(r"queue: ann did not answer \(408\)", timeout=5, start=mark)
    ann_status = agent_status(d, key, "ann")
    assert ann_status["state"] == "notReady" and ann_status["reason"] == "no answer", ann_status
    assert ann_status["missed"] == 1, ann_status
    bob.wait_event("confirmed", 10)
    d.wait_for(r"queue: bob answered", timeout=5, start=mark)
    assert agent_status(d, key, "bob")["state"] == "talking"

    ended = customer.wait_event("disconnected", 30)
    assert ended["connected"], ended
    assert bob.wait_event("disconnected", 10)["connected"]
    # Wrap-up for the queue's 2 s, then ready again.
    assert wait_until(lambda: agent_status(d, key, "bob")["state"] == "afterCallWork", timeout=5)
    assert wait_until(lambda: agent_status(d, key, "bob")["state"] == "ready", timeout=6)
    assert customer.wait_exit(10) == 0
    print("customer heard:", audio.assert_tone(heard_by_customer, bob_hz))
    bob.stop()
    print("bob heard:", audio.assert_tone(heard_by_bob, customer_hz))

    status, queue = call(d, "GET", "/v1/queues/support", key=key)
    stats = queue["stats"]
    assert (stats["answered"], stats["abandoned"], stats["waiting"]) == (1, 0, 0), stats
    assert stats["agents"] == {"notReady": 1, "ready": 1}, stats
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    for line in ('dialtone_acd_waiting 0', 'dialtone_acd_agents{state="ready"} 1',
                 'dialtone_acd_agents{state="notReady"} 1',
                 'dialtone_agent_state_changes_total{state="talking"} 1'):
        assert f"\n{line}\n" in text, (line, text)
    d.assert_alive()
