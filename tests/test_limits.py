"""Everything ends, against real peers: an INVITE nobody answers gets 480, a
call whose peer sends no RTP is hung up by the engine, and a forwarding loop
ends with 483 instead of running forever."""

from __future__ import annotations

import re
import time

import harness
from conftest import ECHO, FORWARD, SLOW_ANSWER
from sipwire import RawSip


def test_an_invite_nobody_answers_gets_480(dialtone, sipp):
    d = dialtone(SLOW_ANSWER, extra_args=["--no-answer-timeout", "2s"])
    run = sipp("uac_no_answer.xml", d.sip_uri_host, calls=1, timeout_s=20,
               extra=["-trace_msg"])
    started = time.monotonic()
    run.run()
    run.assert_ok()
    # Not before the configured time (the scenario itself would answer after 60 s).
    assert time.monotonic() - started >= 1.9
    messages = "\n".join(p.read_text(errors="replace") for p in run.workdir.glob("*_messages.log"))
    assert re.search(r"SIP/2\.0 480 No Answer", messages), messages[-2000:]
    assert 'Reason: SIP;cause=408;text="No Answer"' in messages, messages[-2000:]
    d.wait_for(r'Call\.Disconnected call=\S+ code=480 reason="No Answer"', timeout=5)
    d.assert_alive()


def test_a_silent_peer_is_hung_up_by_the_engine(dialtone, sipp):
    d = dialtone(ECHO, extra_args=["--rtp-timeout", "1s", "--rtp-hangup-after", "1s"])
    run = sipp("uac_silent.xml", d.sip_uri_host, calls=1, timeout_s=25, extra=["-trace_msg"])
    run.run()
    run.assert_ok()
    messages = "\n".join(p.read_text(errors="replace") for p in run.workdir.glob("*_messages.log"))
    assert 'Reason: SIP;cause=408;text="RTP Timeout"' in messages, messages[-2000:]
    d.wait_for(r"Call\.RtpStopped", timeout=5)
    d.wait_for(r'Call\.Disconnected call=\S+ code=200 reason="RTP Timeout"', timeout=5)
    d.assert_alive()


def test_a_forwarding_loop_ends_with_483():
    port = harness.PORTS.sip_port()
    # forward.js calls the URI in its custom data: here, dialtone itself, which
    # the egress policy denies unless its own address and port are allowed exactly.
    d = harness.Dialtone(FORWARD, sip_port=port, custom_data=f"sip:loop@127.0.0.1:{port}",
                         extra_args=["--egress-allow", f"127.0.0.1:{port}"])
    d.start()
    try:
        hops = 4
        with RawSip("udp", (harness.LOOPBACK, port)) as sip:
            sip.send(invite(port, sip.port, max_forwards=hops))
            final = None
            deadline = time.monotonic() + 20
            while final is None and time.monotonic() < deadline:
                r = sip.recv_response(timeout=deadline - time.monotonic())
                if r is not None and r.code >= 200:
                    final = r
        assert final is not None and final.code == 483, final
        # One session per hop took the call, and the last could not forward it.
        d.wait_for(r"Call\.Failed call=\S+ code=483", timeout=5)
        alerting = [line for line in d.lines if "Application.CallAlerting" in line]
        assert len(alerting) == hops, d.log_text()
        # Every session of the loop ends.
        start = 0
        for _ in range(hops):
            m = d.wait_for(r"Application\.Terminated", timeout=10, start=start,
                           what="the end of every session of the loop")
            start = d.lines.index(m.string) + 1
        d.assert_alive()
    finally:
        d.stop()


def invite(port: int, local_port: int, max_forwards: int) -> bytes:
    sdp = ("v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
    return (
        f"INVITE sip:loop@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK-loop-{local_port}\r\n"
        f"From: <sip:caller@127.0.0.1:{local_port}>;tag=loop\r\n"
        f"To: <sip:loop@127.0.0.1:{port}>\r\n"
        f"Call-ID: loop-{local_port}@127.0.0.1\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:caller@127.0.0.1:{local_port}>\r\n"
        f"Max-Forwards: {max_forwards}\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(sdp)}\r\n\r\n{sdp}"
    ).encode()
