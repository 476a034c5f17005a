//! Players, recorders, DTMF and the silent monitor over real loopback
//! sockets. Waits are bounded and end on packets or events, not on sleeps.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use dialtone_media::dtmf::EventPayload;
use dialtone_media::rtp::{RtpHeader, RtpPacket};
use dialtone_media::wav::parse_header;
use dialtone_media::{
    Clip, Codec, MediaConfig, MediaEngine, MediaError, MediaEvent, PlayerMedia, RecordFormat,
    RecorderSpec, RtpParams, UnitId,
};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(5);
const TE: u8 = 101;

static NEXT_BLOCK: AtomicU16 = AtomicU16::new(0);

fn engine() -> (MediaEngine, UnboundedReceiver<MediaEvent>) {
    let block = NEXT_BLOCK.fetch_add(1, Ordering::Relaxed);
    let base = 33_000 + 100 * block;
    let (tx, rx) = unbounded_channel();
    let cfg = MediaConfig {
        workers: 1,
        bind_ip: LO,
        port_min: base,
        port_max: base + 99,
        rtp_timeout: Duration::from_secs(10),
        relatch_after: dialtone_media::DEFAULT_RELATCH_AFTER,
        thread_nice: None,
    };
    (MediaEngine::start(cfg, tx).unwrap(), rx)
}

fn peer() -> UdpSocket {
    let s = UdpSocket::bind((LO, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    s
}

/// An endpoint talking to a fresh peer socket: (local RTP address, peer).
fn call(eng: &MediaEngine, unit: UnitId, codec: Codec, te: Option<u8>) -> (SocketAddr, UdpSocket) {
    let local = eng.allocate(unit, 0).unwrap();
    let p = peer();
    eng.set_remote(
        unit,
        RtpParams {
            remote: p.local_addr().unwrap(),
            codec,
            payload_type: codec.payload_type(),
            telephone_event_pt: te,
            send: true,
        },
    );
    (local, p)
}

#[derive(Debug, Clone)]
struct Got {
    at: Instant,
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    payload: Vec<u8>,
}

fn collect_until(sock: &UdpSocket, n: usize, deadline: Instant) -> Vec<Got> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while out.len() < n && Instant::now() < deadline {
        if let Ok((len, _)) = sock.recv_from(&mut buf) {
            let at = Instant::now();
            let p = RtpPacket::parse(&buf[..len]).unwrap();
            out.push(Got {
                at,
                marker: p.marker(),
                pt: p.payload_type(),
                seq: p.sequence(),
                ts: p.timestamp(),
                payload: p.payload().to_vec(),
            });
        }
    }
    out
}

fn collect(sock: &UdpSocket, n: usize) -> Vec<Got> {
    collect_until(sock, n, Instant::now() + WAIT)
}

fn collect_for(sock: &UdpSocket, window: Duration) -> Vec<Got> {
    collect_until(sock, usize::MAX, Instant::now() + window)
}

fn rtp(pt: u8, seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 12 + payload.len()];
    RtpHeader {
        marker,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc: 0x5151,
        ..RtpHeader::default()
    }
    .write_packet(payload, 0, &mut out)
    .unwrap();
    out
}

