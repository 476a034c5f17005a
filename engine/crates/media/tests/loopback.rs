//! The media engine over real loopback sockets. Waits are bounded; nothing
//! relies on a sleep being long enough, only on packets and events arriving.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use dialtone_media::rtp::{RtpHeader, RtpPacket};
use dialtone_media::{
    Codec, MediaConfig, MediaEngine, MediaError, MediaEvent, MediaStats, RtpParams, UnitId,
    DEFAULT_RELATCH_AFTER,
};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(5);

/// Each engine gets its own block of ports below the ephemeral range, so
/// tests running side by side do not compete for them.
static NEXT_BLOCK: AtomicU16 = AtomicU16::new(0);

fn engine_with(timeout: Duration, workers: usize) -> (MediaEngine, UnboundedReceiver<MediaEvent>) {
    let block = NEXT_BLOCK.fetch_add(1, Ordering::Relaxed);
    let base = 23_000 + 200 * block;
    let (tx, rx) = unbounded_channel();
    let cfg = MediaConfig {
        workers,
        bind_ip: LO,
        port_min: base,
        port_max: base + 199,
        rtp_timeout: timeout,
        relatch_after: DEFAULT_RELATCH_AFTER,
        thread_nice: None,
    };
    (MediaEngine::start(cfg, tx).unwrap(), rx)
}

fn engine() -> (MediaEngine, UnboundedReceiver<MediaEvent>) {
    engine_with(Duration::from_secs(10), 1)
}

fn peer() -> UdpSocket {
    let s = UdpSocket::bind((LO, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    s
}

fn params(remote: SocketAddr, codec: Codec) -> RtpParams {
    RtpParams {
        remote,
        codec,
        payload_type: codec.payload_type(),
        telephone_event_pt: Some(101),
        send: true,
    }
}

const PEER_SSRC: u32 = 0x1111_2222;

fn packet(pt: u8, i: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 12 + payload.len()];
    RtpHeader {
        marker: i == 0,
        payload_type: pt,
        sequence: 5000u16.wrapping_add(i),
        timestamp: 90_000 + u32::from(i) * 160,
        ssrc: PEER_SSRC,
        ..RtpHeader::default()
    }
    .write_packet(payload, 0, &mut out)
    .unwrap();
    out
}

fn frame(i: u16) -> Vec<u8> {
    (0..160)
        .map(|k| (i as u8).wrapping_mul(31).wrapping_add(k as u8) | 0x01)
        .collect()
}

/// Sends `n` packets of `pt` every 20 ms from each (socket, destination) pair.
fn stream(pairs: &[(&UdpSocket, SocketAddr)], pt: u8, n: u16) {
    let with_pt: Vec<_> = pairs.iter().map(|(s, a)| (*s, *a, pt)).collect();
    stream_pt(&with_pt, 0..n);
}

fn stream_pt(pairs: &[(&UdpSocket, SocketAddr, u8)], packets: std::ops::Range<u16>) {
    let start = Instant::now();
    for i in packets.clone() {
        let due = start + Duration::from_millis(20 * u64::from(i - packets.start));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for (sock, to, pt) in pairs {
            sock.send_to(&packet(*pt, i, &frame(i)), to).unwrap();
        }
    }
}

#[derive(Debug, Clone)]
struct Got {
    from: SocketAddr,
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

/// Reads RTP until `n` packets arrived or `WAIT` passed.
fn collect(sock: &UdpSocket, n: usize) -> Vec<Got> {
    collect_until(sock, n, Instant::now() + WAIT)
}

/// Everything that arrives within `window` (for checking that nothing does).
fn collect_for(sock: &UdpSocket, window: Duration) -> Vec<Got> {
    collect_until(sock, usize::MAX, Instant::now() + window)
}

fn collect_until(sock: &UdpSocket, n: usize, deadline: Instant) -> Vec<Got> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while out.len() < n && Instant::now() < deadline {
        if let Ok((len, from)) = sock.recv_from(&mut buf) {
            let p = RtpPacket::parse(&buf[..len]).unwrap();
            out.push(Got {
                from,
                marker: p.marker(),
                pt: p.payload_type(),
                seq: p.sequence(),
                ts: p.timestamp(),
                ssrc: p.ssrc(),
                payload: p.payload().to_vec(),
            });
        }
    }
    out
}

fn assert_own_stream(got: &[Got], pt: u8) {
    assert!(got[0].marker, "first packet of the talkspurt is marked");
    for w in got.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1));
        assert_eq!(w[1].ts, w[0].ts.wrapping_add(160));
        assert_eq!(w[1].ssrc, w[0].ssrc);
        assert!(!w[1].marker);
    }
    assert!(got.iter().all(|g| g.pt == pt && g.ssrc != PEER_SSRC));
}

