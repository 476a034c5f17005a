//! Blind transfers both ways (RFC 3515): the peer's REFER becomes
//! `BlindTransferRequested` once the scenario handles transfers (603
//! otherwise), with NOTIFYs about the new call from
//! `notifyBlindTransferSuccess/Failed`; `transferTo` sends our REFER and
//! turns the peer's NOTIFYs into `TransferComplete` / `TransferFailed`.

use dialtone_core::messages::{CallEvent, Headers};
use dialtone_core::{CallId, SessionId};
use dialtone_sip::{LegId, UaCommand};

use crate::call::Phase;
use crate::headers::custom_only;
use crate::CallCore;

impl CallCore {
    /// `call.handleBlindTransfer(enable)`.
    pub(crate) fn handle_blind_transfer(&mut self, session: SessionId, id: CallId, enable: bool) {
        if let Some(call) = self.owned_mut(session, id) {
            let changed = call.handle_blind_transfer != enable;
            call.handle_blind_transfer = enable;
            if changed {
                self.acd_transfer_handling(id, enable);
            }
        }
    }

    /// The peer's REFER: declined (603) unless the scenario handles
    /// transfers; else accepted (202, then a `100 Trying` NOTIFY) and
    /// reported.
    pub(crate) fn on_refer(
        &mut self,
        leg: LegId,
        refer_to: &str,
        subscription: bool,
        headers: &[(String, String)],
    ) {
        let call = self.call_of_leg(leg).and_then(|id| self.calls.get_mut(&id));
        let Some(call) = call else {
            self.ua(UaCommand::AnswerRefer { leg, code: 481 });
            return;
        };
        if !call.handle_blind_transfer || call.refer_pending {
            let code = if call.refer_pending { 491 } else { 603 };
            tracing::info!(call = %call.id, code, "REFER not taken");
            self.ua(UaCommand::AnswerRefer { leg, code });
            return;
        }
        call.refer_pending = subscription;
        let (id, session) = (call.id, call.session);
        self.ua(UaCommand::AnswerRefer { leg, code: 202 });
        if subscription {
            self.ua(UaCommand::Notify {
                leg,
                sipfrag: "SIP/2.0 100 Trying".into(),
                terminated: false,
            });
        }
        let event = CallEvent::BlindTransferRequested {
            transfer_to: refer_user(refer_to),
            refer_to: refer_to.to_string(),
            headers: custom_only(headers),
        };
        self.emit(session, id, event);
    }

