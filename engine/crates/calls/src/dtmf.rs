//! DTMF: digits heard (RFC 4733, in-band or SIP INFO) become `ToneReceived`
//! after `handleTones(true)`; digits sent go as RFC 4733 when the peer
//! negotiated telephone-event, else as SIP INFO paced by the core's timers.

use std::time::{Duration, Instant};

use dialtone_core::messages::CallEvent;
use dialtone_core::{CallId, SessionId};
use dialtone_sip::{Body, UaCommand};

use crate::call::Phase;
use crate::io::MediaCommand;
use crate::timers::Timer;
use crate::CallCore;

/// Gap between SIP INFO digits, and the length of a `p` pause.
pub const INFO_DIGIT_GAP: Duration = Duration::from_millis(250);
pub const PAUSE: Duration = Duration::from_millis(500);
/// The duration written into each INFO digit.
const INFO_DIGIT_MS: u32 = 160;

impl CallCore {
    /// `call.handleTones(enable)`.
    pub(crate) fn handle_tones(&mut self, session: SessionId, id: CallId, enable: bool) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        call.handle_tones = enable;
        if call.local_rtp.is_some() {
            let unit = call.unit();
            self.media(MediaCommand::ToneDetection {
                unit,
                enabled: enable,
            });
        }
    }

    /// A digit heard on a call, from its media or an INFO.
    pub(crate) fn on_tone(&mut self, id: CallId, tone: char) {
        let Some(call) = self.calls.get(&id).filter(|c| c.handle_tones) else {
            return;
        };
        let session = call.session;
        let tone = tone.to_string();
        self.emit(session, id, CallEvent::ToneReceived { tone });
    }

    /// `call.sendDigits(digits)`; `p` is a pause.
    pub(crate) fn send_digits(
        &mut self,
        now: Instant,
        session: SessionId,
        id: CallId,
        digits: &str,
    ) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        let rfc4733 = call
            .negotiated
            .as_ref()
            .is_some_and(|n| n.telephone_event_pt.is_some());
        if rfc4733 {
            let unit = call.unit();
            self.media(MediaCommand::SendDigits {
                unit,
                digits: digits.to_string(),
            });
            return;
        }
        if call.phase != Phase::Confirmed {
            // No media to carry RFC 4733 and no dialog for an INFO yet.
            tracing::debug!(%session, call = %id, "sendDigits before the call is connected; not sent");
            return;
        }
        // SIP INFO, one digit per INFO_DIGIT_GAP, appended to any still going.
        let idle = call.info_digits.is_empty();
        call.info_digits
            .extend(digits.chars().filter(|d| !d.is_whitespace()));
        if idle {
            self.next_info_digit(now, id);
        }
    }

    /// Sends the call's next INFO digit and sets the timer for the one after.
    pub(crate) fn next_info_digit(&mut self, now: Instant, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(digit) = call.info_digits.pop_front() else {
            return;
        };
        let (leg, more) = (call.leg, !call.info_digits.is_empty());
        let pause = matches!(digit, 'p' | 'P');
        if !pause {
            match dialtone_media::dtmf::info::info_body(digit, INFO_DIGIT_MS) {
                Some((content_type, text)) => self.ua(UaCommand::Info {
                    leg,
                    body: Body {
                        content_type: content_type.to_string(),
                        data: text.into_bytes(),
                    },
                    headers: Vec::new(),
                }),
                None => tracing::debug!(call = %id, %digit, "not a DTMF digit; not sent"),
            }
        }
        if more {
            let gap = if pause { PAUSE } else { INFO_DIGIT_GAP };
            self.timers.set(now + gap, Timer::InfoDigit(id));
        }
    }
}
