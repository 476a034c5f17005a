//! Requests inside an established dialog: re-INVITE (media changes, hold)
//! and INFO (DTMF).

use dialtone_sip::{Body, LegId, UaCommand};

use crate::sdp::{local_media, sdp_body, sdp_error_status, sdp_text};
use crate::CallCore;

impl CallCore {
    /// A re-INVITE: we answer it ourselves, re-pointing the call's media at
    /// the new offer (an offerless one gets our current description).
    pub(crate) fn on_reinvite(&mut self, leg: LegId, body: Option<Body>) {
        let call = self.call_of_leg(leg).and_then(|id| self.calls.get_mut(&id));
        let Some(call) = call else {
            self.ua(UaCommand::AnswerReInvite {
                leg,
                code: 481,
                body: None,
            });
            return;
        };
        if call.local_rtp.is_none() {
            self.ua(UaCommand::AnswerReInvite {
                leg,
                code: 488,
                body: None,
            });
            return;
        }
        let id = call.id;
        call.sdp_version += 1;
        let local = local_media(call);
        let (code, answer) = match sdp_text(body) {
            Some(offer) => match dialtone_sdp::answer_offer(&offer, &local) {
                Ok((answer, n)) => {
                    self.apply_negotiated(id, n);
                    (200, Some(answer))
                }
                Err(e) => {
                    tracing::info!(call = %id, error = %e, "re-INVITE offer refused");
                    (sdp_error_status(&e).0, None)
                }
            },
            // An offerless re-INVITE: offer what we have (the answer in the
            // ACK changes nothing on our side).
            None => (200, Some(dialtone_sdp::make_offer(&local))),
        };
        self.ua(UaCommand::AnswerReInvite {
            leg,
            code,
            body: answer.map(sdp_body),
        });
    }

    /// An INFO (already answered 200): DTMF when it carries a digit.
    pub(crate) fn on_info(&mut self, leg: LegId, content_type: &str, body: &[u8]) {
        let Some(call) = self.call_of_leg(leg) else {
            return;
        };
        match dialtone_media::dtmf::info::parse_info(content_type, body) {
            Some(tone) => self.on_tone(call, tone),
            None => tracing::debug!(%call, content_type, "INFO ignored"),
        }
    }
}
