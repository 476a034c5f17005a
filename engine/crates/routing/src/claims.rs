//! Claims: what an account receives. An inbound INVITE belongs to the
//! account whose claim matches its Request-URI, and only that account's rules
//! run for it.
//!
//! Three kinds, tried in this order:
//!
//! 1. **number**: the Request-URI user part, compared byte for byte
//!    (`+15550100`);
//! 2. **domain**: the Request-URI host, compared case-insensitively
//!    (`acme.example.com`, for user@domain routing);
//! 3. **pattern**: a full-match regular expression over the user part, in
//!    the rules' dialect and size limits (`1\d{3}`).
//!
//! Claims of different accounts never overlap within a kind (the store
//! refuses such a claim, see [`crate::ClaimChecker`]), so at most one
//! account's claim of each kind can match an INVITE, and the first kind that
//! matches decides. Across kinds the order decides: a number claim beats a
//! domain claim, which beats a pattern claim.

use std::collections::HashMap;

use regex::Regex;

use crate::{full_match, PatternProblem, MAX_PATTERN_LEN};

/// Longest number claim, in characters.
pub const MAX_NUMBER_LEN: usize = 64;
/// Longest domain claim, in characters (a DNS name's limit).
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest label of a domain.
const MAX_LABEL_LEN: usize = 63;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClaimKind {
    Number,
    Domain,
    Pattern,
}

impl ClaimKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimKind::Number => "number",
            ClaimKind::Domain => "domain",
            ClaimKind::Pattern => "pattern",
        }
    }

    pub fn parse(s: &str) -> Option<ClaimKind> {
        match s {
            "number" => Some(ClaimKind::Number),
            "domain" => Some(ClaimKind::Domain),
            "pattern" => Some(ClaimKind::Pattern),
            _ => None,
        }
    }
}

impl std::fmt::Display for ClaimKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("invalid number {value:?}: {reason}")]
    Number { value: String, reason: String },
    #[error("invalid domain {value:?}: {reason}")]
    Domain { value: String, reason: String },
    #[error("pattern is {len} bytes, longer than the {max} byte limit")]
    PatternTooLong { len: usize, max: usize },
    #[error("pattern is empty")]
    EmptyPattern,
    #[error("invalid regular expression in pattern: {0}")]
    Pattern(String),
}

/// One claim as the router sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub id: String,
    pub account: String,
    pub kind: ClaimKind,
    /// As stored: numbers and patterns as given, domains in lower case
    /// without a trailing dot.
    pub value: String,
}

/// Characters a number claim may hold: those of a SIP URI user part
/// (RFC 3261 `unreserved` and `user-unreserved`), without escapes.
fn is_number_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c)
}

fn number(value: &str) -> Result<String, ClaimError> {
    let bad = |reason: &str| ClaimError::Number {
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    if value.is_empty() {
        return Err(bad("must not be empty"));
    }
    if value.chars().count() > MAX_NUMBER_LEN {
        return Err(bad(&format!("longer than {MAX_NUMBER_LEN} characters")));
    }
    if let Some(c) = value.chars().find(|c| !is_number_char(*c)) {
        return Err(bad(&format!(
            "{c:?} cannot appear in a Request-URI user part (letters, digits and -_.!~*'()&=+$,;?/ can)"
        )));
    }
    Ok(value.to_owned())
}

/// A DNS name of two labels or more whose last label starts with a letter:
/// never an IP address, which is how the server itself is addressed and so
/// reaches every account's numbers.
fn domain(value: &str) -> Result<String, ClaimError> {
    let bad = |reason: &str| ClaimError::Domain {
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    if value.len() > MAX_DOMAIN_LEN {
        return Err(bad(&format!("longer than {MAX_DOMAIN_LEN} characters")));
    }
    let name = value.strip_suffix('.').unwrap_or(value);
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("a SIP domain is a DNS name of two labels or more"));
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(bad(&format!(
                "label {label:?} is not 1 to {MAX_LABEL_LEN} letters, digits and inner hyphens"
            )));
        }
    }
    let last = labels.last().map_or("", |l| l);
    if !last.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(bad(
            "the last label must start with a letter (IP addresses cannot be claimed)",
        ));
    }
    Ok(name.to_ascii_lowercase())
}

fn pattern(value: &str) -> Result<String, ClaimError> {
    if value.is_empty() {
        return Err(ClaimError::EmptyPattern);
    }
    full_match(value).map_err(|problem| match problem {
        PatternProblem::TooLong(len) => ClaimError::PatternTooLong {
            len,
            max: MAX_PATTERN_LEN,
        },
        PatternProblem::Invalid(message) => ClaimError::Pattern(message),
    })?;
    Ok(value.to_owned())
}

