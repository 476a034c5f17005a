//! What recording files may grow to, shared by every recording of one owner
//! (an account): a running byte counter and an optional limit. The writer
//! thread charges each recording's growth once a second (when the file is
//! refreshed on disk) and once when it is finished; a recording that finds
//! the limit reached is finished and reported as a `RecorderError` with the
//! budget's message. Nothing here runs per frame.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone)]
pub struct RecordingBudget {
    used: Arc<AtomicU64>,
    /// `None`: counted, never stopped.
    limit: Option<u64>,
    /// The `RecorderError` of a recording stopped by the limit.
    exhausted: Arc<str>,
}

impl RecordingBudget {
    pub fn new(used: Arc<AtomicU64>, limit: Option<u64>, exhausted: impl Into<Arc<str>>) -> Self {
        RecordingBudget {
            used,
            limit,
            exhausted: exhausted.into(),
        }
    }

    /// Bytes charged so far (by every recording sharing the counter).
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// True once the limit is reached: no recording may start or go on.
    pub fn is_exhausted(&self) -> bool {
        self.limit.is_some_and(|limit| self.used() >= limit)
    }

    /// Adds `bytes` written; false once the total reaches the limit.
    pub fn charge(&self, bytes: u64) -> bool {
        let total = self
            .used
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        self.limit.is_none_or(|limit| total < limit)
    }

    pub fn message(&self) -> &str {
        &self.exhausted
    }
}

impl PartialEq for RecordingBudget {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.used, &other.used) && self.limit == other.limit
    }
}

impl Eq for RecordingBudget {}

impl std::fmt::Debug for RecordingBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingBudget")
            .field("used", &self.used())
            .field("limit", &self.limit)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_add_up_and_the_limit_is_reached_at_equality() {
        let used = Arc::new(AtomicU64::new(0));
        let a = RecordingBudget::new(used.clone(), Some(100), "full");
        let b = RecordingBudget::new(used, Some(100), "full");
        assert!(a.charge(60));
        assert!(!b.is_exhausted());
        assert!(!b.charge(40), "60 + 40 reaches the limit");
        assert!(a.is_exhausted() && b.is_exhausted());
        assert_eq!(a.used(), 100);
        assert_eq!(a, b);
        let unlimited = RecordingBudget::new(Arc::new(AtomicU64::new(0)), None, "");
        assert!(unlimited.charge(u64::MAX) && unlimited.charge(1));
        assert!(!unlimited.is_exhausted());
    }
}
