//! A WebRTC leg against an independent full-ICE peer (str0m in its default,
//! controlling, DTLS-client role, as a browser is), on virtual time, over a
//! simulated network that can lose, duplicate and reorder datagrams: ICE,
//! DTLS-SRTP and Opus must come through, and the tone each side sends must
//! be what the other decodes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

use super::*;
use crate::codec::FRAME_SAMPLES;
use crate::webrtc::opus_codec::Opus;

const OURS: &str = "127.0.0.1:40000";
const PEER: &str = "127.0.0.1:50000";
const STEP: Duration = Duration::from_millis(5);

/// How the simulated network treats each datagram.
#[derive(Clone, Copy)]
struct Network {
    loss: f64,
    duplicate: f64,
    /// Chance a datagram is held back behind the next ones.
    reorder: f64,
}

const CLEAN: Network = Network {
    loss: 0.0,
    duplicate: 0.0,
    reorder: 0.0,
};

/// One direction of the network: datagrams in flight with their arrival.
struct Wire {
    queue: VecDeque<(Instant, Vec<u8>)>,
    net: Network,
    rng: StdRng,
}

impl Wire {
    fn new(net: Network, seed: u64) -> Wire {
        Wire {
            queue: VecDeque::new(),
            net,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn send(&mut self, now: Instant, data: Vec<u8>) {
        if self.rng.gen_bool(self.net.loss) {
            return;
        }
        let mut delay = Duration::from_millis(1);
        if self.rng.gen_bool(self.net.reorder) {
            delay += Duration::from_millis(self.rng.gen_range(10..60));
        }
        if self.rng.gen_bool(self.net.duplicate) {
            self.queue.push_back((now + delay + STEP, data.clone()));
        }
        self.queue.push_back((now + delay, data));
    }

    fn due(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.queue.retain(|(at, data)| {
            if *at <= now {
                out.push(data.clone());
                false
            } else {
                true
            }
        });
        out
    }
}

fn tone(frame: u64, hz: f64) -> PcmFrame {
    let mut pcm = [0i16; FRAME_SAMPLES];
    for (i, s) in pcm.iter_mut().enumerate() {
        let t = (frame as usize * FRAME_SAMPLES + i) as f64 / 8000.0;
        *s = (6000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16;
    }
    pcm
}

/// Dominant frequency of 8 kHz samples by a coarse DFT scan (50 Hz steps).
fn dominant(samples: &[i16]) -> f64 {
    let mut best = (0.0, 0.0);
    for k in 4..80 {
        let hz = k as f64 * 50.0;
        let (mut re, mut im) = (0.0, 0.0);
        for (n, &s) in samples.iter().enumerate() {
            let w = 2.0 * std::f64::consts::PI * hz * n as f64 / 8000.0;
            re += f64::from(s) * w.cos();
            im += f64::from(s) * w.sin();
        }
        let p = re * re + im * im;
        if p > best.1 {
            best = (hz, p);
        }
    }
    best.0
}

struct Outcome {
    /// Virtual time from the first datagram to both sides connected.
    connected_after: Option<Duration>,
    /// Frames our leg decoded, and their dominant frequency.
    ours_frames: usize,
    ours_hz: f64,
    /// Frames the peer received.
    peer_frames: usize,
}

/// Runs a call for `seconds` of virtual time: our leg sends 1000 Hz, the
/// peer 600 Hz, both as Opus.
fn call(net: Network, seconds: u64, seed: u64) -> Outcome {
    let start = Instant::now();
    let ours_addr: SocketAddr = OURS.parse().expect("addr");
    let peer_addr: SocketAddr = PEER.parse().expect("addr");
    let cert = str0m::crypto::from_feature_flags()
        .dtls_provider
        .generate_certificate()
        .expect("certificate");
    let mut ours = WebRtcConn::new(UnitId(1), ours_addr, cert, start).expect("conn");

    let mut rtc = Rtc::builder()
        .clear_codecs()
        .enable_opus(true, false)
        .build(start);
    rtc.add_local_candidate(Candidate::host(peer_addr, "udp").expect("candidate"));
    let mut api = rtc.sdp_api();
    let mid: Mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    let (offer, pending) = api.apply().expect("offer");
    let answer = ours
        .accept_offer(&offer.to_sdp_string(), start)
        .expect("answer");
    assert!(answer.contains("a=ice-lite"), "{answer}");
    rtc.sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).expect("parse"))
        .expect("accept");

    let mut to_ours = Wire::new(net, seed);
    let mut to_peer = Wire::new(net, seed + 1);
    let mut peer_opus = Opus::new().expect("opus");
    let mut peer = Peer {
        rtc,
        connected: false,
        frames: 0,
    };
    let mut peer_sent = 0u64;
    let mut ours_pcm: Vec<i16> = Vec::new();
    let mut ours_frames = 0usize;
    let mut connected_after = None;
    let mut now = start;
    let mut tick = 0u64;
    let end = start + Duration::from_secs(seconds);
    while now < end {
        // The peer: its timers, what it wants sent, what it decoded.
        let _ = peer.rtc.handle_input(Input::Timeout(now));
        for data in to_peer.due(now) {
            if let Ok(r) = Receive::new(Protocol::Udp, ours_addr, peer_addr, &data) {
                let _ = peer.rtc.handle_input(Input::Receive(now, r));
            }
            peer.drain(now, &mut to_ours);
        }
        peer.drain(now, &mut to_ours);
        // Our leg, as the media worker drives it.
        for data in to_ours.due(now) {
            ours.receive(now, peer_addr, &data);
        }
        ours.tick(now);
        if now.duration_since(start).as_millis().is_multiple_of(20) {
            tick += 1;
            ours.send_pcm(now, tick, &tone(tick, 1000.0));
            if peer.connected {
                if let Some(w) = peer.rtc.writer(mid) {
                    let pt = w.payload_params().next().map(|p| p.pt());
                    let pcm = tone(peer_sent, 600.0);
                    if let (Some(pt), Ok(data)) = (pt, peer_opus.encode(&pcm)) {
                        let time = MediaTime::new(peer_sent * 960, Frequency::FORTY_EIGHT_KHZ);
                        let _ = w.write(pt, now, time, data.to_vec());
                        peer_sent += 1;
                    }
                }
                peer.drain(now, &mut to_ours);
            }
        }
        for (to, data) in ours.take_outbox() {
            assert_eq!(to, peer_addr, "our leg sends only to the peer");
            to_peer.send(now, data);
        }
        while let Some((_, frame)) = ours.pop_frame() {
            ours_frames += 1;
            let mut pcm = [0i16; FRAME_SAMPLES];
            Codec::Pcmu.decode_frame(&frame, &mut pcm);
            ours_pcm.extend_from_slice(&pcm);
        }
        if connected_after.is_none() && peer.connected && ours.is_connected() {
            connected_after = Some(now.duration_since(start));
        }
        now += STEP;
    }
    let tail = ours_pcm.len().saturating_sub(8000);
    Outcome {
        connected_after,
        ours_frames,
        ours_hz: dominant(ours_pcm.get(tail..).unwrap_or(&[])),
        peer_frames: peer.frames,
    }
}

/// The far end: a full-ICE str0m peer and what it saw.
struct Peer {
    rtc: Rtc,
    connected: bool,
    frames: usize,
}

impl Peer {
    /// Everything the peer has to say after an input.
    fn drain(&mut self, now: Instant, wire: &mut Wire) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(_)) | Err(_) => break,
                Ok(Output::Transmit(t)) => wire.send(now, t.contents.into()),
                Ok(Output::Event(Event::Connected)) => self.connected = true,
                Ok(Output::Event(Event::MediaData(_))) => self.frames += 1,
                Ok(Output::Event(_)) => {}
            }
        }
    }
}