/// Check a claim's value and return it as stored (domains lower-cased,
/// without a trailing dot).
pub fn normalize_claim(kind: ClaimKind, value: &str) -> Result<String, ClaimError> {
    match kind {
        ClaimKind::Number => number(value),
        ClaimKind::Domain => domain(value),
        ClaimKind::Pattern => pattern(value),
    }
}

/// The host of a SIP URI (`sip:alice@Acme.Example.com:5060;transport=tcp`
/// → `acme.example.com`), lower-cased and without a trailing dot; `None`
/// for a URI without one (`tel:`).
pub fn host_of_uri(uri: &str) -> Option<String> {
    let uri = uri.trim().trim_start_matches('<');
    let (scheme, rest) = uri.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
        return None;
    }
    let rest = rest.split(['>', ';', '?']).next().unwrap_or("");
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Every account's claims, compiled for the router.
#[derive(Debug, Default)]
pub struct ClaimSet {
    claims: Vec<Claim>,
    numbers: HashMap<String, usize>,
    domains: HashMap<String, usize>,
    patterns: Vec<(Regex, usize)>,
}

impl ClaimSet {
    /// Compile every claim. A value that does not check (a corrupt row)
    /// fails the whole set, as a broken rule fails a `RuleSet`.
    pub fn compile(mut claims: Vec<Claim>) -> Result<ClaimSet, ClaimError> {
        // Ids are time-ordered: should two accounts' claims ever overlap
        // (they cannot through the store), the older claim wins.
        claims.sort_by(|a, b| a.id.cmp(&b.id));
        let mut set = ClaimSet::default();
        for (i, claim) in claims.iter().enumerate() {
            let value = normalize_claim(claim.kind, &claim.value)?;
            match claim.kind {
                ClaimKind::Number => {
                    set.numbers.entry(value).or_insert(i);
                }
                ClaimKind::Domain => {
                    set.domains.entry(value).or_insert(i);
                }
                ClaimKind::Pattern => {
                    let regex = full_match(&value).map_err(|p| match p {
                        PatternProblem::TooLong(len) => ClaimError::PatternTooLong {
                            len,
                            max: MAX_PATTERN_LEN,
                        },
                        PatternProblem::Invalid(m) => ClaimError::Pattern(m),
                    })?;
                    set.patterns.push((regex, i));
                }
            }
        }
        set.claims = claims;
        Ok(set)
    }

    /// The claim that decides who owns an INVITE to `user` at `host`:
    /// a number claim, else a domain claim, else a pattern claim.
    pub fn owner(&self, user: &str, host: Option<&str>) -> Option<&Claim> {
        self.matching(user, host, None)
    }

    /// `account`'s own claim that would take an INVITE to `user` at `host`
    /// if no other account's claim of an earlier kind did. Looks at nothing
    /// of other accounts, so it is safe to show to `account`.
    pub fn owner_among(&self, account: &str, user: &str, host: Option<&str>) -> Option<&Claim> {
        self.matching(user, host, Some(account))
    }

    /// The first claim (of `account` only, if given) matching, in the order
    /// claims decide.
    fn matching(&self, user: &str, host: Option<&str>, account: Option<&str>) -> Option<&Claim> {
        let eligible = |i: usize| {
            self.claims
                .get(i)
                .filter(|c| account.is_none_or(|a| c.account == a))
        };
        if let Some(claim) = self.numbers.get(user).and_then(|&i| eligible(i)) {
            return Some(claim);
        }
        let host = host.map(|h| h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase());
        if let Some(claim) = host
            .and_then(|h| self.domains.get(&h).copied())
            .and_then(eligible)
        {
            return Some(claim);
        }
        self.patterns
            .iter()
            .filter(|(regex, _)| regex.is_match(user))
            .find_map(|(_, i)| eligible(*i))
    }

