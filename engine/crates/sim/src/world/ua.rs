//! The simulated far ends: the caller whose INVITE starts the session and
//! the callees `callSIP` dials. They stand where the user-agent core stands
//! in the engine: they take the call core's [`UaCommand`]s and answer with
//! the [`UaEvent`]s the user-agent core reports for the same exchange on the
//! wire (codes, reasons and which events follow), on virtual time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use dialtone_sip::{Body, LegId, Peer, Transport, UaCommand, UaEvent};

use super::sdp;
use crate::spec::{Callee, Spec};

/// RFC 3261 Timer B with T1 = 500 ms: an INVITE nobody answers fails with 408.
const TIMER_B: Duration = Duration::from_secs(32);

/// The SIP leg of the inbound caller.
pub(super) const CALLER_LEG: LegId = 1;
/// Where the inbound caller's INVITE comes from.
pub(super) const CALLER_ADDR: &str = "192.0.2.1:5060";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Inbound: the INVITE waits for a final response.
    Inviting,
    /// Inbound: our 200 is out, the ACK not yet processed.
    AwaitingAck,
    /// Outbound: INVITE sent, nothing back yet.
    Calling,
    /// Outbound: a provisional came back.
    Early,
    Confirmed,
    Gone,
}

struct FarEnd {
    /// `caller`, or the URI the spec knows the callee by.
    label: String,
    state: State,
    /// We hung up before it could be done on the wire (no provisional yet,
    /// or the ACK still to come): done when the chance comes.
    hangup_pending: bool,
    /// Our SDP offer to a callee, answered when it answers.
    offer: Option<String>,
    callee: Callee,
}

/// A step of a callee's behaviour, due at a virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Ring,
    Answer,
    Fail(u16),
    HangUp,
    /// Timer B: no response at all.
    NoResponse,
    /// The caller's ACK for our 200.
    Ack,
}

/// What the far ends want done: UA events now, steps later, notes for the timeline.
#[derive(Default)]
pub(super) struct Reaction {
    pub events: Vec<UaEvent>,
    pub later: Vec<(Duration, LegId, Step)>,
    pub notes: Vec<String>,
}

#[derive(Default)]
pub(super) struct SimUa {
    ends: HashMap<LegId, FarEnd>,
}

fn event_failed(leg: LegId, code: u16) -> UaEvent {
    UaEvent::Failed {
        leg,
        code,
        reason: dialtone_sip::reason_phrase(code).into(),
        headers: Vec::new(),
    }
}

fn event_terminated(leg: LegId, by_remote: bool, code: u16, reason: &str) -> UaEvent {
    UaEvent::Terminated {
        leg,
        by_remote,
        code,
        reason: reason.into(),
        headers: Vec::new(),
    }
}

impl SimUa {
    /// The caller's INVITE, with an SDP offer.
    pub fn incoming(&mut self, call: &crate::spec::InboundCall) -> UaEvent {
        self.ends.insert(
            CALLER_LEG,
            FarEnd {
                label: "caller".into(),
                state: State::Inviting,
                hangup_pending: false,
                offer: None,
                callee: Callee::default(),
            },
        );
        let source = CALLER_ADDR
            .parse::<SocketAddr>()
            .unwrap_or_else(|_| SocketAddr::from(([192, 0, 2, 1], 5060)));
        let headers = call
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        UaEvent::Incoming {
            leg: CALLER_LEG,
            source: Peer {
                transport: Transport::Udp,
                addr: source,
            },
            request_uri: format!("sip:{}@dialtone.test", call.to),
            destination: call.to.clone(),
            from_uri: format!("sip:{}@sim.invalid", call.from),
            from_user: call.from.clone(),
            from_display: Some(call.display_name.clone()).filter(|d| !d.is_empty()),
            to_uri: format!("sip:{}@dialtone.test", call.to),
            headers,
            body: Some(Body {
                content_type: "application/sdp".into(),
                data: sdp::caller_offer().into_bytes(),
            }),
        }
    }

    /// The leg of the far end the spec calls `label`, if it is still there.
    pub fn leg_of(&self, label: &str) -> Option<LegId> {
        let mut legs: Vec<LegId> = self
            .ends
            .iter()
            .filter(|(_, e)| e.label == label && e.state != State::Gone)
            .map(|(leg, _)| *leg)
            .collect();
        legs.sort_unstable();
        legs.pop()
    }

    pub fn is_confirmed(&self, leg: LegId) -> bool {
        self.ends
            .get(&leg)
            .is_some_and(|e| e.state == State::Confirmed)
    }

