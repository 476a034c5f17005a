//! Requests inside an established dialog other than BYE: MESSAGE and UPDATE
//! from the peer, and our own INFO, MESSAGE and re-INVITE.

use std::time::Instant;

use super::build::{self, take_body};
use super::leg::LegState;
use super::route_peer;
use super::timer_queue::Wake;
use super::tx_table::{Owner, Tx, TxId, TxKey};
use super::types::{Body, ExtraHeaders, LegId, Peer, UaEvent};
use super::UaCore;
use crate::message::{Method, SipMessage};
use crate::transaction::{ClientInviteTx, ClientKey};
use crate::via::Via;

/// The largest MESSAGE body taken or sent (VoxEngine's limit for INFO and
/// MESSAGE bodies); a larger one is answered 413.
pub const MAX_MESSAGE_BODY: usize = 8192;

impl UaCore {
    /// An in-dialog INFO or MESSAGE of ours; its response is not reported.
    pub(super) fn send_in_dialog(
        &mut self,
        now: Instant,
        leg_id: LegId,
        method: Method,
        body: Body,
        headers: ExtraHeaders,
    ) {
        let established = self
            .legs
            .get(&leg_id)
            .is_some_and(|l| matches!(l.state, LegState::AwaitingAck | LegState::Confirmed));
        if !established {
            tracing::debug!(
                leg = leg_id,
                method = method.as_str(),
                "not sent: the leg is not established"
            );
            return;
        }
        let Some((mut req, to, branch)) = self.dialog_request(leg_id, method) else {
            return;
        };
        build::add_extra(&mut req, &headers);
        build::set_body(&mut req, Some(body));
        self.start_client_non_invite(now, req, branch, to, Owner::Nobody);
    }

    /// MESSAGE (RFC 3428) inside a call: 200 and an event, or 413 when the
    /// body is past [`MAX_MESSAGE_BODY`].
    pub(super) fn on_message(
        &mut self,
        now: Instant,
        from: Peer,
        msg: SipMessage,
        via: &Via,
        leg_id: LegId,
    ) {
        if msg.body.len() > MAX_MESSAGE_BODY {
            let resp = build::response(&msg, &from, 413, "Request Entity Too Large", None);
            self.reply(now, from, &msg, via, resp);
            return;
        }
        let (content_type, body, headers) = self.accept_request(now, from, msg, via);
        self.emit(UaEvent::Message {
            leg: leg_id,
            content_type,
            body,
            headers,
        });
    }

    /// UPDATE (RFC 3311) on a confirmed dialog. Without a body it only
    /// refreshes the session: 200 at once. With an offer it is answered as a
    /// re-INVITE is, on its own transaction; an offer already open either way
    /// gets 491 (ours) or 500 with Retry-After (theirs), §5.2.
    pub(super) fn on_update(
        &mut self,
        now: Instant,
        from: Peer,
        msg: SipMessage,
        via: &Via,
        leg_id: LegId,
    ) {
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        let refusal = if leg.our_reinvite.is_some() {
            Some((491, "Request Pending"))
        } else if leg.reinvite.is_some() {
            Some((500, "Server Internal Error"))
        } else if !matches!(leg.state, LegState::Confirmed | LegState::AwaitingAck) {
            Some((481, "Call/Transaction Does Not Exist"))
        } else {
            None
        };
        if let Some((code, reason)) = refusal {
            let mut resp = build::response(&msg, &from, code, reason, None);
            if code == 500 {
                resp.headers.push("Retry-After", "1");
            }
            self.reply(now, from, &msg, via, resp);
            return;
        }
        if msg.body.is_empty() {
            let peer = leg.peer;
            let mut resp = build::response(&msg, &from, 200, "OK", None);
            self.add_dialog_headers(&mut resp, peer.transport);
            self.session_refreshed(now, leg_id, &mut resp);
            self.reply(now, from, &msg, via, resp);
            return;
        }
        let tx = self.open_server_tx(from, &msg, via, Owner::Invite(leg_id));
        self.offer_to_answer(tx, msg, leg_id, true);
    }

