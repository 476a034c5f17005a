//! Outbound legs: dialing, responses to our INVITE, CANCEL and digest retries.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Instant;

use super::build::{self, take_body};
use super::leg::{Direction, Leg, LegState};
use super::timer_queue::Wake;
use super::tx_table::{Owner, Tx, TxId, TxKey};
use super::{route_peer, ExtraHeaders, LegId, UaCommand, UaCore, UaEvent};
use crate::auth::Credentials;
use crate::dialog::Dialog;
use crate::message::{Method, SipMessage};
use crate::transaction::{ClientInviteTx, ClientKey, TxStep};
use crate::uri::SipUri;

/// What the ACK for a 2xx is built from.
struct AckBasis {
    dialog: Dialog,
    /// The INVITE's CSeq number.
    seq: u32,
    /// The INVITE's credentials, which the ACK repeats (§22.1).
    credentials: Vec<(String, String)>,
}

impl UaCore {
    pub(super) fn dial(&mut self, now: Instant, cmd: UaCommand) {
        let UaCommand::Dial {
            leg: leg_id,
            target,
            request_uri,
            from_uri,
            from_display,
            to_uri,
            body,
            headers,
            auth,
            max_forwards,
        } = cmd
        else {
            return;
        };
        if self.legs.contains_key(&leg_id) {
            tracing::warn!(leg = leg_id, "dial with a leg id already in use; ignored");
            return;
        }
        let invalid = [
            (&request_uri, "Invalid Request-URI"),
            (&from_uri, "Invalid From URI"),
            (&to_uri, "Invalid To URI"),
        ]
        .into_iter()
        .find(|(uri, _)| SipUri::parse(uri).is_err());
        if let Some((_, reason)) = invalid {
            self.emit(UaEvent::Failed {
                leg: leg_id,
                code: 400,
                reason: reason.into(),
                headers: Vec::new(),
            });
            return;
        }
        let local_tag = self.token();
        let call_id = format!("{}@{}", self.token(), self.local_host);
        let branch = self.branch();
        let mut invite = SipMessage::request(Method::Invite, request_uri);
        invite
            .headers
            .push("Via", self.via(target.transport, &branch));
        invite
            .headers
            .push("Max-Forwards", max_forwards.to_string());
        invite.headers.push(
            "From",
            format!(
                "{};tag={local_tag}",
                build::name_addr(from_display.as_deref(), &from_uri)
            ),
        );
        invite.headers.push("To", build::name_addr(None, &to_uri));
        invite.headers.push("Call-ID", call_id.as_str());
        invite.headers.push("CSeq", "1 INVITE");
        self.add_dialog_headers(&mut invite, target.transport);
        invite.headers.push(
            "Session-Expires",
            super::session_timer::OUR_SESSION_EXPIRES.to_string(),
        );
        build::add_extra(&mut invite, &headers);
        build::set_body(&mut invite, body);

        let (tx, bytes) =
            ClientInviteTx::new(now, invite, target.transport.is_reliable(), self.timers);
        let tx_id = self.txs.insert(
            Tx::ClientInvite(tx),
            target,
            Owner::Invite(leg_id),
            TxKey::Client(ClientKey {
                branch,
                method: Method::Invite,
            }),
        );
        self.transmit(target, bytes);
        self.touch(tx_id);
        let mut leg = Leg::new(
            Direction::Outbound,
            LegState::Calling,
            target,
            call_id,
            local_tag.clone(),
            tx_id,
            1,
        );
        leg.auth = auth.map(Credentials::from);
        self.dialogs.insert(local_tag, leg_id);
        self.legs.insert(leg_id, leg);
    }

