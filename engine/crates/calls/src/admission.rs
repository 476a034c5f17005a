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
    /// Not while shutting down or at the session limit: checked first, before
    /// anything is spent on the request.
    pub(crate) fn admit(&self) -> Result<(), AdmissionError> {
        if self.closed {
            return Err(AdmissionError::ShuttingDown);
        }
        match self.cfg.max_sessions {
            Some(max) if self.sessions.len() >= max => Err(AdmissionError::SessionLimit(max)),
            _ => Ok(()),
        }
    }

    /// Not while history is behind with this account's records: once the
    /// owner is known, so an account that floods history is refused and the
    /// others are not.
    pub(crate) fn admit_owner(&self, account: Option<&str>) -> Result<(), AdmissionError> {
        if self.services.congested(account) {
            return Err(AdmissionError::Overloaded);
        }
        Ok(())
    }
}
