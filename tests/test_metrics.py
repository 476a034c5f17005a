"""``GET /metrics`` on the engine's HTTP listener, for ``dialtone run`` and
``dialtone serve``: the Prometheus text format read strictly, and the counters
checked against calls SIPp makes (RTP through echo.js, 486 from busy.js, 488
for an offer with no common codec, 500 from a throwing scenario, both legs of
forward.js, 404 from a routing-rule miss)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import harness
from conftest import BUSY, ECHO, FORWARD
from harness import LOOPBACK, PORTS, SCENARIOS, SIPP_DIR, wait_until
from test_serve import ADMIN_KEY, start_serve

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


# --- the text exposition format -------------------------------------------------------

class Scrape:
    """One parsed scrape: ``types`` and ``helps`` by family, ``samples`` as
    (name, frozenset of (label, value)) -> float."""

    def __init__(self, text: str):
        self.types: dict[str, str] = {}
        self.helps: dict[str, str] = {}
        self.samples: dict[tuple[str, frozenset], float] = {}
        assert text.endswith("\n"), "a scrape ends with a newline"
        family = None
        seen: list[str] = []
        for n, line in enumerate(text.split("\n")[:-1], 1):
            where = f"line {n}: {line!r}"
            if line.startswith("# HELP "):
                name, _, doc = line[len("# HELP "):].partition(" ")
                assert METRIC_NAME.fullmatch(name), where
                assert name not in self.helps, f"second HELP for {name}: {where}"
                assert name not in seen, f"family {name} split: {where}"
                self.helps[name] = doc
                family = name
                seen.append(name)
            elif line.startswith("# TYPE "):
                name, _, kind = line[len("# TYPE "):].partition(" ")
                assert name == family, f"TYPE not right after its HELP: {where}"
                assert kind in ("counter", "gauge"), where
                assert name not in self.types, where
                self.types[name] = kind
            elif line.startswith("#"):
                raise AssertionError(f"unexpected comment: {where}")
            else:
                name, labels, value = parse_sample(line, where)
                assert name == family and name in self.types, f"sample outside its family: {where}"
                key = (name, labels)
                assert key not in self.samples, f"duplicate series: {where}"
                self.samples[key] = value
        for name, kind in self.types.items():
            assert name.startswith("dialtone_"), name
            assert (kind == "counter") == name.endswith("_total"), f"{name} is a {kind}"

    def get(self, name: str, **labels: str) -> float:
        """A sample's value; 0 for a labelled series not counted yet."""
        assert name in self.types, f"no family {name}"
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str) -> float:
        return sum(v for (n, _), v in self.samples.items() if n == name)

    def series(self, name: str) -> dict[frozenset, float]:
        return {labels: v for (n, labels), v in self.samples.items() if n == name}


def parse_sample(line: str, where: str) -> tuple[str, frozenset, float]:
    m = METRIC_NAME.match(line)
    assert m, where
    name, rest = m.group(0), line[m.end():]
    labels: dict[str, str] = {}
    if rest.startswith("{"):
        i = 1
        while True:
            lm = LABEL_NAME.match(rest, i)
            assert lm and rest[lm.end():lm.end() + 2] == '="', where
            label, i = lm.group(0), lm.end() + 2
            value = []
            while True:
                c = rest[i]
                if c == "\\":
                    esc = rest[i + 1]
                    assert esc in '\\"n', f"bad escape: {where}"
                    value.append("\n" if esc == "n" else esc)
                    i += 2
                elif c == '"':
                    i += 1
                    break
                else:
                    value.append(c)
                    i += 1
            assert label not in labels, where
            labels[label] = "".join(value)
            if rest[i] == ",":
                i += 1
            elif rest[i] == "}":
                rest = rest[i + 1:]
                break
            else:
                raise AssertionError(f"expected , or }}: {where}")
    assert rest.startswith(" "), where
    value = float(rest[1:].split(" ")[0])
    assert value >= 0, where
    return name, frozenset(labels.items()), value


