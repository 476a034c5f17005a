//! What the call layer tells history: sessions, calls, recordings and
//! session log lines.
//!
//! Every [`HistorySink`] method is called from the signalling task (or, for
//! log lines, from whatever thread logged) and must never block on I/O:
//! `dialtone run` uses [`NoHistory`]; `dialtone serve` uses [`StoreSink`],
//! which keeps the live records in memory and hands each change to the
//! store's batching [`HistoryWriter`] with a non-blocking send.

use crate::logging::SESSION_TARGET;
use crate::routing::RouteOwner;
use dialtone_core::{CallId, SessionId};
use dialtone_store::{now_ms, CallRecord, HistoryWriter, SessionRecord};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

pub use dialtone_calls::Direction;

/// How a direction is stored and filtered on.
fn direction_str(direction: Direction) -> &'static str {
    match direction {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    }
}

/// Session statuses as stored and filtered on (`interrupted`: closed at
/// start after a crash, see `Store::close_interrupted`).
pub use dialtone_store::{
    SESSION_STATUSES, STATUS_ENDED, STATUS_FAILED, STATUS_INTERRUPTED, STATUS_RUNNING,
};

/// Receives the history of sessions and calls. Implementations must return
/// quickly: they run on the call path.
pub trait HistorySink: Send + Sync {
    fn session_started(&self, session: SessionId, owner: &RouteOwner);
    fn call_started(
        &self,
        session: SessionId,
        call: CallId,
        direction: Direction,
        from: &str,
        to: &str,
    );
    fn call_answered(&self, call: CallId);
    /// The first report for a call wins; later ones are ignored.
    fn call_ended(&self, call: CallId, code: Option<u16>, reason: Option<&str>);
    /// `file` is the recording's file name in the recordings directory; a
    /// recording of no call is filed under the session's first call.
    fn recording(&self, session: SessionId, call: Option<CallId>, file: &str);
    /// `error` is the script error that ended the session, if any.
    fn session_ended(&self, session: SessionId, error: Option<&str>);
    fn log_line(&self, session: &str, text: &str);
    /// True while history cannot keep up with `account` (or, for `None`,
    /// at all): its new sessions are refused (503) rather than have their
    /// records dropped. Accounts that do not hold the backlog go on.
    fn congested(&self, _account: Option<&str>) -> bool {
        false
    }
}

/// `dialtone run`: nothing is kept.
pub struct NoHistory;

impl HistorySink for NoHistory {
    fn session_started(&self, _: SessionId, _: &RouteOwner) {}
    fn call_started(&self, _: SessionId, _: CallId, _: Direction, _: &str, _: &str) {}
    fn call_answered(&self, _: CallId) {}
    fn call_ended(&self, _: CallId, _: Option<u16>, _: Option<&str>) {}
    fn recording(&self, _: SessionId, _: Option<CallId>, _: &str) {}
    fn session_ended(&self, _: SessionId, _: Option<&str>) {}
    fn log_line(&self, _: &str, _: &str) {}
}

struct LiveSession {
    record: SessionRecord,
    calls: Vec<CallId>,
    ended: bool,
}

/// A live session's history so far: what `GET /v1/sessions/{id}` shows.
#[derive(Debug, Clone)]
pub struct LiveHistory {
    pub session: SessionRecord,
    pub calls: Vec<CallRecord>,
    /// The most recent log lines, oldest first (at most [`LIVE_LOG_LINES`]).
    pub log: Vec<String>,
}

/// Log lines kept in memory per live session.
pub const LIVE_LOG_LINES: usize = 1000;

struct LiveCall {
    record: CallRecord,
    session: SessionId,
    ended: bool,
}

#[derive(Default)]
struct State {
    sessions: HashMap<SessionId, LiveSession>,
    calls: HashMap<CallId, LiveCall>,
    /// Session id text -> account, for log lines. Ended sessions stay for a
    /// while because their last lines may be logged after the end arrives.
    log_owner: HashMap<String, String>,
    retired: VecDeque<String>,
    /// Recent log lines of running sessions, by session id text.
    live_logs: HashMap<String, VecDeque<String>>,
}

