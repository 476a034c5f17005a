"""A contact centre's configuration over REST: queues and agents of an
account, what each refuses, and that another account sees none of them."""

from __future__ import annotations

from test_serve import call, start_serve


def test_queues_and_agents_over_rest(registry, tmp_path):
    d = start_serve(registry, tmp_path)
    status, acct = call(d, "POST", "/v1/accounts", {"name": "centre"})
    key = acct["apiKey"]
    status, queue = call(d, "PUT", "/v1/queues/sales",
                         {"skills": {"english": 3}, "ringTimeout": 15}, key=key)
    assert status == 201, queue
    assert queue == {**queue, "name": "sales", "skills": {"english": 3}, "maxWaiting": 100,
                     "ringTimeout": 15, "afterCallWork": 10, "serviceLevel": 20}, queue
    assert call(d, "PUT", "/v1/queues/sales", {"ringTimeout": 5}, key=key)[0] == 400

    agent = {"name": "Ann", "application": "centre", "user": "ann",
             "skills": {"english": 5, "french": 2}, "queues": ["sales"]}
    status, body = call(d, "PUT", "/v1/agents/ann", agent, key=key)
    assert status == 201, body
    assert body["role"] == "agent" and body["queues"] == ["sales"], body
    status, body = call(d, "PUT", "/v1/agents/boss", {**agent, "role": "supervisor"}, key=key)
    assert status == 201 and body["role"] == "supervisor", body
    assert call(d, "PUT", "/v1/agents/ann", {**agent, "queues": ["nowhere"]}, key=key)[0] == 404
    assert call(d, "PUT", "/v1/agents/ann", {**agent, "skills": {"english": 11}}, key=key)[0] == 400
    assert call(d, "PUT", "/v1/agents/ann", {**agent, "role": "owner"}, key=key)[0] == 400
    status, listed = call(d, "GET", "/v1/agents", key=key)
    assert [a["id"] for a in listed["agents"]] == ["ann", "boss"], listed

    # The queue stays while agents belong to it.
    status, err = call(d, "DELETE", "/v1/queues/sales", key=key)
    assert status == 409, err

    # Another account sees nothing, and cannot use the first one's queue.
    status, other = call(d, "POST", "/v1/accounts", {"name": "other"})
    okey = other["apiKey"]
    assert call(d, "GET", "/v1/agents", key=okey) == (200, {"agents": []})
    assert call(d, "GET", "/v1/queues", key=okey) == (200, {"queues": []})
    assert call(d, "GET", "/v1/agents/ann", key=okey)[0] == 404
    assert call(d, "PUT", "/v1/agents/ann", agent, key=okey)[0] == 404

    for a in ("ann", "boss"):
        assert call(d, "DELETE", f"/v1/agents/{a}", key=key)[0] == 204
    assert call(d, "DELETE", "/v1/queues/sales", key=key)[0] == 204
    assert call(d, "GET", "/v1/queues", key=key) == (200, {"queues": []})
    d.assert_alive()
