//! Whether two claims could route one INVITE to two accounts.
//!
//! - number vs number: equal;
//! - number vs pattern: the pattern matches the number;
//! - pattern vs pattern: some string matches both. Each pattern is compiled
//!   to a lazy DFA (regex-automata: the regex crate's own parser, so the
//!   same dialect and full-match semantics as the router), and the product
//!   automaton of the two is searched breadth-first from the pair of start
//!   states for a pair that accepts at end of input. That decides exactly
//!   whether the intersection of the two languages is empty. Only the states
//!   the search reaches are determinized (two patterns that part ways after
//!   a few bytes cost a few states, however large each is alone), and both
//!   the DFAs' caches and the number of state pairs are bounded: past a
//!   bound the answer is "cannot tell", which a caller that must be sound
//!   treats as an overlap;
//! - domain vs domain: equal (values are stored lower-cased);
//! - a domain never overlaps a number or a pattern: they are different
//!   kinds, tried in a fixed order (see [`crate::ClaimSet`]).

use std::collections::{HashSet, VecDeque};

use regex::Regex;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::LazyStateID;
use regex_automata::nfa::thompson;
use regex_automata::util::{start, syntax};
use regex_automata::{Anchored, MatchKind};

use crate::claims::{normalize_claim, ClaimError, ClaimKind};
use crate::{anchored, full_match, COMPILED_SIZE_LIMIT};

/// Bytes of determinized states one pattern's lazy DFA may hold.
const DFA_CACHE_LIMIT: usize = 8 << 20;
/// Pairs of states the product search may visit.
const MAX_PRODUCT_STATES: usize = 200_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverlapError {
    #[error(transparent)]
    Claim(#[from] ClaimError),
    /// The search ran out of budget or met what a DFA cannot decide. Names
    /// only the new claim: the other one belongs to another account.
    #[error("pattern {pattern:?} cannot be checked against the claims of other accounts ({reason}); use a simpler pattern")]
    TooComplex { pattern: String, reason: String },
}

/// The language of one pattern as a lazy DFA that reports every match, so
/// "accepts at end of input" from an anchored start is "matches the whole
/// string". Its cache is never cleared (a full cache is an error instead),
/// so state ids stay valid for the whole search.
struct Language {
    dfa: DFA,
    cache: Cache,
}

/// A state of one DFA, or why the search cannot go on.
type Step = Result<LazyStateID, String>;

impl Language {
    fn new(pattern: &str) -> Result<Language, String> {
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .unicode_word_boundary(true)
                    .cache_capacity(DFA_CACHE_LIMIT)
                    .minimum_cache_clear_count(Some(0)),
            )
            // regex's defaults: Unicode on, UTF-8 only.
            .syntax(syntax::Config::new())
            .thompson(
                thompson::Config::new()
                    .which_captures(thompson::WhichCaptures::None)
                    .nfa_size_limit(Some(COMPILED_SIZE_LIMIT)),
            )
            .build(&anchored(pattern))
            .map_err(|e| e.to_string())?;
        let cache = dfa.create_cache();
        Ok(Language { dfa, cache })
    }

    fn start(&mut self) -> Step {
        self.dfa
            .start_state(
                &mut self.cache,
                &start::Config::new().anchored(Anchored::Yes),
            )
            .map_err(|e| e.to_string())
    }

    fn next(&mut self, state: LazyStateID, byte: u8) -> Step {
        self.dfa
            .next_state(&mut self.cache, state, byte)
            .map_err(|_| "its automaton outgrew the budget".to_owned())
    }

    /// Whether the state accepts at end of input; `None` when that cannot
    /// be decided (a quit state).
    fn accepts_at_end(&mut self, state: LazyStateID) -> Result<Option<bool>, String> {
        let end = self
            .dfa
            .next_eoi_state(&mut self.cache, state)
            .map_err(|_| "its automaton outgrew the budget".to_owned())?;
        Ok((!end.is_quit()).then(|| end.is_match()))
    }
}

