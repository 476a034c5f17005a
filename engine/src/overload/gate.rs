//! When the engine stops taking new sessions, as plain state over
//! `Instant`s: a resource that stays past its high mark for a short while
//! (memory: at once) closes the gate; the gate opens again only when every
//! resource has stayed below its low mark for a calm period, so admission
//! neither trips on one late wake-up nor flaps at the edge.

use std::time::{Duration, Instant};

use dialtone_calls::Overload;

/// One reading of the engine's resources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sample {
    /// The busiest media worker: ‰ of its 20 ms clock spent behind it.
    pub media: u64,
    /// The signalling loop: ‰ of wall time spent working (or, when it is
    /// higher, of the runtime's scheduling delay).
    pub signalling: u64,
    /// Resident memory, bytes.
    pub rss: u64,
    /// The memory budget, bytes; `None`: memory is not watched.
    pub budget: Option<u64>,
}

impl Sample {
    /// Resident memory as ‰ of the budget.
    pub fn memory(&self) -> u64 {
        match self.budget {
            Some(b) if b > 0 => self.rss.saturating_mul(1000) / b,
            _ => 0,
        }
    }
}

/// High and low marks, ‰.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    pub high: u64,
    pub low: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub media: Marks,
    pub signalling: Marks,
    pub memory: Marks,
    /// How long media or signalling must stay past a high mark before new
    /// sessions are refused.
    pub trip: Duration,
    /// How long every resource must stay below its low mark before new
    /// sessions are taken again.
    pub calm: Duration,
}

