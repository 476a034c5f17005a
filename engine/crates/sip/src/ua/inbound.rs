//! Requests from the network, and the call layer's answers to inbound legs.

use std::time::Instant;

use rand::Rng;

use super::build::{self, take_body};
use super::leg::{Direction, Leg, LegState, PendingReInvite};
use super::session_timer::{supports_timer, Refresher, SessionExpires, SessionTimer, MIN_SE};
use super::tx_table::{Owner, Tx, TxId};
use super::validate::{self, RequestInfo};
use super::{clean_reason, Body, ExtraHeaders, LegId, Peer, UaCore, UaEvent};
use crate::dialog::{Dialog, DialogError};
use crate::message::{reason_phrase, Method, SipMessage};
use crate::transaction::{ServerKey, TxStep};
use crate::uri::unescape;
use crate::via::Via;

/// Server transactions one source address may hold at once (a completed
/// INVITE transaction lingers 32 s, so a trunk at 1,000 calls/s holds about
/// 32,000); past it its new INVITEs get a stateless 503.
pub const MAX_SERVER_TX_PER_SOURCE: usize = 50_000;

impl UaCore {
    pub(super) fn on_request(&mut self, now: Instant, from: Peer, msg: SipMessage) {
        let Some(method) = msg.method().cloned() else {
            return;
        };
        let via = msg.top_via().ok();
        if let Some(via) = &via {
            let key = ServerKey::for_request(&msg, via, &method);
            if let Some(id) = self.txs.find_server(&key) {
                self.on_known_transaction(now, id, &method, msg);
                return;
            }
        }
        if method == Method::Ack {
            self.on_dialog_ack(now, msg);
            return;
        }
        let Some(via) = via else {
            if msg.headers.contains("Via") {
                // No usable key: answer without a transaction.
                let resp = self.error_response(&msg, from, 400, "Bad Via", Vec::new());
                self.transmit(from, resp.to_bytes());
            } else {
                tracing::warn!(peer = %from.addr, "dropping request without Via");
            }
            return;
        };
        let info = match validate::check_request(&msg, &method, from.transport, self.cfg.registrar)
        {
            Ok(info) => info,
            Err(rejection) => {
                tracing::debug!(peer = %from.addr, code = rejection.code, reason = %rejection.reason, "rejecting request");
                let resp = self.error_response(
                    &msg,
                    from,
                    rejection.code,
                    &rejection.reason,
                    rejection.headers,
                );
                // No transaction for junk: a retransmission is refused again,
                // and a flood of it costs no memory.
                self.reply_stateless(from, resp);
                return;
            }
        };
        if method == Method::Cancel {
            self.on_cancel(now, from, &msg, &via);
            return;
        }
        if let Some(to_tag) = info.to.tag() {
            let to_tag = to_tag.to_string();
            self.on_in_dialog(now, from, msg, &via, info, &to_tag);
            return;
        }
        match method {
            Method::Invite => {
                if self.txs.servers_from(from.addr.ip()) >= self.cfg.max_server_tx_per_source {
                    // One address holding this many INVITE transactions is a
                    // flood: refuse without keeping state for it.
                    tracing::debug!(peer = %from.addr, "INVITE refused: too many transactions from this address");
                    let mut resp = self.error_response(
                        &msg,
                        from,
                        503,
                        "Too Many Requests From This Address",
                        Vec::new(),
                    );
                    resp.headers.push("Retry-After", "5");
                    self.reply_stateless(from, resp);
                    return;
                }
                self.on_new_invite(now, from, msg, &via, info)
            }
            Method::Options => self.reply_options(from, &msg),
            Method::Register => {
                let call_id = info.call_id;
                self.on_register(from, msg, info.cseq, call_id)
            }
            Method::Message => {
                // No page-mode messages: MESSAGE is taken inside calls only.
                let resp = self.error_response(
                    &msg,
                    from,
                    405,
                    "Method Not Allowed",
                    vec![("Allow".into(), build::ALLOW_OUT_OF_DIALOG.into())],
                );
                self.reply_stateless(from, resp);
            }
            _ => {
                let resp = self.error_response(
                    &msg,
                    from,
                    481,
                    "Call/Transaction Does Not Exist",
                    Vec::new(),
                );
                self.reply_stateless(from, resp);
            }
        }
    }

