use thiserror::Error;

/// Why a clip could not be produced. `Clone` because one failed load is
/// reported to every caller that waited on it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AudioError {
    /// The source is outside the media directory or of a kind not allowed.
    #[error("source refused: {0}")]
    Refused(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("download larger than the configured limit")]
    TooLarge,
    #[error("timed out")]
    Timeout,
    #[error("HTTP status {0}")]
    Http(u16),
    #[error("network error: {0}")]
    Network(String),
    #[error("cannot decode audio: {0}")]
    Decode(String),
    #[error("text longer than the speech synthesis limit")]
    TextTooLong,
    #[error("speech synthesis failed: {0}")]
    Tts(String),
    #[error("I/O error: {0}")]
    Io(String),
    #[error("configuration error: {0}")]
    Config(String),
}
