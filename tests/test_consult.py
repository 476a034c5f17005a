"""Consultation from the desktop with PJSIP phones, each playing its own
tone: an agent consults a second agent (the customer hears hold music and
neither agent), then consult-transfers, and the customer hears the second
agent's tone; in the other test the three talk in a conference and the
first agent hangs up, leaving the customer with the second. Checked by
frequency in what each phone recorded."""

from __future__ import annotations

import time

import audio
from test_cti import PASSWORD, Desk, set_up_centre
from test_serve import call, start_serve
from test_supervisor import seconds_of

CUSTOMER_HZ, ANN_HZ, BOB_HZ, CARRIER_HZ = 440.0, 1200.0, 900.0, 700.0
# The notes of the engine's hold music.
HOLD_HZ = (392.0, 494.0, 587.0)
PHASE_S = 3.0


def hold_music_seconds(path) -> float:
    return round(sum(seconds_of(path, hz, share=0.3) for hz in HOLD_HZ), 1)


def centre_with_two_agents(registry, agent, tones, tmp_path):
    d = start_serve(registry, tmp_path)
    _, account = set_up_centre(d, {"ann": ["support"], "bob": ["support"]})
    registrar = f"sip:127.0.0.1:{d.sip_port}"
    heard = {who: tmp_path / f"heard_by_{who}.wav" for who in ("customer", "ann", "bob")}
    phones = {}
    for name, hz in (("ann", ANN_HZ), ("bob", BOB_HZ)):
        phones[name] = agent("answer", name=f"{name}-phone",
                             register=f"sip:{name}@centre.acme.test", registrar=registrar,
                             password=PASSWORD, record=heard[name],
                             play=tones.wav(hz, rate=16000), max_time=60, control=True,
                             mode_opts=["--answer-delay", "1"])
    for phone in phones.values():
        assert phone.wait_event("reg_state", timeout=10)["code"] == 200, phone.describe_events()
    desks = {name: Desk(d, {"command": "login", "account": account, "agent": name,
                            "password": PASSWORD}) for name in ("ann", "bob")}
    # ann takes the queue's call; bob is logged in, not ready.
    assert desks["ann"].command({"command": "ready"})["type"] == "ack"
    customer = agent("call", f"sip:support@{d.sip_uri_host}", name="customer",
                     play=tones.wav(CUSTOMER_HZ), record=heard["customer"],
                     no_telephone_event=True, duration=40.0, max_time=70)
    offered = desks["ann"].wait_event(event="newInboundCall", agent="ann")
    desks["ann"].wait_event(event="dialogState", state="active", call=offered["call"])
    return d, desks, phones, customer, heard, offered["call"]


def consult_bob(desks, phones) -> dict:
    ann, bob = desks["ann"], desks["bob"]
    r = ann.command({"command": "consult", "to": "agent:bob"})
    assert r["type"] == "ack", r
    assert r["agent"]["state"] == "held", r
    ann.wait_event(event="dialogState", agent="ann", state="held")
    ann.wait_event(event="consultCall", role="consulting", to="agent:bob", state="alerting")
    bob.wait_event(event="consultCall", role="consulted", agent="ann", state="alerting")
    phones["bob"].wait_event("confirmed", 10)
    active = ann.wait_event(event="consultCall", role="consulting", state="active")
    bob.wait_event(event="agentState", agent="bob", state="talking")
    return active


