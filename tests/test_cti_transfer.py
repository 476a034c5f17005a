"""Single-step transfer from the CTI desktop: the agent hands a PJSIP
customer to another queue. The customer's scenario (scripts/queue.js) gets
BlindTransferRequested on the agent's call, as if the agent's phone had sent
a REFER, queues the customer for "billing", and bob's phone there takes the
call: the customer then hears bob's tone. bob hands the customer back to
ann by name (`agent:ann`: a request only ann takes, though she does not
serve "billing"), and the customer hears ann's tone again."""

from __future__ import annotations

import time

import audio
from test_cti import PASSWORD, Desk, set_up_centre
from test_supervisor import seconds_of
from test_serve import start_serve

ANN_HZ, BOB_HZ = 1200.0, 700.0


def test_an_agent_transfers_the_customer_to_another_queue(registry, agent, tones, tmp_path):
    d = start_serve(registry, tmp_path)
    _, account = set_up_centre(d, {"ann": ["support"], "bob": ["billing"]})

    registrar = f"sip:127.0.0.1:{d.sip_port}"
    heard_by_customer = tmp_path / "heard_by_customer.wav"
    phones = {}
    for user, hz in (("ann", ANN_HZ), ("bob", BOB_HZ)):
        phones[user] = agent("answer", name=f"{user}-phone", register=f"sip:{user}@centre.acme.test",
                             registrar=registrar, password=PASSWORD,
                             play=tones.wav(hz, rate=16000), max_time=60,
                             mode_opts=["--answer-delay", "1", "--calls", "2"])
    for phone in phones.values():
        assert phone.wait_event("reg_state", timeout=10)["code"] == 200, phone.describe_events()
    desks = {user: Desk(d, {"command": "login", "account": account, "agent": user,
                            "password": PASSWORD}) for user in ("ann", "bob")}
    for desk in desks.values():
        assert desk.command({"command": "ready"})["type"] == "ack"
    ann, bob = desks["ann"], desks["bob"]
    # Nothing to transfer yet.
    r = ann.command({"command": "singleStepTransfer", "to": "queue:billing"})
    assert r["type"] == "error" and r["errorType"] == "invalidState", r

    customer = agent("call", f"sip:support@{d.sip_uri_host}", name="customer",
                     play=tones.wav(440.0), record=heard_by_customer, no_telephone_event=True,
                     duration=40.0, max_time=70)
    offered = ann.wait_event(event="newInboundCall", agent="ann")
    # The scenario says it takes transfers of the call (handleBlindTransfer).
    ann.wait_event(event="dialogState", state="active", call=offered["call"], transferable=True)
    mark = d.mark()
    r = ann.command({"command": "singleStepTransfer", "to": "queue:billing"})
    assert r["type"] == "ack", r
    d.wait_for(r"queue: transfer to queue:billing", timeout=10, start=mark)
    # ann is out of the call (ready again); bob's phone takes it.
    phones["ann"].wait_event("disconnected", 10)
    ann.wait_event(event="dialogState", state="dropped", call=offered["call"])
    ann.wait_event(event="agentState", agent="ann", state="ready", after_seq=offered["seq"])
    moved = bob.wait_event(event="newInboundCall", agent="bob", timeout=20)
    assert moved["queue"] == "billing", moved
    bob.wait_event(event="dialogState", state="active", call=moved["call"], transferable=True)
    phones["bob"].wait_event("confirmed", 10)
    time.sleep(2.0)  # shapes the audio: bob's tone to the customer
    # bob hands the customer back to ann, by name.
    r = bob.command({"command": "singleStepTransfer", "to": "agent:ann"})
    assert r["type"] == "ack", r
    back = ann.wait_event(event="newInboundCall", agent="ann", after_seq=moved["seq"], timeout=20)
    assert back["queue"] == "billing", back
    ann.wait_event(event="dialogState", state="active", call=back["call"])
    bob.wait_event(event="agentState", agent="bob", state="ready", after_seq=moved["seq"])
    time.sleep(2.0)
    assert ann.command({"command": "release"})["type"] == "ack"
    customer.wait_event("disconnected", 20)
    assert customer.wait_exit(10) == 0
    hz, level = audio.tone_at_end(heard_by_customer, 1.0, skip_end=0.3)
    assert abs(hz - ANN_HZ) < 30, (hz, level)
    assert seconds_of(heard_by_customer, BOB_HZ) >= 1.5
    for desk in desks.values():
        desk.close()
    d.assert_alive()
