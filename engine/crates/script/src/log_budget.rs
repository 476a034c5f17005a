//! A session's log budget: `Logger.write` lines per second and bytes per
//! second, each a token bucket with a burst. Past it lines are dropped and
//! counted; the next line that fits (or the session's end) is preceded by one
//! summary line, so a script looping on `Logger.write` costs the shared
//! history a trickle, not a flood.

use std::time::Instant;

/// Lines per second a session may log, and the burst.
pub(crate) const LINES_PER_SEC: f64 = 50.0;
pub(crate) const LINES_BURST: f64 = 200.0;
/// Bytes per second of log text a session may write, and the burst.
pub(crate) const BYTES_PER_SEC: f64 = 32.0 * 1024.0;
pub(crate) const BYTES_BURST: f64 = 128.0 * 1024.0;

struct Bucket {
    per_sec: f64,
    burst: f64,
    level: f64,
}

impl Bucket {
    fn new(per_sec: f64, burst: f64) -> Bucket {
        Bucket {
            per_sec,
            burst,
            level: burst,
        }
    }

    fn refill(&mut self, secs: f64) {
        self.level = (self.level + secs * self.per_sec).min(self.burst);
    }
}

/// Lines and bytes dropped since the last summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Dropped {
    pub lines: u64,
    pub bytes: u64,
}

impl Dropped {
    /// The summary line written in their place.
    pub fn summary(&self) -> String {
        format!(
            "{} log lines ({} bytes) dropped: over the session's budget of {} lines/s and {} KiB/s",
            self.lines,
            self.bytes,
            LINES_PER_SEC,
            BYTES_PER_SEC / 1024.0
        )
    }
}

pub(crate) struct LogBudget {
    lines: Bucket,
    bytes: Bucket,
    at: Instant,
    dropped: Dropped,
}

/// What to do with a line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Write it, after the summary of what was dropped before it, if any.
    Write(Option<Dropped>),
    Drop,
}

impl LogBudget {
    pub fn new(now: Instant) -> LogBudget {
        LogBudget {
            lines: Bucket::new(LINES_PER_SEC, LINES_BURST),
            bytes: Bucket::new(BYTES_PER_SEC, BYTES_BURST),
            at: now,
            dropped: Dropped::default(),
        }
    }

    /// Whether a line of `len` bytes fits the budget at `now`.
    pub fn admit(&mut self, now: Instant, len: usize) -> Verdict {
        let secs = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now.max(self.at);
        self.lines.refill(secs);
        self.bytes.refill(secs);
        let len = len as f64;
        // A line longer than the whole byte burst still fits an idle budget.
        let need = len.min(self.bytes.burst);
        if self.lines.level >= 1.0 && self.bytes.level >= need {
            self.lines.level -= 1.0;
            self.bytes.level -= need;
            Verdict::Write(self.take_dropped())
        } else {
            self.dropped.lines += 1;
            self.dropped.bytes += len as u64;
            Verdict::Drop
        }
    }

    /// What was dropped and not summarised yet (the session's end).
    pub fn take_dropped(&mut self) -> Option<Dropped> {
        let dropped = std::mem::take(&mut self.dropped);
        (dropped.lines > 0).then_some(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_then_lines_are_dropped_and_summarised() {
        let t0 = Instant::now();
        let mut budget = LogBudget::new(t0);
        for _ in 0..200 {
            assert_eq!(budget.admit(t0, 10), Verdict::Write(None));
        }
        for _ in 0..1000 {
            assert_eq!(budget.admit(t0, 10), Verdict::Drop);
        }
        // 20 ms later one line's worth is back: it is written after a summary.
        let later = t0 + Duration::from_millis(20);
        let Verdict::Write(Some(dropped)) = budget.admit(later, 10) else {
            panic!("expected a summary");
        };
        assert_eq!(
            dropped,
            Dropped {
                lines: 1000,
                bytes: 10_000
            }
        );
        assert!(dropped
            .summary()
            .starts_with("1000 log lines (10000 bytes) dropped"));
        assert_eq!(budget.take_dropped(), None);
    }

    #[test]
    fn the_rate_holds_over_time() {
        let t0 = Instant::now();
        let mut budget = LogBudget::new(t0);
        let mut written = 0;
        // 10 s of a line every millisecond.
        for ms in 0..10_000u64 {
            if matches!(
                budget.admit(t0 + Duration::from_millis(ms), 20),
                Verdict::Write(_)
            ) {
                written += 1;
            }
        }
        // The burst plus 50 a second.
        assert!((690..=710).contains(&written), "{written}");
    }

    #[test]
    fn bytes_are_limited_too() {
        let t0 = Instant::now();
        let mut budget = LogBudget::new(t0);
        let line = 8 * 1024;
        let mut written = 0;
        for _ in 0..100 {
            if matches!(budget.admit(t0, line), Verdict::Write(_)) {
                written += 1;
            }
        }
        assert_eq!(written, 16, "128 KiB of burst in 8 KiB lines");
        assert_eq!(budget.take_dropped().map(|d| d.lines), Some(84));
    }
}
