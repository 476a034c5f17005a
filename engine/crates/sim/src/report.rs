//! The result of one simulated run: the timeline of what happened, each
//! expectation's outcome, and the text shown to the user.

use std::fmt::Write as _;
use std::time::Duration;

use crate::expect::{Action, Expectation};

/// One line of the timeline, at a virtual time since the session started.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: Duration,
    pub what: Happened,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Happened {
    /// The scenario did this; expectations match against these.
    Action(Action),
    /// The simulated world did this (a key press, a callee answering, …).
    World(String),
}

/// How one expectation fared.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub expectation: Expectation,
    /// Index into the timeline of the action it matched.
    pub matched: Option<usize>,
}

/// Everything one `run` found.
#[derive(Debug, Clone)]
pub struct Report {
    pub timeline: Vec<Entry>,
    pub outcomes: Vec<Outcome>,
    /// Virtual time from the start of the session to its end.
    pub virtual_time: Duration,
    /// Real time the run took.
    pub wall_time: Duration,
    /// Set when the spec's timeout ended the session.
    pub timed_out: bool,
}

/// Matches expectations in order: each consumes the first matching action
/// after the one the previous expectation matched. A missing expectation
/// does not move the cursor, so later ones can still pass.
pub(crate) fn match_all(expect: &[Expectation], timeline: &[Entry]) -> Vec<Outcome> {
    let mut cursor = 0;
    let mut outcomes = Vec::with_capacity(expect.len());
    for expectation in expect {
        let found = timeline
            .iter()
            .enumerate()
            .skip(cursor)
            .find(|(_, entry)| match &entry.what {
                Happened::Action(action) => expectation.matches(action),
                Happened::World(_) => false,
            })
            .map(|(index, _)| index);
        if let Some(index) = found {
            cursor = index + 1;
        }
        outcomes.push(Outcome {
            expectation: expectation.clone(),
            matched: found,
        });
    }
    outcomes
}

fn seconds(at: Duration) -> String {
    format!("{:>8.3} s", at.as_secs_f64())
}

impl Report {
    pub fn passed(&self) -> bool {
        self.outcomes.iter().all(|o| o.matched.is_some())
    }

    /// `PASS`/`FAIL` per expectation; on failure, the observed timeline with
    /// matched actions marked `=`, missing expectations `-` where they were
    /// expected, and the rest unmarked.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for outcome in &self.outcomes {
            let _ = match outcome.matched {
                Some(index) => writeln!(
                    out,
                    "  PASS  {}  (at{})",
                    outcome.expectation,
                    seconds(self.timeline[index].at)
                ),
                None => writeln!(out, "  FAIL  {}  (not observed)", outcome.expectation),
            };
        }
        if !self.passed() {
            out.push_str("  observed (= matched, - expected but missing):\n");
            out.push_str(&self.diff());
        }
        if self.timed_out {
            out.push_str("  note: the spec's timeout ended the session\n");
        }
        let passed = self.outcomes.iter().filter(|o| o.matched.is_some()).count();
        let _ = writeln!(
            out,
            "  {}: {passed}/{} expectations, {:.1} s of call time in {:.1} ms",
            if self.passed() { "ok" } else { "FAILED" },
            self.outcomes.len(),
            self.virtual_time.as_secs_f64(),
            self.wall_time.as_secs_f64() * 1000.0
        );
        out
    }

    fn diff(&self) -> String {
        // Missing expectations go right after the action the previous
        // matched expectation consumed (or at the top).
        let mut missing_after: Vec<Vec<&Expectation>> = vec![Vec::new(); self.timeline.len() + 1];
        let mut slot = 0;
        for outcome in &self.outcomes {
            match outcome.matched {
                Some(index) => slot = index + 1,
                None => missing_after[slot].push(&outcome.expectation),
            }
        }
        let matched: Vec<usize> = self.outcomes.iter().filter_map(|o| o.matched).collect();
        let mut out = String::new();
        let missing = |out: &mut String, slot: usize| {
            for expectation in &missing_after[slot] {
                let _ = writeln!(out, "    - {:>10}  {expectation}", "");
            }
        };
        missing(&mut out, 0);
        for (index, entry) in self.timeline.iter().enumerate() {
            let _ = match &entry.what {
                Happened::Action(action) => {
                    let mark = if matched.contains(&index) { '=' } else { ' ' };
                    writeln!(out, "    {mark} {}  {action}", seconds(entry.at))
                }
                Happened::World(what) => writeln!(out, "      {}  ({what})", seconds(entry.at)),
            };
            missing(&mut out, index + 1);
        }
        out
    }
}