/// Checks a call's outcome: connected within `connect_within`, at least 70 %
/// of the frames sent once both sides were up arrived both ways, and our
/// leg heard the peer's 600 Hz.
fn check(o: &Outcome, seconds: u64, connect_within: Duration, label: &str) {
    eprintln!(
        "{label}: connected after {:?}, ours {} frames at {} Hz, peer {} frames",
        o.connected_after, o.ours_frames, o.ours_hz, o.peer_frames
    );
    let after = o.connected_after.expect("never connected");
    assert!(after < connect_within, "{label}: connected after {after:?}");
    let expected = (Duration::from_secs(seconds) - after).as_millis() as usize / 20;
    for (who, got) in [("our leg", o.ours_frames), ("the peer", o.peer_frames)] {
        assert!(
            got * 10 >= expected * 7,
            "{label}: {who} got {got} of {expected}"
        );
    }
    assert!(
        (o.ours_hz - 600.0).abs() <= 50.0,
        "{label}: heard {} Hz",
        o.ours_hz
    );
}

#[test]
fn a_full_ice_peer_connects_and_each_side_hears_the_other() {
    check(&call(CLEAN, 4, 1), 4, Duration::from_millis(500), "clean");
}

#[test]
fn loss_duplication_and_reordering_are_survived() {
    let net = Network {
        loss: 0.10,
        duplicate: 0.10,
        reorder: 0.10,
    };
    // DTLS retransmits (1 s, doubling) bring the handshake through; 10 %
    // lost, duplicates dropped by the receivers.
    for seed in [7, 11, 23] {
        check(
            &call(net, 8, seed),
            8,
            Duration::from_secs(6),
            &format!("seed {seed}"),
        );
    }
}

#[test]
fn a_stranger_cannot_take_the_leg_over() {
    // Datagrams from another address, before and after the peer connects,
    // are not answered and do not disturb the call.
    let start = Instant::now();
    let ours_addr: SocketAddr = OURS.parse().expect("addr");
    let stranger: SocketAddr = "127.0.0.1:60000".parse().expect("addr");
    let cert = str0m::crypto::from_feature_flags()
        .dtls_provider
        .generate_certificate()
        .expect("certificate");
    let mut ours = WebRtcConn::new(UnitId(2), ours_addr, cert, start).expect("conn");
    let mut rng = StdRng::seed_from_u64(5);
    for n in [1usize, 12, 20, 64, 200, 1200] {
        let junk: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
        ours.receive(start, stranger, &junk);
    }
    // A STUN binding request with made-up credentials.
    let mut stun = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    stun.extend((0..12).map(|_| rng.gen::<u8>()));
    ours.receive(start, stranger, &stun);
    ours.tick(start + Duration::from_millis(100));
    assert!(
        ours.take_outbox().iter().all(|(to, _)| *to != stranger),
        "nothing goes to a stranger"
    );
    assert!(!ours.is_connected());
}