/// Streams `frames` (one PCMU payload each) every 20 ms from `sock` to `to`.
fn stream(sock: &UdpSocket, to: SocketAddr, frames: &[Vec<u8>]) {
    let start = Instant::now();
    for (i, f) in frames.iter().enumerate() {
        let due = start + Duration::from_millis(20 * i as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let i16 = i as u16;
        sock.send_to(&rtp(0, i16, u32::from(i16) * 160, i == 0, f), to)
            .unwrap();
    }
}

fn wait_for(
    rx: &mut UnboundedReceiver<MediaEvent>,
    want: impl Fn(&MediaEvent) -> bool,
) -> MediaEvent {
    let start = Instant::now();
    while start.elapsed() < WAIT {
        match rx.try_recv() {
            Ok(ev) if want(&ev) => return ev,
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    panic!("expected event not seen within {WAIT:?}");
}

/// A clip whose every frame differs, so a packet shows where it was cut.
fn ramp_clip(frames: usize) -> Clip {
    (0..frames * 160)
        .map(|i| ((i * 37) % 16_000) as i16 - 8000)
        .collect::<Vec<_>>()
        .into()
}

fn encoded(clip: &[i16], frame: usize, codec: Codec) -> Vec<u8> {
    let mut out = vec![0u8; 160];
    codec.encode(&clip[frame * 160..(frame + 1) * 160], &mut out);
    out
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dialtone-units-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn player_reaches_the_call_on_the_next_tick_with_the_encoded_clip() {
    let (eng, mut rx) = engine();
    let (call_unit, player) = (UnitId(1), UnitId(100));
    let (_, p) = call(&eng, call_unit, Codec::Pcmu, Some(TE));
    let clip = ramp_clip(10);
    let t0 = Instant::now();
    eng.add_player(player, 0, PlayerMedia::Clip(clip.clone()), false)
        .unwrap();
    eng.connect(player, call_unit);
    let got = collect(&p, 10);
    let first = got[0].at - t0;
    println!("first RTP {first:?} after add_player");
    // One tick is 20 ms; allow scheduling noise of a loaded test machine.
    assert!(
        first < Duration::from_millis(35),
        "first packet after {first:?}"
    );
    assert_eq!(got.len(), 10);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.payload, encoded(&clip, i, Codec::Pcmu), "frame {i}");
        assert_eq!(g.pt, 0);
    }
    assert!(got[0].marker);
    for w in got.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1));
        assert_eq!(w[1].ts, w[0].ts.wrapping_add(160));
    }
    let ev = wait_for(&mut rx, |e| matches!(e, MediaEvent::PlayerStarted { .. }));
    assert_eq!(
        ev,
        MediaEvent::PlayerStarted {
            unit: player,
            duration: Duration::from_millis(200)
        }
    );
    wait_for(&mut rx, |e| *e == MediaEvent::PlayerFinished(player));
    assert!(collect_for(&p, Duration::from_millis(100)).is_empty());
    eng.shutdown();
}

