//! One typed engine configuration, validated before anything starts.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// The media worker threads' default nice value: ahead of signalling and
/// scripts, as FreeSWITCH runs its media (a late tick is heard; a set-up a
/// few milliseconds late is not).
pub const DEFAULT_MEDIA_NICE: i32 = -10;
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// SIP listens on UDP and TCP at this address.
    pub sip: SocketAddr,
    /// The address peers reach us at, put in Contact, Via and SDP. `None`:
    /// the SIP bind address (loopback when that is a wildcard). Needed when
    /// binding `0.0.0.0` or behind a NAT that maps ports one to one.
    pub advertise: Option<std::net::IpAddr>,
    /// RTP ports (even ports are used, each call takes one).
    pub rtp_ports: PortRange,
    pub media_workers: usize,
    pub script_workers: usize,
    /// QuickJS heap limit per session.
    pub memory_limit: usize,
    /// CPU time one JS callback may take before the session is stopped.
    pub cpu_budget: Duration,
    /// A session with no calls ends after this long.
    pub idle_timeout: Duration,
    /// Live sessions at most; past it new INVITEs and REST sessions get 503.
    /// `None`: no limit.
    pub max_sessions: Option<usize>,
    /// Past 90 % of this resident memory (bytes) new sessions get 503 until
    /// it is back under 85 %. `None`: memory is not watched.
    pub memory_budget: Option<u64>,
    /// New sessions (INVITEs and REST) per second at most; past it they get
    /// 503 with `Retry-After: 1` (`dialtone_calls::setup_rate`). Default:
    /// 1,000 per core. `None`: no limit.
    pub max_setups_per_second: Option<u32>,
    /// No RTP for this long raises `CallEvents.RtpStopped`.
    pub rtp_timeout: Duration,
    /// A call's latched RTP source must be silent this long before another
    /// source (one steady stream) may take over; until then packets from
    /// other sources are dropped and counted.
    pub rtp_relatch_after: Duration,
    /// The registrar challenges with SHA-256 before MD5 (RFC 8760 order);
    /// off by default, as some phones take only the first challenge.
    pub digest_sha256_first: bool,
    /// The nice value the media worker threads ask for
    /// (`dialtone_media::priority`), [`DEFAULT_MEDIA_NICE`] by default.
    /// `None` (`0` in options): the process's.
    pub media_nice: Option<i32>,
    /// Complexity of WebRTC legs' Opus encoders (0–10).
    pub opus_complexity: i32,
    /// How long calls may go on in each way they can get stuck: no answer,
    /// no RTP, too long.
    pub limits: dialtone_calls::CallLimits,
    /// HTTP listener (recordings); port 0 picks a free one.
    pub http: SocketAddr,
    /// Where clients reach the HTTP listener (a reverse proxy, a public
    /// name); accessURLs and recording URLs start with it. `None`:
    /// `http://` and the bound address.
    pub public_url: Option<PublicUrl>,
    /// HTTPS on the HTTP listener (and `wss://` for SIP over WebSocket):
    /// its certificate chain and key. `None`: plain HTTP.
    pub http_tls: Option<crate::http_tls::TlsFiles>,
    /// Recordings and the download cache live here.
    pub data_dir: PathBuf,
    /// Relative playback paths and `file://` URLs must be inside it.
    pub media_dir: Option<PathBuf>,
    /// Default TTS engine: `espeak` or `http`.
    pub tts_engine: String,
    /// Where the `http` TTS engine POSTs `{text, voice, rate}`.
    pub tts_url: Option<String>,
    /// Networks and `address:port`s scenarios may reach although the egress
    /// policy denies them (loopback, private, link-local, …; Dialtone's own
    /// listeners only by exact `address:port`). Empty in `dialtone serve`
    /// unless configured; loopback in `dialtone run`.
    pub egress_allow: Vec<dialtone_egress::Allow>,
    /// Budget of the download cache on disk (`DATA-DIR/cache/http`), bytes.
    pub download_cache_bytes: u64,
    /// Budget of the TTS cache on disk (`DATA-DIR/cache/tts`), bytes.
    pub tts_cache_bytes: u64,
    /// Recording bytes per account and their quota (`dialtone serve`);
    /// `None`: recordings are not counted (sessions of no account).
    pub recording_usage: Option<std::sync::Arc<crate::recording_usage::RecordingUsage>>,
    /// Serve recordings to anyone with the URL under `/recordings/` (`dialtone
    /// run`). Off in `dialtone serve`, where recording URLs point at the
    /// owner-only `/v1/recordings/{id}`.
    pub public_recordings: bool,
}

