//! Endpoint packet handling, driven directly with virtual time.

use super::*;
use std::net::{Ipv4Addr, UdpSocket};

const UNIT: UnitId = UnitId(7);
const RELATCH_AFTER: Duration = Duration::from_secs(2);

fn endpoint() -> Endpoint {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let local = sock.local_addr().unwrap();
    Endpoint::new(UNIT, sock, local, RELATCH_AFTER)
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn params(codec: Codec) -> RtpParams {
    RtpParams {
        remote: addr(40_000),
        codec,
        payload_type: codec.payload_type(),
        telephone_event_pt: Some(101),
        send: true,
    }
}

fn rtp(pt: u8, seq: u16, payload: &[u8]) -> Vec<u8> {
    rtp_ssrc(pt, 0xabc, seq, payload)
}

fn rtp_ssrc(pt: u8, ssrc: u32, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; RTP_HEADER_LEN + payload.len()];
    let h = RtpHeader {
        payload_type: pt,
        sequence: seq,
        timestamp: u32::from(seq).wrapping_mul(160),
        ssrc,
        ..RtpHeader::default()
    };
    h.write_packet(payload, 0, &mut out).unwrap();
    out
}

struct Harness {
    ep: Endpoint,
    c: Counters,
    ev: Vec<MediaEvent>,
    t0: Instant,
}

impl Harness {
    fn new(codec: Option<Codec>) -> Harness {
        let mut ep = endpoint();
        let t0 = Instant::now();
        if let Some(codec) = codec {
            ep.configure(params(codec), t0);
        }
        Harness {
            ep,
            c: Counters::default(),
            ev: Vec::new(),
            t0,
        }
    }
    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }
    fn packet(&mut self, ms: u64, from: u16, data: &[u8]) {
        let now = self.at(ms);
        self.ep
            .on_datagram(data, addr(from), now, &mut self.c, &mut self.ev);
    }
    fn tick(&mut self, ms: u64) {
        let now = self.at(ms);
        self.ep.on_tick(now, Duration::from_secs(1), &mut self.ev);
    }
}

#[test]
fn unconfigured_endpoint_drops_everything() {
    let mut h = Harness::new(None);
    h.packet(0, 40_000, &rtp(0, 1, &[0x55; 160]));
    assert_eq!(h.c.packets_in, 1);
    assert_eq!(h.c.dropped, 1);
    assert!(h.ev.is_empty());
    assert_eq!(h.ep.send_addr(), None);
}

#[test]
fn payload_types_are_filtered_and_counted() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    h.packet(0, 40_000, &rtp(8, 1, &[0x55; 160]));
    h.packet(0, 40_000, &rtp(13, 2, &[0x55; 1]));
    h.packet(0, 40_000, &[0x80, 0, 1]);
    assert_eq!(h.c.dropped, 3);
    assert!(h.ev.is_empty(), "foreign payloads are not audio");
    h.packet(1, 40_000, &rtp(101, 3, &[1, 0x80, 0, 160]));
    assert_eq!(h.c.telephone_events, 1);
    assert!(h.ev.is_empty(), "telephone-event is not audio");
    h.packet(2, 40_000, &rtp(0, 4, &[0x55; 160]));
    assert_eq!(h.ev, vec![MediaEvent::FirstAudioPacket(UNIT)]);
    h.packet(3, 40_000, &rtp(0, 4, &[0x55; 160]));
    assert_eq!(h.c.dropped, 4, "the duplicate");
    assert_eq!(h.ev.len(), 1, "first audio is reported once");
    assert_eq!(h.c.packets_in, 6);
}

#[test]
fn sends_to_sdp_address_until_a_packet_arrives_then_latches() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    assert_eq!(h.ep.send_addr(), Some(addr(40_000)));
    assert_eq!(h.ep.source(), None);
    // A foreign payload type does not latch.
    h.packet(0, 41_000, &rtp(96, 1, &[0; 10]));
    assert_eq!(h.ep.send_addr(), Some(addr(40_000)));
    // The first valid packet does, wherever it comes from (a NAT).
    h.packet(0, 41_000, &rtp(0, 2, &[0; 160]));
    assert_eq!(h.ep.send_addr(), Some(addr(41_000)));
    assert_eq!(h.ep.source(), Some(addr(41_000)));
    // Then another source does not, not even the address from SDP.
    h.packet(20, 42_000, &rtp(0, 3, &[0; 160]));
    h.packet(20, 40_000, &rtp(0, 3, &[0; 160]));
    assert_eq!(h.ep.send_addr(), Some(addr(41_000)));
    assert_eq!((h.c.foreign, h.c.dropped), (2, 3));
    // A re-INVITE to the same address keeps the latch.
    h.ep.configure(params(Codec::Pcmu), h.at(30));
    assert_eq!(h.ep.send_addr(), Some(addr(41_000)));
    assert_eq!(h.ep.source(), Some(addr(41_000)));
}

