//! Re-INVITEs (and UPDATEs with an offer) both ways: hold and unhold, the
//! scenario's `ReInviteReceived` / `acceptReInvite` / `rejectReInvite` /
//! `reInvite`, and glare (RFC 3261 §14.1).
//!
//! Media stays anchored here: whatever SDP a scenario relays from one leg
//! to another, each leg is offered or answered with its own RTP endpoint,
//! and only the relayed body's direction (`sendonly` for hold…) is carried
//! over.

use std::time::{Duration, Instant};

use dialtone_core::messages::{CallEvent, Headers};
use dialtone_core::{CallId, SessionId};
use dialtone_sdp::Direction;
use dialtone_sip::{Body, LegId, UaCommand};

use crate::call::{OwnReInvite, Phase};
use crate::headers::custom_only;
use crate::sdp::{is_sdp, sdp_body, sdp_text};
use crate::timers::Timer;
use crate::CallCore;

/// How long a scenario may take to answer a re-INVITE it listens for before
/// the engine answers it itself, well inside the peer's Timer B (32 s).
pub const REINVITE_ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// 491s in a row after which our re-INVITE gives up.
const MAX_GLARE_RETRIES: u8 = 3;

const SDP: &str = "application/sdp";

impl CallCore {
    /// A peer's re-INVITE or UPDATE. The scenario answers one that puts the
    /// call on or off hold when it listens for `ReInviteReceived` (as
    /// VoxEngine raises it for hold, not for refreshes or a phone locking
    /// its codec); the engine answers every other at once with the call's
    /// own media, at most in the direction the call wants.
    pub(crate) fn on_reinvite(
        &mut self,
        now: Instant,
        leg: LegId,
        body: Option<Body>,
        headers: Vec<(String, String)>,
    ) {
        let call = self.call_of_leg(leg).and_then(|id| self.calls.get_mut(&id));
        let Some(call) = call else {
            self.answer_reinvite(leg, 481, None, Vec::new());
            return;
        };
        if call.local_rtp.is_none() {
            self.answer_reinvite(leg, 488, None, Vec::new());
            return;
        }
        let (id, session) = (call.id, call.session);
        if body.as_ref().is_some_and(|b| !is_sdp(b)) {
            tracing::info!(call = %id, "re-INVITE with a body that is not SDP refused");
            self.answer_reinvite(leg, 415, None, Vec::new());
            return;
        }
        let offer = sdp_text(body);
        let changes_hold = offer
            .as_deref()
            .and_then(dialtone_sdp::stated_direction)
            // Held means the peer takes no audio from us.
            .is_some_and(|d| d.receives() == call.held_by_peer);
        if call.handle_reinvites && changes_hold {
            let (mime_type, body) = sdp_event_body(offer.clone());
            call.reinvite_offer = Some(offer);
            self.timers
                .set(now + REINVITE_ANSWER_TIMEOUT, Timer::ReInviteAnswer(id));
            let event = CallEvent::ReInviteReceived {
                mime_type,
                body,
                headers: custom_only(&headers),
            };
            self.emit(session, id, event);
            return;
        }
        self.answer_offer_now(id, offer, Vec::new());
    }

