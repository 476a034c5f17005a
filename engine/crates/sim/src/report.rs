//! The result of one simulated run: the timeline of what happened, each
//! expectation's outcome, and the text shown to the user.

use std::fmt::Write as _;
use std::time::Duration;

use crate::expect::{Action, Expectation};

/// One line of the timeline, at a virtual time since the session started.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: Duration,
    /// The session it happened in, when it is not the spec's own (a
    /// conference session, by its conference id).
    pub session: Option<String>,
    pub what: Happened,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Happened {
    /// The scenario did this; expectations match against these.
    Action(Action),
    /// The simulated world did this (a key press, a callee answering, …).
    World(String),
    /// The session dispatched this event to the scenario (as its log
    /// writes it, e.g. `Call.Connected call=3`).
    Event(String),
}

/// How one expectation fared.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub expectation: Expectation,
    /// Index into the timeline of the entry it matched; for a `not`, of the
    /// entry that broke it.
    pub matched: Option<usize>,
    pub passed: bool,
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

/// The first entry in `range` that `expectation` matches, not yet `taken`.
fn find(
    expectation: &Expectation,
    timeline: &[Entry],
    range: std::ops::Range<usize>,
    taken: &[bool],
) -> Option<usize> {
    range
        .into_iter()
        .find(|&i| !taken[i] && expectation.matches_entry(&timeline[i]))
}

/// Matches expectations against the timeline.
///
/// Ordered (the default): each positive expectation takes the first
/// matching entry after the one the previous positive expectation took; a
/// missing one does not move the cursor, so later ones can still pass. A
/// `not` must not match between the entries its neighbours took (from the
/// start, to the end, when it has none on that side).
///
/// Unordered: each positive expectation takes the first matching entry no
/// other took, anywhere; a `not` must match nothing at all.
pub(crate) fn match_all(expect: &[Expectation], timeline: &[Entry], ordered: bool) -> Vec<Outcome> {
    let mut taken = vec![false; timeline.len()];
    let mut outcomes: Vec<Outcome> = expect
        .iter()
        .map(|e| Outcome {
            expectation: e.clone(),
            matched: None,
            passed: false,
        })
        .collect();
    let mut cursor = 0;
    // `not`s waiting for the next positive match to close their window.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let close = |outcomes: &mut Vec<Outcome>, open: &mut Vec<(usize, usize)>, end: usize| {
        for (index, start) in open.drain(..) {
            if let Expectation::Not(inner) = &outcomes[index].expectation {
                let broken = find(inner, timeline, start..end, &vec![false; timeline.len()]);
                outcomes[index].matched = broken;
                outcomes[index].passed = broken.is_none();
            }
        }
    };
    for index in 0..expect.len() {
        if matches!(expect[index], Expectation::Not(_)) {
            let start = if ordered { cursor } else { 0 };
            open.push((index, start));
            continue;
        }
        let start = if ordered { cursor } else { 0 };
        let found = find(&expect[index], timeline, start..timeline.len(), &taken);
        if ordered {
            close(&mut outcomes, &mut open, found.unwrap_or(timeline.len()));
        }
        if let Some(at) = found {
            taken[at] = true;
            if ordered {
                cursor = at + 1;
            }
        }
        outcomes[index].matched = found;
        outcomes[index].passed = found.is_some();
    }
    close(&mut outcomes, &mut open, timeline.len());
    outcomes
}

fn seconds(at: Duration) -> String {
    format!("{:>8.3} s", at.as_secs_f64())
}

impl Report {
    /// Every expectation held and the script failed only where the spec
    /// says it does.
    pub fn passed(&self) -> bool {
        self.outcomes.iter().all(|o| o.passed) && self.unexpected_errors().is_empty()
    }

    /// Script errors (uncaught exceptions, limits, compile errors) no
    /// `error` expectation took, by timeline index.
    pub fn unexpected_errors(&self) -> Vec<usize> {
        self.errors()
            .into_iter()
            .filter(|i| {
                !self
                    .outcomes
                    .iter()
                    .any(|o| o.matched == Some(*i) && o.expectation.is_error())
            })
            .collect()
    }

