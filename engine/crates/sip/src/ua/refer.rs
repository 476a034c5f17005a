//! Transfers (RFC 3515, RFC 4488): the peer's REFER and the NOTIFYs we send
//! about it, and our REFER with the peer's NOTIFYs.

use std::time::Instant;

use super::build;
use super::leg::LegState;
use super::tx_table::Owner;
use super::types::{ExtraHeaders, LegId, Peer, UaEvent};
use super::UaCore;
use crate::message::{Method, SipMessage};
use crate::via::Via;

/// How long the refer subscription we grant lasts (RFC 3515 §2.4.2 lets the
/// notifier choose); the final NOTIFY ends it sooner.
const REFER_EXPIRES: u32 = 60;

/// `<sip:…>` or a bare URI, without brackets and header parameters kept.
fn bare_uri(value: &str) -> String {
    let v = value.trim();
    match (v.find('<'), v.rfind('>')) {
        (Some(start), Some(end)) if start < end => v[start + 1..end].to_string(),
        _ => v.split(';').next().unwrap_or_default().trim().to_string(),
    }
}

impl UaCore {
    /// A REFER in a confirmed dialog: one Refer-To, or 400; one at a time,
    /// or 491. The call layer answers it (`AnswerRefer`).
    pub(super) fn on_refer(
        &mut self,
        now: Instant,
        from: Peer,
        msg: SipMessage,
        via: &Via,
        leg_id: LegId,
    ) {
        let refusal = match self.legs.get(&leg_id) {
            None => return,
            Some(leg) if leg.state != LegState::Confirmed => {
                Some((481, "Call/Transaction Does Not Exist"))
            }
            Some(leg) if leg.pending_refer.is_some() => Some((491, "Request Pending")),
            Some(_) if msg.headers.get_all("Refer-To").count() != 1 => {
                Some((400, "Exactly One Refer-To Required"))
            }
            Some(_) => None,
        };
        if let Some((code, reason)) = refusal {
            let resp = build::response(&msg, &from, code, reason, None);
            self.reply(now, from, &msg, via, resp);
            return;
        }
        let refer_to = bare_uri(msg.headers.get("Refer-To").unwrap_or_default());
        let subscription = !msg
            .headers
            .get("Refer-Sub")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
        let tx = self.open_server_tx(from, &msg, via, Owner::Nobody);
        let headers = msg.headers.to_vec();
        if let Some(leg) = self.legs.get_mut(&leg_id) {
            leg.pending_refer = Some((tx, msg));
            leg.refer_subscription = subscription;
        }
        self.emit(UaEvent::Refer {
            leg: leg_id,
            refer_to,
            subscription,
            headers,
        });
    }

    /// The call layer's answer to the peer's REFER.
    pub(super) fn answer_refer(&mut self, now: Instant, leg_id: LegId, code: u16) {
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        let Some((tx, req)) = leg.pending_refer.take() else {
            tracing::debug!(leg = leg_id, "no REFER to answer");
            return;
        };
        let (peer, subscription) = (leg.peer, leg.refer_subscription);
        if !(200..=699).contains(&code) {
            tracing::warn!(
                leg = leg_id,
                code,
                "REFER answer code out of range; ignored"
            );
            return;
        }
        let mut resp =
            build::response(&req, &peer, code, crate::message::reason_phrase(code), None);
        if code < 300 {
            resp.headers.push("Contact", self.contact(peer.transport));
            if !subscription {
                resp.headers.push("Refer-Sub", "false");
            }
        } else if let Some(leg) = self.legs.get_mut(&leg_id) {
            leg.refer_subscription = false;
        }
        self.respond(now, tx, resp);
    }