impl EngineConfig {
    pub fn new(sip: SocketAddr) -> EngineConfig {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        EngineConfig {
            sip,
            advertise: None,
            rtp_ports: PortRange(20000..=39999),
            media_workers: cores.clamp(1, 8),
            script_workers: cores.clamp(1, 16),
            memory_limit: 16 * 1024 * 1024,
            cpu_budget: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(60),
            max_sessions: Some(crate::memory::default_session_limit(
                crate::memory::available_bytes(),
            )),
            memory_budget: crate::overload::default_memory_budget(),
            max_setups_per_second: Some(default_setup_rate()),
            rtp_timeout: Duration::from_secs(10),
            rtp_relatch_after: dialtone_media::DEFAULT_RELATCH_AFTER,
            digest_sha256_first: false,
            media_nice: Some(DEFAULT_MEDIA_NICE),
            opus_complexity: dialtone_media::webrtc::DEFAULT_OPUS_COMPLEXITY,
            limits: dialtone_calls::CallLimits::default(),
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            http_tls: None,
            data_dir: PathBuf::from("dialtone-data"),
            media_dir: None,
            tts_engine: "espeak".into(),
            tts_url: None,
            egress_allow: Vec::new(),
            download_cache_bytes: dialtone_audio::DEFAULT_DISK_CACHE_BYTES,
            tts_cache_bytes: dialtone_audio::DEFAULT_DISK_CACHE_BYTES,
            recording_usage: None,
            public_recordings: true,
        }
    }
}

impl EngineConfig {
    /// The base of the URLs handed to scripts and clients (accessURLs,
    /// recording URLs): the public URL when set, else the HTTP listener's
    /// bound address. No trailing slash.
    pub fn public_base(&self, http_addr: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.as_str().to_owned(),
            None if self.http_tls.is_some() => format!("https://{http_addr}"),
            None => format!("http://{http_addr}"),
        }
    }
}

/// An absolute `http` or `https` URL with a host and no user, query or
/// fragment, kept without its trailing slash so paths append to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PublicUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let url = reqwest::Url::parse(s.trim()).map_err(|e| {
            format!("expected an absolute http(s) URL like https://calls.example.com ({e})")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "the scheme must be http or https, not {:?}",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("the URL needs a host".to_owned());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the URL must not carry a user name or password".to_owned());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("the URL must not have a query (?…) or fragment (#…)".to_owned());
        }
        Ok(PublicUrl(url.as_str().trim_end_matches('/').to_owned()))
    }
}

/// `LO-HI`, inclusive, at least two ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRange(pub RangeInclusive<u16>);

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (lo, hi) = s
            .split_once('-')
            .ok_or_else(|| format!("expected LO-HI, got {s:?}"))?;
        let lo: u16 = lo.trim().parse().map_err(|_| format!("bad port {lo:?}"))?;
        let hi: u16 = hi.trim().parse().map_err(|_| format!("bad port {hi:?}"))?;
        if lo == 0 || hi <= lo {
            return Err(format!("port range {s:?} must be LO-HI with 0 < LO < HI"));
        }
        Ok(PortRange(lo..=hi))
    }
}

/// Parses durations like `60s`, `500ms`, `2m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let v: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit {
        "ms" => v / 1000.0,
        "s" => v,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        _ => return Err(format!("bad duration unit in {s:?} (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("bad duration {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// [`EngineConfig::max_setups_per_second`] by default: 1,000 per core.
pub fn default_setup_rate() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    u32::try_from(cores)
        .unwrap_or(u32::MAX)
        .saturating_mul(dialtone_calls::setup_rate::DEFAULT_SETUPS_PER_SECOND_PER_CORE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_range_parses_and_rejects() {
        assert_eq!("10000-10010".parse::<PortRange>().unwrap().0, 10000..=10010);
        assert!("10010-10000".parse::<PortRange>().is_err());
        assert!("abc".parse::<PortRange>().is_err());
        assert!("0-10".parse::<PortRange>().is_err());
    }

    #[test]
    fn public_url_is_an_absolute_http_url_without_trailing_slash() {
        let ok = |s: &str| s.parse::<PublicUrl>().map(|u| u.to_string());
        assert_eq!(
            ok("https://calls.example.com").as_deref(),
            Ok("https://calls.example.com")
        );
        assert_eq!(
            ok("https://calls.example.com/").as_deref(),
            Ok("https://calls.example.com")
        );
        assert_eq!(
            ok(" http://192.0.2.10:8080/dialtone// ").as_deref(),
            Ok("http://192.0.2.10:8080/dialtone")
        );
        assert_eq!(
            ok("HTTP://[::1]:80/x/").as_deref(),
            Ok("http://[::1]/x"),
            "normalised: scheme and default port"
        );
        for bad in [
            "",
            "calls.example.com",
            "/dialtone",
            "ftp://calls.example.com",
            "mailto:ops@example.com",
            "http://",
            "https://user:secret@calls.example.com",
            "https://calls.example.com/?a=1",
            "https://calls.example.com/?",
            "https://calls.example.com/#top",
        ] {
            assert!(bad.parse::<PublicUrl>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn public_base_prefers_the_public_url() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 8080));
        let mut cfg = EngineConfig::new(SocketAddr::from(([127, 0, 0, 1], 5060)));
        assert_eq!(cfg.public_base(addr), "http://127.0.0.1:8080");
        cfg.public_url = Some("https://calls.example.com/dt/".parse().unwrap());
        assert_eq!(cfg.public_base(addr), "https://calls.example.com/dt");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("4h").unwrap(), Duration::from_secs(4 * 3600));
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("-1").is_err());
    }
}
