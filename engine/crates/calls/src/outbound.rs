//! Outbound legs: `callSIP` resolves its target, sends the INVITE with our
//! offer, and turns provisional and final responses into call events.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use dialtone_core::messages::{CallEvent, CallState, OutboundCall};
use dialtone_core::{CallId, SessionId};
use dialtone_sip::{Body, LegId, Peer, UaCommand, OUTBOUND_LEGS};

use crate::call::{Call, Phase};
use crate::codes;
use crate::ending::failed;
use crate::headers::{custom_only, sanitize};
use crate::io::{Direction, Fact, Job};
use crate::sdp::{local_media, sdp_body, sdp_text};
use crate::target::{parse_target, Target};
use crate::CallCore;

/// The SIP leg of an outbound call: numbered by the call, in the range the
/// user-agent core leaves to its callers.
pub(crate) fn outbound_leg(call: CallId) -> LegId {
    OUTBOUND_LEGS | call.0
}

impl CallCore {
    pub(crate) fn call_sip(&mut self, now: Instant, session: SessionId, out: Box<OutboundCall>) {
        let Some(id) = self.begin_outbound(now, session, &out) else {
            return;
        };
        let target = match parse_target(&out.to) {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(%session, call = %id, error = %e, "callSIP target refused");
                self.finish(id, now, failed(codes::BAD_TARGET, e));
                return;
            }
        };
        match target.literal_peer() {
            Some(peer) => self.dial_allowed(now, id, *out, target, peer),
            None => {
                let (host, port) = (target.host.clone(), target.port);
                self.resolving.insert(id, (out, target));
                self.output(crate::io::Output::Job(Job::Resolve {
                    call: id,
                    host,
                    port,
                }));
            }
        }
    }

    /// The `Call` of a new outbound call of `session`, counted and
    /// reported; `None` when it cannot go (the id is taken, or the session's
    /// Max-Forwards is spent: it failed with 483).
    pub(crate) fn begin_outbound(
        &mut self,
        now: Instant,
        session: SessionId,
        out: &OutboundCall,
    ) -> Option<CallId> {
        let id = out.call;
        let entry = self.sessions.get_mut(&session)?;
        if self.calls.contains_key(&id) {
            tracing::warn!(%session, call = %id, "outbound call with a call id already in use");
            return None;
        }
        entry.calls.push(id);
        let max_forwards = entry.max_forwards;
        let leg = outbound_leg(id);
        self.legs.insert(leg, id);
        self.calls.insert(id, Call::new(id, leg, session, false));
        self.fact(Fact::CallAttempt(Direction::Outbound));
        self.fact(Fact::CallStarted {
            session,
            call: id,
            direction: Direction::Outbound,
            from: out.callerid.clone().unwrap_or_default(),
            to: out.to.clone(),
        });
        if max_forwards == 0 {
            // The INVITE that started this session came through too many
            // hops already: a forwarding loop ends here (RFC 3261 §16.3).
            tracing::info!(%session, call = %id, "outbound call refused: Max-Forwards exhausted");
            self.finish(id, now, failed(483, codes::reason(483)));
            return None;
        }
        Some(id)
    }

    pub(crate) fn on_resolved(
        &mut self,
        now: Instant,
        id: CallId,
        result: Result<SocketAddr, String>,
    ) {
        let Some((out, target)) = self.resolving.remove(&id) else {
            return;
        };
        match result {
            Ok(addr) => {
                let peer = Peer {
                    transport: target.transport,
                    addr,
                };
                self.dial_allowed(now, id, *out, target, peer);
            }
            Err(e) => self.finish(id, now, failed(codes::BAD_TARGET, e)),
        }
    }

    /// Dials `peer` if the egress policy lets a session reach it; else the
    /// call fails with 403 and nothing is sent.
    pub(crate) fn dial_allowed(
        &mut self,
        now: Instant,
        id: CallId,
        out: OutboundCall,
        target: Target,
        peer: Peer,
    ) {
        match self.services.egress(peer.addr) {
            Ok(()) => self.dial(now, id, out, target, peer),
            Err(why) => {
                tracing::info!(call = %id, peer = %peer.addr, %why, "callSIP refused by the egress policy");
                let reason = format!("Forbidden (egress policy): {why}");
                self.finish(id, now, failed(codes::EGRESS_DENIED, reason));
            }
        }
    }

    fn dial(&mut self, now: Instant, id: CallId, out: OutboundCall, target: Target, peer: Peer) {
        let max_forwards = self
            .calls
            .get(&id)
            .and_then(|c| self.sessions.get(&c.session))
            .map_or(crate::DEFAULT_MAX_FORWARDS, |s| s.max_forwards);
        if let Err(e) = self.ensure_rtp(id) {
            tracing::error!(call = %id, error = %e, "no media port for the outbound call");
            self.finish(id, now, failed(codes::UNAVAILABLE, "No Media Port"));
            return;
        }
        let media_ip = self.cfg.media_ip;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let offer = dialtone_sdp::make_offer(&local_media(call));
        call.phase = Phase::Dialing;
        let leg = call.leg;
        let user = out
            .callerid
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or("dialtone");
        let from_uri = format!("sip:{}@{}", escape_user(user), host_for_uri(media_ip));
        let auth = match (out.auth_user, out.password) {
            (Some(u), Some(p)) => Some((u, p)),
            (None, Some(p)) => Some((user.to_string(), p)),
            _ => None,
        };
        self.ua(UaCommand::Dial {
            leg,
            target: peer,
            request_uri: target.uri.clone(),
            from_uri,
            from_display: out.display_name.filter(|d| !d.is_empty()),
            to_uri: target.uri,
            body: Some(sdp_body(offer)),
            headers: sanitize(out.headers),
            auth,
            max_forwards,
        });
    }

    /// The outbound call on `leg` while its INVITE waits for a final response.
    fn dialing(&self, leg: LegId) -> Option<(CallId, &Call)> {
        let id = self.call_of_leg(leg)?;
        let call = self.calls.get(&id)?;
        (!call.incoming && call.phase == Phase::Dialing).then_some((id, call))
    }

    /// 1xx to our INVITE: `Ringing` for 180–183, early media when it has SDP.
    pub(crate) fn on_provisional(
        &mut self,
        leg: LegId,
        code: u16,
        body: Option<Body>,
        headers: Vec<(String, String)>,
    ) {
        let Some((id, call)) = self.dialing(leg) else {
            return;
        };
        let session = call.session;
        let headers = custom_only(&headers);
        let mut early = false;
        if let Some(sdp) = sdp_text(body) {
            if call.negotiated.is_none() {
                match self.accept_answer_sdp(id, &sdp) {
                    Ok(n) => {
                        self.apply_negotiated(id, n);
                        early = true;
                    }
                    Err(e) => tracing::warn!(call = %id, error = %e, "early-media SDP unusable"),
                }
            }
        }
        if (180..=183).contains(&code) {
            self.emit(
                session,
                id,
                CallEvent::Ringing {
                    headers: headers.clone(),
                },
            );
        }
        if early {
            self.audio_started(id, headers);
        }
    }

    /// 2xx to our INVITE (ACK already sent): connected, or hung up at once
    /// when its SDP answer is unusable and no early answer came before.
    pub(crate) fn on_answered(
        &mut self,
        now: Instant,
        leg: LegId,
        body: Option<Body>,
        headers: Vec<(String, String)>,
    ) {
        if let Some((id, _)) = self.dialing(leg) {
            self.fork_answered(id, leg);
        }
        let Some((id, call)) = self.dialing(leg) else {
            return;
        };
        let headers = custom_only(&headers);
        let usable = match sdp_text(body) {
            // A 200 may carry a different answer than the 183 did; the 200 wins.
            Some(sdp) => match self.accept_answer_sdp(id, &sdp) {
                Ok(n) => {
                    self.apply_negotiated(id, n);
                    true
                }
                Err(e) if self.calls.get(&id).is_some_and(|c| c.negotiated.is_none()) => {
                    tracing::warn!(call = %id, error = %e, "answer SDP unusable; hanging up");
                    false
                }
                Err(e) => {
                    tracing::warn!(call = %id, error = %e, "200 SDP unusable; keeping the early-media answer");
                    true
                }
            },
            None if call.negotiated.is_none() => {
                tracing::warn!(call = %id, "200 without SDP answer; hanging up");
                false
            }
            None => true,
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if !usable {
            call.phase = Phase::Ending;
            self.ua(UaCommand::Hangup {
                leg,
                headers: Vec::new(),
            });
            return;
        }
        call.phase = Phase::Confirmed;
        call.connected_at = Some(now);
        let session = call.session;
        self.fact(Fact::CallAnswered { call: id });
        self.arm_max_duration(now, id);
        self.audio_started(id, headers.clone());
        self.emit(session, id, CallEvent::Connected { headers });
        self.set_state(id, CallState::Connected);
    }
}

pub(crate) fn host_for_uri(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// Keeps a caller id usable as a SIP URI user part.
pub(crate) fn escape_user(user: &str) -> String {
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(*c))
        .take(64)
        .collect();
    if user.is_empty() {
        "dialtone".into()
    } else {
        user
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_ids_become_uri_users() {
        assert_eq!(escape_user("+1 (555) 010"), "+1(555)010");
        assert_eq!(escape_user("<>"), "dialtone");
        assert_eq!(escape_user(&"9".repeat(100)).len(), 64);
        assert_eq!(host_for_uri("::1".parse().unwrap()), "[::1]");
    }

    #[test]
    fn outbound_legs_live_in_the_callers_range() {
        assert_eq!(outbound_leg(CallId(5)) & !OUTBOUND_LEGS, 5);
        assert_ne!(outbound_leg(CallId(5)), 5);
    }
}