    /// `notifyBlindTransferSuccess()` / `notifyBlindTransferFailed(code,
    /// reason)`: the final NOTIFY.
    pub(crate) fn notify_blind_transfer(
        &mut self,
        session: SessionId,
        id: CallId,
        code: u16,
        reason: &str,
    ) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        if !std::mem::take(&mut call.refer_pending) {
            tracing::debug!(call = %id, "no transfer to report on");
            return;
        }
        let leg = call.leg;
        let reason: String = reason
            .chars()
            .filter(|c| !c.is_control())
            .take(128)
            .collect();
        let reason = if reason.is_empty() {
            dialtone_sip::reason_phrase(code).to_string()
        } else {
            reason
        };
        self.ua(UaCommand::Notify {
            leg,
            sipfrag: format!("SIP/2.0 {code} {reason}"),
            terminated: true,
        });
    }

    /// `call.transferTo(uri)`: our REFER.
    pub(crate) fn transfer_to(
        &mut self,
        session: SessionId,
        id: CallId,
        target: String,
        headers: Headers,
    ) {
        if let Some(leg) = self.start_transfer(session, id, None) {
            self.ua(UaCommand::Refer {
                leg,
                refer_to: target,
                headers,
            });
        }
    }

    /// `call.transferTo(otherCall)`: an attended transfer. Both calls must be
    /// this session's and connected.
    pub(crate) fn transfer_to_call(
        &mut self,
        session: SessionId,
        id: CallId,
        other: CallId,
        headers: Headers,
    ) {
        let target = self
            .calls
            .get(&other)
            .filter(|c| c.session == session && c.phase == Phase::Confirmed && other != id)
            .map(|c| c.leg);
        let Some(leg) = self.start_transfer(session, id, Some(target)) else {
            return;
        };
        // start_transfer refused an unusable target.
        if let Some(target) = target {
            self.ua(UaCommand::ReferReplacing {
                leg,
                target,
                headers,
            });
        }
    }

    /// Marks the call as transferring and returns its leg, or raises
    /// `TransferFailed` (no REFER goes out): 491 while a transfer is under
    /// way, 481 when the call (or the other call `target` of an attended
    /// transfer, `Some(None)` when unusable) is not connected.
    fn start_transfer(
        &mut self,
        session: SessionId,
        id: CallId,
        target: Option<Option<LegId>>,
    ) -> Option<LegId> {
        let call = self.owned_mut(session, id)?;
        let refusal = if call.transferring {
            Some((491, "A transfer is already under way"))
        } else if call.phase != Phase::Confirmed {
            Some((481, "The call is not connected"))
        } else if target == Some(None) {
            Some((
                481,
                "The other call is not a connected call of this session",
            ))
        } else {
            None
        };
        if let Some((code, reason)) = refusal {
            self.emit(
                session,
                id,
                CallEvent::TransferFailed {
                    code,
                    reason: reason.into(),
                    headers: Vec::new(),
                },
            );
            return None;
        }
        call.transferring = true;
        Some(call.leg)
    }

    /// The answer to our REFER: a refusal ends the transfer.
    pub(crate) fn on_refer_answered(&mut self, leg: LegId, code: u16, reason: &str) {
        if (200..300).contains(&code) {
            return;
        }
        self.transfer_outcome(leg, code, reason);
    }

    /// A NOTIFY from the peer: for a transfer under way, the status line of
    /// its new call decides.
    pub(crate) fn on_notify(&mut self, leg: LegId, event: &str, body: &[u8]) {
        let is_refer = event
            .split(';')
            .next()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case("refer"));
        if !is_refer {
            return;
        }
        let Some((code, reason)) = sipfrag_status(body) else {
            return;
        };
        if code >= 200 {
            self.transfer_outcome(leg, code, &reason);
        }
    }

    fn transfer_outcome(&mut self, leg: LegId, code: u16, reason: &str) {
        let call = self.call_of_leg(leg).and_then(|id| self.calls.get_mut(&id));
        let Some(call) = call.filter(|c| c.transferring) else {
            return;
        };
        call.transferring = false;
        let (id, session) = (call.id, call.session);
        let event = if (200..300).contains(&code) {
            CallEvent::TransferComplete {
                headers: Vec::new(),
            }
        } else {
            CallEvent::TransferFailed {
                code,
                reason: reason.to_string(),
                headers: Vec::new(),
            }
        };
        self.emit(session, id, event);
    }
}

/// The user part of a SIP URI (`sip:bob@host` → `bob`), else the URI.
fn refer_user(uri: &str) -> String {
    dialtone_sip::SipUri::parse(uri.split('?').next().unwrap_or(uri))
        .ok()
        .map(|u| dialtone_sip::uri::unescape(u.user_str()).into_owned())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| uri.to_string())
}

/// The status of a `message/sipfrag` body: `SIP/2.0 200 OK` → (200, "OK").
fn sipfrag_status(body: &[u8]) -> Option<(u16, String)> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?.trim();
    let rest = line.strip_prefix("SIP/2.0 ")?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let code = code
        .parse::<u16>()
        .ok()
        .filter(|c| (100..700).contains(c))?;
    Some((code, reason.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sipfrag_status_lines_are_read() {
        assert_eq!(
            sipfrag_status(b"SIP/2.0 200 OK\r\n"),
            Some((200, "OK".into()))
        );
        assert_eq!(
            sipfrag_status(b"SIP/2.0 486 Busy Here"),
            Some((486, "Busy Here".into()))
        );
        assert_eq!(sipfrag_status(b"SIP/2.0 100"), Some((100, String::new())));
        assert_eq!(sipfrag_status(b"HTTP/1.1 200 OK"), None);
        assert_eq!(sipfrag_status(b"SIP/2.0 999 What"), None);
        assert_eq!(sipfrag_status(b"\xff"), None);
    }

    #[test]
    fn the_user_of_a_refer_to() {
        assert_eq!(refer_user("sip:bob@192.0.2.1:5060"), "bob");
        assert_eq!(refer_user("sip:%2B123@h?Replaces=x"), "+123");
        assert_eq!(refer_user("tel:+1555"), "+1555");
    }
}
