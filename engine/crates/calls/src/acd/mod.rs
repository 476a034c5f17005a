//! The contact centre's automatic call distribution, sans IO like the rest
//! of the call core: agents and their live states (`agents`), queues of
//! ACD requests and their statistics, and the distribution of requests to
//! agents (`dispatch`).
//!
//! A session queues a caller with `VoxEngine.enqueueACDRequest`. The
//! request waits in its queue by priority, then by arrival; whenever an
//! agent may take a call, the oldest most urgent request whose queue the
//! agent serves (with the queue's skills, at their levels) goes to the
//! agent who has been idle longest. The agent is reserved at once, in the
//! same step that picks it: no agent is offered two calls. Its phone rings
//! as a new call of the requesting session (`OperatorCallAttempt`); the
//! answer is `OperatorReached`, and the scenario bridges the two calls. A
//! phone that does not answer within the queue's ring time (or refuses)
//! puts the request back at its place and the agent in not ready.
//!
//! Nothing here survives a restart: agents log in again, and calls that
//! were up are gone with the process (no agent stays reserved).

mod agents;
mod answer;
mod consult;
mod dial;
mod dispatch;
mod monitor;
mod outbound;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use dialtone_core::messages::Headers;
use dialtone_core::{CallId, SessionId};

pub use agents::{
    AgentCall, AgentCommand, AgentError, AgentState, AgentStatus, Monitoring, MAX_ACW_DELAY_S,
};
pub use monitor::MonitorMode;

/// An agent as the driver configures it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentConfig {
    pub account: String,
    pub id: String,
    pub name: String,
    /// The application whose user rings for the agent.
    pub application: String,
    pub user: String,
    /// A supervisor takes no calls.
    pub supervisor: bool,
    pub skills: BTreeMap<String, u8>,
    pub queues: Vec<String>,
}

/// A queue as the driver configures it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    pub account: String,
    pub name: String,
    /// Skill → the least level an agent needs.
    pub skills: BTreeMap<String, u8>,
    pub max_waiting: u32,
    pub ring_timeout: Duration,
    pub after_call_work: Duration,
    pub service_level: Duration,
}

/// A queue's figures, as REST and `/metrics` show them.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueStats {
    pub account: String,
    pub name: String,
    /// Requests waiting (not counting one ringing an agent).
    pub waiting: usize,
    /// Requests ringing an agent now.
    pub offering: usize,
    pub longest_wait: Duration,
    /// The queue's agents (not supervisors) by state name.
    pub agents: BTreeMap<&'static str, usize>,
    /// Requests that reached an agent, since start.
    pub answered: u64,
    /// Requests cancelled (or whose session ended) before an agent answered.
    pub abandoned: u64,
    /// Answered within the queue's service level.
    pub answered_in_time: u64,
    /// `answered_in_time` over answered and abandoned, in %; `None` before
    /// any.
    pub service_level_pct: Option<f64>,
}

pub(crate) type AgentKey = (String, String);
pub(crate) type RequestKey = (SessionId, u64);

/// Where a waiting request sits: lower priority number first, then arrival.
pub(crate) type Place = (u8, u64);

pub(crate) struct Request {
    pub session: SessionId,
    pub id: u64,
    pub account: String,
    pub queue: String,
    pub callerid: String,
    pub headers: Headers,
    pub place: Place,
    pub enqueued_at: Instant,
    /// The call ringing an agent for it.
    pub offered: Option<CallId>,
    /// Only this agent takes it.
    pub agent: Option<String>,
}

pub(crate) struct QueueLive {
    pub cfg: QueueConfig,
    pub waiting: BTreeSet<(Place, RequestKey)>,
    pub answered: u64,
    pub abandoned: u64,
    pub answered_in_time: u64,
}