    /// Every script error, by timeline index.
    pub fn errors(&self) -> Vec<usize> {
        self.timeline
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e.what, Happened::Action(Action::Error(_))))
            .map(|(i, _)| i)
            .collect()
    }

    /// `PASS`/`FAIL` per expectation; on failure, the observed timeline with
    /// matched actions marked `=`, missing expectations `-` where they were
    /// expected, and the rest unmarked.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for outcome in &self.outcomes {
            let not = matches!(outcome.expectation, Expectation::Not(_));
            let _ = match (outcome.matched, not) {
                (Some(index), false) => writeln!(
                    out,
                    "  PASS  {}  (at{})",
                    outcome.expectation,
                    seconds(self.timeline[index].at)
                ),
                (None, false) => writeln!(out, "  FAIL  {}  (not observed)", outcome.expectation),
                (None, true) => writeln!(out, "  PASS  {}", outcome.expectation),
                (Some(index), true) => writeln!(
                    out,
                    "  FAIL  {}  (observed at{})",
                    outcome.expectation,
                    seconds(self.timeline[index].at)
                ),
            };
        }
        let unexpected = self.unexpected_errors();
        for index in self.errors() {
            let entry = &self.timeline[index];
            let Happened::Action(Action::Error(text)) = &entry.what else {
                continue;
            };
            let _ = if unexpected.contains(&index) {
                writeln!(
                    out,
                    "  FAIL  unexpected script error (at{}): {text}\n        (expect it with {{\"error\": \"…\"}} if it is meant to happen)",
                    seconds(entry.at)
                )
            } else {
                writeln!(out, "  error (at{}): {text}", seconds(entry.at))
            };
        }
        if !self.passed() {
            out.push_str(
                "  observed (= matched, - expected but missing, ! broke a \"not\", > event given to the scenario):\n",
            );
            out.push_str(&self.diff());
        }
        if self.timed_out {
            out.push_str("  note: the spec's timeout ended the session\n");
        }
        let passed = self.outcomes.iter().filter(|o| o.passed).count();
        let unexpected = match self.unexpected_errors().len() {
            0 => String::new(),
            1 => ", 1 unexpected script error".to_string(),
            n => format!(", {n} unexpected script errors"),
        };
        let _ = writeln!(
            out,
            "  {}: {passed}/{} expectations{unexpected}, {:.1} s of call time in {:.1} ms",
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
            match (outcome.matched, &outcome.expectation) {
                (_, Expectation::Not(_)) => {}
                (Some(index), _) => slot = index + 1,
                (None, _) => missing_after[slot].push(&outcome.expectation),
            }
        }
        let matched: Vec<usize> = self
            .outcomes
            .iter()
            .filter(|o| !matches!(o.expectation, Expectation::Not(_)))
            .filter_map(|o| o.matched)
            .collect();
        let broke: Vec<usize> = self
            .outcomes
            .iter()
            .filter(|o| matches!(o.expectation, Expectation::Not(_)))
            .filter_map(|o| o.matched)
            .collect();
        let mark = |index: usize| {
            if broke.contains(&index) {
                '!'
            } else if matched.contains(&index) {
                '='
            } else {
                ' '
            }
        };
        let mut out = String::new();
        let missing = |out: &mut String, slot: usize| {
            for expectation in &missing_after[slot] {
                let _ = writeln!(out, "    - {:>10}  {expectation}", "");
            }
        };
        missing(&mut out, 0);
        for (index, entry) in self.timeline.iter().enumerate() {
            let at = seconds(entry.at);
            let from = match &entry.session {
                Some(name) => format!("[{name}] "),
                None => String::new(),
            };
            let _ = match &entry.what {
                Happened::Action(action) => {
                    writeln!(out, "    {} {at}  {from}{action}", mark(index))
                }
                Happened::World(what) => writeln!(out, "      {at}  {from}({what})"),
                Happened::Event(text) => writeln!(out, "    {} {at}  {from}> {text}", mark(index)),
            };
            missing(&mut out, index + 1);
        }
        out
    }
}
