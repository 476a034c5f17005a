//! INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §7.2).

use std::time::Instant;

use super::{earliest, Backoff, TimerConfig, TxStep};
use crate::message::{Method, SipMessage};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientInviteState {
    Calling,
    Proceeding,
    Completed,
    Accepted,
    Terminated,
}

#[derive(Debug)]
pub struct ClientInviteTx {
    state: ClientInviteState,
    request: SipMessage,
    bytes: Vec<u8>,
    reliable: bool,
    timers: TimerConfig,
    /// Timer A.
    retransmit: Option<Backoff>,
    /// Timer B in Calling, D in Completed, M in Accepted.
    deadline: Option<Instant>,
    /// Our ACK for a non-2xx final, resent on each retransmission of it.
    ack: Option<Vec<u8>>,
    /// The transaction user's ACK for the 2xx with this To tag: retransmissions of
    /// that 2xx are answered here, so they need no leg.
    ack_2xx: Option<(String, Vec<u8>)>,
}

impl ClientInviteTx {
    /// Starts the transaction; returns it and the bytes to send now.
    pub fn new(
        now: Instant,
        request: SipMessage,
        reliable: bool,
        timers: TimerConfig,
    ) -> (ClientInviteTx, Vec<u8>) {
        let bytes = request.to_bytes();
        let tx = ClientInviteTx {
            state: ClientInviteState::Calling,
            request,
            bytes: bytes.clone(),
            reliable,
            timers,
            retransmit: (!reliable).then(|| Backoff::start(now, timers.t1, None)),
            deadline: Some(now + timers.long()),
            ack: None,
            ack_2xx: None,
        };
        (tx, bytes)
    }

    pub fn state(&self) -> ClientInviteState {
        self.state
    }

    pub fn request(&self) -> &SipMessage {
        &self.request
    }

    /// A final response has arrived (or the transaction ended).
    pub fn has_final(&self) -> bool {
        !matches!(
            self.state,
            ClientInviteState::Calling | ClientInviteState::Proceeding
        )
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ClientInviteState::Terminated
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        earliest(self.retransmit.map(|r| r.at), self.deadline)
    }

    pub fn on_response(&mut self, now: Instant, response: &SipMessage) -> TxStep {
        let Some(code) = response.code() else {
            return TxStep::default();
        };
        use ClientInviteState::*;
        match (self.state, code) {
            (Calling | Proceeding, 100..=199) => {
                self.state = Proceeding;
                self.retransmit = None;
                // Timer B guards Calling only; a ringing INVITE is the TU's to end.
                self.deadline = None;
                TxStep::deliver()
            }
            (Calling | Proceeding, 200..=299) => {
                self.state = Accepted;
                self.retransmit = None;
                self.deadline = Some(now + self.timers.long());
                TxStep::deliver()
            }
            (Calling | Proceeding, _) => {
                let ack = self.non_2xx_ack(response).to_bytes();
                self.retransmit = None;
                if self.reliable {
                    self.state = Terminated;
                    self.deadline = None;
                } else {
                    self.state = Completed;
                    self.deadline = Some(now + self.timers.long());
                }
                self.ack = Some(ack.clone());
                TxStep {
                    transmit: Some(ack),
                    deliver: true,
                    ..TxStep::default()
                }
            }
            (Completed, 300..) => self.ack.clone().map(TxStep::send).unwrap_or_default(),
            (Accepted, 200..=299) => match &self.ack_2xx {
                Some((tag, ack)) if response.to_tag() == Some(tag.as_str()) => TxStep {
                    transmit: Some(ack.clone()),
                    dialog_ack: true,
                    ..TxStep::default()
                },
                // A 2xx from another fork, or before the TU built its ACK.
                _ => TxStep::deliver(),
            },
            _ => TxStep::default(),
        }
    }

    pub fn on_timeout(&mut self, now: Instant) -> TxStep {
        if self.deadline.is_some_and(|d| d <= now) {
            let timed_out = self.state == ClientInviteState::Calling;
            self.terminate();
            return TxStep {
                timed_out,
                ..TxStep::default()
            };
        }
        match &mut self.retransmit {
            Some(timer) if timer.at <= now && self.state == ClientInviteState::Calling => {
                timer.fire(now);
                TxStep::send(self.bytes.clone())
            }
            _ => TxStep::default(),
        }
    }

    /// Records the TU's ACK for the 2xx carrying `to_tag`.
    pub fn set_2xx_ack(&mut self, to_tag: &str, ack: Vec<u8>) {
        if self.ack_2xx.is_none() {
            self.ack_2xx = Some((to_tag.to_string(), ack));
        }
    }

    pub fn has_2xx_ack(&self) -> bool {
        self.ack_2xx.is_some()
    }

    pub fn terminate(&mut self) {
        self.state = ClientInviteState::Terminated;
        self.retransmit = None;
        self.deadline = None;
    }

    /// §17.1.1.3: same Request-URI, top Via, From, Call-ID, CSeq number and Route
    /// as the INVITE; To from the response.
    fn non_2xx_ack(&self, response: &SipMessage) -> SipMessage {
        let mut ack =
            SipMessage::request(Method::Ack, self.request.request_uri().unwrap_or_default());
        if let Some(via) = self.request.headers.values("Via").next() {
            ack.headers.push("Via", via);
        }
        ack.headers.push("Max-Forwards", "70");
        for name in ["From", "Call-ID"] {
            if let Some(v) = self.request.headers.get(name) {
                ack.headers.push(name, v);
            }
        }
        if let Some(to) = response.headers.get("To") {
            ack.headers.push("To", to);
        }
        let seq = self.request.cseq().map(|c| c.seq).unwrap_or_default();
        ack.headers.push("CSeq", format!("{seq} ACK"));
        for route in self.request.headers.get_all("Route") {
            ack.headers.push("Route", route);
        }
        ack
    }
}
