//! `dialtone serve` for the integration tests: the real binary on free
//! loopback ports with a temporary data directory.
// Each test file uses a part of this.
#![allow(dead_code)]

use reqwest::blocking::Client;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub base: String,
    /// The SIP address (UDP and TCP), `IP:PORT`.
    pub sip: String,
    /// Lines seen up to and including the `listening` line.
    pub startup: Vec<String>,
}

impl Server {
    /// Starts `dialtone serve`; `rtp_ports` keeps test files that run at the
    /// same time out of each other's way.
    pub fn start(data_dir: &Path, admin_key: Option<&str>, rtp_ports: &str) -> Server {
        Server::start_with(data_dir, admin_key, rtp_ports, &[])
    }

    /// [`Server::start`] with more flags after the usual ones.
    pub fn start_with(
        data_dir: &Path,
        admin_key: Option<&str>,
        rtp_ports: &str,
        extra: &[&str],
    ) -> Server {
        Server::start_logging(data_dir, admin_key, rtp_ports, extra, None)
    }

    /// [`Server::start_with`], the engine log (stderr) going to `stderr`.
    pub fn start_logging(
        data_dir: &Path,
        admin_key: Option<&str>,
        rtp_ports: &str,
        extra: &[&str],
        stderr: Option<&Path>,
    ) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialtone"));
        cmd.args(["serve", "--sip", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--rtp-ports", rtp_ports, "--shutdown-timeout", "2s"])
            .args(extra)
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(match stderr {
                Some(path) => Stdio::from(std::fs::File::create(path).expect("stderr file")),
                None => Stdio::null(),
            });
        if let Some(key) = admin_key {
            cmd.env("DIALTONE_ADMIN_KEY", key);
        }
        let mut child = cmd.spawn().expect("spawn dialtone serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut startup = Vec::new();
        let (base, sip) = loop {
            let line = lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| {
                    let status = child.try_wait().ok().flatten();
                    let log = stderr
                        .and_then(|path| std::fs::read_to_string(path).ok())
                        .unwrap_or_default();
                    panic!("no listening line; saw {startup:?}; exit {status:?}; stderr: {log}")
                });
            startup.push(line.clone());
            if line.contains("listening") {
                let field = |name: &str| {
                    line.split_whitespace()
                        .find_map(|w| w.strip_prefix(name))
                        .unwrap_or_else(|| panic!("{name} in the listening line: {line}"))
                        .to_owned()
                };
                break (format!("http://{}", field("http=")), field("sip="));
            }
        };
        Server {
            child,
            lines,
            base,
            sip,
            startup,
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "dialtone did not exit after SIGTERM"
            );
            // Drain output so the child never blocks on a full pipe.
            let _ = self.lines.recv_timeout(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One JSON request with the API key `key`: the status and the body as
/// JSON (`Null` when empty, the text as a JSON string when not JSON).
pub fn send(
    client: &Client,
    method: reqwest::Method,
    url: &str,
    key: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = client.request(method, url).bearer_auth(key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().expect("send request");
    let status = resp.status().as_u16();
    let text = resp.text().expect("response body");
    let body = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    };
    (status, body)
}

/// An HTTP client for the API (rustls with ring, 20 s timeout).
pub fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}
