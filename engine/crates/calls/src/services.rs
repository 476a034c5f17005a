//! What the call core asks of its driver and gets answered at once: where an
//! INVITE goes, an RTP port, whether history keeps up, the wall clock.
//!
//! These are queries, not I/O the core waits on: routing reads a prepared
//! snapshot, and an RTP port must be bound before the SDP that names it can
//! be written, in the same step (a failed bind is a 503 to that call).

use std::net::SocketAddr;
use std::sync::Arc;

use dialtone_core::{Scenario, UnitId};

/// What the call core knows of an INVITE when it asks for a route.
#[derive(Debug)]
pub struct InboundInfo<'a> {
    /// The Request-URI as received.
    pub request_uri: &'a str,
    /// Its user part (%HH-decoded).
    pub destination: &'a str,
    pub from_user: &'a str,
    pub from_uri: &'a str,
    pub to_uri: &'a str,
    pub headers: &'a [(String, String)],
    /// Where the INVITE came from.
    pub source: SocketAddr,
}

/// Whose session a route starts: history is stored under this account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOwner {
    pub account: String,
    /// Application name.
    pub application: String,
    /// The rule that matched; `None` for a session started by name over REST.
    pub rule: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Route {
    Session {
        scenario: Arc<Scenario>,
        custom_data: String,
        /// `None` when sessions belong to nobody (`dialtone run`, `dialtone test`).
        owner: Option<RouteOwner>,
    },
    Reject {
        code: u16,
        reason: String,
    },
}

/// The driver's side of the core's synchronous questions.
pub trait Services: Send {
    /// Which session an INVITE starts, or how to refuse it.
    fn route(&self, info: &InboundInfo<'_>) -> Route;
    /// Binds an RTP port for a call's `unit` on media worker `shard` and
    /// returns the port.
    fn bind_rtp(&mut self, unit: UnitId, shard: usize) -> Result<u16, String>;
    /// True while history cannot keep up with `account`'s records (`None`:
    /// with anyone's): its new sessions are refused (503) rather than have
    /// their records dropped, and accounts that do not cause the backlog go
    /// on.
    fn congested(&self, _account: Option<&str>) -> bool {
        false
    }
    /// Milliseconds since the Unix epoch (a session's `started_at`).
    fn wall_ms(&self) -> i64;
}