fn wait_event(rx: &mut UnboundedReceiver<MediaEvent>, want: MediaEvent) -> Duration {
    let start = Instant::now();
    while start.elapsed() < WAIT {
        match rx.try_recv() {
            Ok(ev) if ev == want => return start.elapsed(),
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    panic!("no {want:?} within {WAIT:?}");
}

fn wait_stats(eng: &MediaEngine, done: impl Fn(&MediaStats) -> bool) -> MediaStats {
    let deadline = Instant::now() + WAIT;
    loop {
        let st = eng.stats();
        if done(&st) || Instant::now() > deadline {
            return st;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn endpoint_connected_to_itself_echoes() {
    let (eng, mut rx) = engine();
    let unit = UnitId(1);
    let local = eng.allocate(unit, 0).unwrap();
    let p = peer();
    eng.set_remote(unit, params(p.local_addr().unwrap(), Codec::Pcmu));
    eng.connect(unit, unit);
    let sender = std::thread::scope(|s| {
        s.spawn(|| stream(&[(&p, local)], 0, 25));
        collect(&p, 25)
    });
    assert_eq!(sender.len(), 25);
    for (i, g) in sender.iter().enumerate() {
        assert_eq!(g.payload, frame(i as u16), "PCMU passes through unchanged");
        assert_eq!(g.from, local, "sent from the port we announced");
    }
    assert_own_stream(&sender, 0);
    wait_event(&mut rx, MediaEvent::FirstAudioPacket(unit));
    // Totals are published at the end of the tick that sent the packet.
    let st = wait_stats(&eng, |st| st.packets_out >= 25);
    assert_eq!(st.endpoints, 1);
    assert_eq!(st.packets_in, 25);
    assert_eq!((st.packets_lost, st.packets_dropped), (0, 0));
    eng.shutdown();
}

#[test]
fn echo_works_for_pcma_and_a_connect_made_before_allocation() {
    let (eng, _rx) = engine();
    let unit = UnitId(9);
    eng.connect(unit, unit);
    let local = eng.allocate(unit, 3).unwrap();
    let p = peer();
    let mut prm = params(p.local_addr().unwrap(), Codec::Pcma);
    prm.payload_type = 8;
    eng.set_remote(unit, prm);
    let got = std::thread::scope(|s| {
        s.spawn(|| stream(&[(&p, local)], 8, 10));
        collect(&p, 10)
    });
    assert_eq!(got.len(), 10);
    assert_eq!(got[0].payload, frame(0));
    assert_own_stream(&got, 8);
    eng.shutdown();
}

#[test]
fn bridged_endpoints_pass_audio_both_ways() {
    let (eng, _rx) = engine();
    let (a, b) = (UnitId(1), UnitId(2));
    let la = eng.allocate(a, 7).unwrap();
    let lb = eng.allocate(b, 7).unwrap();
    let (pa, pb) = (peer(), peer());
    eng.set_remote(a, params(pa.local_addr().unwrap(), Codec::Pcmu));
    // B's side speaks A-law: the bridge transcodes.
    let mut prm = params(pb.local_addr().unwrap(), Codec::Pcma);
    prm.payload_type = 8;
    eng.set_remote(b, prm);
    eng.connect(a, b);
    eng.connect(b, a);
    let (at_a, at_b) = std::thread::scope(|s| {
        s.spawn(|| stream_pt(&[(&pa, la, 0), (&pb, lb, 8)], 0..20));
        let h = s.spawn(|| collect(&pb, 20));
        (collect(&pa, 20), h.join().unwrap())
    });
    assert_eq!(at_b.len(), 20);
    assert_own_stream(&at_b, 8);
    assert!(at_b.iter().all(|g| g.from == lb));
    assert_eq!(at_a.len(), 20);
    assert_own_stream(&at_a, 0);
    assert!(at_a.iter().all(|g| g.from == la));
    assert_ne!(at_a[0].ssrc, at_b[0].ssrc);
    // Each side hears the other's first frame, transcoded.
    let mut pcm = [0i16; 160];
    let mut want = [0u8; 160];
    Codec::Pcma.decode(&frame(0), &mut pcm);
    Codec::Pcmu.encode(&pcm, &mut want);
    assert_eq!(at_a[0].payload, want.to_vec());
    Codec::Pcmu.decode(&frame(0), &mut pcm);
    Codec::Pcma.encode(&pcm, &mut want);
    assert_eq!(at_b[0].payload, want.to_vec());
    assert_eq!(eng.stats().packets_dropped, 0);
    eng.shutdown();
}

#[test]
fn bridge_transcodes_pcmu_to_pcma() {
    let (eng, _rx) = engine();
    let (a, b) = (UnitId(1), UnitId(2));
    let la = eng.allocate(a, 0).unwrap();
    let _lb = eng.allocate(b, 0).unwrap();
    let (pa, pb) = (peer(), peer());
    eng.set_remote(a, params(pa.local_addr().unwrap(), Codec::Pcmu));
    let mut prm = params(pb.local_addr().unwrap(), Codec::Pcma);
    prm.payload_type = 8;
    eng.set_remote(b, prm);
    eng.connect(a, b);
    let got = std::thread::scope(|s| {
        s.spawn(|| stream(&[(&pa, la)], 0, 10));
        collect(&pb, 10)
    });
    assert_eq!(got.len(), 10);
    let mut want = [0u8; 160];
    let mut pcm = [0i16; 160];
    Codec::Pcmu.decode(&frame(0), &mut pcm);
    Codec::Pcma.encode(&pcm, &mut want);
    assert_eq!(got[0].payload, want.to_vec());
    assert_own_stream(&got, 8);
    eng.shutdown();
}

#[test]
fn sends_to_sdp_address_then_latches_to_the_real_source() {
    let (eng, _rx) = engine();
    let (a, b) = (UnitId(1), UnitId(2));
    let la = eng.allocate(a, 0).unwrap();
    let lb = eng.allocate(b, 0).unwrap();
    let sdp = peer(); // what A's SDP announced
    let nat = peer(); // where A's peer really sends from
    let pb = peer();
    eng.set_remote(a, params(sdp.local_addr().unwrap(), Codec::Pcmu));
    eng.set_remote(b, params(pb.local_addr().unwrap(), Codec::Pcmu));
    eng.connect(b, a);
    std::thread::scope(|s| {
        s.spawn(|| stream(&[(&pb, lb)], 0, 10));
        let got = collect(&sdp, 10);
        assert_eq!(got.len(), 10, "before A hears anything, it sends to SDP");
    });
    // A packet from A's real source moves A's destination there.
    nat.send_to(&packet(0, 0, &frame(0)), la).unwrap();
    let got = std::thread::scope(|s| {
        s.spawn(|| stream_pt(&[(&pb, lb, 0)], 10..20));
        collect(&nat, 5)
    });
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|g| g.from == la));
    eng.shutdown();
}

#[test]
fn a_spray_from_another_port_neither_takes_the_echo_nor_gets_it() {
    let (eng, _rx) = engine();
    let unit = UnitId(3);
    let local = eng.allocate(unit, 0).unwrap();
    let p = peer();
    let forger = peer();
    eng.set_remote(unit, params(p.local_addr().unwrap(), Codec::Pcmu));
    eng.connect(unit, unit);
    // The peer's first packet latches the endpoint; its echo shows it did.
    p.send_to(&packet(0, 0, &frame(0)), local).unwrap();
    assert_eq!(collect(&p, 1).len(), 1);
    const SPRAYED: u64 = 200;
    let echoed = std::thread::scope(|s| {
        s.spawn(|| stream_pt(&[(&p, local, 0)], 1..51));
        s.spawn(|| {
            // Four forged packets per 20 ms: the negotiated payload type,
            // random SSRCs and sequence numbers, a loud payload.
            for i in 0..SPRAYED {
                let mut out = vec![0u8; 12 + 160];
                RtpHeader {
                    payload_type: 0,
                    sequence: rand_u16(i),
                    timestamp: 0,
                    ssrc: 0xbad0_0000 | i as u32,
                    ..RtpHeader::default()
                }
                .write_packet(&[0x80; 160], 0, &mut out)
                .unwrap();
                forger.send_to(&out, local).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        collect(&p, 50)
    });
    assert_eq!(echoed.len(), 50, "a frame back for every frame of the peer");
    // What comes back is the peer's audio, never the forger's. (On a busy
    // machine the jitter buffer may repeat or conceal a frame of the peer's
    // when its sender runs late, so frames are not compared one by one.)
    let forged = vec![0x80u8; 160];
    assert!(
        echoed.iter().all(|g| g.payload != forged),
        "the forger's audio came back"
    );
    let peers: Vec<Vec<u8>> = (1..51).map(frame).collect();
    let from_peer = echoed.iter().filter(|g| peers.contains(&g.payload)).count();
    assert!(from_peer >= 40, "{from_peer} of 50 frames are the peer's");
    assert!(collect_for(&forger, Duration::from_millis(100)).is_empty());
    let st = wait_stats(&eng, |st| st.packets_foreign >= SPRAYED);
    assert_eq!(st.packets_foreign, SPRAYED);
    assert_eq!(st.packets_dropped, SPRAYED);
    eng.shutdown();
}

/// Scattered sequence numbers, never two in a row.
fn rand_u16(i: u64) -> u16 {
    (i.wrapping_mul(40_503) % 65_521) as u16
}

#[test]
fn first_audio_stopped_and_resumed_events() {
    let (eng, mut rx) = engine_with(Duration::from_millis(200), 1);
    let unit = UnitId(4);
    let local = eng.allocate(unit, 0).unwrap();
    let p = peer();
    eng.set_remote(unit, params(p.local_addr().unwrap(), Codec::Pcmu));
    // A telephone-event packet is not audio, but shows the stream is alive.
    p.send_to(&packet(101, 0, &[1, 0, 0, 160]), local).unwrap();
    stream(&[(&p, local)], 0, 3);
    wait_event(&mut rx, MediaEvent::FirstAudioPacket(unit));
    let stopped_after = wait_event(&mut rx, MediaEvent::RtpStopped(unit));
    assert!(stopped_after < Duration::from_secs(2));
    stream_pt(&[(&p, local, 0)], 3..4);
    wait_event(&mut rx, MediaEvent::RtpResumed(unit));
    let st = wait_stats(&eng, |st| st.telephone_event_packets > 0);
    assert_eq!(st.telephone_event_packets, 1);
    eng.shutdown();
}

/// An even port with its odd neighbour, both free right now.
fn free_port_pair() -> u16 {
    loop {
        let s = UdpSocket::bind((LO, 0)).unwrap();
        let port = s.local_addr().unwrap().port() & !1;
        drop(s);
        if UdpSocket::bind((LO, port)).is_ok() && UdpSocket::bind((LO, port + 1)).is_ok() {
            return port;
        }
    }
}

#[test]
fn exhaustion_is_an_error_and_release_frees_the_port() {
    let port = free_port_pair();
    let (tx, _rx) = unbounded_channel();
    let cfg = MediaConfig {
        workers: 1,
        bind_ip: LO,
        port_min: port,
        port_max: port + 1,
        rtp_timeout: Duration::from_secs(10),
        relatch_after: DEFAULT_RELATCH_AFTER,
        thread_nice: None,
    };
    let eng = MediaEngine::start(cfg, tx).unwrap();
    let a = eng.allocate(UnitId(1), 0).unwrap();
    assert_eq!(a.port(), port);
    assert!(matches!(
        eng.allocate(UnitId(1), 0),
        Err(MediaError::AlreadyAllocated(_))
    ));
    assert!(matches!(
        eng.allocate(UnitId(2), 0),
        Err(MediaError::PortsExhausted)
    ));
    eng.release(UnitId(1));
    assert_eq!(eng.stats().endpoints, 0);
    // The worker closes the socket as soon as it sees the release.
    let deadline = Instant::now() + WAIT;
    let b = loop {
        match eng.allocate(UnitId(2), 0) {
            Ok(b) => break b,
            Err(MediaError::PortsExhausted) if Instant::now() < deadline => {
                std::thread::yield_now()
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(b.port(), port);
    eng.shutdown();
}

#[test]
fn release_removes_the_unit_from_the_graph() {
    let (eng, _rx) = engine();
    let (a, b) = (UnitId(1), UnitId(2));
    let la = eng.allocate(a, 0).unwrap();
    eng.allocate(b, 0).unwrap();
    let (pa, pb) = (peer(), peer());
    eng.set_remote(a, params(pa.local_addr().unwrap(), Codec::Pcmu));
    eng.set_remote(b, params(pb.local_addr().unwrap(), Codec::Pcmu));
    eng.connect(a, b);
    eng.release(a);
    // Re-allocating A must not bring the old edge back.
    let la2 = eng.allocate(a, 0).unwrap();
    assert_ne!(la, la2, "a released port cools off before reuse");
    eng.set_remote(a, params(pa.local_addr().unwrap(), Codec::Pcmu));
    std::thread::scope(|s| {
        s.spawn(|| stream(&[(&pa, la2)], 0, 10));
        let got = collect_for(&pb, Duration::from_millis(400));
        assert!(got.is_empty(), "B has no input any more");
    });
    eng.shutdown();
}

#[test]
fn disconnect_stops_audio_and_cross_worker_edges_are_harmless() {
    let (eng, _rx) = engine_with(Duration::from_secs(10), 2);
    let (a, b) = (UnitId(1), UnitId(2));
    let la = eng.allocate(a, 0).unwrap();
    eng.allocate(b, 1).unwrap();
    let (pa, pb) = (peer(), peer());
    eng.set_remote(a, params(pa.local_addr().unwrap(), Codec::Pcmu));
    eng.set_remote(b, params(pb.local_addr().unwrap(), Codec::Pcmu));
    eng.connect(a, b); // across workers: kept, silent
    eng.connect(a, a);
    eng.disconnect(b, a); // not A's input: no effect
    let (at_a, at_b) = std::thread::scope(|s| {
        s.spawn(|| stream(&[(&pa, la)], 0, 10));
        let h = s.spawn(|| collect_for(&pb, Duration::from_millis(400)));
        (collect(&pa, 10), h.join().unwrap())
    });
    assert_eq!(at_a.len(), 10, "the echo still runs");
    assert!(at_b.is_empty());
    eng.disconnect(a, a);
    // Drain whatever was in flight, then nothing more arrives.
    let _ = collect_for(&pa, Duration::from_millis(200));
    std::thread::scope(|s| {
        s.spawn(|| stream(&[(&pa, la)], 0, 10));
        assert!(collect_for(&pa, Duration::from_millis(400)).is_empty());
    });
    eng.shutdown();
}