    pub(super) fn on_response(&mut self, now: Instant, msg: SipMessage) {
        // §8.1.3.3: a response with more than one Via was not meant for us.
        if msg.via_count() != 1 {
            tracing::debug!("response with several Vias dropped");
            return;
        }
        let (Ok(via), Ok(cseq)) = (msg.top_via(), msg.cseq()) else {
            tracing::debug!("response without usable Via or CSeq dropped");
            return;
        };
        let Some(branch) = via.branch() else {
            return;
        };
        let key = ClientKey {
            branch: branch.to_string(),
            method: cseq.method,
        };
        let Some(id) = self.txs.find_client(&key) else {
            tracing::trace!(branch, "response matching no transaction dropped");
            return;
        };
        let owner = self.txs.get(id).map(|e| e.owner);
        let step = self.run_tx(id, |tx| match tx {
            Tx::ClientInvite(t) => t.on_response(now, &msg),
            Tx::ClientNonInvite(t) => t.on_response(now, &msg),
            _ => TxStep::default(),
        });
        if !step.is_some_and(|s| s.deliver) {
            return;
        }
        let code = msg.code().unwrap_or_default();
        match owner {
            Some(Owner::Invite(leg_id)) => self.on_invite_response(now, id, leg_id, msg),
            Some(Owner::ReInvite(leg_id)) => self.on_reinvite_response(id, leg_id, msg),
            Some(Owner::Refresh(leg_id)) if code >= 200 => {
                self.on_refresh_response(now, leg_id, code)
            }
            Some(Owner::Refer(leg_id)) if code >= 200 => {
                let reason = msg.reason().unwrap_or_default().to_string();
                self.refer_answered(leg_id, code, &reason)
            }
            Some(Owner::Cancel(leg_id)) if code >= 300 => self.cancel_refused(now, leg_id),
            Some(Owner::Register(reg)) if code >= 200 => self.on_register_response(now, reg, &msg),
            Some(Owner::Bye(leg_id)) if code >= 200 && self.legs.contains_key(&leg_id) => {
                self.remove_leg(now, leg_id);
                self.emit(UaEvent::Terminated {
                    leg: leg_id,
                    by_remote: false,
                    code,
                    reason: msg.reason().unwrap_or_default().to_string(),
                    headers: msg.headers.to_vec(),
                });
            }
            _ => {}
        }
    }

    fn on_invite_response(&mut self, now: Instant, tx_id: TxId, leg_id: LegId, msg: SipMessage) {
        let code = msg.code().unwrap_or_default();
        let current = self.legs.get(&leg_id).is_some_and(|l| {
            l.direction == Direction::Outbound && l.invite_tx == tx_id && !l.is_established()
        });
        if !current {
            if (200..300).contains(&code) {
                self.ack_and_bye_stray(now, tx_id, &msg);
            }
            return;
        }
        match code {
            100..=199 => self.outbound_provisional(now, leg_id, msg),
            200..=299 => self.outbound_answered(now, tx_id, leg_id, msg),
            _ => self.outbound_failed(now, leg_id, msg),
        }
    }

    fn outbound_provisional(&mut self, now: Instant, leg_id: LegId, mut msg: SipMessage) {
        let code = msg.code().unwrap_or_default();
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        if let Some(tag) = msg.to_tag() {
            leg.remote_tag = Some(tag.to_string());
        }
        leg.state = LegState::Early;
        if let Some(headers) = &leg.hangup {
            // §9.1: the CANCEL waited for this provisional.
            if !leg.cancel_sent {
                let headers = headers.clone();
                self.send_cancel(now, leg_id, headers);
            }
            return;
        }
        if code == 100 {
            return;
        }
        // A retransmitted INVITE makes the peer repeat its last provisional.
        let mut hasher = DefaultHasher::new();
        (code, msg.to_tag(), &msg.body).hash(&mut hasher);
        let fingerprint = hasher.finish();
        if leg.last_provisional == Some(fingerprint) {
            return;
        }
        leg.last_provisional = Some(fingerprint);
        let body = take_body(&mut msg);
        self.emit(UaEvent::Provisional {
            leg: leg_id,
            code,
            reason: msg.reason().unwrap_or_default().to_string(),
            body,
            headers: msg.headers.to_vec(),
        });
    }

    /// §13.2.2.4: the TU ACKs a 2xx itself, on a new branch, along the dialog route.
    fn outbound_answered(&mut self, now: Instant, tx_id: TxId, leg_id: LegId, mut msg: SipMessage) {
        let Some(AckBasis {
            dialog,
            seq,
            credentials,
        }) = self.dialog_from_2xx(tx_id, &msg)
        else {
            self.remove_leg(now, leg_id);
            self.emit(UaEvent::Failed {
                leg: leg_id,
                code: 502,
                reason: "Malformed 2xx".into(),
                headers: msg.headers.to_vec(),
            });
            return;
        };
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        let to = route_peer(leg.direction, leg.peer, &dialog);
        self.send_2xx_ack(tx_id, &dialog, seq, &credentials, to);
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        leg.remote_tag = Some(dialog.id.remote_tag.clone());
        leg.dialog = Some(dialog);
        leg.deadline = None;
        leg.state = LegState::Confirmed;
        if let Some(se) = super::session_timer::SessionExpires::of(&msg) {
            // §7.2: the 2xx names the refresher; if it does not, we are.
            let refresher = se.refresher.unwrap_or(super::session_timer::Refresher::Uac);
            let timer = super::session_timer::SessionTimer::new(now, se, refresher, true);
            self.set_session_timer(leg_id, Some(timer));
        }
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        if let Some(headers) = leg.hangup.take() {
            // We hung up while the 2xx was on its way: end the dialog it made.
            self.send_bye(now, leg_id, headers, Owner::Bye(leg_id));
            return;
        }
        let body = take_body(&mut msg);
        self.emit(UaEvent::Answered {
            leg: leg_id,
            body,
            headers: msg.headers.to_vec(),
        });
    }