/// A call ringing (or connecting) an agent.
pub(crate) struct OperatorCall {
    pub agent: AgentKey,
    /// `None` once the request is done with (answered, cancelled).
    pub request: Option<RequestKey>,
    pub connected: bool,
    /// The queue's ring time ran out: its failure is a no-answer.
    pub timed_out: bool,
    pub after_call_work: Duration,
    pub queue: String,
    pub callerid: String,
    /// The customer does not hear the agent.
    pub muted: bool,
    /// The scenario takes transfers of the call.
    pub transferable: bool,
    /// The agent's own call (`makeCall`), not a queue's.
    pub outbound: Option<Box<outbound::Outbound>>,
}

/// A call event the distribution reacts to, after the event is out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reaction {
    Connected(CallId),
    Failed(CallId, u16),
    Disconnected(CallId),
    /// A supervisor's phone answered.
    MonitorConnected(CallId),
    /// A consulted party answered.
    ConsultConnected(CallId),
    /// The far end of an agent's own call answered.
    FarConnected(CallId),
    /// The far end of an agent's own call failed (with its code) or ended.
    FarEnded(CallId, Option<u16>),
    /// A call that may take part in a monitor, a consult or a hold ended
    /// (`true`: it failed before it was answered).
    PartyEnded(CallId, bool),
}

#[derive(Default)]
pub(crate) struct Acd {
    pub agents: HashMap<AgentKey, agents::AgentLive>,
    /// Agent key by the number its timers carry.
    pub agent_nums: HashMap<u64, AgentKey>,
    pub next_num: u64,
    pub queues: HashMap<AgentKey, QueueLive>,
    pub requests: HashMap<RequestKey, Request>,
    pub calls: HashMap<CallId, OperatorCall>,
    /// Supervisors on agents' calls, by the supervisor's call.
    pub monitors: HashMap<CallId, monitor::Monitor>,
    /// Consultations, by the consulted party's call.
    pub consults: HashMap<CallId, consult::Consult>,
    /// The far ends of agents' own calls → the agent's call and their
    /// session (and, once the agent has handed the call to a number or a
    /// user, that party's call → the far end).
    pub far: HashMap<CallId, (CallId, SessionId)>,
    /// Hold music playing to customers, by the agent's call.
    pub holds: HashMap<CallId, consult::Hold>,
    pub seq: u64,
    pub reactions: Vec<Reaction>,
    /// Reactions are being carried out (no nesting).
    pub reacting: bool,
    /// Agents' states or queues changed since the gauges were last told.
    pub dirty: bool,
    /// Requests for a named agent (while there are none, a queue's head is
    /// all the distribution looks at).
    pub targeted: usize,
}

/// The keys of `map` whose values pass `keep` (to act on while changing
/// the map).
pub(crate) fn keys_where<K: Copy, V>(map: &HashMap<K, V>, keep: impl Fn(&K, &V) -> bool) -> Vec<K> {
    map.iter()
        .filter(|(k, v)| keep(k, v))
        .map(|(k, _)| *k)
        .collect()
}

impl crate::CallCore {
    /// `a` hears `b` and `b` hears `a`.
    pub(crate) fn wire_both(&mut self, a: dialtone_core::UnitId, b: dialtone_core::UnitId) {
        use crate::io::MediaCommand::Connect;
        self.media(Connect { from: a, to: b });
        self.media(Connect { from: b, to: a });
    }
}

impl Acd {
    /// The queues of agent `key` (whose supervisors see its events).
    pub(crate) fn queues_of(&self, key: &AgentKey) -> Vec<String> {
        self.agents
            .get(key)
            .map(|a| a.cfg.queues.clone())
            .unwrap_or_default()
    }

    /// The monitor of supervisor `id` of `account`, by the supervisor's call.
    pub(crate) fn monitor_of(
        &self,
        account: &str,
        id: &str,
    ) -> Option<(CallId, &monitor::Monitor)> {
        self.monitors
            .iter()
            .find(|(_, m)| m.supervisor.0 == account && m.supervisor.1 == id)
            .map(|(call, m)| (*call, m))
    }

    /// Forgets a request, keeping the count of named-agent ones.
    pub(crate) fn take_request(&mut self, key: &RequestKey) -> Option<Request> {
        let req = self.requests.remove(key)?;
        if req.agent.is_some() {
            self.targeted = self.targeted.saturating_sub(1);
        }
        Some(req)
    }
}