def test_consult_then_transfer_to_a_second_agent(registry, agent, tones, tmp_path):
    d, desks, phones, customer, heard, call = centre_with_two_agents(
        registry, agent, tones, tmp_path)
    ann, bob = desks["ann"], desks["bob"]
    time.sleep(1.0)  # shapes the audio; the checks read the recordings
    # Nothing to transfer before a consult.
    r = ann.command({"command": "consultTransfer"})
    assert r["type"] == "error" and r["errorType"] == "invalidState", r
    consult_bob(desks, phones)
    time.sleep(PHASE_S)
    r = ann.command({"command": "consultTransfer"})
    assert r["type"] == "ack", r
    ann.wait_event(event="consultCall", role="consulting", state="transferred")
    ann.wait_event(event="dialogState", agent="ann", call=call, state="dropped")
    phones["ann"].wait_event("disconnected", 10)
    # The customer's call is bob's now: he sees it, and may release it.
    bob.wait_event(event="dialogState", agent="bob", call=call, state="active")
    calls = bob.command({"command": "queryCalls"})
    assert [(c["agent"], c["call"]) for c in calls["calls"]] == [("bob", call)], calls
    time.sleep(PHASE_S)
    assert bob.command({"command": "release"})["type"] == "ack"
    customer.wait_event("disconnected", 20)
    assert customer.wait_exit(10) == 0
    for phone in phones.values():
        phone.stop()

    customer_hears = {hz: seconds_of(heard["customer"], hz) for hz in (ANN_HZ, BOB_HZ)}
    customer_hears["hold"] = hold_music_seconds(heard["customer"])
    ann_hears = {hz: seconds_of(heard["ann"], hz) for hz in (CUSTOMER_HZ, BOB_HZ)}
    bob_hears = {hz: seconds_of(heard["bob"], hz) for hz in (CUSTOMER_HZ, ANN_HZ)}
    print("customer heard", customer_hears, "ann heard", ann_hears, "bob heard", bob_hears)
    # The customer heard ann, then hold music (not the consult), then bob.
    assert customer_hears[ANN_HZ] >= 0.5, customer_hears
    assert customer_hears["hold"] >= PHASE_S - 1.5, customer_hears
    assert customer_hears[BOB_HZ] >= PHASE_S - 1.0, customer_hears
    # During the consult ann and bob heard each other; bob never heard the
    # customer before the transfer, and heard the customer after it.
    assert ann_hears[BOB_HZ] >= PHASE_S - 1.0, ann_hears
    assert bob_hears[ANN_HZ] >= PHASE_S - 1.0, bob_hears
    assert bob_hears[CUSTOMER_HZ] >= PHASE_S - 1.0, bob_hears
    assert bob_hears[CUSTOMER_HZ] <= PHASE_S + 2.0, bob_hears
    for desk in desks.values():
        desk.close()
    d.assert_alive()


def test_a_conference_of_three_left_by_the_first_agent(registry, agent, tones, tmp_path):
    d, desks, phones, customer, heard, call = centre_with_two_agents(
        registry, agent, tones, tmp_path)
    ann, bob = desks["ann"], desks["bob"]
    consult_bob(desks, phones)
    r = ann.command({"command": "consultConference"})
    assert r["type"] == "ack", r
    ann.wait_event(event="consultCall", role="consulting", state="conference")
    time.sleep(PHASE_S)
    # ann hangs up her phone: bob stays with the customer.
    phones["ann"].run("hangup")
    ann.wait_event(event="consultCall", role="consulting", state="transferred")
    bob.wait_event(event="dialogState", agent="bob", call=call, state="active")
    time.sleep(PHASE_S)
    assert bob.command({"command": "release"})["type"] == "ack"
    customer.wait_event("disconnected", 20)
    assert customer.wait_exit(10) == 0
    phones["bob"].stop()

    customer_hears = {hz: seconds_of(heard["customer"], hz, share=0.1)
                      for hz in (ANN_HZ, BOB_HZ)}
    bob_hears = {hz: seconds_of(heard["bob"], hz, share=0.1) for hz in (CUSTOMER_HZ, ANN_HZ)}
    print("customer heard", customer_hears, "bob heard", bob_hears)
    # In the conference the customer heard both agents, and bob heard both.
    assert customer_hears[ANN_HZ] >= PHASE_S - 1.0, customer_hears
    assert customer_hears[BOB_HZ] >= 2 * PHASE_S - 2.0, customer_hears
    assert bob_hears[CUSTOMER_HZ] >= 2 * PHASE_S - 2.0, bob_hears
    assert bob_hears[ANN_HZ] >= PHASE_S - 1.0, bob_hears
    for desk in desks.values():
        desk.close()
    d.assert_alive()


