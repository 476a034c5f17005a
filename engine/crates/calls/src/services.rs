//! What the call core asks of its driver and gets answered at once: where an
//! INVITE goes, an RTP port, whether history keeps up, whether the engine
//! has room for another session, the wall clock, and whether a `callSIP` may
//! go to an address.
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

/// A user of an application, as the registrar authenticates it: the digest
/// HA1s of its password in its realm, never the password. `Debug` leaves
/// the hashes out.
#[derive(Clone, PartialEq, Eq)]
pub struct UserAuth {
    pub account: String,
    /// Application name.
    pub application: String,
    pub name: String,
    pub display_name: Option<String>,
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
}

impl std::fmt::Debug for UserAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAuth")
            .field("account", &self.account)
            .field("application", &self.application)
            .field("name", &self.name)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

/// One trunk a number may go through, as the call core dials it. `Debug`
/// hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct TrunkRoute {
    pub trunk: String,
    /// `sip:NUMBER@HOST:PORT[;transport=tcp]`, the number already rewritten
    /// (stripped, prefixed) for this trunk.
    pub uri: String,
    /// Digest credentials the provider challenges for.
    pub auth: Option<(String, String)>,
    /// The caller id the trunk requires, if it imposes one.
    pub caller_id: Option<String>,
}

impl std::fmt::Debug for TrunkRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrunkRoute")
            .field("trunk", &self.trunk)
            .field("uri", &self.uri)
            .field("auth", &self.auth.as_ref().map(|(u, _)| (u, "***")))
            .field("caller_id", &self.caller_id)
            .finish()
    }
}

/// Which resource the engine is short of when it refuses new sessions to
/// keep the ones already up whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overload {
    /// The media workers run behind their 20 ms clock.
    Media,
    /// The signalling loop is busy nearly all the time.
    Signalling,
    /// The process is near its memory budget.
    Memory,
}

impl Overload {
    pub fn as_str(self) -> &'static str {
        match self {
            Overload::Media => "media",
            Overload::Signalling => "signalling",
            Overload::Memory => "memory",
        }
    }
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
    /// Where `VoxEngine.callConference(name)` from a session of `owner`
    /// goes: that account's rules, as for an INVITE to `name`.
    fn route_conference(&self, _owner: Option<&RouteOwner>, _name: &str) -> Route {
        Route::Reject {
            code: 404,
            reason: "Not Found".into(),
        }
    }
    /// The user `name` of the application whose SIP domain is `domain` (a
    /// REGISTER's or an INVITE's From address), if there is one.
    fn user(&self, _domain: &str, _name: &str) -> Option<Arc<UserAuth>> {
        None
    }
    /// Where an INVITE from `user` (authenticated) goes: that user's
    /// application's rules, whatever number it dials.
    fn route_user(&self, _user: &UserAuth, _info: &InboundInfo<'_>) -> Route {
        Route::Reject {
            code: 404,
            reason: "Not Found".into(),
        }
    }
    /// The trunks a call of `owner`'s sessions to `number` goes through, in
    /// the order to try them.
    fn trunks(&self, _owner: Option<&RouteOwner>, _number: &str) -> Vec<TrunkRoute> {
        Vec::new()
    }
    /// Binds an RTP port for a call's `unit` on media worker `shard` and
    /// returns the port.
    fn bind_rtp(&mut self, unit: UnitId, shard: usize) -> Result<u16, String>;
    /// Answers a browser's (WebRTC) offer for a call's `unit`, whose port is
    /// bound and advertised at `local`: ICE, DTLS-SRTP and Opus are the media
    /// layer's. `Err` says why not; the call core refuses the offer (488).
    fn webrtc_answer(
        &mut self,
        _unit: UnitId,
        _local: SocketAddr,
        _offer: &str,
    ) -> Result<String, String> {
        Err("WebRTC legs are not available here".into())
    }
    /// Our WebRTC offer for a call's `unit` in the direction given.
    fn webrtc_offer(
        &mut self,
        _unit: UnitId,
        _local: SocketAddr,
        _sends: bool,
        _receives: bool,
    ) -> Result<String, String> {
        Err("WebRTC legs are not available here".into())
    }
    /// The call's `unit` is no WebRTC leg after all (a phone, not a
    /// browser, answered): its port goes back to plain RTP.
    fn webrtc_release(&mut self, _unit: UnitId) {}
    /// A browser's answer to our last WebRTC offer for `unit`.
    fn webrtc_accept_answer(&mut self, _unit: UnitId, _answer: &str) -> Result<(), String> {
        Err("WebRTC legs are not available here".into())
    }
    /// True while history cannot keep up with `account`'s records (`None`:
    /// with anyone's): its new sessions are refused (503) rather than have
    /// their records dropped, and accounts that do not cause the backlog go
    /// on.
    fn congested(&self, _account: Option<&str>) -> bool {
        false
    }
    /// `Some` while the engine is short of media time, signalling time or
    /// memory: new sessions (INVITEs and REST) are refused with 503 and
    /// Retry-After so that the calls already up keep their audio.
    fn overload(&self) -> Option<Overload> {
        None
    }
    /// The share of the set-up rate ([`crate::setup_rate`]) new sessions
    /// may use now, ‰: less than all of it while the engine is getting
    /// busier, so calls whose cost has not shown yet arrive more slowly.
    fn setup_share(&self) -> u64 {
        1000
    }
    /// Milliseconds since the Unix epoch (a session's `started_at`).
    fn wall_ms(&self) -> i64;
    /// Whether a session may send a `callSIP` INVITE to `peer` (the
    /// operator's egress policy), asked for a literal address before
    /// anything is sent and for a host name once it has resolved. `Err`
    /// says why not; the call fails with 403.
    fn egress(&self, _peer: SocketAddr) -> Result<(), String> {
        Ok(())
    }
    /// The recording budget of `account`, asked when one of its sessions
    /// starts a recording: its files' bytes are charged to it, and the
    /// recording stops when it is spent. `Err` (the quota is already spent)
    /// refuses the recording with that message; `Ok(None)`: not counted.
    fn recording_budget(
        &self,
        _account: &str,
    ) -> Result<Option<dialtone_media::RecordingBudget>, String> {
        Ok(None)
    }
}
