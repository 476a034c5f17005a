//! `dialtone serve` configuration: one typed value built from a TOML file,
//! then `DIALTONE_*` environment variables, then command-line flags (each
//! later source wins). Every setting is validated before anything starts and
//! a bad one is reported with where it came from.

use crate::config::{parse_duration, EngineConfig, PortRange, PublicUrl};
use crate::logging::LogFormat;
use clap::ValueEnum;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every key a config file may hold; the environment variable of a key is
/// `DIALTONE_` followed by the key in upper case.
pub const KEYS: &[&str] = &[
    "sip",
    "http",
    "data_dir",
    "database",
    "rtp_ports",
    "rtp_relatch_after",
    "advertise",
    "public_url",
    "log_format",
    "shutdown_timeout",
    "idle_timeout",
    "cpu_budget",
    "memory_limit_mib",
    "max_sessions",
    "rtp_timeout",
    "no_answer_timeout",
    "rtp_hangup_after",
    "max_call_duration",
    "media_workers",
    "script_workers",
    "media_dir",
    "tts_engine",
    "tts_url",
    "reserved_domains",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: unknown setting {key:?} (known: {known})")]
    UnknownKey {
        path: PathBuf,
        key: String,
        known: String,
    },
    #[error("config file {path}: {key} must be a string, integer or boolean")]
    BadType { path: PathBuf, key: String },
    #[error("invalid {key} {value:?} (from {origin}): {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        origin: String,
        reason: String,
    },
}

/// Where a setting's value came from, for error messages.
#[derive(Debug, Clone)]
enum Origin {
    File(PathBuf),
    Env(String),
    Flag(&'static str),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File(p) => write!(f, "config file {}", p.display()),
            Origin::Env(v) => write!(f, "environment variable {v}"),
            Origin::Flag(name) => write!(f, "flag --{name}"),
        }
    }
}

/// Values given on the command line, by config key.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub flags: Vec<(&'static str, String)>,
}

/// The validated configuration of `dialtone serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub engine: EngineConfig,
    pub database: String,
    pub log_format: LogFormat,
    /// How long live sessions may run on after SIGTERM.
    pub shutdown_timeout: Duration,
    /// DNS names the server itself is addressed by: no account may claim
    /// them as a SIP domain (normalized: lower case, no trailing dot).
    pub reserved_domains: Vec<String>,
}

struct Settings {
    values: BTreeMap<&'static str, (String, Origin)>,
}

impl Settings {
    fn get(&self, key: &'static str) -> Option<&(String, Origin)> {
        self.values.get(key)
    }

    /// Parse `key` with `parse`, or return `None` when it is not set.
    fn parse<T>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        let Some((value, origin)) = self.get(key) else {
            return Ok(None);
        };
        parse(value)
            .map(Some)
            .map_err(|reason| ConfigError::Invalid {
                key,
                value: value.clone(),
                origin: origin.to_string(),
                reason,
            })
    }
}

fn known_key(key: &str) -> Option<&'static str> {
    KEYS.iter().copied().find(|k| *k == key)
}

fn read_file(path: &Path, settings: &mut Settings) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: path.to_owned(),
            message: e.message().to_owned(),
        })?;
    for (key, value) in table {
        let Some(known) = known_key(&key) else {
            return Err(ConfigError::UnknownKey {
                path: path.to_owned(),
                key,
                known: KEYS.join(", "),
            });
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => {
                return Err(ConfigError::BadType {
                    path: path.to_owned(),
                    key,
                })
            }
        };
        settings
            .values
            .insert(known, (text, Origin::File(path.to_owned())));
    }
    Ok(())
}

fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| "expected an address like 127.0.0.1:5060".to_owned())
}

fn parse_count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a whole number greater than 0".to_owned()),
    }
}

/// A comma-separated list of domain names, each as a domain claim would be.
fn parse_domains(s: &str) -> Result<Vec<String>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            dialtone_routing::normalize_claim(dialtone_routing::ClaimKind::Domain, d)
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn parse_database(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.starts_with("sqlite:") || s.starts_with("postgres://") || s.starts_with("postgresql://") {
        Ok(s.to_owned())
    } else {
        Err("expected sqlite://PATH or postgres://…".to_owned())
    }
}

