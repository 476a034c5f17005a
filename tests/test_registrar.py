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
