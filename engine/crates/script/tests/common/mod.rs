//! A fake engine for driving sessions: it starts a `ScriptHost`, feeds
//! sessions events and reads back the commands they send. The session log
//! (`tracing` events of target `dialtone::session`) is captured too; a log
//! line is always recorded before any command the same session sends after
//! it, so reading the capture after receiving a command needs no waiting.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use dialtone_core::messages::{
    CallEvent, EventSender, IncomingCall, SessionCommand, SessionEnd, SessionEvent,
};
use dialtone_core::{CallId, SessionId};
use dialtone_script::{Scenario, ScriptConfig, ScriptHost, SessionSpec};
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// How long a test waits for a command before failing.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn config() -> ScriptConfig {
    ScriptConfig {
        workers: 2,
        memory_limit: 16 * 1024 * 1024,
        cpu_budget: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(60),
        voices: Default::default(),
    }
}

pub struct FakeEngine {
    pub host: ScriptHost,
    commands: mpsc::UnboundedReceiver<(SessionId, SessionCommand)>,
    buffered: HashMap<SessionId, VecDeque<SessionCommand>>,
}

pub struct TestSession {
    pub id: SessionId,
    pub events: EventSender,
}

impl TestSession {
    pub fn send(&self, event: SessionEvent) {
        self.events
            .send(event)
            .expect("session event channel closed");
    }

    pub fn call_event(&self, call: CallId, event: CallEvent) {
        self.send(SessionEvent::Call { call, event });
    }
}

impl FakeEngine {
    pub fn start(cfg: ScriptConfig) -> FakeEngine {
        init_log_capture();
        let (tx, commands) = mpsc::unbounded_channel();
        let host = ScriptHost::start(cfg, tx).expect("script host starts");
        FakeEngine {
            host,
            commands,
            buffered: HashMap::new(),
        }
    }

    pub fn spawn(
        &self,
        name: &str,
        source: &str,
        custom_data: &str,
        first: Option<SessionEvent>,
    ) -> TestSession {
        let scenario = Arc::new(Scenario {
            name: name.to_string(),
            source: source.to_string(),
        });
        self.spawn_scenario(scenario, custom_data, first)
    }

    pub fn spawn_scenario(
        &self,
        scenario: Arc<Scenario>,
        custom_data: &str,
        first: Option<SessionEvent>,
    ) -> TestSession {
        let id = SessionId::new();
        let events = self.host.spawn_session(SessionSpec {
            id,
            scenario,
            custom_data: custom_data.to_string(),
            first_event: first,
            access_url: format!("http://127.0.0.1:8080/access/{id}/secret"),
        });
        TestSession { id, events }
    }

    /// The next command of session `id`, leaving out `HandleReInvites`
    /// (bookkeeping that `easyProcess` and re-INVITE listeners send; see
    /// [`FakeEngine::next_raw`]).
    pub async fn next(&mut self, id: SessionId) -> SessionCommand {
        loop {
            match self.next_raw(id).await {
                SessionCommand::HandleReInvites { .. } => continue,
                command => return command,
            }
        }
    }

    /// The next command of session `id`, whatever it is.
    pub async fn next_raw(&mut self, id: SessionId) -> SessionCommand {
        if let Some(command) = self.buffered.get_mut(&id).and_then(|q| q.pop_front()) {
            return command;
        }
        loop {
            let received = tokio::time::timeout(WAIT, self.commands.recv())
                .await
                .unwrap_or_else(|_| panic!("no command from session {id} within {WAIT:?}"))
                .expect("command channel closed");
            if received.0 == id {
                return received.1;
            }
            self.buffered
                .entry(received.0)
                .or_default()
                .push_back(received.1);
        }
    }

    /// Commands of session `id` up to its `Ended`, and how it ended.
    pub async fn until_ended(&mut self, id: SessionId) -> (Vec<SessionCommand>, SessionEnd) {
        let mut commands = Vec::new();
        loop {
            match self.next(id).await {
                SessionCommand::Ended { reason } => return (commands, reason),
                other => commands.push(other),
            }
        }
    }

    /// The `Ended` reason, failing if anything else comes first.
    pub async fn ended(&mut self, id: SessionId) -> SessionEnd {
        let (commands, reason) = self.until_ended(id).await;
        assert!(
            commands.is_empty(),
            "unexpected commands before Ended: {commands:?}"
        );
        reason
    }
}

impl Drop for FakeEngine {
    fn drop(&mut self) {
        self.host.shutdown();
    }
}

pub fn incoming(call: CallId) -> IncomingCall {
    IncomingCall {
        call,
        callerid: "alice".into(),
        destination: "100".into(),
        display_name: "Alice".into(),
        from_uri: "sip:alice@example.com".into(),
        to_uri: "sip:100@dialtone.test".into(),
        headers: vec![("X-Trace".into(), "abc".into())],
    }
}

pub fn alerting(call: CallId) -> SessionEvent {
    SessionEvent::CallAlerting(incoming(call))
}

pub fn connected() -> CallEvent {
    CallEvent::Connected { headers: vec![] }
}

pub fn disconnected(code: u16) -> CallEvent {
    CallEvent::Disconnected {
        code,
        reason: "Normal".into(),
        duration: Duration::from_secs(3),
        headers: vec![],
    }
}

pub fn failed(code: u16, reason: &str) -> CallEvent {
    CallEvent::Failed {
        code,
        reason: reason.into(),
        headers: vec![],
    }
}

pub fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One captured session-log line.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub session: String,
    pub kind: String,
    pub level: tracing::Level,
    pub message: String,
}

fn captured() -> &'static Mutex<Vec<LogLine>> {
    static LINES: OnceLock<Mutex<Vec<LogLine>>> = OnceLock::new();
    LINES.get_or_init(|| Mutex::new(Vec::new()))
}

/// Session-log lines of one session, in order.
pub fn log_of(id: SessionId) -> Vec<LogLine> {
    let id = id.to_string();
    captured()
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.session == id)
        .cloned()
        .collect()
}

/// Messages of one kind (`log`, `event`, `error`) of one session.
pub fn messages(id: SessionId, kind: &str) -> Vec<String> {
    log_of(id)
        .into_iter()
        .filter(|l| l.kind == kind)
        .map(|l| l.message)
        .collect()
}

fn init_log_capture() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(Capture);
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

struct Capture;

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != "dialtone::session" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        captured().lock().unwrap().push(LogLine {
            session: fields.session,
            kind: fields.kind,
            level: *event.metadata().level(),
            message: fields.message,
        });
    }
}

#[derive(Default)]
struct Fields {
    session: String,
    kind: String,
    message: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "kind" => self.kind = value.to_string(),
            "session" => self.session = value.to_string(),
            "message" => self.message = value.to_string(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "message" => self.message = text,
            "session" => self.session = text,
            "kind" => self.kind = text.trim_matches('"').to_string(),
            _ => {}
        }
    }
}