    /// Our re-INVITE (§14.1): one at a time per dialog, none while the
    /// peer's is open.
    pub(super) fn send_reinvite(
        &mut self,
        now: Instant,
        leg_id: LegId,
        body: Option<Body>,
        headers: ExtraHeaders,
    ) {
        let Some(leg) = self.legs.get(&leg_id) else {
            self.reinvite_answered(leg_id, 481, "Call/Transaction Does Not Exist");
            return;
        };
        if leg.state != LegState::Confirmed {
            let (code, reason) = match leg.state {
                LegState::Closing => (481, "Call/Transaction Does Not Exist"),
                _ => (491, "Request Pending"),
            };
            self.reinvite_answered(leg_id, code, reason);
            return;
        }
        if leg.our_reinvite.is_some() || leg.reinvite.is_some() {
            self.reinvite_answered(leg_id, 491, "Request Pending");
            return;
        }
        let transport = leg.peer.transport;
        let Some((mut invite, to, branch)) = self.dialog_request(leg_id, Method::Invite) else {
            return;
        };
        self.add_dialog_headers(&mut invite, transport);
        build::add_extra(&mut invite, &headers);
        build::set_body(&mut invite, body);
        let (tx, bytes) = ClientInviteTx::new(now, invite, to.transport.is_reliable(), self.timers);
        let tx_id = self.txs.insert(
            Tx::ClientInvite(tx),
            to,
            Owner::ReInvite(leg_id),
            TxKey::Client(ClientKey {
                branch,
                method: Method::Invite,
            }),
        );
        self.transmit(to, bytes);
        self.touch(tx_id);
        let deadline = now + self.timers.long();
        if let Some(leg) = self.legs.get_mut(&leg_id) {
            leg.our_reinvite = Some(tx_id);
            leg.reinvite_deadline = Some(deadline);
        }
        self.wakeups.push(deadline, Wake::Leg(leg_id));
    }

    /// A response to our re-INVITE: 2xx is ACKed (and its retransmissions,
    /// by the transaction) and refreshes the remote target.
    pub(super) fn on_reinvite_response(&mut self, tx_id: TxId, leg_id: LegId, mut msg: SipMessage) {
        let code = msg.code().unwrap_or_default();
        if code < 200 {
            return;
        }
        let current = self
            .legs
            .get(&leg_id)
            .is_some_and(|l| l.our_reinvite == Some(tx_id));
        if !current {
            return;
        }
        if (200..300).contains(&code) {
            let seq = msg.cseq().map(|c| c.seq).unwrap_or_default();
            let Some(leg) = self.legs.get_mut(&leg_id) else {
                return;
            };
            let (direction, peer) = (leg.direction, leg.peer);
            let Some(dialog) = leg.dialog.as_mut() else {
                return;
            };
            dialog.refresh_target(&msg);
            let dialog = dialog.clone();
            let to = route_peer(direction, peer, &dialog);
            self.send_2xx_ack(tx_id, &dialog, seq, &[], to);
        }
        if let Some(leg) = self.legs.get_mut(&leg_id) {
            leg.our_reinvite = None;
            leg.reinvite_deadline = None;
        }
        let body = take_body(&mut msg);
        self.emit(UaEvent::ReInviteAnswered {
            leg: leg_id,
            code,
            reason: msg.reason().unwrap_or_default().to_string(),
            body,
            headers: msg.headers.to_vec(),
        });
    }

    /// Our re-INVITE got no final response (timer or transport).
    pub(super) fn reinvite_failed(&mut self, tx_id: TxId, leg_id: LegId, code: u16, reason: &str) {
        let current = self
            .legs
            .get_mut(&leg_id)
            .filter(|l| l.our_reinvite == Some(tx_id));
        if let Some(leg) = current {
            leg.our_reinvite = None;
            leg.reinvite_deadline = None;
            self.reinvite_answered(leg_id, code, reason);
        }
    }

