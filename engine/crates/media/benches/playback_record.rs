//! Load check for issue-level media: N calls, each hearing its own player of
//! one shared looping clip and recorded (stereo tap) to WAV, fed by a local
//! sender thread at 50 packets/s each. Prints the media workers' and the
//! recording writer's CPU per call and the memory per call.
//!
//! `cargo bench -p dialtone-media --bench playback_record`
//! Environment: PR_CALLS (500), PR_SECS (10), PR_WORKERS (1),
//! PR_PORT_MIN (21000), PR_DIR (a directory under the system temp dir).

mod common;

use common::{env, raise_fd_limit, rss_kib, thread_cpu_ns};
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialtone_media::rtp::RtpHeader;
use dialtone_media::{
    Clip, Codec, MediaConfig, MediaEngine, MediaEvent, PlayerMedia, RecordFormat, RecorderSpec,
    RtpParams, UnitId,
};

fn main() {
    let calls = env("PR_CALLS", 500) as usize;
    let secs = env("PR_SECS", 10);
    let workers = env("PR_WORKERS", 1) as usize;
    let port_min = env("PR_PORT_MIN", 21_000) as u16;
    let dir = std::env::var("PR_DIR").map(Into::into).unwrap_or_else(|_| {
        std::env::temp_dir().join(format!("dialtone-pr-{}", std::process::id()))
    });
    fs::create_dir_all(&dir).expect("recording dir");
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
    // A 3 s prompt, decoded once and shared by every player.
    let clip: Clip = (0..24_000)
        .map(|i| ((i * 37) % 8000) as i16 - 4000)
        .collect::<Vec<_>>()
        .into();

    let rss_before = rss_kib();
    let mut peers: Vec<(UdpSocket, SocketAddr)> = Vec::with_capacity(calls);
    for i in 0..calls {
        let unit = UnitId(i as u64 + 1);
        let player = UnitId(1_000_000 + i as u64);
        let recorder = UnitId(2_000_000 + i as u64);
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
        engine
            .add_player(player, i, PlayerMedia::Clip(clip.clone()), true)
            .expect("player");
        engine.connect(player, unit);
        engine
            .add_recorder(
                recorder,
                i,
                RecorderSpec {
                    path: dir.join(format!("{i}.wav")),
                    stereo: true,
                    tap: Some(unit),
                    format: RecordFormat::Wav,
                    budget: None,
                },
            )
            .expect("recorder");
        peers.push((peer, local));
    }
    let rss_units = rss_kib();

    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let feeder = {
        let (stop, received, sent) = (stop.clone(), received.clone(), sent.clone());
        std::thread::Builder::new()
            .name("pr-feeder".into())
            .spawn(move || feed(&peers, &stop, &received, &sent))
            .expect("spawn feeder")
    };

    std::thread::sleep(Duration::from_secs(2));
    let cpu0 = thread_cpu_ns("dialtone-media");
    let wcpu0 = thread_cpu_ns("dialtone-record");
    let (rx0, sent0) = (
        received.load(Ordering::Relaxed),
        sent.load(Ordering::Relaxed),
    );
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let wall = t0.elapsed();
    let cpu = thread_cpu_ns("dialtone-media") - cpu0;
    let wcpu = thread_cpu_ns("dialtone-record") - wcpu0;
    let (rx1, sent1) = (
        received.load(Ordering::Relaxed),
        sent.load(Ordering::Relaxed),
    );
    let rss_running = rss_kib();
    stop.store(true, Ordering::Relaxed);
    let _ = feeder.join();
    let stats = engine.stats();
    let released = Instant::now();
    for i in 0..calls {
        engine.release(UnitId(2_000_000 + i as u64));
    }
    let mut stopped = 0;
    let mut errors = 0;
    while stopped + errors < calls && released.elapsed() < Duration::from_secs(30) {
        match rx.try_recv() {
            Ok(MediaEvent::RecorderStopped { .. }) => stopped += 1,
            Ok(MediaEvent::RecorderError { .. }) => errors += 1,
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    let finalise = released.elapsed();
    engine.shutdown();
    let disk: u64 = fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    let _ = fs::remove_dir_all(&dir);

    let pct = |ns: u64| 100.0 * ns as f64 / wall.as_nanos() as f64;
    println!("calls               {calls} on {workers} worker(s), {secs} s measured, each: looping shared prompt + stereo tap recording");
    println!(
        "packets sent/recv   {} / {} (peer side)",
        sent1 - sent0,
        rx1 - rx0
    );
    println!(
        "worker CPU          {:.2} % of one core, {:.4} % per call",
        pct(cpu),
        pct(cpu) / calls as f64
    );
    println!(
        "writer CPU          {:.2} % of one core, {:.4} % per call",
        pct(wcpu),
        pct(wcpu) / calls as f64
    );
    println!(
        "total media CPU     {:.4} % of one core per call",
        pct(cpu + wcpu) / calls as f64
    );
    println!(
        "RSS                 {} KiB idle, +{} KiB with units ({:.1} KiB per call), {} KiB running ({:.1} KiB per call over idle)",
        rss_before,
        rss_units.saturating_sub(rss_before),
        rss_units.saturating_sub(rss_before) as f64 / calls as f64,
        rss_running,
        rss_running.saturating_sub(rss_before) as f64 / calls as f64
    );
    println!("recordings          {stopped} stopped, {errors} errors, finished in {finalise:?}, {} MiB on disk", disk / (1024 * 1024));
    println!("engine stats        {stats:?}");
}

fn feed(
    peers: &[(UdpSocket, SocketAddr)],
    stop: &AtomicBool,
    received: &AtomicU64,
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
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => break,
                }
            }
        }
        i = i.wrapping_add(1);
    }
}
