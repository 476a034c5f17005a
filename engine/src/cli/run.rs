//! `dialtone run`: the developer's inner loop. One scenario, every inbound
//! INVITE starts a new session of it.

use crate::config::{parse_duration, EngineConfig, PortRange, PublicUrl};
use crate::engine::Engine;
use crate::logging::{self, LogFormat};
use crate::routing::SingleScenario;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The scenario (JavaScript) every inbound call runs.
    pub scenario: PathBuf,
    /// SIP listen address (UDP and TCP on the same port).
    #[arg(long, default_value = "127.0.0.1:5060")]
    pub sip: SocketAddr,
    /// RTP port range, LO-HI.
    #[arg(long, default_value = "20000-39999")]
    pub rtp_ports: PortRange,
    /// How long a call's RTP source must be silent before another source
    /// (one steady stream) may take over (e.g. 2s; 0: at once).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub rtp_relatch_after: Duration,
    /// IP address put in Contact, Via and SDP (default: the SIP address; set it
    /// when --sip binds 0.0.0.0).
    #[arg(long)]
    pub advertise: Option<std::net::IpAddr>,
    /// `VoxEngine.customData()` of every session.
    #[arg(long, default_value = "")]
    pub custom_data: String,
    /// Session log format on stdout.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// A session with no calls ends after this long (e.g. 60s, 500ms).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// CPU time one JS callback may use before its session is stopped.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub cpu_budget: Duration,
    /// Live sessions at most; past it new calls get 503 (default: as many as
    /// fit in half the memory at 512 KiB each; 0: no limit).
    #[arg(long)]
    pub max_sessions: Option<usize>,
    /// Memory budget in MiB: past 90 % of it new calls get 503 until memory
    /// is back under 85 % (default: 80 % of the machine's or cgroup's
    /// memory; 0: memory is not watched).
    #[arg(long)]
    pub memory_budget_mib: Option<u64>,
    /// New calls per second at most; past it they get 503 with Retry-After
    /// (default: 1,000 per core; 0: no limit).
    #[arg(long)]
    pub max_setups_per_second: Option<u32>,
    /// No RTP from a call's peer for this long raises CallEvents.RtpStopped.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub rtp_timeout: Duration,
    /// An inbound call neither answered nor rejected this long after its
    /// INVITE gets 480 No Answer (0: never).
    #[arg(long, default_value = "3m", value_parser = parse_duration)]
    pub no_answer_timeout: Duration,
    /// After RtpStopped, a connected call that gets no RTP for this long is
    /// hung up (0: never; a scenario may opt out per call).
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub rtp_hangup_after: Duration,
    /// Connected calls are hung up this long after they connect (0: no limit).
    #[arg(long, default_value = "4h", value_parser = parse_duration)]
    pub max_call_duration: Duration,
    /// QuickJS heap limit per session, in MiB.
    #[arg(long, default_value_t = 16)]
    pub memory_limit_mib: usize,
    /// Media worker threads (default: one per core).
    #[arg(long)]
    pub media_workers: Option<usize>,
    /// Nice value of the media worker threads, -20..19 (default -10;
    /// raising priority needs CAP_SYS_NICE, else they keep the process's;
    /// 0: the process's priority).
    #[arg(long, allow_hyphen_values = true, value_parser = clap::value_parser!(i32).range(-20..=19))]
    pub media_nice: Option<i32>,
    /// Complexity of the Opus encoders of WebRTC legs, 0..10 (default 1):
    /// higher encodes a little better for several times the CPU.
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..=10))]
    pub opus_complexity: Option<i32>,
    /// JS worker threads (default: one per core).
    #[arg(long)]
    pub script_workers: Option<usize>,
    /// HTTP listener for recording URLs (default: a free loopback port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub http: SocketAddr,
    /// Base URL clients reach the HTTP listener at (e.g. a reverse proxy);
    /// recording URLs and accessURLs start with it (default http://HTTP-ADDRESS).
    #[arg(long)]
    pub public_url: Option<PublicUrl>,
    /// PEM certificate chain: the HTTP listener speaks HTTPS (and wss://
    /// for SIP over WebSocket). Needs --http-tls-key.
    #[arg(long, requires = "http_tls_key")]
    pub http_tls_cert: Option<PathBuf>,
    /// PEM private key of --http-tls-cert.
    #[arg(long, requires = "http_tls_cert")]
    pub http_tls_key: Option<PathBuf>,
    /// Where recordings and the download cache are kept.
    #[arg(long, default_value = "dialtone-data")]
    pub data_dir: PathBuf,
    /// Relative playback paths and file:// URLs must be inside this directory.
    #[arg(long)]
    pub media_dir: Option<PathBuf>,
    /// Default TTS engine for `say` and TTS players: espeak or http.
    #[arg(long, default_value = "espeak")]
    pub tts_engine: String,
    /// URL the http TTS engine POSTs `{text, voice, rate}` to.
    #[arg(long)]
    pub tts_url: Option<String>,
    /// Disk budget of the playback download cache, in MiB; least recently
    /// used downloads go first past it (0: keep none).
    #[arg(long, default_value_t = 256)]
    pub download_cache_mib: u64,
    /// Disk budget of the TTS cache, in MiB; least recently used speech
    /// goes first past it (0: keep none).
    #[arg(long, default_value_t = 256)]
    pub tts_cache_mib: u64,
    /// What scenarios may reach although the egress policy denies it: a
    /// network (10.0.0.0/8), an address, or ADDRESS:PORT (127.0.0.1:8090,
    /// [::1]:8090; the only way to reach Dialtone's own ports). Repeat it or
    /// separate with commas. Giving it replaces the default, loopback; `none`
    /// denies loopback too.
    #[arg(
        long = "egress-allow",
        value_name = "NET|ADDR[:PORT]",
        value_delimiter = ',',
        default_values = ["127.0.0.0/8", "::1"],
        value_parser = parse_allow_entry,
    )]
    pub egress_allow: Vec<AllowEntry>,
}