    /// What the far end does when our user-agent core sends `cmd`.
    pub fn command(&mut self, spec: &Spec, cmd: UaCommand) -> Reaction {
        let mut r = Reaction::default();
        match cmd {
            UaCommand::Provisional { leg, code, .. } => {
                if let Some(end) = self.ends.get(&leg) {
                    r.notes.push(format!("{} gets {code}", end.label));
                }
            }
            UaCommand::Answer { leg, .. } => {
                if let Some(end) = self.ends.get_mut(&leg) {
                    if end.state == State::Inviting {
                        end.state = State::AwaitingAck;
                        r.later.push((Duration::ZERO, leg, Step::Ack));
                    }
                }
            }
            UaCommand::Reject { leg, code, .. } => {
                if let Some(end) = self.ends.get_mut(&leg) {
                    if end.state == State::Inviting {
                        end.state = State::Gone;
                        r.notes.push(format!("{} gets {code}", end.label));
                    }
                }
            }
            UaCommand::Hangup { leg, .. } => self.hangup(leg, &mut r),
            UaCommand::Dial {
                leg,
                request_uri,
                body,
                ..
            } => {
                let (label, callee) = spec.callee_for(&request_uri);
                let offer = body.and_then(|b| String::from_utf8(b.data).ok());
                let steps = [
                    callee.ring.map(|at| (at, Step::Ring)),
                    callee.answer.map(|at| (at, Step::Answer)),
                    callee.fail.map(|(code, at)| (at, Step::Fail(code))),
                ];
                let mut any = false;
                for (at, step) in steps.into_iter().flatten() {
                    any = true;
                    r.later.push((at, leg, step));
                }
                if !any {
                    r.later.push((TIMER_B, leg, Step::NoResponse));
                }
                self.ends.insert(
                    leg,
                    FarEnd {
                        label,
                        state: State::Calling,
                        hangup_pending: false,
                        offer,
                        callee,
                    },
                );
            }
            UaCommand::AnswerReInvite { leg, code, .. } => {
                if let Some(end) = self.ends.get(&leg) {
                    r.notes
                        .push(format!("{}'s re-INVITE is answered {code}", end.label));
                }
            }
            UaCommand::Info { leg, body, .. } => {
                if let Some(end) = self.ends.get(&leg).filter(|e| e.state == State::Confirmed) {
                    let text = String::from_utf8_lossy(&body.data).replace("\r\n", " ");
                    r.notes
                        .push(format!("{} gets INFO {}", end.label, text.trim()));
                }
            }
            UaCommand::Message { leg, body, .. } => {
                if let Some(end) = self.ends.get(&leg).filter(|e| e.state == State::Confirmed) {
                    let text = String::from_utf8_lossy(&body.data).replace("\r\n", " ");
                    r.notes
                        .push(format!("{} gets MESSAGE {}", end.label, text.trim()));
                }
            }
            UaCommand::AnswerRefer { leg, code } => {
                if let Some(end) = self.ends.get(&leg) {
                    r.notes
                        .push(format!("{}'s REFER is answered {code}", end.label));
                }
            }
            UaCommand::Notify { leg, sipfrag, .. } => {
                if let Some(end) = self.ends.get(&leg) {
                    r.notes.push(format!("{} gets NOTIFY {sipfrag}", end.label));
                }
            }
            UaCommand::ReferReplacing { leg, target, .. } => {
                let label = self.ends.get(&target).map(|e| e.label.clone());
                let refer_to = format!("{} (replacing its call)", label.unwrap_or_default());
                return self.command(
                    spec,
                    UaCommand::Refer {
                        leg,
                        refer_to,
                        headers: Vec::new(),
                    },
                );
            }
            UaCommand::Refer { leg, refer_to, .. } => {
                // A phone takes the transfer and reports its new call up.
                let confirmed = self.ends.get(&leg).filter(|e| e.state == State::Confirmed);
                let Some(end) = confirmed else {
                    r.events.push(UaEvent::ReferAnswered {
                        leg,
                        code: 481,
                        reason: dialtone_sip::reason_phrase(481).into(),
                    });
                    return r;
                };
                r.notes.push(format!(
                    "{} gets a REFER to {refer_to}, calls it",
                    end.label
                ));
                r.events.push(UaEvent::ReferAnswered {
                    leg,
                    code: 202,
                    reason: "Accepted".into(),
                });
                r.events.push(UaEvent::Notify {
                    leg,
                    event: "refer".into(),
                    state: "terminated;reason=noresource".into(),
                    body: b"SIP/2.0 200 OK\r\n".to_vec(),
                });
            }
            // No REGISTERs reach the simulated world: its phones are bound
            // directly.
            UaCommand::Respond { .. } => {}
            // A simulated provider grants what a trunk asks for.
            UaCommand::Register(register) => r.events.push(UaEvent::RegisterAnswered {
                id: register.id,
                code: 200,
                reason: "OK".into(),
                expires: Some(register.expires),
                min_expires: None,
                retry_after: None,
            }),
            UaCommand::ReInvite { leg, body, .. } => {
                let Some(end) = self.ends.get(&leg).filter(|e| e.state == State::Confirmed) else {
                    r.events.push(UaEvent::ReInviteAnswered {
                        leg,
                        code: 481,
                        reason: dialtone_sip::reason_phrase(481).into(),
                        body: None,
                        headers: Vec::new(),
                    });
                    return r;
                };
                // A phone answers an offer it can take, mirroring its
                // direction (sendonly becomes recvonly); 488 otherwise.
                let offer = body.and_then(|b| String::from_utf8(b.data).ok());
                let answer = offer.as_deref().and_then(sdp::callee_answer);
                let code = if answer.is_some() || offer.is_none() {
                    200
                } else {
                    488
                };
                r.notes
                    .push(format!("{} gets a re-INVITE, answers {code}", end.label));
                r.events.push(UaEvent::ReInviteAnswered {
                    leg,
                    code,
                    reason: dialtone_sip::reason_phrase(code).into(),
                    body: answer.map(|a| dialtone_sip::Body {
                        content_type: "application/sdp".into(),
                        data: a.into_bytes(),
                    }),
                    headers: Vec::new(),
                });
            }
        }
        r
    }

