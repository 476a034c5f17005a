//! What the call core hands its driver: commands for the SIP and media
//! layers, session events, sessions to start, jobs to run, and facts for
//! history and metrics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dialtone_core::messages::{Headers, HttpResult, PlayerSource, SessionEnd, SessionEvent};
use dialtone_core::{CallId, Scenario, SessionId, UnitId};
use dialtone_media::{PlayerMedia, RecorderSpec, RtpParams};
use dialtone_sip::UaCommand;

use crate::admission::AdmissionError;
use crate::services::RouteOwner;

/// One thing the driver must do, in the order the core produced them.
// The variants are consumed at once; boxing would add an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum Output {
    /// For the user-agent core.
    Ua(UaCommand),
    /// For the media engine.
    Media(MediaCommand),
    /// Deliver to a session.
    Event {
        session: SessionId,
        event: SessionEvent,
    },
    /// Start a session; events for it follow.
    Start(SessionStart),
    /// The session has ended: nothing more goes to it.
    Ended(SessionId),
    /// Work that takes time; its result comes back as a [`JobResult`].
    Job(Job),
    /// For history and metrics.
    Fact(Fact),
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Output::Ua(cmd) => write!(f, "Ua({cmd:?})"),
            Output::Media(cmd) => write!(f, "Media({cmd:?})"),
            Output::Event { session, event } => write!(f, "Event({session}, {event:?})"),
            Output::Start(s) => write!(f, "Start({}, {})", s.id, s.scenario.name),
            Output::Ended(s) => write!(f, "Ended({s})"),
            Output::Job(job) => write!(f, "Job({job:?})"),
            Output::Fact(fact) => write!(f, "Fact({fact:?})"),
        }
    }
}

/// A session to start.
#[derive(Clone)]
pub struct SessionStart {
    pub id: SessionId,
    pub scenario: Arc<Scenario>,
    pub custom_data: String,
    /// Dispatched right after `AppEvents.Started` (an inbound call's `CallAlerting`).
    pub first_event: Option<SessionEvent>,
    pub access_url: String,
}

impl std::fmt::Debug for SessionStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStart")
            .field("id", &self.id)
            .field("scenario", &self.scenario)
            .field("custom_data", &self.custom_data)
            .field("first_event", &self.first_event)
            .field(
                "access_url",
                &crate::sessions::redacted_access_url(&self.access_url),
            )
            .finish()
    }
}

/// A media-engine operation. Units are calls (their RTP endpoint, bound
/// through [`Services::bind_rtp`](crate::Services::bind_rtp)), players and
/// recorders.
pub enum MediaCommand {
    /// Start (or change) sending and receiving RTP for a call.
    SetRemote {
        unit: UnitId,
        params: RtpParams,
    },
    /// Remove a unit: an endpoint's port is freed, a player stops silently,
    /// a recorder finishes its file (`RecorderStopped` follows).
    Release(UnitId),
    /// `to` hears `from`, replacing its earlier input.
    Connect {
        from: UnitId,
        to: UnitId,
    },
    /// `to` hears nothing if its input is `from`.
    Disconnect {
        from: UnitId,
        to: UnitId,
    },
    /// A player on media worker `shard`; it starts at once.
    AddPlayer {
        unit: UnitId,
        shard: usize,
        media: PlayerMedia,
        looped: bool,
    },
    PausePlayer {
        unit: UnitId,
        paused: bool,
    },
    AddMarker {
        unit: UnitId,
        offset_ms: i64,
    },
    /// A recorder on media worker `shard`.
    AddRecorder {
        unit: UnitId,
        shard: usize,
        spec: RecorderSpec,
    },
    MuteRecorder {
        unit: UnitId,
        muted: bool,
    },
    /// What a call's endpoint receives is heard by no one (muted) or again.
    MuteEndpoint {
        unit: UnitId,
        muted: bool,
    },
    /// DTMF detection on a call's endpoint.
    ToneDetection {
        unit: UnitId,
        enabled: bool,
    },
    /// RFC 4733 digits from a call's endpoint.
    SendDigits {
        unit: UnitId,
        digits: String,
    },
    /// Statistics of a call's endpoint every `interval` (`None`: stop).
    Statistics {
        unit: UnitId,
        interval: Option<Duration>,
    },
    /// The two halves of a call between sessions (`a` on worker `a_shard`,
    /// `b` on `b_shard`), joined in memory.
    AddLink {
        a: UnitId,
        a_shard: usize,
        b: UnitId,
        b_shard: usize,
    },
    /// A conference mixer on media worker `shard`.
    AddMixer {
        unit: UnitId,
        shard: usize,
    },
    /// A member of a mixer, or a change in what it does: it speaks into
    /// the mix (`send`), hears the loudest other speaker instead of the mix
    /// (`forward`), and does not hear `deaf_to`.
    SetMember {
        mixer: UnitId,
        spec: Member,
    },
    RemoveMember {
        mixer: UnitId,
        unit: UnitId,
    },
}