/// `n` packets of the latched peer (40 000, SSRC 0xabc) every 20 ms from
/// `from_ms`, each followed by `spray` packets of a forger at 41 000 with
/// random SSRCs and sequence numbers.
fn talk_under_spray(h: &mut Harness, from_ms: u64, n: u16, spray: usize) {
    for i in 0..n {
        let ms = from_ms + 20 * u64::from(i);
        h.packet(ms, 40_000, &rtp(0, 100 + i, &[0x11; 160]));
        for _ in 0..spray {
            h.packet(
                ms,
                41_000,
                &rtp_ssrc(0, rand::random(), rand::random(), &[0x77; 160]),
            );
        }
        h.tick(ms);
    }
}

#[test]
fn a_spray_from_another_source_is_dropped_and_counted() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    h.ep.set_tone_detection(true);
    h.packet(0, 40_000, &rtp(0, 99, &[0x11; 160]));
    assert_eq!(h.ep.source(), Some(addr(40_000)));
    // Three forged packets for each real one, for 2 s.
    talk_under_spray(&mut h, 20, 100, 3);
    // Forged DTMF too.
    for seq in 0..10 {
        h.packet(2020, 41_000, &rtp(101, seq, &[1, 0x80, 0, 160]));
    }
    assert_eq!(h.c.foreign, 310);
    assert_eq!(h.c.dropped, 310);
    assert_eq!(h.c.telephone_events, 0);
    assert_eq!(h.c.packets_in, 411);
    assert_eq!(h.ep.source(), Some(addr(40_000)));
    assert_eq!(h.ep.send_addr(), Some(addr(40_000)));
    assert_eq!(h.ev, vec![MediaEvent::FirstAudioPacket(UNIT)], "no tone");
    // What plays is the peer's audio, never the forger's.
    let (mut out, mut pcm) = ([0u8; FRAME_SAMPLES], [0i16; FRAME_SAMPLES]);
    assert_eq!(h.ep.frame(), TickFrame::Received);
    assert!(h.ep.render(Codec::Pcmu, &mut out, &mut pcm));
    assert_eq!(out, [0x11; FRAME_SAMPLES]);
    assert_eq!(
        h.ep.lost(),
        0,
        "forged sequence numbers do not count as loss"
    );
}

#[test]
fn a_steady_new_source_takes_over_once_the_latched_one_is_silent() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    // The peer talks for 1 s (its last packet at 980 ms), then falls silent.
    talk_under_spray(&mut h, 0, 50, 0);
    // The same peer, moved (a new NAT binding): a new address and SSRC, one
    // steady stream from 1 s on.
    let mut taken_over = None;
    for i in 0..150u16 {
        let ms = 1000 + 20 * u64::from(i);
        h.packet(ms, 42_000, &rtp_ssrc(0, 0x5eed, 7000 + i, &[0x22; 160]));
        h.tick(ms);
        if taken_over.is_none() && h.ep.source() == Some(addr(42_000)) {
            taken_over = Some(ms);
        }
    }
    // Silent for 2 s counts from the last packet: 980 ms + 2 s.
    assert_eq!(taken_over, Some(2980));
    assert_eq!(h.ep.send_addr(), Some(addr(42_000)));
    assert_eq!(h.c.foreign, 99, "1000..=2960 ms dropped");
    let (mut out, mut pcm) = ([0u8; FRAME_SAMPLES], [0i16; FRAME_SAMPLES]);
    assert!(h.ep.render(Codec::Pcmu, &mut out, &mut pcm));
    assert_eq!(out, [0x22; FRAME_SAMPLES], "the new source's audio plays");
    // The old address is foreign now.
    h.packet(4000, 40_000, &rtp(0, 150, &[0x11; 160]));
    assert_eq!(h.c.foreign, 100);
    assert_eq!(h.ep.source(), Some(addr(42_000)));
}

