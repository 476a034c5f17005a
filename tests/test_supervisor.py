"""A supervisor on an agent's call through the CTI WebSocket, with PJSIP
phones for the customer, the agent and the supervisor, each playing its own
tone: while listening the supervisor hears both and is heard by neither;
while whispering it is heard by the agent only. Checked by frequency in what
each phone recorded."""

from __future__ import annotations

import time

import audio
from test_cti import PASSWORD, Desk, set_up_centre
from test_serve import start_serve

CUSTOMER_HZ, AGENT_HZ, SUPERVISOR_HZ = 440.0, 1200.0, 700.0
PHASE_S = 3.0


def seconds_of(path, hz: float, share: float = 0.2, floor_dbfs: float = -40.0) -> float:
    """Seconds of 100 ms frames of the recording in which `hz` carries at
    least `share` of the energy."""
    samples, rate = audio.read_wav(path)
    n = rate // 10
    total = 0.0
    for i in range(0, len(samples) - n + 1, n):
        frame = samples[i:i + n]
        if audio.dbfs(audio.rms(frame)) < floor_dbfs:
            continue
        if audio.band_levels(frame, rate, [hz], half_width_hz=25.0)[hz] >= share:
            total += 0.1
    return round(total, 1)


def test_a_supervisor_listens_then_whispers(registry, agent, tones, tmp_path):
    d = start_serve(registry, tmp_path)
    _, account = set_up_centre(d, {"ann": ["support"]}, {"sup": ["support"]})

    registrar = f"sip:127.0.0.1:{d.sip_port}"
    heard = {who: tmp_path / f"heard_by_{who}.wav" for who in ("customer", "ann", "sup")}
    ann_phone = agent("answer", name="ann-phone", register="sip:ann@centre.acme.test",
                      registrar=registrar, password=PASSWORD, record=heard["ann"],
                      play=tones.wav(AGENT_HZ, rate=16000), max_time=60,
                      mode_opts=["--answer-delay", "1"])
    sup_phone = agent("answer", name="sup-phone", register="sip:sup@centre.acme.test",
                      registrar=registrar, password=PASSWORD, record=heard["sup"],
                      play=tones.wav(SUPERVISOR_HZ, rate=16000), max_time=60,
                      mode_opts=["--answer-delay", "1"])
    for phone in (ann_phone, sup_phone):
        assert phone.wait_event("reg_state", timeout=10)["code"] == 200, phone.describe_events()

    ann = Desk(d, {"command": "login", "account": account, "agent": "ann", "password": PASSWORD})
    sup = Desk(d, {"command": "login", "account": account, "agent": "sup", "password": PASSWORD})
    assert sup.login["role"] == "supervisor", sup.login
    assert ann.command({"command": "ready"})["type"] == "ack"

    customer = agent("call", f"sip:support@{d.sip_uri_host}", name="customer",
                     play=tones.wav(CUSTOMER_HZ), record=heard["customer"],
                     no_telephone_event=True, duration=40.0, max_time=70)
    offered = ann.wait_event(event="newInboundCall", agent="ann")
    ann.wait_event(event="dialogState", state="active", call=offered["call"])

    # Only a supervisor monitors.
    r = ann.command({"command": "listen", "agent": "ann"})
    assert r["type"] == "error" and r["errorType"] == "notAllowed", r

    # Listen: the supervisor's phone rings and joins.
    r = sup.command({"command": "listen", "agent": "ann"})
    assert r["type"] == "ack", r
    sup.wait_event(event="monitorState", agent="ann", mode="listen", state="alerting")
    sup_phone.wait_event("confirmed", 10)
    active = sup.wait_event(event="monitorState", agent="ann", mode="listen", state="active")
    calls = sup.command({"command": "queryCalls"})
    assert [(c["agent"], c["call"], c["state"]) for c in calls["calls"]] == \
        [("ann", offered["call"], "active")], calls
    assert [(m["supervisor"], m["agent"], m["mode"], m["state"]) for m in calls["monitors"]] == \
        [("sup", "ann", "listen", "active")], calls
    time.sleep(PHASE_S)  # shapes the audio; the checks read the recordings
    # Whisper: the same call, no re-INVITE.
    r = sup.command({"command": "whisper", "agent": "ann"})
    assert r["type"] == "ack", r
    sup.wait_event(event="monitorState", mode="whisper", state="active", after_seq=active["seq"])
    time.sleep(PHASE_S)
    r = sup.command({"command": "stopMonitor"})
    assert r["type"] == "ack", r
    sup.wait_event(event="monitorState", state="dropped")
    sup_phone.wait_event("disconnected", 10)
    # The monitored agent never learnt of it.
    assert not [e for e in ann.events if e["event"] == "monitorState"], ann.events
    # The customer and the agent still hear each other; then the agent hangs up.
    time.sleep(1.0)
    assert ann.command({"command": "release"})["type"] == "ack"
    customer.wait_event("disconnected", 20)
    assert customer.wait_exit(10) == 0
    ann_phone.stop()
    sup_phone.stop()

    sup_hears = {hz: seconds_of(heard["sup"], hz) for hz in (CUSTOMER_HZ, AGENT_HZ)}
    ann_hears = {hz: seconds_of(heard["ann"], hz) for hz in (CUSTOMER_HZ, SUPERVISOR_HZ)}
    customer_hears = {hz: seconds_of(heard["customer"], hz) for hz in (AGENT_HZ, SUPERVISOR_HZ)}
    print("supervisor heard", sup_hears, "agent heard", ann_hears, "customer heard", customer_hears)
    # The supervisor heard both, all along (listen and whisper).
    assert sup_hears[CUSTOMER_HZ] >= PHASE_S and sup_hears[AGENT_HZ] >= PHASE_S, sup_hears
    # The agent heard the supervisor only while it whispered.
    assert PHASE_S - 1.2 <= ann_hears[SUPERVISOR_HZ] <= PHASE_S + 1.0, ann_hears
    assert ann_hears[CUSTOMER_HZ] >= 2 * PHASE_S, ann_hears
    # The customer never heard the supervisor, and heard the agent throughout.
    assert customer_hears[SUPERVISOR_HZ] < 0.3, customer_hears
    assert customer_hears[AGENT_HZ] >= 2 * PHASE_S, customer_hears
    for desk in (ann, sup):
        desk.close()
    d.assert_alive()
