"""The test tools checked against each other, without dialtone.

If these fail, the interop tests cannot be trusted either: a SIPp scenario of
ours, the PJSIP agent or the audio analysis is broken, not the engine.
"""

from __future__ import annotations

import numpy as np
import pytest

import audio
import harness
import sipwire
from harness import LOOPBACK, PORTS


# --- audio ------------------------------------------------------------------------------

def test_ulaw_round_trip_stays_within_quantisation_error():
    pcm = np.arange(-32000, 32000, 7, dtype=np.int32)
    back = audio.ulaw_decode(audio.ulaw_encode(pcm)).astype(np.int32)
    # G.711 mu-law: step size grows with magnitude, at most 1/16 of it plus bias.
    assert np.all(np.abs(back - pcm) <= np.maximum(16, np.abs(pcm) // 16 + 8))
    codes = np.arange(256, dtype=np.uint8)
    # Every code's value survives a second trip (0x7F and 0xFF both mean 0).
    values = audio.ulaw_decode(codes)
    assert np.array_equal(audio.ulaw_decode(audio.ulaw_encode(values)), values)


@pytest.mark.parametrize("freq,rate", [(440, 8000), (1200, 8000), (1000, 16000), (3000, 16000)])
def test_tone_analysis_finds_the_generated_frequency(tmp_path, freq, rate):
    wav = audio.write_tone_wav(tmp_path / "t.wav", freq, 2.0, rate)
    a = audio.assert_tone(wav, freq, tolerance=0.01)
    assert -10 < a.rms_dbfs < -8  # amplitude 0.5 sine: -9 dBFS


def test_ulaw_file_decodes_to_the_tone(tmp_path):
    raw = audio.write_tone_ulaw(tmp_path / "t.ulaw", 1000, 2.0)
    assert raw.stat().st_size == 16000
    pcm = audio.ulaw_decode(np.frombuffer(raw.read_bytes(), dtype=np.uint8))
    wav = audio.write_wav(tmp_path / "t.wav", pcm / 32768.0, 8000)
    audio.assert_tone(wav, 1000, tolerance=0.01)


def test_silence_has_no_tone(tmp_path):
    wav = audio.write_wav(tmp_path / "s.wav", np.zeros(16000), 8000)
    a = audio.analyze(wav)
    assert a.freq_hz == 0.0 and a.rms == 0.0
    with pytest.raises(AssertionError, match="too quiet"):
        audio.assert_tone(wav, 440)


# --- SIPp scenarios against SIPp stand-ins ----------------------------------------------------

def _uas(sipp, scenario, transport, extra=()):
    port = PORTS.sip_port()
    uas = sipp(scenario, None, transport=transport, local_port=port, calls=1, timeout_s=25,
               name="uas", extra=list(extra)).start()
    harness.wait_bound(port, "tcp" if transport.startswith("t") else "udp")
    return uas, f"{LOOPBACK}:{port}"


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_rtp_scenario_against_sipp_echo(sipp, tones, transport):
    uas, target = _uas(sipp, "uas", transport, ["-rtp_echo"])
    uac = sipp("uac_pcmu_rtp.xml", target, transport=transport, calls=1, duration_ms=2500,
               timeout_s=20, name="uac")
    tones.ulaw(1000, uac.workdir)
    uac.start()
    assert harness.wait_rtp_back(uac.media_port, 8, lambda: uac.proc.poll() is None), \
        "no RTP came back to SIPp's media socket from sipp -rtp_echo"
    uac.wait()
    uac.assert_ok()
    uas.wait()
    uas.assert_ok()


def test_rtp_check_sees_nothing_without_echo(sipp, tones):
    uas, target = _uas(sipp, "uas", "u1")
    uac = sipp("uac_pcmu_rtp.xml", target, calls=1, duration_ms=1500, timeout_s=20, name="uac")
    tones.ulaw(1000, uac.workdir)
    uac.start()
    assert not harness.wait_rtp_back(uac.media_port, 1.0, lambda: uac.proc.poll() is None)
    uac.wait()
    uac.assert_ok()
    uas.wait()


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_busy_scenario_against_sipp_peer(sipp, transport):
    uas, target = _uas(sipp, "peer_uas_busy.xml", transport)
    uac = sipp("uac_busy.xml", target, transport=transport, calls=1, timeout_s=15, name="uac")
    uac.run()
    uac.assert_ok()
    uas.wait()
    if transport == "u1":  # over TCP the stand-in fails when the UAC hangs up the connection
        uas.assert_ok()


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_cancel_scenario_against_sipp_peer(sipp, transport):
    uas, target = _uas(sipp, "peer_uas_ringing.xml", transport)
    uac = sipp("uac_cancel.xml", target, transport=transport, calls=1, timeout_s=15, name="uac")
    uac.run()
    uac.assert_ok()
    uas.wait()
    if transport == "u1":  # over TCP the stand-in fails when the UAC hangs up the connection
        uas.assert_ok()


def test_busy_scenario_fails_on_a_200(sipp):
    """uac_busy.xml must not pass when the far end answers."""
    uas, target = _uas(sipp, "uas", "u1")
    uac = sipp("uac_busy.xml", target, calls=1, timeout_s=10, name="uac")
    assert uac.run() != 0
    uas.stop()


def test_plain_uac_against_sipp_uas(sipp):
    uas, target = _uas(sipp, "uas", "u1")
    uac = sipp("uac", target, calls=1, timeout_s=15, name="uac")
    uac.run()
    uac.assert_ok()


# --- PJSIP agent against itself -------------------------------------------------------------

@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_pjsip_agents_exchange_tones(agent, tones, tmp_path, codec):
    rec_a, rec_b = tmp_path / "a.wav", tmp_path / "b.wav"
    b = agent("answer", name="b", play=tones.wav(1200), record=rec_b, max_time=30)
    a = agent("call", f"sip:b@{LOOPBACK}:{b.port}", name="a", play=tones.wav(440, rate=16000),
              record=rec_a, codec=codec, no_telephone_event=True, duration=2.5, max_time=30)
    a.wait_event("confirmed", 10)
    invite = b.wait_event("incoming", 5)["msg"]
    assert "telephone-event" not in invite
    assert ("PCMU/8000" in invite) == (codec == "PCMU")
    assert a.wait_exit(15) == 0
    assert b.wait_exit(10) == 0
    assert a.find_event("disconnected")["connected"]
    audio.assert_tone(rec_a, 1200)
    audio.assert_tone(rec_b, 440)


def test_pjsip_agent_reports_rejection_code(agent):
    b = agent("answer", name="b", max_time=20, mode_opts=["--reply", "486"])
    a = agent("call", f"sip:b@{LOOPBACK}:{b.port}", name="a", max_time=20)
    ev = a.wait_event("disconnected", 10)
    assert ev["code"] == 486 and not ev["connected"]
    assert a.wait_exit(10) == 0


def test_pjsip_agent_over_tcp(agent, tones, tmp_path):
    rec = tmp_path / "a.wav"
    b = agent("answer", name="b", transport="tcp", play=tones.wav(700), max_time=20)
    a = agent("call", f"sip:b@{LOOPBACK}:{b.port};transport=tcp", name="a", transport="tcp",
              record=rec, duration=2.0, max_time=20)
    assert a.wait_exit(15) == 0
    audio.assert_tone(rec, 700)


# --- the raw SIP client against PJSIP -------------------------------------------------------

@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_raw_sip_client_against_pjsip(agent, transport):
    b = agent("answer", name="b", transport=transport, max_time=20)
    target = (LOOPBACK, b.port)
    with sipwire.RawSip(transport, target) as raw:
        raw.send(sipwire.sip_request("OPTIONS", target=target, local_port=raw.port, transport=transport))
        r = raw.final_response(5)
        assert r is not None and r.code == 200, r
        assert r.header("call-id") and r.header("via")
    with sipwire.RawSip(transport, target) as raw:
        raw.send(sipwire.sip_request("BYE", target=target, local_port=raw.port, transport=transport,
                                     call_id="no-such-call", cseq=2, to_tag="x"))
        r = raw.final_response(5)
        assert r is not None and r.code == 481, r


# --- the dialtone wrapper, on a stand-in process -------------------------------------------

def test_dialtone_wrapper_on_a_stand_in(tmp_path):
    """Start/wait/stop logic of harness.Dialtone, without the real binary."""
    fake = tmp_path / "fake-dialtone"
    fake.write_text(
        "#!/bin/sh\n"
        "echo \"args: $*\"\n"
        "echo 'INFO listening on 127.0.0.1'\n"
        "trap 'echo got TERM; exit 0' TERM\n"
        "i=0; while [ $i -lt 600 ]; do echo \"INFO session=s$i kind=log tick $i\"; i=$((i+1)); sleep 0.1; done\n")
    fake.chmod(0o755)
    d = harness.Dialtone(harness.REPO / "scripts" / "echo.js", binary=fake, custom_data="sip:x@y")
    with d:
        assert "--custom-data sip:x@y" in d.lines[0]
        assert f"--sip 127.0.0.1:{d.sip_port}" in d.lines[0]
        mark = d.mark()
        m = d.wait_for(r"session=(\S+) kind=log tick 3\b", timeout=5, start=mark)
        assert m.group(1) == "s3"
        d.assert_alive()
        with pytest.raises(AssertionError, match="no line matching"):
            d.wait_for("never printed", timeout=0.3)
    assert not d.alive() and not d.died


def test_dialtone_wrapper_reports_an_early_exit(tmp_path):
    fake = tmp_path / "fake-dialtone"
    fake.write_text("#!/bin/sh\necho 'panicked at src/main.rs:1:1'\nexit 101\n")
    fake.chmod(0o755)
    d = harness.Dialtone(harness.REPO / "scripts" / "echo.js", binary=fake)
    with pytest.raises(AssertionError, match=r"exited with status 101(.|\n)*panicked"):
        d.start(ready_timeout=5)
    assert not d.alive()
