//! The user-agent core: every call leg's SIP signalling, sans IO.
//!
//! `UaCore` owns the transactions, dialogs and legs. The driver feeds it datagrams
//! or framed TCP messages, commands from the call layer, and time; it returns
//! bytes to send and events. One instance serves many calls: all timers sit in
//! one queue, and tables shrink back as calls end.

mod build;
mod client_register;
mod in_dialog;
mod inbound;
mod leg;
mod outbound;
mod refer;
mod register;
mod replaces;
mod session_timer;
mod timer_queue;
mod tx_table;
mod types;
mod validate;

pub use in_dialog::MAX_MESSAGE_BODY;
pub use inbound::MAX_SERVER_TX_PER_SOURCE;
pub use register::MAX_CONTACTS;
pub use session_timer::{MIN_SE, OUR_SESSION_EXPIRES};
pub use types::{
    Body, ClientRegister, ExtraHeaders, LegId, Peer, RegisterRequest, RegistrationId, Reply,
    Transport, UaCommand, UaConfig, UaEvent, UaOutput, OUTBOUND_LEGS,
};

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::dialog::Dialog;
use crate::message::{Method, SipMessage};
use crate::parse::{parse_head_lenient, parse_message};
use crate::transaction::{
    ClientKey, ClientNonInviteTx, ServerInviteTx, ServerKey, ServerNonInviteTx, TimerConfig,
    TxStep, MAGIC_COOKIE,
};
use crate::uri::SipUri;
use crate::via::Via;
use leg::{Direction, Leg, LegState};
use timer_queue::{TimerQueue, Wake};
use tx_table::{Owner, Tx, TxId, TxKey, TxTable};

/// Digest challenges answered for one request before giving up.
const MAX_AUTH_RETRIES: usize = 3;

pub struct UaCore {
    cfg: UaConfig,
    timers: TimerConfig,
    /// Our address as it goes into Via and Contact (IPv6 in brackets).
    local_host: String,
    rng: StdRng,
    next_leg: LegId,
    legs: HashMap<LegId, Leg>,
    /// Local tag → leg. Tags carry 64 random bits, so they are unique among legs.
    dialogs: HashMap<String, LegId>,
    txs: TxTable,
    wakeups: TimerQueue,
    /// Session timers (RFC 4028) by when they are due. Kept apart from
    /// `wakeups` because a call's entry lives for half an hour: it is
    /// removed when the call ends or its clock moves, so nothing is left
    /// behind.
    sessions: BTreeSet<(Instant, LegId)>,
    /// Our own registrations (trunks), between refreshes.
    registrations: HashMap<RegistrationId, client_register::ClientRegistration>,
    out: VecDeque<UaOutput>,
}

impl UaCore {
    pub fn new(cfg: UaConfig) -> Self {
        // A zero T1 would make retransmission timers fire in a loop, and absurd
        // values would overflow `Instant` arithmetic.
        let t1 = cfg
            .t1
            .clamp(Duration::from_millis(1), Duration::from_secs(10));
        let timers = TimerConfig {
            t1,
            t2: cfg.t2.clamp(t1, Duration::from_secs(60)),
            t4: cfg.t4.min(Duration::from_secs(60)),
        };
        let local_host = match cfg.local_addr.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        UaCore {
            cfg,
            timers,
            local_host,
            rng: StdRng::from_entropy(),
            next_leg: 0,
            legs: HashMap::new(),
            dialogs: HashMap::new(),
            txs: TxTable::default(),
            wakeups: TimerQueue::default(),
            sessions: BTreeSet::new(),
            registrations: HashMap::new(),
            out: VecDeque::new(),
        }
    }

    /// A fresh id for an outbound leg (inbound legs get theirs from the same counter).
    pub fn new_leg_id(&mut self) -> LegId {
        self.next_leg += 1;
        self.next_leg
    }

