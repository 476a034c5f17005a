//! `dialtone serve` configuration: one typed value built from a TOML file,
//! then `DIALTONE_*` environment variables, then command-line flags (each
//! later source wins). Every setting is validated before anything starts and
//! a bad one is reported with where it came from.

use crate::config::{parse_duration, EngineConfig, PortRange, PublicUrl};
use crate::logging::LogFormat;
use clap::ValueEnum;
use dialtone_store::DatabaseUrl;
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
    "http_tls_cert",
    "http_tls_key",
    "log_format",
    "shutdown_timeout",
    "idle_timeout",
    "cpu_budget",
    "memory_limit_mib",
    "max_sessions",
    "memory_budget_mib",
    "max_setups_per_second",
    "rtp_timeout",
    "no_answer_timeout",
    "rtp_hangup_after",
    "max_call_duration",
    "media_workers",
    "media_nice",
    "opus_complexity",
    "script_workers",
    "media_dir",
    "tts_engine",
    "tts_url",
    "reserved_domains",
    "digest_sha256_first",
    "egress_allow",
    "download_cache_mib",
    "tts_cache_mib",
    "quota_rules",
    "quota_scenarios",
    "quota_scenario_versions",
    "quota_recording_mib",
];

/// Keys whose value is a list: a config file may give them as an array of
/// strings as well as one comma-separated string.
const LIST_KEYS: &[&str] = &["reserved_domains", "egress_allow"];

/// Keys whose values hold a secret (a database URL's password): wherever a
/// value is shown (errors, `Debug`), it is shown redacted.
const SECRET_KEYS: &[&str] = &["database"];

/// `value` of `key` as it may be shown.
fn shown_value(key: &str, value: &str) -> String {
    if SECRET_KEYS.contains(&key) {
        dialtone_store::redact_url(value)
    } else {
        value.to_owned()
    }
}

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
    #[error("config file {path}: {key} must be a string, integer or boolean{list}")]
    BadType {
        path: PathBuf,
        key: String,
        /// ", or an array of strings" for a list key.
        list: &'static str,
    },
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

/// Values given on the command line, by config key. `Debug` shows secret
/// values redacted.
#[derive(Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub flags: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flags: Vec<(&str, String)> = self
            .flags
            .iter()
            .map(|(k, v)| (*k, shown_value(k, v)))
            .collect();
        f.debug_struct("Overrides")
            .field("config", &self.config)
            .field("flags", &flags)
            .finish()
    }
}