#[test]
fn an_inconsistent_new_source_never_takes_over() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    talk_under_spray(&mut h, 0, 5, 0);
    // Silent peer, 10 s of forged packets at 200 a second.
    for i in 0..2000u64 {
        let pkt = rtp_ssrc(0, rand::random(), rand::random(), &[0x77; 160]);
        h.packet(100 + 5 * i, 41_000, &pkt);
    }
    assert_eq!(h.ep.source(), Some(addr(40_000)));
    assert_eq!(h.ep.send_addr(), Some(addr(40_000)));
    assert_eq!(h.c.foreign, 2000);
    // The peer is back: heard at once.
    h.packet(10_200, 40_000, &rtp(0, 105, &[0x11; 160]));
    assert_eq!(h.c.foreign, 2000);
}

#[test]
fn a_new_address_from_sdp_is_latched_at_once() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    // Behind a NAT: the packets come from elsewhere than SDP says.
    h.packet(0, 41_000, &rtp(0, 1, &[0x11; 160]));
    assert_eq!(h.ep.source(), Some(addr(41_000)));
    // A re-INVITE moves the media to 43 000.
    let mut moved = params(Codec::Pcmu);
    moved.remote = addr(43_000);
    h.ep.configure(moved, h.at(40));
    assert_eq!(h.ep.send_addr(), Some(addr(43_000)));
    assert_eq!(h.ep.source(), Some(addr(43_000)));
    // The old stream trickles on, steady: dropped. The new one plays at once.
    for i in 0..10u16 {
        h.packet(60 + 20 * u64::from(i), 41_000, &rtp(0, 2 + i, &[0x11; 160]));
    }
    assert_eq!(h.c.foreign, 10);
    h.packet(100, 43_000, &rtp_ssrc(0, 0x43, 500, &[0x33; 160]));
    assert_eq!(h.c.foreign, 10);
    assert_eq!(h.ep.send_addr(), Some(addr(43_000)));
}

#[test]
fn hold_and_resume_keep_the_latch() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    h.packet(0, 41_000, &rtp(0, 1, &[0x11; 160]));
    // Old-style hold: `c=0.0.0.0`. Nothing is sent until the peer sends.
    let mut held = params(Codec::Pcmu);
    held.remote = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 40_000));
    h.ep.configure(held, h.at(20));
    assert_eq!(h.ep.send_addr(), None);
    assert_eq!(h.ep.source(), Some(addr(41_000)));
    // Resumed to the address from before the hold: no move, the NAT'd
    // source stays latched.
    h.ep.configure(params(Codec::Pcmu), h.at(5000));
    assert_eq!(h.ep.send_addr(), Some(addr(41_000)));
    assert_eq!(h.ep.source(), Some(addr(41_000)));
    h.packet(5020, 41_000, &rtp(0, 2, &[0x11; 160]));
    assert_eq!(h.c.foreign, 0);
}

#[test]
fn unspecified_sdp_address_waits_for_the_peer() {
    let mut h = Harness::new(None);
    let mut p = params(Codec::Pcma);
    p.remote = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 40_000));
    h.ep.configure(p, h.t0);
    assert_eq!(h.ep.send_addr(), None);
    let mut packet = [0u8; PACKET_LEN];
    assert_eq!(h.ep.stamp_packet(0, &mut packet), None);
    h.packet(0, 40_002, &rtp(8, 1, &[0xd5; 160]));
    assert_eq!(h.ep.send_addr(), Some(addr(40_002)));
}

#[test]
fn stopped_and_resumed_follow_the_timeout() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    h.packet(0, 40_000, &rtp(0, 1, &[0; 160]));
    h.ev.clear();
    h.tick(999);
    assert!(h.ev.is_empty());
    h.tick(1000);
    assert_eq!(h.ev, vec![MediaEvent::RtpStopped(UNIT)]);
    h.tick(5000);
    assert_eq!(h.ev.len(), 1, "stopped is reported once");
    // A telephone-event packet counts as the stream being alive.
    h.packet(5001, 40_000, &rtp(101, 2, &[1, 0, 0, 0]));
    assert_eq!(h.ev[1], MediaEvent::RtpResumed(UNIT));
    h.tick(6001);
    assert_eq!(h.ev[2], MediaEvent::RtpStopped(UNIT));
}

#[test]
fn silent_remote_is_reported_stopped_after_configure() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    h.tick(1000);
    assert_eq!(h.ev, vec![MediaEvent::RtpStopped(UNIT)]);
    h.packet(1500, 40_000, &rtp(0, 1, &[0; 160]));
    assert_eq!(
        &h.ev[1..],
        &[
            MediaEvent::RtpResumed(UNIT),
            MediaEvent::FirstAudioPacket(UNIT)
        ]
    );
}