    /// One whole message: a UDP datagram or one message cut by `frame_stream`.
    pub fn handle_input(&mut self, now: Instant, from: Peer, data: &[u8]) {
        if data
            .iter()
            .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
        {
            // RFC 5626 §4.4.1: a CRLFCRLF ping on a connection gets a CRLF pong.
            if from.transport == Transport::Tcp && data.windows(4).any(|w| w == b"\r\n\r\n") {
                self.transmit(from, b"\r\n".to_vec());
            }
            return;
        }
        match parse_message(data) {
            Ok(msg) if msg.is_request() => self.on_request(now, from, msg),
            Ok(msg) => self.on_response(now, msg),
            Err(err) => self.on_malformed(from, data, err),
        }
    }

    pub fn handle_command(&mut self, now: Instant, cmd: UaCommand) {
        match cmd {
            UaCommand::Provisional {
                leg,
                code,
                body,
                headers,
            } => self.provisional(now, leg, code, body, headers),
            UaCommand::Answer { leg, body, headers } => self.answer(now, leg, body, headers),
            UaCommand::Reject {
                leg,
                code,
                reason,
                headers,
            } => self.reject(now, leg, code, reason, headers),
            UaCommand::Hangup { leg, headers } => self.hangup(now, leg, headers),
            cmd @ UaCommand::Dial { .. } => self.dial(now, cmd),
            UaCommand::AnswerReInvite {
                leg,
                code,
                body,
                headers,
            } => self.answer_reinvite(now, leg, code, body, &headers),
            UaCommand::Info { leg, body, headers } => {
                self.send_in_dialog(now, leg, Method::Info, body, headers)
            }
            UaCommand::Message { leg, body, headers } => {
                self.send_in_dialog(now, leg, Method::Message, body, headers)
            }
            UaCommand::ReInvite { leg, body, headers } => {
                self.send_reinvite(now, leg, body, headers)
            }
            UaCommand::AnswerRefer { leg, code } => self.answer_refer(now, leg, code),
            UaCommand::Notify {
                leg,
                sipfrag,
                terminated,
            } => self.send_notify(now, leg, &sipfrag, terminated),
            UaCommand::Refer {
                leg,
                refer_to,
                headers,
            } => self.send_refer(now, leg, &refer_to, headers),
            UaCommand::ReferReplacing {
                leg,
                target,
                headers,
            } => match self.replaces_uri(target) {
                Some(uri) => self.send_refer(now, leg, &uri, headers),
                None => self.refer_answered(leg, 481, "No Dialog To Replace"),
            },
            UaCommand::Respond {
                reply,
                code,
                contacts,
                headers,
            } => self.respond_register(reply, code, &contacts, headers, ""),
            UaCommand::Register(register) => self.register(now, register),
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(due, leg)) = self.sessions.first().filter(|(due, _)| *due <= now) {
            self.sessions.remove(&(due, leg));
            self.wake_session(now, leg);
        }
        while let Some((at, wake)) = self.wakeups.pop_due(now) {
            match wake {
                Wake::Tx(id) => self.wake_tx(now, id, at),
                Wake::Leg(id) => self.wake_leg(now, id),
            }
        }
    }

    /// The driver could not deliver to `peer` (TCP connect failed or the connection
    /// broke). Client transactions waiting on it fail: an unanswered outbound INVITE
    /// ends with `Failed{503}`, a BYE with `Terminated{503}`.
    pub fn handle_transport_error(&mut self, now: Instant, peer: Peer) {
        for id in self.txs.pending_clients_to(peer) {
            let Some(entry) = self.txs.get_mut(id) else {
                continue;
            };
            let owner = entry.owner;
            entry.tx.terminate();
            self.touch(id);
            self.tx_failed(now, id, owner, true, 503, "Service Unavailable");
        }
    }

    /// Earliest instant `handle_timeout` has work (possibly none: wake-ups are not
    /// withdrawn when a transaction ends early).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let session = self.sessions.first().map(|(due, _)| *due);
        match (self.wakeups.peek(), session) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn poll_output(&mut self) -> Option<UaOutput> {
        self.out.pop_front()
    }

    pub fn leg_count(&self) -> usize {
        self.legs.len()
    }

