"""sipvicious against ``dialtone serve``: nothing to enumerate, nothing to crack.

Dialtone has no registrar and no SIP accounts: REGISTER is 405 whoever it
names, OPTIONS is 200 whoever it names, and an INVITE nobody takes is 404
whether its number is unknown, claimed without a rule, or claimed with a rule
that does not match the caller. What an INVITE scan can learn is only what a
scenario does with a call it is given: a number routed to echo.js for any
caller answers 200, as it is meant to.

The PBX here (one account):

- 1000-1999 claimed, routed to echo.js for trunk callers only (rule ``from``
  ``\\+1555\\d{7}``): present, but not for a scanner;
- 2000 claimed, no rule;
- 3000 claimed, routed to echo.js for anyone: a public number;
- 4000 claimed, routed to a scenario that rejects every call with 404;
- everything else: nobody's.

svmap, svwar and svcrack run bounded, on 127.0.0.1, from free ports.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid

import pytest

from harness import LOOPBACK, PORTS, SCRIPTS
from sipwire import RawSip, pcmu_offer, sip_request
from test_serve import call, claim, start_serve

TOOLS = {name: shutil.which(name) or shutil.which(f"sipvicious_{name}")
         for name in ("svmap", "svwar", "svcrack")}
pytestmark = pytest.mark.skipif(
    not all(TOOLS.values()),
    reason="sipvicious is not installed (svmap, svwar, svcrack: Debian package sipvicious)")

TRUNK_ONLY = [str(n) for n in range(1000, 1006)]
CLAIMED_NO_RULE = "2000"
PUBLIC = "3000"
SCRIPT_404 = "4000"
UNKNOWN = ["995", "999", "2001", "2999", "3001", "3999", "9999", "12345"]
# Every kind of number above, in svwar's range syntax.
SCAN_RANGE = "995-1005,1999-2001,2999-3001,3999-4001,9999,12345"

REJECT_404 = """
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  e.call.reject(404);
  VoxEngine.terminate();
});
"""

TOOL_TIMEOUT_S = 90


@pytest.fixture
def pbx(registry, tmp_path):
    d = start_serve(registry, tmp_path)
    status, acct = call(d, "POST", "/v1/accounts", {"name": "acme"})
    assert status == 201, acct
    key = acct["apiKey"]
    assert call(d, "PUT", "/v1/applications/pbx", key=key)[0] == 201
    for name, source in (("echo", (SCRIPTS / "echo.js").read_text()), ("reject", REJECT_404)):
        status, body = call(d, "PUT", f"/v1/applications/pbx/scenarios/{name}", source,
                            "application/javascript", key)
        assert status == 201, body
    rules = [
        {"name": "trunk", "pattern": r"1\d{3}", "from": r"\+1555\d{7}", "scenarios": ["echo"]},
        {"name": "public", "pattern": PUBLIC, "scenarios": ["echo"]},
        {"name": "hidden", "pattern": SCRIPT_404, "scenarios": ["reject"]},
    ]
    for rule in rules:
        status, body = call(d, "POST", "/v1/applications/pbx/rules", rule, key=key)
        assert status == 201, body
    claim(d, key, pattern=r"1\d{3}")
    for number in (CLAIMED_NO_RULE, PUBLIC, SCRIPT_404):
        claim(d, key, number=number)
    return d


def run_tool(name: str, *args: str) -> str:
    """Runs a sipvicious tool to its end (bounded) and returns stdout+stderr."""
    argv = [TOOLS[name], *args]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT_S, start_new_session=True)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(argv)} did not finish within {TOOL_TIMEOUT_S} s:\n{e.stdout}\n{e.stderr}")
    return done.stdout + done.stderr


def table_rows(output: str) -> dict[str, str]:
    """The rows of the result table sipvicious prints (first column -> second)."""
    rows = {}
    for line in output.splitlines():
        m = re.match(r"^\|\s*(\S+)\s*\|\s*(.+?)\s*\|$", line)
        if m and m.group(1) not in ("Extension", "SIP"):
            rows[m.group(1)] = m.group(2)
    return rows


def common_args(d) -> list[str]:
    return ["-p", str(d.sip_port), "-b", LOOPBACK, "-P", str(PORTS.udp_port())]


def test_svmap_sees_one_sip_device(pbx):
    """svmap finding the server is no enumeration; what it fingerprints is the
    User-Agent of the OPTIONS answer."""
    out = run_tool("svmap", *common_args(pbx), LOOPBACK)
    rows = table_rows(out)
    device = f"{LOOPBACK}:{pbx.sip_port}"
    assert list(rows) == [device], out
    assert rows[device].startswith("Dialtone/"), out


@pytest.mark.parametrize("method", ["REGISTER", "OPTIONS"])
def test_svwar_finds_no_extension(pbx, method):
    out = run_tool("svwar", *common_args(pbx), "-m", method, "-e", SCAN_RANGE, LOOPBACK)
    assert table_rows(out) == {}, out
    assert "found nothing" in out, out


def test_svwar_invite_finds_only_the_number_that_answers_anyone(pbx):
    """Claimed numbers without a rule, numbers whose rule does not take this
    caller, a scenario that rejects with 404 and unknown numbers all look the
    same; the public number answers the scanner's call, as it answers any."""
    out = run_tool("svwar", *common_args(pbx), "-m", "INVITE", "-e", SCAN_RANGE, LOOPBACK)
    assert table_rows(out) == {PUBLIC: "noauth"}, out


