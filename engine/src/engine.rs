//! Starting the engine: media workers, JS workers and the signalling task,
//! wired by channels.

use crate::call::control::SessionControl;
use crate::call::{CallDriver, DriverParts, EngineServices};
use crate::config::EngineConfig;
use crate::history::{HistorySink, NoHistory};
use crate::metrics::{Exporter, Metrics};
use crate::overload::LoadWatch;
use crate::routing::InboundRouter;
use crate::signalling::{Inputs, Signalling};
use dialtone_audio::{AudioConfig, AudioLibrary, TtsConfig};
use dialtone_calls::{CallCore, CoreConfig};
use dialtone_egress::http::HttpEgress;
use dialtone_egress::{EgressPolicy, OwnListeners};
use dialtone_media::{MediaConfig, MediaEngine};
use dialtone_script::{ScriptConfig, ScriptHost};
use dialtone_sip::{UaConfig, UaCore};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot listen for SIP on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start media workers: {0}")]
    Media(#[from] dialtone_media::MediaError),
    #[error("cannot start JS workers: {0}")]
    Script(std::io::Error),
    #[error("cannot use the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Http {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTPS: {0}")]
    Tls(#[from] crate::http_tls::TlsError),
    #[error("cannot set up audio loading: {0}")]
    Audio(String),
    #[error("cannot set up HTTP requests: {0}")]
    Net(String),
}

/// A running engine. Dropping it does not stop it; call [`Engine::shutdown`].
pub struct Engine {
    pub sip_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub audio: AudioLibrary,
    pub media: MediaEngine,
    pub host: ScriptHost,
    /// Counters reported by `GET /metrics`.
    pub metrics: Arc<Metrics>,
    shutdown: watch::Sender<bool>,
}

impl Engine {
    /// Binds the SIP sockets and starts every worker. Must be called inside a
    /// tokio runtime; the signalling task runs on it.
    pub async fn start(
        cfg: EngineConfig,
        router: Arc<dyn InboundRouter>,
    ) -> Result<Engine, EngineError> {
        Engine::start_with_http(
            cfg,
            router,
            |_| axum::Router::new(),
            Arc::new(NoHistory),
            Arc::new(crate::app_storage::MemoryAppStorage::default()),
        )
        .await
    }

    /// Like [`Engine::start`], with the routes `http_routes` makes (given the
    /// handle that controls live sessions) served on the engine's HTTP
    /// listener next to `/recordings`, `/access` and `/metrics`, and sessions
    /// and calls reported to `history`.
    pub async fn start_with_http(
        cfg: EngineConfig,
        router: Arc<dyn InboundRouter>,
        http_routes: impl FnOnce(&SessionControl) -> axum::Router,
        history: Arc<dyn HistorySink>,
        storage: Arc<dyn crate::app_storage::AppStorage>,
    ) -> Result<Engine, EngineError> {
        let (udp, tcp, sip_addr) = bind_sip(cfg.sip).await?;
        set_udp_buffers(&udp);

        let media_ip = cfg
            .advertise
            .unwrap_or_else(|| advertised_ip(sip_addr.ip()));
        // RTP sockets bind where SIP does: on every interface when SIP does,
        // so media reaches us at the advertised address too.
        let rtp_bind_ip = if sip_addr.ip().is_unspecified() {
            sip_addr.ip()
        } else {
            media_ip
        };
        if cfg.advertise.is_none() && sip_addr.ip().is_unspecified() {
            tracing::warn!(
                advertised = %media_ip,
                "SIP is bound to every interface but no address to advertise was given; \
                 remote peers cannot reach us: set --advertise (or DIALTONE_ADVERTISE)"
            );
        }
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        dialtone_media::webrtc::set_opus_complexity(cfg.opus_complexity);
        let media = MediaEngine::start(
            MediaConfig {
                workers: cfg.media_workers,
                bind_ip: rtp_bind_ip,
                port_min: *cfg.rtp_ports.0.start(),
                port_max: *cfg.rtp_ports.0.end(),
                rtp_timeout: cfg.rtp_timeout,
                relatch_after: cfg.rtp_relatch_after,
                thread_nice: cfg.media_nice,
            },
            media_tx,
        )?;
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let host = ScriptHost::start(
            ScriptConfig {
                workers: cfg.script_workers,
                memory_limit: cfg.memory_limit,
                cpu_budget: cfg.cpu_budget,
                idle_timeout: cfg.idle_timeout,
                voices: Arc::new(voice_catalogue(&cfg.tts_engine)),
            },
            cmd_tx,
        )
        .map_err(EngineError::Script)?;

        let ua = UaCore::new(UaConfig {
            local_addr: SocketAddr::new(media_ip, sip_addr.port()),
            user_agent: format!("Dialtone/{}", env!("CARGO_PKG_VERSION")),
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            max_server_tx_per_source: dialtone_sip::ua::MAX_SERVER_TX_PER_SOURCE,
            registrar: router.registrar(),
        });
        let recordings_dir = cfg.data_dir.join("recordings");
        let cache_dir = cfg.data_dir.join("cache");
        for dir in [&recordings_dir, &cache_dir] {
            std::fs::create_dir_all(dir).map_err(|source| EngineError::DataDir {
                path: dir.clone(),
                source,
            })?;
        }
        let metrics = Arc::new(Metrics::default());
        let load = Arc::new(LoadWatch::new(cfg.memory_budget));
        crate::overload::spawn_monitor(load.clone(), media.clone());
        let (control, control_rx) = SessionControl::new();
        let (tcp_tx, tcp_rx) = mpsc::unbounded_channel();
        let http_routes = http_routes(&control)
            .merge(crate::access::routes(control.clone()))
            .merge(crate::signalling::ws::routes(tcp_tx.clone()))
            .merge(crate::phone::routes());
        let exporter = Exporter::new(metrics.clone(), host.clone(), media.clone(), load.clone());
        let tls = match &cfg.http_tls {
            Some(files) => Some(crate::http_tls::server_config(files)?),
            None => None,
        };
        let http_addr = crate::http::start(
            cfg.http,
            tls,
            cfg.public_recordings.then_some(recordings_dir.as_path()),
            http_routes,
            exporter.clone(),
        )
        .await
        .map_err(|source| EngineError::Http {
            addr: cfg.http,
            source,
        })?;
        // One policy for every connection a scenario makes: `Net`, playback
        // and TTS downloads, `callSIP`. Our own ports are denied on any
        // address of this host.
        let egress = Arc::new(
            EgressPolicy::new(cfg.egress_allow.clone()).with_own_listeners(OwnListeners::new(
                [sip_addr.port(), http_addr.port()],
                [sip_addr.ip(), http_addr.ip(), media_ip],
            )),
        );
        let net_http = HttpEgress::new(egress.clone(), crate::call::NET_CONNECT_TIMEOUT)
            .map_err(EngineError::Net)?;
        // The audio library needs the HTTP listener's address (its egress
        // policy denies it); the exporter reads its caches once it exists.
        let audio = AudioLibrary::new(AudioConfig {
            media_dir: cfg.media_dir.clone(),
            cache_dir,
            max_download_cache_bytes: cfg.download_cache_bytes,
            max_tts_cache_bytes: cfg.tts_cache_bytes,
            egress: egress.clone(),
            tts: TtsConfig {
                default_engine: cfg.tts_engine.clone(),
                http_url: cfg.tts_url.clone(),
                ..TtsConfig::default()
            },
            ..AudioConfig::default()
        })
        .map_err(|e| EngineError::Audio(e.to_string()))?;
        exporter.set_audio(audio.clone());
        let recordings_url = if cfg.public_recordings {
            format!("{}/recordings", cfg.public_base(http_addr))
        } else {
            format!("{}/v1/recordings", cfg.public_base(http_addr))
        };
        let registering = router.trunk_registrations();
        let mut core = CallCore::new(
            CoreConfig {
                media_ip,
                media_workers: cfg.media_workers,
                max_sessions: cfg.max_sessions,
                max_setups_per_second: cfg.max_setups_per_second,
                recordings_dir,
                recordings_url,
                limits: cfg.limits.clone(),
                access_base: format!("{}/access", cfg.public_base(http_addr)),
                registrar: dialtone_calls::RegistrarConfig {
                    prefer_sha256: cfg.digest_sha256_first,
                    ..Default::default()
                },
            },
            Box::new(EngineServices {
                router,
                media: media.clone(),
                history: history.clone(),
                egress,
                load: load.clone(),
                recording_usage: cfg.recording_usage.clone(),
            }),
        );
        core.set_trunk_registrations(std::time::Instant::now(), registering);
        let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
        let calls = CallDriver::new(
            core,
            DriverParts {
                media: media.clone(),
                host: host.clone(),
                audio: audio.clone(),
                history,
                metrics: metrics.clone(),
                job_results: jobs_tx,
                http: net_http,
                access_gate: control.gate().clone(),
                storage,
                cti: control.cti().clone(),
            },
        );
        crate::signalling::tcp::spawn_listener(tcp, tcp_tx.clone());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let signalling = Signalling::new(ua, calls, Arc::new(udp), tcp_tx, load);
        tokio::spawn(signalling.run(
            Inputs {
                commands: cmd_rx,
                media: media_rx,
                jobs: jobs_rx,
                control: control_rx,
                shutdown: shutdown_rx,
            },
            tcp_rx,
        ));
        Ok(Engine {
            sip_addr,
            http_addr,
            audio,
            media,
            host,
            metrics,
            shutdown,
        })
    }

    /// Asks every session to end; returns once none is left or `grace` passed.
    pub async fn shutdown(&self, grace: Duration) {
        let _ = self.shutdown.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        while self.host.live_sessions() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.host.shutdown();
        self.media.shutdown();
    }
}

/// The address we put in SDP and Contact: the SIP bind address, or, when
/// bound to every interface, loopback until a public address is configured.
fn advertised_ip(bound: IpAddr) -> IpAddr {
    if bound.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        bound
    }
}

