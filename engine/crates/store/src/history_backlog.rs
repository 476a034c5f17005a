//! What waits to be written by the history writer, in bytes: in all, and
//! per account. Congestion is charged to the accounts that cause it: past
//! the soft limit only accounts holding at least their fair share of the
//! backlog (or more than a quarter of the limit on their own) are refused
//! new sessions; past the hard limit records are dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// How far past the soft limit bytes may queue before records are dropped.
pub const HARD_LIMIT_FACTOR: usize = 4;

#[derive(Debug)]
pub(crate) struct Backlog {
    soft_limit: usize,
    bytes: AtomicUsize,
    items: AtomicUsize,
    accounts: Mutex<HashMap<String, usize>>,
}

impl Backlog {
    pub fn new(soft_limit: usize) -> Backlog {
        Backlog {
            soft_limit: soft_limit.max(1),
            bytes: AtomicUsize::new(0),
            items: AtomicUsize::new(0),
            accounts: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        // Nothing panics while holding it; a poisoned map is intact.
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `bytes` more may queue (false past the hard limit).
    pub fn has_room(&self, bytes: usize) -> bool {
        self.bytes.load(Ordering::Relaxed) + bytes <= self.soft_limit * HARD_LIMIT_FACTOR
    }

    pub fn add(&self, account: &str, bytes: usize) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.items.fetch_add(1, Ordering::Relaxed);
        if !account.is_empty() {
            *self.lock().entry(account.to_owned()).or_default() += bytes;
        }
    }

    pub fn remove(&self, account: &str, bytes: usize) {
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
        self.items.fetch_sub(1, Ordering::Relaxed);
        if !account.is_empty() {
            let mut accounts = self.lock();
            if let Some(held) = accounts.get_mut(account) {
                *held = held.saturating_sub(bytes);
                if *held == 0 {
                    accounts.remove(account);
                }
            }
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    pub fn items(&self) -> usize {
        self.items.load(Ordering::Relaxed)
    }

    /// Past the soft limit in all.
    pub fn congested(&self) -> bool {
        self.bytes() >= self.soft_limit
    }

    /// Whether new work of `account` should wait: it alone holds more than a
    /// quarter of the soft limit, or the backlog is past the soft limit and
    /// it holds at least its fair share of it. `None` (no account) counts
    /// the backlog in all.
    pub fn congested_for(&self, account: Option<&str>) -> bool {
        let total = self.bytes();
        let Some(account) = account else {
            return total >= self.soft_limit;
        };
        let accounts = self.lock();
        let held = accounts.get(account).copied().unwrap_or(0);
        if held > self.soft_limit / 4 {
            return true;
        }
        if total < self.soft_limit {
            return false;
        }
        let fair = total / accounts.len().max(1);
        held >= fair
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_that_congests_is_refused_and_the_others_are_not() {
        let backlog = Backlog::new(1000);
        backlog.add("quiet", 10);
        assert!(!backlog.congested_for(Some("noisy")));
        // One account alone past a quarter of the limit.
        backlog.add("noisy", 300);
        assert!(backlog.congested_for(Some("noisy")));
        assert!(!backlog.congested_for(Some("quiet")));
        assert!(!backlog.congested());
        // Past the limit in all: shares decide.
        backlog.add("other", 200);
        backlog.add("noisy", 600);
        assert!(backlog.congested());
        assert!(backlog.congested_for(Some("noisy")));
        assert!(!backlog.congested_for(Some("quiet")));
        assert!(!backlog.congested_for(Some("other")));
        assert!(backlog.congested_for(None));
        // It drains: nobody is refused.
        backlog.remove("noisy", 300);
        backlog.remove("noisy", 600);
        backlog.remove("other", 200);
        assert!(!backlog.congested_for(Some("noisy")));
        assert_eq!(backlog.bytes(), 10);
        assert_eq!(backlog.items(), 1);
    }

    #[test]
    fn the_hard_limit_is_a_multiple_of_the_soft_one() {
        let backlog = Backlog::new(100);
        assert!(backlog.has_room(400));
        backlog.add("a", 390);
        assert!(backlog.has_room(10));
        assert!(!backlog.has_room(11));
    }
}
