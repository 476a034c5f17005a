//! Our own REGISTERs (RFC 3261 §10.2): a trunk registering with its
//! provider. Each registration keeps one Call-ID and a rising CSeq across
//! its refreshes, as §10.2.4 asks, and answers a provider's digest
//! challenge once per nonce. What the provider granted is reported; when
//! to refresh, and what to do after a failure, is the caller's business.

use std::time::Instant;

use super::tx_table::{Owner, TxId};
use super::types::{ClientRegister, RegistrationId, UaEvent};
use super::UaCore;
use crate::message::{Method, SipMessage};
use crate::uri::SipUri;

/// A Retry-After or Min-Expires above this (a day) is not believed.
const MAX_SECONDS: u32 = 86_400;

/// One outbound registration the UA remembers between refreshes.
#[derive(Debug)]
pub(super) struct ClientRegistration {
    call_id: String,
    from_tag: String,
    cseq: u32,
    /// The REGISTER in flight, if any.
    tx: Option<TxId>,
    /// The REGISTER's headers but Via and CSeq (credentials are added
    /// here when a challenge is answered).
    request: SipMessage,
    cmd: ClientRegister,
    /// Nonces answered for the current REGISTER.
    answered_nonces: Vec<String>,
}

impl UaCore {
    /// Sends a REGISTER for `cmd.id` (a refresh when the id is known, with
    /// its Call-ID and the next CSeq). A REGISTER of that id still in flight
    /// is abandoned. Exactly one `RegisterAnswered` follows. With
    /// `expires: 0` (un-REGISTER) the id is forgotten once answered.
    pub(super) fn register(&mut self, now: Instant, cmd: ClientRegister) {
        let id = cmd.id;
        let invalid = [&cmd.registrar_uri, &cmd.aor]
            .into_iter()
            .any(|uri| SipUri::parse(uri).is_err());
        if invalid || !cmd.contact_user.bytes().all(is_user_char) || cmd.contact_user.is_empty() {
            self.registration_answered(id, 400, "Invalid Registration URI", None);
            return;
        }
        let (call_id, from_tag, cseq) = match self.registrations.remove(&id) {
            Some(old) => {
                if let Some(tx) = old.tx {
                    self.txs.remove(tx);
                }
                (old.call_id, old.from_tag, old.cseq)
            }
            None => (
                format!("{}@{}", self.token(), self.local_host),
                self.token(),
                0,
            ),
        };
        let contact = self.registration_contact(&cmd);
        let mut req = SipMessage::request(Method::Register, cmd.registrar_uri.clone());
        req.headers.push("Max-Forwards", "70");
        req.headers
            .push("From", format!("<{}>;tag={from_tag}", cmd.aor));
        req.headers.push("To", format!("<{}>", cmd.aor));
        req.headers.push("Call-ID", call_id.as_str());
        req.headers.push("Contact", contact);
        req.headers.push("Expires", cmd.expires.to_string());
        req.headers.push("Allow", super::build::ALLOW);
        self.add_user_agent(&mut req);
        let mut reg = ClientRegistration {
            call_id,
            from_tag,
            cseq,
            tx: None,
            request: req,
            cmd,
            answered_nonces: Vec::new(),
        };
        self.send_registration(now, id, &mut reg);
        self.registrations.insert(id, reg);
    }

    /// Sends `reg.request` again with the next CSeq and a new branch.
    fn send_registration(
        &mut self,
        now: Instant,
        id: RegistrationId,
        reg: &mut ClientRegistration,
    ) {
        reg.cseq = reg.cseq.wrapping_add(1).max(1);
        let branch = self.branch();
        let mut req = SipMessage::request(Method::Register, reg.cmd.registrar_uri.clone());
        req.headers
            .push("Via", self.via(reg.cmd.target.transport, &branch));
        for (name, value) in reg.request.headers.iter() {
            req.headers.push(name, value);
        }
        req.headers.push("CSeq", format!("{} REGISTER", reg.cseq));
        reg.tx = Some(self.start_client_non_invite(
            now,
            req,
            branch,
            reg.cmd.target,
            Owner::Register(id),
        ));
    }

