//! The messages that cross between a scenario session (JS worker thread) and the
//! engine (signalling task, media workers). Rust and JS meet only through these.

use crate::ids::{CallId, SessionId, UnitId};
use std::time::Duration;

/// SIP headers as (name, value) pairs, in received order. Only `X-` headers are
/// passed to scripts; the call layer filters.
pub type Headers = Vec<(String, String)>;

/// What the engine tells a session. Delivered in order, one at a time.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    /// First event of an inbound-call session, dispatched after `AppEvents.Started`.
    CallAlerting(IncomingCall),
    /// Something happened on one of this session's calls.
    Call { call: CallId, event: CallEvent },
    /// The engine asks the session to end (shutdown, limits). The host dispatches
    /// `Terminating`/`Terminated` and the session ends.
    Terminate { reason: String },
}

#[derive(Debug, Clone)]
pub struct IncomingCall {
    pub call: CallId,
    /// Caller's user part (From URI user), shown as `callerid`.
    pub callerid: String,
    /// Request-URI user part.
    pub destination: String,
    pub display_name: String,
    pub from_uri: String,
    pub to_uri: String,
    /// X- headers of the INVITE.
    pub headers: Headers,
}

/// VoxEngine call states as `call.state()` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Alerting,
    Progressing,
    Connected,
    Terminated,
}

impl CallState {
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Alerting => "ALERTING",
            CallState::Progressing => "PROGRESSING",
            CallState::Connected => "CONNECTED",
            CallState::Terminated => "TERMINATED",
        }
    }
}

#[derive(Debug, Clone)]
pub enum CallEvent {
    Ringing {
        headers: Headers,
    },
    /// Media flows: inbound after answer/startEarlyMedia, outbound after 183-with-SDP or 200.
    AudioStarted {
        headers: Headers,
    },
    Connected {
        headers: Headers,
    },
    /// Outbound call ended before it was answered (3xx–6xx, timeout, CANCEL).
    Failed {
        code: u16,
        reason: String,
        headers: Headers,
    },
    /// A call ended. `duration` counts from Connected (zero if never connected).
    Disconnected {
        code: u16,
        reason: String,
        duration: Duration,
        headers: Headers,
    },
    StateChanged {
        old: CallState,
        new: CallState,
    },
    FirstAudioPacketReceived,
    RtpStopped,
    RtpResumed,
}

/// What a session asks of the engine. Every command travels with the id of the
/// session it comes from; the call layer ignores commands for calls that
/// session does not own.
#[derive(Debug, Clone)]
pub enum SessionCommand {
    Answer {
        call: CallId,
        headers: Headers,
    },
    Reject {
        call: CallId,
        code: u16,
        headers: Headers,
    },
    /// 180 Ringing to an inbound call.
    Ring {
        call: CallId,
        headers: Headers,
    },
    /// 183 Session Progress with SDP: early media.
    StartEarlyMedia {
        call: CallId,
        headers: Headers,
    },
    /// BYE, CANCEL or a final error response, whichever the call's state needs.
    Hangup {
        call: CallId,
        headers: Headers,
    },
    /// New outbound leg. `call` was allocated by the script host with `CallId::next()`.
    CallSip(Box<OutboundCall>),
    /// `to`'s audio input becomes `from` (replacing any earlier input).
    SendMedia {
        from: UnitId,
        to: UnitId,
    },
    /// If `to`'s input is `from`, `to` gets no input.
    StopMedia {
        from: UnitId,
        to: UnitId,
    },
    /// The session has ended (Terminated dispatched, runtime dropped): hang up
    /// whatever calls it still owns (BYE, or 500 to an unanswered INVITE).
    Ended {
        reason: SessionEnd,
    },
}

#[derive(Debug, Clone)]
pub struct OutboundCall {
    pub call: CallId,
    /// SIP URI (`sip:user@host:port`); see VoxEngine.callSIP.
    pub to: String,
    pub callerid: Option<String>,
    pub display_name: Option<String>,
    pub headers: Headers,
    pub auth_user: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// `VoxEngine.terminate()` or the idle limit.
    Normal,
    /// Uncaught exception, CPU budget or memory limit; the text is the reason.
    ScriptError(String),
    /// The scenario did not compile.
    CompileError(String),
}

/// Where sessions send their commands.
pub type CommandSender = tokio::sync::mpsc::UnboundedSender<(SessionId, SessionCommand)>;
/// Where the engine sends a session its events.
pub type EventSender = tokio::sync::mpsc::UnboundedSender<SessionEvent>;