/// Bursts of call set-ups overflow the default socket buffers.
fn set_udp_buffers(udp: &UdpSocket) {
    let sock = socket2::SockRef::from(udp);
    let _ = sock.set_recv_buffer_size(4 * 1024 * 1024);
    let _ = sock.set_send_buffer_size(4 * 1024 * 1024);
}

/// The voices of the configured TTS engine, for `Language` and `VoiceList`:
/// espeak-ng's languages from its `--voices` listing; an HTTP service
/// chooses itself.
fn voice_catalogue(engine: &str) -> dialtone_core::voices::VoiceCatalogue {
    use dialtone_core::voices::VoiceCatalogue;
    if engine != "espeak" {
        return VoiceCatalogue::PassThrough;
    }
    match std::process::Command::new("espeak-ng")
        .arg("--voices")
        .output()
    {
        Ok(out) if out.status.success() => {
            VoiceCatalogue::espeak_from_listing(&String::from_utf8_lossy(&out.stdout))
        }
        other => {
            tracing::warn!(result = ?other.map(|o| o.status), "cannot list espeak-ng's voices; Language and VoiceList voices go to it as they are");
            VoiceCatalogue::PassThrough
        }
    }
}

/// Binds SIP's UDP socket and TCP listener on one port. With port 0 the
/// kernel picks the UDP port, and the same TCP port may already be taken
/// (an ephemeral client port, say): then another UDP port is tried.
async fn bind_sip(
    addr: std::net::SocketAddr,
) -> Result<(UdpSocket, TcpListener, std::net::SocketAddr), EngineError> {
    let listen = |addr, source| EngineError::Listen { addr, source };
    let attempts = if addr.port() == 0 { 32 } else { 1 };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let udp = UdpSocket::bind(addr)
            .await
            .map_err(|source| listen(addr, source))?;
        let sip_addr = udp.local_addr().map_err(|source| listen(addr, source))?;
        match TcpListener::bind(sip_addr).await {
            Ok(tcp) => return Ok((udp, tcp, sip_addr)),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && attempt < attempts => {
                tracing::debug!(port = sip_addr.port(), "TCP port taken; another SIP port");
            }
            Err(source) => return Err(listen(sip_addr, source)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sip_binds_udp_and_tcp_on_one_port() {
        for _ in 0..20 {
            let (udp, tcp, addr) = bind_sip("127.0.0.1:0".parse().unwrap()).await.unwrap();
            assert_eq!(udp.local_addr().unwrap(), addr);
            assert_eq!(tcp.local_addr().unwrap(), addr);
        }
    }

    #[tokio::test]
    async fn a_taken_tcp_port_is_an_error_when_the_port_was_given() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        // The UDP port of the same number is most likely free.
        match bind_sip(addr).await {
            Err(EngineError::Listen { addr: a, .. }) => assert_eq!(a, addr),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("bound a taken TCP port"),
        }
    }
}
