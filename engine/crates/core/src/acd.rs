//! What a session and the call core say to each other about ACD requests
//! (`VoxEngine.enqueueACDRequest`, `ACDRequest`, `ACDEvents`).

use crate::messages::Headers;
use crate::CallId;

/// A session's request to queue a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcdEnqueue {
    /// The request's id, unique in the session (`ACDRequest.id()`).
    pub request: u64,
    pub queue: String,
    /// The caller id agents see on the call that rings them.
    pub callerid: String,
    /// 1 (first) to 100.
    pub priority: u8,
    /// Given to agents' desktops with the call.
    pub custom_data: String,
    /// Extra headers on the call to the agent (`X-` only).
    pub headers: Headers,
    /// Only this agent takes it (a Dialtone extension: a transfer to a
    /// named agent), when ready, whether or not it serves the queue.
    pub agent: Option<String>,
}

/// The default priority of a request that gives none.
pub const DEFAULT_PRIORITY: u8 = 50;

/// What happened to an ACD request (`ACDEvents.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcdEvent {
    /// The request waits in its queue.
    Queued,
    /// The answer to `getStatus()`: the place in the queue (1: next) and
    /// the estimated wait in minutes.
    Waiting { position: u32, ewt_minutes: u32 },
    /// An agent's phone is being called: `call` is a new call of the
    /// session's (its events follow as for any call).
    OperatorCallAttempt {
        call: CallId,
        agent: String,
        /// The caller id and display name the call carries.
        callerid: String,
        display_name: String,
    },
    /// That call was answered: the agent is on it.
    OperatorReached { call: CallId, agent: String },
    /// The agent did not take the call (`code`: its answer, 408 for no
    /// answer in the queue's ring time). The request goes back to its
    /// place and is offered to the next agent.
    OperatorFailed { agent: String, code: u16 },
    /// No agent of the queue is logged in: the request is not queued.
    Offline,
    /// The queue is full: the request is not queued.
    QueueFull,
    /// The request could not be handled (no such queue, …).
    Error(String),
}

impl AcdEvent {
    /// The `ACDEvents` name.
    pub fn name(&self) -> &'static str {
        match self {
            AcdEvent::Queued => "Queued",
            AcdEvent::Waiting { .. } => "Waiting",
            AcdEvent::OperatorCallAttempt { .. } => "OperatorCallAttempt",
            AcdEvent::OperatorReached { .. } => "OperatorReached",
            AcdEvent::OperatorFailed { .. } => "OperatorFailed",
            AcdEvent::Offline => "Offline",
            AcdEvent::QueueFull => "QueueFull",
            AcdEvent::Error(_) => "Error",
        }
    }
}
