//! Non-INVITE client transaction (RFC 3261 §17.1.2).

use std::time::Instant;

use super::{earliest, Backoff, TimerConfig, TxStep};
use crate::message::SipMessage;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientNonInviteState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

#[derive(Debug)]
pub struct ClientNonInviteTx {
    state: ClientNonInviteState,
    bytes: Vec<u8>,
    reliable: bool,
    timers: TimerConfig,
    /// Timer E.
    retransmit: Option<Backoff>,
    /// Timer F while waiting, K in Completed.
    deadline: Option<Instant>,
}

impl ClientNonInviteTx {
    pub fn new(
        now: Instant,
        request: &SipMessage,
        reliable: bool,
        timers: TimerConfig,
    ) -> (ClientNonInviteTx, Vec<u8>) {
        let bytes = request.to_bytes();
        let tx = ClientNonInviteTx {
            state: ClientNonInviteState::Trying,
            bytes: bytes.clone(),
            reliable,
            timers,
            retransmit: (!reliable).then(|| Backoff::start(now, timers.t1, Some(timers.t2))),
            deadline: Some(now + timers.long()),
        };
        (tx, bytes)
    }

    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }

    pub fn has_final(&self) -> bool {
        !matches!(
            self.state,
            ClientNonInviteState::Trying | ClientNonInviteState::Proceeding
        )
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ClientNonInviteState::Terminated
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        earliest(self.retransmit.map(|r| r.at), self.deadline)
    }

    pub fn on_response(&mut self, now: Instant, response: &SipMessage) -> TxStep {
        let Some(code) = response.code() else {
            return TxStep::default();
        };
        use ClientNonInviteState::*;
        match (self.state, code) {
            (Trying | Proceeding, 100..=199) => {
                self.state = Proceeding;
                TxStep::deliver()
            }
            (Trying | Proceeding, _) => {
                self.retransmit = None;
                if self.reliable {
                    self.terminate();
                } else {
                    self.state = Completed;
                    self.deadline = Some(now + self.timers.t4);
                }
                TxStep::deliver()
            }
            _ => TxStep::default(),
        }
    }

    pub fn on_timeout(&mut self, now: Instant) -> TxStep {
        if self.deadline.is_some_and(|d| d <= now) {
            let timed_out = !self.has_final();
            self.terminate();
            return TxStep {
                timed_out,
                ..TxStep::default()
            };
        }
        let proceeding = self.state == ClientNonInviteState::Proceeding;
        let t2 = self.timers.t2;
        match &mut self.retransmit {
            Some(timer) if timer.at <= now => {
                if proceeding {
                    // §17.1.2.2: once a provisional arrived, retransmit every T2.
                    timer.interval = t2;
                    timer.at = now + t2;
                } else {
                    timer.fire(now);
                }
                TxStep::send(self.bytes.clone())
            }
            _ => TxStep::default(),
        }
    }

    pub fn terminate(&mut self) {
        self.state = ClientNonInviteState::Terminated;
        self.retransmit = None;
        self.deadline = None;
    }
}
