//! `VoxEngine.callUser`: one call that rings every binding of a user at
//! once (parallel forking, one SIP leg per binding, all with the same
//! offer). The first 2xx takes the call; the other legs get CANCEL with
//! `Reason: SIP;cause=200` (RFC 3326), and a 2xx that crosses its CANCEL
//! is ended with BYE by the SIP layer. The call fails only when every leg
//! has failed, with the most telling of their answers (RFC 3261 §16.7:
//! a 6xx, then busy, then other client errors, then server errors).
//!
//! The scenario sees one `Call`: `Ringing` as legs ring, early media from
//! the first leg that sends it, `Connected` from the winner.

use std::time::Instant;

use dialtone_core::messages::OutboundCall;
use dialtone_core::{CallId, SessionId};
use dialtone_sip::{LegId, UaCommand, OUTBOUND_LEGS};

use crate::call::Phase;
use crate::codes;
use crate::ending::failed;
use crate::headers::sanitize;
use crate::outbound::{escape_user, host_for_uri, outbound_leg};
use crate::registrar::{Binding, UserKey};
use crate::sdp::{local_media, sdp_body};
use crate::CallCore;

/// Leg ids of a call's second and later forks carry this bit (with the
/// outbound bit); the first fork is the call's own outbound leg.
pub(crate) const FORK_LEGS: LegId = 1 << 61;
/// Legs one `callUser` rings at most.
pub const MAX_FORKS: usize = 16;

/// The leg of fork `index` of `call`.
pub(crate) fn fork_leg(call: CallId, index: usize) -> LegId {
    if index == 0 {
        outbound_leg(call)
    } else {
        OUTBOUND_LEGS | FORK_LEGS | (call.0 << 4) | index as u64
    }
}

/// How a `callUser` INVITE presents itself.
pub(crate) struct Ring {
    /// The user part of From (the caller ID).
    pub from_user: String,
    pub display: Option<String>,
    /// Sent as they are (a script's are sanitized first).
    pub headers: Vec<(String, String)>,
}

/// CANCEL's reason for the forks that lost (RFC 3326).
fn completed_elsewhere() -> Vec<(String, String)> {
    vec![(
        "Reason".into(),
        "SIP;cause=200;text=\"Call completed elsewhere\"".into(),
    )]
}

/// How telling a failure is, for picking the one a forked call reports.
fn rank(code: u16) -> u8 {
    match code {
        600..=699 => 6,
        486 => 5,
        408 | 480 | 487 => 1,
        400..=499 => 4,
        500..=599 => 3,
        _ => 2,
    }
}

impl CallCore {
    pub(crate) fn call_user(&mut self, now: Instant, session: SessionId, out: Box<OutboundCall>) {
        let (account, application) = self
            .sessions
            .get(&session)
            .and_then(|s| s.owner.as_ref())
            .map(|o| (o.account.clone(), o.application.clone()))
            .unwrap_or_default();
        let key = UserKey {
            account,
            application,
            user: out.to.clone(),
        };
        self.call_user_key(now, session, out, key);
    }

    /// A call of `session` to user `key` (of any application of the
    /// session's account: an agent's phone).
    pub(crate) fn call_user_key(
        &mut self,
        now: Instant,
        session: SessionId,
        out: Box<OutboundCall>,
        key: UserKey,
    ) {
        let Some(id) = self.begin_outbound(now, session, &out) else {
            return;
        };
        let mut bindings = self.registrar.bindings(&key, now);
        // The most recently registered phones first, when there are too many.
        bindings.sort_by_key(|b| std::cmp::Reverse(b.since));
        bindings.truncate(MAX_FORKS);
        if bindings.is_empty() {
            tracing::info!(%session, call = %id, user = %key.user, "callUser: no registered phone");
            self.finish(id, now, failed(480, "User Not Registered"));
            return;
        }
        if let Err(e) = self.ensure_rtp(id) {
            tracing::error!(call = %id, error = %e, "no media port for callUser");
            self.finish(id, now, failed(codes::UNAVAILABLE, "No Media Port"));
            return;
        }
        let user = out.callerid.filter(|u| !u.is_empty());
        let display = out.display_name.filter(|d| !d.is_empty());
        let ring = Ring {
            from_user: user.unwrap_or_else(|| "dialtone".into()),
            display,
            headers: sanitize(out.headers),
        };
        self.ring_bindings(id, &bindings, ring, 0);
    }

