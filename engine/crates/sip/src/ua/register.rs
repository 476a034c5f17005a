//! REGISTER (RFC 3261 §10): reported to the registrar above, answered
//! statelessly. A registrar's answer depends only on the request and its
//! bindings, so a retransmission may simply be handled again; no transaction
//! is kept for 32 s per REGISTER.

use super::build;
use super::types::{Peer, RegisterRequest, Reply, UaEvent};
use super::UaCore;
use crate::message::{SipMessage, StartLine};
use crate::via::CSeq;

/// Contact entries one REGISTER may carry; more get 400.
pub const MAX_CONTACTS: usize = 16;

impl UaCore {
    pub(super) fn on_register(&mut self, from: Peer, msg: SipMessage, cseq: CSeq, call_id: String) {
        let contacts: Vec<String> = msg
            .headers
            .values("Contact")
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect();
        let tag = self.token();
        let skeleton = build::response(&msg, &from, 200, "OK", Some(&tag));
        let reply = Reply { to: from, skeleton };
        if contacts.len() > MAX_CONTACTS {
            self.respond_register(reply, 400, &[], vec![], "Too Many Contacts");
            return;
        }
        let expires = match msg.headers.get("Expires") {
            None => None,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) => Some(n.min(u32::MAX as u64) as u32),
                Err(_) => {
                    self.respond_register(reply, 400, &[], vec![], "Bad Expires");
                    return;
                }
            },
        };
        let request = RegisterRequest {
            source: from,
            request_uri: msg.request_uri().unwrap_or_default().to_string(),
            to_uri: msg.headers.get("To").unwrap_or_default().to_string(),
            call_id,
            cseq: cseq.seq,
            contacts,
            expires,
            authorization: msg
                .headers
                .get_all("Authorization")
                .map(str::to_string)
                .collect(),
            user_agent: msg.headers.get("User-Agent").map(str::to_string),
        };
        self.emit(UaEvent::Register {
            request: Box::new(request),
            reply,
        });
    }

    pub(super) fn respond_register(
        &mut self,
        reply: Reply,
        code: u16,
        contacts: &[String],
        headers: Vec<(String, String)>,
        reason: &str,
    ) {
        let Reply { to, mut skeleton } = reply;
        let reason = if reason.is_empty() {
            crate::message::reason_phrase(code)
        } else {
            reason
        };
        skeleton.start = StartLine::Response {
            code,
            reason: reason.to_string(),
        };
        for contact in contacts {
            if contact.bytes().all(|b| b >= 0x20 && b != 0x7f) {
                skeleton.headers.push("Contact", contact.as_str());
            }
        }
        build::add_extra(&mut skeleton, &headers);
        self.add_user_agent(&mut skeleton);
        self.transmit(to, skeleton.to_bytes());
    }
}