/// How many ended sessions keep accepting late log lines.
const RETIRED_LOG_OWNERS: usize = 4096;

/// `dialtone serve`: feeds the store's history writer.
pub struct StoreSink {
    writer: HistoryWriter,
    state: Mutex<State>,
    dropped: AtomicU64,
}

impl StoreSink {
    pub fn new(writer: HistoryWriter) -> StoreSink {
        StoreSink {
            writer,
            state: Mutex::new(State::default()),
            dropped: AtomicU64::new(0),
        }
    }

    /// A running session's record, calls and recent log lines.
    pub fn live(&self, session: SessionId) -> Option<LiveHistory> {
        let state = self.state.lock();
        let live = state.sessions.get(&session)?;
        let calls = live
            .calls
            .iter()
            .filter_map(|c| state.calls.get(c))
            .map(|c| c.record.clone())
            .collect();
        let log = state
            .live_logs
            .get(&live.record.id)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default();
        Some(LiveHistory {
            session: live.record.clone(),
            calls,
            log,
        })
    }

    /// Records dropped because the writer was behind or gone.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn count<E: fmt::Display>(&self, result: Result<(), E>) {
        if let Err(e) = result {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // Logged sparingly: an overloaded writer would otherwise flood.
            if n.is_power_of_two() {
                tracing::warn!(error = %e, dropped = n, "history record dropped");
            }
        }
    }

    fn send_call(&self, record: CallRecord) {
        self.count(self.writer.record_call(record));
    }

    /// Forget a session once it and all its calls have ended.
    fn maybe_forget(state: &mut State, session: SessionId) {
        let done = state.sessions.get(&session).is_some_and(|s| {
            s.ended
                && s.calls
                    .iter()
                    .all(|c| state.calls.get(c).is_none_or(|c| c.ended))
        });
        if !done {
            return;
        }
        if let Some(s) = state.sessions.remove(&session) {
            for c in s.calls {
                state.calls.remove(&c);
            }
        }
    }
}

impl HistorySink for StoreSink {
    fn congested(&self, account: Option<&str>) -> bool {
        self.writer.congested_for(account)
    }

    fn session_started(&self, session: SessionId, owner: &RouteOwner) {
        let record = SessionRecord {
            id: session.to_string(),
            account: owner.account.clone(),
            application: Some(owner.application.clone()),
            rule: owner.rule.clone(),
            started_at: now_ms(),
            ended_at: None,
            status: STATUS_RUNNING.to_owned(),
            error: None,
        };
        {
            let mut state = self.state.lock();
            state
                .log_owner
                .insert(record.id.clone(), owner.account.clone());
            state.live_logs.insert(record.id.clone(), VecDeque::new());
            state.sessions.insert(
                session,
                LiveSession {
                    record: record.clone(),
                    calls: Vec::new(),
                    ended: false,
                },
            );
        }
        self.count(self.writer.record_session(record));
    }

    fn call_started(
        &self,
        session: SessionId,
        call: CallId,
        direction: Direction,
        from: &str,
        to: &str,
    ) {
        let mut state = self.state.lock();
        let Some(live) = state.sessions.get_mut(&session) else {
            return;
        };
        live.calls.push(call);
        // Call ids restart with the process; with the session id they are
        // unique in the database.
        let record = CallRecord {
            id: format!("{session}-{call}"),
            account: live.record.account.clone(),
            session: session.to_string(),
            direction: direction_str(direction).to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            started_at: now_ms(),
            answered_at: None,
            ended_at: None,
            duration_ms: None,
            disconnect_code: None,
            disconnect_reason: None,
            recordings: Vec::new(),
        };
        state.calls.insert(
            call,
            LiveCall {
                record: record.clone(),
                session,
                ended: false,
            },
        );
        drop(state);
        self.send_call(record);
    }

    fn call_answered(&self, call: CallId) {
        let mut state = self.state.lock();
        let Some(live) = state.calls.get_mut(&call) else {
            return;
        };
        if live.record.answered_at.is_some() {
            return;
        }
        live.record.answered_at = Some(now_ms());
        let record = live.record.clone();
        drop(state);
        self.send_call(record);
    }