    /// The dialog a 2xx to transaction `tx_id` creates, the INVITE's CSeq and its
    /// credentials (the ACK repeats them, §22.1).
    fn dialog_from_2xx(&self, tx_id: TxId, msg: &SipMessage) -> Option<AckBasis> {
        let entry = self.txs.get(tx_id)?;
        let Tx::ClientInvite(tx) = &entry.tx else {
            return None;
        };
        let invite = tx.request();
        let dialog = Dialog::uac(invite, msg)
            .map_err(|e| tracing::warn!(error = %e, "cannot build dialog from 2xx"))
            .ok()?;
        let seq = invite.cseq().ok()?.seq;
        let credentials = invite
            .headers
            .iter()
            .filter(|(n, _)| {
                n.eq_ignore_ascii_case("Authorization")
                    || n.eq_ignore_ascii_case("Proxy-Authorization")
            })
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        Some(AckBasis {
            dialog,
            seq,
            credentials,
        })
    }

    pub(super) fn send_2xx_ack(
        &mut self,
        tx_id: TxId,
        dialog: &Dialog,
        seq: u32,
        credentials: &[(String, String)],
        to: super::Peer,
    ) {
        let branch = self.branch();
        let mut ack = dialog.ack(seq, &self.via(to.transport, &branch));
        for (name, value) in credentials {
            ack.headers.push(name.as_str(), value.as_str());
        }
        self.add_user_agent(&mut ack);
        let bytes = ack.to_bytes();
        if let Some(entry) = self.txs.get_mut(tx_id) {
            if let Tx::ClientInvite(tx) = &mut entry.tx {
                if !tx.has_2xx_ack() {
                    tx.set_2xx_ack(&dialog.id.remote_tag, bytes.clone());
                    entry.ack_peer = Some(to);
                }
            }
        }
        self.transmit(to, bytes);
    }

    /// A 2xx no live leg wants (another fork, or the leg already ended): §13.2.2.4
    /// says ACK it, then BYE the dialog it created.
    fn ack_and_bye_stray(&mut self, now: Instant, tx_id: TxId, msg: &SipMessage) {
        let Some(AckBasis {
            mut dialog,
            seq,
            credentials,
        }) = self.dialog_from_2xx(tx_id, msg)
        else {
            return;
        };
        let Some(peer) = self.txs.get(tx_id).map(|e| e.peer) else {
            return;
        };
        let to = route_peer(Direction::Outbound, peer, &dialog);
        self.send_2xx_ack(tx_id, &dialog, seq, &credentials, to);
        let branch = self.branch();
        let mut bye = dialog.request(Method::Bye, &self.via(to.transport, &branch));
        self.add_user_agent(&mut bye);
        self.start_client_non_invite(now, bye, branch, to, Owner::Nobody);
    }

    fn outbound_failed(&mut self, now: Instant, leg_id: LegId, msg: SipMessage) {
        let code = msg.code().unwrap_or_default();
        if (code == 401 || code == 407) && self.retry_with_auth(now, leg_id, &msg) {
            return;
        }
        if code == 422 && self.retry_with_min_se(now, leg_id, &msg) {
            return;
        }
        self.remove_leg(now, leg_id);
        self.emit(UaEvent::Failed {
            leg: leg_id,
            code,
            reason: msg.reason().unwrap_or_default().to_string(),
            headers: msg.headers.to_vec(),
        });
    }

    /// Resends the INVITE with digest credentials (CSeq+1, new branch). Each nonce
    /// is answered once, unless the server marks it stale.
    fn retry_with_auth(&mut self, now: Instant, leg_id: LegId, resp: &SipMessage) -> bool {
        let Some(leg) = self.legs.get(&leg_id) else {
            return false;
        };
        let (Some(credentials), None) = (leg.auth.clone(), leg.hangup.as_ref()) else {
            return false;
        };
        let Some(Tx::ClientInvite(old)) = self.txs.get(leg.invite_tx).map(|e| &e.tx) else {
            return false;
        };
        let uri = old.request().request_uri().unwrap_or_default().to_string();
        let answered = leg.answered_nonces.clone();
        let Some((answer_name, answer, nonce)) =
            self.digest_answer(resp, &credentials, "INVITE", &uri, &answered)
        else {
            return false;
        };
        self.resend_invite(now, leg_id, |invite| {
            invite.headers.remove(answer_name);
            invite.headers.push(answer_name, answer);
        });
        if let Some(leg) = self.legs.get_mut(&leg_id) {
            leg.answered_nonces.push(nonce);
        }
        true
    }