def test_svcrack_cracks_nothing(pbx):
    """REGISTER (svcrack's default) is challenged whoever it names (no user of
    these exists, and an unknown user is challenged like a known one), and
    every guessed password is refused 403: nothing is found. The three
    numbers are tried at once."""
    users = (TRUNK_ONLY[0], CLAIMED_NO_RULE, PUBLIC)
    procs = {user: subprocess.Popen([TOOLS["svcrack"], *common_args(pbx), "-u", user,
                                     "-r", "1000-1020", "--maximumtime", "3", LOOPBACK],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True)
             for user in users}
    outs = {}
    try:
        for user, proc in procs.items():
            outs[user], _ = proc.communicate(timeout=TOOL_TIMEOUT_S)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    for user, out in outs.items():
        assert table_rows(out) == {}, f"{user}: {out}"
        assert "found nothing" in out, f"{user}: {out}"


def test_svcrack_invite_cracks_nothing(pbx):
    """INVITE to a trunk-only number: svcrack gets 404, yet keeps sending (it
    never stops on a 404 in its loop); it is interrupted once dialtone has
    answered enough of its INVITEs, and has found nothing."""
    base = failed_404(pbx)
    argv = [TOOLS["svcrack"], *common_args(pbx), "-u", TRUNK_ONLY[0], "-m", "INVITE",
            "--requesturi", f"sip:{TRUNK_ONLY[0]}@{LOOPBACK}", "-r", "1000-9999", LOOPBACK]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while failed_404(pbx) - base < 50 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        answered = failed_404(pbx) - base
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert answered >= 50, out[-2000:]
    assert table_rows(out) == {}, out[-2000:]
    assert "found nothing" in out, out[-2000:]


def failed_404(d) -> float:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{d.http_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    m = re.search(r'^dialtone_calls_failed_total\{code="404"\} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


# --- the same answer, byte for byte, whatever the number -----------------------------------

def normalized(raw: bytes, user: str) -> str:
    """A response with what differs by request taken out: tags, branch,
    Call-ID, the scanner's port, the number itself."""
    text = raw.decode("utf-8", "replace")
    text = text.replace(f"sip:{user}@", "sip:USER@")
    text = re.sub(r"tag=[^;>\s]+", "tag=T", text)
    text = re.sub(r"branch=[^;\s]+", "branch=B", text)
    text = re.sub(r"(?m)^Call-ID: .*$", "Call-ID: C", text)
    text = re.sub(r"rport=\d+", "rport=P", text)
    # A digest nonce carries its second of issue.
    text = re.sub(r'nonce="[^"]*"', 'nonce="N"', text)
    return re.sub(rf"{re.escape(LOOPBACK)}:\d+", f"{LOOPBACK}:P", text)


def exchange(sip: RawSip, d, method: str, user: str) -> tuple[list[str], float]:
    """Sends one request as a scanner would (From = To = the number) and returns
    every response up to the final one, normalized, and the time to the final one."""
    body = pcmu_offer() if method == "INVITE" else b""
    req = sip_request(method, target=(LOOPBACK, d.sip_port), local_port=sip.port, user=user,
                      call_id=f"{uuid.uuid4().hex}@{LOOPBACK}", body=body,
                      content_type="application/sdp" if body else None,
                      extra_headers=["User-Agent: friendly-scanner"])
    started = time.perf_counter()
    sip.send(req)
    got = []
    while True:
        r = sip.recv_response(timeout=5)
        assert r is not None, f"no final answer to {method} {user}: {got}"
        got.append(normalized(r.raw, user))
        if r.code >= 200:
            return got, time.perf_counter() - started


@pytest.mark.parametrize("method", ["INVITE", "OPTIONS", "REGISTER"])
def test_known_and_unknown_numbers_get_the_same_answer(pbx, method):
    """Same responses (apart from tags, branch, Call-ID, port and the number
    itself) for numbers that exist in the account and numbers nobody has.
    (Answer times are not compared: tests assert no timings.)"""
    users = [TRUNK_ONLY[0], TRUNK_ONLY[-1], CLAIMED_NO_RULE, *UNKNOWN[-3:]]
    answers: dict[str, set] = {u: set() for u in users}
    with RawSip("udp", (LOOPBACK, pbx.sip_port)) as sip:
        for _ in range(10):
            for user in users:
                got, _ = exchange(sip, pbx, method, user)
                answers[user].add(tuple(got))
    shapes = {shape for per_user in answers.values() for shape in per_user}
    assert len(shapes) == 1, "\n\n".join(f"{u}: {a}" for u, a in answers.items())
    expected_final = {"INVITE": "SIP/2.0 404 Not Found", "OPTIONS": "SIP/2.0 200 OK",
                      "REGISTER": "SIP/2.0 401 Unauthorized"}[method]
    assert next(iter(shapes))[-1].startswith(expected_final), shapes


def test_a_scenario_rejecting_with_404_answers_like_no_route(pbx):
    """A number whose scenario rejects with 404 sends what an unknown number
    gets (after the same 100 Trying); only the time differs, by the scenario's
    start (docs/operations.md: prefer a rule's ``from``/header match to hide a
    number)."""
    with RawSip("udp", (LOOPBACK, pbx.sip_port)) as sip:
        hidden, _ = exchange(sip, pbx, "INVITE", SCRIPT_404)
        unknown, _ = exchange(sip, pbx, "INVITE", UNKNOWN[0])
    assert hidden == unknown, f"{hidden}\n---\n{unknown}"