    fn call_ended(&self, call: CallId, code: Option<u16>, reason: Option<&str>) {
        let mut state = self.state.lock();
        let Some(live) = state.calls.get_mut(&call) else {
            return;
        };
        if live.ended {
            return;
        }
        live.ended = true;
        let now = now_ms();
        let r = &mut live.record;
        r.ended_at = Some(now);
        r.duration_ms = Some(r.answered_at.map_or(0, |a| (now - a).max(0)));
        r.disconnect_code = code.map(i64::from);
        r.disconnect_reason = reason.map(str::to_owned);
        let record = r.clone();
        let session = live.session;
        Self::maybe_forget(&mut state, session);
        drop(state);
        self.send_call(record);
    }

    fn recording(&self, session: SessionId, call: Option<CallId>, file: &str) {
        let mut state = self.state.lock();
        let target = match call {
            Some(c) => Some(c),
            None => state
                .sessions
                .get(&session)
                .and_then(|s| s.calls.first().copied()),
        };
        let Some(live) = target.and_then(|c| state.calls.get_mut(&c)) else {
            return;
        };
        if live.session != session {
            return;
        }
        live.record.recordings.push(file.to_owned());
        let record = live.record.clone();
        drop(state);
        self.send_call(record);
    }

    fn session_ended(&self, session: SessionId, error: Option<&str>) {
        let mut state = self.state.lock();
        let Some(live) = state.sessions.get_mut(&session) else {
            return;
        };
        if live.ended {
            return;
        }
        live.ended = true;
        live.record.ended_at = Some(now_ms());
        live.record.status = match error {
            Some(_) => STATUS_FAILED,
            None => STATUS_ENDED,
        }
        .to_owned();
        live.record.error = error.map(str::to_owned);
        let record = live.record.clone();
        state.live_logs.remove(&record.id);
        state.retired.push_back(record.id.clone());
        while state.retired.len() > RETIRED_LOG_OWNERS {
            if let Some(old) = state.retired.pop_front() {
                state.log_owner.remove(&old);
            }
        }
        Self::maybe_forget(&mut state, session);
        drop(state);
        self.count(self.writer.record_session(record));
    }

    fn log_line(&self, session: &str, text: &str) {
        let account = {
            let mut state = self.state.lock();
            let account = match state.log_owner.get(session) {
                Some(a) => a.clone(),
                None => return,
            };
            // Only running sessions keep lines in memory: an ended one's
            // are in the store.
            if let Some(lines) = state.live_logs.get_mut(session) {
                if lines.len() >= LIVE_LOG_LINES {
                    lines.pop_front();
                }
                lines.push_back(text.to_owned());
            }
            account
        };
        self.count(
            self.writer
                .append_log(&account, session, vec![text.to_owned()]),
        );
    }
}

/// Where a [`SessionLogLayer`] sends lines. Set once, after the layer is
/// installed: logging starts before the store (and so the sink) exists.
pub type SessionLogTarget = Arc<OnceLock<Arc<dyn HistorySink>>>;

/// A tracing layer forwarding session lines (`Logger.write`, events, script
/// errors) to a sink as `kind: message`. Lines before the sink is set are
/// not kept.
pub struct SessionLogLayer {
    sink: SessionLogTarget,
}

impl SessionLogLayer {
    pub fn new() -> (SessionLogLayer, SessionLogTarget) {
        let sink = SessionLogTarget::default();
        (SessionLogLayer { sink: sink.clone() }, sink)
    }
}

#[derive(Default)]
struct LineFields {
    session: String,
    kind: String,
    message: String,
}

impl Visit for LineFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "session" => self.session = value.to_owned(),
            "kind" => self.kind = value.to_owned(),
            "message" => self.message = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "session" => self.session = format!("{value:?}"),
            "kind" => self.kind = format!("{value:?}").trim_matches('"').to_owned(),
            "message" => self.message = format!("{value:?}"),
            _ => {}
        }
    }
}

