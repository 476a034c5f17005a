//! Whether a new session may start: one check for INVITEs and REST sessions.

use crate::CallCore;

/// Why a new session is refused. INVITEs get 503 for each of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    #[error("the engine is shutting down")]
    ShuttingDown,
    #[error("the engine is overloaded: history is not keeping up; retry later")]
    Overloaded,
    #[error("the limit of {0} live sessions is reached; retry later")]
    SessionLimit(usize),
}

impl CallCore {
    /// Not while shutting down, while history is behind, or at the session limit.
    pub(crate) fn admit(&self) -> Result<(), AdmissionError> {
        if self.closed {
            return Err(AdmissionError::ShuttingDown);
        }
        if self.services.congested() {
            return Err(AdmissionError::Overloaded);
        }
        match self.cfg.max_sessions {
            Some(max) if self.sessions.len() >= max => Err(AdmissionError::SessionLimit(max)),
            _ => Ok(()),
        }
    }
}