    /// Our re-INVITE got a provisional response and then nothing for 64·T1:
    /// it is given up as 408, so the call can send another.
    pub(super) fn reinvite_deadline_passed(&mut self, now: Instant, leg_id: LegId) {
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        if leg.reinvite_deadline.is_none_or(|d| d > now) {
            return;
        }
        leg.reinvite_deadline = None;
        if let Some(tx) = leg.our_reinvite.take() {
            self.txs.remove(tx);
            self.reinvite_answered(leg_id, 408, "Request Timeout");
        }
    }

    fn reinvite_answered(&mut self, leg_id: LegId, code: u16, reason: &str) {
        self.emit(UaEvent::ReInviteAnswered {
            leg: leg_id,
            code,
            reason: reason.into(),
            body: None,
            headers: Vec::new(),
        });
    }

    /// The peer refreshed the session (a re-INVITE or UPDATE we answer 2xx
    /// in `resp`): the clock starts again, and the answer repeats the
    /// negotiated interval (RFC 4028 §9).
    pub(super) fn session_refreshed(&mut self, now: Instant, leg_id: LegId, resp: &mut SipMessage) {
        let Some(mut timer) = self.legs.get(&leg_id).and_then(|l| l.session_timer) else {
            return;
        };
        timer.refreshed(now);
        resp.headers
            .push("Session-Expires", timer.expires.header(timer.refresher));
        resp.headers.push("Require", "timer");
        self.set_session_timer(leg_id, Some(timer));
    }

    /// The session timer of a leg is due: refresh it (an UPDATE), or end a
    /// call whose peer let it lapse.
    pub(super) fn wake_session(&mut self, now: Instant, leg_id: LegId) {
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        let Some(mut timer) = leg.session_timer.filter(|t| t.due <= now) else {
            return;
        };
        if leg.state != LegState::Confirmed && leg.state != LegState::AwaitingAck {
            return;
        }
        if !timer.we_refresh {
            tracing::info!(
                leg = leg_id,
                "session timer expired: the peer did not refresh"
            );
            self.end_leg(now, leg_id, Vec::new(), 408, "Session Timer Expired");
            return;
        }
        let Some((mut update, to, branch)) = self.dialog_request(leg_id, Method::Update) else {
            return;
        };
        let transport = to.transport;
        self.add_dialog_headers(&mut update, transport);
        update
            .headers
            .push("Session-Expires", timer.expires.header(timer.refresher));
        update.headers.push("Require", "timer");
        self.start_client_non_invite(now, update, branch, to, Owner::Refresh(leg_id));
        // Until the answer, nothing more is due; a lost answer fails the
        // transaction (refresh_failed).
        timer.due = now + timer.interval;
        self.set_session_timer(leg_id, Some(timer));
    }

    /// The answer to our refresh.
    pub(super) fn on_refresh_response(&mut self, now: Instant, leg_id: LegId, code: u16) {
        if (200..300).contains(&code) {
            let Some(mut timer) = self.legs.get(&leg_id).and_then(|l| l.session_timer) else {
                return;
            };
            timer.refreshed(now);
            self.set_session_timer(leg_id, Some(timer));
            return;
        }
        self.refresh_failed(now, leg_id, code);
    }

    /// Our refresh failed. 491 (glare): again in a couple of seconds.
    /// 408 or 481: the dialog is gone (§14.1), so the call ends. Anything
    /// else: the peer will not take refreshes; we stop sending them and leave
    /// the session to it.
    pub(super) fn refresh_failed(&mut self, now: Instant, leg_id: LegId, code: u16) {
        match code {
            491 => {
                if let Some(mut timer) = self.legs.get(&leg_id).and_then(|l| l.session_timer) {
                    timer.due = now + std::time::Duration::from_secs(2);
                    self.set_session_timer(leg_id, Some(timer));
                }
            }
            408 | 481 => self.end_leg(now, leg_id, Vec::new(), code, "Session Refresh Failed"),
            _ => {
                tracing::info!(
                    leg = leg_id,
                    code,
                    "session refresh refused; no more refreshes sent"
                );
                self.set_session_timer(leg_id, None);
            }
        }
    }
}