    /// A NOTIFY about the transfer the peer asked for.
    pub(super) fn send_notify(
        &mut self,
        now: Instant,
        leg_id: LegId,
        sipfrag: &str,
        terminated: bool,
    ) {
        let subscribed = self.legs.get(&leg_id).is_some_and(|l| {
            l.refer_subscription && matches!(l.state, LegState::Confirmed | LegState::AwaitingAck)
        });
        if !subscribed {
            tracing::debug!(leg = leg_id, "NOTIFY not sent: no refer subscription");
            return;
        }
        let Some((mut notify, to, branch)) = self.dialog_request(leg_id, Method::Notify) else {
            return;
        };
        notify.headers.push("Event", "refer");
        let state = if terminated {
            "terminated;reason=noresource".to_string()
        } else {
            format!("active;expires={REFER_EXPIRES}")
        };
        notify.headers.push("Subscription-State", state);
        notify.headers.push("Contact", self.contact(to.transport));
        let mut line = sipfrag.replace(['\r', '\n'], " ");
        line.push_str("\r\n");
        build::set_body(
            &mut notify,
            Some(super::types::Body {
                content_type: "message/sipfrag;version=2.0".into(),
                data: line.into_bytes(),
            }),
        );
        self.start_client_non_invite(now, notify, branch, to, Owner::Nobody);
        if terminated {
            if let Some(leg) = self.legs.get_mut(&leg_id) {
                leg.refer_subscription = false;
            }
        }
    }

    /// Our REFER: a blind transfer of the peer to `refer_to`.
    pub(super) fn send_refer(
        &mut self,
        now: Instant,
        leg_id: LegId,
        refer_to: &str,
        headers: ExtraHeaders,
    ) {
        let confirmed = self
            .legs
            .get(&leg_id)
            .is_some_and(|l| l.state == LegState::Confirmed);
        if !confirmed || refer_to.bytes().any(|b| b < 0x20 || b == b'>' || b == b'<') {
            self.refer_answered(leg_id, if confirmed { 400 } else { 481 }, "Not Sent");
            return;
        }
        let Some((mut refer, to, branch)) = self.dialog_request(leg_id, Method::Refer) else {
            return;
        };
        refer.headers.push("Refer-To", format!("<{refer_to}>"));
        let contact = self.contact(to.transport);
        refer.headers.push("Referred-By", contact.clone());
        refer.headers.push("Contact", contact);
        build::add_extra(&mut refer, &headers);
        self.start_client_non_invite(now, refer, branch, to, Owner::Refer(leg_id));
    }

    /// `target`'s remote target with a `Replaces` header naming its dialog
    /// as its peer sees it (RFC 3891 §3: to-tag is the peer's own tag).
    pub(super) fn replaces_uri(&self, target: LegId) -> Option<String> {
        let leg = self
            .legs
            .get(&target)
            .filter(|l| l.state == LegState::Confirmed)?;
        let dialog = leg.dialog.as_ref()?;
        let mut uri = dialog.remote_target.clone();
        uri.headers.clear();
        Some(format!(
            "{uri}?Replaces={}%3Bto-tag%3D{}%3Bfrom-tag%3D{}",
            escape_header_value(&dialog.id.call_id),
            escape_header_value(&dialog.id.remote_tag),
            escape_header_value(&dialog.id.local_tag),
        ))
    }

    pub(super) fn refer_answered(&mut self, leg_id: LegId, code: u16, reason: &str) {
        self.emit(UaEvent::ReferAnswered {
            leg: leg_id,
            code,
            reason: reason.into(),
        });
    }

    /// A NOTIFY in a dialog (the peer's reports on our REFER): 200 and an
    /// event.
    pub(super) fn on_notify(
        &mut self,
        now: Instant,
        from: Peer,
        msg: SipMessage,
        via: &Via,
        leg_id: LegId,
    ) {
        let event = msg.headers.get("Event").unwrap_or_default().to_string();
        let state = msg
            .headers
            .get("Subscription-State")
            .unwrap_or_default()
            .to_string();
        let (_, body, _) = self.accept_request(now, from, msg, via);
        self.emit(UaEvent::Notify {
            leg: leg_id,
            event,
            state,
            body,
        });
    }
}

/// A URI header value (RFC 3261 §19.1.1 `hvalue`): unreserved characters as
/// they are, everything else %HH.
fn escape_header_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()[]/?:+$".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_values_are_escaped() {
        assert_eq!(escape_header_value("a1b2@127.0.0.1"), "a1b2%40127.0.0.1");
        assert_eq!(escape_header_value("x;y=z"), "x%3By%3Dz");
    }

    #[test]
    fn refer_to_loses_its_brackets() {
        assert_eq!(bare_uri("<sip:b@h;transport=tcp>"), "sip:b@h;transport=tcp");
        assert_eq!(bare_uri(" sip:b@h ;x=1"), "sip:b@h");
        assert_eq!(bare_uri("\"B\" <sip:b@h?Replaces=x>"), "sip:b@h?Replaces=x");
    }
}