    /// Our side ends the leg: what the user-agent core would send, and what
    /// comes back.
    fn hangup(&mut self, leg: LegId, r: &mut Reaction) {
        let Some(end) = self.ends.get_mut(&leg) else {
            return;
        };
        match end.state {
            State::Inviting => {
                end.state = State::Gone;
                r.events.push(event_terminated(
                    leg,
                    false,
                    480,
                    dialtone_sip::reason_phrase(480),
                ));
            }
            // No BYE before the ACK, no CANCEL before a provisional (§9.1, §15).
            State::AwaitingAck | State::Calling => end.hangup_pending = true,
            State::Early => {
                end.state = State::Gone;
                r.notes.push(format!("{} is cancelled", end.label));
                r.events.push(event_failed(leg, 487));
            }
            State::Confirmed => {
                end.state = State::Gone;
                r.events.push(event_terminated(leg, false, 200, "OK"));
            }
            State::Gone => {}
        }
    }

    /// A step of a far end's behaviour is due.
    pub fn step(&mut self, leg: LegId, step: Step) -> Reaction {
        let mut r = Reaction::default();
        let Some(end) = self.ends.get_mut(&leg) else {
            return r;
        };
        let label = end.label.clone();
        match (step, end.state) {
            (Step::Ack, State::AwaitingAck) => {
                end.state = State::Confirmed;
                r.events.push(UaEvent::Acked { leg, body: None });
                if end.hangup_pending {
                    end.state = State::Gone;
                    r.events.push(event_terminated(leg, false, 200, "OK"));
                }
            }
            (Step::Ring, State::Calling | State::Early) => {
                end.state = State::Early;
                if end.hangup_pending {
                    // The CANCEL waited for this provisional.
                    end.state = State::Gone;
                    r.notes.push(format!("{label} is cancelled"));
                    r.events.push(event_failed(leg, 487));
                } else {
                    r.notes.push(format!("{label} rings"));
                    r.events.push(UaEvent::Provisional {
                        leg,
                        code: 180,
                        reason: dialtone_sip::reason_phrase(180).into(),
                        body: None,
                        headers: Vec::new(),
                    });
                }
            }
            (Step::Answer, State::Calling | State::Early) => {
                if end.hangup_pending {
                    // The 2xx crossed our hang-up: ACK, then BYE at once.
                    end.state = State::Gone;
                    r.notes.push(format!("{label} answers after we hung up"));
                    r.events.push(event_terminated(leg, false, 200, "OK"));
                    return r;
                }
                end.state = State::Confirmed;
                r.notes.push(format!("{label} answers"));
                let answer = end.offer.as_deref().and_then(sdp::callee_answer);
                r.events.push(UaEvent::Answered {
                    leg,
                    body: answer.map(|a| Body {
                        content_type: "application/sdp".into(),
                        data: a.into_bytes(),
                    }),
                    headers: Vec::new(),
                });
                if let Some(after) = end.callee.hangup_after {
                    r.later.push((after, leg, Step::HangUp));
                }
            }
            (Step::Fail(code), State::Calling | State::Early) => {
                end.state = State::Gone;
                r.notes.push(format!("{label} fails with {code}"));
                r.events.push(event_failed(leg, code));
            }
            (Step::NoResponse, State::Calling) => {
                end.state = State::Gone;
                r.notes
                    .push(format!("{label} never answers: 408 after Timer B"));
                r.events.push(event_failed(leg, 408));
            }
            (Step::HangUp, _) => return self.remote_hangup(leg),
            _ => {}
        }
        r
    }

    /// The far end hangs up: BYE when connected, CANCEL from the caller
    /// before an answer, a decline (603) from a callee before it answers.
    pub fn remote_hangup(&mut self, leg: LegId) -> Reaction {
        let mut r = Reaction::default();
        let Some(end) = self.ends.get_mut(&leg) else {
            return r;
        };
        let label = end.label.clone();
        match end.state {
            State::Confirmed | State::AwaitingAck => {
                end.state = State::Gone;
                r.notes.push(format!("{label} hangs up"));
                r.events.push(event_terminated(leg, true, 200, "BYE"));
            }
            State::Inviting => {
                end.state = State::Gone;
                r.notes.push(format!("{label} hangs up (CANCEL)"));
                r.events.push(UaEvent::Cancelled { leg });
            }
            State::Calling | State::Early => {
                end.state = State::Gone;
                r.notes.push(format!("{label} declines"));
                r.events.push(event_failed(leg, 603));
            }
            State::Gone => r.notes.push(format!("{label} hangs up (no live call)")),
        }
        r
    }
}