impl Default for Thresholds {
    /// Media: a worker 10 ms behind on average (of the 40 ms it may fall
    /// behind before it skips ticks and callers lose audio). Signalling: the
    /// loop busy 85 % of the time. Memory: 90 % of the budget. Either of the
    /// first two for 300 ms.
    fn default() -> Thresholds {
        Thresholds {
            media: Marks {
                high: 500,
                low: 250,
            },
            signalling: Marks {
                high: 850,
                low: 600,
            },
            memory: Marks {
                high: 900,
                low: 850,
            },
            trip: Duration::from_millis(300),
            calm: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Gate {
    marks: Thresholds,
    closed: Option<Overload>,
    hot_since: Option<Instant>,
    calm_since: Option<Instant>,
}

/// A change of the gate, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Closed(Overload),
    Opened,
}

impl Gate {
    pub fn new(marks: Thresholds) -> Gate {
        Gate {
            marks,
            closed: None,
            hot_since: None,
            calm_since: None,
        }
    }

    /// Why new sessions are refused now, if they are.
    pub fn state(&self) -> Option<Overload> {
        self.closed
    }

    /// Takes a reading at `now`; says when the gate closed or opened.
    pub fn update(&mut self, now: Instant, s: &Sample) -> Option<Change> {
        let m = &self.marks;
        // Memory past its mark, or a media worker behind by twice its high
        // mark over a whole window (not one late wake-up: the window
        // averages ten ticks), closes the gate at once.
        let severe = s.memory() >= m.memory.high || s.media >= m.media.high.saturating_mul(2);
        let hot = if s.memory() >= m.memory.high {
            Some(Overload::Memory)
        } else if s.media >= m.media.high {
            Some(Overload::Media)
        } else if s.signalling >= m.signalling.high {
            Some(Overload::Signalling)
        } else {
            None
        };
        if let Some(what) = hot {
            self.calm_since = None;
            if self.closed.is_some() {
                self.closed = Some(what);
                return None;
            }
            let since = *self.hot_since.get_or_insert(now);
            if !severe && now.saturating_duration_since(since) < m.trip {
                return None;
            }
            self.closed = Some(what);
            self.hot_since = None;
            return Some(Change::Closed(what));
        }
        self.hot_since = None;
        self.closed?;
        let cool =
            s.memory() < m.memory.low && s.media < m.media.low && s.signalling < m.signalling.low;
        if !cool {
            self.calm_since = None;
            return None;
        }
        let since = *self.calm_since.get_or_insert(now);
        if now.saturating_duration_since(since) < m.calm {
            return None;
        }
        self.closed = None;
        self.calm_since = None;
        Some(Change::Opened)
    }

    /// The share of the set-up rate new sessions may use, ‰ (Kamailio's
    /// `ratelimit` feedback, in its simplest form): all of it while media
    /// and signalling are below their low marks, none while the gate is
    /// closed, and in between a share that falls linearly from the low
    /// mark to the high one. Calls admitted while a worker is getting
    /// busier arrive ever more slowly, so the pipeline of calls whose cost
    /// has not shown yet stays short when the gate closes.
    pub fn share(&self, s: &Sample) -> u64 {
        if self.closed.is_some() {
            return 0;
        }
        let m = &self.marks;
        let media = headroom(s.media, m.media);
        let signalling = headroom(s.signalling, m.signalling);
        media.min(signalling)
    }
}

/// 1000 ‰ at or below the low mark, 0 at or above the high one, linear
/// between.
fn headroom(value: u64, marks: Marks) -> u64 {
    if value <= marks.low {
        return 1000;
    }
    if value >= marks.high || marks.high <= marks.low {
        return 0;
    }
    (marks.high - value) * 1000 / (marks.high - marks.low)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(media: u64, signalling: u64, rss: u64) -> Sample {
        Sample {
            media,
            signalling,
            rss,
            budget: Some(1000),
        }
    }

    #[test]
    fn a_resource_that_stays_past_its_high_mark_closes_the_gate() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut g = Gate::new(Thresholds::default());
        assert_eq!(g.update(t0, &sample(10, 10, 100)), None);
        assert_eq!(g.state(), None);
        // One late reading is not overload.
        assert_eq!(g.update(t0, &sample(550, 10, 100)), None);
        assert_eq!(g.update(t0 + ms(100), &sample(100, 10, 100)), None);
        assert_eq!(g.update(t0 + ms(400), &sample(550, 10, 100)), None);
        assert_eq!(g.update(t0 + ms(500), &sample(600, 10, 100)), None);
        assert_eq!(g.state(), None);
        assert_eq!(
            g.update(t0 + ms(700), &sample(550, 10, 100)),
            Some(Change::Closed(Overload::Media))
        );
        assert_eq!(g.state(), Some(Overload::Media));
        // Still hot: no new change, the reason follows the resource.
        assert_eq!(g.update(t0 + ms(800), &sample(10, 900, 100)), None);
        assert_eq!(g.state(), Some(Overload::Signalling));
        assert_eq!(g.update(t0 + ms(900), &sample(10, 10, 950)), None);
        assert_eq!(g.state(), Some(Overload::Memory));
    }

    #[test]
    fn a_media_worker_far_behind_closes_the_gate_at_once() {
        let mut g = Gate::new(Thresholds::default());
        assert_eq!(g.update(Instant::now(), &sample(999, 0, 0)), None);
        let mut g = Gate::new(Thresholds::default());
        assert_eq!(
            g.update(Instant::now(), &sample(1000, 0, 0)),
            Some(Change::Closed(Overload::Media))
        );
    }

    #[test]
    fn the_set_up_share_falls_between_the_marks() {
        let mut g = Gate::new(Thresholds::default());
        assert_eq!(g.share(&sample(0, 0, 0)), 1000);
        assert_eq!(g.share(&sample(250, 600, 0)), 1000);
        assert_eq!(g.share(&sample(375, 0, 0)), 500);
        assert_eq!(g.share(&sample(0, 725, 0)), 500);
        assert_eq!(g.share(&sample(375, 800, 0)), 200);
        assert_eq!(g.share(&sample(500, 0, 0)), 0);
        g.update(Instant::now(), &sample(0, 0, 950));
        assert_eq!(g.share(&sample(0, 0, 0)), 0, "closed");
    }

    #[test]
    fn memory_past_its_mark_closes_the_gate_at_once() {
        let mut g = Gate::new(Thresholds::default());
        assert_eq!(
            g.update(Instant::now(), &sample(0, 0, 901)),
            Some(Change::Closed(Overload::Memory))
        );
    }

    #[test]
    fn the_gate_opens_only_after_a_calm_period_below_every_low_mark() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut g = Gate::new(Thresholds::default());
        g.update(t0, &sample(0, 0, 950));
        assert_eq!(g.state(), Some(Overload::Memory));
        g.update(t0, &sample(600, 0, 0));
        assert_eq!(g.state(), Some(Overload::Media));
        // Between the marks: not calm.
        assert_eq!(g.update(t0 + ms(100), &sample(300, 0, 0)), None);
        assert_eq!(g.update(t0 + ms(1500), &sample(300, 0, 0)), None);
        // Below: the calm period starts.
        assert_eq!(g.update(t0 + ms(1600), &sample(100, 0, 0)), None);
        assert_eq!(g.update(t0 + ms(2500), &sample(100, 0, 0)), None);
        // A spike between the marks restarts it.
        assert_eq!(g.update(t0 + ms(2550), &sample(250, 0, 0)), None);
        assert_eq!(g.update(t0 + ms(3500), &sample(100, 0, 0)), None);
        assert_eq!(g.state(), Some(Overload::Media));
        assert_eq!(
            g.update(t0 + ms(4500), &sample(100, 0, 0)),
            Some(Change::Opened)
        );
        assert_eq!(g.state(), None);
    }

    #[test]
    fn without_a_budget_memory_is_not_watched() {
        let mut g = Gate::new(Thresholds::default());
        let s = Sample {
            rss: u64::MAX,
            budget: None,
            ..Sample::default()
        };
        assert_eq!(g.update(Instant::now(), &s), None);
        assert_eq!(s.memory(), 0);
    }
}