impl std::fmt::Debug for MediaCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MediaCommand::SetRemote { unit, params } => write!(
                f,
                "SetRemote({}, {} pt {})",
                unit.0, params.remote, params.payload_type
            ),
            MediaCommand::Release(unit) => write!(f, "Release({})", unit.0),
            MediaCommand::Connect { from, to } => write!(f, "Connect({} -> {})", from.0, to.0),
            MediaCommand::Disconnect { from, to } => {
                write!(f, "Disconnect({} -> {})", from.0, to.0)
            }
            MediaCommand::AddPlayer { unit, looped, .. } => {
                write!(f, "AddPlayer({}, looped {looped})", unit.0)
            }
            MediaCommand::PausePlayer { unit, paused } => {
                write!(f, "PausePlayer({}, {paused})", unit.0)
            }
            MediaCommand::AddMarker { unit, offset_ms } => {
                write!(f, "AddMarker({}, {offset_ms})", unit.0)
            }
            MediaCommand::AddRecorder { unit, spec, .. } => {
                write!(f, "AddRecorder({}, {})", unit.0, spec.path.display())
            }
            MediaCommand::MuteRecorder { unit, muted } => {
                write!(f, "MuteRecorder({}, {muted})", unit.0)
            }
            MediaCommand::MuteEndpoint { unit, muted } => {
                write!(f, "MuteEndpoint({}, {muted})", unit.0)
            }
            MediaCommand::ToneDetection { unit, enabled } => {
                write!(f, "ToneDetection({}, {enabled})", unit.0)
            }
            MediaCommand::SendDigits { unit, digits } => {
                write!(f, "SendDigits({}, {digits:?})", unit.0)
            }
            MediaCommand::AddMixer { unit, .. } => write!(f, "AddMixer({})", unit.0),
            MediaCommand::AddLink { a, b, .. } => write!(f, "AddLink({} <-> {})", a.0, b.0),
            MediaCommand::Statistics { unit, interval } => {
                write!(f, "Statistics({}, {interval:?})", unit.0)
            }
            MediaCommand::SetMember { mixer, spec } => write!(
                f,
                "SetMember({} <- {}, send {}, forward {}, deaf to {})",
                mixer.0,
                spec.unit.0,
                spec.send,
                spec.forward,
                spec.deaf_to.len()
            ),
            MediaCommand::RemoveMember { mixer, unit } => {
                write!(f, "RemoveMember({} <- {})", mixer.0, unit.0)
            }
        }
    }
}

/// What one conference member does ([`MediaCommand::SetMember`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub unit: UnitId,
    pub send: bool,
    pub forward: bool,
    pub deaf_to: Vec<UnitId>,
}

/// Work the driver runs off the core; each ends in one [`JobResult`].
#[derive(Debug, Clone)]
pub enum Job {
    /// Resolve a `callSIP` target's host name.
    Resolve {
        call: CallId,
        host: String,
        port: u16,
    },
    /// Resolve a registering trunk's registrar.
    ResolveTrunk {
        id: dialtone_sip::RegistrationId,
        host: String,
        port: u16,
    },
    /// Load a player's audio: a URL or text to speech (never a tone source,
    /// which the core makes itself).
    Load { unit: UnitId, source: PlayerSource },
    /// `Net.httpRequestAsync` for a session.
    Http(HttpJob),
    /// `ApplicationStorage` for a session: `op` on `scope`'s pairs.
    Storage {
        session: SessionId,
        id: u64,
        scope: dialtone_core::storage::StorageScope,
        op: dialtone_core::storage::StorageOp,
    },
}

/// One `Net` request as the session asked for it.
#[derive(Debug, Clone)]
pub struct HttpJob {
    pub session: SessionId,
    pub id: u64,
    pub url: String,
    pub method: String,
    pub headers: Headers,
    pub body: Option<Vec<u8>>,
    pub timeout: Duration,
}

