//! `dialtone serve` flags. Values stay strings here so that flags, the
//! environment and the config file are all validated in one place
//! (`serve::config`) with the same messages.

use crate::serve::config::Overrides;
use dialtone_store::DatabaseUrl;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// TOML config file (also DIALTONE_CONFIG); flags and DIALTONE_* variables override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// SIP listen address, UDP and TCP (default 127.0.0.1:5060).
    #[arg(long)]
    pub sip: Option<String>,
    /// HTTP listen address for the REST API and recordings (default 127.0.0.1:8080).
    #[arg(long)]
    pub http: Option<String>,
    /// Data directory: database, recordings, cache (default dialtone-data).
    #[arg(long)]
    pub data_dir: Option<String>,
    /// Database URL (default sqlite://DATA-DIR/dialtone.db). Held as a
    /// `DatabaseUrl`: `Debug` masks its password.
    #[arg(long)]
    pub database: Option<DatabaseUrl>,
    /// RTP port range, LO-HI.
    #[arg(long)]
    pub rtp_ports: Option<String>,
    /// How long a call's RTP source must be silent before another source
    /// (one steady stream) may take over (default 2s; 0: at once).
    #[arg(long)]
    pub rtp_relatch_after: Option<String>,
    /// IP address put in Contact, Via and SDP (default: the SIP address).
    #[arg(long)]
    pub advertise: Option<String>,
    /// Base URL clients reach the HTTP listener at (e.g. a reverse proxy);
    /// accessURLs and recording URLs start with it (default http://HTTP-ADDRESS).
    #[arg(long)]
    pub public_url: Option<String>,
    /// PEM certificate chain: the HTTP listener speaks HTTPS (and wss://
    /// for SIP over WebSocket). Needs --http-tls-key.
    #[arg(long)]
    pub http_tls_cert: Option<String>,
    /// PEM private key of --http-tls-cert.
    #[arg(long)]
    pub http_tls_key: Option<String>,
    /// Session log format on stdout: text or json.
    #[arg(long)]
    pub log_format: Option<String>,
    /// How long live sessions may run on after SIGTERM (e.g. 30s).
    #[arg(long)]
    pub shutdown_timeout: Option<String>,
}

impl ServeArgs {
    pub fn overrides(&self) -> Overrides {
        let database = self.database.as_ref().map(|d| d.expose().to_owned());
        let flags = [
            ("sip", &self.sip),
            ("http", &self.http),
            ("data_dir", &self.data_dir),
            ("database", &database),
            ("rtp_ports", &self.rtp_ports),
            ("rtp_relatch_after", &self.rtp_relatch_after),
            ("advertise", &self.advertise),
            ("public_url", &self.public_url),
            ("http_tls_cert", &self.http_tls_cert),
            ("http_tls_key", &self.http_tls_key),
            ("log_format", &self.log_format),
            ("shutdown_timeout", &self.shutdown_timeout),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect();
        Overrides {
            config: self.config.clone(),
            flags,
        }
    }
}

pub fn main(args: ServeArgs) -> ExitCode {
    crate::serve::main(args.overrides())
}
