"""An agent's own call from the desktop (`makeCall`) with PJSIP phones: the
agent's phone rings first, then a user of the application; each hears the
other's tone; the far end hangs up and the agent is back to its state."""

from __future__ import annotations

import time

from harness import wait_until
from test_cti import PASSWORD, Desk, set_up_centre
from test_serve import call, start_serve
from test_supervisor import seconds_of

ANN_HZ, CAROL_HZ = 1200.0, 700.0
TALK_S = 3.0


def test_an_agent_calls_a_user_from_the_desktop(registry, agent, tones, tmp_path):
    d = start_serve(registry, tmp_path)
    key, account = set_up_centre(d, {"ann": ["support"]})
    assert call(d, "PUT", "/v1/applications/centre/users/carol",
                {"password": PASSWORD}, key=key)[0] == 201
    registrar = f"sip:127.0.0.1:{d.sip_port}"
    heard = {who: tmp_path / f"heard_by_{who}.wav" for who in ("ann", "carol")}
    ann_phone = agent("answer", name="ann-phone", register="sip:ann@centre.acme.test",
                      registrar=registrar, password=PASSWORD, record=heard["ann"],
                      play=tones.wav(ANN_HZ, rate=16000), max_time=60,
                      mode_opts=["--answer-delay", "1"])
    carol_phone = agent("answer", name="carol-phone", register="sip:carol@centre.acme.test",
                        registrar=registrar, password=PASSWORD, record=heard["carol"],
                        play=tones.wav(CAROL_HZ), max_time=60, control=True,
                        mode_opts=["--answer-delay", "1"])
    for phone in (ann_phone, carol_phone):
        assert phone.wait_event("reg_state", timeout=10)["code"] == 200, phone.describe_events()
    ann = Desk(d, {"command": "login", "account": account, "agent": "ann", "password": PASSWORD})
    r = ann.command({"command": "notReady", "reason": "outbound"})
    assert r["type"] == "ack", r

    # A queue is not something an agent dials; a bad callerid is refused.
    r = ann.command({"command": "makeCall", "to": "queue:support"})
    assert r["type"] == "error" and r["errorType"] == "notAllowed", r
    r = ann.command({"command": "makeCall", "to": "user:carol", "callerid": ""})
    assert r["type"] == "error" and r["errorType"] == "generalError", r

    r = ann.command({"command": "makeCall", "to": "user:carol"})
    assert r["type"] == "ack", r
    assert r["agent"]["state"] == "reserved", r
    first = ann.wait_event(event="outboundDialing", state="initiating", to="user:carol")
    ann_phone.wait_event("confirmed", 10)
    ann.wait_event(event="outboundDialing", state="initiated", call=first["call"])
    carol_phone.wait_event("confirmed", 10)
    ann.wait_event(event="dialogState", state="active", call=first["call"])
    ann.wait_event(event="agentState", agent="ann", state="talking")
    # A second call while on this one: refused.
    r = ann.command({"command": "makeCall", "to": "user:carol"})
    assert r["type"] == "error" and r["errorType"] == "invalidState", r
    time.sleep(TALK_S)  # shapes the audio; the checks read the recordings
    carol_phone.run("hangup")
    ann_phone.wait_event("disconnected", 10)
    ann.wait_event(event="dialogState", state="dropped", call=first["call"])
    back = ann.wait_event(event="agentState", agent="ann", state="notReady",
                          after_seq=first["seq"])
    assert back["reason"] == "outbound", back
    # The call's session is gone with it.
    assert wait_until(lambda: call(d, "GET", "/v1/sessions", key=key)[1]["sessions"] == [], 10), \
        call(d, "GET", "/v1/sessions", key=key)
    ann_phone.stop()
    carol_phone.stop()

    ann_hears = seconds_of(heard["ann"], CAROL_HZ)
    carol_hears = seconds_of(heard["carol"], ANN_HZ)
    print("ann heard carol", ann_hears, "carol heard ann", carol_hears)
    assert ann_hears >= TALK_S - 1.0 and carol_hears >= TALK_S - 1.0, (ann_hears, carol_hears)
    ann.close()
    d.assert_alive()


def test_an_agent_cannot_dial_what_the_egress_policy_denies(registry, agent, tones, tmp_path):
    """The far end of an agent's call goes through the same egress policy as
    a scenario's callSIP: loopback (here, Dialtone's own SIP port) is denied."""
    d = start_serve(registry, tmp_path)
    _, account = set_up_centre(d, {"ann": ["support"]})
    phone = agent("answer", name="ann-phone", register="sip:ann@centre.acme.test",
                  registrar=f"sip:127.0.0.1:{d.sip_port}", password=PASSWORD, max_time=60,
                  play=tones.wav(1200.0, rate=16000), mode_opts=["--answer-delay", "1"])
    assert phone.wait_event("reg_state", timeout=10)["code"] == 200, phone.describe_events()
    ann = Desk(d, {"command": "login", "account": account, "agent": "ann", "password": PASSWORD})
    assert ann.command({"command": "ready"})["type"] == "ack"
    r = ann.command({"command": "makeCall", "to": f"sip:support@127.0.0.1:{d.sip_port}"})
    assert r["type"] == "ack", r
    phone.wait_event("confirmed", 10)
    failed = ann.wait_event(event="outboundDialing", state="failed")
    assert 400 <= failed["code"] < 700, failed
    phone.wait_event("disconnected", 10)
    ann.wait_event(event="agentState", agent="ann", state="ready", after_seq=failed["seq"])
    ann.close()
    d.assert_alive()
