//! The 20 ms media clock of one worker, as plain state over `Instant`s.
//!
//! Deadlines are absolute (start + n × 20 ms) so scheduling error never
//! accumulates. A worker that wakes late runs the missed ticks back to back,
//! but at most [`MAX_CATCH_UP`] of them: beyond that the missed ticks are
//! skipped rather than bursting a pile of frames at every peer. Skipped ticks
//! still count, so RTP timestamps (derived from the tick number) stay in step
//! with wall time.

use std::time::{Duration, Instant};

pub const TICK: Duration = Duration::from_millis(20);
/// Ticks a late worker may run back to back before it skips instead.
pub const MAX_CATCH_UP: u32 = 2;

#[derive(Debug, Clone)]
pub struct MediaClock {
    deadline: Instant,
    tick: u64,
}

impl MediaClock {
    /// The first tick is due at `start`.
    pub fn new(start: Instant) -> MediaClock {
        MediaClock {
            deadline: start,
            tick: 0,
        }
    }

    /// When the current tick is due.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Number of the current tick (ticks since start, skipped ones included).
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// Moves to the next tick after the current one ran, `now` being the time
    /// it finished. Returns how many ticks were skipped to catch up.
    pub fn advance(&mut self, now: Instant) -> u64 {
        self.deadline += TICK;
        self.tick += 1;
        let behind = now.saturating_duration_since(self.deadline);
        if behind <= TICK * MAX_CATCH_UP {
            return 0;
        }
        let skip = (behind.as_nanos() / TICK.as_nanos()) as u32;
        self.deadline += TICK * skip;
        self.tick += u64::from(skip);
        u64::from(skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn deadlines_do_not_drift() {
        let t0 = Instant::now();
        let mut c = MediaClock::new(t0);
        for n in 0..10_000u64 {
            // Every tick finishes a little after it was due (wake-up latency).
            let finished = c.deadline() + Duration::from_micros(300 + n % 700);
            assert_eq!(c.advance(finished), 0);
        }
        assert_eq!(c.tick(), 10_000);
        assert_eq!(c.deadline(), t0 + ms(200_000));
    }

    #[test]
    fn short_stall_is_caught_up_back_to_back() {
        let t0 = Instant::now();
        let mut c = MediaClock::new(t0);
        // Tick 0 finishes 50 ms late: ticks 1 and 2 are already due.
        assert_eq!(c.advance(t0 + ms(50)), 0);
        let now = t0 + ms(50);
        let mut burst = 0;
        while c.deadline() <= now {
            burst += 1;
            c.advance(now);
        }
        assert_eq!(burst, 2, "at most a couple of frames in a burst");
        assert_eq!(c.deadline(), t0 + ms(60));
    }

    #[test]
    fn long_stall_skips_but_keeps_counting() {
        let t0 = Instant::now();
        let mut c = MediaClock::new(t0);
        let now = t0 + ms(1_005);
        let skipped = c.advance(now);
        assert_eq!(skipped, 49);
        assert_eq!(c.tick(), 50);
        assert_eq!(c.deadline(), t0 + ms(1_000));
        // One tick is due right away, then the clock is back on its grid.
        assert!(c.deadline() <= now);
        assert_eq!(c.advance(now), 0);
        assert_eq!(c.deadline(), t0 + ms(1_020));
    }
}