    pub fn transaction_count(&self) -> usize {
        self.txs.len()
    }

    pub fn pending_timer_count(&self) -> usize {
        self.wakeups.len() + self.sessions.len()
    }

    /// Sets or moves a leg's session timer (`None`: it has none any more),
    /// keeping `sessions` in step.
    fn set_session_timer(&mut self, leg_id: LegId, timer: Option<session_timer::SessionTimer>) {
        let Some(leg) = self.legs.get_mut(&leg_id) else {
            return;
        };
        if let Some(old) = leg.session_timer.take() {
            self.sessions.remove(&(old.due, leg_id));
        }
        if let Some(new) = timer {
            self.sessions.insert((new.due, leg_id));
            leg.session_timer = Some(new);
        }
    }

    fn transmit(&mut self, to: Peer, data: Vec<u8>) {
        self.out.push_back(UaOutput::Transmit { to, data });
    }

    fn emit(&mut self, event: UaEvent) {
        self.out.push_back(UaOutput::Event(event));
    }

    fn token(&mut self) -> String {
        format!("{:016x}", self.rng.gen::<u64>())
    }

    fn branch(&mut self) -> String {
        format!("{MAGIC_COOKIE}{}", self.token())
    }

    fn via(&self, transport: Transport, branch: &str) -> String {
        format!(
            "SIP/2.0/{} {}:{};branch={branch};rport",
            transport.via_name(),
            self.local_host,
            self.cfg.local_addr.port()
        )
    }

    fn contact(&self, transport: Transport) -> String {
        let suffix = transport.uri_param();
        format!(
            "<sip:dialtone@{}:{}{suffix}>",
            self.local_host,
            self.cfg.local_addr.port()
        )
    }

    /// Contact, Allow, Supported and User-Agent, for messages that set up or
    /// refresh a dialog.
    fn add_dialog_headers(&self, msg: &mut SipMessage, transport: Transport) {
        msg.headers.push("Contact", self.contact(transport));
        msg.headers.push("Allow", build::ALLOW);
        msg.headers.push("Supported", "timer, replaces");
        self.add_user_agent(msg);
    }

    fn add_user_agent(&self, msg: &mut SipMessage) {
        if !self.cfg.user_agent.is_empty() {
            msg.headers.push("User-Agent", self.cfg.user_agent.as_str());
        }
    }

    /// The answer to `resp`'s digest challenge (401 or 407) for `method` on
    /// `uri`: the header to set, its value, and the nonce answered. `None`
    /// when there is nothing (more) to answer: no challenge we can take, a
    /// nonce already answered and not stale, or [`MAX_AUTH_RETRIES`] done.
    fn digest_answer(
        &mut self,
        resp: &SipMessage,
        credentials: &crate::auth::Credentials,
        method: &str,
        uri: &str,
        answered: &[String],
    ) -> Option<(&'static str, String, String)> {
        let (challenge_name, answer_name) = if resp.code() == Some(401) {
            ("WWW-Authenticate", "Authorization")
        } else {
            ("Proxy-Authenticate", "Proxy-Authorization")
        };
        let challenge = resp
            .headers
            .get_all(challenge_name)
            .find_map(|v| crate::auth::Challenge::parse(v).ok())?;
        let seen = answered.contains(&challenge.nonce);
        if (seen && !challenge.stale) || answered.len() >= MAX_AUTH_RETRIES {
            return None;
        }
        let cnonce = self.token();
        let answer = crate::auth::authorization(
            &challenge,
            &crate::auth::DigestInput {
                username: &credentials.username,
                password: credentials.password(),
                method,
                uri,
                cnonce: &cnonce,
                nc: 1,
            },
        );
        Some((answer_name, answer, challenge.nonce))
    }