    /// The final response to one of our REGISTERs.
    pub(super) fn on_register_response(
        &mut self,
        now: Instant,
        id: RegistrationId,
        msg: &SipMessage,
    ) {
        let Some(mut reg) = self.registrations.remove(&id) else {
            return;
        };
        reg.tx = None;
        let code = msg.code().unwrap_or_default();
        if matches!(code, 401 | 407) && self.answer_challenge(&mut reg, msg) {
            self.send_registration(now, id, &mut reg);
            self.registrations.insert(id, reg);
            return;
        }
        let contact_uri = contact_uri(&self.registration_contact(&reg.cmd));
        let granted = if (200..300).contains(&code) {
            Some(granted_expires(msg, &contact_uri).unwrap_or(reg.cmd.expires))
        } else {
            None
        };
        let reason = msg.reason().unwrap_or_default().to_string();
        let min_expires = seconds_header(msg, "Min-Expires");
        let retry_after = seconds_header(msg, "Retry-After");
        let unregistering = reg.cmd.expires == 0;
        reg.answered_nonces.clear();
        if !unregistering {
            self.registrations.insert(id, reg);
        }
        self.emit(UaEvent::RegisterAnswered {
            id,
            code,
            reason: super::clean_reason(&reason),
            expires: granted,
            min_expires,
            retry_after,
        });
    }

    /// Our REGISTER got no final response (408) or its transport failed (503).
    pub(super) fn register_failed(
        &mut self,
        id: RegistrationId,
        tx_id: TxId,
        code: u16,
        reason: &str,
    ) {
        let Some(reg) = self.registrations.get_mut(&id) else {
            return;
        };
        if reg.tx != Some(tx_id) {
            return;
        }
        reg.tx = None;
        if reg.cmd.expires == 0 {
            self.registrations.remove(&id);
        }
        self.registration_answered(id, code, reason, None);
    }

    fn registration_answered(
        &mut self,
        id: RegistrationId,
        code: u16,
        reason: &str,
        expires: Option<u32>,
    ) {
        self.emit(UaEvent::RegisterAnswered {
            id,
            code,
            reason: reason.into(),
            expires,
            min_expires: None,
            retry_after: None,
        });
    }

    /// Puts credentials answering `resp`'s challenge on `reg.request`;
    /// false when there is nothing (more) to answer with.
    fn answer_challenge(&mut self, reg: &mut ClientRegistration, resp: &SipMessage) -> bool {
        let Some(credentials) = reg.cmd.auth.clone() else {
            return false;
        };
        let uri = reg.cmd.registrar_uri.clone();
        let Some((answer_name, answer, nonce)) =
            self.digest_answer(resp, &credentials, "REGISTER", &uri, &reg.answered_nonces)
        else {
            return false;
        };
        reg.request.headers.remove(answer_name);
        reg.request.headers.push(answer_name, answer);
        reg.answered_nonces.push(nonce);
        true
    }

    fn registration_contact(&self, cmd: &ClientRegister) -> String {
        let transport = cmd.target.transport.uri_param();
        format!(
            "<sip:{}@{}:{}{transport}>",
            cmd.contact_user,
            self.local_host,
            self.cfg.local_addr.port()
        )
    }

    /// Outbound registrations the UA remembers (tests check none leaks).
    pub fn registration_count(&self) -> usize {
        self.registrations.len()
    }
}

/// RFC 3261 user characters we put in a Contact unescaped.
fn is_user_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,;?/".contains(&b)
}

/// `sip:user@host:port` out of `<sip:user@host:port;params>`.
fn contact_uri(contact: &str) -> String {
    let inner = contact.trim().trim_start_matches('<');
    let end = inner.find(['>', ';']).unwrap_or(inner.len());
    inner[..end].to_ascii_lowercase()
}

/// What the registrar granted our contact (§10.2.4): the `expires`
/// parameter of the Contact entry that is ours, else the Expires header.
fn granted_expires(resp: &SipMessage, ours: &str) -> Option<u32> {
    let from_contact = resp.headers.values("Contact").find_map(|entry| {
        if contact_uri(entry) != ours {
            return None;
        }
        let params = entry.rsplit_once('>').map_or(entry, |(_, p)| p);
        params.split(';').find_map(|p| {
            let (name, value) = p.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("expires")
                .then(|| value.trim().parse::<u64>().ok())
                .flatten()
        })
    });
    from_contact
        .or_else(|| {
            resp.headers
                .get("Expires")
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .map(|n| n.min(u64::from(u32::MAX)) as u32)
}

/// A header holding a number of seconds (Retry-After may carry a comment).
fn seconds_header(resp: &SipMessage, name: &str) -> Option<u32> {
    let value = resp.headers.get(name)?;
    let digits = value.trim().split([' ', ';', '(']).next()?;
    digits
        .parse::<u32>()
        .ok()
        .filter(|s| (1..=MAX_SECONDS).contains(s))
}