/// Whether some string is in both languages. `Err` with the reason when
/// the search ran out of budget or met a byte one DFA cannot decide (a
/// Unicode word boundary before non-ASCII text).
fn intersects(a: &mut Language, b: &mut Language) -> Result<bool, String> {
    // One byte per pair of equivalence classes: bytes that no DFA tells
    // apart lead to the same pair of states.
    let mut seen_classes = HashSet::new();
    let bytes: Vec<u8> = (0..=255u8)
        .filter(|&byte| {
            seen_classes.insert((
                a.dfa.byte_classes().get(byte),
                b.dfa.byte_classes().get(byte),
            ))
        })
        .collect();
    let first = (a.start()?, b.start()?);
    let mut undecided = false;
    let mut seen = HashSet::from([first]);
    let mut queue = VecDeque::from([first]);
    while let Some((sa, sb)) = queue.pop_front() {
        match (a.accepts_at_end(sa)?, b.accepts_at_end(sb)?) {
            (Some(true), Some(true)) => return Ok(true),
            (None, _) | (_, None) => undecided = true,
            _ => {}
        }
        for &byte in &bytes {
            let na = a.next(sa, byte)?;
            if na.is_dead() {
                continue;
            }
            let nb = b.next(sb, byte)?;
            if nb.is_dead() {
                continue;
            }
            if na.is_quit() || nb.is_quit() {
                undecided = true;
                continue;
            }
            if seen.insert((na, nb)) {
                if seen.len() > MAX_PRODUCT_STATES {
                    return Err(format!("more than {MAX_PRODUCT_STATES} states to compare"));
                }
                queue.push_back((na, nb));
            }
        }
    }
    if undecided {
        Err("it uses a Unicode word boundary".to_owned())
    } else {
        Ok(false)
    }
}

/// A new claim, ready to be compared with existing ones.
pub struct ClaimChecker {
    kind: ClaimKind,
    value: String,
    /// For a pattern: its regex (to test numbers) and its lazy DFA, whose
    /// states carry over from one comparison to the next.
    pattern: Option<(Regex, Language)>,
}

impl ClaimChecker {
    /// Check and normalize the new claim's value.
    pub fn new(kind: ClaimKind, value: &str) -> Result<ClaimChecker, ClaimError> {
        let value = normalize_claim(kind, value)?;
        let pattern = match kind {
            ClaimKind::Pattern => {
                let regex = full_match(&value).map_err(|_| ClaimError::Pattern(value.clone()))?;
                let language = Language::new(&value).map_err(ClaimError::Pattern)?;
                Some((regex, language))
            }
            ClaimKind::Number | ClaimKind::Domain => None,
        };
        Ok(ClaimChecker {
            kind,
            value,
            pattern,
        })
    }

    pub fn kind(&self) -> ClaimKind {
        self.kind
    }