/// The validated configuration of `dialtone serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub engine: EngineConfig,
    /// Shown with its password replaced by `***`, in `Debug` too.
    pub database: DatabaseUrl,
    pub log_format: LogFormat,
    /// How long live sessions may run on after SIGTERM.
    pub shutdown_timeout: Duration,
    /// DNS names the server itself is addressed by: no account may claim
    /// them as a SIP domain (normalized: lower case, no trailing dot).
    pub reserved_domains: Vec<String>,
    /// Per-account limits the store enforces (rules, scenarios, versions).
    pub quotas: dialtone_store::Quotas,
    /// Bytes of recordings an account may keep; `None`: no limit.
    pub recording_quota: Option<u64>,
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
                value: shown_value(key, value),
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
        let is_list = LIST_KEYS.contains(&known);
        let bad_type = || ConfigError::BadType {
            path: path.to_owned(),
            key: key.clone(),
            list: if is_list {
                ", or an array of strings"
            } else {
                ""
            },
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) if is_list => items
                .into_iter()
                .map(|item| match item {
                    toml::Value::String(s) => Ok(s),
                    _ => Err(bad_type()),
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            _ => return Err(bad_type()),
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

/// A whole number, 0 included.
fn parse_amount(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| "expected a whole number (0 or more)".to_owned())
}

/// A quota: a whole number, 0 for no limit.
fn parse_quota(s: &str) -> Result<Option<u64>, String> {
    parse_amount(s)
        .map(|n| (n > 0).then_some(n))
        .map_err(|_| "expected a whole number (0: no limit)".to_owned())
}

const MIB: u64 = 1024 * 1024;

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

fn parse_database(s: &str) -> Result<DatabaseUrl, String> {
    let s = s.trim();
    if s.starts_with("sqlite:") || s.starts_with("postgres://") || s.starts_with("postgresql://") {
        Ok(DatabaseUrl::new(s))
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
                    "http_tls_cert" => "http-tls-cert",
                    "http_tls_key" => "http-tls-key",
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
        let path = |v: &str| {
            if v.trim().is_empty() {
                Err("must not be empty".to_owned())
            } else {
                Ok(PathBuf::from(v))
            }
        };
        engine.http_tls = match (
            s.parse("http_tls_cert", path)?,
            s.parse("http_tls_key", path)?,
        ) {
            (Some(cert), Some(key)) => Some(crate::http_tls::TlsFiles { cert, key }),
            (None, None) => None,
            (cert, _) => {
                let (key, given) = match cert {
                    Some(c) => ("http_tls_cert", c.display().to_string()),
                    None => ("http_tls_key", String::new()),
                };
                return Err(ConfigError::Invalid {
                    key,
                    value: given,
                    origin: "the settings".into(),
                    reason: "http_tls_cert and http_tls_key go together".into(),
                });
            }
        };
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
        if let Some(first) = s.parse("digest_sha256_first", |v| match v.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("expected true or false".to_owned()),
        })? {
            engine.digest_sha256_first = first;
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
        // 0: no limit.
        if let Some(n) = s.parse("max_setups_per_second", |v| {
            v.trim().parse::<u32>().map_err(|_| {
                "expected a whole number of sessions per second (0: no limit)".to_owned()
            })
        })? {
            engine.max_setups_per_second = (n > 0).then_some(n);
        }
        // 0: memory is not watched.
        if let Some(mib) = s.parse("memory_budget_mib", |v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| "expected a whole number of MiB (0: not watched)".to_owned())
        })? {
            engine.memory_budget = (mib > 0).then_some(mib.saturating_mul(1024 * 1024));
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
        if let Some(n) = s.parse("media_nice", |v| {
            v.trim()
                .parse::<i32>()
                .ok()
                .filter(|n| (-20..=19).contains(n))
                .ok_or_else(|| "expected a nice value, -20 to 19 (0: the process's)".to_owned())
        })? {
            engine.media_nice = (n != 0).then_some(n);
        }
        if let Some(n) = s.parse("opus_complexity", |v| {
            v.trim()
                .parse::<i32>()
                .ok()
                .filter(|n| (0..=10).contains(n))
                .ok_or_else(|| "expected an Opus complexity, 0 to 10".to_owned())
        })? {
            engine.opus_complexity = n;
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
            None => DatabaseUrl::new(format!(
                "sqlite://{}?mode=rwc",
                engine.data_dir.join("dialtone.db").display()
            )),
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
        if let Some(mib) = s.parse("download_cache_mib", parse_amount)? {
            engine.download_cache_bytes = mib.saturating_mul(MIB);
        }
        if let Some(mib) = s.parse("tts_cache_mib", parse_amount)? {
            engine.tts_cache_bytes = mib.saturating_mul(MIB);
        }
        let mut quotas = dialtone_store::Quotas::default();
        if let Some(q) = s.parse("quota_rules", parse_quota)? {
            quotas.rules = q;
        }
        if let Some(q) = s.parse("quota_scenarios", parse_quota)? {
            quotas.scenarios = q;
        }
        if let Some(q) = s.parse("quota_scenario_versions", parse_quota)? {
            quotas.scenario_versions = q;
        }
        let recording_quota = s
            .parse("quota_recording_mib", parse_quota)?
            .unwrap_or(Some(crate::recording_usage::DEFAULT_RECORDING_QUOTA / MIB))
            .map(|mib| mib.saturating_mul(MIB));
        // Nothing beyond the Internet unless the operator says so.
        engine.egress_allow = s
            .parse("egress_allow", dialtone_egress::parse_allow_list)?
            .unwrap_or_default();
        Ok(ServeConfig {
            engine,
            database,
            log_format,
            shutdown_timeout,
            reserved_domains,
            quotas,
            recording_quota,
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
        assert_eq!(
            cfg.database.expose(),
            "sqlite:///tmp/dt/dialtone.db?mode=rwc"
        );
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
    fn digest_sha256_first_from_file_or_env() {
        let cfg = ServeConfig::load(&Overrides::default(), no_env).unwrap();
        assert!(!cfg.engine.digest_sha256_first);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(&path, "digest_sha256_first = true\n").unwrap();
        let from_file = Overrides {
            config: Some(path),
            flags: vec![],
        };
        assert!(
            ServeConfig::load(&from_file, no_env)
                .unwrap()
                .engine
                .digest_sha256_first
        );
        let env = |k: &str| (k == "DIALTONE_DIGEST_SHA256_FIRST").then(|| "yes".to_owned());
        let err = ServeConfig::load(&from_file, env).unwrap_err().to_string();
        assert!(err.contains("digest_sha256_first"), "{err}");
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
    fn the_database_password_never_shows() {
        const PASSWORD: &str = "Zq8rT4v1-db";
        let url = format!("postgres://dialtone:{PASSWORD}@db.example.com:5432/dialtone");
        let flags = Overrides {
            config: None,
            flags: vec![("database", url.clone())],
        };
        let cfg = ServeConfig::load(&flags, no_env).unwrap();
        assert_eq!(cfg.database.expose(), url);
        for shown in [
            format!("{cfg:?}"),
            format!("{flags:?}"),
            cfg.database.to_string(),
        ] {
            assert!(!shown.contains(PASSWORD), "{shown}");
            assert!(
                shown.contains("postgres://dialtone:***@db.example.com:5432/dialtone"),
                "{shown}"
            );
        }
        // A bad URL is named in the error, without its password.
        let bad = format!("postgress://dialtone:{PASSWORD}@db/dialtone");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(&path, format!("database = \"{bad}\"\n")).unwrap();
        let from_file = Overrides {
            config: Some(path),
            flags: vec![],
        };
        let env = |k: &str| (k == "DIALTONE_DATABASE").then(|| bad.clone());
        for err in [
            ServeConfig::load(&from_file, no_env).unwrap_err(),
            ServeConfig::load(&Overrides::default(), env).unwrap_err(),
            ServeConfig::load(
                &Overrides {
                    config: None,
                    flags: vec![("database", bad.clone())],
                },
                no_env,
            )
            .unwrap_err(),
        ] {
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(!shown.contains(PASSWORD), "{shown}");
                assert!(
                    shown.contains("postgress://dialtone:***@db/dialtone"),
                    "{shown}"
                );
            }
        }
    }

    #[test]
    fn egress_allow_from_a_file_array_or_the_environment() {
        let cfg = ServeConfig::load(&Overrides::default(), no_env).unwrap();
        assert!(
            cfg.engine.egress_allow.is_empty(),
            "serve denies by default"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(
            &path,
            "egress_allow = [\"10.0.0.0/8\", \"127.0.0.1:8090\"]\n",
        )
        .unwrap();
        let from_file = Overrides {
            config: Some(path.clone()),
            flags: vec![],
        };
        let cfg = ServeConfig::load(&from_file, no_env).unwrap();
        let shown: Vec<String> = cfg
            .engine
            .egress_allow
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["10.0.0.0/8", "127.0.0.1:8090"]);
        let env =
            |k: &str| (k == "DIALTONE_EGRESS_ALLOW").then(|| "fd00::/8, [::1]:9000".to_owned());
        let cfg = ServeConfig::load(&from_file, env).unwrap();
        assert_eq!(cfg.engine.egress_allow.len(), 2, "the environment wins");
        let bad = |k: &str| (k == "DIALTONE_EGRESS_ALLOW").then(|| "metadata.internal".to_owned());
        let err = ServeConfig::load(&Overrides::default(), bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("egress_allow") && err.contains("DIALTONE_EGRESS_ALLOW"),
            "{err}"
        );
        std::fs::write(&path, "egress_allow = [8080]\n").unwrap();
        let err = ServeConfig::load(&from_file, no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("array of strings"), "{err}");
        std::fs::write(&path, "sip = [\"127.0.0.1:5060\"]\n").unwrap();
        let err = ServeConfig::load(&from_file, no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("string, integer or boolean") && !err.contains("array"),
            "{err}"
        );
    }

    #[test]
    fn cache_budgets_and_quotas_default_and_read_from_file_and_env() {
        let cfg = ServeConfig::load(&Overrides::default(), no_env).unwrap();
        assert_eq!(cfg.engine.download_cache_bytes, 256 * MIB);
        assert_eq!(cfg.engine.tts_cache_bytes, 256 * MIB);
        assert_eq!(cfg.quotas, dialtone_store::Quotas::default());
        assert_eq!(cfg.recording_quota, Some(10 * 1024 * MIB));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.toml");
        std::fs::write(
            &path,
            "download_cache_mib = 64
tts_cache_mib = 0
quota_rules = 5
             quota_scenarios = 0
quota_scenario_versions = 10
quota_recording_mib = 1
",
        )
        .unwrap();
        let from_file = Overrides {
            config: Some(path),
            flags: vec![],
        };
        let cfg = ServeConfig::load(&from_file, no_env).unwrap();
        assert_eq!(cfg.engine.download_cache_bytes, 64 * MIB);
        assert_eq!(cfg.engine.tts_cache_bytes, 0, "0 keeps nothing on disk");
        assert_eq!(
            cfg.quotas,
            dialtone_store::Quotas {
                rules: Some(5),
                scenarios: None,
                scenario_versions: Some(10),
            }
        );
        assert_eq!(cfg.recording_quota, Some(MIB));
        let env = |k: &str| (k == "DIALTONE_QUOTA_RECORDING_MIB").then(|| "0".to_owned());
        let cfg = ServeConfig::load(&from_file, env).unwrap();
        assert_eq!(cfg.recording_quota, None, "0: no limit");

        let bad = |k: &str| (k == "DIALTONE_QUOTA_RULES").then(|| "-1".to_owned());
        let err = ServeConfig::load(&Overrides::default(), bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("quota_rules") && err.contains("DIALTONE_QUOTA_RULES"),
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