    fn on_known_transaction(&mut self, now: Instant, id: TxId, method: &Method, msg: SipMessage) {
        if *method == Method::Ack {
            let step = self.run_tx(id, |tx| match tx {
                Tx::ServerInvite(t) => t.on_ack(now),
                _ => TxStep::default(),
            });
            if step.is_some_and(|s| s.deliver) {
                self.on_dialog_ack(now, msg);
            }
        } else {
            self.run_tx(id, |tx| tx.on_retransmission());
        }
    }

    /// A response to `req` with a To tag (one is made up for out-of-dialog errors).
    fn error_response(
        &mut self,
        req: &SipMessage,
        from: Peer,
        code: u16,
        reason: &str,
        headers: Vec<(String, String)>,
    ) -> SipMessage {
        let tag = self.token();
        let mut resp = build::response(req, &from, code, reason, Some(&tag));
        for (name, value) in headers {
            resp.headers.push(name, value);
        }
        resp
    }

    /// Answers `req` through a new server transaction, so retransmissions of it get
    /// the same answer.
    pub(super) fn reply(
        &mut self,
        now: Instant,
        from: Peer,
        req: &SipMessage,
        via: &Via,
        resp: SipMessage,
    ) {
        let id = self.open_server_tx(from, req, via, Owner::Nobody);
        self.respond(now, id, resp);
    }

    /// Answers an out-of-dialog request that changes nothing without keeping
    /// a transaction: a retransmission gets the same answer anyway, and a
    /// flood of junk or OPTIONS costs no memory for 32 s each.
    fn reply_stateless(&mut self, from: Peer, resp: SipMessage) {
        self.transmit(from, resp.to_bytes());
    }

    fn reply_options(&mut self, from: Peer, req: &SipMessage) {
        let mut resp = self.error_response(req, from, 200, "OK", Vec::new());
        resp.headers.push("Allow", build::ALLOW);
        resp.headers.push("Accept", "application/sdp");
        resp.headers.push("Supported", "");
        self.add_user_agent(&mut resp);
        self.reply_stateless(from, resp);
    }

    fn on_new_invite(
        &mut self,
        now: Instant,
        from: Peer,
        mut msg: SipMessage,
        via: &Via,
        info: RequestInfo,
    ) {
        let local_tag = self.token();
        let dialog = match Dialog::uas(&msg, &local_tag) {
            Ok(dialog) => dialog,
            Err(err) => {
                let reason = match err {
                    DialogError::Missing(what) => format!("Missing {what}"),
                    DialogError::Parse(e) => e.reason_phrase(),
                };
                let resp = self.error_response(&msg, from, 400, &reason, Vec::new());
                self.reply(now, from, &msg, via, resp);
                return;
            }
        };
        let asked = SessionExpires::of(&msg);
        if asked.is_some_and(|se| se.seconds < MIN_SE) {
            // RFC 4028 §8.1: too short an interval.
            let resp = self.error_response(
                &msg,
                from,
                422,
                "Session Interval Too Small",
                vec![("Min-SE".into(), MIN_SE.to_string())],
            );
            self.reply(now, from, &msg, via, resp);
            return;
        }
        let replaces = match msg.headers.get("Replaces").map(|v| self.replaced_leg(v)) {
            None => None,
            Some(Ok(old)) => Some(old),
            Some(Err(refusal)) => {
                let (code, reason) = refusal.code();
                tracing::debug!(peer = %from.addr, code, "INVITE with Replaces refused");
                let resp = self.error_response(&msg, from, code, reason, Vec::new());
                self.reply(now, from, &msg, via, resp);
                return;
            }
        };
        let peer_timer = supports_timer(&msg);
        let leg_id = self.new_leg_id();
        let tx = self.open_server_tx(from, &msg, via, Owner::Invite(leg_id));
        let trying = build::response(&msg, &from, 100, "Trying", None);
        self.respond(now, tx, trying);
        let body = take_body(&mut msg);
        let event = match replaces {
            Some(old) => UaEvent::Replacing {
                leg: leg_id,
                replaces: old,
                headers: msg.headers.to_vec(),
                body,
            },
            None => UaEvent::Incoming {
                leg: leg_id,
                source: from,
                request_uri: msg.request_uri().unwrap_or_default().to_string(),
                destination: unescape(info.request_uri.user_str()).into_owned(),
                from_uri: info.from.uri.to_string(),
                from_user: unescape(info.from.uri.user_str()).into_owned(),
                from_display: info.from.display,
                to_uri: info.to.uri.to_string(),
                headers: msg.headers.to_vec(),
                body,
            },
        };
        let mut leg = Leg::new(
            Direction::Inbound,
            LegState::Ringing,
            from,
            info.call_id,
            local_tag.clone(),
            tx,
            info.cseq.seq,
        );
        leg.remote_tag = Some(dialog.id.remote_tag.clone());
        leg.remote_seq = Some(info.cseq.seq);
        leg.dialog = Some(dialog);
        leg.request = Some(msg);
        leg.asked_expires = asked.map(|se| (se, peer_timer));
        self.dialogs.insert(local_tag, leg_id);
        self.legs.insert(leg_id, leg);
        self.emit(event);
    }

