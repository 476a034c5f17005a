"""Overload control end to end: an engine past its memory budget refuses new
INVITEs with 503 and Retry-After, and new REST sessions with 503 ``overloaded``
and Retry-After, says so in ``/metrics`` and its log, and takes calls again
under a budget it keeps to. (Where the media and signalling marks lie under
real load is measured by bench/overload.py, not asserted here.)"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from conftest import ECHO
from harness import LOOPBACK, PORTS, SCRIPTS
from sipwire import RawSip, pcmu_offer, sip_request
from test_metrics import Scraper
from test_serve import ADMIN_KEY, ServeDialtone, call


def invite(d, sip: RawSip, user: str = "100"):
    sip.send(sip_request("INVITE", target=(LOOPBACK, d.sip_port), local_port=sip.port,
                         user=user, body=pcmu_offer(), content_type="application/sdp"))
    return sip.final_response(timeout=10)


def hang_up_if_answered(d, sip: RawSip, final) -> None:
    """ACK a 200 and BYE it, so the call does not linger."""
    if final is None or final.code != 200:
        return
    to = final.header("to")
    call_id = final.header("call-id")
    from_ = final.header("from")
    tag = from_.split("tag=")[-1]
    to_tag = to.split("tag=")[-1]
    for method, cseq in (("ACK", 1), ("BYE", 2)):
        sip.send(sip_request(method, target=(LOOPBACK, d.sip_port), local_port=sip.port,
                             call_id=call_id, cseq=cseq, from_tag=tag, to_tag=to_tag))
    sip.final_response(timeout=5)


def test_past_its_memory_budget_dialtone_refuses_invites_with_503(dialtone):
    http = PORTS.sip_port()
    # 1 MiB: the process is past 90 % of it from the start.
    d = dialtone(ECHO, extra_args=["--memory-budget-mib", "1", "--http", f"{LOOPBACK}:{http}"])
    metrics = Scraper(http)
    s = metrics.until(lambda s: s.get("dialtone_overloaded", resource="memory") == 1)
    assert s.get("dialtone_memory_budget_bytes") == 1 << 20
    assert s.get("dialtone_resident_memory_bytes") > 1 << 20
    with RawSip("udp", (LOOPBACK, d.sip_port)) as sip:
        final = invite(d, sip)
    assert final is not None and final.code == 503, final
    assert final.header("retry-after") == "2", final.raw
    s = metrics.until(lambda s: s.get("dialtone_sessions_refused_total", reason="memory") >= 1)
    assert s.get("dialtone_sessions_started_total") == 0
    d.wait_for(r"overloaded: new sessions get 503", timeout=5)
    assert not [line for line in d.lines if "CallAlerting" in line], d.log_text()
    d.assert_alive()


def test_under_its_budget_dialtone_takes_calls_and_reports_its_load(dialtone):
    http = PORTS.sip_port()
    d = dialtone(ECHO, extra_args=["--memory-budget-mib", "4096", "--http", f"{LOOPBACK}:{http}"])
    metrics = Scraper(http)
    s = metrics.until(lambda s: s.get("dialtone_resident_memory_bytes") > 0)
    assert s.get("dialtone_memory_budget_bytes") == 4096 << 20
    for resource in ("media", "signalling", "memory"):
        assert s.get("dialtone_overloaded", resource=resource) == 0, resource
    # An idle engine is far below the marks.
    assert s.get("dialtone_media_load_permille") < 400
    assert s.get("dialtone_signalling_load_permille") < 850
    with RawSip("udp", (LOOPBACK, d.sip_port)) as sip:
        final = invite(d, sip)
        assert final is not None and final.code == 200, final
        hang_up_if_answered(d, sip, final)
    d.wait_for(r"Application\.CallAlerting", timeout=5)
    d.assert_alive()


def post_session(d: ServeDialtone, key: str, body: dict):
    req = urllib.request.Request(f"http://{LOOPBACK}:{d.http_port}/v1/sessions",
                                 data=json.dumps(body).encode(), method="POST")
    req.add_header("Authorization", f"Bearer {key}")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, json.loads(resp.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read().decode() or "{}")


def test_serve_refuses_rest_sessions_with_503_overloaded_past_its_budget(registry, tmp_path):
    d = ServeDialtone(tmp_path / "data", log_path=tmp_path / "serve.log",
                      env={"DIALTONE_ADMIN_KEY": ADMIN_KEY, "DIALTONE_MEMORY_BUDGET_MIB": "1"})
    registry.add(d)
    d.start()
    status, acct = call(d, "POST", "/v1/accounts", {"name": "acme"})
    assert status == 201, acct
    key = acct["apiKey"]
    assert call(d, "PUT", "/v1/applications/app", key=key)[0] == 201
    status, saved = call(d, "PUT", "/v1/applications/app/scenarios/echo",
                         (SCRIPTS / "echo.js").read_text(), "application/javascript", key)
    assert status == 201, saved
    Scraper(d.http_port).until(lambda s: s.get("dialtone_overloaded", resource="memory") == 1)
    status, headers, body = post_session(d, key, {"application": "app", "scenario": "echo"})
    assert status == 503, body
    assert body["error"]["code"] == "overloaded", body
    assert "memory" in body["error"]["message"], body
    assert headers.get("Retry-After") == "2", dict(headers)
    # The management API itself still answers.
    assert call(d, "GET", "/v1/applications", key=key)[0] == 200
    d.assert_alive()