#[test]
fn one_player_feeds_three_calls_in_their_own_codecs() {
    let (eng, mut rx) = engine();
    let player = UnitId(100);
    let calls = [
        (UnitId(1), Codec::Pcmu),
        (UnitId(2), Codec::Pcma),
        (UnitId(3), Codec::Pcmu),
    ];
    let peers: Vec<_> = calls
        .iter()
        .map(|&(u, c)| call(&eng, u, c, Some(TE)).1)
        .collect();
    let clip = ramp_clip(200);
    eng.add_player(player, 0, PlayerMedia::Clip(clip.clone()), true)
        .unwrap();
    eng.add_marker(player, 100);
    for &(u, _) in &calls {
        eng.connect(player, u);
    }
    let got: Vec<Vec<Got>> = std::thread::scope(|s| {
        let hs: Vec<_> = peers.iter().map(|p| s.spawn(|| collect(p, 8))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (g, &(_, codec)) in got.iter().zip(&calls) {
        assert_eq!(g.len(), 8);
        assert_eq!(g[0].pt, codec.payload_type());
        // All three started from the same clip position at the same tick.
        let start = (0..200)
            .find(|&f| encoded(&clip, f, codec) == g[0].payload)
            .expect("payload is a frame of the clip");
        for (k, pkt) in g.iter().enumerate() {
            assert_eq!(pkt.payload, encoded(&clip, start + k, codec));
        }
    }
    wait_for(&mut rx, |e| {
        *e == MediaEvent::PlayerMarker {
            unit: player,
            offset_ms: 100,
        }
    });
    // Pausing silences every output; resuming brings them back.
    eng.pause_player(player, true);
    let _ = collect_for(&peers[0], Duration::from_millis(60));
    assert!(collect_for(&peers[0], Duration::from_millis(100)).is_empty());
    eng.pause_player(player, false);
    assert_eq!(collect(&peers[0], 2).len(), 2);
    eng.release(player);
    let _ = collect_for(&peers[0], Duration::from_millis(60));
    assert!(collect_for(&peers[0], Duration::from_millis(100)).is_empty());
    eng.shutdown();
}

#[test]
fn silent_monitor_hears_one_side_while_both_parties_talk() {
    let (eng, _rx) = engine();
    let (a, b, c) = (UnitId(1), UnitId(2), UnitId(3));
    let (la, pa) = call(&eng, a, Codec::Pcmu, Some(TE));
    let (lb, pb) = call(&eng, b, Codec::Pcmu, Some(TE));
    let (_, pc) = call(&eng, c, Codec::Pcmu, Some(TE));
    eng.connect(a, b);
    eng.connect(b, a);
    eng.connect(a, c);
    let from_a: Vec<Vec<u8>> = (0..15)
        .map(|i| vec![0x10 | (i as u8 & 0x0f); 160])
        .collect();
    let from_b: Vec<Vec<u8>> = (0..15)
        .map(|i| vec![0xa0 | (i as u8 & 0x0f); 160])
        .collect();
    let (at_a, at_b, at_c) = std::thread::scope(|s| {
        s.spawn(|| stream(&pa, la, &from_a));
        s.spawn(|| stream(&pb, lb, &from_b));
        let hb = s.spawn(|| collect(&pb, 15));
        let hc = s.spawn(|| collect(&pc, 15));
        (collect(&pa, 15), hb.join().unwrap(), hc.join().unwrap())
    });
    assert_eq!(at_b.len(), 15);
    assert_eq!(at_c.len(), 15);
    assert_eq!(at_a.len(), 15);
    for (i, g) in at_b.iter().enumerate() {
        assert_eq!(g.payload, from_a[i], "B hears A");
    }
    for (i, g) in at_c.iter().enumerate() {
        assert_eq!(g.payload, from_a[i], "C hears A too");
    }
    for (i, g) in at_a.iter().enumerate() {
        assert_eq!(g.payload, from_b[i], "A still hears B");
    }
    eng.shutdown();
}

#[test]
fn digits_go_out_as_rfc4733_events_and_fall_back_without_telephone_event() {
    let (eng, _rx) = engine();
    let (a, plain) = (UnitId(1), UnitId(2));
    let (_, pa) = call(&eng, a, Codec::Pcmu, Some(TE));
    call(&eng, plain, Codec::Pcmu, None);
    assert!(matches!(
        eng.send_digits(plain, "1"),
        Err(MediaError::NoTelephoneEvent(_))
    ));
    assert!(matches!(
        eng.send_digits(a, "1x"),
        Err(MediaError::Digits(_))
    ));
    assert!(matches!(
        eng.send_digits(UnitId(99), "1"),
        Err(MediaError::UnknownUnit(_))
    ));
    eng.send_digits(a, "5#").unwrap();
    let got = collect_for(&pa, Duration::from_millis(900));
    let events: Vec<(u32, EventPayload, bool, u16)> = got
        .iter()
        .filter(|g| g.pt == TE)
        .map(|g| {
            (
                g.ts,
                EventPayload::parse(&g.payload).unwrap(),
                g.marker,
                g.seq,
            )
        })
        .collect();
    let firsts: Vec<_> = events.iter().filter(|e| e.2).collect();
    assert_eq!(firsts.len(), 2, "one marked start per digit: {events:?}");
    assert_eq!(firsts[0].1.event, 5);
    assert_eq!(firsts[1].1.event, 11);
    for digit in &firsts {
        let same: Vec<_> = events.iter().filter(|e| e.0 == digit.0).collect();
        assert!(same.iter().all(|e| e.1.event == digit.1.event));
        let ends = same.iter().filter(|e| e.1.end).count();
        assert_eq!(ends, 3, "end packet sent three times");
    }
    for w in events.windows(2) {
        assert_eq!(w[1].3, w[0].3.wrapping_add(1), "one sequence space");
    }
    eng.shutdown();
}

#[test]
fn telephone_events_become_one_tone_per_press_when_detection_is_on() {
    let (eng, mut rx) = engine();
    let a = UnitId(1);
    let (la, pa) = call(&eng, a, Codec::Pcmu, Some(TE));
    let press = |event: u8, ts: u32, seq: u16| {
        for (k, end) in [(0u16, false), (1, false), (2, true), (3, true), (4, true)] {
            let payload = EventPayload {
                event,
                end,
                volume: 10,
                duration: 160 * (k + 1),
            }
            .write();
            pa.send_to(&rtp(TE, seq + k, ts, k == 0, &payload), la)
                .unwrap();
        }
    };
    // Off by default: a press before detection is counted but not reported.
    press(1, 1000, 10);
    let st = Instant::now();
    while eng.stats().telephone_event_packets < 5 && st.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(2));
    }
    eng.set_tone_detection(a, true);
    press(7, 5000, 20);
    press(7, 9000, 30); // the same key pressed again: a new timestamp
    press(11, 13000, 40);
    let mut tones = Vec::new();
    for _ in 0..3 {
        if let MediaEvent::Tone { unit, tone } =
            wait_for(&mut rx, |e| matches!(e, MediaEvent::Tone { .. }))
        {
            assert_eq!(unit, a);
            tones.push(tone);
        }
    }
    assert_eq!(tones, ['7', '7', '#']);
    let st = Instant::now();
    while eng.stats().telephone_event_packets < 20 && st.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        std::iter::from_fn(|| rx.try_recv().ok()).all(|e| !matches!(e, MediaEvent::Tone { .. })),
        "no duplicate tones"
    );
    eng.shutdown();
}

