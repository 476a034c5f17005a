use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dialtone_egress::EgressPolicy;

/// Default budget of each disk cache (downloads, TTS): 256 MiB.
pub const DEFAULT_DISK_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// Where clips come from and how much may be fetched and kept.
#[derive(Debug, Clone)]
pub struct AudioConfig {
    /// Relative paths and `file://` URLs must resolve inside this directory;
    /// `None` refuses every local source.
    pub media_dir: Option<PathBuf>,
    /// HTTP bodies and synthesized speech are kept here across restarts.
    pub cache_dir: PathBuf,
    /// Largest HTTP body (download or HTTP TTS answer) accepted, in bytes.
    pub max_download: u64,
    /// Whole-request limit for one download.
    pub download_timeout: Duration,
    /// Budget of the in-memory clip cache, in samples (2 bytes each).
    pub max_memory_samples: usize,
    /// Budget of the download cache on disk (`cache_dir/http`: bodies and
    /// their validators), in bytes; least recently used out first.
    pub max_download_cache_bytes: u64,
    /// Budget of the TTS cache on disk (`cache_dir/tts`: decoded speech),
    /// in bytes; least recently used out first.
    pub max_tts_cache_bytes: u64,
    pub tts: TtsConfig,
    /// Where downloads may connect: checked for every address a URL's host
    /// resolves to and for every redirect. The default denies loopback,
    /// private, link-local and other special ranges. The HTTP TTS engine's
    /// own URL (`tts.http_url`) is the operator's and is exempt.
    pub egress: Arc<EgressPolicy>,
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig {
            media_dir: None,
            cache_dir: std::env::temp_dir().join("dialtone-audio-cache"),
            max_download: 10 * 1024 * 1024,
            download_timeout: Duration::from_secs(10),
            // 30 minutes of 8 kHz audio, ~29 MiB.
            max_memory_samples: 8000 * 60 * 30,
            max_download_cache_bytes: DEFAULT_DISK_CACHE_BYTES,
            max_tts_cache_bytes: DEFAULT_DISK_CACHE_BYTES,
            tts: TtsConfig::default(),
            egress: Arc::new(EgressPolicy::default()),
        }
    }
}

/// Speech synthesis engines built in.
#[derive(Debug, Clone)]
pub struct TtsConfig {
    /// Engine used when a request names none.
    pub default_engine: String,
    /// The espeak-ng binary, run as a subprocess (never linked: it is GPL).
    pub espeak_command: String,
    /// When set, engine `"http"` POSTs `{text, voice, rate}` here.
    pub http_url: Option<String>,
    /// Limit for one synthesis, so a stuck engine cannot hang a call.
    pub timeout: Duration,
}

impl Default for TtsConfig {
    fn default() -> Self {
        TtsConfig {
            default_engine: "espeak".to_string(),
            espeak_command: "espeak-ng".to_string(),
            http_url: None,
            timeout: Duration::from_secs(10),
        }
    }
}
