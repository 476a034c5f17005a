//! Calls between two sessions of this engine: `VoxEngine.callConference`.
//!
//! A link is a pair of calls with no SIP peer: the caller's (outbound, in
//! the session that called) and the callee's (inbound, in the conference
//! session, which gets `AppEvents.CallAlerting` for it). Each half has a leg
//! id from [`LINK_LEGS`]; what the core asks of the SIP layer for such a
//! leg is turned here into the event the other half's SIP layer would have
//! reported (an answer into `Answered` and `Acked`, a BYE into `Terminated`
//! on both sides, a rejection into `Failed`, INFO and MESSAGE into their
//! events), so a linked call goes through exactly the states, timers and
//! events of a SIP call, and the scenario cannot tell them apart.
//!
//! Media: the two halves are a pair of link units in the media engine
//! (`dialtone_media::link`), joined in memory across media workers: what
//! one half is given to hear, the other gives to whoever hears it. The
//! halves still exchange SDP (for a placeholder address, port 9) so that
//! every step of a SIP call applies unchanged. A conference
//! session is found by its id within the calling session's account: the
//! first `callConference` to an id starts a session by the account's rules
//! (as an INVITE to that number would), later ones join it while it lives.

use std::collections::HashMap;
use std::time::Instant;

use dialtone_core::messages::{IncomingCall, OutboundCall, SessionEvent};
use dialtone_core::{CallId, SessionId};
use dialtone_sip::{LegId, UaCommand, UaEvent};

use crate::call::{Call, Phase};
use crate::codes;
use crate::ending::failed;
use crate::io::{Direction, Fact, MediaCommand};
use crate::sdp::local_media;
use crate::services::Route;
use crate::CallCore;

/// Leg ids of linked calls: bit 62 set (outbound SIP legs use bit 63, the
/// SIP layer's own ids count up from 1).
pub const LINK_LEGS: LegId = 1 << 62;

/// One half of a link.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkHalf {
    pub partner: LegId,
    /// The callee answered: ending is a BYE, not a CANCEL.
    pub confirmed: bool,
}

/// The links of the core and the conference sessions by (account, id).
#[derive(Debug, Default)]
pub(crate) struct Links {
    pub halves: HashMap<LegId, LinkHalf>,
    pub next: u64,
    /// Events waiting to be delivered (after the input that caused them).
    pub looped: std::collections::VecDeque<UaEvent>,
    pub conference_sessions: HashMap<(Option<String>, String), SessionId>,
    /// The time of the input being handled, for looped events.
    pub now: Option<Instant>,
}

pub(crate) fn is_link(leg: LegId) -> bool {
    leg & LINK_LEGS != 0 && leg & dialtone_sip::OUTBOUND_LEGS == 0
}

impl CallCore {
    fn new_link_leg(&mut self) -> LegId {
        self.links.next += 1;
        LINK_LEGS | self.links.next
    }

    /// `VoxEngine.callConference(id, ...)`: `out.to` is the conference id.
    pub(crate) fn call_conference(&mut self, now: Instant, session: SessionId, out: OutboundCall) {
        let x = out.call;
        let Some(entry) = self.sessions.get_mut(&session) else {
            return;
        };
        if self.calls.contains_key(&x) {
            return;
        }
        entry.calls.push(x);
        let owner = entry.owner.clone();
        let lx = self.new_link_leg();
        self.legs.insert(lx, x);
        self.calls.insert(x, Call::new(x, lx, session, false));
        self.fact(Fact::CallAttempt(Direction::Outbound));
        self.fact(Fact::CallStarted {
            session,
            call: x,
            direction: Direction::Outbound,
            from: out.callerid.clone().unwrap_or_default(),
            to: format!("conference:{}", out.to),
        });
        // No RTP port: the media engine joins the halves in memory.
        let placeholder = std::net::SocketAddr::new(self.cfg.media_ip, 9);
        let Some(call) = self.calls.get_mut(&x) else {
            return;
        };
        call.local_rtp = Some(placeholder);
        let offer = dialtone_sdp::make_offer(&local_media(call));
        call.phase = Phase::Dialing;
        let account = owner.as_ref().map(|o| o.account.clone());
        let key = (account.clone(), out.to.clone());
        let existing = self
            .links
            .conference_sessions
            .get(&key)
            .copied()
            .filter(|s| self.sessions.get(s).is_some_and(|e| !e.terminating));
        let y = CallId::next();
        let ly = self.new_link_leg();
        let callerid = out.callerid.clone().unwrap_or_default();
        let incoming = IncomingCall {
            call: y,
            callerid: callerid.clone(),
            destination: out.to.clone(),
            display_name: out.display_name.clone().unwrap_or_default(),
            from_uri: format!("sip:{callerid}@dialtone"),
            to_uri: format!("sip:{}@dialtone", out.to),
            headers: out.headers.clone(),
        };
        let mut callee = Call::new(y, ly, SessionId::new(), true);
        callee.remote_offer = Some(offer);
        callee.local_rtp = Some(placeholder);
        let target = match existing {
            Some(s) => {
                callee.session = s;
                if let Some(e) = self.sessions.get_mut(&s) {
                    e.calls.push(y);
                }
                self.calls.insert(y, callee);
                self.event(s, SessionEvent::CallAlerting(incoming));
                s
            }
            None => {
                let (scenario, custom_data, route_owner) = match self
                    .services
                    .route_conference(owner.as_ref(), &out.to)
                {
                    Route::Session {
                        scenario,
                        custom_data,
                        owner,
                    } => (scenario, custom_data, owner),
                    Route::Reject { code, reason } => {
                        tracing::info!(call = %x, conference = %out.to, code, "callConference: no route");
                        self.finish(x, now, failed(code, reason));
                        return;
                    }
                };
                if let Err(e) = self.admit_owner_counted(account.as_deref()) {
                    self.finish(x, now, failed(codes::UNAVAILABLE, e.to_string()));
                    return;
                }
                let s = SessionId::new();
                callee.session = s;
                self.calls.insert(y, callee);
                self.spawn(
                    s,
                    scenario,
                    custom_data,
                    route_owner,
                    Some(SessionEvent::CallAlerting(incoming)),
                    vec![y],
                );
                self.links.conference_sessions.insert(key, s);
                s
            }
        };
        self.legs.insert(ly, y);
        let (a_shard, b_shard) = (self.shard(session), self.shard(target));
        self.media(MediaCommand::AddLink {
            a: x.into(),
            a_shard,
            b: y.into(),
            b_shard,
        });
        self.links.halves.insert(
            lx,
            LinkHalf {
                partner: ly,
                confirmed: false,
            },
        );
        self.links.halves.insert(
            ly,
            LinkHalf {
                partner: lx,
                confirmed: false,
            },
        );
        tracing::debug!(%session, call = %x, conference = %out.to, target = %target, callee = %y, "conference call");
        self.arm_no_answer(now, y);
        self.fact(Fact::CallStarted {
            session: target,
            call: y,
            direction: Direction::Inbound,
            from: callerid,
            to: out.to.clone(),
        });
    }

