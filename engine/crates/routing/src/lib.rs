//! Routing: decide which account an incoming INVITE belongs to, then which
//! of its applications' scenarios run.
//!
//! A rule's `pattern` must match the *whole* destination (the Request-URI
//! user part); an optional `exclude` pattern vetoes a match; optional `from`
//! and header patterns narrow it further. The rules of one account's
//! applications form one [`RuleSet`]; the highest priority matching rule
//! wins, ties going to the lower id (ids are time-ordered, so that is the
//! earlier rule).
//!
//! Before any rule runs, [`ClaimSet`] decides which account an INVITE
//! belongs to (the numbers, number patterns and SIP domains each account
//! claims); only that account's rules are then consulted. Claims of
//! different accounts never overlap: [`ClaimChecker`] refuses a claim that
//! could route one INVITE to two accounts.
//!
//! Everything here is pure: no I/O, so the SIP task can consult a compiled
//! set without awaiting anything.

mod claims;
mod overlap;

pub use claims::{
    host_of_uri, normalize_claim, Claim, ClaimError, ClaimKind, ClaimSet, MAX_DOMAIN_LEN,
    MAX_NUMBER_LEN,
};
pub use overlap::{ClaimChecker, OverlapError};

use regex::{Regex, RegexBuilder};

/// Longest accepted pattern source, in bytes. Patterns come from API users;
/// the cap keeps a hostile rule from costing much to compile.
pub const MAX_PATTERN_LEN: usize = 1024;

/// Upper bound on the compiled size of one pattern, so a short pattern with
/// huge repetition counts is rejected instead of eating memory.
pub(crate) const COMPILED_SIZE_LIMIT: usize = 1 << 20;

/// One routing rule as stored for an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub application: String,
    pub priority: i32,
    /// Must match the whole destination user part.
    pub pattern: String,
    /// If it matches the whole destination, the rule does not apply.
    pub exclude: Option<String>,
    /// If set, must match the whole From value given to the matcher.
    pub from: Option<String>,
    /// (header name, value pattern): each must match the whole value of some
    /// header with that name (names compared case-insensitively).
    pub headers: Vec<(String, String)>,
    /// Scenario names run in this order when the rule wins.
    pub scenarios: Vec<String>,
}

/// Which part of a rule failed to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleField {
    Pattern,
    Exclude,
    From,
    Header,
}

impl std::fmt::Display for RuleField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RuleField::Pattern => "pattern",
            RuleField::Exclude => "exclude",
            RuleField::From => "from",
            RuleField::Header => "header",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("rule {rule:?}: {field} is {len} bytes, longer than the {max} byte limit")]
    TooLong {
        rule: String,
        field: RuleField,
        len: usize,
        max: usize,
    },
    #[error("rule {rule:?}: invalid regular expression in {field}: {message}")]
    Invalid {
        rule: String,
        field: RuleField,
        message: String,
    },
    #[error("rule {rule:?}: empty header name")]
    EmptyHeaderName { rule: String },
}

/// Why a pattern source was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternProblem {
    TooLong(usize),
    Invalid(String),
}

/// The pattern as matched: the group keeps alternations inside the anchors
/// (`a|b` must become `^(?:a|b)$`, not `^a|b$`).
pub(crate) fn anchored(source: &str) -> String {
    format!("^(?:{source})$")
}

/// Compile one pattern with whole-string semantics and the size limits.
pub(crate) fn full_match(source: &str) -> Result<Regex, PatternProblem> {
    if source.len() > MAX_PATTERN_LEN {
        return Err(PatternProblem::TooLong(source.len()));
    }
    RegexBuilder::new(&anchored(source))
        .size_limit(COMPILED_SIZE_LIMIT)
        .dfa_size_limit(COMPILED_SIZE_LIMIT)
        .build()
        .map_err(|e| PatternProblem::Invalid(e.to_string()))
}

/// Compile one field of a rule.
fn compile(rule: &str, field: RuleField, source: &str) -> Result<Regex, RuleError> {
    full_match(source).map_err(|problem| match problem {
        PatternProblem::TooLong(len) => RuleError::TooLong {
            rule: rule.to_owned(),
            field,
            len,
            max: MAX_PATTERN_LEN,
        },
        PatternProblem::Invalid(message) => RuleError::Invalid {
            rule: rule.to_owned(),
            field,
            message,
        },
    })
}

/// Check that a rule's patterns compile, without building a whole set. Stores
/// call this before accepting a rule so bad patterns fail at write time.
pub fn validate(rule: &Rule) -> Result<(), RuleError> {
    CompiledRule::new(rule.clone()).map(|_| ())
}

#[derive(Debug)]
struct CompiledRule {
    rule: Rule,
    pattern: Regex,
    exclude: Option<Regex>,
    from: Option<Regex>,
    /// Lower-cased header name and its value pattern.
    headers: Vec<(String, Regex)>,
}

impl CompiledRule {
    fn new(rule: Rule) -> Result<Self, RuleError> {
        let id = rule.id.as_str();
        let pattern = compile(id, RuleField::Pattern, &rule.pattern)?;
        let exclude = rule
            .exclude
            .as_deref()
            .map(|p| compile(id, RuleField::Exclude, p))
            .transpose()?;
        let from = rule
            .from
            .as_deref()
            .map(|p| compile(id, RuleField::From, p))
            .transpose()?;
        let mut headers = Vec::with_capacity(rule.headers.len());
        for (name, value) in &rule.headers {
            let name = name.trim();
            if name.is_empty() {
                return Err(RuleError::EmptyHeaderName {
                    rule: id.to_owned(),
                });
            }
            headers.push((
                name.to_ascii_lowercase(),
                compile(id, RuleField::Header, value)?,
            ));
        }
        Ok(Self {
            rule,
            pattern,
            exclude,
            from,
            headers,
        })
    }

    fn matches(&self, to_user: &str, from: &str, headers: &[(String, String)]) -> bool {
        if !self.pattern.is_match(to_user) {
            return false;
        }
        if self.exclude.as_ref().is_some_and(|x| x.is_match(to_user)) {
            return false;
        }
        if self.from.as_ref().is_some_and(|f| !f.is_match(from)) {
            return false;
        }
        self.headers.iter().all(|(name, value)| {
            headers
                .iter()
                .any(|(n, v)| n.trim().eq_ignore_ascii_case(name) && value.is_match(v))
        })
    }
}

/// All rules, compiled and ordered for matching.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
}

impl RuleSet {
    /// Compile every rule; the first bad pattern fails the whole set so a
    /// broken rule is reported rather than silently skipped.
    pub fn compile(rules: Vec<Rule>) -> Result<RuleSet, RuleError> {
        let mut compiled = rules
            .into_iter()
            .map(CompiledRule::new)
            .collect::<Result<Vec<_>, _>>()?;
        // Stable sort: equal (priority, id) keep their insertion order.
        compiled.sort_by(|a, b| {
            b.rule
                .priority
                .cmp(&a.rule.priority)
                .then_with(|| a.rule.id.cmp(&b.rule.id))
        });
        Ok(RuleSet { rules: compiled })
    }

    /// The winning rule for an INVITE to `to_user` from `from`, or `None`.
    pub fn match_invite(
        &self,
        to_user: &str,
        from: &str,
        headers: &[(String, String)],
    ) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.matches(to_user, from, headers))
            .map(|r| &r.rule)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Rules in matching order.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|r| &r.rule)
    }
}

#[cfg(test)]
mod tests;