# --- scraping -----------------------------------------------------------------------------

class Scraper:
    """Scrapes one listener and counts its own requests."""

    def __init__(self, port: int):
        self.base = f"http://{LOOPBACK}:{port}"
        self.requests = 0

    def get_raw(self, path: str, headers: dict | None = None):
        """(status, response headers (case-insensitive), body text)."""
        self.requests += 1
        req = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.headers, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode(errors="replace")

    def scrape(self) -> Scrape:
        status, headers, text = self.get_raw("/metrics")
        assert status == 200, (status, text)
        assert headers.get("Content-Type") == CONTENT_TYPE, dict(headers)
        return Scrape(text)

    def until(self, check, timeout: float = 15.0) -> Scrape:
        """Scrapes until ``check(scrape)`` holds (bounded); returns that scrape."""
        last = []

        def ok():
            s = self.scrape()
            last[:] = [s]
            return s if check(s) else None

        got = wait_until(ok, timeout, interval=0.1)
        assert got is not None, f"metrics never settled; last scrape:\n{render(last[0])}"
        return got


def render(s: Scrape) -> str:
    return "\n".join(f"{n}{dict(l) if l else ''} {v:g}" for (n, l), v in sorted(
        s.samples.items(), key=lambda kv: (kv[0][0], sorted(kv[0][1]))))


def settled(s: Scrape) -> bool:
    """No call and no session left."""
    return s.get("dialtone_live_calls") == 0 and s.get("dialtone_live_sessions") == 0


def assert_calls_balance(s: Scrape) -> None:
    """Every call started is live, failed or ended."""
    started = s.total("dialtone_calls_started_total")
    done = s.total("dialtone_calls_failed_total") + s.get("dialtone_calls_ended_total")
    assert started == done + s.get("dialtone_live_calls"), render(s)


def run_dialtone(dialtone, script, **kwargs):
    http_port = PORTS.sip_port()
    d = dialtone(script, extra_args=["--http", f"{LOOPBACK}:{http_port}"], **kwargs)
    return d, Scraper(http_port)


def expecting(tmp_path, code: int):
    """SIPp's busy scenario, expecting ``code`` in place of 486."""
    xml = (SIPP_DIR / "uac_busy.xml").read_text().replace('response="486"', f'response="{code}"')
    path = tmp_path / f"uac_{code}.xml"
    path.write_text(xml)
    return path


# --- tests ---------------------------------------------------------------------------------

def test_idle_scrape_is_valid_and_counts_http_requests(dialtone):
    d, m = run_dialtone(dialtone, ECHO)
    first = m.scrape()
    assert first.types["dialtone_live_sessions"] == "gauge"
    assert first.types["dialtone_live_calls"] == "gauge"
    for family in ("dialtone_calls_started_total", "dialtone_calls_failed_total",
                   "dialtone_calls_ended_total", "dialtone_sessions_started_total",
                   "dialtone_script_errors_total", "dialtone_rtp_packets_in_total",
                   "dialtone_rtp_packets_out_total", "dialtone_rtp_packets_lost_total",
                   "dialtone_rtp_packets_dropped_total", "dialtone_http_requests_total"):
        assert first.types[family] == "counter", family
        assert first.helps[family], family
    assert first.get("dialtone_calls_started_total", direction="inbound") == 0
    assert first.get("dialtone_live_sessions") == 0
    # The first scrape is counted once its response is out.
    assert first.series("dialtone_http_requests_total") == {}, render(first)

    for _ in range(3):
        m.scrape()
    assert m.get_raw("/no/such/path")[0] == 404
    s = m.scrape()
    assert s.get("dialtone_http_requests_total", method="GET", status="200") == 4, render(s)
    assert s.get("dialtone_http_requests_total", method="GET", status="404") == 1, render(s)
    d.assert_alive()


