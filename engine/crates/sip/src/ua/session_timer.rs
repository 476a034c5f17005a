//! RFC 4028 session timers: a dialog whose INVITE (or its 2xx) asks for a
//! session interval is refreshed by one side before the interval runs out,
//! and the other side ends it with a BYE if no refresh came.
//!
//! Dialtone refreshes with an UPDATE without a body (§9: it needs no
//! offer/answer), at half the interval; when the peer refreshes, a
//! re-INVITE or UPDATE from it resets the clock, and without one the call is
//! ended `interval - min(32 s, interval / 3)` after the last (§10).

use std::time::{Duration, Instant};

use crate::message::SipMessage;

/// The smallest interval we take (RFC 4028's floor, §4); a shorter request
/// gets 422 with `Min-SE: 90`.
pub const MIN_SE: u32 = 90;
/// The interval Dialtone asks for in its own INVITEs (FreeSWITCH's default).
pub const OUR_SESSION_EXPIRES: u32 = 1800;

/// Who refreshes the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    Uac,
    Uas,
}

impl Refresher {
    pub fn as_str(self) -> &'static str {
        match self {
            Refresher::Uac => "uac",
            Refresher::Uas => "uas",
        }
    }
}

/// A `Session-Expires` value: the interval and, if given, the refresher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpires {
    pub seconds: u32,
    pub refresher: Option<Refresher>,
}

impl SessionExpires {
    /// Parses `1800;refresher=uac`. `None` when the header is absent or its
    /// delta is not a number.
    pub fn of(msg: &SipMessage) -> Option<SessionExpires> {
        let value = msg.headers.get("Session-Expires")?;
        let mut parts = value.split(';');
        let seconds = parts.next()?.trim().parse::<u32>().ok()?;
        let refresher = parts.find_map(|p| {
            let (name, v) = p.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("refresher") {
                return None;
            }
            match v.trim().to_ascii_lowercase().as_str() {
                "uac" => Some(Refresher::Uac),
                "uas" => Some(Refresher::Uas),
                _ => None,
            }
        });
        Some(SessionExpires { seconds, refresher })
    }

    pub fn header(&self, refresher: Refresher) -> String {
        format!("{};refresher={}", self.seconds, refresher.as_str())
    }
}

/// Whether `msg` says its sender supports (or requires) session timers.
pub fn supports_timer(msg: &SipMessage) -> bool {
    msg.headers
        .values("Supported")
        .chain(msg.headers.values("Require"))
        .any(|t| t.eq_ignore_ascii_case("timer"))
}

/// The running timer of a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimer {
    pub interval: Duration,
    /// We send the refreshes; otherwise we watch for the peer's.
    pub we_refresh: bool,
    /// When we refresh next, or when we give up on the peer's refresh.
    pub due: Instant,
    /// The negotiated header, repeated in the answers to refreshes.
    pub expires: SessionExpires,
    pub refresher: Refresher,
}

impl SessionTimer {
    pub fn new(
        now: Instant,
        expires: SessionExpires,
        refresher: Refresher,
        we_are_uac: bool,
    ) -> Self {
        let we_refresh = (refresher == Refresher::Uac) == we_are_uac;
        let mut timer = SessionTimer {
            interval: Duration::from_secs(u64::from(expires.seconds.max(MIN_SE))),
            we_refresh,
            due: now,
            expires,
            refresher,
        };
        timer.refreshed(now);
        timer
    }

    /// A refresh went through (either way) at `now`: the clock starts again.
    pub fn refreshed(&mut self, now: Instant) {
        self.due = now
            + if self.we_refresh {
                self.interval / 2
            } else {
                self.interval - (self.interval / 3).min(Duration::from_secs(32))
            };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(extra: &str) -> SipMessage {
        let text = format!(
            "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        SipMessage::parse(text.as_bytes()).expect("parses")
    }

    #[test]
    fn session_expires_and_its_refresher_are_read() {
        let m = msg("Session-Expires: 1800;refresher=uac\r\nSupported: 100rel, timer\r\n");
        assert_eq!(
            SessionExpires::of(&m),
            Some(SessionExpires {
                seconds: 1800,
                refresher: Some(Refresher::Uac)
            })
        );
        assert!(supports_timer(&m));
        let compact = msg("x: 90\r\nRequire: timer\r\n");
        assert_eq!(
            SessionExpires::of(&compact),
            Some(SessionExpires {
                seconds: 90,
                refresher: None
            })
        );
        assert!(supports_timer(&compact));
        assert_eq!(SessionExpires::of(&msg("Session-Expires: soon\r\n")), None);
        assert!(!supports_timer(&msg("")));
    }

    #[test]
    fn the_refresher_refreshes_at_half_and_the_other_side_waits_nearly_all() {
        let t0 = Instant::now();
        let se = SessionExpires {
            seconds: 120,
            refresher: None,
        };
        let ours = SessionTimer::new(t0, se, Refresher::Uas, false);
        assert!(ours.we_refresh);
        assert_eq!(ours.due, t0 + Duration::from_secs(60));
        let theirs = SessionTimer::new(t0, se, Refresher::Uac, false);
        assert!(!theirs.we_refresh);
        assert_eq!(theirs.due, t0 + Duration::from_secs(120 - 32));
        let short = SessionTimer::new(
            t0,
            SessionExpires {
                seconds: 90,
                refresher: None,
            },
            Refresher::Uac,
            false,
        );
        assert_eq!(short.due, t0 + Duration::from_secs(60));
    }
}