    /// Runs one transaction input, sends what it produced and reschedules it.
    fn run_tx(&mut self, id: TxId, f: impl FnOnce(&mut Tx) -> TxStep) -> Option<TxStep> {
        let entry = self.txs.get_mut(id)?;
        let mut step = f(&mut entry.tx);
        if let Some(data) = step.transmit.take() {
            let to = match (step.dialog_ack, entry.ack_peer) {
                (true, Some(peer)) => peer,
                _ => entry.peer,
            };
            self.out.push_back(UaOutput::Transmit { to, data });
        }
        self.touch(id);
        Some(step)
    }

    /// Drops a finished transaction, or makes sure its next timer is queued.
    fn touch(&mut self, id: TxId) {
        let Some(entry) = self.txs.get_mut(id) else {
            return;
        };
        if entry.tx.is_terminated() {
            self.txs.remove(id);
            return;
        }
        if let Some(at) = entry.tx.next_timeout() {
            if entry.scheduled.is_none_or(|s| at < s) {
                entry.scheduled = Some(at);
                self.wakeups.push(at, Wake::Tx(id));
            }
        }
    }

    fn wake_tx(&mut self, now: Instant, id: TxId, at: Instant) {
        let Some(entry) = self.txs.get_mut(id) else {
            return;
        };
        if entry.scheduled == Some(at) {
            entry.scheduled = None;
        }
        if entry.tx.next_timeout().is_none_or(|t| t > now) {
            self.touch(id);
            return;
        }
        let owner = entry.owner;
        let is_client = entry.tx.is_client();
        let Some(step) = self.run_tx(id, |tx| tx.on_timeout(now)) else {
            return;
        };
        if step.timed_out {
            self.tx_failed(now, id, owner, is_client, 408, "Request Timeout");
        }
    }

    fn wake_leg(&mut self, now: Instant, leg_id: LegId) {
        self.reinvite_deadline_passed(now, leg_id);
        let Some(leg) = self.legs.get(&leg_id) else {
            return;
        };
        if leg.deadline.is_none_or(|d| d > now) {
            return;
        }
        // §9.1: no final response 64·T1 after our CANCEL; consider it cancelled.
        self.remove_leg(now, leg_id);
        self.emit(UaEvent::Failed {
            leg: leg_id,
            code: 487,
            reason: "Request Terminated".into(),
            headers: Vec::new(),
        });
    }

    /// A transaction gave up (timer or transport): tell its leg.
    fn tx_failed(
        &mut self,
        now: Instant,
        tx_id: TxId,
        owner: Owner,
        is_client: bool,
        code: u16,
        reason: &str,
    ) {
        match owner {
            Owner::Invite(leg_id) => {
                let Some(leg) = self.legs.get(&leg_id) else {
                    return;
                };
                if is_client {
                    if leg.invite_tx == tx_id && !leg.is_established() {
                        self.remove_leg(now, leg_id);
                        self.emit(UaEvent::Failed {
                            leg: leg_id,
                            code,
                            reason: reason.into(),
                            headers: Vec::new(),
                        });
                    }
                } else {
                    let initial = leg.invite_tx == tx_id && leg.state == LegState::AwaitingAck;
                    let reinvite = leg.reinvite.as_ref().is_some_and(|r| r.tx == tx_id);
                    if initial || reinvite {
                        self.ack_timeout(now, leg_id);
                    }
                }
            }
            Owner::ReInvite(leg_id) => self.reinvite_failed(tx_id, leg_id, code, reason),
            Owner::Refresh(leg_id) => self.refresh_failed(now, leg_id, code),
            Owner::Refer(leg_id) => self.refer_answered(leg_id, code, reason),
            Owner::Register(id) => self.register_failed(id, tx_id, code, reason),
            Owner::Bye(leg_id) => {
                if self.legs.contains_key(&leg_id) {
                    self.remove_leg(now, leg_id);
                    self.emit(UaEvent::Terminated {
                        leg: leg_id,
                        by_remote: false,
                        code,
                        reason: reason.into(),
                        headers: Vec::new(),
                    });
                }
            }
            Owner::Cancel(_) | Owner::Nobody => {}
        }
    }