    /// RFC 4028 §7.4: a 422 names the shortest interval the callee takes
    /// (Min-SE); the INVITE goes again once with that interval.
    fn retry_with_min_se(&mut self, now: Instant, leg_id: LegId, resp: &SipMessage) -> bool {
        /// A Min-SE above this is not worth a call (a day).
        const MAX_MIN_SE: u32 = 86_400;
        let Some(leg) = self.legs.get(&leg_id) else {
            return false;
        };
        if leg.min_se_retried || leg.hangup.is_some() {
            return false;
        }
        let Some(min_se) = resp
            .headers
            .get("Min-SE")
            .and_then(|v| v.split(';').next())
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|s| (super::session_timer::MIN_SE..=MAX_MIN_SE).contains(s))
        else {
            return false;
        };
        self.resend_invite(now, leg_id, |invite| {
            invite
                .headers
                .replace("Session-Expires", min_se.to_string());
            invite.headers.replace("Min-SE", min_se.to_string());
        });
        if let Some(leg) = self.legs.get_mut(&leg_id) {
            leg.min_se_retried = true;
        }
        true
    }

    /// Sends the leg's INVITE again in a new transaction (new branch, CSeq+1),
    /// changed by `edit`, and waits for its responses from scratch.
    fn resend_invite(&mut self, now: Instant, leg_id: LegId, edit: impl FnOnce(&mut SipMessage)) {
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        let Some(Tx::ClientInvite(old)) = self.txs.get(leg.invite_tx).map(|e| &e.tx) else {
            return;
        };
        let mut invite = old.request().clone();
        let (peer, seq) = (leg.peer, leg.invite_seq + 1);
        let branch = self.branch();
        invite
            .headers
            .replace("Via", self.via(peer.transport, &branch));
        invite.headers.replace("CSeq", format!("{seq} INVITE"));
        edit(&mut invite);
        let (tx, bytes) =
            ClientInviteTx::new(now, invite, peer.transport.is_reliable(), self.timers);
        let tx_id = self.txs.insert(
            Tx::ClientInvite(tx),
            peer,
            Owner::Invite(leg_id),
            TxKey::Client(ClientKey {
                branch,
                method: Method::Invite,
            }),
        );
        self.transmit(peer, bytes);
        self.touch(tx_id);
        if let Some(leg) = self.legs.get_mut(&leg_id) {
            leg.invite_tx = tx_id;
            leg.invite_seq = seq;
            leg.state = LegState::Calling;
            leg.remote_tag = None;
            leg.last_provisional = None;
        }
    }

    /// A CANCEL that overtook its INVITE gets 481. Once the callee has seen the
    /// INVITE (a provisional arrived, now or later) the CANCEL is sent once more.
    fn cancel_refused(&mut self, now: Instant, leg_id: LegId) {
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        if leg.is_established() || leg.cancel_retried {
            return;
        }
        leg.cancel_retried = true;
        leg.cancel_sent = false;
        if leg.state == LegState::Early {
            let headers = leg.hangup.clone().unwrap_or_default();
            self.send_cancel(now, leg_id, headers);
        }
    }

    /// §9.1: CANCEL copies the INVITE's Request-URI, top Via, From, To, Call-ID,
    /// CSeq number and Route.
    pub(super) fn send_cancel(&mut self, now: Instant, leg_id: LegId, headers: ExtraHeaders) {
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        if leg.cancel_sent {
            return;
        }
        let Some(Tx::ClientInvite(tx)) = self.txs.get(leg.invite_tx).map(|e| &e.tx) else {
            return;
        };
        let invite = tx.request();
        let mut cancel =
            SipMessage::request(Method::Cancel, invite.request_uri().unwrap_or_default());
        let Some(top_via) = invite.headers.values("Via").next() else {
            return;
        };
        let Some(branch) = invite
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_string))
        else {
            return;
        };
        cancel.headers.push("Via", top_via);
        cancel.headers.push("Max-Forwards", "70");
        for name in ["From", "To", "Call-ID"] {
            if let Some(value) = invite.headers.get(name) {
                cancel.headers.push(name, value);
            }
        }
        cancel
            .headers
            .push("CSeq", format!("{} CANCEL", leg.invite_seq));
        for route in invite.headers.get_all("Route") {
            cancel.headers.push("Route", route);
        }
        build::add_extra(&mut cancel, &headers);
        self.add_user_agent(&mut cancel);
        let peer = leg.peer;
        let deadline = now + self.timers.long();
        if let Some(leg) = self.legs.get_mut(&leg_id) {
            leg.cancel_sent = true;
            leg.deadline = Some(deadline);
        }
        self.wakeups.push(deadline, Wake::Leg(leg_id));
        self.start_client_non_invite(now, cancel, branch, peer, Owner::Cancel(leg_id));
    }
}
