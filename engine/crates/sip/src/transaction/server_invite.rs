//! INVITE server transaction (RFC 3261 §17.2.1 with RFC 6026's Accepted state).
//!
//! The UAS core's 2xx retransmission (§13.3.1.4) lives here too, in Accepted: it
//! shares the transaction's lifetime and its peer, and it lets a dialog's ACK stop
//! it with one call.

use std::time::Instant;

use super::{earliest, Backoff, TimerConfig, TxStep};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerInviteState {
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
    Terminated,
}

#[derive(Debug)]
pub struct ServerInviteTx {
    state: ServerInviteState,
    reliable: bool,
    timers: TimerConfig,
    last_response: Option<Vec<u8>>,
    /// Timer G in Completed; the 2xx timer in Accepted.
    retransmit: Option<Backoff>,
    /// Timer H in Completed, I in Confirmed, L in Accepted.
    deadline: Option<Instant>,
    acked: bool,
}

impl ServerInviteTx {
    pub fn new(reliable: bool, timers: TimerConfig) -> ServerInviteTx {
        ServerInviteTx {
            state: ServerInviteState::Proceeding,
            reliable,
            timers,
            last_response: None,
            retransmit: None,
            deadline: None,
            acked: false,
        }
    }

    pub fn state(&self) -> ServerInviteState {
        self.state
    }

    pub fn has_final(&self) -> bool {
        self.state != ServerInviteState::Proceeding
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerInviteState::Terminated
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        earliest(self.retransmit.map(|r| r.at), self.deadline)
    }

    /// Sends a response from the TU. Only valid while Proceeding.
    pub fn send_response(&mut self, now: Instant, code: u16, bytes: Vec<u8>) -> TxStep {
        if self.state != ServerInviteState::Proceeding {
            return TxStep::default();
        }
        let retransmit =
            (!self.reliable).then(|| Backoff::start(now, self.timers.t1, Some(self.timers.t2)));
        match code {
            100..=199 => {}
            200..=299 => {
                self.state = ServerInviteState::Accepted;
                self.retransmit = retransmit;
                self.deadline = Some(now + self.timers.long());
            }
            _ => {
                self.state = ServerInviteState::Completed;
                self.retransmit = retransmit;
                self.deadline = Some(now + self.timers.long());
            }
        }
        self.last_response = Some(bytes.clone());
        TxStep::send(bytes)
    }

    /// The INVITE arrived again: resend the last response. In Accepted this speeds
    /// recovery of a lost 2xx; RFC 6026 only requires absorbing it.
    pub fn on_retransmission(&mut self) -> TxStep {
        match self.state {
            ServerInviteState::Proceeding
            | ServerInviteState::Completed
            | ServerInviteState::Accepted => self
                .last_response
                .clone()
                .map(TxStep::send)
                .unwrap_or_default(),
            _ => TxStep::default(),
        }
    }

    /// An ACK matched this transaction by branch. For a non-2xx it is absorbed; in
    /// Accepted (a peer reusing the INVITE branch) it goes to the TU, which calls
    /// `ack_received` once the dialog has checked it: a branch alone proves
    /// nothing, and an ACK the dialog drops must not stop the 2xx (the leg would
    /// then wait for an ACK forever, with neither retransmissions nor Timer L).
    pub fn on_ack(&mut self, now: Instant) -> TxStep {
        match self.state {
            ServerInviteState::Completed => {
                self.retransmit = None;
                if self.reliable {
                    self.terminate();
                } else {
                    self.state = ServerInviteState::Confirmed;
                    self.deadline = Some(now + self.timers.t4);
                }
                TxStep::default()
            }
            ServerInviteState::Accepted => TxStep::deliver(),
            _ => TxStep::default(),
        }
    }

    /// The dialog saw the ACK for our 2xx (or a BYE proving the 2xx arrived): stop
    /// retransmitting; Timer L keeps absorbing INVITE retransmissions.
    pub fn ack_received(&mut self) {
        if self.state == ServerInviteState::Accepted {
            self.acked = true;
            self.retransmit = None;
        }
    }

    pub fn on_timeout(&mut self, now: Instant) -> TxStep {
        if self.deadline.is_some_and(|d| d <= now) {
            let timed_out = match self.state {
                ServerInviteState::Completed => true,
                ServerInviteState::Accepted => !self.acked,
                _ => false,
            };
            self.terminate();
            return TxStep {
                timed_out,
                ..TxStep::default()
            };
        }
        match &mut self.retransmit {
            Some(timer) if timer.at <= now => {
                timer.fire(now);
                self.last_response
                    .clone()
                    .map(TxStep::send)
                    .unwrap_or_default()
            }
            _ => TxStep::default(),
        }
    }

    pub fn terminate(&mut self) {
        self.state = ServerInviteState::Terminated;
        self.retransmit = None;
        self.deadline = None;
    }
}