def test_consult_a_queue_then_a_number_through_a_trunk(registry, agent, tones, tmp_path):
    """`queue:NAME` rings the queue's ready agent (cancelled here); a number
    goes out through the account's trunk (a PJSIP phone standing in for the
    carrier) and takes the customer over on consultTransfer."""
    d = start_serve(registry, tmp_path, egress_allow="127.0.0.0/8")
    key, account = set_up_centre(d, {"ann": ["support"], "bob": ["support"]})
    registrar = f"sip:127.0.0.1:{d.sip_port}"
    heard = tmp_path / "heard_by_customer.wav"
    phones = {name: agent("answer", name=f"{name}-phone", register=f"sip:{name}@centre.acme.test",
                          registrar=registrar, password=PASSWORD, max_time=60,
                          play=tones.wav(hz, rate=16000), mode_opts=["--answer-delay", "1"])
              for name, hz in (("ann", ANN_HZ), ("bob", BOB_HZ))}
    carrier = agent("answer", name="carrier", play=tones.wav(CARRIER_HZ), max_time=60,
                    control=True)
    assert call(d, "PUT", "/v1/trunks/carrier",
                {"host": "127.0.0.1", "port": carrier.port, "prefixes": ["1"]}, key=key)[0] == 201
    for phone in phones.values():
        assert phone.wait_event("reg_state", timeout=10)["code"] == 200, phone.describe_events()
    ann = Desk(d, {"command": "login", "account": account, "agent": "ann", "password": PASSWORD})
    bob = Desk(d, {"command": "login", "account": account, "agent": "bob", "password": PASSWORD})
    assert ann.command({"command": "ready"})["type"] == "ack"
    customer = agent("call", f"sip:support@{d.sip_uri_host}", name="customer",
                     play=tones.wav(CUSTOMER_HZ), record=heard,
                     no_telephone_event=True, duration=40.0, max_time=70)
    offered = ann.wait_event(event="newInboundCall", agent="ann")
    ann.wait_event(event="dialogState", state="active", call=offered["call"])
    # Nobody else of the queue is ready yet.
    r = ann.command({"command": "consult", "to": "queue:support"})
    assert r["type"] == "error" and r["errorType"] == "invalidState", r
    assert bob.command({"command": "ready"})["type"] == "ack"
    r = ann.command({"command": "consult", "to": "queue:support"})
    assert r["type"] == "ack", r
    bob.wait_event(event="consultCall", role="consulted", state="alerting")
    phones["bob"].wait_event("confirmed", 10)
    ann.wait_event(event="consultCall", role="consulting", state="active")
    r = ann.command({"command": "cancelConsult"})
    assert r["type"] == "ack" and r["agent"]["state"] == "talking", r
    phones["bob"].wait_event("disconnected", 10)
    bob.wait_event(event="agentState", agent="bob", state="ready")

    r = ann.command({"command": "consult", "to": "15550001"})
    assert r["type"] == "ack", r
    carrier.wait_event("confirmed", 10)
    ann.wait_event(event="consultCall", role="consulting", to="15550001", state="active")
    assert ann.command({"command": "consultTransfer"})["type"] == "ack"
    ann.wait_event(event="consultCall", role="consulting", state="transferred")
    phones["ann"].wait_event("disconnected", 10)
    time.sleep(PHASE_S)  # shapes the audio; the check reads the recording
    # The carrier's party hangs up: the scenario's call to it ends, and so
    # does the customer's.
    carrier.run("hangup")
    customer.wait_event("disconnected", 20)
    assert customer.wait_exit(10) == 0
    for phone in phones.values():
        phone.stop()
    customer_hears = seconds_of(heard, CARRIER_HZ)
    print("customer heard the carrier's party", customer_hears)
    assert customer_hears >= PHASE_S - 1.0, customer_hears
    for desk in (ann, bob):
        desk.close()
    d.assert_alive()