/// `ms` of the DTMF key at (`low`, `high`) Hz, about −10 dBm0 per tone, as
/// PCMU frames, followed by `gap_ms` of silence.
fn dtmf_frames(low: f32, high: f32, ms: usize, gap_ms: usize) -> Vec<Vec<u8>> {
    let n = ms * 8;
    let total = (ms + gap_ms) * 8;
    let pcm: Vec<i16> = (0..total.div_ceil(160) * 160)
        .map(|i| {
            if i >= n {
                return 0;
            }
            let t = i as f32 / 8000.0;
            let v = 7000.0 * (2.0 * std::f32::consts::PI * low * t).sin()
                + 7000.0 * (2.0 * std::f32::consts::PI * high * t).sin();
            v as i16
        })
        .collect();
    pcm.chunks(160)
        .map(|c| {
            let mut out = vec![0u8; 160];
            Codec::Pcmu.encode(c, &mut out);
            out
        })
        .collect()
}

#[test]
fn in_band_tones_are_detected_when_telephone_event_was_not_negotiated() {
    let (eng, mut rx) = engine();
    let a = UnitId(1);
    let (la, pa) = call(&eng, a, Codec::Pcmu, None);
    eng.set_tone_detection(a, true);
    let mut frames = dtmf_frames(770.0, 1336.0, 100, 100); // '5'
    frames.extend(dtmf_frames(941.0, 1477.0, 100, 100)); // '#'
    stream(&pa, la, &frames);
    let mut tones = Vec::new();
    for _ in 0..2 {
        if let MediaEvent::Tone { tone, .. } =
            wait_for(&mut rx, |e| matches!(e, MediaEvent::Tone { .. }))
        {
            tones.push(tone);
        }
    }
    assert_eq!(tones, ['5', '#']);
    eng.shutdown();
}

#[test]
fn tap_recording_puts_the_peer_left_and_what_the_call_sends_right() {
    let (eng, mut rx) = engine();
    let (a, player, rec) = (UnitId(1), UnitId(100), UnitId(200));
    let (la, pa) = call(&eng, a, Codec::Pcmu, Some(TE));
    // The call sends a steady clip; its peer sends a different steady level.
    let clip: Clip = vec![-4000i16; 8000].into();
    eng.add_player(player, 0, PlayerMedia::Clip(clip), true)
        .unwrap();
    eng.connect(player, a);
    let path = tmp("tap.wav");
    eng.add_recorder(
        rec,
        0,
        RecorderSpec {
            path: path.clone(),
            stereo: true,
            tap: Some(a),
            format: RecordFormat::Wav,
            budget: None,
        },
    )
    .unwrap();
    wait_for(&mut rx, |e| *e == MediaEvent::RecorderStarted(rec));
    let mut peer_pcm = [0i16; 160];
    let frames: Vec<Vec<u8>> = vec![vec![0x9f; 160]; 25];
    Codec::Pcmu.decode(&frames[0], &mut peer_pcm);
    std::thread::scope(|s| {
        s.spawn(|| stream(&pa, la, &frames));
        collect(&pa, 25);
    });
    eng.release(rec);
    let MediaEvent::RecorderStopped { duration, .. } =
        wait_for(&mut rx, |e| matches!(e, MediaEvent::RecorderStopped { .. }))
    else {
        unreachable!()
    };
    let bytes = std::fs::read(&path).unwrap();
    let info = parse_header(&bytes).unwrap();
    assert_eq!(info.channels, 2);
    assert_eq!(bytes.len(), 44 + info.data_len as usize);
    let frames_on_disk = info.data_len as u64 / 4;
    assert_eq!(duration.as_micros() as u64, frames_on_disk * 125);
    assert!(duration >= Duration::from_millis(400), "{duration:?}");
    let samples: Vec<(i16, i16)> = bytes[44..]
        .chunks_exact(4)
        .map(|c| {
            (
                i16::from_le_bytes([c[0], c[1]]),
                i16::from_le_bytes([c[2], c[3]]),
            )
        })
        .collect();
    let mut sent = [0u8; 1];
    Codec::Pcmu.encode(&[-4000], &mut sent);
    let mut sent_pcm = [0i16; 1];
    Codec::Pcmu.decode(&sent, &mut sent_pcm);
    assert!(samples.iter().all(|&(_, r)| r == sent_pcm[0] || r == 0));
    assert!(samples.iter().filter(|&&(_, r)| r == sent_pcm[0]).count() > 160 * 15);
    assert!(samples
        .iter()
        .all(|&(l, _)| l == peer_pcm[0] || l == 0 || l == peer_pcm[0] / 2));
    assert!(samples.iter().filter(|&&(l, _)| l == peer_pcm[0]).count() > 160 * 15);
    eng.shutdown();
}

