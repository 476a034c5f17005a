//! Audio clips for playback: loading from URLs and the media directory,
//! decoding any supported format to 8 kHz mono, decode-once caching shared by
//! every call, and text to speech through pluggable engines.
//!
//! A clip is decoded once per source and shared as an `Arc<[i16]>`; concurrent
//! loads of the same source wait on one download and one decode.

mod cache;
mod config;
mod decode;
mod disk_cache;
mod disk_lru;
mod error;
mod http;
mod library;
mod resample;
mod source;
mod tts;

pub use config::{AudioConfig, TtsConfig, DEFAULT_DISK_CACHE_BYTES};
pub use decode::{decode, decode_owned, OUTPUT_RATE};
pub use disk_cache::DiskCacheStats;
pub use error::AudioError;
pub use library::{AudioLibrary, AudioStats};
pub use resample::Resampler;
pub use tts::{EspeakTts, HttpTts, TtsEngine, TtsError, TtsFuture, TtsRequest, MAX_TTS_CHARS};

/// 8 kHz mono 16-bit PCM, shared by every player of the same source.
pub type Clip = std::sync::Arc<[i16]>;
