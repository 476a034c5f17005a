//! How far behind its clock a media worker runs, as plain state over
//! `Instant`s: the engine refuses new calls on this figure before the calls
//! already up lose audio.
//!
//! For every tick the meter takes the time from the tick's deadline to the
//! moment the tick's work was done: the thread's wake-up latency (a busy or
//! shared core shows here first) plus the work itself. Over a window of
//! [`WINDOW_TICKS`] ticks the sum, as a share of the window's length, is the
//! worker's load: ‰ of the clock spent behind it. A worker idling with a few
//! calls reads 0–10 ‰; one that has to skip ticks reads 1000 ‰ or more.
//!
//! Time spent between ticks on commands (new endpoints, links, players) is
//! added too: a worker stops taking commands when a tick is due, so a surge
//! of set-ups does not make its ticks late, and without this the surge would
//! not show until the calls it brought started to cost.
//!
//! A worker with no units reads 0 whatever its timing: with nobody to hear
//! a late tick, a busy machine must not turn away the first call.

use std::time::{Duration, Instant};

use crate::clock::TICK;

/// Ticks per published figure: 200 ms, short enough to react to a surge of
/// set-ups within a few hundred calls, long enough not to flap on one late
/// wake-up.
pub const WINDOW_TICKS: u32 = 10;

#[derive(Debug, Default, Clone)]
pub struct LoadMeter {
    ticks: u32,
    behind: Duration,
}

impl LoadMeter {
    /// Time spent on commands between two ticks.
    pub fn add_busy(&mut self, busy: Duration) {
        self.behind += busy;
    }
}

impl LoadMeter {
    pub fn new() -> LoadMeter {
        LoadMeter::default()
    }

    /// A tick due at `due` finished its work at `done`, and `skipped` ticks
    /// after it were skipped to catch up. Returns the window's load in ‰
    /// when the window is complete.
    pub fn record(&mut self, due: Instant, done: Instant, skipped: u64) -> Option<u32> {
        self.behind += done.saturating_duration_since(due);
        // A skipped tick is a whole tick the worker did not keep up with.
        self.behind += TICK * u32::try_from(skipped).unwrap_or(u32::MAX / 64).min(1 << 16);
        self.ticks += 1;
        if self.ticks < WINDOW_TICKS {
            return None;
        }
        let window = TICK * WINDOW_TICKS;
        let permille = self.behind.as_micros() * 1000 / window.as_micros();
        self.ticks = 0;
        self.behind = Duration::ZERO;
        Some(u32::try_from(permille).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(meter: &mut LoadMeter, t0: Instant, lag: Duration, skipped: u64) -> Vec<u32> {
        (0..WINDOW_TICKS * 3)
            .filter_map(|n| {
                let due = t0 + TICK * n;
                meter.record(due, due + lag, skipped)
            })
            .collect()
    }

    #[test]
    fn an_idle_worker_reads_near_zero() {
        let mut m = LoadMeter::new();
        let out = run(&mut m, Instant::now(), Duration::from_micros(100), 0);
        assert_eq!(out, vec![5, 5, 5]);
    }

    #[test]
    fn lag_is_a_share_of_the_tick() {
        let mut m = LoadMeter::new();
        let out = run(&mut m, Instant::now(), Duration::from_millis(10), 0);
        assert_eq!(out, vec![500, 500, 500]);
    }

    #[test]
    fn skipped_ticks_read_as_overload() {
        let mut m = LoadMeter::new();
        let out = run(&mut m, Instant::now(), Duration::from_millis(1), 1);
        assert!(out.iter().all(|p| *p >= 1000), "{out:?}");
    }

    #[test]
    fn commands_between_ticks_count() {
        let mut m = LoadMeter::new();
        let t0 = Instant::now();
        let mut out = Vec::new();
        for n in 0..WINDOW_TICKS {
            // On time, but 12 ms of every tick went to commands.
            m.add_busy(Duration::from_millis(12));
            let due = t0 + TICK * n;
            out.extend(m.record(due, due, 0));
        }
        assert_eq!(out, vec![600]);
    }

    #[test]
    fn a_done_before_due_counts_as_zero() {
        let mut m = LoadMeter::new();
        let t0 = Instant::now() + Duration::from_secs(1);
        let mut last = None;
        for n in 0..WINDOW_TICKS {
            last = m.record(t0 + TICK * n, t0, 0);
        }
        assert_eq!(last, Some(0));
    }
}