    /// §13.3.1.4: our 2xx was never ACKed; the dialog is up, so end it with BYE.
    fn ack_timeout(&mut self, now: Instant, leg_id: LegId) {
        let headers = self
            .legs
            .get_mut(&leg_id)
            .and_then(|l| l.hangup.take())
            .unwrap_or_default();
        self.end_leg(now, leg_id, headers, 408, "ACK timeout");
    }

    /// Ends a dialog for a reason of our own: BYE (nobody waits for its
    /// answer), the leg forgotten, `Terminated` with `code` and `reason`.
    fn end_leg(
        &mut self,
        now: Instant,
        leg_id: LegId,
        headers: ExtraHeaders,
        code: u16,
        reason: &str,
    ) {
        self.send_bye(now, leg_id, headers, Owner::Nobody);
        self.remove_leg(now, leg_id);
        self.emit(UaEvent::Terminated {
            leg: leg_id,
            by_remote: false,
            code,
            reason: reason.into(),
            headers: Vec::new(),
        });
    }

    /// Forgets a leg. Server transactions it left open get 487 (§15.1.2) so they
    /// end; an outbound INVITE still without a final response is dropped.
    fn remove_leg(&mut self, now: Instant, leg_id: LegId) {
        let Some(leg) = self.legs.remove(&leg_id) else {
            return;
        };
        if let Some(timer) = leg.session_timer {
            self.sessions.remove(&(timer.due, leg_id));
        }
        if self.dialogs.get(&leg.local_tag) == Some(&leg_id) {
            self.dialogs.remove(&leg.local_tag);
        }
        if let Some(tx) = leg.our_reinvite {
            // Our re-INVITE dies with its dialog.
            self.txs.remove(tx);
        }
        if let Some((tx, req)) = &leg.pending_refer {
            // A REFER the call layer never answered: its transaction would
            // otherwise wait for a final response for ever.
            let resp =
                build::response(req, &leg.peer, 481, "Call/Transaction Does Not Exist", None);
            self.respond(now, *tx, resp);
        }
        if let Some(re) = &leg.reinvite {
            if !re.answered {
                let (code, reason) = if re.update {
                    (481, "Call/Transaction Does Not Exist")
                } else {
                    (487, "Request Terminated")
                };
                let resp = build::response(&re.request, &leg.peer, code, reason, None);
                self.respond(now, re.tx, resp);
            }
        }
        let invite_open = self
            .txs
            .get(leg.invite_tx)
            .is_some_and(|e| !e.tx.has_final());
        if !invite_open {
            return;
        }
        match leg.direction {
            Direction::Inbound => {
                if let Some(req) = &leg.request {
                    let resp = build::response(
                        req,
                        &leg.peer,
                        487,
                        "Request Terminated",
                        Some(&leg.local_tag),
                    );
                    self.respond(now, leg.invite_tx, resp);
                }
            }
            Direction::Outbound => self.txs.remove(leg.invite_tx),
        }
    }

    fn respond(&mut self, now: Instant, tx_id: TxId, resp: SipMessage) {
        let code = resp.code().unwrap_or(500);
        let bytes = resp.to_bytes();
        self.run_tx(tx_id, |tx| tx.send_response(now, code, bytes));
    }

    fn open_server_tx(&mut self, from: Peer, req: &SipMessage, via: &Via, owner: Owner) -> TxId {
        let method = req.method().cloned().unwrap_or(Method::Options);
        let key = ServerKey::for_request(req, via, &method);
        let reliable = from.transport.is_reliable();
        let tx = if method == Method::Invite {
            Tx::ServerInvite(ServerInviteTx::new(reliable, self.timers))
        } else {
            Tx::ServerNonInvite(ServerNonInviteTx::new(reliable, self.timers))
        };
        self.txs.insert(tx, from, owner, TxKey::Server(key))
    }