    /// An ACK that matched no server transaction: the ACK for a 2xx (§13.3.1.4).
    fn on_dialog_ack(&mut self, now: Instant, mut msg: SipMessage) {
        let (Ok(cseq), Ok(call_id)) = (msg.cseq(), msg.call_id()) else {
            return;
        };
        let leg_id = match msg.to_tag().and_then(|t| self.dialogs.get(t)) {
            Some(&id) => id,
            None => {
                tracing::trace!(call_id, "ACK for no dialog dropped");
                return;
            }
        };
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        if leg.call_id != call_id {
            return;
        }
        if leg.state == LegState::AwaitingAck && cseq.seq == leg.invite_seq {
            leg.state = LegState::Confirmed;
            leg.request = None;
            let tx = leg.invite_tx;
            let hangup = leg.hangup.take();
            self.stop_2xx(tx);
            match hangup {
                Some(headers) => self.send_bye(now, leg_id, headers, Owner::Bye(leg_id)),
                None => {
                    let body = take_body(&mut msg);
                    self.emit(UaEvent::Acked { leg: leg_id, body });
                }
            }
            return;
        }
        let acked_reinvite = match &leg.reinvite {
            Some(re) if re.answered && re.seq == cseq.seq => Some(re.tx),
            _ => None,
        };
        if let Some(tx) = acked_reinvite {
            leg.reinvite = None;
            self.stop_2xx(tx);
        }
    }

    fn stop_2xx(&mut self, tx: TxId) {
        self.run_tx(tx, |t| {
            if let Tx::ServerInvite(s) = t {
                s.ack_received();
            }
            TxStep::default()
        });
    }

    /// §9.2: CANCEL matches the INVITE server transaction with the same branch.
    fn on_cancel(&mut self, now: Instant, from: Peer, msg: &SipMessage, via: &Via) {
        let invite_key = ServerKey::for_request(msg, via, &Method::Invite);
        let Some((invite_id, owner, answered)) = self
            .txs
            .find_server(&invite_key)
            .and_then(|id| self.txs.get(id).map(|e| (id, e.owner, e.tx.has_final())))
        else {
            let resp = self.error_response(
                msg,
                from,
                481,
                "Call/Transaction Does Not Exist",
                Vec::new(),
            );
            self.reply(now, from, msg, via, resp);
            return;
        };
        let leg_id = match owner {
            Owner::Invite(id) => Some(id),
            _ => None,
        };
        // The CANCEL's 200 carries the same To tag as the INVITE's responses.
        let tag = leg_id
            .and_then(|id| self.legs.get(&id))
            .map(|leg| leg.local_tag.clone())
            .unwrap_or_else(|| self.token());
        let resp = build::response(msg, &from, 200, "OK", Some(&tag));
        self.reply(now, from, msg, via, resp);
        let Some(leg_id) = leg_id.filter(|_| !answered) else {
            return;
        };
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        if leg.invite_tx == invite_id && leg.state == LegState::Ringing {
            // remove_leg answers the INVITE with 487.
            self.remove_leg(now, leg_id);
            self.emit(UaEvent::Cancelled { leg: leg_id });
        } else if leg
            .reinvite
            .as_ref()
            .is_some_and(|r| r.tx == invite_id && !r.answered)
        {
            if let Some(re) = leg.reinvite.take() {
                let peer = leg.peer;
                let resp = build::response(&re.request, &peer, 487, "Request Terminated", None);
                self.respond(now, re.tx, resp);
            }
        }
    }