def test_echo_calls_with_rtp_and_a_refused_offer(dialtone, sipp, tones, tmp_path):
    d, m = run_dialtone(dialtone, ECHO)
    before = m.scrape()
    calls = 3
    run = sipp("uac_pcmu_rtp.xml", d.sip_uri_host, calls=calls, rate=10, limit=1,
               duration_ms=1500, timeout_s=40)
    tones.ulaw(1000, run.workdir)
    run.start()
    # While an answered call is up (it has an RTP endpoint), both gauges show it.
    # (Between the INVITE and the answer a call is live with no endpoint yet.)
    during = m.until(lambda s: s.get("dialtone_rtp_endpoints") >= 1)
    assert during.get("dialtone_live_calls") >= 1, render(during)
    assert during.get("dialtone_live_sessions") >= 1, render(during)
    run.wait()
    run.assert_ok()
    assert run.counts().get("Successful call") == calls, run.report()
    # No common codec: refused with 488 before any session starts.
    refused = sipp("uac_no_common_codec.xml", d.sip_uri_host, calls=1, timeout_s=20)
    refused.run()
    refused.assert_ok()

    after = m.until(lambda s: settled(s) and s.get("dialtone_calls_ended_total")
                    - before.get("dialtone_calls_ended_total") >= calls)

    def grew(name, **labels):
        return after.get(name, **labels) - before.get(name, **labels)

    assert grew("dialtone_calls_started_total", direction="inbound") == calls + 1, render(after)
    assert grew("dialtone_calls_started_total", direction="outbound") == 0, render(after)
    assert grew("dialtone_calls_ended_total") == calls, render(after)
    assert grew("dialtone_calls_failed_total", code="488") == 1, render(after)
    assert after.total("dialtone_calls_failed_total") == 1, render(after)
    assert grew("dialtone_sessions_started_total") == calls, render(after)
    assert after.total("dialtone_script_errors_total") == 0, render(after)
    assert grew("dialtone_rtp_packets_in_total") > 0, render(after)
    assert grew("dialtone_rtp_packets_out_total") > 0, render(after)
    assert after.get("dialtone_rtp_endpoints") == 0, render(after)
    assert_calls_balance(after)
    assert after.get("dialtone_http_requests_total", method="GET", status="200") \
        == m.requests - 1, render(after)
    d.assert_alive()


def test_busy_call_counts_as_failed_486(dialtone, sipp):
    d, m = run_dialtone(dialtone, BUSY)
    before = m.scrape()
    run = sipp("uac_busy.xml", d.sip_uri_host, calls=1, timeout_s=20)
    run.run()
    run.assert_ok()
    after = m.until(lambda s: settled(s) and s.get("dialtone_calls_failed_total", code="486") >= 1)
    assert after.get("dialtone_calls_failed_total", code="486") == 1, render(after)
    assert after.total("dialtone_calls_failed_total") == 1, render(after)
    assert after.get("dialtone_calls_ended_total") == 0, render(after)
    assert after.get("dialtone_calls_started_total", direction="inbound") \
        - before.get("dialtone_calls_started_total", direction="inbound") == 1, render(after)
    assert after.get("dialtone_sessions_started_total") == 1, render(after)
    assert after.total("dialtone_script_errors_total") == 0, render(after)
    assert_calls_balance(after)
    d.assert_alive()


def test_throwing_session_counts_a_script_error(dialtone, sipp, tmp_path):
    d, m = run_dialtone(dialtone, SCENARIOS / "throw_alerting.js")
    run = sipp(expecting(tmp_path, 500), d.sip_uri_host, calls=2, rate=5, timeout_s=20)
    run.run()
    run.assert_ok()
    after = m.until(lambda s: settled(s)
                    and s.get("dialtone_script_errors_total", kind="runtime") >= 2)
    assert after.get("dialtone_script_errors_total", kind="runtime") == 2, render(after)
    assert after.get("dialtone_script_errors_total", kind="compile") == 0, render(after)
    assert after.get("dialtone_sessions_started_total") == 2, render(after)
    # The unanswered calls of the failed sessions got 500.
    assert after.get("dialtone_calls_failed_total", code="500") == 2, render(after)
    assert_calls_balance(after)
    d.assert_alive()