    /// Rings `bindings` for call `id` (already dialling), as its forks from
    /// index `first` on: the first becomes the call's leg when `first` is 0,
    /// every other one a fork. Returns how many went out.
    pub(crate) fn ring_bindings(
        &mut self,
        id: CallId,
        bindings: &[Binding],
        ring: Ring,
        first: usize,
    ) -> usize {
        let Some(session) = self.calls.get(&id).map(|c| c.session) else {
            return 0;
        };
        let max_forwards = self
            .sessions
            .get(&session)
            .map_or(crate::DEFAULT_MAX_FORWARDS, |s| s.max_forwards);
        let media_ip = self.cfg.media_ip;
        let browsers = bindings.iter().any(Binding::is_webrtc);
        let webrtc_offer = if browsers {
            self.webrtc_ring_offer(id)
        } else {
            None
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return 0;
        };
        let offer = dialtone_sdp::make_offer(&local_media(call));
        call.phase = Phase::Dialing;
        let from_uri = format!(
            "sip:{}@{}",
            escape_user(&ring.from_user),
            host_for_uri(media_ip)
        );
        let room = MAX_FORKS.saturating_sub(first);
        let mut dials = Vec::with_capacity(bindings.len().min(room));
        // A browser gets the WebRTC offer, any other phone the G.711 one.
        let ringable = bindings
            .iter()
            .filter_map(|b| match (&webrtc_offer, b.is_webrtc()) {
                (Some(webrtc), true) => Some((b, webrtc)),
                (None, true) => None,
                (_, false) => Some((b, &offer)),
            });
        for (index, (binding, offer)) in ringable.take(room).enumerate() {
            let index = first + index;
            let leg = fork_leg(id, index);
            if index > 0 {
                call.forks.push(leg);
            }
            // Bindings are where an authenticated phone registered from:
            // they are reached even on private addresses, with no egress
            // check (a scenario cannot choose them).
            dials.push(UaCommand::Dial {
                leg,
                target: binding.source,
                request_uri: binding.contact.clone(),
                from_uri: from_uri.clone(),
                from_display: ring.display.clone(),
                to_uri: binding.aor.clone(),
                body: Some(sdp_body(offer.clone())),
                headers: ring.headers.clone(),
                auth: None,
                max_forwards,
            });
        }
        call.next_fork = first + dials.len();
        let sent = dials.len();
        for cmd in dials {
            if let Some(leg) = crate::core::ua_leg(&cmd) {
                self.legs.insert(leg, id);
            }
            self.ua(cmd);
        }
        sent
    }

    /// The WebRTC offer call `id` rings browsers with: made once, then
    /// reused for every fork. `None` when the WebRTC stack refused.
    fn webrtc_ring_offer(&mut self, id: CallId) -> Option<String> {
        let call = self.calls.get(&id)?;
        if let Some(offer) = &call.webrtc_offer {
            return Some(offer.clone());
        }
        let (unit, local) = (call.unit(), call.local_rtp?);
        match self.services.webrtc_offer(unit, local, true, true) {
            Ok(offer) => {
                if let Some(call) = self.calls.get_mut(&id) {
                    call.webrtc_offer = Some(offer.clone());
                }
                Some(offer)
            }
            Err(e) => {
                tracing::info!(call = %id, error = %e, "no WebRTC offer: browser phones not rung");
                None
            }
        }
    }

    /// A fork of call `id` answered: it becomes the call's leg and every
    /// other fork is cancelled.
    pub(crate) fn fork_answered(&mut self, id: CallId, leg: LegId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.forks.is_empty() {
            return;
        }
        let mut losers = std::mem::take(&mut call.forks);
        if call.leg != leg {
            losers.retain(|l| *l != leg);
            losers.push(call.leg);
            call.leg = leg;
        }
        call.fork_failure = None;
        for loser in losers {
            // Its end is the SIP layer's business now: nothing of it
            // reaches the call any more.
            self.legs.remove(&loser);
            self.ua(UaCommand::Hangup {
                leg: loser,
                headers: completed_elsewhere(),
            });
        }
    }

    /// A fork of a ringing call failed. `None`: other forks still ring and
    /// the call goes on. `Some`: this was the last; the code and reason the
    /// call fails with (the most telling of all its forks').
    pub(crate) fn fork_failed(
        &mut self,
        leg: LegId,
        code: u16,
        reason: String,
    ) -> Option<(u16, String)> {
        let Some(call) = self.call_of_leg(leg).and_then(|id| self.calls.get_mut(&id)) else {
            return Some((code, reason));
        };
        let best = match call.fork_failure.take() {
            Some((c, r)) if rank(c) >= rank(code) => (c, r),
            _ => (code, reason),
        };
        if call.forks.is_empty() || call.phase != Phase::Dialing {
            return Some(best);
        }
        if call.leg == leg {
            call.leg = call.forks.remove(0);
        } else {
            call.forks.retain(|l| *l != leg);
        }
        call.fork_failure = Some(best);
        self.legs.remove(&leg);
        None
    }

    /// Ends every fork of `id` but its current leg (the call is hung up
    /// while ringing, or forgotten).
    pub(crate) fn cancel_forks(&mut self, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        for leg in std::mem::take(&mut call.forks) {
            self.legs.remove(&leg);
            self.ua(UaCommand::Hangup {
                leg,
                headers: Vec::new(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_legs_are_distinct_and_outbound() {
        let a = fork_leg(CallId(7), 0);
        let b = fork_leg(CallId(7), 1);
        let c = fork_leg(CallId(8), 1);
        assert_eq!(a, outbound_leg(CallId(7)));
        assert!(b != a && b != c && c != fork_leg(CallId(7), 2));
        for leg in [b, c] {
            assert!(leg & OUTBOUND_LEGS != 0 && leg & FORK_LEGS != 0);
            assert!(!crate::link::is_link(leg));
        }
    }

    #[test]
    fn the_most_telling_failure_wins() {
        assert!(rank(603) > rank(486));
        assert!(rank(486) > rank(404));
        assert!(rank(404) > rank(503));
        assert!(rank(503) > rank(480));
        assert_eq!(rank(408), rank(487));
    }
}