    fn on_in_dialog(
        &mut self,
        now: Instant,
        from: Peer,
        msg: SipMessage,
        via: &Via,
        info: RequestInfo,
        to_tag: &str,
    ) {
        let from_tag = info.from.tag().unwrap_or_default();
        let leg_id = self.dialogs.get(to_tag).copied().filter(|id| {
            self.legs.get(id).is_some_and(|leg| {
                leg.call_id == info.call_id
                    && leg.remote_tag.as_deref().is_none_or(|t| t == from_tag)
            })
        });
        let Some(leg_id) = leg_id else {
            let resp = self.error_response(
                &msg,
                from,
                481,
                "Call/Transaction Does Not Exist",
                Vec::new(),
            );
            self.reply(now, from, &msg, via, resp);
            return;
        };
        let in_order = match self.legs.get_mut(&leg_id) {
            Some(leg) if leg.remote_seq.is_some_and(|r| info.cseq.seq < r) => false,
            Some(leg) => {
                leg.remote_seq = Some(info.cseq.seq);
                true
            }
            None => return,
        };
        if !in_order {
            let resp = build::response(&msg, &from, 500, "CSeq Out of Order", None);
            self.reply(now, from, &msg, via, resp);
            return;
        }
        match info.cseq.method {
            Method::Bye => self.on_bye(now, from, msg, via, leg_id),
            Method::Invite => self.on_reinvite(now, from, msg, via, leg_id),
            Method::Info => self.on_info(now, from, msg, via, leg_id),
            Method::Message => self.on_message(now, from, msg, via, leg_id),
            Method::Update => self.on_update(now, from, msg, via, leg_id),
            Method::Refer => self.on_refer(now, from, msg, via, leg_id),
            Method::Notify => self.on_notify(now, from, msg, via, leg_id),
            Method::Options => self.reply_options(from, &msg),
            _ => {
                let mut resp = build::response(&msg, &from, 405, "Method Not Allowed", None);
                resp.headers.push("Allow", build::ALLOW);
                self.reply(now, from, &msg, via, resp);
            }
        }
    }

    fn on_bye(&mut self, now: Instant, from: Peer, msg: SipMessage, via: &Via, leg_id: LegId) {
        let resp = build::response(&msg, &from, 200, "OK", None);
        self.reply(now, from, &msg, via, resp);
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        // The BYE proves our 2xx arrived: stop resending it.
        let mut to_stop = Vec::with_capacity(2);
        if leg.state == LegState::AwaitingAck {
            to_stop.push(leg.invite_tx);
        }
        if let Some(re) = leg.reinvite.as_ref().filter(|r| r.answered) {
            to_stop.push(re.tx);
        }
        for tx in to_stop {
            self.stop_2xx(tx);
        }
        self.remove_leg(now, leg_id);
        self.emit(UaEvent::Terminated {
            leg: leg_id,
            by_remote: true,
            code: 200,
            reason: "BYE".into(),
            headers: msg.headers.to_vec(),
        });
    }

    fn on_info(&mut self, now: Instant, from: Peer, msg: SipMessage, via: &Via, leg_id: LegId) {
        let (content_type, body, headers) = self.accept_request(now, from, msg, via);
        self.emit(UaEvent::Info {
            leg: leg_id,
            content_type,
            body,
            headers,
        });
    }

    /// Answers an in-dialog request 200 and hands back what it carried:
    /// its content type, body and headers.
    pub(super) fn accept_request(
        &mut self,
        now: Instant,
        from: Peer,
        mut msg: SipMessage,
        via: &Via,
    ) -> (String, Vec<u8>, Vec<(String, String)>) {
        let resp = build::response(&msg, &from, 200, "OK", None);
        self.reply(now, from, &msg, via, resp);
        let content_type = msg.content_type().unwrap_or_default().to_string();
        let body = std::mem::take(&mut msg.body);
        (content_type, body, msg.headers.to_vec())
    }

