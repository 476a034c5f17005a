//! Conference mixing over real loopback sockets: each member hears the
//! others and not itself; a listener hears everyone; a player speaks into
//! the mix. Waits end on packets, bounded in time.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use dialtone_media::mixer::MemberSpec;
use dialtone_media::rtp::{RtpHeader, RtpPacket};
use dialtone_media::{Clip, Codec, MediaConfig, MediaEngine, PlayerMedia, RtpParams, UnitId};
use tokio::sync::mpsc::unbounded_channel;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(5);
static NEXT_BLOCK: AtomicU16 = AtomicU16::new(0);

fn engine() -> MediaEngine {
    engine_with(1)
}

fn engine_with(workers: usize) -> MediaEngine {
    let block = NEXT_BLOCK.fetch_add(1, Ordering::Relaxed);
    let base = 45_000 + 100 * block;
    let (tx, rx) = unbounded_channel();
    // Events are not looked at here; the receiver must live as long as the engine.
    std::mem::forget(rx);
    let cfg = MediaConfig {
        workers,
        bind_ip: LO,
        port_min: base,
        port_max: base + 99,
        rtp_timeout: Duration::from_secs(10),
        relatch_after: dialtone_media::DEFAULT_RELATCH_AFTER,
        thread_nice: None,
    };
    MediaEngine::start(cfg, tx).unwrap()
}

struct Party {
    unit: UnitId,
    local: SocketAddr,
    sock: UdpSocket,
    level: i16,
}

fn party(eng: &MediaEngine, unit: u64, level: i16) -> Party {
    party_on(eng, unit, level, 0)
}

