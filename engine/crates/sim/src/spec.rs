//! The spec file: what the outside world does during a simulated session and
//! what the scenario is expected to do. The format is described in
//! `docs/testing.md`.

use std::collections::BTreeMap;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::expect::Expectation;

/// A spec file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("not valid spec JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("events[{index}]: {message}")]
    Event { index: usize, message: String },
    #[error("expect[{index}]: {message}")]
    Expect { index: usize, message: String },
    #[error("callees[{uri:?}]: {message}")]
    Callee { uri: String, message: String },
    #[error("http[{url:?}]: {message}")]
    Http { url: String, message: String },
    /// A spec that expects nothing would pass whatever the scenario does.
    #[error("the spec has no expectations: add at least one to \"expect\" (e.g. {{\"terminated\": true}})")]
    NoExpectations,
}

/// A parsed, checked spec.
#[derive(Debug, Clone)]
pub struct Spec {
    pub custom_data: String,
    /// The inbound call that starts the session; `None` starts it with no call.
    pub call: Option<InboundCall>,
    /// Sorted by time.
    pub events: Vec<WorldEvent>,
    pub callees: BTreeMap<String, Callee>,
    /// Registered users of the session's application and the contacts of
    /// their phones (each contact behaves as the callee of that URI).
    pub users: BTreeMap<String, Vec<String>>,
    /// `ApplicationStorage` pairs present when the session starts (30-day
    /// time to live).
    pub storage: BTreeMap<String, String>,
    /// The account's trunks, for `callPSTN`: each dials
    /// `sip:NUMBER@HOST:PORT`, which behaves as the callee of that URI.
    pub trunks: Vec<dialtone_calls::TrunkConfig>,
    /// ACD queues and agents (agents' users are among `users`).
    pub acd: Acd,
    pub playback: Playback,
    /// Answers to `Net` requests, tried in order: exact URLs, then patterns.
    pub http: Vec<(UrlMatch, HttpReply)>,
    pub expect: Vec<Expectation>,
    /// Expectations are matched in order (the default) or anywhere.
    pub ordered: bool,
    /// Virtual time after which the session is told to end.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InboundCall {
    #[serde(default = "default_from")]
    pub from: String,
    #[serde(default = "default_to")]
    pub to: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn default_from() -> String {
    "caller".into()
}

fn default_to() -> String {
    "100".into()
}

/// Something the outside world does at a virtual time.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldEvent {
    pub at: Duration,
    /// `None`: the inbound call; else the URI of a `callSIP` leg.
    pub call: Option<String>,
    pub action: WorldAction,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WorldAction {
    /// Key presses: RFC 4733 in the call's media (heard only while the call
    /// detects tones), or one SIP INFO per digit when `info`.
    Dtmf { digits: String, info: bool },
    /// The far end hangs up.
    Hangup,
    /// The engine ends the session (`SessionEvent::Terminate`).
    Terminate(String),
    /// An HTTP request to the session's `accessURL`.
    Request(Request),
    /// A re-INVITE from the far end with this SDP direction (`sendonly`,
    /// `recvonly`, `inactive`, `sendrecv`).
    ReInvite(String),
    /// An INFO from the far end.
    Info { content_type: String, body: String },
    /// A MESSAGE (`text/plain`) from the far end.
    Message(String),
    /// A REFER from the far end: a blind transfer to this URI.
    Refer(String),
    /// The far end stops sending RTP (the media engine reports `RtpStopped`
    /// as after its RTP timeout), or starts again.
    Rtp { flowing: bool },
}

/// An HTTP request to the session's `accessURL` (`AppEvents.HttpRequest`).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    /// Appended to the access path (`/access/<session>/<token>`).
    pub path: String,
    pub content: String,
    pub headers: Vec<(String, String)>,
}

/// How the far end of a `callSIP` behaves; times count from the `callSIP`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Callee {
    pub ring: Option<Duration>,
    pub answer: Option<Duration>,
    pub fail: Option<(u16, Duration)>,
    /// Hangs up this long after answering.
    pub hangup_after: Option<Duration>,
}

impl Callee {
    /// A callee the spec does not mention answers after one second.
    pub fn unlisted() -> Callee {
        Callee {
            answer: Some(Duration::from_secs(1)),
            ..Callee::default()
        }
    }
}

/// Which request URLs an `http` entry answers.
#[derive(Debug, Clone)]
pub enum UrlMatch {
    Exact(String),
    /// Written `/like this/`.
    Pattern(Regex),
}

impl UrlMatch {
    pub fn matches(&self, url: &str) -> bool {
        match self {
            UrlMatch::Exact(want) => want == url,
            UrlMatch::Pattern(re) => re.is_match(url),
        }
    }
}