#[test]
fn recorder_fed_through_the_graph_records_its_input() {
    let (eng, mut rx) = engine();
    let (player, rec) = (UnitId(100), UnitId(200));
    let path = tmp("graph.wav");
    eng.add_recorder(
        rec,
        0,
        RecorderSpec {
            path: path.clone(),
            stereo: true,
            tap: None,
            format: RecordFormat::Wav,
            budget: None,
        },
    )
    .unwrap();
    eng.connect(player, rec);
    let clip: Clip = (0..1600).map(|i| i as i16).collect::<Vec<_>>().into();
    eng.add_player(player, 0, PlayerMedia::Clip(clip), false)
        .unwrap();
    wait_for(&mut rx, |e| *e == MediaEvent::PlayerFinished(player));
    eng.mute_recorder(rec, true);
    eng.release(rec);
    wait_for(&mut rx, |e| matches!(e, MediaEvent::RecorderStopped { .. }));
    let bytes = std::fs::read(&path).unwrap();
    let info = parse_header(&bytes).unwrap();
    assert_eq!(info.channels, 1, "a graph input is one source: mono");
    let pcm: Vec<i16> = bytes[44..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    let start = pcm
        .iter()
        .position(|&s| s != 0)
        .expect("the clip is in the file")
        - 1;
    assert_eq!(
        &pcm[start..start + 1600],
        (0..1600).map(|i| i as i16).collect::<Vec<_>>()
    );
    eng.shutdown();
}

#[test]
fn unit_ids_are_exclusive_across_kinds() {
    let (eng, _rx) = engine();
    eng.allocate(UnitId(1), 0).unwrap();
    assert!(matches!(
        eng.add_player(UnitId(1), 0, PlayerMedia::Clip(ramp_clip(1)), false),
        Err(MediaError::AlreadyAllocated(_))
    ));
    eng.add_player(UnitId(2), 0, PlayerMedia::Clip(ramp_clip(1)), false)
        .unwrap();
    assert_eq!(eng.stats().endpoints, 1, "players are not endpoints");
    eng.shutdown();
}

#[test]
fn a_player_connected_before_it_is_added_feeds_its_calls_once_added() {
    // Scripts connect a player (and set markers) right after creating it,
    // while its source is still loading: the edge must hold.
    let (eng, mut rx) = engine();
    let player = UnitId(200);
    let (u, peer) = (UnitId(21), call(&eng, UnitId(21), Codec::Pcmu, Some(TE)).1);
    eng.connect(player, u);
    let clip = ramp_clip(200);
    eng.add_player(player, 0, PlayerMedia::Clip(clip.clone()), true)
        .unwrap();
    eng.add_marker(player, 100);
    let got = collect(&peer, 4);
    assert_eq!(got.len(), 4);
    assert!((0..200).any(|f| encoded(&clip, f, Codec::Pcmu) == got[0].payload));
    wait_for(&mut rx, |e| {
        *e == MediaEvent::PlayerMarker {
            unit: player,
            offset_ms: 100,
        }
    });
    eng.shutdown();
}
