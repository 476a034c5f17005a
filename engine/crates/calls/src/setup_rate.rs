//! How many new sessions may start per second (FreeSWITCH's
//! `sessions-per-second`): a token bucket on the core's clock.
//!
//! Overload control refuses new sessions once the media workers or the
//! signalling loop fall behind, but a call's cost arrives after it is
//! admitted: its script starts, it is answered, its prompt starts a few
//! hundred milliseconds later. A surge far above what the machine can set up
//! would fill that pipeline with thousands of calls before any figure
//! moved. The bucket caps how fast the pipeline fills, so the figures move
//! while the calls already up are still safe.

use std::time::{Duration, Instant};

/// The default rate per core (`max_setups_per_second` scales it by cores).
pub const DEFAULT_SETUPS_PER_SECOND_PER_CORE: u32 = 1000;

/// Share of a second's tokens that may be spent at once.
const BURST_DIVISOR: u32 = 4;

#[derive(Debug, Clone)]
pub struct SetupRate {
    per_second: u32,
    /// Tokens in millionths, so a refill needs no floating point.
    micro_tokens: u64,
    capacity: u64,
    last: Option<Instant>,
}

impl SetupRate {
    /// `per_second` new sessions a second, at most a quarter of that at once.
    pub fn new(per_second: u32) -> SetupRate {
        let per_second = per_second.max(1);
        let capacity = u64::from((per_second / BURST_DIVISOR).max(1)) * 1_000_000;
        SetupRate {
            per_second,
            micro_tokens: capacity,
            capacity,
            last: None,
        }
    }

    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    /// Takes a token at `now` if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let elapsed = now
                .saturating_duration_since(last)
                .min(Duration::from_secs(10));
            let refill = elapsed.as_micros() as u64 * u64::from(self.per_second);
            self.micro_tokens = (self.micro_tokens + refill).min(self.capacity);
        }
        self.last = Some(now);
        if self.micro_tokens >= 1_000_000 {
            self.micro_tokens -= 1_000_000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_gets_a_quarter_second_then_the_rate() {
        let t0 = Instant::now();
        let mut r = SetupRate::new(100);
        let at_once = (0..100).filter(|_| r.take(t0)).count();
        assert_eq!(at_once, 25);
        // One token every 10 ms after that.
        assert!(!r.take(t0 + Duration::from_millis(5)));
        assert!(r.take(t0 + Duration::from_millis(10)));
        assert!(!r.take(t0 + Duration::from_millis(12)));
    }

    #[test]
    fn a_steady_stream_at_the_rate_is_never_refused() {
        let t0 = Instant::now();
        let mut r = SetupRate::new(1000);
        // 1,000/s for ten seconds, with the jitter of a sender that batches
        // its requests every 5 ms.
        let refused = (0..10_000u64)
            .filter(|n| !r.take(t0 + Duration::from_millis(n / 5 * 5)))
            .count();
        assert_eq!(refused, 0);
    }

    #[test]
    fn three_times_the_rate_gets_the_rate() {
        let t0 = Instant::now();
        let mut r = SetupRate::new(1000);
        let admitted = (0..30_000u64)
            .filter(|n| r.take(t0 + Duration::from_micros(n * 1_000 / 3)))
            .count();
        // 10 s at 1,000/s plus the first burst.
        assert!((10_000..=10_000 + 250).contains(&admitted), "{admitted}");
    }

    #[test]
    fn idle_time_refills_only_to_the_burst() {
        let t0 = Instant::now();
        let mut r = SetupRate::new(40);
        assert!(r.take(t0));
        let later = t0 + Duration::from_secs(3600);
        assert_eq!((0..100).filter(|_| r.take(later)).count(), 10);
    }
}
