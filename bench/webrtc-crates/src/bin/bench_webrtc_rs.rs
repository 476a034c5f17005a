//! N pairs of webrtc-rs `PeerConnection`s in one process over 127.0.0.1,
//! on its normal tokio API (multi-thread runtime, default worker count).
//! Each pair negotiates by SDP offer/answer (host candidates only, gathering
//! waited for), connects ICE + DTLS-SRTP, and sends one PCMU audio track each
//! way through `TrackLocalStaticSample`: 160 bytes every 20 ms per track.

#[path = "../common.rs"]
mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_PCMU;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionState, Registry,
};

use common::Cycle;

const PAYLOAD: [u8; 160] = [0xff; 160];
const PT_PCMU: u8 = 0;

#[derive(Default)]
struct Stats {
    connected: AtomicUsize,
    connect_ms: Mutex<Vec<f64>>,
    rx: AtomicU64,
    tx: AtomicU64,
}

struct Handler {
    start: Instant,
    stats: Arc<Stats>,
    connected: Arc<AtomicBool>,
    gathered: mpsc::Sender<()>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.try_send(());
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Connected
            && !self.connected.swap(true, Ordering::SeqCst)
        {
            let ms = self.start.elapsed().as_secs_f64() * 1000.0;
            self.stats.connect_ms.lock().unwrap().push(ms);
            self.stats.connected.fetch_add(1, Ordering::SeqCst);
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let stats = self.stats.clone();
        tokio::spawn(async move {
            while let Some(ev) = track.poll().await {
                match ev {
                    TrackRemoteEvent::OnRtpPacket(_) => {
                        stats.rx.fetch_add(1, Ordering::Relaxed);
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        });
    }
}

fn pcmu() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_PCMU.to_owned(),
        clock_rate: 8000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

struct End {
    pc: Arc<dyn PeerConnection>,
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    connected: Arc<AtomicBool>,
    gathered: mpsc::Receiver<()>,
}

async fn end(
    start: Instant,
    stats: &Arc<Stats>,
    n: usize,
    interceptors: bool,
) -> anyhow_lite::Result<End> {
    let mut media = MediaEngine::default();
    media.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: pcmu(),
            payload_type: PT_PCMU,
        },
        RtpCodecKind::Audio,
    )?;
    let mut registry = Registry::new();
    if interceptors {
        registry = register_default_interceptors(registry, &mut media)?;
    }
    let connected = Arc::new(AtomicBool::new(false));
    let (gtx, grx) = mpsc::channel(1);
    let pc = PeerConnectionBuilder::new()
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(Handler {
            start,
            stats: stats.clone(),
            connected: connected.clone(),
            gathered: gtx,
        }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
        .build()
        .await?;
    let ssrc = 0x1000_0000 + n as u32;
    let track = MediaStreamTrack::new(
        format!("s{n}"),
        format!("t{n}"),
        format!("audio{n}"),
        RtpCodecKind::Audio,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            active: true,
            codec: pcmu(),
            ..Default::default()
        }],
    );
    let track = Arc::new(TrackLocalStaticSample::new(Instant::now(), track)?);
    Ok(End {
        pc: Arc::new(pc),
        track,
        ssrc,
        connected,
        gathered: grx,
    })
}

/// Plain error plumbing without another dependency.
mod anyhow_lite {
    pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
}

struct Pair {
    a: Arc<dyn PeerConnection>,
    b: Arc<dyn PeerConnection>,
    senders: Vec<tokio::task::JoinHandle<()>>,
}

async fn open_pair(i: usize, stats: Arc<Stats>, interceptors: bool) -> anyhow_lite::Result<Pair> {
    let start = Instant::now();
    let mut a = end(start, &stats, 2 * i, interceptors).await?;
    let mut b = end(start, &stats, 2 * i + 1, interceptors).await?;
    a.pc.add_track(a.track.clone() as Arc<dyn TrackLocal>)
        .await?;
    let offer = a.pc.create_offer(None).await?;
    a.pc.set_local_description(offer).await?;
    let _ = tokio::time::timeout(Duration::from_secs(10), a.gathered.recv()).await;
    let offer = a.pc.local_description().await.ok_or("no offer")?;
    b.pc.set_remote_description(offer).await?;
    b.pc.add_track(b.track.clone() as Arc<dyn TrackLocal>)
        .await?;
    let answer = b.pc.create_answer(None).await?;
    b.pc.set_local_description(answer).await?;
    let _ = tokio::time::timeout(Duration::from_secs(10), b.gathered.recv()).await;
    let answer = b.pc.local_description().await.ok_or("no answer")?;
    a.pc.set_remote_description(answer).await?;
    let mut senders = Vec::new();
    for e in [&a, &b] {
        let (track, ssrc, connected, stats) =
            (e.track.clone(), e.ssrc, e.connected.clone(), stats.clone());
        senders.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                tick.tick().await;
                if !connected.load(Ordering::Relaxed) {
                    continue;
                }
                let sample = Sample {
                    data: bytes::Bytes::from_static(&PAYLOAD),
                    timestamp: Instant::now(),
                    duration: Duration::from_millis(20),
                    packet_timestamp: 0,
                    prev_dropped_packets: 0,
                    prev_padding_packets: 0,
                };
                if track
                    .write_sample(ssrc, PT_PCMU, &sample, &[])
                    .await
                    .is_ok()
                {
                    stats.tx.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    Ok(Pair {
        a: a.pc,
        b: b.pc,
        senders,
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
            opening.push(tokio::spawn(open_pair(i, stats.clone(), args.interceptors)));
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
            for s in &p.senders {
                s.abort();
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
        let name = if args.interceptors {
            "webrtc"
        } else {
            "webrtc (no interceptors)"
        };
        c.print(name, "0.21.1", rss_start, threads_start);
    }
}

#[tokio::main]
async fn main() {
    let args = common::args();
    run(&args).await;
}
