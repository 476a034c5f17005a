//! The same measurement as `bench-webrtc-rs` on webrtc-rs 0.14, the last
//! release of its original design (every connection runs its own tokio tasks
//! for ICE, DTLS, SRTP and the interceptors). Its normal API: `APIBuilder`
//! with the default interceptors, loopback host candidates only, gathering
//! waited for, one PCMU `TrackLocalStaticSample` each way written every 20 ms,
//! the sender's RTCP read as its examples do.

#[path = "../common.rs"]
mod common;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use webrtc014 as webrtc;

use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_PCMU};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::ice::network_type::NetworkType;
use webrtc::interceptor::registry::Registry;
use webrtc::media::Sample;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp_transceiver::rtp_codec::{
    RTCRtpCodecCapability, RTCRtpCodecParameters, RTPCodecType,
};
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;
use webrtc::track::track_local::TrackLocal;

use common::Cycle;

const PAYLOAD: [u8; 160] = [0xff; 160];

type Res<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Default)]
struct Stats {
    connected: AtomicUsize,
    connect_ms: Mutex<Vec<f64>>,
    rx: AtomicU64,
    tx: AtomicU64,
}

fn pcmu() -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: MIME_TYPE_PCMU.to_owned(),
        clock_rate: 8000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

struct End {
    pc: Arc<RTCPeerConnection>,
    track: Arc<TrackLocalStaticSample>,
    connected: Arc<AtomicBool>,
}

async fn end(start: Instant, stats: &Arc<Stats>, n: usize) -> Res<End> {
    let mut media = MediaEngine::default();
    media.register_codec(
        RTCRtpCodecParameters {
            capability: pcmu(),
            payload_type: 0,
            ..Default::default()
        },
        RTPCodecType::Audio,
    )?;
    let registry = register_default_interceptors(Registry::new(), &mut media)?;
    let mut setting = SettingEngine::default();
    setting.set_include_loopback_candidate(true);
    setting.set_ip_filter(Box::new(|ip: IpAddr| ip.is_loopback()));
    setting.set_network_types(vec![NetworkType::Udp4]);
    let api = APIBuilder::new()
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(setting)
        .build();
    let pc = Arc::new(api.new_peer_connection(RTCConfiguration::default()).await?);
    let connected = Arc::new(AtomicBool::new(false));
    {
        let (stats, connected) = (stats.clone(), connected.clone());
        pc.on_peer_connection_state_change(Box::new(move |s| {
            if s == RTCPeerConnectionState::Connected && !connected.swap(true, Ordering::SeqCst) {
                stats
                    .connect_ms
                    .lock()
                    .unwrap()
                    .push(start.elapsed().as_secs_f64() * 1000.0);
                stats.connected.fetch_add(1, Ordering::SeqCst);
            }
            Box::pin(async {})
        }));
    }
    {
        let stats = stats.clone();
        pc.on_track(Box::new(move |track, _, _| {
            let stats = stats.clone();
            tokio::spawn(async move {
                while track.read_rtp().await.is_ok() {
                    stats.rx.fetch_add(1, Ordering::Relaxed);
                }
            });
            Box::pin(async {})
        }));
    }
    let track = Arc::new(TrackLocalStaticSample::new(
        pcmu(),
        format!("t{n}"),
        format!("s{n}"),
    ));
    Ok(End {
        pc,
        track,
        connected,
    })
}