#[test]
fn zero_timeout_disables_stop_events() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    let now = h.at(100_000);
    h.ep.on_tick(now, Duration::ZERO, &mut h.ev);
    assert!(h.ev.is_empty());
}

fn play_one(h: &mut Harness, payload: &[u8]) {
    h.packet(
        0,
        40_000,
        &rtp(h.ep.codec().unwrap().payload_type(), 1, payload),
    );
    h.tick(100);
    assert_eq!(h.ep.frame(), TickFrame::Received);
}

#[test]
fn render_passes_through_transcodes_and_conceals() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    let mut pcm = [0i16; FRAME_SAMPLES];
    let mut out = [0u8; FRAME_SAMPLES];
    assert!(!h.ep.render(Codec::Pcmu, &mut out, &mut pcm), "nothing yet");
    let payload: Vec<u8> = (0..160).map(|i| i as u8).collect();
    play_one(&mut h, &payload);
    assert!(h.ep.render(Codec::Pcmu, &mut out, &mut pcm));
    assert_eq!(&out[..], &payload[..], "same codec: bytes pass through");
    assert!(h.ep.render(Codec::Pcma, &mut out, &mut pcm));
    for (a, u) in out.iter().zip(&payload) {
        let want = crate::g711::linear_to_alaw(crate::g711::ulaw_to_linear(*u));
        assert_eq!(*a, want);
    }
    // The stream stops: one attenuated repeat, then silence.
    h.tick(120);
    assert_eq!(h.ep.frame(), TickFrame::Repeat);
    assert!(h.ep.render(Codec::Pcmu, &mut out, &mut pcm));
    for (o, u) in out.iter().zip(&payload) {
        let half = crate::g711::ulaw_to_linear(*u) / 2;
        assert_eq!(*o, crate::g711::linear_to_ulaw(half));
    }
    assert!(h.ep.frame_pcm(&mut pcm));
    assert_eq!(pcm[1], crate::g711::ulaw_to_linear(1) / 2);
    h.tick(140);
    assert_eq!(h.ep.frame(), TickFrame::Silence);
    assert!(h.ep.frame_pcm(&mut pcm));
    assert_eq!(pcm, [0; FRAME_SAMPLES]);
    assert!(h.ep.render(Codec::Pcma, &mut out, &mut pcm));
    assert_eq!(out, [0xd5; FRAME_SAMPLES]);
}

#[test]
fn codec_change_on_reinvite_resets_the_buffer() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    play_one(&mut h, &[0x11; 160]);
    h.ep.configure(params(Codec::Pcma), h.at(110));
    h.tick(120);
    assert_eq!(h.ep.frame(), TickFrame::None);
}

#[test]
fn stamped_packets_carry_our_own_identity() {
    let mut h = Harness::new(Some(Codec::Pcma));
    let mut packet = [0u8; PACKET_LEN];
    assert_eq!(h.ep.stamp_packet(5, &mut packet), Some(addr(40_000)));
    let p = RtpPacket::parse(&packet).unwrap();
    assert!(p.marker());
    assert_eq!(p.payload_type(), 8);
    assert_eq!(p.ssrc(), h.ep.ssrc());
    let (seq, ts) = (p.sequence(), p.timestamp());
    h.ep.stamp_packet(6, &mut packet);
    let p = RtpPacket::parse(&packet).unwrap();
    assert!(!p.marker());
    assert_eq!(p.sequence(), seq.wrapping_add(1));
    assert_eq!(p.timestamp(), ts.wrapping_add(160));
}

#[test]
fn a_muted_endpoint_gives_silence_and_unmuted_its_audio_again() {
    let mut h = Harness::new(Some(Codec::Pcmu));
    let mut pcm = [0i16; FRAME_SAMPLES];
    let mut out = [0u8; FRAME_SAMPLES];
    h.ep.set_muted(true);
    h.packet(0, 40_000, &rtp(0, 1, &[0x11; 160]));
    h.tick(100);
    assert_eq!(h.ep.frame(), TickFrame::Silence);
    assert!(h.ep.render(Codec::Pcmu, &mut out, &mut pcm));
    assert_eq!(out, [Codec::Pcmu.silence_byte(); FRAME_SAMPLES]);
    h.ep.set_muted(false);
    h.packet(20, 40_000, &rtp(0, 2, &[0x22; 160]));
    h.tick(120);
    assert_eq!(h.ep.frame(), TickFrame::Received);
    assert!(h.ep.render(Codec::Pcmu, &mut out, &mut pcm));
    assert_eq!(out, [0x22; FRAME_SAMPLES]);
}
