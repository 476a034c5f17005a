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
//!
//! The engine may lend only a share of the rate (`share`, ‰, from overload
//! control): refill and burst both shrink with it, so while the media
//! workers are getting busier new calls arrive ever more slowly.

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

    /// The rate lent at `share` ‰ of it.
    pub fn effective(&self, share: u64) -> u32 {
        let share = share.min(1000);
        u32::try_from(u64::from(self.per_second) * share / 1000).unwrap_or(self.per_second)
    }

    /// Takes a token at `now` if there is one, with `share` ‰ of the rate
    /// and of the burst lent (1000: all of it).
    pub fn take(&mut self, now: Instant, share: u64) -> bool {
        let share = share.min(1000);
        let capacity = self.capacity / 1000 * share;
        if let Some(last) = self.last {
            let elapsed = now
                .saturating_duration_since(last)
                .min(Duration::from_secs(10));
            let refill = elapsed.as_micros() as u64 * u64::from(self.per_second) / 1000 * share;
            self.micro_tokens = self.micro_tokens.saturating_add(refill);
        }
        self.micro_tokens = self.micro_tokens.min(capacity);
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
        let at_once = (0..100).filter(|_| r.take(t0, 1000)).count();
        assert_eq!(at_once, 25);
        // One token every 10 ms after that.
        assert!(!r.take(t0 + Duration::from_millis(5), 1000));
        assert!(r.take(t0 + Duration::from_millis(10), 1000));
        assert!(!r.take(t0 + Duration::from_millis(12), 1000));
    }

    #[test]
    fn a_steady_stream_at_the_rate_is_never_refused() {
        let t0 = Instant::now();
        let mut r = SetupRate::new(1000);
        // 1,000/s for ten seconds, with the jitter of a sender that batches
        // its requests every 5 ms.
        let refused = (0..10_000u64)
            .filter(|n| !r.take(t0 + Duration::from_millis(n / 5 * 5), 1000))
            .count();
        assert_eq!(refused, 0);
    }

    #[test]
    fn three_times_the_rate_gets_the_rate() {
        let t0 = Instant::now();
        let mut r = SetupRate::new(1000);
        let admitted = (0..30_000u64)
            .filter(|n| r.take(t0 + Duration::from_micros(n * 1_000 / 3), 1000))
            .count();
        // 10 s at 1,000/s plus the first burst.
        assert!((10_000..=10_000 + 250).contains(&admitted), "{admitted}");
    }

    #[test]
    fn a_share_of_the_rate_shrinks_refill_and_burst() {
        let t0 = Instant::now();
        let mut r = SetupRate::new(1000);
        // Half the rate: a burst of 125, then 500/s.
        assert_eq!((0..1000).filter(|_| r.take(t0, 500)).count(), 125);
        let admitted = (1..=1000u64)
            .filter(|n| r.take(t0 + Duration::from_millis(*n), 500))
            .count();
        assert!((499..=501).contains(&admitted), "{admitted}");
        assert_eq!(r.effective(500), 500);
        // None of it: nothing, even with tokens saved up.
        let later = t0 + Duration::from_secs(5);
        assert!(r.take(later, 1000));
        assert!(!r.take(later, 0));
        assert!(!r.take(later + Duration::from_secs(1), 0));
        assert_eq!(r.effective(0), 0);
    }

    #[test]
    fn idle_time_refills_only_to_the_burst() {
        let t0 = Instant::now();
        let mut r = SetupRate::new(40);
        assert!(r.take(t0, 1000));
        let later = t0 + Duration::from_secs(3600);
        assert_eq!((0..100).filter(|_| r.take(later, 1000)).count(), 10);
    }
}
