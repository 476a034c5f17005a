//! Non-INVITE server transaction (RFC 3261 §17.2.2).

use std::time::Instant;

use super::{TimerConfig, TxStep};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerNonInviteState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

#[derive(Debug)]
pub struct ServerNonInviteTx {
    state: ServerNonInviteState,
    reliable: bool,
    timers: TimerConfig,
    last_response: Option<Vec<u8>>,
    /// Timer J.
    deadline: Option<Instant>,
}

impl ServerNonInviteTx {
    pub fn new(reliable: bool, timers: TimerConfig) -> ServerNonInviteTx {
        ServerNonInviteTx {
            state: ServerNonInviteState::Trying,
            reliable,
            timers,
            last_response: None,
            deadline: None,
        }
    }

    pub fn state(&self) -> ServerNonInviteState {
        self.state
    }

    pub fn has_final(&self) -> bool {
        matches!(
            self.state,
            ServerNonInviteState::Completed | ServerNonInviteState::Terminated
        )
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerNonInviteState::Terminated
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn send_response(&mut self, now: Instant, code: u16, bytes: Vec<u8>) -> TxStep {
        match self.state {
            ServerNonInviteState::Trying | ServerNonInviteState::Proceeding => {}
            _ => return TxStep::default(),
        }
        if code < 200 {
            self.state = ServerNonInviteState::Proceeding;
        } else if self.reliable {
            self.state = ServerNonInviteState::Terminated;
        } else {
            self.state = ServerNonInviteState::Completed;
            self.deadline = Some(now + self.timers.long());
        }
        self.last_response = Some(bytes.clone());
        TxStep::send(bytes)
    }

    /// The request arrived again: resend the last response (absorb it in Trying).
    pub fn on_retransmission(&mut self) -> TxStep {
        match self.state {
            ServerNonInviteState::Proceeding | ServerNonInviteState::Completed => self
                .last_response
                .clone()
                .map(TxStep::send)
                .unwrap_or_default(),
            _ => TxStep::default(),
        }
    }

    pub fn on_timeout(&mut self, now: Instant) -> TxStep {
        if self.deadline.is_some_and(|d| d <= now) {
            self.state = ServerNonInviteState::Terminated;
            self.deadline = None;
        }
        TxStep::default()
    }
}
