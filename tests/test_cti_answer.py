"""`answer` from the desktop with a PJSIP phone that allows auto-answer (as
desk phones do for click-to-dial and paging) but is slow to be picked up by
hand: the phone rings, the desktop answers, the engine's new INVITE asks the
phone to answer by itself and the agent talks to the customer. A phone that
rings for nobody cannot be answered."""

from __future__ import annotations

from test_cti import PASSWORD, Desk, set_up_centre
from test_serve import start_serve


def test_the_desktop_answers_a_ringing_queue_call(registry, agent, tones, tmp_path):
    d = start_serve(registry, tmp_path)
    _, account = set_up_centre(d, {"ann": ["support"]})
    # Left alone it would answer after 20 s (the queue rings for 15 s).
    phone = agent("answer", name="ann-phone", register="sip:ann@centre.acme.test",
                  registrar=f"sip:127.0.0.1:{d.sip_port}", password=PASSWORD,
                  play=tones.wav(1200.0, rate=16000), max_time=60,
                  mode_opts=["--answer-delay", "20", "--auto-answer", "--calls", "3"])
    assert phone.wait_event("reg_state", timeout=10)["code"] == 200, phone.describe_events()
    ann = Desk(d, {"command": "login", "account": account, "agent": "ann", "password": PASSWORD})
    r = ann.command({"command": "answer"})
    assert r["type"] == "error" and r["errorType"] == "invalidState", r
    assert ann.command({"command": "ready"})["type"] == "ack"

    customer = agent("call", f"sip:support@{d.sip_uri_host}", name="customer",
                     play=tones.wav(440.0), no_telephone_event=True, duration=30.0, max_time=60)
    offered = ann.wait_event(event="newInboundCall", agent="ann")
    phone.wait_event("incoming", 10)
    r = ann.command({"command": "answer"})
    assert r["type"] == "ack", r
    phone.wait_event("auto_answer", 10)
    ann.wait_event(event="dialogState", call=offered["call"], state="active", timeout=10)
    ann.wait_event(event="agentState", agent="ann", state="talking")
    assert ann.command({"command": "release"})["type"] == "ack"
    customer.wait_event("disconnected", 20)
    assert customer.wait_exit(10) == 0
    phone.stop()
    ann.close()
    d.assert_alive()