    /// A SIP command for a linked leg becomes the events of both halves.
    pub(crate) fn link_command(&mut self, cmd: UaCommand) {
        let Some(leg) = crate::core::ua_leg(&cmd) else {
            return;
        };
        let Some(half) = self.links.halves.get(&leg).copied() else {
            return;
        };
        let peer = half.partner;
        let mut looped = Vec::new();
        match cmd {
            UaCommand::Answer { body, headers, .. } => {
                for l in [leg, peer] {
                    if let Some(h) = self.links.halves.get_mut(&l) {
                        h.confirmed = true;
                    }
                }
                looped.push(UaEvent::Answered {
                    leg: peer,
                    body,
                    headers,
                });
                looped.push(UaEvent::Acked { leg, body: None });
            }
            UaCommand::Reject {
                code,
                reason,
                headers,
                ..
            } => {
                self.unlink(leg, peer);
                looped.push(UaEvent::Failed {
                    leg: peer,
                    code,
                    reason: reason.unwrap_or_else(|| codes::reason(code).to_string()),
                    headers,
                });
            }
            UaCommand::Provisional {
                code,
                body,
                headers,
                ..
            } => looped.push(UaEvent::Provisional {
                leg: peer,
                code,
                reason: codes::reason(code).to_string(),
                body,
                headers,
            }),
            UaCommand::Hangup { headers, .. } => {
                self.unlink(leg, peer);
                if half.confirmed {
                    looped.push(UaEvent::Terminated {
                        leg,
                        by_remote: false,
                        code: 200,
                        reason: "BYE".into(),
                        headers: Vec::new(),
                    });
                    looped.push(UaEvent::Terminated {
                        leg: peer,
                        by_remote: true,
                        code: 200,
                        reason: "BYE".into(),
                        headers,
                    });
                } else {
                    // The caller gave up before the answer: a CANCEL.
                    let code = codes::CANCELLED;
                    looped.push(UaEvent::Failed {
                        leg,
                        code,
                        reason: codes::reason(code).to_string(),
                        headers: Vec::new(),
                    });
                    looped.push(UaEvent::Cancelled { leg: peer });
                }
            }
            UaCommand::Info { body, headers, .. } => looped.push(UaEvent::Info {
                leg: peer,
                content_type: body.content_type,
                body: body.data,
                headers,
            }),
            UaCommand::Message { body, headers, .. } => looped.push(UaEvent::Message {
                leg: peer,
                content_type: body.content_type,
                body: body.data,
                headers,
            }),
            // Hold, re-INVITEs and transfers do not cross a link: refused
            // the way a peer without them would.
            UaCommand::ReInvite { .. } => looped.push(UaEvent::ReInviteAnswered {
                leg,
                code: 488,
                reason: codes::reason(488).to_string(),
                body: None,
                headers: Vec::new(),
            }),
            UaCommand::Refer { .. } | UaCommand::ReferReplacing { .. } => {
                looped.push(UaEvent::ReferAnswered {
                    leg,
                    code: 405,
                    reason: codes::reason(405).to_string(),
                })
            }
            UaCommand::AnswerReInvite { .. }
            | UaCommand::AnswerRefer { .. }
            | UaCommand::Notify { .. }
            | UaCommand::Dial { .. }
            | UaCommand::Respond { .. }
            | UaCommand::Register(_) => {}
        }
        self.links.looped.extend(looped);
    }

    fn unlink(&mut self, a: LegId, b: LegId) {
        self.links.halves.remove(&a);
        self.links.halves.remove(&b);
    }

    /// Delivers the events links produced, and those they lead to.
    pub(crate) fn run_links(&mut self) {
        let Some(now) = self.links.now else {
            return;
        };
        // Bounded: each event ends or advances a call.
        let mut budget = 10_000;
        while let Some(ev) = self.links.looped.pop_front() {
            self.handle_ua_event(now, ev);
            budget -= 1;
            if budget == 0 {
                tracing::error!("linked calls keep producing events; dropping the rest");
                self.links.looped.clear();
            }
        }
    }

    /// The session `session` ended: it is no conference session any more.
    pub(crate) fn forget_conference_session(&mut self, session: SessionId) {
        self.links.conference_sessions.retain(|_, s| *s != session);
    }
}