/// How the simulated web answers a `Net` request.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpReply {
    /// HTTP status or one of VoxEngine's negative codes.
    pub code: i32,
    pub text: String,
    pub headers: Vec<(String, String)>,
    /// Virtual time between the request and its answer.
    pub delay: Duration,
}

/// A SIP URI as it goes on the wire (`bob@host` → `sip:bob@host`), so the
/// spec can name a callee the way the scenario dialled it.
pub fn normalize_uri(uri: &str) -> String {
    dialtone_calls::target::parse_target(uri)
        .map(|t| t.uri)
        .unwrap_or_else(|_| uri.to_string())
}

impl Spec {
    /// The callee a `callSIP` INVITE for `request_uri` reaches: the spec's
    /// name for it and how it behaves (an unlisted callee answers after 1 s).
    pub fn callee_for(&self, request_uri: &str) -> (String, Callee) {
        let want = normalize_uri(request_uri);
        self.callees
            .iter()
            .find(|(uri, _)| normalize_uri(uri) == want)
            .map(|(uri, callee)| (normalize_uri(uri), callee.clone()))
            .unwrap_or_else(|| (want, Callee::unlisted()))
    }

    /// The answer to a request for `url`; `None` if the spec has none.
    pub fn http_reply(&self, url: &str) -> Option<&HttpReply> {
        self.http
            .iter()
            .find(|(m, _)| matches!(m, UrlMatch::Exact(_)) && m.matches(url))
            .or_else(|| self.http.iter().find(|(m, _)| m.matches(url)))
            .map(|(_, reply)| reply)
    }
}

/// How long each playback lasts before `PlaybackFinished`.
#[derive(Debug, Clone, PartialEq)]
pub struct Playback {
    pub default: Duration,
    /// By URL, TTS text, tone script or progress-tone country.
    pub by_source: BTreeMap<String, Duration>,
}

impl Default for Playback {
    fn default() -> Self {
        Playback {
            default: Duration::from_secs(1),
            by_source: BTreeMap::new(),
        }
    }
}

impl Playback {
    pub fn duration_of(&self, source: &str) -> Duration {
        self.by_source.get(source).copied().unwrap_or(self.default)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpec {
    #[serde(default)]
    custom_data: String,
    #[serde(default)]
    call: Option<InboundCall>,
    #[serde(default)]
    events: Vec<RawEvent>,
    #[serde(default)]
    callees: BTreeMap<String, RawCallee>,
    #[serde(default)]
    users: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    storage: BTreeMap<String, String>,
    #[serde(default)]
    trunks: Vec<RawTrunk>,
    #[serde(default)]
    acd: RawAcd,
    #[serde(default)]
    playback: BTreeMap<String, u64>,
    #[serde(default)]
    http: BTreeMap<String, RawHttp>,
    #[serde(default)]
    expect: Vec<Value>,
    #[serde(default = "default_ordered")]
    ordered: bool,
    #[serde(default = "default_timeout")]
    timeout: u64,
}

/// The contact centre of a spec: queues and agents by name.
#[derive(Debug, Clone, Default)]
pub struct Acd {
    pub queues: Vec<dialtone_calls::QueueConfig>,
    pub agents: Vec<dialtone_calls::AgentConfig>,
    /// Agents logged in and ready when the session starts.
    pub ready: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAcd {
    #[serde(default)]
    queues: BTreeMap<String, RawQueue>,
    #[serde(default)]
    agents: BTreeMap<String, RawAgent>,
}

/// `{"skills"?, "maxWaiting"?, "ringTimeout"? (ms), "afterCallWork"? (ms),
/// "serviceLevel"? (ms)}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawQueue {
    #[serde(default)]
    skills: BTreeMap<String, u8>,
    #[serde(default = "default_max_waiting")]
    max_waiting: u32,
    #[serde(default = "default_ring_timeout")]
    ring_timeout: u64,
    #[serde(default)]
    after_call_work: u64,
    #[serde(default = "default_service_level")]
    service_level: u64,
}

fn default_max_waiting() -> u32 {
    100
}
fn default_ring_timeout() -> u64 {
    20_000
}
fn default_service_level() -> u64 {
    20_000
}

/// `{"user", "skills"?, "queues", "ready"? (default true)}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    user: String,
    #[serde(default)]
    skills: BTreeMap<String, u8>,
    queues: Vec<String>,
    #[serde(default = "default_ready")]
    ready: bool,
}

fn default_ready() -> bool {
    true
}

impl RawAcd {
    fn into_acd(self) -> Acd {
        let queues = self
            .queues
            .into_iter()
            .map(|(name, q)| dialtone_calls::QueueConfig {
                account: String::new(),
                name,
                skills: q.skills,
                max_waiting: q.max_waiting,
                ring_timeout: Duration::from_millis(q.ring_timeout),
                after_call_work: Duration::from_millis(q.after_call_work),
                service_level: Duration::from_millis(q.service_level),
            })
            .collect();
        let ready = self
            .agents
            .iter()
            .filter(|(_, a)| a.ready)
            .map(|(id, _)| id.clone())
            .collect();
        let agents = self
            .agents
            .into_iter()
            .map(|(id, a)| dialtone_calls::AgentConfig {
                account: String::new(),
                name: id.clone(),
                id,
                application: String::new(),
                user: a.user,
                supervisor: false,
                skills: a.skills,
                queues: a.queues,
            })
            .collect();
        Acd {
            queues,
            agents,
            ready,
        }
    }
}

/// A trunk in a spec: `{"name", "host", "port"?, "prefixes"?, "priority"?,
/// "strip"?, "addPrefix"?, "callerId"?}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTrunk {
    name: String,
    host: String,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    priority: i64,
    #[serde(default)]
    strip: usize,
    #[serde(default)]
    add_prefix: String,
    #[serde(default)]
    caller_id: Option<String>,
}

