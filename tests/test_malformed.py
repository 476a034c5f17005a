"""Malformed and unexpected SIP input: dialtone answers what can be answered,
drops what cannot, and keeps serving calls."""

from __future__ import annotations

import random
import socket
import time

import pytest

from conftest import ECHO
from harness import LOOPBACK
from sipwire import RawSip, pcmu_offer, sip_request

# What a case may get back: "400" (must be answered with 400), or a set of
# acceptable final codes where None means "no answer" and "closed" means the
# server closed the TCP connection.
MUST_400 = {400}


def _invite(local_port, target, transport, **kw):
    return sip_request("INVITE", target=target, local_port=local_port, transport=transport,
                       body=pcmu_offer(), content_type="application/sdp", **kw)


def case_truncated_invite(local_port, target, transport):
    full = _invite(local_port, target, transport)
    cut = full.index(b"CSeq:") + len(b"CSeq: 1 INV")
    return full[:cut], {400, None, "closed"}


def case_content_length_too_big(local_port, target, transport):
    msg = _invite(local_port, target, transport, content_length=str(len(pcmu_offer()) + 100))
    # Over UDP the datagram ends before the body: RFC 3261 18.3 says 400.
    # Over TCP the server can only wait for the rest; we give up and close.
    return msg, MUST_400 if transport == "udp" else {400, None, "closed"}


def case_content_length_not_a_number(local_port, target, transport):
    msg = _invite(local_port, target, transport, content_length="12abc")
    return msg, MUST_400 if transport == "udp" else {400, "closed"}


def case_binary_junk(local_port, target, transport):
    junk = bytes(random.Random(4242).getrandbits(8) for _ in range(1024))
    return junk, {400, None, "closed"}


def case_missing_request_uri(local_port, target, transport):
    msg = _invite(local_port, target, transport, request_line="INVITE SIP/2.0")
    return msg, MUST_400 if transport == "udp" else {400, "closed"}


def case_garbage_start_line(local_port, target, transport):
    msg = sip_request("OPTIONS", target=target, local_port=local_port, transport=transport,
                      request_line="THIS IS NOT SIP")
    return msg, {400, None, "closed"}


def case_bad_cseq(local_port, target, transport):
    msg = _invite(local_port, target, transport).replace(b"CSeq: 1 INVITE", b"CSeq: one INVITE")
    return msg, MUST_400 if transport == "udp" else {400, "closed"}


def case_huge_header(local_port, target, transport):
    # 60 000 bytes of one header: still one UDP datagram on loopback. It is a
    # valid OPTIONS, so 200 is fine; so are the size-limit answers.
    pad = "X-Padding: " + "a" * 60000
    msg = sip_request("OPTIONS", target=target, local_port=local_port, transport=transport,
                      extra_headers=[pad])
    return msg, {200, 400, 413, 513, None, "closed"}


CASES = [case_truncated_invite, case_content_length_too_big, case_content_length_not_a_number,
         case_binary_junk, case_missing_request_uri, case_garbage_start_line, case_bad_cseq,
         case_huge_header]


def _outcome(raw: RawSip, wait: float):
    try:
        r = raw.final_response(wait)
    except EOFError:
        return "closed"
    except OSError:
        return "closed"
    return None if r is None else r.code


def _send_case(case, transport, target):
    with RawSip(transport, target) as raw:
        data, allowed = case(raw.port, target, transport)
        try:
            raw.send(data)
            if transport == "tcp" and case is case_truncated_invite:
                raw.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return "closed", allowed
        # A required answer gets the longer wait; silence is only ever a
        # bounded wait for an answer that may legitimately not come.
        got = _outcome(raw, 3.0 if allowed == MUST_400 else 1.0)
        return got, allowed


def _options_ok(transport, target):
    with RawSip(transport, target) as raw:
        raw.send(sip_request("OPTIONS", target=target, local_port=raw.port, transport=transport))
        r = raw.final_response(5)
        return r


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_malformed_input_is_answered_or_dropped(dialtone, sipp, transport):
    d = dialtone(ECHO)
    target = (LOOPBACK, d.sip_port)
    report, bad = [], []
    for case in CASES:
        got, allowed = _send_case(case, transport, target)
        name = case.__name__[5:]
        report.append(f"{name}: got {got!r}, allowed {sorted(map(str, allowed))}")
        if got not in allowed:
            bad.append(name)
        d.assert_alive()
    summary = "\n".join(report)
    assert not bad, f"unexpected outcomes for {bad}:\n{summary}\nlog:\n{d.log_text()[-4000:]}"

    r = _options_ok(transport, target)
    assert r is not None and r.code == 200, f"OPTIONS after the junk: {r}\n{summary}"
    run = sipp("uac", d.sip_uri_host, transport="u1" if transport == "udp" else "t1",
               calls=3, rate=5, duration_ms=300, timeout_s=20)
    run.run()
    run.assert_ok()
    d.assert_alive()


