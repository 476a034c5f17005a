"""The registrar: users over REST, REGISTER with digest authentication from
real phones (PJSIP), bindings over REST, and what a wrong password gets."""

from __future__ import annotations

from harness import wait_until
from test_serve import ADMIN_KEY, call, claim, start_serve

PASSWORD = "correct horse battery"


def setup_user(d, name: str = "alice", app: str = "support", domain: str = "acme.test") -> str:
    status, acct = call(d, "POST", "/v1/accounts", {"name": "acme"})
    assert status == 201, acct
    key = acct["apiKey"]
    assert call(d, "PUT", f"/v1/applications/{app}", key=key)[0] == 201
    claim(d, key, domain=domain)
    status, user = call(d, "PUT", f"/v1/applications/{app}/users/{name}",
                        {"password": PASSWORD, "displayName": "Alice"}, key=key)
    assert status == 201, user
    assert user["sipAddresses"] == [f"sip:{name}@{app}.{domain}"], user
    assert "password" not in user and not any("ha1" in k for k in user), user
    return key


def bindings(d, key: str, name: str = "alice", app: str = "support") -> list[dict]:
    status, user = call(d, "GET", f"/v1/applications/{app}/users/{name}", key=key)
    assert status == 200, user
    return user["bindings"]


def test_two_phones_register_as_one_user_and_a_wrong_password_gets_403(registry, agent, tmp_path):
    d = start_serve(registry, tmp_path)
    key = setup_user(d)
    registrar = f"sip:127.0.0.1:{d.sip_port}"
    aor = "sip:alice@support.acme.test"
    phones = [agent("answer", name=f"phone{i}", register=aor, registrar=registrar,
                    password=PASSWORD, max_time=30) for i in range(2)]
    for phone in phones:
        ev = phone.wait_event("reg_state", timeout=10)
        assert ev["code"] == 200, phone.describe_events()
        assert ev["expiration"] > 0, ev
    found = wait_until(lambda: len(bindings(d, key)) == 2 and bindings(d, key), timeout=5)
    assert found, bindings(d, key)
    contacts = sorted(b["contact"].split(";")[0] for b in found)
    ports = sorted(p.wait_listening() for p in phones)
    assert contacts == [f"sip:alice@127.0.0.1:{p}" for p in ports], contacts
    assert all(b["source"].startswith("127.0.0.1:") and b["expiresIn"] > 200 for b in found)

    # A wrong password: refused, and no binding is made.
    wrong = agent("answer", name="wrong", register=aor, registrar=registrar,
                  password="not the password", max_time=30)
    ev = wrong.wait_event("reg_state", timeout=10)
    assert ev["code"] in (401, 403), wrong.describe_events()
    assert len(bindings(d, key)) == 2

    # /metrics counts the answers and the bindings held.
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{d.http_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    assert "dialtone_registrar_bindings 2" in text, text
    assert 'dialtone_register_responses_total{code="200"}' in text
    assert 'dialtone_register_responses_total{code="401"}' in text

    # Another account cannot see alice.
    status, other = call(d, "POST", "/v1/accounts", {"name": "other"})
    assert call(d, "GET", "/v1/applications/support/users/alice", key=other["apiKey"])[0] == 404

    # Un-REGISTER: a phone that stops takes its binding with it.
    phones[0].stop()
    assert wait_until(lambda: len(bindings(d, key)) == 1, timeout=10), bindings(d, key)
    # Deleting the user drops its bindings.
    assert call(d, "DELETE", "/v1/applications/support/users/alice", key=key)[0] == 204
    assert call(d, "GET", "/v1/applications/support/users/alice", key=key)[0] == 404
    status, listed = call(d, "GET", "/v1/applications/support/users", key=key)
    assert status == 200 and listed == {"users": []}, listed
    d.assert_alive()


def test_call_user_rings_both_phones_and_the_first_answer_wins(registry, agent, tones, tmp_path):
    """Two PJSIP phones register as alice; a caller reaches scripts/call_user.js,
    which calls alice: both phones ring, the first to answer is bridged (each
    side hears the other's tone) and the other gets CANCEL."""
    import audio
    from test_serve import SCRIPTS

    a_hz, b_hz = 440.0, 1200.0
    d = start_serve(registry, tmp_path)
    key = setup_user(d)
    assert call(d, "PUT", "/v1/applications/support/scenarios/call_user",
                (SCRIPTS / "call_user.js").read_text(), "application/javascript", key)[0] == 201
    status, rule = call(d, "POST", "/v1/applications/support/rules",
                        {"name": "users", "pattern": "alice", "scenarios": ["call_user"]}, key=key)
    assert status == 201, rule
    claim(d, key, number="alice")
    registrar = f"sip:127.0.0.1:{d.sip_port}"
    aor = "sip:alice@support.acme.test"
    heard_by_desk = tmp_path / "heard_by_desk.wav"
    heard_by_caller = tmp_path / "heard_by_caller.wav"
    desk = agent("answer", name="desk", register=aor, registrar=registrar, password=PASSWORD,
                 play=tones.wav(b_hz, rate=16000), record=heard_by_desk, max_time=40,
                 mode_opts=["--answer-delay", "1.5"])
    mobile = agent("answer", name="mobile", register=aor, registrar=registrar, password=PASSWORD,
                   max_time=40, mode_opts=["--answer-delay", "8"])
    for phone in (desk, mobile):
        assert phone.wait_event("reg_state", timeout=10)["code"] == 200, phone.describe_events()
    assert wait_until(lambda: len(bindings(d, key)) == 2, timeout=5)

    caller = agent("call", f"sip:alice@{d.sip_uri_host}", name="caller", play=tones.wav(a_hz),
                   record=heard_by_caller, no_telephone_event=True, duration=3.0, max_time=40)
    desk.wait_event("incoming", 10)
    mobile.wait_event("incoming", 10)
    caller.wait_event("confirmed", 15)
    desk.wait_event("confirmed", 5)
    # The phone that lost the race is cancelled, never connected.
    lost = mobile.wait_event("disconnected", 10)
    assert not lost["connected"] and lost["code"] == 487, lost
    ended = caller.wait_event("disconnected", 20)
    assert ended["connected"], ended
    assert desk.wait_event("disconnected", 10)["connected"]
    assert caller.wait_exit(10) == 0
    print("caller heard:", audio.assert_tone(heard_by_caller, b_hz))
    desk.stop()
    print("desk heard:", audio.assert_tone(heard_by_desk, a_hz))
    d.wait_for(r"call_user: .* -> alice", timeout=5)
    d.wait_for(r"call_user: alice answered", timeout=5)
    d.assert_alive()


def test_a_registered_phone_calls_through_its_applications_rules(registry, agent, tones, tmp_path):
    """A PJSIP phone registered as alice dials 1234: its INVITE is challenged
    (407), sent again with credentials, and runs the echo scenario of alice's
    application without any claim on 1234. The same From without the password
    gets nowhere."""
    import audio
    from test_serve import SCRIPTS

    d = start_serve(registry, tmp_path)
    key = setup_user(d)
    assert call(d, "PUT", "/v1/applications/support/scenarios/echo",
                (SCRIPTS / "echo.js").read_text(), "application/javascript", key)[0] == 201
    status, rule = call(d, "POST", "/v1/applications/support/rules",
                        {"name": "internal", "pattern": r"\d{4}", "scenarios": ["echo"]}, key=key)
    assert status == 201, rule
    registrar = f"sip:127.0.0.1:{d.sip_port}"
    heard = tmp_path / "heard.wav"
    phone = agent("call", f"sip:1234@{d.sip_uri_host}", name="phone",
                  register="sip:alice@support.acme.test", registrar=registrar, password=PASSWORD,
                  play=tones.wav(700.0), record=heard, no_telephone_event=True, duration=2.5,
                  max_time=30)
    ended = phone.wait_event("disconnected", 20)
    assert ended["connected"], phone.describe_events()
    assert phone.wait_exit(10) == 0
    print("phone heard its echo:", audio.assert_tone(heard, 700.0))
    d.wait_for(r"echo: incoming call from alice to 1234", timeout=5)

    impostor = agent("call", f"sip:1234@{d.sip_uri_host}", name="impostor",
                     register="sip:alice@support.acme.test", registrar=registrar,
                     password="not the password", duration=2.0, max_time=30)
    ended = impostor.wait_event("disconnected", 20)
    assert not ended["connected"] and ended["code"] in (401, 403, 407), ended
    d.assert_alive()
