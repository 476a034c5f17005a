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
    /// Something happened to a player the session created (`VoxEngine.create*Player`).
    Player { unit: UnitId, event: PlayerEvent },
    /// Something happened to a recorder the session created (`VoxEngine.createRecorder`).
    Recorder { unit: UnitId, event: RecorderEvent },
    /// The outcome of the session's `SessionCommand::HttpRequest` with this id.
    HttpResponse { id: u64, result: HttpResult },
    /// An HTTP request to the session's `accessURL` (`AppEvents.HttpRequest`).
    Access(AccessRequest),
    /// The outcome of the session's `SessionCommand::Storage` with this id.
    StorageResult {
        id: u64,
        result: Result<crate::storage::StorageReply, String>,
    },
    /// Something happened to one of the session's ACD requests.
    Acd {
        request: u64,
        event: crate::acd::AcdEvent,
    },
}

/// An HTTP request made to a session's `accessURL`. The session answers
/// through `reply`; dropping it unanswered tells the client the session ended.
/// `Debug` hides the access token in `path` and the header values.
#[derive(Clone)]
pub struct AccessRequest {
    pub method: String,
    /// The path requested, without scheme and host.
    pub path: String,
    /// The body as text (invalid UTF-8 replaced).
    pub content: String,
    /// Request headers in received order.
    pub headers: Headers,
    pub reply: AccessReplySlot,
}

/// What `Debug` prints in place of a secret.
const REDACTED: &str = "***";

/// `/access/SESSION/TOKEN/…` with the token replaced by `***`.
fn redact_access_path(path: &str) -> String {
    let mut parts: Vec<&str> = path.splitn(5, '/').collect();
    if parts.len() >= 4 && parts[0].is_empty() && parts[1] == "access" {
        parts[3] = REDACTED;
    }
    parts.join("/")
}

impl std::fmt::Debug for AccessRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may be a client's credentials; their names are enough.
        let headers: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("AccessRequest")
            .field("method", &self.method)
            .field("path", &redact_access_path(&self.path))
            .field("content", &self.content)
            .field("headers", &headers)
            .field("reply", &self.reply)
            .finish()
    }
}

/// The answer to an [`AccessRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessResponse {
    pub status: u16,
    /// `None` for an empty body.
    pub content_type: Option<&'static str>,
    pub body: String,
}

/// Where the answer of an [`AccessRequest`] goes: taken once, by whoever
/// answers first. Cloning shares the slot.
#[derive(Clone)]
pub struct AccessReplySlot(
    std::sync::Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<AccessResponse>>>>,
);

impl AccessReplySlot {
    /// A slot and the receiver its answer arrives on.
    pub fn new() -> (
        AccessReplySlot,
        tokio::sync::oneshot::Receiver<AccessResponse>,
    ) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let slot = AccessReplySlot(std::sync::Arc::new(std::sync::Mutex::new(Some(tx))));
        (slot, rx)
    }

    /// Sends the answer; false if the slot was answered already or the
    /// client is gone.
    pub fn send(&self, response: AccessResponse) -> bool {
        let sender = match self.0.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        sender.is_some_and(|tx| tx.send(response).is_ok())
    }

    /// Whether an answer was sent already.
    pub fn is_answered(&self) -> bool {
        match self.0.lock() {
            Ok(guard) => guard.is_none(),
            Err(poisoned) => poisoned.into_inner().is_none(),
        }
    }
}

impl std::fmt::Debug for AccessReplySlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_answered() {
            "AccessReplySlot(answered)"
        } else {
            "AccessReplySlot(open)"
        })
    }
}

/// What `Net.httpRequestAsync` resolves with (VoxEngine's `HttpRequestResult`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResult {
    /// The HTTP status, or one of VoxEngine's codes when there is no response:
    /// see [`http_codes`].
    pub code: i32,
    /// Response headers in received order.
    pub headers: Headers,
    /// The body as text (invalid UTF-8 replaced).
    pub text: String,
    /// Why the request failed, when `code` is not an HTTP status.
    pub error: Option<String>,
}