    fn start_client_non_invite(
        &mut self,
        now: Instant,
        req: SipMessage,
        branch: String,
        to: Peer,
        owner: Owner,
    ) -> TxId {
        let method = req.method().cloned().unwrap_or(Method::Options);
        let (tx, bytes) =
            ClientNonInviteTx::new(now, &req, to.transport.is_reliable(), self.timers);
        let id = self.txs.insert(
            Tx::ClientNonInvite(tx),
            to,
            owner,
            TxKey::Client(ClientKey { branch, method }),
        );
        self.transmit(to, bytes);
        self.touch(id);
        id
    }

    /// A new in-dialog request on `leg_id` with a fresh branch, and where it goes.
    fn dialog_request(
        &mut self,
        leg_id: LegId,
        method: Method,
    ) -> Option<(SipMessage, Peer, String)> {
        let to = {
            let leg = self.legs.get(&leg_id)?;
            route_peer(leg.direction, leg.peer, leg.dialog.as_ref()?)
        };
        let branch = self.branch();
        let via = self.via(to.transport, &branch);
        let dialog = self.legs.get_mut(&leg_id)?.dialog.as_mut()?;
        let mut req = dialog.request(method, &via);
        self.add_user_agent(&mut req);
        Some((req, to, branch))
    }

    /// Sends BYE on an established leg. With `Owner::Bye` the leg waits for the
    /// outcome in Closing; otherwise nobody listens.
    fn send_bye(&mut self, now: Instant, leg_id: LegId, headers: ExtraHeaders, owner: Owner) {
        let Some((mut bye, to, branch)) = self.dialog_request(leg_id, Method::Bye) else {
            return;
        };
        build::add_extra(&mut bye, &headers);
        self.start_client_non_invite(now, bye, branch, to, owner);
        if let Some(leg) = self.legs.get_mut(&leg_id) {
            leg.state = LegState::Closing;
        }
    }

    fn on_malformed(&mut self, from: Peer, data: &[u8], err: crate::ParseError) {
        // A request whose head parses can still be told what is wrong with it.
        if let Ok(head) = parse_head_lenient(data) {
            let answerable = matches!(&head.start, crate::StartLine::Request { method, .. } if *method != Method::Ack)
                && head.headers.contains("Via");
            if answerable {
                let req = SipMessage {
                    start: head.start,
                    headers: head.headers,
                    body: Vec::new(),
                };
                let (code, reason) = match err {
                    crate::ParseError::BadVersion => (505, "Version Not Supported".to_string()),
                    _ => (400, err.reason_phrase()),
                };
                let tag = self.token();
                let resp = build::response(&req, &from, code, &reason, Some(&tag));
                self.transmit(from, resp.to_bytes());
                return;
            }
        }
        tracing::warn!(peer = %from.addr, error = %err, "dropping malformed SIP message");
    }
}

/// Where in-dialog requests go (§12.2.1.1, without DNS: hosts must be IP literals).
///
/// Inbound legs without a route set send back to where the INVITE came from, which
/// keeps working behind NAT and reuses the TCP connection; the Contact is still
/// the Request-URI, so a proxy in between routes correctly.
fn route_peer(direction: Direction, peer: Peer, dialog: &Dialog) -> Peer {
    match (direction, peer.transport) {
        // A WebSocket peer is reachable down its own connection only.
        (_, Transport::Ws) => peer,
        (Direction::Inbound, Transport::Tcp) => peer,
        (Direction::Inbound, Transport::Udp) if dialog.route_set.is_empty() => peer,
        _ => dialog
            .next_hop()
            .and_then(|uri| uri_peer(&uri, peer.transport))
            .unwrap_or(peer),
    }
}

fn uri_peer(uri: &SipUri, default: Transport) -> Option<Peer> {
    let transport = match uri.transport() {
        None => default,
        Some(t) if t.eq_ignore_ascii_case("udp") => Transport::Udp,
        Some(t) if t.eq_ignore_ascii_case("tcp") => Transport::Tcp,
        Some(_) => return None,
    };
    Some(Peer {
        transport,
        addr: uri.socket_addr()?,
    })
}

/// Removes control characters from a caller-supplied reason phrase.
fn clean_reason(reason: &str) -> String {
    reason.chars().filter(|c| !c.is_control()).collect()
}
