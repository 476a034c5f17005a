"""dialtone against SIPp: plain calls, RTP, CANCEL and rejection."""

from __future__ import annotations

import pytest

import harness
from conftest import BUSY, ECHO, SLOW_ANSWER

TRANSPORTS = {"u1": "udp", "t1": "tcp"}


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_plain_calls_to_echo(dialtone, sipp, transport):
    d = dialtone(ECHO)
    run = sipp("uac", d.sip_uri_host, transport=transport, calls=20, rate=10, limit=5,
               duration_ms=500, timeout_s=40)
    run.run()
    run.assert_ok()
    assert run.counts().get("Successful call") == 20, run.report()
    d.assert_alive()
    # Every call got its session and every session saw its call end.
    d.wait_for(r"Disconnected", timeout=5)


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_rtp_comes_back_from_echo(dialtone, sipp, tones, transport):
    d = dialtone(ECHO)
    run = sipp("uac_pcmu_rtp.xml", d.sip_uri_host, transport=transport, calls=1,
               duration_ms=3000, timeout_s=25)
    tones.ulaw(1000, run.workdir)
    run.start()
    got = harness.wait_rtp_back(run.media_port, 10, lambda: run.proc.poll() is None)
    run.wait()
    run.assert_ok()
    assert got, "the call succeeded but no RTP reached SIPp's media port from echo.js"
    d.assert_alive()


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_cancel_before_answer_gets_487(dialtone, sipp, transport):
    d = dialtone(SLOW_ANSWER)
    run = sipp("uac_cancel.xml", d.sip_uri_host, transport=transport, calls=1, timeout_s=20)
    run.run()
    run.assert_ok()
    m = d.wait_for(r"session=(\S+).*Disconnected", timeout=10,
                   what="a Disconnected event for the cancelled call")
    session = m.group(1)
    # The same session had seen the call come in.
    assert any(session in line for line in d.lines[:d.lines.index(m.string)]), d.log_text()
    d.assert_alive()


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_busy_rejects_with_486(dialtone, sipp, transport):
    d = dialtone(BUSY)
    run = sipp("uac_busy.xml", d.sip_uri_host, transport=transport, calls=5, rate=5, timeout_s=20)
    run.run()
    run.assert_ok()
    d.assert_alive()


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_late_offer_gets_the_offer_in_200_and_connects(dialtone, sipp, transport):
    """INVITE without SDP: our offer in the 200, the answer in the ACK (RFC 3264)."""
    d = dialtone(ECHO)
    run = sipp("uac_late_offer.xml", d.sip_uri_host, transport=transport, calls=5, rate=5, timeout_s=20)
    run.run()
    run.assert_ok()
    # The session saw the call connect (answer taken from the ACK) and end.
    d.wait_for(r"Call\.Connected", timeout=5)
    d.wait_for(r"Call\.Disconnected", timeout=5)
    d.assert_alive()


def test_no_common_codec_gets_488(dialtone, sipp):
    d = dialtone(ECHO)
    run = sipp("uac_no_common_codec.xml", d.sip_uri_host, calls=3, rate=3, timeout_s=20)
    run.run()
    run.assert_ok()
    # Refused before any session started.
    assert "Application.Started" not in d.log_text()
    d.assert_alive()


def test_x_headers_reach_the_script_and_come_back_in_the_answer(dialtone, sipp):
    d = dialtone(harness.REPO / "tests" / "scenarios" / "headers.js")
    run = sipp("uac_headers.xml", d.sip_uri_host, calls=3, rate=3, timeout_s=20)
    run.run()
    run.assert_ok()
    d.wait_for(r"headers: X-Request=ping[0-9]+", timeout=5)
    # A script may set only X- headers: the Via it tried is dropped.
    d.assert_alive()


def test_callsip_answers_a_digest_challenge(dialtone, sipp):
    """The callee demands digest auth; callSIP's authUser/password get it to answer."""
    port = harness.PORTS.sip_port()
    callee = sipp("peer_uas_auth.xml", None, local_port=port, calls=1, timeout_s=25, name="callee").start()
    harness.wait_bound(port, "udp")
    d = dialtone(harness.REPO / "tests" / "scenarios" / "forward_auth.js",
                 custom_data=f"sip:bob@{harness.LOOPBACK}:{port}")
    caller = sipp("uac", d.sip_uri_host, calls=1, duration_ms=1000, timeout_s=20, name="caller")
    caller.run()
    caller.assert_ok()
    callee.wait()
    callee.assert_ok()
    d.wait_for(r"forward_auth: callee answered", timeout=5)
    d.assert_alive()


def test_wildcard_bind_advertises_the_given_address(dialtone, sipp, tones):
    """SIP and RTP bound to every interface: Contact and SDP carry the address
    given with --advertise, never 0.0.0.0, and media flows."""
    d = dialtone(ECHO, sip_bind="0.0.0.0", extra_args=["--advertise", harness.LOOPBACK])
    run = sipp("uac_pcmu_rtp.xml", d.sip_uri_host, calls=1, duration_ms=2000, timeout_s=25,
               extra=["-trace_msg"])
    tones.ulaw(1000, run.workdir)
    run.start()
    got = harness.wait_rtp_back(run.media_port, 10, lambda: run.proc.poll() is None)
    run.wait()
    run.assert_ok()
    assert got, "no RTP came back through the wildcard-bound media socket"
    messages = "".join(p.read_text(errors="replace") for p in run.trace_files("messages.log"))
    answer = messages[messages.index("SIP/2.0 200 OK"):]
    assert f"c=IN IP4 {harness.LOOPBACK}" in answer, answer[:1500]
    assert "0.0.0.0" not in answer.split("\n\n", 1)[0] + answer, answer[:1500]
    d.assert_alive()