impl HttpResult {
    /// A result with no response: `code` from [`http_codes`].
    pub fn failure(code: i32, error: impl Into<String>) -> HttpResult {
        HttpResult {
            code,
            headers: Vec::new(),
            text: String::new(),
            error: Some(error.into()),
        }
    }
}

/// VoxEngine's `HttpRequestResult.code` values for requests without an HTTP status.
pub mod http_codes {
    /// A session limit was hit (too many concurrent requests).
    pub const LIMIT: i32 = 0;
    pub const UNKNOWN: i32 = -1;
    pub const MALFORMED_URL: i32 = -2;
    pub const HOST_NOT_FOUND: i32 = -3;
    pub const CONNECTION: i32 = -4;
    pub const TOO_MANY_REDIRECTS: i32 = -5;
    pub const NETWORK: i32 = -6;
    pub const TIMEOUT: i32 = -7;
    pub const INTERNAL: i32 = -8;
    /// The response body is larger than [`MAX_BODY`].
    pub const TOO_LARGE: i32 = -9;
    /// Largest response body a script receives, in bytes.
    pub const MAX_BODY: usize = 2 * 1024 * 1024;
}

/// `PlayerEvents` of a standalone player.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayerEvent {
    /// The source is loaded (downloaded, decoded or synthesised) and ready.
    PlaybackReady,
    /// Audio started; `duration` is the source's length (zero when unknown or endless).
    Started { duration: Duration },
    /// The player was stopped (`stop()` or its owner ended).
    Stopped,
    /// The source played to its end (not for looping players), or failed.
    PlaybackFinished { error: Option<String> },
    /// A marker set with `addMarker` was reached; `offset` in ms from the start.
    MarkerReached { offset: i64 },
    /// Loading or playing failed.
    Error { error: String },
}

/// `RecorderEvents` of a standalone recorder.
#[derive(Debug, Clone, PartialEq)]
pub enum RecorderEvent {
    Started { url: String },
    Stopped { url: String, duration: Duration },
    Error { error: String },
}

