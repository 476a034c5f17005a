//! Whether a new session may start: one check for INVITEs and REST sessions.

use std::time::Instant;

use crate::io::Fact;
use crate::services::Overload;
use crate::CallCore;

/// Why a new session is refused. INVITEs get 503 for each of these, REST
/// requests 503 too, both with Retry-After.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    #[error("the engine is shutting down")]
    ShuttingDown,
    #[error("the engine is overloaded: history is not keeping up; retry later")]
    Overloaded,
    #[error("the engine is overloaded ({}): no new sessions until the calls already up are safe; retry later", .0.as_str())]
    Busy(Overload),
    #[error("the limit of {0} live sessions is reached; retry later")]
    SessionLimit(usize),
    #[error("more than {0} new sessions per second; retry later")]
    SetupRate(u32),
}

impl AdmissionError {
    /// Seconds a client should wait before trying again (the Retry-After
    /// of the 503).
    pub fn retry_after(&self) -> u32 {
        match self {
            AdmissionError::ShuttingDown => 30,
            AdmissionError::Overloaded | AdmissionError::SessionLimit(_) => 5,
            AdmissionError::Busy(_) => 2,
            AdmissionError::SetupRate(_) => 1,
        }
    }
}

impl CallCore {
    /// [`admit`](Self::admit) with the refusal counted.
    pub(crate) fn admit_counted(&mut self, now: Instant) -> Result<(), AdmissionError> {
        self.admit(now)
            .inspect_err(|e| self.fact(Fact::SessionRefused(e.clone())))
    }

    /// [`admit_owner`](Self::admit_owner) with the refusal counted.
    pub(crate) fn admit_owner_counted(
        &mut self,
        account: Option<&str>,
    ) -> Result<(), AdmissionError> {
        self.admit_owner(account)
            .inspect_err(|e| self.fact(Fact::SessionRefused(e.clone())))
    }

    /// Not while shutting down, at the session limit, overloaded or past
    /// the set-up rate: checked first, before anything is spent on the
    /// request. Only a request that passes everything else takes a set-up
    /// token.
    fn admit(&mut self, now: Instant) -> Result<(), AdmissionError> {
        if self.closed {
            return Err(AdmissionError::ShuttingDown);
        }
        if let Some(max) = self.cfg.max_sessions {
            if self.sessions.len() >= max {
                return Err(AdmissionError::SessionLimit(max));
            }
        }
        if let Some(what) = self.services.overload() {
            return Err(AdmissionError::Busy(what));
        }
        let share = self.services.setup_share();
        if let Some(rate) = &mut self.setup_rate {
            if !rate.take(now, share) {
                return Err(AdmissionError::SetupRate(rate.effective(share)));
            }
        }
        Ok(())
    }

    /// Not while history is behind with this account's records: once the
    /// owner is known, so an account that floods history is refused and the
    /// others are not.
    fn admit_owner(&self, account: Option<&str>) -> Result<(), AdmissionError> {
        if self.services.congested(account) {
            return Err(AdmissionError::Overloaded);
        }
        Ok(())
    }
}
