//! `dialtone check` beyond syntax: the mistakes a typed editor would show,
//! found without Node or TypeScript.
//!
//! The API's names, arities, enum values and event payloads are read from
//! `sdk-types/dialtone.d.ts`, embedded at build time ([`typings`], read by
//! [`dts`]). The scenario is tokenized ([`tokens`]), folded into token trees
//! ([`tree`]) and read for a few shapes ([`syntax`]); one walk records
//! scopes, bindings and access chains ([`scopes`]); types are worked out
//! lazily from what flows into each binding ([`types`]); and [`rules`]
//! reports:
//!
//! - unknown members of `VoxEngine`, the event enums, `Net`, `Logger`, and of
//!   `Call`, `Player` and `Recorder` objects whose type is known;
//! - calls of API functions with too few or too many arguments;
//! - event names (strings or enum members) that a listener does not take.
//!
//! Values whose type cannot be told are never reported on.

mod dts;
mod rules;
mod scopes;
mod syntax;
mod tokens;
mod tree;
mod types;
mod typings;

use std::fmt;

pub use tokens::LexError;
pub use typings::{Arity, Typings, TypingsError};

use crate::Scenario;

/// One finding: `file:line:col: message`, line and column 1-based, at the
/// offending name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// Why a scenario could not be linted at all. Neither is a finding about the
/// scenario: lint only runs on scenarios QuickJS compiles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LintError {
    #[error("{file}:{source}")]
    Lex {
        file: String,
        #[source]
        source: LexError,
    },
    #[error(transparent)]
    Typings(#[from] TypingsError),
}

/// Lints a scenario that compiles. Findings are sorted by position.
pub fn lint(scenario: &Scenario) -> Result<Vec<Diagnostic>, LintError> {
    let typings = Typings::embedded()?;
    lint_with(typings, scenario)
}

/// Lints against the given declarations.
pub fn lint_with(typings: &Typings, scenario: &Scenario) -> Result<Vec<Diagnostic>, LintError> {
    let lex_error = |source| LintError::Lex {
        file: scenario.name.clone(),
        source,
    };
    let tokens = tokens::tokenize(&scenario.source).map_err(lex_error)?;
    let trees = tree::build(tokens).map_err(lex_error)?;
    let program = scopes::build(&trees);
    Ok(rules::check(typings, &program)
        .into_iter()
        .map(|f| Diagnostic {
            file: scenario.name.clone(),
            line: f.line,
            col: f.col,
            message: f.message,
        })
        .collect())
}

/// The candidate closest to `name` by edit distance (case differences count
/// less), if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| {
            let folded = distance(&lower, &c.to_lowercase());
            (folded, distance(name, c), c)
        })
        .filter(|(folded, _, _)| *folded <= limit)
        .min()
        .map(|(_, _, c)| c)
}

/// Levenshtein distance, with a swap of two neighbours counted as one edit.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, row) in d.chunks_mut(width).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests;