    fn on_reinvite(&mut self, now: Instant, from: Peer, msg: SipMessage, via: &Via, leg_id: LegId) {
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        let refusal = if leg.our_reinvite.is_some() {
            // §14.2: our own re-INVITE is open (glare).
            Some((491, "Request Pending"))
        } else if leg.reinvite.is_some() || leg.state == LegState::Ringing {
            // §14.2: an INVITE is still open on this dialog.
            Some((500, "Server Internal Error"))
        } else {
            match leg.state {
                LegState::Calling | LegState::Early => Some((491, "Request Pending")),
                LegState::Closing => Some((481, "Call/Transaction Does Not Exist")),
                _ => None,
            }
        };
        if let Some((code, reason)) = refusal {
            let mut resp = build::response(&msg, &from, code, reason, None);
            if code == 500 {
                let after: u8 = self.rng.gen_range(0..=10);
                resp.headers.push("Retry-After", after.to_string());
            }
            self.reply(now, from, &msg, via, resp);
            return;
        }
        let tx = self.open_server_tx(from, &msg, via, Owner::Invite(leg_id));
        let trying = build::response(&msg, &from, 100, "Trying", None);
        self.respond(now, tx, trying);
        self.offer_to_answer(tx, msg, leg_id, false);
    }

    /// The peer's re-INVITE or UPDATE (`update`) with its transaction open:
    /// kept until the call layer answers it (`AnswerReInvite`), and reported.
    pub(super) fn offer_to_answer(
        &mut self,
        tx: TxId,
        mut msg: SipMessage,
        leg_id: LegId,
        update: bool,
    ) {
        let headers = msg.headers.to_vec();
        let body = take_body(&mut msg);
        let seq = msg.cseq().map(|c| c.seq).unwrap_or_default();
        if let Some(leg) = self.legs.get_mut(&leg_id) {
            leg.reinvite = Some(PendingReInvite {
                tx,
                request: msg,
                seq,
                answered: false,
                update,
            });
        }
        self.emit(UaEvent::ReInvite {
            leg: leg_id,
            body,
            headers,
        });
    }

    /// The inbound leg still waiting for a final response, with what a response
    /// to its INVITE needs.
    fn ringing_leg(&self, leg_id: LegId) -> Option<(&SipMessage, Peer, String, TxId)> {
        let leg = self.legs.get(&leg_id)?;
        if leg.direction != Direction::Inbound || leg.state != LegState::Ringing {
            tracing::debug!(leg = leg_id, state = ?leg.state, "command does not fit the leg state");
            return None;
        }
        Some((
            leg.request.as_ref()?,
            leg.peer,
            leg.local_tag.clone(),
            leg.invite_tx,
        ))
    }

    pub(super) fn provisional(
        &mut self,
        now: Instant,
        leg_id: LegId,
        code: u16,
        body: Option<Body>,
        headers: ExtraHeaders,
    ) {
        if !(101..=199).contains(&code) {
            tracing::warn!(leg = leg_id, code, "provisional code out of range; ignored");
            return;
        }
        let Some((req, peer, tag, tx)) = self.ringing_leg(leg_id) else {
            return;
        };
        let mut resp = build::response(req, &peer, code, reason_phrase(code), Some(&tag));
        resp.headers.push("Contact", self.contact(peer.transport));
        build::add_extra(&mut resp, &headers);
        build::set_body(&mut resp, body);
        self.respond(now, tx, resp);
    }

    pub(super) fn answer(
        &mut self,
        now: Instant,
        leg_id: LegId,
        body: Option<Body>,
        headers: ExtraHeaders,
    ) {
        let Some((req, peer, tag, tx)) = self.ringing_leg(leg_id) else {
            return;
        };
        let mut resp = build::response(req, &peer, 200, "OK", Some(&tag));
        self.add_dialog_headers(&mut resp, peer.transport);
        build::add_extra(&mut resp, &headers);
        build::set_body(&mut resp, body);
        let mut timer = None;
        if let Some(leg) = self.legs.get_mut(&leg_id) {
            leg.state = LegState::AwaitingAck;
            if let Some((se, peer_timer)) = leg.asked_expires.take() {
                // §9: the UAS names the refresher; the caller refreshes when
                // it can, else we do.
                let refresher = se.refresher.unwrap_or(if peer_timer {
                    Refresher::Uac
                } else {
                    Refresher::Uas
                });
                resp.headers.push("Session-Expires", se.header(refresher));
                if peer_timer {
                    resp.headers.push("Require", "timer");
                }
                timer = Some(SessionTimer::new(now, se, refresher, false));
            }
        }
        if timer.is_some() {
            self.set_session_timer(leg_id, timer);
        }
        self.respond(now, tx, resp);
    }