    /// All claims, oldest first.
    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }

    pub fn len(&self) -> usize {
        self.claims.len()
    }

    pub fn is_empty(&self) -> bool {
        self.claims.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(id: &str, account: &str, kind: ClaimKind, value: &str) -> Claim {
        Claim {
            id: id.to_owned(),
            account: account.to_owned(),
            kind,
            value: value.to_owned(),
        }
    }

    #[test]
    fn numbers_are_user_parts() {
        assert_eq!(
            normalize_claim(ClaimKind::Number, "+15550100").as_deref(),
            Ok("+15550100")
        );
        assert!(normalize_claim(ClaimKind::Number, "alice.b-1").is_ok());
        for bad in ["", " 1", "1 2", "a@b", "%2B1", "x\u{0}", "ü"] {
            assert!(normalize_claim(ClaimKind::Number, bad).is_err(), "{bad:?}");
        }
        assert!(normalize_claim(ClaimKind::Number, &"1".repeat(64)).is_ok());
        assert!(normalize_claim(ClaimKind::Number, &"1".repeat(65)).is_err());
    }

    #[test]
    fn domains_are_dns_names_never_addresses() {
        assert_eq!(
            normalize_claim(ClaimKind::Domain, "Acme.Example.COM.").as_deref(),
            Ok("acme.example.com")
        );
        assert!(normalize_claim(ClaimKind::Domain, "a-1.b2.io").is_ok());
        for bad in [
            "",
            "localhost",
            "127.0.0.1",
            "10.0.0.1.",
            "[::1]",
            "::1",
            "acme..com",
            "-acme.com",
            "acme-.com",
            "acme.com..",
            "acme.1com",
            "ac me.com",
            "acme_x.com",
        ] {
            assert!(normalize_claim(ClaimKind::Domain, bad).is_err(), "{bad:?}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        assert!(normalize_claim(ClaimKind::Domain, &long_label).is_err());
        let long = format!("{}com", "abcdefghi.".repeat(25));
        assert_eq!(long.len(), 253);
        assert!(normalize_claim(ClaimKind::Domain, &long).is_ok());
        assert!(normalize_claim(ClaimKind::Domain, &format!("a{long}")).is_err());
    }

    #[test]
    fn patterns_follow_the_rule_limits() {
        assert!(normalize_claim(ClaimKind::Pattern, r"1\d{3}").is_ok());
        assert_eq!(
            normalize_claim(ClaimKind::Pattern, ""),
            Err(ClaimError::EmptyPattern)
        );
        assert!(matches!(
            normalize_claim(ClaimKind::Pattern, "("),
            Err(ClaimError::Pattern(_))
        ));
        assert!(matches!(
            normalize_claim(ClaimKind::Pattern, &"1".repeat(MAX_PATTERN_LEN + 1)),
            Err(ClaimError::PatternTooLong { .. })
        ));
        assert!(normalize_claim(ClaimKind::Pattern, r"\d{1000}{1000}").is_err());
    }

    #[test]
    fn hosts_come_out_of_sip_uris() {
        let host = |u: &str| host_of_uri(u);
        assert_eq!(
            host("sip:1234@Acme.Example.com").as_deref(),
            Some("acme.example.com")
        );
        assert_eq!(
            host("<sips:alice@acme.example.com.:5061;transport=tls>").as_deref(),
            Some("acme.example.com")
        );
        assert_eq!(
            host("sip:acme.example.com?subject=x").as_deref(),
            Some("acme.example.com")
        );
        assert_eq!(
            host("sip:bob@[2001:db8::1]:5060").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(host("sip:bob@127.0.0.1:5070").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("tel:+15550100"), None);
        assert_eq!(host("sip:"), None);
        assert_eq!(host("garbage"), None);
    }

    #[test]
    fn numbers_beat_domains_beat_patterns() {
        let set = ClaimSet::compile(vec![
            claim("1", "a", ClaimKind::Pattern, r"1\d{3}"),
            claim("2", "b", ClaimKind::Number, "1234"),
            claim("3", "c", ClaimKind::Domain, "acme.example.com"),
        ])
        .unwrap();
        let owner =
            |user: &str, host: Option<&str>| set.owner(user, host).map(|c| c.account.as_str());
        assert_eq!(owner("1234", Some("acme.example.com")), Some("b"));
        assert_eq!(owner("1235", Some("ACME.example.com.")), Some("c"));
        assert_eq!(owner("alice", Some("acme.example.com")), Some("c"));
        assert_eq!(owner("1235", Some("127.0.0.1")), Some("a"));
        assert_eq!(owner("1235", None), Some("a"));
        assert_eq!(owner("12345", Some("127.0.0.1")), None);
        assert_eq!(owner("", None), None);
    }

    #[test]
    fn an_account_sees_only_its_own_claims() {
        let set = ClaimSet::compile(vec![
            claim("1", "a", ClaimKind::Pattern, r"\d+"),
            claim("2", "b", ClaimKind::Number, "1234"),
        ])
        .unwrap();
        assert_eq!(
            set.owner_among("a", "1234", None).map(|c| c.id.as_str()),
            Some("1")
        );
        assert_eq!(
            set.owner_among("b", "1234", None).map(|c| c.id.as_str()),
            Some("2")
        );
        assert_eq!(set.owner_among("b", "1235", None), None);
        assert_eq!(set.owner_among("c", "1234", None), None);
    }

    #[test]
    fn a_corrupt_claim_fails_the_set() {
        assert!(ClaimSet::compile(vec![claim("1", "a", ClaimKind::Pattern, "(")]).is_err());
        assert!(ClaimSet::compile(vec![]).unwrap().is_empty());
    }
}