/// Where a player's audio comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayerSource {
    /// `http(s)://…`, `file://…`, or a path inside the configured media directory.
    Url(String),
    /// Text to speech through the configured TTS engine.
    Tts {
        text: String,
        voice: Option<String>,
        rate: Option<f32>,
        engine: Option<String>,
    },
    /// VoxEngine tone script, e.g. `"440@-10;2(.5/.5/1)"`.
    ToneScript(String),
    /// A country's ringback/progress tone (`"US"`, `"RU"`).
    ProgressTone(String),
    /// `VoxEngine.createSequencePlayer`: URL and TTS segments played one
    /// after another as one clip.
    Sequence(Vec<PlayerSource>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerOp {
    Pause,
    Resume,
    Stop,
    /// Raise `MarkerReached` when playback reaches this offset (ms; negative = from the end).
    AddMarker(i64),
    /// A sequence player's marker `offset_ms` into its segment `segment`
    /// (negative = from that segment's end); `MarkerReached` says `offset_ms`.
    AddSegmentMarker {
        segment: u32,
        offset_ms: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecorderOp {
    Stop,
    Mute(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordFormat {
    #[default]
    Wav,
    Mp3,
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
    /// Call playback (`startPlayback`, `say`, `playProgressTone`) loaded.
    PlaybackReady,
    PlaybackStarted {
        duration: Duration,
    },
    /// Call playback ended by itself (`stopPlayback` raises nothing, as in VoxEngine).
    PlaybackFinished {
        error: Option<String>,
    },
    /// A DTMF digit (`0-9*#A-D`), once per key press, when `handleTones(true)`.
    ToneReceived {
        tone: String,
    },
    RecordStarted {
        url: String,
    },
    RecordStopped {
        url: String,
        duration: Duration,
    },
    RecordError {
        error: String,
    },
    /// The peer put the call on hold (`sendonly`, `inactive` or `c=0.0.0.0`
    /// in a re-INVITE or UPDATE).
    OnHold,
    /// The peer took the call off hold.
    OffHold,
    /// An INFO arrived (DTMF INFO becomes `ToneReceived` instead).
    InfoReceived {
        mime_type: String,
        body: String,
        headers: Headers,
    },
    /// A MESSAGE arrived inside the call.
    MessageReceived {
        text: String,
        headers: Headers,
    },
    /// The peer sent a re-INVITE (or UPDATE) and the scenario listens for
    /// it: it answers with `AcceptReInvite` or `RejectReInvite`.
    ReInviteReceived {
        mime_type: String,
        body: String,
        headers: Headers,
    },
    /// Our `ReInvite` was answered 2xx.
    ReInviteAccepted {
        mime_type: String,
        body: String,
        headers: Headers,
    },
    /// Our `ReInvite` was refused (or timed out).
    ReInviteRejected {
        code: u16,
        headers: Headers,
    },
    /// The peer asked for a blind transfer (REFER) and the scenario handles
    /// them: `transfer_to` is the Refer-To user, `refer_to` the whole URI.
    BlindTransferRequested {
        transfer_to: String,
        refer_to: String,
        headers: Headers,
    },
    /// The transfer this call was asked for (`transferTo`) reached its
    /// target.
    TransferComplete {
        headers: Headers,
    },
    /// The transfer failed: refused, or the target did not answer.
    TransferFailed {
        code: u16,
        reason: String,
        headers: Headers,
    },
    /// The call's media figures, every few seconds while the scenario
    /// listens for them.
    Statistics(CallStatistics),
}

/// What `CallEvent::Statistics` reports, in whole units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallStatistics {
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Never received since the call began (by sequence number).
    pub packets_lost: u64,
    /// Of the packets expected since the last report, the share lost (ppm).
    pub loss_ppm: u32,
    /// Interarrival jitter of what the call receives (µs).
    pub jitter_us: u32,
    /// Round-trip time from RTCP (µs), once the peer has reported.
    pub rtt_us: Option<u32>,
    /// What the peer's RTCP says of the stream it receives from us.
    pub remote_loss_ppm: Option<u32>,
    pub remote_jitter_us: Option<u32>,
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
    /// `VoxEngine.callUser(...)`: `to` is a user name of the session's
    /// application; every binding of the user rings at once and the first
    /// to answer takes the call. Only `callerid`, `display_name` and
    /// `headers` are used.
    CallUser(Box<OutboundCall>),
    /// `VoxEngine.callPSTN(number, ...)`: `to` is a number, dialled through
    /// the session's account's trunks by prefix and priority, the next
    /// trunk taking over on 5xx, 408 or no answer to the INVITE.
    CallPstn(Box<OutboundCall>),
    /// `VoxEngine.callConference(id, ...)`: a call to the conference session
    /// `to` names (started by the account's rules if none runs). Only
    /// `callerid`, `display_name` and `headers` are used.
    CallConference(Box<OutboundCall>),
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
    /// `VoxEngine.createConference()`: a mixer unit (id from the host).
    /// Units hear it with `SendMedia { from: unit, .. }`.
    CreateConference {
        unit: UnitId,
    },
    /// A call or player of the session speaks into the conference (`send`)
    /// or only listens; `forward`: it hears the loudest other speaker
    /// instead of the mix; it does not hear the members in `deaf_to`.
    ConferenceMember {
        conference: UnitId,
        member: UnitId,
        send: bool,
        forward: bool,
        deaf_to: Vec<UnitId>,
    },
    ConferenceRemove {
        conference: UnitId,
        member: UnitId,
    },
    /// `conference.stop()`.
    StopConference {
        unit: UnitId,
    },
    /// A player unit (allocated by the host with `UnitId` from `CallId::next()`).
    /// With `owner`, it is that call's playback: it becomes the call's audio input
    /// once loaded (replacing any earlier playback or input) and its events arrive
    /// as the call's `Playback*` events; otherwise as `SessionEvent::Player`.
    CreatePlayer {
        unit: UnitId,
        source: PlayerSource,
        looped: bool,
        owner: Option<CallId>,
    },
    PlayerControl {
        unit: UnitId,
        op: PlayerOp,
    },
    /// `call.stopPlayback()`: stop the call's current playback (no event follows).
    StopPlayback {
        call: CallId,
    },
    /// `call.handleTones(enable)`.
    HandleTones {
        call: CallId,
        enable: bool,
    },
    /// `call.sendDigits(digits)`: RFC 4733 if negotiated, else SIP INFO; `p` is a pause.
    SendDigits {
        call: CallId,
        digits: String,
    },
    /// `call.hangupOnRtpTimeout(enable)`: whether the engine hangs the call up
    /// when its peer stops sending RTP (on by default).
    RtpTimeoutHangup {
        call: CallId,
        enable: bool,
    },
    /// A recorder unit. With `call`, it records that call (`call.record()`): both
    /// directions, mixed, or stereo with the call's inbound audio left and its
    /// outbound audio right; its events arrive as the call's `Record*` events.
    /// Without, it records whatever is sent to it (`sendMediaTo(recorder)`).
    CreateRecorder {
        unit: UnitId,
        call: Option<CallId>,
        stereo: bool,
        format: RecordFormat,
    },
    RecorderControl {
        unit: UnitId,
        op: RecorderOp,
    },
    /// `call.sendInfo(mimeType, body, headers)`: an in-dialog INFO.
    SendInfo {
        call: CallId,
        mime_type: String,
        body: String,
        headers: Headers,
    },
    /// `call.sendMessage(text)`: an in-dialog MESSAGE (`text/plain`).
    SendMessage {
        call: CallId,
        text: String,
        headers: Headers,
    },
    /// Whether the scenario answers the call's re-INVITEs itself
    /// (`ReInviteReceived` has a listener); otherwise the engine answers.
    HandleReInvites {
        call: CallId,
        enable: bool,
    },
    /// `call.acceptReInvite(headers, mimeType, body)`: answers the pending
    /// re-INVITE 200. An SDP body says which direction to answer with; the
    /// engine answers the peer's offer with its own media.
    AcceptReInvite {
        call: CallId,
        mime_type: String,
        body: String,
        headers: Headers,
    },
    /// `call.rejectReInvite(headers)`: answers the pending re-INVITE 488.
    RejectReInvite {
        call: CallId,
        headers: Headers,
    },
    /// `call.reInvite(headers, mimeType, body)`: our re-INVITE. An SDP body
    /// says which direction to offer (the engine offers its own media).
    ReInvite {
        call: CallId,
        mime_type: String,
        body: String,
        headers: Headers,
    },
    /// `CallEvents.Statistics` has (or no longer has) a listener: the call's
    /// media figures are measured and reported every few seconds.
    CallStatistics {
        call: CallId,
        enable: bool,
    },
    /// `call.handleBlindTransfer(enable)`: REFERs become
    /// `BlindTransferRequested` (202) instead of being declined (603).
    HandleBlindTransfer {
        call: CallId,
        enable: bool,
    },
    /// `notifyBlindTransferSuccess()` (200) / `notifyBlindTransferFailed(code,
    /// reason)`: the final NOTIFY of the peer's transfer.
    NotifyBlindTransfer {
        call: CallId,
        code: u16,
        reason: String,
    },
    /// `call.transferTo(uri)` (Dialtone extension): a REFER asking the peer
    /// to call `target`; `TransferComplete` or `TransferFailed` follows.
    TransferTo {
        call: CallId,
        target: String,
        headers: Headers,
    },
    /// `call.transferTo(otherCall)` (Dialtone extension): an attended
    /// transfer, a REFER asking this call's peer to call `other`'s peer and
    /// take `other`'s place (Replaces); events as for `TransferTo`.
    TransferToCall {
        call: CallId,
        other: CallId,
        headers: Headers,
    },
    /// `call.hold()` / `call.unhold()` (Dialtone extension): a `sendonly`
    /// re-INVITE, or a `sendrecv` one to take the peer off hold.
    Hold {
        call: CallId,
        hold: bool,
    },
    /// `VoxEngine.enqueueACDRequest`: queue a caller for the session's
    /// account's agents; `SessionEvent::Acd` events follow.
    AcdEnqueue(Box<crate::acd::AcdEnqueue>),
    /// `ACDRequest.cancel()`: out of the queue; a call ringing an agent
    /// for it is hung up.
    AcdCancel {
        request: u64,
    },
    /// `ACDRequest.getStatus()`: answered with `AcdEvent::Waiting`.
    AcdStatus {
        request: u64,
    },
    /// `ApplicationStorage`: run `op` on the session's application's store
    /// and answer with `SessionEvent::StorageResult` carrying the same `id`.
    Storage {
        id: u64,
        op: crate::storage::StorageOp,
    },
    /// `Net.httpRequestAsync`: perform the request and answer with
    /// `SessionEvent::HttpResponse` carrying the same `id`.
    HttpRequest {
        id: u64,
        url: String,
        /// Upper-case method token (`GET`, `POST`, …).
        method: String,
        headers: Headers,
        body: Option<Vec<u8>>,
        /// The whole request, connect to last body byte.
        timeout: Duration,
    },
    /// The session has ended (Terminated dispatched, runtime dropped): hang up
    /// whatever calls it still owns (BYE, or 500 to an unanswered INVITE).
    Ended {
        reason: SessionEnd,
    },
}

/// `Debug` shows the password as `***`.
#[derive(Clone)]
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

impl std::fmt::Debug for OutboundCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundCall")
            .field("call", &self.call)
            .field("to", &self.to)
            .field("callerid", &self.callerid)
            .field("display_name", &self.display_name)
            .field("headers", &self.headers)
            .field("auth_user", &self.auth_user)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .finish()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbound_call_debug_hides_the_password() {
        let call = OutboundCall {
            call: CallId::next(),
            to: "sip:bob@127.0.0.1".into(),
            callerid: Some("alice".into()),
            display_name: None,
            headers: Vec::new(),
            auth_user: Some("alice".into()),
            password: Some("Zq8rT4v1-pw".into()),
        };
        let command = SessionCommand::CallSip(Box::new(call.clone()));
        for shown in [
            format!("{call:?}"),
            format!("{call:#?}"),
            format!("{command:?}"),
        ] {
            assert!(!shown.contains("Zq8rT4v1-pw"), "{shown}");
            assert!(shown.contains("***") && shown.contains("alice"), "{shown}");
        }
    }

    #[test]
    fn access_request_debug_hides_the_token_and_header_values() {
        let (reply, _rx) = AccessReplySlot::new();
        let request = AccessRequest {
            method: "POST".into(),
            path: "/access/0190-abc/9f86d081884c7d65/tone".into(),
            content: "{}".into(),
            headers: vec![("authorization".into(), "Bearer Kp2xW9-client".into())],
            reply,
        };
        let event = SessionEvent::Access(request.clone());
        for shown in [format!("{request:?}"), format!("{event:?}")] {
            assert!(!shown.contains("9f86d081884c7d65"), "{shown}");
            assert!(!shown.contains("Kp2xW9-client"), "{shown}");
            assert!(shown.contains("/access/0190-abc/***/tone"), "{shown}");
            assert!(shown.contains("authorization"), "{shown}");
        }
        assert_eq!(redact_access_path("/access/s/t"), "/access/s/***");
        assert_eq!(redact_access_path("/access/s"), "/access/s");
        assert_eq!(redact_access_path("/other/s/t"), "/other/s/t");
    }
}
