//! Everything ends: an INVITE nobody answers, a call whose peer went silent,
//! a call that runs past its maximum length, and a forwarding loop. Each is
//! a timer of the call core (or, for loops, Max-Forwards carried from the
//! inbound INVITE into the legs its session dials).

use std::time::{Duration, Instant};

use dialtone_core::messages::CallEvent;
use dialtone_core::{CallId, SessionId};
use dialtone_sip::UaCommand;

use crate::call::Phase;
use crate::codes;
use crate::timers::Timer;
use crate::CallCore;

/// How long calls may go on in each way they can get stuck. `None`: no limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallLimits {
    /// An inbound call not answered (nor rejected) this long after its INVITE
    /// gets 480 No Answer.
    pub no_answer: Option<Duration>,
    /// After the media engine reports `RtpStopped`, how long RTP may stay
    /// away before the call is hung up (unless its scenario opted out).
    pub rtp_hangup_after: Option<Duration>,
    /// A connected call is hung up this long after it connected.
    pub max_duration: Option<Duration>,
}

impl Default for CallLimits {
    fn default() -> Self {
        CallLimits {
            no_answer: Some(Duration::from_secs(180)),
            rtp_hangup_after: Some(Duration::from_secs(20)),
            max_duration: Some(Duration::from_secs(4 * 3600)),
        }
    }
}

/// Max-Forwards of a new call (RFC 3261 §8.1.1.6).
pub const DEFAULT_MAX_FORWARDS: u8 = 70;

/// Why the engine itself ends a call: the reason the scenario sees and the
/// `Reason` header (RFC 3326) the BYE or CANCEL carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EngineEnd {
    NoAnswer,
    RtpTimeout,
    MaxDuration,
    MediaFailed,
}

impl EngineEnd {
    pub fn text(self) -> &'static str {
        match self {
            EngineEnd::NoAnswer => "No Answer",
            EngineEnd::RtpTimeout => "RTP Timeout",
            EngineEnd::MaxDuration => "Maximum Call Duration",
            EngineEnd::MediaFailed => "Media Connection Failed",
        }
    }

    fn reason_header(self) -> (String, String) {
        let cause = match self {
            EngineEnd::NoAnswer | EngineEnd::RtpTimeout => 408,
            EngineEnd::MaxDuration => 200,
            EngineEnd::MediaFailed => 488,
        };
        (
            "Reason".to_string(),
            format!("SIP;cause={cause};text=\"{}\"", self.text()),
        )
    }
}

/// The Max-Forwards of an INVITE's headers: its value, or 70 when it is
/// missing or not a number (the SIP layer refuses 0 with 483 already).
pub(crate) fn max_forwards_of(headers: &[(String, String)]) -> u8 {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Max-Forwards"))
        .and_then(|(_, v)| v.trim().parse::<u32>().ok())
        .map_or(DEFAULT_MAX_FORWARDS, |v| v.min(255) as u8)
}

impl CallCore {
    /// An inbound call starts its no-answer timer.
    pub(crate) fn arm_no_answer(&mut self, now: Instant, call: CallId) {
        if let Some(after) = self.cfg.limits.no_answer {
            self.timers.set(now + after, Timer::NoAnswer(call));
        }
    }

    /// A call connected: its maximum length starts.
    pub(crate) fn arm_max_duration(&mut self, now: Instant, call: CallId) {
        if let Some(after) = self.cfg.limits.max_duration {
            self.timers.set(now + after, Timer::MaxDuration(call));
        }
    }

    /// `RtpStopped` from the media engine: the event, and the hang-up timer
    /// of a connected call whose peer is meant to send.
    pub(crate) fn on_rtp_stopped(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let session = call.session;
        call.rtp_silence += 1;
        let peer_sends = call
            .negotiated
            .as_ref()
            .is_some_and(|n| n.direction.receives());
        // A call on hold may well be silent (RFC 3264 §8.4).
        let watch =
            call.rtp_hangup && call.phase == Phase::Confirmed && peer_sends && !call.on_hold();
        let generation = call.rtp_silence;
        if let (true, Some(after)) = (watch, self.cfg.limits.rtp_hangup_after) {
            self.timers
                .set(now + after, Timer::RtpSilence(id, generation));
        }
        self.emit(session, id, CallEvent::RtpStopped);
    }

