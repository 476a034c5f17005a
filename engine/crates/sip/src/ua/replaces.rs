//! RFC 3891 `Replaces`: a new INVITE that takes the place of one of our
//! confirmed dialogs (the far end of an attended transfer, or a pickup).

use super::leg::LegState;
use super::{LegId, UaCore};

/// A `Replaces` header value: `call-id;to-tag=..;from-tag=..[;early-only]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Replaces {
    pub call_id: String,
    /// The tag of the dialog's recipient side: our local tag.
    pub to_tag: String,
    /// The tag of the other side: the dialog's remote tag.
    pub from_tag: String,
    pub early_only: bool,
}

impl Replaces {
    /// `None` when a part the RFC requires is missing.
    pub fn parse(value: &str) -> Option<Replaces> {
        let mut parts = value.split(';');
        let call_id = parts.next()?.trim();
        if call_id.is_empty() {
            return None;
        }
        let (mut to_tag, mut from_tag, mut early_only) = (None, None, false);
        for p in parts {
            let (name, val) = match p.split_once('=') {
                Some((n, v)) => (n.trim(), v.trim()),
                None => (p.trim(), ""),
            };
            if name.eq_ignore_ascii_case("to-tag") {
                to_tag = Some(val.to_string());
            } else if name.eq_ignore_ascii_case("from-tag") {
                from_tag = Some(val.to_string());
            } else if name.eq_ignore_ascii_case("early-only") {
                early_only = true;
            }
        }
        Some(Replaces {
            call_id: call_id.to_string(),
            to_tag: to_tag.filter(|t| !t.is_empty())?,
            from_tag: from_tag.filter(|t| !t.is_empty())?,
            early_only,
        })
    }
}

/// Why a `Replaces` INVITE is refused (RFC 3891 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplacesRefusal {
    /// No such dialog, or not one that may be replaced: 481.
    NoDialog,
    /// `early-only` for a dialog already confirmed: 486.
    Confirmed,
    /// The header cannot be read: 400.
    Malformed,
}

impl ReplacesRefusal {
    pub fn code(self) -> (u16, &'static str) {
        match self {
            ReplacesRefusal::NoDialog => (481, "Call/Transaction Does Not Exist"),
            ReplacesRefusal::Confirmed => (486, "Busy Here"),
            ReplacesRefusal::Malformed => (400, "Bad Replaces Header"),
        }
    }
}

impl UaCore {
    /// The confirmed leg a `Replaces` header names. Only confirmed dialogs
    /// are replaced: an early one is still the scenario's to answer.
    pub(super) fn replaced_leg(&self, value: &str) -> Result<LegId, ReplacesRefusal> {
        let r = Replaces::parse(value).ok_or(ReplacesRefusal::Malformed)?;
        let id = *self
            .dialogs
            .get(&r.to_tag)
            .ok_or(ReplacesRefusal::NoDialog)?;
        let leg = self.legs.get(&id).ok_or(ReplacesRefusal::NoDialog)?;
        if leg.call_id != r.call_id || leg.remote_tag.as_deref() != Some(r.from_tag.as_str()) {
            return Err(ReplacesRefusal::NoDialog);
        }
        if leg.state != LegState::Confirmed || leg.hangup.is_some() {
            return Err(ReplacesRefusal::NoDialog);
        }
        if r.early_only {
            return Err(ReplacesRefusal::Confirmed);
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaces_header_is_read() {
        let r = Replaces::parse("abc@host; to-tag=t1 ;from-tag=f2;early-only").unwrap();
        assert_eq!(r.call_id, "abc@host");
        assert_eq!(r.to_tag, "t1");
        assert_eq!(r.from_tag, "f2");
        assert!(r.early_only);
        let r = Replaces::parse("x;FROM-TAG=a;To-Tag=b").unwrap();
        assert_eq!((r.to_tag.as_str(), r.from_tag.as_str()), ("b", "a"));
        assert!(!r.early_only);
    }

    #[test]
    fn a_header_without_both_tags_is_malformed() {
        assert_eq!(Replaces::parse("x;to-tag=a"), None);
        assert_eq!(Replaces::parse("x;from-tag=a"), None);
        assert_eq!(Replaces::parse(";to-tag=a;from-tag=b"), None);
        assert_eq!(Replaces::parse("x;to-tag=;from-tag=b"), None);
        assert_eq!(Replaces::parse(""), None);
    }
}