    /// Answers the call's pending re-INVITE with its own media: 200 with our
    /// answer to `offer` (or our offer, for an offerless one), at most in
    /// the direction the call wants.
    fn answer_offer_now(&mut self, id: CallId, offer: Option<String>, headers: Headers) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.sdp_version += 1;
        let (leg, session, wish) = (call.leg, call.session, call.wish);
        let (code, answer) = match offer {
            Some(offer) => match self.answer_sdp(id, &offer, wish) {
                Ok((answer, n)) => {
                    let held = !n.direction.sends();
                    self.apply_negotiated(id, n);
                    self.set_held_by_peer(session, id, held);
                    (200, Some(answer))
                }
                Err((code, reason)) => {
                    tracing::info!(call = %id, code, reason, "re-INVITE offer refused");
                    (code, None)
                }
            },
            // An offerless re-INVITE: offer what we have (the answer in the
            // ACK changes nothing on our side).
            None => match self.offer_sdp(id, wish) {
                Ok(offer) => (200, Some(offer)),
                Err(e) => {
                    tracing::info!(call = %id, error = %e, "no offer for an offerless re-INVITE");
                    (488, None)
                }
            },
        };
        self.answer_reinvite(leg, code, answer.map(sdp_body), headers);
    }

    fn answer_reinvite(&mut self, leg: LegId, code: u16, body: Option<Body>, headers: Headers) {
        self.ua(UaCommand::AnswerReInvite {
            leg,
            code,
            body,
            headers,
        });
    }

    /// Emits `OnHold` / `OffHold` when the peer's hold changes.
    fn set_held_by_peer(&mut self, session: SessionId, id: CallId, held: bool) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.held_by_peer == held {
            return;
        }
        call.held_by_peer = held;
        // Any RTP hang-up timer set before finds nothing to do.
        call.rtp_silence += 1;
        let event = if held {
            CallEvent::OnHold
        } else {
            CallEvent::OffHold
        };
        self.emit(session, id, event);
    }

    /// `ReInviteReceived` has (or no longer has) a listener on the call.
    pub(crate) fn handle_reinvites(&mut self, session: SessionId, id: CallId, enable: bool) {
        if let Some(call) = self.owned_mut(session, id) {
            call.handle_reinvites = enable;
        }
    }

    /// `call.acceptReInvite(headers, mimeType, body)`: an SDP body sets the
    /// direction the call wants from now on; the headers go in the 200.
    pub(crate) fn accept_reinvite(
        &mut self,
        session: SessionId,
        id: CallId,
        mime_type: &str,
        body: &str,
        headers: Headers,
    ) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        let Some(offer) = call.reinvite_offer.take() else {
            tracing::debug!(call = %id, "acceptReInvite with no re-INVITE pending");
            return;
        };
        if let Some(direction) = relayed_direction(mime_type, body) {
            call.wish = direction;
        }
        self.answer_offer_now(id, offer, headers);
    }

    /// `call.rejectReInvite(headers)`: 488, the media stays as it was.
    pub(crate) fn reject_reinvite(&mut self, session: SessionId, id: CallId, headers: Headers) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        if call.reinvite_offer.take().is_none() {
            tracing::debug!(call = %id, "rejectReInvite with no re-INVITE pending");
            return;
        }
        let leg = call.leg;
        self.answer_reinvite(leg, 488, None, headers);
    }

    /// The scenario did not answer a re-INVITE in time: the engine does.
    pub(crate) fn on_reinvite_answer_timeout(&mut self, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(offer) = call.reinvite_offer.take() else {
            return;
        };
        tracing::info!(call = %id, "the scenario did not answer a re-INVITE in time; answered by the engine");
        self.answer_offer_now(id, offer, Vec::new());
    }

    /// `call.reInvite(headers, mimeType, body)`: offers the call's media in
    /// the direction an SDP body states.
    pub(crate) fn script_reinvite(
        &mut self,
        session: SessionId,
        id: CallId,
        mime_type: &str,
        body: &str,
        headers: Headers,
    ) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        if call.our_reinvite.is_some() {
            let session = call.session;
            tracing::info!(call = %id, "reInvite while one is in flight: rejected");
            self.emit(
                session,
                id,
                CallEvent::ReInviteRejected {
                    code: 491,
                    headers: Vec::new(),
                },
            );
            return;
        }
        if let Some(direction) = relayed_direction(mime_type, body) {
            call.wish = direction;
        }
        call.our_reinvite = Some(OwnReInvite::Script {
            headers: headers.clone(),
        });
        call.glare_retries = 0;
        self.send_own_reinvite(id, headers);
    }

    /// `call.hold()` / `call.unhold()`: a `sendonly` (or `sendrecv`) offer.
    pub(crate) fn hold(&mut self, session: SessionId, id: CallId, hold: bool) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        call.wish = if hold {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        if call.our_reinvite.is_some() {
            // The re-INVITE in flight is answered first; the new wish goes
            // out with the next one.
            call.reoffer = true;
            return;
        }
        call.our_reinvite = Some(OwnReInvite::Hold);
        call.glare_retries = 0;
        self.send_own_reinvite(id, Vec::new());
    }

    /// Sends the call's re-INVITE with its media in the direction it wants.
    pub(crate) fn send_own_reinvite(&mut self, id: CallId, headers: Headers) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.phase != Phase::Confirmed || call.local_rtp.is_none() {
            tracing::debug!(call = %id, "re-INVITE before the call is connected; not sent");
            call.our_reinvite = None;
            return;
        }
        call.sdp_version += 1;
        let (leg, wish) = (call.leg, call.wish);
        let offer = match self.offer_sdp(id, wish) {
            Ok(offer) => offer,
            Err(e) => {
                tracing::info!(call = %id, error = %e, "no offer for our re-INVITE; not sent");
                if let Some(call) = self.calls.get_mut(&id) {
                    call.our_reinvite = None;
                }
                return;
            }
        };
        self.ua(UaCommand::ReInvite {
            leg,
            body: Some(sdp_body(offer)),
            headers,
        });
    }

    /// The final response to our re-INVITE.
    pub(crate) fn on_reinvite_answered(
        &mut self,
        now: Instant,
        leg: LegId,
        code: u16,
        body: Option<Body>,
        headers: Vec<(String, String)>,
    ) {
        let Some(id) = self.call_of_leg(leg) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(why) = call.our_reinvite.clone() else {
            return;
        };
        let (session, incoming) = (call.session, call.incoming);
        if code == 491 && call.glare_retries < MAX_GLARE_RETRIES {
            // §14.1: the side that owns the Call-ID (placed the call) waits
            // 2.1–4 s, the other 0–2 s, in 10 ms steps.
            call.glare_retries += 1;
            let steps: u64 = if incoming {
                rand::random::<u64>() % 201
            } else {
                210 + rand::random::<u64>() % 191
            };
            self.timers.set(
                now + Duration::from_millis(steps * 10),
                Timer::ReInviteRetry(id),
            );
            return;
        }
        call.our_reinvite = None;
        let reoffer = std::mem::take(&mut call.reoffer);
        if (200..300).contains(&code) {
            let answer = sdp_text(body);
            match answer.as_deref().map(|a| self.accept_answer_sdp(id, a)) {
                Some(Ok(n)) => self.apply_negotiated(id, n),
                Some(Err(e)) => {
                    tracing::info!(call = %id, error = %e, "answer to our re-INVITE unusable")
                }
                None => {}
            }
            if let OwnReInvite::Script { .. } = why {
                let (mime_type, body) = sdp_event_body(answer);
                let event = CallEvent::ReInviteAccepted {
                    mime_type,
                    body,
                    headers: custom_only(&headers),
                };
                self.emit(session, id, event);
            }
        } else {
            tracing::info!(call = %id, code, "our re-INVITE was refused");
            if let OwnReInvite::Script { .. } = why {
                let event = CallEvent::ReInviteRejected {
                    code,
                    headers: custom_only(&headers),
                };
                self.emit(session, id, event);
            }
            if matches!(code, 408 | 481) {
                // §14.1: the dialog is gone or the peer is unreachable.
                let leg = self.calls.get(&id).map(|c| c.leg);
                if let Some(leg) = leg {
                    self.ua(UaCommand::Hangup {
                        leg,
                        headers: Vec::new(),
                    });
                }
                return;
            }
        }
        if reoffer {
            // hold() or unhold() came while this one was in flight.
            if let Some(call) = self.calls.get_mut(&id) {
                call.our_reinvite = Some(OwnReInvite::Hold);
                call.glare_retries = 0;
            }
            self.send_own_reinvite(id, Vec::new());
        }
    }

    /// The glare back-off is over: the same re-INVITE again.
    pub(crate) fn on_reinvite_retry(&mut self, id: CallId) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let headers = match &call.our_reinvite {
            Some(OwnReInvite::Script { headers }) => headers.clone(),
            Some(OwnReInvite::Hold) => Vec::new(),
            None => return,
        };
        self.send_own_reinvite(id, headers);
    }
}

/// `(mimeType, body)` of an event carrying an SDP body, or nothing.
fn sdp_event_body(sdp: Option<String>) -> (String, String) {
    match sdp.filter(|t| !t.is_empty()) {
        Some(text) => (SDP.into(), text),
        None => (String::new(), String::new()),
    }
}

/// The direction an SDP body from a scenario asks for (`None`: not SDP, or
/// no audio stream in it).
fn relayed_direction(mime_type: &str, body: &str) -> Option<Direction> {
    let sdp = mime_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(SDP));
    if !sdp || body.is_empty() {
        return None;
    }
    dialtone_sdp::stated_direction(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relayed_body_states_a_direction_only_when_it_is_sdp() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                   m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
        assert_eq!(
            relayed_direction("application/sdp", sdp),
            Some(Direction::SendOnly)
        );
        assert_eq!(relayed_direction("application/json", sdp), None);
        assert_eq!(relayed_direction("application/sdp", ""), None);
        let old_hold = sdp
            .replace("c=IN IP4 192.0.2.1", "c=IN IP4 0.0.0.0")
            .replace("a=sendonly\r\n", "");
        assert_eq!(
            relayed_direction("application/sdp", &old_hold),
            Some(Direction::SendOnly)
        );
    }
}
