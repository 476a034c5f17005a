//! RFC 3261 §17 transactions with the RFC 6026 Accepted states, as pure state
//! machines: inputs and `now` in, a `TxStep` out, `next_timeout` polled.
//!
//! Transactions keep serialized bytes for retransmission. They never see sockets;
//! the owner sends `TxStep::transmit` to the transaction's peer.

mod client_invite;
mod client_non_invite;
mod server_invite;
mod server_non_invite;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

pub use client_invite::{ClientInviteState, ClientInviteTx};
pub use client_non_invite::{ClientNonInviteState, ClientNonInviteTx};
pub use server_invite::{ServerInviteState, ServerInviteTx};
pub use server_non_invite::{ServerNonInviteState, ServerNonInviteTx};

use crate::message::{Method, SipMessage};
use crate::via::Via;

/// RFC 3261 branch prefix: a branch starting with it is unique per transaction.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64·T1: Timers B, F, H, J, L, M, and D (RFC 3261 asks D ≥ 32 s, which this is
    /// with the default T1).
    pub fn long(&self) -> Duration {
        self.t1 * 64
    }
}

/// What one input did to a transaction.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TxStep {
    /// Bytes to send to the transaction's peer.
    pub transmit: Option<Vec<u8>>,
    /// `transmit` is the ACK for a 2xx, which follows the dialog route rather than
    /// the transaction's peer.
    pub dialog_ack: bool,
    /// The message given to the transaction is for the transaction user.
    pub deliver: bool,
    /// The transaction gave up: Timer B, F or H, or Timer L with no ACK.
    pub timed_out: bool,
}

impl TxStep {
    fn send(bytes: Vec<u8>) -> TxStep {
        TxStep {
            transmit: Some(bytes),
            ..TxStep::default()
        }
    }

    fn deliver() -> TxStep {
        TxStep {
            deliver: true,
            ..TxStep::default()
        }
    }
}

/// A retransmission timer that doubles, optionally up to a cap (A, E, G, and the
/// UAS 2xx timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Backoff {
    at: Instant,
    interval: Duration,
    cap: Option<Duration>,
}

impl Backoff {
    fn start(now: Instant, first: Duration, cap: Option<Duration>) -> Backoff {
        Backoff {
            at: now + first,
            interval: first,
            cap,
        }
    }

    fn fire(&mut self, now: Instant) {
        let doubled = self.interval * 2;
        self.interval = match self.cap {
            Some(cap) => doubled.min(cap),
            None => doubled,
        };
        self.at = now + self.interval;
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Server transaction key (§17.2.3): branch, sent-by and method, where ACK matches
/// its INVITE. Peers without the magic cookie (RFC 2543), or with nothing after
/// it, get a key from the request's identity instead.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerKey {
    branch: String,
    sent_by: String,
    method: Method,
}

impl ServerKey {
    pub fn for_request(msg: &SipMessage, via: &Via, method: &Method) -> ServerKey {
        let method = match method {
            Method::Ack => Method::Invite,
            m => m.clone(),
        };
        let branch = match via.branch() {
            // The cookie alone identifies nothing (RFC 4475 §3.2.1).
            Some(b) if b.starts_with(MAGIC_COOKIE) && b.len() > MAGIC_COOKIE.len() => b.to_string(),
            _ => format!(
                "{}|{}|{}",
                msg.call_id().unwrap_or_default(),
                msg.from_tag().unwrap_or_default(),
                msg.cseq().map(|c| c.seq).unwrap_or_default()
            ),
        };
        ServerKey {
            branch,
            sent_by: via.sent_by(),
            method,
        }
    }
}

/// Client transaction key (§17.1.3): our branch and the CSeq method.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub branch: String,
    pub method: Method,
}