impl ServeConfig {
    /// Build the configuration from the file (`--config` or
    /// `DIALTONE_CONFIG`), the environment (`env` yields `(name, value)`
    /// pairs) and the flags.
    pub fn load(
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ServeConfig, ConfigError> {
        let mut settings = Settings {
            values: BTreeMap::new(),
        };
        let file = overrides
            .config
            .clone()
            .or_else(|| env("DIALTONE_CONFIG").map(PathBuf::from));
        if let Some(path) = &file {
            read_file(path, &mut settings)?;
        }
        for key in KEYS {
            let var = format!("DIALTONE_{}", key.to_ascii_uppercase());
            if let Some(value) = env(&var) {
                settings.values.insert(key, (value, Origin::Env(var)));
            }
        }
        for (key, value) in &overrides.flags {
            if let Some(known) = known_key(key) {
                let flag = match known {
                    "data_dir" => "data-dir",
                    "rtp_ports" => "rtp-ports",
                    "rtp_relatch_after" => "rtp-relatch-after",
                    "log_format" => "log-format",
                    "shutdown_timeout" => "shutdown-timeout",
                    "public_url" => "public-url",
                    other => other,
                };
                settings
                    .values
                    .insert(known, (value.clone(), Origin::Flag(flag)));
            }
        }
        ServeConfig::from_settings(&settings)
    }

    fn from_settings(s: &Settings) -> Result<ServeConfig, ConfigError> {
        let sip = s
            .parse("sip", parse_addr)?
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 5060)));
        let mut engine = EngineConfig::new(sip);
        // Recordings belong to accounts: only `/v1/recordings/{id}` serves them.
        engine.public_recordings = false;
        engine.http = s
            .parse("http", parse_addr)?
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
        engine.public_url = s.parse("public_url", |v| v.parse::<PublicUrl>())?;
        if let Some(dir) = s.parse("data_dir", |v| {
            if v.trim().is_empty() {
                Err("must not be empty".to_owned())
            } else {
                Ok(PathBuf::from(v))
            }
        })? {
            engine.data_dir = dir;
        }
        if let Some(range) = s.parse("rtp_ports", |v| v.parse::<PortRange>())? {
            engine.rtp_ports = range;
        }
        if let Some(d) = s.parse("rtp_relatch_after", parse_duration)? {
            engine.rtp_relatch_after = d;
        }
        engine.advertise = s.parse("advertise", |v| match v.parse::<std::net::IpAddr>() {
            Ok(ip) if ip.is_unspecified() => {
                Err("must be an address peers can reach, not a wildcard".to_owned())
            }
            Ok(ip) => Ok(ip),
            Err(_) => Err("expected an IP address".to_owned()),
        })?;
        if let Some(d) = s.parse("idle_timeout", parse_duration)? {
            engine.idle_timeout = d;
        }
        if let Some(d) = s.parse("cpu_budget", parse_duration)? {
            engine.cpu_budget = d;
        }
        if let Some(n) = s.parse("max_sessions", parse_count)? {
            engine.max_sessions = Some(n);
        }
        if let Some(d) = s.parse("rtp_timeout", parse_duration)? {
            engine.rtp_timeout = d.max(Duration::from_millis(100));
        }
        // 0 turns a limit off.
        let limit = |d: Duration| (!d.is_zero()).then_some(d);
        if let Some(d) = s.parse("no_answer_timeout", parse_duration)? {
            engine.limits.no_answer = limit(d);
        }
        if let Some(d) = s.parse("rtp_hangup_after", parse_duration)? {
            engine.limits.rtp_hangup_after = limit(d);
        }
        if let Some(d) = s.parse("max_call_duration", parse_duration)? {
            engine.limits.max_duration = limit(d);
        }
        if let Some(mib) = s.parse("memory_limit_mib", parse_count)? {
            engine.memory_limit = mib.saturating_mul(1024 * 1024);
        }
        if let Some(n) = s.parse("media_workers", parse_count)? {
            engine.media_workers = n;
        }
        if let Some(n) = s.parse("script_workers", parse_count)? {
            engine.script_workers = n;
        }
        engine.media_dir = s.parse("media_dir", |v| Ok(PathBuf::from(v)))?;
        if let Some(tts) = s.parse("tts_engine", |v| match v {
            "espeak" | "http" => Ok(v.to_owned()),
            _ => Err("expected espeak or http".to_owned()),
        })? {
            engine.tts_engine = tts;
        }
        engine.tts_url = s.parse("tts_url", |v| Ok(v.to_owned()))?;
        let database = match s.parse("database", parse_database)? {
            Some(url) => url,
            None => format!(
                "sqlite://{}?mode=rwc",
                engine.data_dir.join("dialtone.db").display()
            ),
        };
        let log_format = s
            .parse("log_format", |v| {
                LogFormat::from_str(v, true).map_err(|_| "expected text or json".to_owned())
            })?
            .unwrap_or(LogFormat::Text);
        let shutdown_timeout = s
            .parse("shutdown_timeout", parse_duration)?
            .unwrap_or(Duration::from_secs(30));
        let reserved_domains = s
            .parse("reserved_domains", parse_domains)?
            .unwrap_or_default();
        Ok(ServeConfig {
            engine,
            database,
            log_format,
            shutdown_timeout,
            reserved_domains,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_put_the_database_in_the_data_dir() {
        let overrides = Overrides {
            config: None,
            flags: vec![("data_dir", "/tmp/dt".into())],
        };
        let cfg = ServeConfig::load(&overrides, no_env).unwrap();
        assert_eq!(cfg.database, "sqlite:///tmp/dt/dialtone.db?mode=rwc");
        assert_eq!(cfg.engine.sip.port(), 5060);
    }

    #[test]
    fn flags_beat_env_and_env_beats_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(
            &path,
            "sip = \"127.0.0.1:7000\"\nhttp = \"127.0.0.1:7001\"\n",
        )
        .unwrap();
        let overrides = Overrides {
            config: Some(path),
            flags: vec![("sip", "127.0.0.1:9000".into())],
        };
        let env = |k: &str| (k == "DIALTONE_HTTP").then(|| "127.0.0.1:8001".to_owned());
        let cfg = ServeConfig::load(&overrides, env).unwrap();
        assert_eq!(cfg.engine.sip.port(), 9000);
        assert_eq!(cfg.engine.http.port(), 8001);
    }

    #[test]
    fn advertise_takes_a_reachable_ip_only() {
        let flags = |v: &str| Overrides {
            config: None,
            flags: vec![("sip", "0.0.0.0:5060".into()), ("advertise", v.into())],
        };
        let cfg = ServeConfig::load(&flags("192.0.2.10"), no_env).unwrap();
        assert_eq!(cfg.engine.advertise, Some([192, 0, 2, 10].into()));
        for bad in ["0.0.0.0", "example.com", ""] {
            let err = ServeConfig::load(&flags(bad), no_env)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("advertise") && err.contains("--advertise"),
                "{err}"
            );
        }
        let cfg = ServeConfig::load(&Overrides::default(), no_env).unwrap();
        assert_eq!(cfg.engine.advertise, None);
    }

    #[test]
    fn public_url_from_file_env_or_flag() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(&path, "public_url = \"https://calls.example.com/dt/\"\n").unwrap();
        let from_file = Overrides {
            config: Some(path),
            flags: vec![],
        };
        let cfg = ServeConfig::load(&from_file, no_env).unwrap();
        assert_eq!(
            cfg.engine.public_url.map(|u| u.to_string()).as_deref(),
            Some("https://calls.example.com/dt"),
            "trailing slash trimmed"
        );
        let env = |k: &str| (k == "DIALTONE_PUBLIC_URL").then(|| "http://10.0.0.5:80/".to_owned());
        let cfg = ServeConfig::load(&Overrides::default(), env).unwrap();
        assert_eq!(
            cfg.engine.public_url.map(|u| u.to_string()).as_deref(),
            Some("http://10.0.0.5")
        );
        let cfg = ServeConfig::load(&Overrides::default(), no_env).unwrap();
        assert_eq!(cfg.engine.public_url, None);

        for bad in [
            "calls.example.com",
            "ftp://x.example",
            "https://x.example/?a=1",
        ] {
            let flag = Overrides {
                config: None,
                flags: vec![("public_url", bad.into())],
            };
            let err = ServeConfig::load(&flag, no_env).unwrap_err().to_string();
            assert!(
                err.contains("public_url") && err.contains("--public-url"),
                "{err}"
            );
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        let env = |k: &str| (k == "DIALTONE_PUBLIC_URL").then(|| "https://x/#f".to_owned());
        let err = ServeConfig::load(&Overrides::default(), env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("DIALTONE_PUBLIC_URL"), "{err}");
    }

    #[test]
    fn rtp_relatch_after_from_file_env_or_flag() {
        let cfg = ServeConfig::load(&Overrides::default(), no_env).unwrap();
        assert_eq!(
            cfg.engine.rtp_relatch_after,
            dialtone_media::DEFAULT_RELATCH_AFTER
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(&path, "rtp_relatch_after = \"5s\"\n").unwrap();
        let from_file = Overrides {
            config: Some(path),
            flags: vec![],
        };
        let cfg = ServeConfig::load(&from_file, no_env).unwrap();
        assert_eq!(cfg.engine.rtp_relatch_after, Duration::from_secs(5));
        let env = |k: &str| (k == "DIALTONE_RTP_RELATCH_AFTER").then(|| "500ms".to_owned());
        let cfg = ServeConfig::load(&from_file, env).unwrap();
        assert_eq!(cfg.engine.rtp_relatch_after, Duration::from_millis(500));
        let flag = Overrides {
            config: None,
            flags: vec![("rtp_relatch_after", "0".into())],
        };
        let cfg = ServeConfig::load(&flag, env).unwrap();
        assert_eq!(cfg.engine.rtp_relatch_after, Duration::ZERO);
        let bad = Overrides {
            config: None,
            flags: vec![("rtp_relatch_after", "soon".into())],
        };
        let err = ServeConfig::load(&bad, no_env).unwrap_err().to_string();
        assert!(
            err.contains("rtp_relatch_after") && err.contains("--rtp-relatch-after"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_name_key_and_origin() {
        let env = |k: &str| (k == "DIALTONE_RTP_PORTS").then(|| "9-3".to_owned());
        let err = ServeConfig::load(&Overrides::default(), env).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("rtp_ports") && text.contains("DIALTONE_RTP_PORTS"),
            "{text}"
        );
    }

    #[test]
    fn reserved_domains_are_a_list_of_dns_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(
            &path,
            "reserved_domains = \"SIP.Example.net., sip2.example.net\"\n",
        )
        .unwrap();
        let from_file = Overrides {
            config: Some(path),
            flags: vec![],
        };
        let cfg = ServeConfig::load(&from_file, no_env).unwrap();
        assert_eq!(
            cfg.reserved_domains,
            ["sip.example.net", "sip2.example.net"]
        );
        let cfg = ServeConfig::load(&Overrides::default(), no_env).unwrap();
        assert!(cfg.reserved_domains.is_empty());
        let env =
            |k: &str| (k == "DIALTONE_RESERVED_DOMAINS").then(|| "ok.example, 10.0.0.1".to_owned());
        let err = ServeConfig::load(&Overrides::default(), env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("reserved_domains") && err.contains("DIALTONE_RESERVED_DOMAINS"),
            "{err}"
        );
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(&path, "sipp = \"x\"\n").unwrap();
        let overrides = Overrides {
            config: Some(path),
            flags: vec![],
        };
        let err = ServeConfig::load(&overrides, no_env).unwrap_err();
        assert!(
            err.to_string().contains("unknown setting \"sipp\""),
            "{err}"
        );
    }
}