fn party_on(eng: &MediaEngine, unit: u64, level: i16, shard: usize) -> Party {
    let unit = UnitId(unit);
    let local = eng.allocate(unit, shard).unwrap();
    let sock = UdpSocket::bind((LO, 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    eng.set_remote(
        unit,
        RtpParams {
            remote: sock.local_addr().unwrap(),
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event_pt: None,
            send: true,
        },
    );
    Party {
        unit,
        local,
        sock,
        level,
    }
}

fn member(unit: UnitId, send: bool) -> MemberSpec {
    MemberSpec {
        unit,
        send,
        forward: false,
        deaf_to: Vec::new(),
    }
}

/// A square wave of amplitude `level`, μ-law.
fn payload(level: i16) -> Vec<u8> {
    let pcm: Vec<i16> = (0..160)
        .map(|i| if i % 2 == 0 { level } else { -level })
        .collect();
    let mut out = vec![0u8; 160];
    Codec::Pcmu.encode(&pcm, &mut out);
    out
}

fn packet(i: u16, ssrc: u32, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 12 + body.len()];
    RtpHeader {
        marker: i == 0,
        payload_type: 0,
        sequence: i,
        timestamp: u32::from(i) * 160,
        ssrc,
        ..RtpHeader::default()
    }
    .write_packet(body, 0, &mut out)
    .unwrap();
    out
}

/// Every party sends its level for `n` packets while each records the
/// magnitudes it hears; returns them per party.
fn talk(parties: &[&Party], n: u16) -> Vec<Vec<i32>> {
    talk_from(parties, 0, n)
}

/// As [`talk`], with packets numbered from `first` (a stream that goes on).
fn talk_from(parties: &[&Party], first: u16, n: u16) -> Vec<Vec<i32>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = parties
            .iter()
            .map(|p| {
                s.spawn(move || {
                    let mut heard = Vec::new();
                    let mut buf = [0u8; 2048];
                    let deadline = Instant::now() + WAIT;
                    while heard.len() < usize::from(n) && Instant::now() < deadline {
                        if let Ok((len, _)) = p.sock.recv_from(&mut buf) {
                            let rtp = RtpPacket::parse(&buf[..len]).unwrap();
                            let mut pcm = [0i16; 160];
                            Codec::Pcmu.decode(rtp.payload(), &mut pcm);
                            heard.push(i32::from(pcm[0]).abs());
                        }
                    }
                    heard
                })
            })
            .collect();
        let start = Instant::now();
        for i in 0..n {
            let due = start + Duration::from_millis(20 * u64::from(i));
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            for (k, p) in parties.iter().enumerate() {
                if p.level != 0 {
                    let pkt = packet(first + i, 0x1000 + k as u32, &payload(p.level));
                    p.sock.send_to(&pkt, p.local).unwrap();
                }
            }
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The magnitude heard most often over the second half (the jitter buffer
/// fills first).
fn steady(heard: &[i32]) -> i32 {
    let tail = &heard[heard.len() / 2..];
    let mut counts = std::collections::HashMap::new();
    for h in tail {
        *counts.entry(*h).or_insert(0) += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, c)| *c)
        .map(|(h, _)| h)
        .unwrap_or(0)
}

fn near(got: i32, want: i32) -> bool {
    (got - want).abs() <= want / 16 + 16
}

#[test]
fn members_hear_everyone_but_themselves_and_a_listener_hears_all() {
    let eng = engine();
    let conf = UnitId(500);
    eng.add_mixer(conf, 0).unwrap();
    let a = party(&eng, 1, 1000);
    let b = party(&eng, 2, 2000);
    let c = party(&eng, 3, 4000);
    let listener = party(&eng, 4, 0);
    for p in [&a, &b, &c] {
        eng.set_member(conf, member(p.unit, true));
        eng.connect(conf, p.unit);
    }
    eng.connect(conf, listener.unit);
    let heard = talk(&[&a, &b, &c, &listener], 40);
    for h in &heard {
        assert!(h.len() >= 30, "a steady stream: {}", h.len());
    }
    let got: Vec<i32> = heard.iter().map(|h| steady(h)).collect();
    println!("heard {got:?}");
    assert!(near(got[0], 6000), "A hears B and C: {got:?}");
    assert!(near(got[1], 5000), "B hears A and C: {got:?}");
    assert!(near(got[2], 3000), "C hears A and B: {got:?}");
    assert!(near(got[3], 7000), "the listener hears all: {got:?}");
    eng.shutdown();
}

#[test]
fn a_whisper_and_a_listen_only_member() {
    let eng = engine();
    let conf = UnitId(600);
    eng.add_mixer(conf, 0).unwrap();
    let agent = party(&eng, 11, 1000);
    let customer = party(&eng, 12, 2000);
    let supervisor = party(&eng, 13, 4000);
    eng.set_member(conf, member(agent.unit, true));
    eng.set_member(
        conf,
        MemberSpec {
            deaf_to: vec![supervisor.unit],
            ..member(customer.unit, true)
        },
    );
    eng.set_member(conf, member(supervisor.unit, true));
    for p in [&agent, &customer, &supervisor] {
        eng.connect(conf, p.unit);
    }
    let got: Vec<i32> = talk(&[&agent, &customer, &supervisor], 40)
        .iter()
        .map(|h| steady(h))
        .collect();
    assert!(near(got[0], 6000), "the agent hears both: {got:?}");
    assert!(
        near(got[1], 1000),
        "the customer does not hear the whisper: {got:?}"
    );
    // Listen: the supervisor stops speaking into the conference.
    eng.set_member(conf, member(supervisor.unit, false));
    let got: Vec<i32> = talk_from(&[&agent, &customer, &supervisor], 40, 40)
        .iter()
        .map(|h| steady(h))
        .collect();
    assert!(
        near(got[0], 2000),
        "the agent hears the customer only: {got:?}"
    );
    assert!(near(got[2], 3000), "the supervisor hears both: {got:?}");
    eng.shutdown();
}

#[test]
fn a_player_speaks_into_the_conference() {
    let eng = engine();
    let conf = UnitId(700);
    eng.add_mixer(conf, 0).unwrap();
    let a = party(&eng, 21, 1000);
    let music = UnitId(22);
    let clip: Vec<i16> = (0..8000)
        .map(|i| if i % 2 == 0 { 3000 } else { -3000 })
        .collect();
    eng.add_player(music, 0, PlayerMedia::Clip(Clip::from(clip)), true)
        .unwrap();
    eng.set_member(conf, member(a.unit, true));
    eng.set_member(conf, member(music, true));
    eng.connect(conf, a.unit);
    let got = steady(&talk(&[&a], 30)[0]);
    assert!(near(got, 3000), "A hears the music and not itself: {got}");
    eng.shutdown();
}

#[test]
fn a_link_joins_units_of_two_workers_both_ways() {
    let eng = engine_with(2);
    // P on worker 0 talks through the link to a conference on worker 1.
    let p = party_on(&eng, 31, 1000, 0);
    let q = party_on(&eng, 32, 2000, 1);
    let r = party_on(&eng, 33, 4000, 1);
    let (a, b, conf) = (UnitId(41), UnitId(42), UnitId(43));
    eng.add_link(a, 0, b, 1).unwrap();
    eng.connect(p.unit, a);
    eng.connect(a, p.unit);
    eng.add_mixer(conf, 1).unwrap();
    for u in [b, q.unit, r.unit] {
        eng.set_member(conf, member(u, true));
        eng.connect(conf, u);
    }
    let got: Vec<i32> = talk(&[&p, &q, &r], 50).iter().map(|h| steady(h)).collect();
    println!("heard {got:?}");
    assert!(
        near(got[0], 6000),
        "P hears Q and R through the link: {got:?}"
    );
    assert!(
        near(got[1], 5000),
        "Q hears P (through the link) and R: {got:?}"
    );
    assert!(near(got[2], 3000), "R hears P and Q: {got:?}");
    eng.shutdown();
}