    pub(crate) fn on_rtp_resumed(&mut self, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        // Any hang-up timer set while it was silent finds nothing to do.
        call.rtp_silence += 1;
        let session = call.session;
        self.emit(session, id, CallEvent::RtpResumed);
    }

    /// `call.hangupOnRtpTimeout(enable)`.
    pub(crate) fn rtp_timeout_hangup(&mut self, session: SessionId, id: CallId, enable: bool) {
        if let Some(call) = self.owned_mut(session, id) {
            call.rtp_hangup = enable;
            // A timer already running stops counting when it is turned off.
            call.rtp_silence += 1;
        }
    }

    pub(crate) fn on_no_answer(&mut self, now: Instant, id: CallId) {
        if self
            .calls
            .get(&id)
            .is_some_and(|c| c.is_unanswered_inbound())
        {
            tracing::info!(call = %id, "no answer in time: 480");
            self.end_by_engine(now, id, EngineEnd::NoAnswer);
        }
    }

    pub(crate) fn on_rtp_silence(&mut self, now: Instant, id: CallId, generation: u32) {
        let silent = self.calls.get(&id).is_some_and(|c| {
            c.rtp_silence == generation
                && c.rtp_hangup
                && c.phase == Phase::Confirmed
                && !c.on_hold()
        });
        if silent {
            tracing::info!(call = %id, "no RTP from the peer: hanging up");
            self.end_by_engine(now, id, EngineEnd::RtpTimeout);
        }
    }

    /// A WebRTC leg's DTLS-SRTP failed (its certificate does not match the
    /// fingerprint of its SDP, or the handshake broke): no audio will ever
    /// flow, so the call ends now rather than at the RTP timeout.
    pub(crate) fn on_transport_failed(&mut self, now: Instant, id: CallId, reason: &str) {
        if self.calls.contains_key(&id) {
            tracing::info!(call = %id, reason, "media connection failed: hanging up");
            self.end_by_engine(now, id, EngineEnd::MediaFailed);
        }
    }

    pub(crate) fn on_max_duration(&mut self, now: Instant, id: CallId) {
        if self
            .calls
            .get(&id)
            .is_some_and(|c| c.phase == Phase::Confirmed)
        {
            tracing::info!(call = %id, "maximum call duration reached: hanging up");
            self.end_by_engine(now, id, EngineEnd::MaxDuration);
        }
    }

    /// Ends a call for one of the engine's own reasons: 480 to an unanswered
    /// inbound call, BYE (or CANCEL) with a `Reason` header otherwise; the
    /// scenario's last event carries the reason's text.
    fn end_by_engine(&mut self, now: Instant, id: CallId, why: EngineEnd) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        match call.phase {
            Phase::Offered => {
                let code = codes::UNANSWERED_HANGUP;
                let headers = vec![why.reason_header()];
                self.refuse_call(now, id, code, Some(why.text()), headers);
            }
            Phase::Answering | Phase::Confirmed | Phase::Dialing => {
                call.phase = Phase::Ending;
                call.end_note = Some(why.text());
                let leg = call.leg;
                self.ua(UaCommand::Hangup {
                    leg,
                    headers: vec![why.reason_header()],
                });
            }
            Phase::Resolving | Phase::Ending => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_forwards_is_read_leniently() {
        let h = |v: &str| vec![("max-forwards".to_string(), v.to_string())];
        assert_eq!(max_forwards_of(&h("10")), 10);
        assert_eq!(max_forwards_of(&h(" 0 ")), 0);
        assert_eq!(max_forwards_of(&h("99999")), 255);
        assert_eq!(max_forwards_of(&h("x")), DEFAULT_MAX_FORWARDS);
        assert_eq!(max_forwards_of(&[]), DEFAULT_MAX_FORWARDS);
    }

    #[test]
    fn reasons_go_in_a_reason_header() {
        let (name, value) = EngineEnd::RtpTimeout.reason_header();
        assert_eq!(name, "Reason");
        assert_eq!(value, "SIP;cause=408;text=\"RTP Timeout\"");
    }
}