/// The end of a [`Job`].
pub enum JobResult {
    Resolved {
        call: CallId,
        result: Result<SocketAddr, String>,
    },
    TrunkResolved {
        id: dialtone_sip::RegistrationId,
        result: Result<SocketAddr, String>,
    },
    Loaded {
        unit: UnitId,
        result: Result<PlayerMedia, String>,
    },
    /// A sequence player's segments, loaded in order and joined into one
    /// clip; `samples` is each segment's length (8 kHz samples), so markers
    /// can be placed in a segment.
    LoadedSequence {
        unit: UnitId,
        result: Result<(dialtone_media::Clip, Vec<u64>), String>,
    },
    Http {
        session: SessionId,
        id: u64,
        result: HttpResult,
    },
    Storage {
        session: SessionId,
        id: u64,
        result: Result<dialtone_core::storage::StorageReply, String>,
    },
}

/// Which way a call was set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

/// What history and metrics are told.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// An INVITE arrived or a `callSIP` started (counted even when refused).
    CallAttempt(Direction),
    /// An INVITE refused before it became a call, with the code sent.
    InviteRefused {
        code: u16,
    },
    /// A REGISTER answered with `code`; the registrar now holds `bindings`.
    RegisterAnswered {
        code: u16,
        bindings: usize,
    },
    /// An agent's state changed. `queues` are the agent's (who may see it).
    AgentState {
        account: String,
        agent: String,
        queues: Vec<String>,
        state: crate::AgentState,
        reason: String,
    },
    /// A queue call to an agent changed: `alerting` (its phone rings),
    /// `active`, `failed` (not taken), `dropped` (ended).
    AgentCall {
        account: String,
        agent: String,
        queues: Vec<String>,
        call: CallId,
        state: &'static str,
        queue: String,
        callerid: String,
        muted: bool,
        /// The scenario takes transfers of the call (`singleStepTransfer`).
        transferable: bool,
    },
    /// A supervisor on an agent's call: `state` is `alerting` (its phone
    /// rings), `active` (in the call, in `mode`) or `dropped`.
    Monitor {
        account: String,
        supervisor: String,
        agent: String,
        /// The monitored agent's queues (their supervisors see it).
        queues: Vec<String>,
        call: CallId,
        agent_call: CallId,
        mode: &'static str,
        state: &'static str,
    },
    /// An agent's consultation: `state` is `alerting`, `active`,
    /// `conference`, `transferred`, `dropped` or `failed`.
    Consult {
        account: String,
        agent: String,
        queues: Vec<String>,
        /// The consulted agent, if an agent (or a queue's) was consulted.
        consulted: Option<String>,
        consulted_queues: Vec<String>,
        /// The consulted party's call.
        call: CallId,
        agent_call: CallId,
        /// What the agent asked to consult.
        to: String,
        state: &'static str,
    },
    /// An agent's own call (`makeCall`): `initiating` (its phone rings),
    /// `initiated` (the far end is dialled), `active`, or `failed` with the
    /// SIP code.
    OutboundDialing {
        account: String,
        agent: String,
        queues: Vec<String>,
        call: CallId,
        to: String,
        state: &'static str,
        code: Option<u16>,
    },
    /// Callers waiting in every queue, and agents by state (in the order
    /// of `AgentState::ALL`), after a change.
    AcdGauges {
        waiting: usize,
        agents: [usize; 7],
    },
    /// A REGISTER of a trunk of ours was answered with `code`.
    TrunkRegisterAnswered {
        code: u16,
    },
    /// Registering trunks by state, after any change.
    TrunkRegistrations {
        registered: usize,
        failed: usize,
        registering: usize,
    },
    /// A new session (an INVITE's or a REST request's) refused, and why.
    SessionRefused(AdmissionError),
    /// `owner` is `None` for sessions that belong to nobody (`dialtone run`).
    SessionStarted {
        session: SessionId,
        owner: Option<RouteOwner>,
    },
    CallStarted {
        session: SessionId,
        call: CallId,
        direction: Direction,
        from: String,
        to: String,
    },
    CallAnswered {
        call: CallId,
    },
    /// A call is gone. `code` and `reason` are those of its last event
    /// (`Disconnected`/`Failed`), `None` when it ended without one (its
    /// session was gone); `connected` says whether it was ever answered.
    CallEnded {
        call: CallId,
        connected: bool,
        code: Option<u16>,
        reason: Option<String>,
    },
    /// A recording file (its name inside the recordings directory).
    Recording {
        session: SessionId,
        call: Option<CallId>,
        file: String,
    },
    SessionEnded {
        session: SessionId,
        reason: SessionEnd,
    },
}