struct Pair {
    a: Arc<RTCPeerConnection>,
    b: Arc<RTCPeerConnection>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn add_track(e: &End, tasks: &mut Vec<tokio::task::JoinHandle<()>>) -> Res<()> {
    let sender =
        e.pc.add_track(e.track.clone() as Arc<dyn TrackLocal + Send + Sync>)
            .await?;
    // RTCP for the sender goes through the interceptors only when read.
    tasks.push(tokio::spawn(async move {
        let mut buf = vec![0u8; 1500];
        while sender.read(&mut buf).await.is_ok() {}
    }));
    Ok(())
}

async fn open_pair(i: usize, stats: Arc<Stats>) -> Res<Pair> {
    let start = Instant::now();
    let a = end(start, &stats, 2 * i).await?;
    let b = end(start, &stats, 2 * i + 1).await?;
    let mut tasks = Vec::new();
    add_track(&a, &mut tasks).await?;
    let offer = a.pc.create_offer(None).await?;
    let mut gathered = a.pc.gathering_complete_promise().await;
    a.pc.set_local_description(offer).await?;
    let _ = gathered.recv().await;
    let offer = a.pc.local_description().await.ok_or("no offer")?;
    // As webrtc-rs's reflect example does: the answerer's track before the offer.
    add_track(&b, &mut tasks).await?;
    b.pc.set_remote_description(offer).await?;
    let answer = b.pc.create_answer(None).await?;
    let mut gathered = b.pc.gathering_complete_promise().await;
    b.pc.set_local_description(answer).await?;
    let _ = gathered.recv().await;
    let answer = b.pc.local_description().await.ok_or("no answer")?;
    a.pc.set_remote_description(answer).await?;
    for e in [&a, &b] {
        let (track, connected, stats) = (e.track.clone(), e.connected.clone(), stats.clone());
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                tick.tick().await;
                if !connected.load(Ordering::Relaxed) {
                    continue;
                }
                let sample = Sample {
                    data: bytes::Bytes::from_static(&PAYLOAD),
                    duration: Duration::from_millis(20),
                    ..Default::default()
                };
                if track.write_sample(&sample).await.is_ok() {
                    stats.tx.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    Ok(Pair {
        a: a.pc,
        b: b.pc,
        tasks,
    })
}

fn tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

async fn run(args: &common::Args) {
    let rss_start = common::rss_kib();
    let threads_start = common::threads();
    for cycle in 1..=args.cycles {
        let mut c = Cycle {
            cycle,
            pairs: args.pairs,
            connections: 2 * args.pairs,
            rss_before_kib: common::rss_kib(),
            heap_before_kib: common::heap_kib(),
            threads_before: common::threads(),
            tasks_before: Some(tasks()),
            ..Default::default()
        };
        let stats = Arc::new(Stats::default());
        let mut opening = Vec::new();
        for i in 0..args.pairs {
            opening.push(tokio::spawn(open_pair(i, stats.clone())));
        }
        let mut pairs = Vec::new();
        for o in opening {
            match o.await.unwrap() {
                Ok(p) => pairs.push(p),
                Err(e) => eprintln!("pair failed: {e}"),
            }
        }
        let limit = Instant::now() + Duration::from_secs(60);
        while stats.connected.load(Ordering::SeqCst) < 2 * args.pairs && Instant::now() < limit {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        c.connected = stats.connected.load(Ordering::SeqCst);
        c.connect_ms = stats.connect_ms.lock().unwrap().clone();
        tokio::time::sleep(args.warmup).await;
        c.rss_connected_kib = common::rss_kib();
        c.heap_connected_kib = common::heap_kib();
        c.threads_connected = common::threads();
        c.tasks_connected = Some(tasks());
        if cycle == 1 {
            let rx0 = stats.rx.load(Ordering::Relaxed);
            let tx0 = stats.tx.load(Ordering::Relaxed);
            let t0 = Instant::now();
            let cpu0 = common::cpu_ticks();
            tokio::time::sleep(args.steady).await;
            c.steady_ticks = Some(common::cpu_ticks() - cpu0);
            c.steady_secs = t0.elapsed().as_secs_f64();
            c.rx_packets = Some(stats.rx.load(Ordering::Relaxed) - rx0);
            c.tx_packets = Some(stats.tx.load(Ordering::Relaxed) - tx0);
        }
        for p in pairs.drain(..) {
            for t in &p.tasks {
                t.abort();
            }
            let _ = p.a.close().await;
            let _ = p.b.close().await;
        }
        drop(stats);
        tokio::time::sleep(args.settle).await;
        c.rss_after_close_kib = common::rss_kib();
        c.heap_after_close_kib = common::heap_kib();
        c.threads_after_close = common::threads();
        c.tasks_after_close = Some(tasks());
        c.print("webrtc", "0.14.0", rss_start, threads_start);
    }
}

#[tokio::main]
async fn main() {
    let args = common::args();
    run(&args).await;
}
