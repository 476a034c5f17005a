//! Load check: many echo endpoints on one media worker, fed by a local sender
//! thread at 50 packets/s each; prints the worker's CPU time per endpoint.
//!
//! `cargo bench -p dialtone-media --bench echo_load`
//! Environment: ECHO_CALLS (500), ECHO_SECS (10), ECHO_WORKERS (1),
//! ECHO_PORT_MIN (20000).

mod common;

use common::{env, raise_fd_limit, rss_kib, thread_cpu_ns};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialtone_media::rtp::RtpHeader;
use dialtone_media::{Codec, MediaConfig, MediaEngine, RtpParams, UnitId};

fn main() {
    let calls = env("ECHO_CALLS", 500) as usize;
    let secs = env("ECHO_SECS", 10);
    let workers = env("ECHO_WORKERS", 1) as usize;
    let port_min = env("ECHO_PORT_MIN", 20_000) as u16;
    raise_fd_limit(2 * calls as u64 + 64);

    let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cfg = MediaConfig {
        workers,
        bind_ip: lo,
        port_min,
        port_max: port_min.saturating_add((2 * calls + 200).min(60_000) as u16),
        rtp_timeout: Duration::from_secs(10),
        relatch_after: dialtone_media::DEFAULT_RELATCH_AFTER,
        thread_nice: None,
    };
    let engine = MediaEngine::start(cfg, tx).expect("start media engine");

    let rss_before = rss_kib();
    let mut peers: Vec<(UdpSocket, SocketAddr)> = Vec::with_capacity(calls);
    for i in 0..calls {
        let unit = UnitId(i as u64 + 1);
        let local = engine.allocate(unit, i).expect("allocate");
        let peer = UdpSocket::bind((lo, 0)).expect("bind peer");
        peer.set_nonblocking(true).expect("nonblocking");
        engine.set_remote(
            unit,
            RtpParams {
                remote: peer.local_addr().expect("addr"),
                codec: Codec::Pcmu,
                payload_type: 0,
                telephone_event_pt: Some(101),
                send: true,
            },
        );
        engine.connect(unit, unit);
        peers.push((peer, local));
    }
    let rss_endpoints = rss_kib();

    let stop = Arc::new(AtomicBool::new(false));
    let echoed = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let feeder = {
        let (stop, echoed, sent) = (stop.clone(), echoed.clone(), sent.clone());
        std::thread::Builder::new()
            .name("echo-feeder".into())
            .spawn(move || feed(&peers, &stop, &echoed, &sent))
            .expect("spawn feeder")
    };

    // Let jitter buffers fill and latching settle before measuring.
    std::thread::sleep(Duration::from_secs(2));
    let cpu0 = thread_cpu_ns("dialtone-media");
    let feeder_cpu0 = thread_cpu_ns("echo-feeder");
    let (echo0, sent0) = (echoed.load(Ordering::Relaxed), sent.load(Ordering::Relaxed));
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let wall = t0.elapsed();
    let cpu = thread_cpu_ns("dialtone-media") - cpu0;
    let feeder_cpu = thread_cpu_ns("echo-feeder") - feeder_cpu0;
    let (echo1, sent1) = (echoed.load(Ordering::Relaxed), sent.load(Ordering::Relaxed));
    let rss_running = rss_kib();
    stop.store(true, Ordering::Relaxed);
    let _ = feeder.join();
    let stats = engine.stats();
    engine.shutdown();
    let mut events = 0;
    while rx.try_recv().is_ok() {
        events += 1;
    }

    let core_pct = 100.0 * cpu as f64 / wall.as_nanos() as f64;
    println!("echo endpoints      {calls} on {workers} worker(s), {secs} s measured");
    println!("packets sent/echoed {} / {}", sent1 - sent0, echo1 - echo0);
    println!("worker CPU          {core_pct:.2} % of one core");
    println!(
        "per endpoint        {:.4} % of one core ({:.1} µs CPU per second)",
        core_pct / calls as f64,
        cpu as f64 / 1000.0 / wall.as_secs_f64() / calls as f64
    );
    println!(
        "feeder CPU          {:.2} % of one core (load generator, not counted)",
        100.0 * feeder_cpu as f64 / wall.as_nanos() as f64
    );
    println!(
        "RSS                 {} KiB idle, +{} KiB with endpoints ({:.1} KiB each), {} KiB running",
        rss_before,
        rss_endpoints.saturating_sub(rss_before),
        rss_endpoints.saturating_sub(rss_before) as f64 / calls as f64,
        rss_running
    );
    println!("engine stats        {stats:?}, {events} events");
}

fn feed(
    peers: &[(UdpSocket, SocketAddr)],
    stop: &AtomicBool,
    echoed: &AtomicU64,
    sent: &AtomicU64,
) {
    let payload = [0x55u8; 160];
    let mut packet = [0u8; 172];
    let start = Instant::now();
    let mut buf = [0u8; 2048];
    let mut i: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        let due = start + Duration::from_millis(20 * u64::from(i));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for (n, (sock, to)) in peers.iter().enumerate() {
            let header = RtpHeader {
                marker: i == 0,
                payload_type: 0,
                sequence: i as u16,
                timestamp: i.wrapping_mul(160),
                ssrc: n as u32 + 1,
                ..RtpHeader::default()
            };
            if header.write_packet(&payload, 0, &mut packet).is_ok()
                && sock.send_to(&packet, to).is_ok()
            {
                sent.fetch_add(1, Ordering::Relaxed);
            }
            loop {
                match sock.recv_from(&mut buf) {
                    Ok(_) => {
                        echoed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => break,
                }
            }
        }
        i = i.wrapping_add(1);
    }
}
