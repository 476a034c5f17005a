//! Speech synthesis engines. Each returns an audio file (any format
//! [`crate::decode`] reads); the library decodes, caches and bounds them.

use std::future::Future;
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

use dialtone_egress::http::{denial, HttpEgress};
use thiserror::Error;
use tokio::io::AsyncWriteExt;

/// Longest text accepted, as in VoxEngine.
pub const MAX_TTS_CHARS: usize = 1500;

/// What to say and how.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TtsRequest {
    pub text: String,
    /// Engine-specific voice name; `None` is the engine's default.
    pub voice: Option<String>,
    /// Speed relative to normal (1.0); `None` is normal.
    pub rate: Option<f32>,
    /// Engine name; `None` is the configured default.
    pub engine: Option<String>,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TtsError {
    /// The engine cannot run at all (binary missing, not configured).
    #[error("engine unavailable: {0}")]
    Unavailable(String),
    #[error("engine failed: {0}")]
    Failed(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("engine answered HTTP {0}")]
    Http(u16),
    #[error("engine output larger than the limit")]
    TooLarge,
    #[error("engine timed out")]
    Timeout,
}

pub type TtsFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, TtsError>> + Send + 'a>>;

/// A speech synthesizer. Returns the bytes of an audio file.
pub trait TtsEngine: Send + Sync {
    /// Name requests select it by (`TtsRequest::engine`).
    fn name(&self) -> &str;
    fn synthesize<'a>(&'a self, req: &'a TtsRequest) -> TtsFuture<'a>;
}

/// espeak-ng run as a subprocess (it is GPL and never linked). The text goes
/// through stdin, so nothing in it can be read as an option or reach a shell.
pub struct EspeakTts {
    command: String,
    timeout: Duration,
}

impl EspeakTts {
    pub fn new(command: impl Into<String>, timeout: Duration) -> EspeakTts {
        EspeakTts {
            command: command.into(),
            timeout,
        }
    }

    async fn run(&self, req: &TtsRequest) -> Result<Vec<u8>, TtsError> {
        let mut cmd = tokio::process::Command::new(&self.command);
        if let Some(voice) = &req.voice {
            if !valid_voice(voice) {
                return Err(TtsError::InvalidRequest(format!(
                    "bad voice name {voice:?}"
                )));
            }
            cmd.arg("-v").arg(voice);
        }
        // espeak's default speed is 175 words per minute.
        let wpm = (175.0 * req.rate.unwrap_or(1.0)).clamp(80.0, 450.0);
        let wpm = if wpm.is_finite() { wpm as u32 } else { 175 };
        cmd.arg("-s")
            .arg(wpm.to_string())
            .arg("--stdout")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| TtsError::Unavailable(format!("{}: {e}", self.command)))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(req.text.as_bytes())
                .await
                .map_err(|e| TtsError::Failed(format!("writing text: {e}")))?;
        }
        let output = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| TtsError::Timeout)?
            .map_err(|e| TtsError::Failed(e.to_string()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(TtsError::Failed(format!(
                "{} exited with {}: {}",
                self.command,
                output.status,
                stderr.trim()
            )));
        }
        if output.stdout.is_empty() {
            return Err(TtsError::Failed("no audio produced".into()));
        }
        Ok(output.stdout)
    }
}

fn valid_voice(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && !v.starts_with('-')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_+/.".contains(c))
        && !v.contains("..")
}

impl TtsEngine for EspeakTts {
    fn name(&self) -> &str {
        "espeak"
    }

    fn synthesize<'a>(&'a self, req: &'a TtsRequest) -> TtsFuture<'a> {
        Box::pin(self.run(req))
    }
}

/// A synthesis server: POST `{"text","voice","rate"}` as JSON, the answer's
/// body is an audio file. The server's URL is the operator's, so its own
/// host and port are exempt from the egress policy; redirects away from it
/// are checked like any download.
pub struct HttpTts {
    http: HttpEgress,
    url: String,
    max_bytes: u64,
    timeout: Duration,
}

impl HttpTts {
    pub fn new(
        http: &HttpEgress,
        url: impl Into<String>,
        max_bytes: u64,
        timeout: Duration,
    ) -> HttpTts {
        let url = url.into();
        let http = match reqwest::Url::parse(&url) {
            Ok(parsed) => http.trusting(&parsed),
            Err(_) => http.clone(),
        };
        HttpTts {
            http,
            url,
            max_bytes,
            timeout,
        }
    }

    async fn run(&self, req: &TtsRequest) -> Result<Vec<u8>, TtsError> {
        let body = serde_json::json!({
            "text": req.text,
            "voice": req.voice,
            "rate": req.rate,
        });
        let url = reqwest::Url::parse(&self.url)
            .map_err(|e| TtsError::Unavailable(format!("bad TTS URL {:?}: {e}", self.url)))?;
        let client = self
            .http
            .client_for(&url)
            .map_err(|e| TtsError::Unavailable(e.to_string()))?;
        let resp = client
            .post(url)
            .timeout(self.timeout)
            .json(&body)
            .send()
            .await
            .map_err(|e| match denial(&e) {
                Some(denied) => TtsError::Unavailable(denied.to_string()),
                None if e.is_timeout() => TtsError::Timeout,
                None => TtsError::Unavailable(e.to_string()),
            })?;
        if !resp.status().is_success() {
            return Err(TtsError::Http(resp.status().as_u16()));
        }
        crate::http::read_limited(resp, self.max_bytes)
            .await
            .map_err(|e| match e {
                crate::AudioError::TooLarge => TtsError::TooLarge,
                crate::AudioError::Timeout => TtsError::Timeout,
                other => TtsError::Failed(other.to_string()),
            })
    }
}

impl TtsEngine for HttpTts {
    fn name(&self) -> &str {
        "http"
    }

    fn synthesize<'a>(&'a self, req: &'a TtsRequest) -> TtsFuture<'a> {
        Box::pin(self.run(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voice_names_cannot_smuggle_options_or_paths() {
        assert!(valid_voice("en-us"));
        assert!(valid_voice("mb/mb-en1"));
        assert!(!valid_voice("--stdin"));
        assert!(!valid_voice("../../etc"));
        assert!(!valid_voice("en us"));
        assert!(!valid_voice(""));
    }
}
