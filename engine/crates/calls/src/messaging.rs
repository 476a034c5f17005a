//! INFO and MESSAGE inside a call, both ways: DTMF INFO becomes
//! `ToneReceived`, any other INFO `InfoReceived`; MESSAGE becomes
//! `MessageReceived`; `sendInfo` and `sendMessage` go out in the dialog.

use dialtone_core::messages::{CallEvent, Headers};
use dialtone_core::{CallId, SessionId};
use dialtone_sip::{Body, LegId, UaCommand};

use crate::call::Phase;
use crate::headers::custom_only;
use crate::CallCore;

/// The largest INFO or MESSAGE body a scenario may send (VoxEngine's limit;
/// the script host refuses larger ones with an error first).
pub const MAX_BODY: usize = dialtone_sip::MAX_MESSAGE_BODY;

impl CallCore {
    /// An INFO (already answered 200): DTMF when it carries a digit,
    /// `InfoReceived` otherwise.
    pub(crate) fn on_info(
        &mut self,
        leg: LegId,
        content_type: &str,
        body: &[u8],
        headers: &[(String, String)],
    ) {
        let Some(id) = self.call_of_leg(leg) else {
            return;
        };
        if let Some(tone) = dialtone_media::dtmf::info::parse_info(content_type, body) {
            self.on_tone(id, tone);
            return;
        }
        let Some(session) = self.calls.get(&id).map(|c| c.session) else {
            return;
        };
        let event = CallEvent::InfoReceived {
            mime_type: content_type.to_string(),
            body: String::from_utf8_lossy(body).into_owned(),
            headers: custom_only(headers),
        };
        self.emit(session, id, event);
    }

    /// A MESSAGE (already answered 200).
    pub(crate) fn on_message(&mut self, leg: LegId, body: &[u8], headers: &[(String, String)]) {
        let Some(id) = self.call_of_leg(leg) else {
            return;
        };
        let Some(session) = self.calls.get(&id).map(|c| c.session) else {
            return;
        };
        let event = CallEvent::MessageReceived {
            text: String::from_utf8_lossy(body).into_owned(),
            headers: custom_only(headers),
        };
        self.emit(session, id, event);
    }

    /// `call.sendInfo(mimeType, body, headers)`.
    pub(crate) fn send_info(
        &mut self,
        session: SessionId,
        id: CallId,
        mime_type: String,
        body: String,
        headers: Headers,
    ) {
        if let Some(leg) = self.confirmed_leg(session, id, "sendInfo", body.len()) {
            let body = Body {
                content_type: mime_type,
                data: body.into_bytes(),
            };
            self.ua(UaCommand::Info { leg, body, headers });
        }
    }

    /// `call.sendMessage(text)`.
    pub(crate) fn send_message(
        &mut self,
        session: SessionId,
        id: CallId,
        text: String,
        headers: Headers,
    ) {
        if let Some(leg) = self.confirmed_leg(session, id, "sendMessage", text.len()) {
            let body = Body {
                content_type: "text/plain;charset=UTF-8".into(),
                data: text.into_bytes(),
            };
            self.ua(UaCommand::Message { leg, body, headers });
        }
    }

    fn confirmed_leg(
        &mut self,
        session: SessionId,
        id: CallId,
        what: &str,
        len: usize,
    ) -> Option<LegId> {
        let call = self.owned_mut(session, id)?;
        if call.phase != Phase::Confirmed {
            tracing::debug!(call = %id, what, "not sent: the call is not connected");
            return None;
        }
        if len > MAX_BODY {
            tracing::info!(call = %id, what, len, "not sent: the body is over 8 KiB");
            return None;
        }
        Some(call.leg)
    }
}

impl CallCore {
    /// `CallEvents.Statistics` has (or no longer has) a listener: measure
    /// the call's media (at once if its RTP is up, else once it is).
    pub(crate) fn call_statistics(
        &mut self,
        session: dialtone_core::SessionId,
        id: dialtone_core::CallId,
        enable: bool,
    ) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        call.statistics = enable;
        if call.negotiated.is_some() {
            let unit = call.unit();
            self.media(crate::io::MediaCommand::Statistics {
                unit,
                interval: enable.then_some(crate::STATISTICS_INTERVAL),
            });
        }
    }
}