    pub(super) fn reject(
        &mut self,
        now: Instant,
        leg_id: LegId,
        code: u16,
        reason: Option<String>,
        headers: ExtraHeaders,
    ) {
        let code = if (300..=699).contains(&code) {
            code
        } else {
            tracing::warn!(leg = leg_id, code, "reject code out of range; sending 500");
            500
        };
        let Some((req, peer, tag, tx)) = self.ringing_leg(leg_id) else {
            return;
        };
        let reason = reason
            .map(|r| clean_reason(&r))
            .unwrap_or_else(|| reason_phrase(code).to_string());
        let mut resp = build::response(req, &peer, code, &reason, Some(&tag));
        build::add_extra(&mut resp, &headers);
        self.respond(now, tx, resp);
        self.remove_leg(now, leg_id);
    }

    pub(super) fn answer_reinvite(
        &mut self,
        now: Instant,
        leg_id: LegId,
        code: u16,
        body: Option<Body>,
        headers: &ExtraHeaders,
    ) {
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        let Some(re) = leg.reinvite.as_ref().filter(|r| !r.answered) else {
            tracing::debug!(leg = leg_id, "no re-INVITE to answer");
            return;
        };
        let (tx, peer, update) = (re.tx, leg.peer, re.update);
        if (200..=299).contains(&code) {
            let mut resp = build::response(&re.request, &peer, code, reason_phrase(code), None);
            self.add_dialog_headers(&mut resp, peer.transport);
            build::add_extra(&mut resp, headers);
            build::set_body(&mut resp, body);
            self.session_refreshed(now, leg_id, &mut resp);
            if let Some(leg) = self.legs.get_mut(&leg_id) {
                if let (Some(dialog), Some(re)) = (leg.dialog.as_mut(), leg.reinvite.as_mut()) {
                    dialog.refresh_target(&re.request);
                    re.answered = true;
                }
                if update {
                    // An UPDATE's 2xx is not ACKed.
                    leg.reinvite = None;
                }
            }
            self.respond(now, tx, resp);
        } else if (300..=699).contains(&code) {
            let mut resp = build::response(&re.request, &peer, code, reason_phrase(code), None);
            build::add_extra(&mut resp, headers);
            if let Some(leg) = self.legs.get_mut(&leg_id) {
                leg.reinvite = None;
            }
            self.respond(now, tx, resp);
        } else {
            tracing::warn!(
                leg = leg_id,
                code,
                "re-INVITE answer code out of range; ignored"
            );
        }
    }

    pub(super) fn hangup(&mut self, now: Instant, leg_id: LegId, headers: ExtraHeaders) {
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            tracing::debug!(leg = leg_id, "hangup of unknown leg");
            return;
        };
        match (leg.direction, leg.state) {
            (Direction::Inbound, LegState::Ringing) => {
                let Some((req, peer, tag, tx)) = self.ringing_leg(leg_id) else {
                    return;
                };
                let mut resp =
                    build::response(req, &peer, 480, "Temporarily Unavailable", Some(&tag));
                build::add_extra(&mut resp, &headers);
                self.respond(now, tx, resp);
                self.remove_leg(now, leg_id);
                self.emit(UaEvent::Terminated {
                    leg: leg_id,
                    by_remote: false,
                    code: 480,
                    reason: "Temporarily Unavailable".into(),
                    headers: Vec::new(),
                });
            }
            // §15: no BYE before the ACK arrives or the 2xx times out.
            (_, LegState::AwaitingAck) | (_, LegState::Calling) => leg.hangup = Some(headers),
            (_, LegState::Early) => {
                leg.hangup = Some(headers.clone());
                self.send_cancel(now, leg_id, headers);
            }
            (_, LegState::Confirmed) => self.send_bye(now, leg_id, headers, Owner::Bye(leg_id)),
            (_, LegState::Ringing) | (_, LegState::Closing) => {}
        }
    }
}