def test_forwarded_calls_count_both_legs(dialtone, sipp, tmp_path):
    """forward.js: a callee that is busy, then one that answers; the outbound
    legs count as outbound calls, with their own outcome."""
    busy_port = PORTS.sip_port()
    callee = sipp("peer_uas_busy.xml", None, local_port=busy_port, calls=1, timeout_s=25,
                  name="busy_callee").start()
    harness.wait_bound(busy_port, "udp")
    d, m = run_dialtone(dialtone, FORWARD, custom_data=f"sip:bob@{LOOPBACK}:{busy_port}")
    caller = sipp("uac_busy.xml", d.sip_uri_host, calls=1, timeout_s=20, name="caller")
    caller.run()
    caller.assert_ok()
    callee.wait()
    callee.assert_ok()
    s = m.until(lambda s: settled(s) and s.get("dialtone_calls_failed_total", code="486") >= 2)
    assert s.get("dialtone_calls_started_total", direction="inbound") == 1, render(s)
    assert s.get("dialtone_calls_started_total", direction="outbound") == 1, render(s)
    # The callee's 486, and the caller rejected with the callee's code.
    assert s.get("dialtone_calls_failed_total", code="486") == 2, render(s)
    assert s.get("dialtone_calls_ended_total") == 0, render(s)
    assert_calls_balance(s)
    d.stop()

    answer_port = PORTS.sip_port()
    callee = sipp("uas", None, local_port=answer_port, calls=1, timeout_s=25,
                  name="answering_callee").start()
    harness.wait_bound(answer_port, "udp")
    d, m = run_dialtone(dialtone, FORWARD, custom_data=f"sip:bob@{LOOPBACK}:{answer_port}")
    caller = sipp("uac", d.sip_uri_host, calls=1, duration_ms=500, timeout_s=20,
                  name="caller2")
    caller.run()
    caller.assert_ok()
    callee.wait()
    callee.assert_ok()
    s = m.until(lambda s: settled(s) and s.get("dialtone_calls_ended_total") >= 2)
    assert s.get("dialtone_calls_started_total", direction="outbound") == 1, render(s)
    assert s.get("dialtone_calls_ended_total") == 2, render(s)
    assert s.total("dialtone_calls_failed_total") == 0, render(s)
    assert_calls_balance(s)


def test_serve_exposes_metrics_without_an_api_key(registry, sipp, tmp_path):
    d = start_serve(registry, tmp_path)
    m = Scraper(d.http_port)
    before = m.scrape()
    # The API itself still wants its key; the refusal is counted too.
    assert m.get_raw("/v1/applications")[0] == 401
    assert m.get_raw("/v1/applications", {"Authorization": f"Bearer {ADMIN_KEY}"})[0] == 200
    # No application routes 999: 404 before any session starts.
    run = sipp(expecting(tmp_path, 404), d.sip_uri_host, service="999", calls=1, timeout_s=20)
    run.run()
    run.assert_ok()
    after = m.until(lambda s: s.get("dialtone_calls_failed_total", code="404") >= 1)
    assert after.get("dialtone_calls_started_total", direction="inbound") \
        - before.get("dialtone_calls_started_total", direction="inbound") == 1, render(after)
    assert after.get("dialtone_calls_failed_total", code="404") == 1, render(after)
    assert after.get("dialtone_sessions_started_total") == 0, render(after)
    assert after.get("dialtone_http_requests_total", method="GET", status="401") == 1, render(after)
    assert after.get("dialtone_http_requests_total", method="GET", status="200") >= 2, render(after)
    assert settled(after), render(after)
    assert_calls_balance(after)
    # Metrics are not part of the authenticated API: a wrong key changes nothing.
    status, _, text = m.get_raw("/metrics", {"Authorization": "Bearer wrong"})
    assert status == 200 and "dialtone_live_calls" in text
    d.assert_alive()