impl<S: Subscriber> Layer<S> for SessionLogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != SESSION_TARGET {
            return;
        }
        let Some(sink) = self.sink.get() else {
            return;
        };
        let mut f = LineFields::default();
        event.record(&mut f);
        if f.session.is_empty() {
            return;
        }
        let line = if f.kind.is_empty() {
            f.message
        } else {
            format!("{}: {}", f.kind, f.message)
        };
        sink.log_line(&f.session, &line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialtone_store::{HistoryConfig, HistoryFilter, Page, Store};

    fn owner() -> RouteOwner {
        RouteOwner {
            account: "acc".into(),
            application: "app".into(),
            rule: Some("r1".into()),
        }
    }

    #[tokio::test]
    async fn store_sink_records_a_session_with_its_call_and_log() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let (writer, _task) = HistoryWriter::spawn(store.clone(), HistoryConfig::default());
        let sink = Arc::new(StoreSink::new(writer.clone()));
        let session = SessionId::new();
        let call = CallId::next();
        sink.session_started(session, &owner());
        sink.call_started(session, call, Direction::Inbound, "alice", "100");
        sink.call_answered(call);
        sink.log_line(&session.to_string(), "log: hello");
        sink.log_line("someone-else", "not kept");
        sink.recording(session, None, "x.wav");
        sink.call_ended(call, Some(200), Some("OK"));
        sink.call_ended(call, Some(487), None);
        sink.session_ended(session, Some("boom"));
        sink.log_line(&session.to_string(), "event: late");
        writer.flush().await.unwrap();

        let page = store
            .query_history("acc", &HistoryFilter::default(), &Page::default())
            .await
            .unwrap();
        assert_eq!(page.entries.len(), 1);
        let entry = &page.entries[0];
        assert_eq!(entry.session.status, STATUS_FAILED);
        assert_eq!(entry.session.error.as_deref(), Some("boom"));
        assert_eq!(entry.session.application.as_deref(), Some("app"));
        assert_eq!(entry.calls.len(), 1);
        let c = &entry.calls[0];
        assert_eq!((c.from.as_str(), c.to.as_str()), ("alice", "100"));
        assert_eq!(c.disconnect_code, Some(200));
        assert_eq!(c.recordings, vec!["x.wav".to_owned()]);
        assert!(c.duration_ms.is_some());
        let log = store
            .session_log("acc", &session.to_string())
            .await
            .unwrap();
        assert_eq!(log, vec!["log: hello", "event: late"]);
        assert_eq!(sink.dropped(), 0);
        // Everything ended, so nothing stays in memory.
        assert!(sink.state.lock().sessions.is_empty());
        assert!(sink.state.lock().calls.is_empty());
    }

    #[test]
    fn layer_forwards_only_session_lines() {
        struct Lines(Mutex<Vec<(String, String)>>);
        impl HistorySink for Lines {
            fn session_started(&self, _: SessionId, _: &RouteOwner) {}
            fn call_started(&self, _: SessionId, _: CallId, _: Direction, _: &str, _: &str) {}
            fn call_answered(&self, _: CallId) {}
            fn call_ended(&self, _: CallId, _: Option<u16>, _: Option<&str>) {}
            fn recording(&self, _: SessionId, _: Option<CallId>, _: &str) {}
            fn session_ended(&self, _: SessionId, _: Option<&str>) {}
            fn log_line(&self, s: &str, t: &str) {
                self.0.lock().push((s.to_owned(), t.to_owned()));
            }
        }
        use tracing_subscriber::layer::SubscriberExt;
        let lines = Arc::new(Lines(Mutex::new(Vec::new())));
        let (layer, target) = SessionLogLayer::new();
        let sink: Arc<dyn HistorySink> = lines.clone();
        assert!(target.set(sink).is_ok());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "dialtone::session", session = %"s1", kind = "log", "hi {}", 1);
            tracing::info!(session = "s1", "engine line");
        });
        assert_eq!(
            *lines.0.lock(),
            vec![("s1".to_owned(), "log: hi 1".to_owned())]
        );
    }
}