impl RawTrunk {
    fn into_config(self) -> dialtone_calls::TrunkConfig {
        dialtone_calls::TrunkConfig {
            name: self.name,
            host: self.host,
            port: self.port.unwrap_or(5060),
            tcp: false,
            auth: None,
            prefixes: self.prefixes,
            priority: self.priority,
            strip: self.strip,
            add_prefix: self.add_prefix,
            caller_id: self.caller_id,
        }
    }
}

fn default_ordered() -> bool {
    true
}

fn default_timeout() -> u64 {
    120_000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    at: u64,
    #[serde(default)]
    call: Option<String>,
    #[serde(default)]
    dtmf: Option<String>,
    #[serde(default)]
    hangup: Option<bool>,
    #[serde(default)]
    terminate: Option<String>,
    #[serde(default)]
    request: Option<RawRequest>,
    /// `"rtp"` (default) or `"info"`: how `dtmf` is sent.
    #[serde(default)]
    via: Option<String>,
    #[serde(default)]
    reinvite: Option<String>,
    /// `"stop"` or `"resume"`.
    #[serde(default)]
    rtp: Option<String>,
    #[serde(default)]
    info: Option<RawInfo>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    refer: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawInfo {
    content_type: String,
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    #[serde(default = "default_method")]
    method: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

fn default_method() -> String {
    "GET".into()
}

impl RawRequest {
    fn check(self) -> Result<Request, String> {
        let method = self.method.to_ascii_uppercase();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!(
                "\"method\": {:?} is not an HTTP method",
                self.method
            ));
        }
        if self
            .path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "\"path\": {:?} has spaces or control characters",
                self.path
            ));
        }
        let content = match self.content {
            None => String::new(),
            Some(Value::String(text)) => text,
            Some(json @ (Value::Object(_) | Value::Array(_))) => json.to_string(),
            Some(_) => return Err("\"content\" takes a string, an object or an array".into()),
        };
        Ok(Request {
            method,
            path: self.path,
            content,
            headers: self.headers.into_iter().collect(),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawCallee {
    #[serde(default)]
    ring: Option<u64>,
    #[serde(default)]
    answer: Option<u64>,
    #[serde(default)]
    fail: Option<u16>,
    #[serde(default)]
    fail_after: Option<u64>,
    #[serde(default)]
    hangup_after: Option<u64>,
    /// Nothing answers: not even 100 Trying.
    #[serde(default)]
    unreachable: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(default = "default_http_code")]
    code: i32,
    #[serde(default)]
    text: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    delay: u64,
}

fn default_http_code() -> i32 {
    200
}

fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

impl Spec {
    pub fn from_json(text: &str) -> Result<Spec, SpecError> {
        let raw: RawSpec = serde_json::from_str(text)?;
        let mut events = Vec::with_capacity(raw.events.len());
        for (index, event) in raw.events.into_iter().enumerate() {
            let mut actions = Vec::new();
            let info = match event.via.as_deref() {
                None | Some("rtp") => false,
                Some("info") => true,
                Some(other) => {
                    let message = format!("\"via\" takes \"rtp\" or \"info\", not {other:?}");
                    return Err(SpecError::Event { index, message });
                }
            };
            if let Some(digits) = event.dtmf {
                actions.push(WorldAction::Dtmf { digits, info });
            } else if event.via.is_some() {
                let message = "\"via\" goes with \"dtmf\"".to_string();
                return Err(SpecError::Event { index, message });
            }
            if let Some(direction) = event.reinvite {
                if !matches!(
                    direction.as_str(),
                    "sendrecv" | "sendonly" | "recvonly" | "inactive"
                ) {
                    let message = format!(
                        "\"reinvite\" takes sendrecv, sendonly, recvonly or inactive, not {direction:?}"
                    );
                    return Err(SpecError::Event { index, message });
                }
                actions.push(WorldAction::ReInvite(direction));
            }
            match event.rtp.as_deref() {
                None => {}
                Some("stop") => actions.push(WorldAction::Rtp { flowing: false }),
                Some("resume") => actions.push(WorldAction::Rtp { flowing: true }),
                Some(other) => {
                    let message = format!("\"rtp\" takes \"stop\" or \"resume\", not {other:?}");
                    return Err(SpecError::Event { index, message });
                }
            }
            if let Some(info) = event.info {
                actions.push(WorldAction::Info {
                    content_type: info.content_type,
                    body: info.body,
                });
            }
            if let Some(text) = event.message {
                actions.push(WorldAction::Message(text));
            }
            if let Some(uri) = event.refer {
                actions.push(WorldAction::Refer(uri));
            }
            if event.hangup == Some(true) {
                actions.push(WorldAction::Hangup);
            }
            if let Some(reason) = event.terminate {
                actions.push(WorldAction::Terminate(reason));
            }
            if let Some(request) = event.request {
                if event.call.is_some() {
                    let message = "\"request\" goes to the session: it takes no \"call\"";
                    return Err(SpecError::Event {
                        index,
                        message: message.into(),
                    });
                }
                let request = request
                    .check()
                    .map_err(|message| SpecError::Event { index, message })?;
                actions.push(WorldAction::Request(request));
            }
            if actions.len() != 1 {
                let message = "needs exactly one of \"dtmf\", \"hangup\": true, \"terminate\", \"request\", \"reinvite\", \"info\", \"message\", \"refer\", \"rtp\"";
                return Err(SpecError::Event {
                    index,
                    message: message.into(),
                });
            }
            events.extend(actions.into_iter().map(|action| WorldEvent {
                at: ms(event.at),
                call: event.call.clone(),
                action,
            }));
        }
        // Stable: events at the same time keep the file's order.
        events.sort_by_key(|e| e.at);
        let mut callees = BTreeMap::new();
        for (uri, raw) in raw.callees {
            if raw.fail.is_some() && raw.answer.is_some() {
                return Err(SpecError::Callee {
                    uri,
                    message: "\"answer\" and \"fail\" exclude each other".into(),
                });
            }
            let behaves = raw.fail.is_some() || raw.answer.is_some() || raw.ring.is_some();
            if raw.unreachable && (behaves || raw.hangup_after.is_some()) {
                return Err(SpecError::Callee {
                    uri,
                    message: "\"unreachable\" takes no other key".into(),
                });
            }
            if !behaves && !raw.unreachable {
                return Err(SpecError::Callee {
                    uri,
                    message: "needs \"ring\", \"answer\", \"fail\" or \"unreachable\": true".into(),
                });
            }
            let fail_at = raw.fail_after.or(raw.ring).unwrap_or(0);
            let callee = Callee {
                ring: raw.ring.map(ms),
                answer: raw.answer.map(ms),
                fail: raw.fail.map(|code| (code, ms(fail_at))),
                hangup_after: raw.hangup_after.map(ms),
            };
            callees.insert(uri, callee);
        }
        let mut playback = Playback::default();
        for (source, length) in raw.playback {
            if source == "default_ms" {
                playback.default = ms(length);
            } else {
                playback.by_source.insert(source, ms(length));
            }
        }
        let mut http = Vec::with_capacity(raw.http.len());
        for (url, reply) in raw.http {
            let matcher = match url.strip_prefix('/').and_then(|r| r.strip_suffix('/')) {
                Some(pattern) if !pattern.is_empty() => match Regex::new(pattern) {
                    Ok(re) => UrlMatch::Pattern(re),
                    Err(e) => {
                        let message = format!("bad regular expression: {e}");
                        return Err(SpecError::Http { url, message });
                    }
                },
                _ => UrlMatch::Exact(url),
            };
            let reply = HttpReply {
                code: reply.code,
                text: reply.text,
                headers: reply.headers.into_iter().collect(),
                delay: ms(reply.delay),
            };
            http.push((matcher, reply));
        }
        if raw.expect.is_empty() {
            return Err(SpecError::NoExpectations);
        }
        let mut expect = Vec::with_capacity(raw.expect.len());
        for (index, value) in raw.expect.iter().enumerate() {
            let parsed = Expectation::parse(value)
                .map_err(|message| SpecError::Expect { index, message })?;
            expect.push(parsed);
        }
        Ok(Spec {
            custom_data: raw.custom_data,
            call: raw.call,
            events,
            callees,
            users: raw.users,
            storage: raw.storage,
            trunks: raw.trunks.into_iter().map(RawTrunk::into_config).collect(),
            acd: raw.acd.into_acd(),
            playback,
            http,
            expect,
            ordered: raw.ordered,
            timeout: ms(raw.timeout),
        })
    }
}
