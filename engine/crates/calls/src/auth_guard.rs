//! Password guessing is stopped per source address: after 20 wrong digest
//! answers within a minute, every further answer from that address is
//! refused 403 unchecked for five minutes, so a scanner cannot try a
//! password list against a user at line rate. The table is bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Wrong answers one address may give in a window.
pub const MAX_FAILURES: u32 = 20;
const WINDOW: Duration = Duration::from_secs(60);
const BLOCK: Duration = Duration::from_secs(300);
/// Addresses tracked at most; past it, new ones are not (their guesses
/// are still checked, one by one).
const MAX_SOURCES: usize = 10_000;

#[derive(Debug)]
struct Entry {
    failures: u32,
    since: Instant,
    blocked_until: Option<Instant>,
}

#[derive(Debug, Default)]
pub(crate) struct AuthGuard {
    sources: HashMap<IpAddr, Entry>,
}

impl AuthGuard {
    /// Whether answers from `ip` are refused unchecked now.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        self.sources
            .get(&ip)
            .and_then(|e| e.blocked_until)
            .is_some_and(|until| now < until)
    }

    /// A wrong answer from `ip`; true when it starts a block.
    pub fn failed(&mut self, ip: IpAddr, now: Instant) -> bool {
        if !self.sources.contains_key(&ip) && self.sources.len() >= MAX_SOURCES {
            self.sources.retain(|_, e| {
                now.duration_since(e.since) < WINDOW || e.blocked_until.is_some_and(|u| now < u)
            });
            if self.sources.len() >= MAX_SOURCES {
                return false;
            }
        }
        let entry = self.sources.entry(ip).or_insert(Entry {
            failures: 0,
            since: now,
            blocked_until: None,
        });
        if now.duration_since(entry.since) >= WINDOW {
            entry.failures = 0;
            entry.since = now;
        }
        entry.failures += 1;
        if entry.failures >= MAX_FAILURES && entry.blocked_until.is_none_or(|u| now >= u) {
            entry.blocked_until = Some(now + BLOCK);
            return true;
        }
        false
    }

    /// A right answer from `ip`: its count starts again.
    pub fn succeeded(&mut self, ip: IpAddr) {
        if let Some(e) = self.sources.get(&ip) {
            if e.blocked_until.is_none() {
                self.sources.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_wrong_answers_block_an_address_for_five_minutes() {
        let mut g = AuthGuard::default();
        let t0 = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for i in 0..MAX_FAILURES - 1 {
            assert!(!g.failed(ip, t0 + Duration::from_secs(u64::from(i))));
        }
        assert!(!g.blocked(ip, t0 + Duration::from_secs(30)));
        assert!(g.failed(ip, t0 + Duration::from_secs(30)));
        assert!(g.blocked(ip, t0 + Duration::from_secs(31)));
        assert!(!g.blocked(other, t0 + Duration::from_secs(31)));
        assert!(g.blocked(ip, t0 + Duration::from_secs(329)));
        assert!(!g.blocked(ip, t0 + Duration::from_secs(331)));
        // Failures spread over more than a minute do not add up.
        for i in 0..40 {
            g.failed(other, t0 + Duration::from_secs(4 * i));
        }
        assert!(!g.blocked(other, t0 + Duration::from_secs(200)));
    }
}
