//! Media wiring between a session's units: `sendMediaTo`, `stopMediaTo`,
//! `sendMediaBetween`, `easyProcess`. A session only wires its own units.

use dialtone_core::{SessionId, UnitId};

use crate::io::MediaCommand;
use crate::CallCore;

impl CallCore {
    /// `to` hears `from` from now on.
    pub(crate) fn send_media(&mut self, session: SessionId, from: UnitId, to: UnitId) {
        if self.owns_unit(session, from) && self.owns_unit(session, to) {
            self.media(MediaCommand::Connect { from, to });
        } else {
            tracing::debug!(%session, from = from.0, to = to.0, "sendMedia between units the session does not own");
        }
    }

    /// `to` stops hearing `from` (if it did).
    pub(crate) fn stop_media(&mut self, session: SessionId, from: UnitId, to: UnitId) {
        if self.owns_unit(session, from) && self.owns_unit(session, to) {
            self.media(MediaCommand::Disconnect { from, to });
        }
    }
}