    /// The value as it is stored.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether an INVITE could match both this claim and `other` (a stored
    /// claim of another account). `Err(TooComplex)` when that cannot be
    /// decided within the budget.
    pub fn overlaps(&mut self, kind: ClaimKind, other: &str) -> Result<bool, OverlapError> {
        match (self.kind, kind) {
            (ClaimKind::Number, ClaimKind::Number) | (ClaimKind::Domain, ClaimKind::Domain) => {
                Ok(self.value == normalize_claim(kind, other)?)
            }
            (ClaimKind::Number, ClaimKind::Pattern) => {
                let regex = full_match(other).map_err(|_| ClaimError::Pattern(other.to_owned()))?;
                Ok(regex.is_match(&self.value))
            }
            (ClaimKind::Pattern, ClaimKind::Number) => Ok(self
                .pattern
                .as_ref()
                .is_some_and(|(regex, _)| regex.is_match(other))),
            (ClaimKind::Pattern, ClaimKind::Pattern) => {
                if self.value == other {
                    return Ok(true);
                }
                let pattern = self.value.clone();
                let too_complex = |reason: String| OverlapError::TooComplex {
                    pattern: pattern.clone(),
                    reason,
                };
                let mut theirs = Language::new(other).map_err(|_| {
                    too_complex("a claim of another account is too complex".to_owned())
                })?;
                let Some((_, mine)) = self.pattern.as_mut() else {
                    return Ok(true);
                };
                let result = intersects(mine, &mut theirs);
                if result.is_err() {
                    // A full cache cannot be used again: start afresh.
                    mine.cache.reset(&mine.dfa);
                }
                result.map_err(too_complex)
            }
            (ClaimKind::Domain, _) | (_, ClaimKind::Domain) => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlap(a: (ClaimKind, &str), b: (ClaimKind, &str)) -> Result<bool, OverlapError> {
        let forward = ClaimChecker::new(a.0, a.1).unwrap().overlaps(b.0, b.1);
        // The same answer from the other side.
        let backward = ClaimChecker::new(b.0, b.1).unwrap().overlaps(a.0, a.1);
        assert_eq!(
            forward.as_ref().ok(),
            backward.as_ref().ok(),
            "{a:?} vs {b:?}"
        );
        forward
    }

    fn patterns(a: &str, b: &str) -> bool {
        overlap((ClaimKind::Pattern, a), (ClaimKind::Pattern, b)).unwrap()
    }

    use ClaimKind::{Domain, Number, Pattern};

    #[test]
    fn exact_numbers_overlap_when_equal() {
        assert!(overlap((Number, "+15550100"), (Number, "+15550100")).unwrap());
        assert!(!overlap((Number, "+15550100"), (Number, "15550100")).unwrap());
    }

    #[test]
    fn a_number_overlaps_a_pattern_that_matches_it_whole() {
        assert!(overlap((Number, "1234"), (Pattern, r"1\d{3}")).unwrap());
        assert!(!overlap((Number, "12345"), (Pattern, r"1\d{3}")).unwrap());
        assert!(!overlap((Number, "01234"), (Pattern, r"1\d{3}")).unwrap());
        assert!(overlap((Number, "+15550100"), (Pattern, r"\+1555.*")).unwrap());
        assert!(overlap((Number, "alice"), (Pattern, "(?i)ALICE|bob")).unwrap());
    }

    #[test]
    fn patterns_overlap_when_some_string_matches_both() {
        assert!(patterns(r"1\d{3}", r"12\d\d"));
        assert!(!patterns(r"1\d{3}", r"2\d{3}"));
        assert!(patterns(".*", r"1\d{3}"));
        assert!(patterns(".*", "x"));
        assert!(patterns(".*", "()"));
        assert!(!patterns("x+", "()"));
        assert!(patterns(r"\d+", r"[0-9]{10}"));
        assert!(!patterns(r"\d{3}", r"\d{4}"));
        assert!(!patterns(r"1\d{3}", r"1\d{3}\d"));
        // Full-match semantics: `12` is a prefix of `123` but not a match.
        assert!(!patterns("12", "123"));
        assert!(!patterns("a|b", "ab"));
        assert!(patterns("a|b", "b|c"));
        // No common string although each prefix of one fits the other.
        assert!(!patterns(r"\+1555\d{4}", r"\+1555\d{3}"));
        assert!(!patterns(r"(ab)*", r"a(ba)*"));
        assert!(patterns(r"(ab)*", r"(ab){3}|x"));
        // Unicode digits are digits to the router too.
        assert!(patterns(r"\d", "٣"));
        assert!(!patterns(r"[0-9]", "٣"));
        // Case-insensitive flags are honoured.
        assert!(patterns("(?i)ALICE", "alice"));
        assert!(!patterns("ALICE", "alice"));
        // A pattern matching nothing overlaps nothing, not even itself.
        assert!(!patterns(r"[^\s\S]", ".*"));
        // Anchors inside the pattern are allowed and respected.
        assert!(patterns(r"^1\d+$", r"1[0-5]"));
        // ASCII word boundaries are decided.
        assert!(patterns(r"(?-u:\b)1\d{3}(?-u:\b)", r"12\d\d"));
    }

    #[test]
    fn identical_patterns_overlap_without_building_anything() {
        assert!(patterns(r"\d+", r"\d+"));
    }

    #[test]
    fn domains_overlap_only_domains() {
        assert!(overlap((Domain, "Acme.Example.com"), (Domain, "acme.example.com.")).unwrap());
        assert!(!overlap((Domain, "acme.example.com"), (Domain, "example.com")).unwrap());
        assert!(!overlap((Domain, "acme.example.com"), (Pattern, ".*")).unwrap());
        assert!(!overlap((Domain, "acme.example.com"), (Number, "1234")).unwrap());
    }

    #[test]
    fn big_automata_cost_only_what_the_product_reaches() {
        // Alone, this needs 2^20 DFA states; against a pattern that parts
        // ways at once only a handful are built.
        let blowup = r"[ab]*a[ab]{20}";
        assert!(!patterns(blowup, r"\d+"));
        assert!(patterns(blowup, r"a{21}"));
        // Unicode classes repeated, as schemathesis likes them.
        assert!(patterns(
            r"\w{2,4}\W{2,4}\w{2,4}\D{2,4}\S{2,4}",
            r"ab--cdefgh"
        ));
        assert!(!patterns(r"\w{2,4}\w{2,4}\w{2,4}", r"\d{13}"));
    }

    #[test]
    fn undecidable_within_the_budget_is_an_error_not_a_no() {
        // Both sides explode together: the product outgrows its budget.
        let err = overlap((Pattern, r"[ab]*a[ab]{20}"), (Pattern, r"[ab]*b[ab]{20}")).unwrap_err();
        assert!(matches!(err, OverlapError::TooComplex { .. }), "{err}");
        assert!(
            !err.to_string().contains("b[ab]"),
            "names the new claim only: {err}"
        );
        // A Unicode word boundary cannot be decided by a DFA on non-ASCII text.
        let err = overlap((Pattern, r"\bé\b"), (Pattern, ".*")).unwrap_err();
        assert!(matches!(err, OverlapError::TooComplex { .. }), "{err}");
    }
}
