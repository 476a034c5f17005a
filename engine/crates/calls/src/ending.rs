//! How calls end: the script hangs up, the peer hangs up or cancels, an
//! attempt fails; and forgetting a call with everything it held.

use std::time::Instant;

use dialtone_core::messages::{CallEvent, CallState, Headers};
use dialtone_core::{CallId, SessionId};
use dialtone_sip::{LegId, UaCommand};

use crate::call::Phase;
use crate::codes;
use crate::headers::custom_only;
use crate::io::{Fact, MediaCommand};
use crate::CallCore;

pub(crate) fn disconnected(code: u16, reason: &str) -> CallEvent {
    CallEvent::Disconnected {
        code,
        reason: reason.into(),
        duration: Default::default(),
        headers: Vec::new(),
    }
}

pub(crate) fn failed(code: u16, reason: impl Into<String>) -> CallEvent {
    CallEvent::Failed {
        code,
        reason: reason.into(),
        headers: Vec::new(),
    }
}

impl CallCore {
    /// `call.hangup()`: a final response to an unanswered inbound call, BYE
    /// or CANCEL otherwise.
    pub(crate) fn hangup(
        &mut self,
        now: Instant,
        session: SessionId,
        id: CallId,
        headers: Headers,
    ) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        let leg = call.leg;
        match call.phase {
            Phase::Offered => {
                let code = codes::UNANSWERED_HANGUP;
                self.refuse_call(now, id, code, None, headers);
            }
            Phase::Answering | Phase::Confirmed | Phase::Dialing => {
                call.phase = Phase::Ending;
                self.cancel_forks(id);
                self.ua(UaCommand::Hangup { leg, headers });
            }
            Phase::Resolving => {
                self.resolving.remove(&id);
                let code = codes::CANCELLED;
                self.finish(id, now, failed(code, codes::reason(code)));
            }
            Phase::Ending => {}
        }
    }

    /// A final error response to an unanswered inbound call, and its end:
    /// `Disconnected` with the code and the reason sent (the wire's phrase
    /// for the code when `reason` is `None`).
    pub(crate) fn refuse_call(
        &mut self,
        now: Instant,
        id: CallId,
        code: u16,
        reason: Option<&str>,
        headers: Headers,
    ) {
        let Some(leg) = self.calls.get(&id).map(|c| c.leg) else {
            return;
        };
        self.ua(UaCommand::Reject {
            leg,
            code,
            reason: reason.map(str::to_string),
            headers,
        });
        let reason = reason.unwrap_or_else(|| codes::reason(code));
        self.finish(id, now, disconnected(code, reason));
    }

    /// The caller cancelled an unanswered INVITE (487 already sent).
    pub(crate) fn on_cancelled(&mut self, now: Instant, leg: LegId) {
        if let Some(id) = self.call_of_leg(leg) {
            let code = codes::CANCELLED;
            self.finish(id, now, disconnected(code, codes::reason(code)));
        }
    }

    /// An outbound attempt ended without a dialog (`failed`), or a dialog
    /// ended: BYE either way, or our 2xx never ACKed.
    pub(crate) fn on_leg_ended(
        &mut self,
        now: Instant,
        leg: LegId,
        failed: bool,
        code: u16,
        reason: String,
        headers: Vec<(String, String)>,
    ) {
        if failed && self.trunk_failover(now, leg, code) {
            return;
        }
        let (code, reason) = if failed {
            match self.fork_failed(leg, code, reason) {
                Some(last) => last,
                // Other forks of this `callUser` still ring.
                None => return,
            }
        } else {
            (code, reason)
        };
        let Some(call) = self.call_of_leg(leg).and_then(|id| self.calls.get(&id)) else {
            return;
        };
        let (id, duration, by_peer) = (call.id, call.duration(now), call.phase == Phase::Confirmed);
        // The engine's own reason, when it ended the call itself.
        let reason = call.end_note.map_or(reason, str::to_string);
        // An agent hanging up with a consulted party answered hands the
        // customer over; the scenario's call goes on with that party.
        if !failed && by_peer && self.consult_takes_over_ended_leg(now, id) {
            return;
        }
        let headers = custom_only(&headers);
        let last = if failed {
            CallEvent::Failed {
                code,
                reason,
                headers,
            }
        } else {
            CallEvent::Disconnected {
                code,
                reason,
                duration,
                headers,
            }
        };
        self.finish(id, now, last);
    }

    /// Sends the call's last event, moves it to TERMINATED and forgets it.
    pub(crate) fn finish(&mut self, id: CallId, now: Instant, last: CallEvent) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let session = call.session;
        let end = match &last {
            CallEvent::Disconnected { code, reason, .. }
            | CallEvent::Failed { code, reason, .. } => Some((*code, reason.clone())),
            _ => None,
        };
        self.emit(session, id, last);
        self.set_state(id, CallState::Terminated);
        self.release(id, now, end);
    }

    /// Forgets a call: its units, its leg, its RTP endpoint. `end` is the
    /// code and reason it ended with, if it got a last event.
    pub(crate) fn release(&mut self, id: CallId, _now: Instant, end: Option<(u16, String)>) {
        // Forks of a `callUser` still ringing end with it.
        self.cancel_forks(id);
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        let (code, reason) = end.unzip();
        self.fact(Fact::CallEnded {
            call: id,
            connected: call.connected_at.is_some(),
            code,
            reason,
        });
        self.release_call_units(&call);
        self.legs.remove(&call.leg);
        self.resolving.remove(&id);
        if call.local_rtp.is_some() {
            self.media(MediaCommand::Release(call.unit()));
        }
        if let Some(s) = self.sessions.get_mut(&call.session) {
            s.calls.retain(|c| *c != id);
        }
    }
}