/// One `--egress-allow` value: an entry, or none for `none`.
#[derive(Debug, Clone)]
pub struct AllowEntry(Vec<dialtone_egress::Allow>);

fn parse_allow_entry(s: &str) -> Result<AllowEntry, String> {
    dialtone_egress::parse_allow_list(s).map(AllowEntry)
}

pub fn main(args: RunArgs) -> ExitCode {
    logging::init(args.log_format);
    let router = Arc::new(SingleScenario::new(
        args.scenario.clone(),
        args.custom_data.clone(),
    ));
    match router.load() {
        Ok(s) => {
            if let Err(e) = dialtone_script::check(&s) {
                // Keep running: every call gets 500 until the file is fixed.
                eprintln!("{e}");
            }
        }
        Err(e) => {
            eprintln!("dialtone: cannot read {}: {e}", args.scenario.display());
            return ExitCode::from(2);
        }
    }
    let mut cfg = EngineConfig::new(args.sip);
    cfg.rtp_ports = args.rtp_ports;
    cfg.rtp_relatch_after = args.rtp_relatch_after;
    cfg.advertise = args.advertise;
    cfg.idle_timeout = args.idle_timeout;
    if let Some(n) = args.max_sessions {
        cfg.max_sessions = (n > 0).then_some(n);
    }
    if let Some(n) = args.max_setups_per_second {
        cfg.max_setups_per_second = (n > 0).then_some(n);
    }
    if let Some(mib) = args.memory_budget_mib {
        cfg.memory_budget = (mib > 0).then_some(mib.saturating_mul(1024 * 1024));
    }
    cfg.rtp_timeout = args.rtp_timeout.max(Duration::from_millis(100));
    let nonzero = |d: Duration| (!d.is_zero()).then_some(d);
    cfg.limits = dialtone_calls::CallLimits {
        no_answer: nonzero(args.no_answer_timeout),
        rtp_hangup_after: nonzero(args.rtp_hangup_after),
        max_duration: nonzero(args.max_call_duration),
    };
    cfg.cpu_budget = args.cpu_budget;
    cfg.memory_limit = args.memory_limit_mib.max(1) * 1024 * 1024;
    if let Some(n) = args.opus_complexity {
        cfg.opus_complexity = n;
    }
    if let Some(n) = args.media_nice {
        cfg.media_nice = (n != 0).then_some(n);
    }
    if let Some(n) = args.media_workers {
        cfg.media_workers = n.max(1);
    }
    if let Some(n) = args.script_workers {
        cfg.script_workers = n.max(1);
    }
    cfg.http = args.http;
    cfg.public_url = args.public_url.clone();
    if let (Some(cert), Some(key)) = (&args.http_tls_cert, &args.http_tls_key) {
        cfg.http_tls = Some(crate::http_tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    cfg.data_dir = args.data_dir.clone();
    cfg.media_dir = args.media_dir.clone();
    cfg.tts_engine = args.tts_engine.clone();
    cfg.tts_url = args.tts_url.clone();
    cfg.download_cache_bytes = args.download_cache_mib.saturating_mul(1024 * 1024);
    cfg.tts_cache_bytes = args.tts_cache_mib.saturating_mul(1024 * 1024);
    cfg.egress_allow = args
        .egress_allow
        .iter()
        .flat_map(|entry| entry.0.iter().copied())
        .collect();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dialtone: cannot start runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async move {
        let stop = crate::stop_signal::StopSignal::install();
        let rtp = cfg.rtp_ports.0.clone();
        let engine = match Engine::start(cfg, router).await {
            Ok(e) => e,
            Err(e) => {
                eprintln!("dialtone: {e}");
                return ExitCode::from(1);
            }
        };
        println!(
            "dialtone: listening sip={} (udp+tcp) http={} rtp={}-{} scenario={}",
            engine.sip_addr,
            engine.http_addr,
            rtp.start(),
            rtp.end(),
            args.scenario.display()
        );
        stop.wait().await;
        engine.shutdown(Duration::from_secs(2)).await;
        let a = engine.audio.stats();
        let m = engine.media.stats();
        eprintln!(
            "dialtone: stopped; audio decodes={} downloads={} revalidated={} memory_hits={} syntheses={}; \
             rtp packets_in={} packets_out={} lost={} recorder_frames_dropped={}",
            a.decodes, a.downloads, a.revalidated, a.memory_hits, a.syntheses,
            m.packets_in, m.packets_out, m.packets_lost, m.recorder_frames_dropped
        );
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn allowed(args: &[&str]) -> Result<Vec<String>, String> {
        let argv = ["dialtone", "x.js"].iter().chain(args);
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        Ok(cli
            .run
            .egress_allow
            .iter()
            .flat_map(|e| e.0.iter().map(ToString::to_string))
            .collect())
    }

    #[test]
    fn egress_allow_defaults_to_loopback_and_a_flag_replaces_it() {
        assert_eq!(allowed(&[]).unwrap(), ["127.0.0.0/8", "::1/128"]);
        assert_eq!(
            allowed(&["--egress-allow", "10.0.0.0/8,127.0.0.1:8090"]).unwrap(),
            ["10.0.0.0/8", "127.0.0.1:8090"]
        );
        assert_eq!(
            allowed(&["--egress-allow", "10.0.0.0/8", "--egress-allow", "::1"]).unwrap(),
            ["10.0.0.0/8", "::1/128"]
        );
        assert!(allowed(&["--egress-allow", "none"]).unwrap().is_empty());
        let err = allowed(&["--egress-allow", "metadata.internal"]).unwrap_err();
        assert!(
            err.contains("--egress-allow") && err.contains("host names are not accepted"),
            "{err}"
        );
    }
}