def test_oversized_tcp_header_is_not_buffered_forever(dialtone):
    """256 KiB of header without an end: the server must give up on the
    connection (close it or answer with an error) instead of reading forever."""
    d = dialtone(ECHO)
    target = (LOOPBACK, d.sip_port)
    with RawSip("tcp", target) as raw:
        head = sip_request("OPTIONS", target=target, local_port=raw.port, transport="tcp")
        head = head[:head.index(b"Content-Length")]  # no end of headers
        raw.sock.settimeout(5)
        outcome = None
        try:
            raw.sock.sendall(head + b"X-Endless: ")
            chunk = b"a" * 4096
            for _ in range(64):
                raw.sock.sendall(chunk)
        except socket.timeout:
            outcome = "send blocked"  # the server stopped reading: not buffering
        except OSError:
            outcome = "closed"
        if outcome is None:
            got = _outcome(raw, 5.0)
            outcome = got if got is not None else "no reaction"
    assert outcome in ("closed", "send blocked") or (isinstance(outcome, int) and outcome >= 400), \
        f"256 KiB header: {outcome}"
    d.assert_alive()
    r = _options_ok("tcp", target)
    assert r is not None and r.code == 200, r


def test_tcp_connections_from_one_address_are_limited(dialtone):
    """One address may hold 64 SIP connections: the 65th is closed at once,
    the first ones keep working, and a slot frees when one closes."""
    d = dialtone(ECHO)
    target = (LOOPBACK, d.sip_port)
    held = []
    try:
        for _ in range(64):
            held.append(socket.create_connection(target, timeout=5))
        # Every held connection is served: an OPTIONS on the last one works.
        last = held[-1]
        last.sendall(sip_request("OPTIONS", target=target, local_port=last.getsockname()[1],
                                 transport="tcp"))
        last.settimeout(5)
        assert last.recv(4096).startswith(b"SIP/2.0 200"), "the 64th connection is served"
        extra = socket.create_connection(target, timeout=5)
        extra.settimeout(5)
        try:
            closed = extra.recv(1) == b""
        except (ConnectionResetError, socket.timeout) as e:
            closed = isinstance(e, ConnectionResetError)
        extra.close()
        assert closed, "the 65th connection from one address must be closed"
        # One goes away: a new one is taken again.
        held.pop(0).close()
        again = None
        for _ in range(50):
            probe = socket.create_connection(target, timeout=5)
            probe.sendall(sip_request("OPTIONS", target=target,
                                      local_port=probe.getsockname()[1], transport="tcp"))
            probe.settimeout(2)
            try:
                again = probe.recv(4096)
            except (ConnectionResetError, socket.timeout):
                again = b""
            probe.close()
            if again:
                break
            time.sleep(0.05)  # the server notices the close asynchronously
        assert again and again.startswith(b"SIP/2.0 200"), again
    finally:
        for sock in held:
            sock.close()
    d.assert_alive()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_options_gets_200(dialtone, transport):
    d = dialtone(ECHO)
    r = _options_ok(transport, (LOOPBACK, d.sip_port))
    assert r is not None and r.code == 200, r
    for name in ("via", "from", "to", "call-id"):
        assert r.header(name), f"200 OK without {name}: {r.raw!r}"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_bye_for_unknown_dialog_gets_481(dialtone, transport):
    d = dialtone(ECHO)
    target = (LOOPBACK, d.sip_port)
    with RawSip(transport, target) as raw:
        raw.send(sip_request("BYE", target=target, local_port=raw.port, transport=transport,
                             call_id=f"no-such-call-{time.time_ns()}@{LOOPBACK}", cseq=2,
                             to_tag="unknown-tag"))
        r = raw.final_response(5)
    assert r is not None and r.code == 481, r
    d.assert_alive()


@pytest.mark.parametrize("method", ["SUBSCRIBE", "PUBLISH"])
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_unsupported_method_gets_405_with_allow(dialtone, transport, method):
    d = dialtone(ECHO)
    target = (LOOPBACK, d.sip_port)
    with RawSip(transport, target) as raw:
        raw.send(sip_request(method, target=target, local_port=raw.port, transport=transport,
                             extra_headers=["Event: presence", "Expires: 60"]))
        r = raw.final_response(5)
    assert r is not None and r.code == 405, r
    allow = r.header("allow")
    assert allow and "INVITE" in allow.upper(), f"405 without a useful Allow header: {r.raw!r}"
    assert method not in allow.upper().replace(",", " ").split(), allow


def test_unknown_method_is_refused(dialtone):
    d = dialtone(ECHO)
    target = (LOOPBACK, d.sip_port)
    with RawSip("udp", target) as raw:
        raw.send(sip_request("FROBNICATE", target=target, local_port=raw.port))
        r = raw.final_response(5)
    assert r is not None and r.code in (405, 501), r
    d.assert_alive()
