//! One ordered stream of what the sessions do: their commands and their
//! `Logger.write` lines, in the order they did them, each with the session
//! it came from.
//!
//! Commands arrive on a channel, log lines through `tracing` (target
//! `dialtone::session`) synchronously while the script runs. When a log line
//! arrives, the commands already queued on the channel were sent before it,
//! so they are moved into the ordered queue first.
//!
//! Answers to `accessURL` requests are ordered the same way: the waker of
//! each answer's receiver puts a marker into the queue when the session
//! answers (or drops the request), while it runs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Wake, Waker};

use dialtone_core::messages::SessionCommand;
use dialtone_core::SessionId;
use tokio::sync::mpsc;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

pub(crate) enum Item {
    Command(SessionId, SessionCommand),
    /// A `Logger.write` line: the session (when its log line names one it
    /// can be read as) and the text.
    Log(Option<SessionId>, String),
    Error(Option<SessionId>, String),
    /// An event the session dispatched, as it logs it.
    Event(Option<SessionId>, String),
    /// The `accessURL` request with this id was answered or dropped.
    Answer(u64),
}

struct Queue {
    commands: mpsc::UnboundedReceiver<(SessionId, SessionCommand)>,
    ordered: VecDeque<Item>,
    /// The reader waiting for an item: a log line does not pass through the
    /// channel, so it must wake the reader itself.
    reader: Option<Waker>,
}

impl Queue {
    fn move_pending_commands(&mut self) {
        while let Ok((session, command)) = self.commands.try_recv() {
            self.ordered.push_back(Item::Command(session, command));
        }
    }
}

#[derive(Clone)]
pub(crate) struct Inbox {
    queue: Arc<Mutex<Queue>>,
}

impl Inbox {
    pub(crate) fn new(commands: mpsc::UnboundedReceiver<(SessionId, SessionCommand)>) -> Inbox {
        Inbox {
            queue: Arc::new(Mutex::new(Queue {
                commands,
                ordered: VecDeque::new(),
                reader: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while holding the lock; a poisoned queue is intact.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next thing the session did; `None` once every sender is gone.
    pub(crate) async fn next(&self) -> Option<Item> {
        std::future::poll_fn(|cx| {
            let mut queue = self.lock();
            if let Some(item) = queue.ordered.pop_front() {
                return Poll::Ready(Some(item));
            }
            let next = queue.commands.poll_recv(cx);
            if next.is_pending() {
                queue.reader = Some(cx.waker().clone());
            }
            next.map(|next| next.map(|(session, command)| Item::Command(session, command)))
        })
        .await
    }

    fn push(&self, item: Item) {
        let mut queue = self.lock();
        queue.move_pending_commands();
        queue.ordered.push_back(item);
        if let Some(reader) = queue.reader.take() {
            reader.wake();
        }
    }

    /// Whether `session` has reported its end (`SessionCommand::Ended`) and
    /// the reader has not taken it yet.
    pub(crate) fn end_is_queued(&self, session: SessionId) -> bool {
        let mut queue = self.lock();
        queue.move_pending_commands();
        queue.ordered.iter().any(|item| {
            matches!(item, Item::Command(id, SessionCommand::Ended { .. }) if *id == session)
        })
    }

    /// A waker that queues `Item::Answer(id)` when woken: give it to the
    /// receiver of request `id`'s answer.
    pub(crate) fn answer_waker(&self, id: u64) -> Waker {
        Waker::from(Arc::new(AnswerWaker {
            inbox: self.clone(),
            id,
        }))
    }

    /// The `tracing` layer that feeds the session log into this inbox.
    pub(crate) fn log_layer(&self) -> LogTap {
        LogTap {
            inbox: self.clone(),
        }
    }
}

struct AnswerWaker {
    inbox: Inbox,
    id: u64,
}

impl Wake for AnswerWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.inbox.push(Item::Answer(self.id));
    }
}

pub(crate) struct LogTap {
    inbox: Inbox,
}

#[derive(Default)]
struct LogFields {
    session: Option<String>,
    kind: Option<String>,
    message: Option<String>,
}

impl Visit for LogFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "session" => self.session = Some(value.to_string()),
            "kind" => self.kind = Some(value.to_string()),
            "message" => self.message = Some(value.to_string()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "session" => self.session = Some(format!("{value:?}").trim_matches('"').to_string()),
            "kind" => self.kind = Some(format!("{value:?}").trim_matches('"').to_string()),
            "message" => self.message = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

impl<S: Subscriber> Layer<S> for LogTap {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != "dialtone::session" {
            return;
        }
        let mut fields = LogFields::default();
        event.record(&mut fields);
        let text = fields.message.unwrap_or_default();
        let session = fields.session.and_then(|id| id.parse().ok());
        match fields.kind.as_deref() {
            Some("log") => self.inbox.push(Item::Log(session, text)),
            Some("error") => self.inbox.push(Item::Error(session, text)),
            Some("event") => self.inbox.push(Item::Event(session, text)),
            _ => {}
        }
    }
}
