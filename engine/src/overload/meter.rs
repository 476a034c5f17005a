//! The signalling loop's busy share, as plain state over `Instant`s: the
//! loop reports how long each turn worked; every [`WINDOW`] of wall time
//! the share of it spent working is published, in ‰.

use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct BusyMeter {
    since: Instant,
    busy: Duration,
}

impl BusyMeter {
    pub fn new(now: Instant) -> BusyMeter {
        BusyMeter {
            since: now,
            busy: Duration::ZERO,
        }
    }

    /// A turn of the loop worked from `start` to `end`. Returns the busy
    /// share of the window, ‰, when a window is complete.
    pub fn record(&mut self, start: Instant, end: Instant) -> Option<u64> {
        self.busy += end.saturating_duration_since(start);
        let span = end.saturating_duration_since(self.since);
        if span < WINDOW {
            return None;
        }
        let permille = (self.busy.as_micros() * 1000 / span.as_micros().max(1)) as u64;
        self.since = end;
        self.busy = Duration::ZERO;
        Some(permille.min(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_of_wall_time_spent_working() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut m = BusyMeter::new(t0);
        // 1 ms of work every 10 ms: 10 %.
        let mut out = Vec::new();
        for n in 0..40u32 {
            let start = t0 + ms(10) * n + ms(9);
            if let Some(p) = m.record(start, start + ms(1)) {
                out.push(p);
            }
        }
        assert_eq!(out, vec![100, 100]);
    }

    #[test]
    fn a_loop_that_never_rests_reads_1000() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut m = BusyMeter::new(t0);
        let mut last = None;
        for n in 0..20u32 {
            if let Some(p) = m.record(t0 + ms(10) * n, t0 + ms(10) * (n + 1)) {
                last = Some(p);
            }
        }
        assert_eq!(last, Some(1000));
    }
}
