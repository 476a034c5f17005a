//! Agents' live states: what an agent (or a supervisor, or the engine)
//! may change, and what calls change.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use dialtone_core::CallId;

use super::{AgentConfig, AgentKey, QueueConfig, QueueLive, QueueStats};
use crate::call::Phase;
use crate::io::Fact;
use crate::timers::Timer;
use crate::CallCore;
use dialtone_core::messages::CallEvent;

/// The longest one `delayAfterCallWork` asks for, in seconds.
pub const MAX_ACW_DELAY_S: u32 = 3600;

/// An agent's state (the seeds' agent states).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgentState {
    LoggedOut,
    /// Logged in, taking no calls (with a reason code).
    NotReady,
    Ready,
    /// Offered a call: its phone rings.
    Reserved,
    Talking,
    /// Talking, with the customer on hold.
    Held,
    /// Wrapping up after a call, for the queue's after-call work time.
    AfterCallWork,
}

impl AgentState {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::LoggedOut => "loggedOut",
            AgentState::NotReady => "notReady",
            AgentState::Ready => "ready",
            AgentState::Reserved => "reserved",
            AgentState::Talking => "talking",
            AgentState::Held => "held",
            AgentState::AfterCallWork => "afterCallWork",
        }
    }

    pub const ALL: [AgentState; 7] = [
        AgentState::LoggedOut,
        AgentState::NotReady,
        AgentState::Ready,
        AgentState::Reserved,
        AgentState::Talking,
        AgentState::Held,
        AgentState::AfterCallWork,
    ];
}

/// What may be asked of an agent (by its desktop, a supervisor, an
/// integration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentCommand {
    /// Logged in, not ready.
    Login,
    Logout,
    Ready,
    NotReady {
        reason: String,
    },
    CompleteAfterCallWork,
    /// Ends the agent's queue call: hangs up a connected one, refuses one
    /// that rings (the caller goes to the next agent).
    Release,
    /// Puts the call on hold (the customer hears nothing from the agent).
    Hold,
    Retrieve,
    /// DTMF on the agent's queue call.
    SendDtmf {
        digits: String,
    },
    /// The customer stops hearing the agent (the call stays up).
    Mute,
    Unmute,
    /// A supervisor's phone joins `agent`'s call in `mode`; on the call it
    /// already monitors, the mode changes.
    Monitor {
        agent: String,
        mode: super::MonitorMode,
    },
    /// The supervisor leaves the call it monitors.
    StopMonitor,
    /// Single-step transfer of the agent's queue call to `to` (a number, a
    /// SIP URI, `queue:NAME`…): the customer's scenario gets
    /// `BlindTransferRequested` on the agent's call, as if the agent's phone
    /// had sent a REFER, and carries it out.
    Transfer {
        to: String,
    },
    /// The agent's ringing phone is asked to answer by itself.
    Answer,
    /// The customer goes on hold (with music) and the agent's phone calls
    /// `to`: `agent:ID`, `queue:NAME` (its longest idle ready agent),
    /// `user:NAME`, a SIP URI, or a number (through the trunks).
    Consult {
        to: String,
    },
    /// The consulted party's call ends; the agent talks to the customer.
    CancelConsult,
    /// The consulted party (answered) takes the agent's place.
    ConsultTransfer,
    /// The customer, the agent and the consulted party talk together.
    ConsultConference,
    /// The agent's phone rings, and once it answers `to` is dialled (an
    /// agent, a user, a SIP URI or a number), with `callerid` (the agent's
    /// user by default).
    MakeCall {
        to: String,
        callerid: Option<String>,
    },
    /// After-call work goes on for `seconds` more from now (Sobot's
    /// `delayACW`), instead of the rest of the queue's time.
    DelayAfterCallWork {
        seconds: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    #[error("no agent {0:?}")]
    NotFound(String),
    /// The command does not apply in the agent's state (the seeds'
    /// `invalidState`).
    #[error("agent {agent:?} is {state}: cannot {command}")]
    InvalidState {
        agent: String,
        state: &'static str,
        command: &'static str,
    },
    #[error("a supervisor takes no calls")]
    Supervisor,
    #[error("only a supervisor monitors calls")]
    NotSupervisor,
    /// The customer's scenario does not take transfers of the call.
    #[error("the scenario does not take transfers of this call (call.handleBlindTransfer)")]
    TransferNotTaken,
    /// A session for the call could not start (limits, overload).
    #[error("the call was refused: {0}")]
    Refused(String),
    /// The destination cannot be called this way.
    #[error("{0}")]
    BadTarget(String),
    /// A consult to a queue with no agent ready.
    #[error("no agent of queue {0:?} is ready")]
    NoneReady(String),
}

/// An agent as REST and desktops see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentStatus {
    pub account: String,
    pub id: String,
    pub name: String,
    pub user: String,
    pub supervisor: bool,
    pub state: AgentState,
    pub reason: String,
    /// In this state for.
    pub since: Duration,
    pub call: Option<CallId>,
    pub queues: Vec<String>,
    /// Calls taken and missed since the agent logged in.
    pub answered: u64,
    pub missed: u64,
    /// The queue call it has, if any.
    pub call_info: Option<AgentCall>,
    /// The call a supervisor monitors, if any.
    pub monitoring: Option<Monitoring>,
}

/// An agent's queue call, as desktops see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentCall {
    pub call: CallId,
    /// `alerting`, `active` or `held`.
    pub state: &'static str,
    pub queue: String,
    pub callerid: String,
    pub muted: bool,
    /// The scenario takes transfers of it (`singleStepTransfer`).
    pub transferable: bool,
}

/// What a supervisor monitors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Monitoring {
    /// The supervisor's call.
    pub call: CallId,
    pub agent: String,
    pub agent_call: CallId,
    pub mode: super::MonitorMode,
    /// The supervisor's phone answered.
    pub active: bool,
}

pub(crate) struct AgentLive {
    pub cfg: AgentConfig,
    pub num: u64,
    pub state: AgentState,
    pub reason: String,
    pub since: Instant,
    /// Ready since (longest idle goes first).
    pub idle_since: Instant,
    pub call: Option<CallId>,
    /// After-call-work timers of older generations find nothing to do.
    pub generation: u32,
    pub answered: u64,
    pub missed: u64,
}

impl CallCore {
    /// `account`'s contact-centre configuration, all of it, whenever it
    /// changes. Agents that stay keep their live state; new ones are
    /// logged out. Other accounts' are untouched.
    pub fn set_contact_centre(
        &mut self,
        now: Instant,
        account: &str,
        agents: Vec<AgentConfig>,
        queues: Vec<QueueConfig>,
    ) {
        let mut old_queues: HashMap<AgentKey, QueueLive> = HashMap::new();
        let keys: Vec<AgentKey> = self
            .acd
            .queues
            .keys()
            .filter(|k| k.0 == account)
            .cloned()
            .collect();
        for k in keys {
            if let Some(q) = self.acd.queues.remove(&k) {
                old_queues.insert(k, q);
            }
        }
        for cfg in queues.into_iter().filter(|q| q.account == account) {
            let key = (cfg.account.clone(), cfg.name.clone());
            let live = match old_queues.remove(&key) {
                Some(mut q) => {
                    q.cfg = cfg;
                    q
                }
                None => QueueLive {
                    cfg,
                    waiting: Default::default(),
                    answered: 0,
                    abandoned: 0,
                    answered_in_time: 0,
                },
            };
            self.acd.queues.insert(key, live);
        }
        // Requests of a queue that is gone fail; their sessions are told.
        for (_, q) in old_queues {
            for (_, req) in q.waiting {
                self.acd_request_done(req);
                self.acd_event(
                    req,
                    dialtone_core::acd::AcdEvent::Error("the queue was deleted".into()),
                );
            }
        }
        let mut old: HashMap<AgentKey, AgentLive> = HashMap::new();
        let keys: Vec<AgentKey> = self
            .acd
            .agents
            .keys()
            .filter(|k| k.0 == account)
            .cloned()
            .collect();
        for k in keys {
            if let Some(a) = self.acd.agents.remove(&k) {
                old.insert(k, a);
            }
        }
        for cfg in agents.into_iter().filter(|a| a.account == account) {
            let key = (cfg.account.clone(), cfg.id.clone());
            let live = match old.remove(&key) {
                Some(mut a) => {
                    a.cfg = cfg;
                    a
                }
                None => {
                    self.acd.next_num += 1;
                    AgentLive {
                        cfg,
                        num: self.acd.next_num,
                        state: AgentState::LoggedOut,
                        reason: String::new(),
                        since: now,
                        idle_since: now,
                        call: None,
                        generation: 0,
                        answered: 0,
                        missed: 0,
                    }
                }
            };
            self.acd.agent_nums.insert(live.num, key.clone());
            self.acd.agents.insert(key, live);
        }
        for (_, gone) in old {
            self.acd.agent_nums.remove(&gone.num);
        }
        self.acd_dispatch(now);
    }

    /// A command for agent `id` of `account`; the agent's status after it.
    pub fn agent_command(
        &mut self,
        now: Instant,
        account: &str,
        id: &str,
        command: AgentCommand,
    ) -> Result<AgentStatus, AgentError> {
        let key = (account.to_string(), id.to_string());
        let agent = self
            .acd
            .agents
            .get(&key)
            .ok_or_else(|| AgentError::NotFound(id.to_string()))?;
        let state = agent.state;
        let refuse = |command: &'static str| AgentError::InvalidState {
            agent: id.to_string(),
            state: state.as_str(),
            command,
        };
        use AgentState::*;
        let (next, reason) = match (&command, state) {
            (AgentCommand::Monitor { .. } | AgentCommand::StopMonitor, _)
                if !agent.cfg.supervisor =>
            {
                return Err(AgentError::NotSupervisor)
            }
            (
                AgentCommand::Monitor {
                    agent: watched,
                    mode,
                },
                _,
            ) => {
                let (watched, mode) = (watched.clone(), *mode);
                self.supervise(now, &key, &watched, mode)?;
                return self.agent_status(now, &key);
            }
            (AgentCommand::StopMonitor, _) => {
                self.stop_supervising(now, &key)?;
                return self.agent_status(now, &key);
            }
            (AgentCommand::Answer, Reserved) => {
                self.answer_from_desk(now, &key)?;
                return self.agent_status(now, &key);
            }
            (AgentCommand::Answer, _) => return Err(refuse("answer")),
            (AgentCommand::MakeCall { to, callerid }, _) => {
                let (to, callerid) = (to.clone(), callerid.clone());
                self.make_call(now, &key, &to, callerid)?;
                return self.agent_status(now, &key);
            }
            (AgentCommand::Consult { to }, Talking | Held) => {
                let to = to.clone();
                self.consult(now, &key, &to)?;
                self.acd_dispatch(now);
                return self.agent_status(now, &key);
            }
            (AgentCommand::Consult { .. }, _) => return Err(refuse("consult")),
            (AgentCommand::CancelConsult, _) => {
                self.cancel_consult(now, &key)?;
                self.acd_dispatch(now);
                return self.agent_status(now, &key);
            }
            (AgentCommand::ConsultTransfer, _) => {
                self.consult_transfer(now, &key)?;
                return self.agent_status(now, &key);
            }
            (AgentCommand::ConsultConference, _) => {
                self.consult_conference(now, &key)?;
                return self.agent_status(now, &key);
            }
            (AgentCommand::Hold | AgentCommand::Retrieve | AgentCommand::Transfer { .. }, _)
                if self.is_consulting(&key) =>
            {
                return Err(refuse("do that during a consult"))
            }
            (AgentCommand::Login, LoggedOut) => (NotReady, "login".to_string()),
            (AgentCommand::Login, _) => return Err(refuse("log in")),
            (AgentCommand::Release, Reserved | Talking | Held)
            | (AgentCommand::Hold, Talking)
            | (AgentCommand::Retrieve, Held)
            | (AgentCommand::SendDtmf { .. }, Talking | Held)
            | (AgentCommand::Mute | AgentCommand::Unmute, Talking | Held)
            | (AgentCommand::Transfer { .. }, Talking | Held) => {
                return self.agent_call_command(now, &key, command);
            }
            (AgentCommand::Release, _) => return Err(refuse("release a call")),
            (AgentCommand::Hold, _) => return Err(refuse("hold")),
            (AgentCommand::Retrieve, _) => return Err(refuse("retrieve")),
            (AgentCommand::SendDtmf { .. }, _) => return Err(refuse("send DTMF")),
            (AgentCommand::Mute, _) => return Err(refuse("mute")),
            (AgentCommand::Transfer { .. }, _) => return Err(refuse("transfer")),
            (AgentCommand::Unmute, _) => return Err(refuse("unmute")),
            (AgentCommand::Logout, Reserved | Talking | Held) => return Err(refuse("log out")),
            (AgentCommand::Logout, _) => (LoggedOut, "logout".to_string()),
            (AgentCommand::Ready, NotReady | AfterCallWork | Ready) => {
                if agent.cfg.supervisor {
                    return Err(AgentError::Supervisor);
                }
                (Ready, String::new())
            }
            (AgentCommand::Ready, _) => return Err(refuse("become ready")),
            (AgentCommand::NotReady { reason }, NotReady | Ready | AfterCallWork) => {
                (NotReady, reason.clone())
            }
            (AgentCommand::NotReady { .. }, _) => return Err(refuse("become not ready")),
            (AgentCommand::CompleteAfterCallWork, AfterCallWork) => (Ready, String::new()),
            (AgentCommand::CompleteAfterCallWork, _) => {
                return Err(refuse("complete after-call work"))
            }
            (AgentCommand::DelayAfterCallWork { seconds }, AfterCallWork) => {
                let delay = Duration::from_secs(u64::from((*seconds).clamp(1, MAX_ACW_DELAY_S)));
                if let Some(a) = self.acd.agents.get_mut(&key) {
                    // The running timer finds a newer generation and does nothing.
                    a.generation += 1;
                    let (num, generation) = (a.num, a.generation);
                    self.timers
                        .set(now + delay, Timer::AfterCallWork(num, generation));
                }
                return self.agent_status(now, &key);
            }
            (AgentCommand::DelayAfterCallWork { .. }, _) => {
                return Err(refuse("delay after-call work"))
            }
        };
        if command == AgentCommand::Login {
            if let Some(a) = self.acd.agents.get_mut(&key) {
                a.answered = 0;
                a.missed = 0;
            }
        }
        self.set_agent_state(now, &key, next, reason);
        self.acd_dispatch(now);
        self.agent_status(now, &key)
    }

    /// `invalidState`: what agent `key` asked does not fit its state.
    pub(crate) fn refusal(&self, key: &AgentKey, command: &'static str) -> AgentError {
        let state = self
            .acd
            .agents
            .get(key)
            .map_or(AgentState::LoggedOut, |a| a.state);
        AgentError::InvalidState {
            agent: key.1.clone(),
            state: state.as_str(),
            command,
        }
    }

    pub(crate) fn agent_status(
        &self,
        now: Instant,
        key: &AgentKey,
    ) -> Result<AgentStatus, AgentError> {
        self.acd
            .agents
            .get(key)
            .map(|a| status(&self.acd, a, now))
            .ok_or_else(|| AgentError::NotFound(key.1.clone()))
    }

    /// A command on the agent's queue call (it belongs to the customer's
    /// session: the agent acts on it as that session would).
    fn agent_call_command(
        &mut self,
        now: Instant,
        key: &AgentKey,
        command: AgentCommand,
    ) -> Result<AgentStatus, AgentError> {
        let call = self.acd.agents.get(key).and_then(|a| a.call);
        let session = call.and_then(|c| self.calls.get(&c).map(|x| x.session));
        let (Some(call), Some(session)) = (call, session) else {
            return Err(AgentError::NotFound(format!("{}'s call", key.1)));
        };
        match command {
            AgentCommand::Release => {
                // With a consulted party answered, the agent leaves and the
                // customer stays with it; a consult still ringing ends.
                let handed_over = self.consult_transfer(now, key).is_ok();
                if !handed_over {
                    let _ = self.cancel_consult(now, key);
                    self.hangup(now, session, call, Vec::new());
                }
            }
            AgentCommand::Hold | AgentCommand::Retrieve => {
                let hold = command == AgentCommand::Hold;
                self.hold(session, call, hold);
                self.hold_customer(call, hold);
                let (state, dialog) = if hold {
                    (AgentState::Held, "held")
                } else {
                    (AgentState::Talking, "active")
                };
                self.set_agent_state(now, key, state, String::new());
                self.agent_call_fact(key, call, dialog);
            }
            AgentCommand::SendDtmf { digits } => self.send_digits(now, session, call, &digits),
            AgentCommand::Transfer { to } => {
                let taken = self
                    .calls
                    .get(&call)
                    .is_some_and(|c| c.handle_blind_transfer && c.phase == Phase::Confirmed);
                if !taken {
                    return Err(AgentError::TransferNotTaken);
                }
                let event = CallEvent::BlindTransferRequested {
                    transfer_to: to.clone(),
                    refer_to: to,
                    headers: vec![
                        ("X-Transfer-Source".into(), "cti".into()),
                        ("X-Agent".into(), key.1.clone()),
                    ],
                };
                self.emit(session, call, event);
            }
            AgentCommand::Mute | AgentCommand::Unmute => {
                let muted = command == AgentCommand::Mute;
                if let Some(unit) = self.calls.get(&call).map(|c| c.unit()) {
                    self.media(crate::io::MediaCommand::MuteEndpoint { unit, muted });
                }
                if let Some(op) = self.acd.calls.get_mut(&call) {
                    op.muted = muted;
                }
                let dialog = self.agent_dialog_state(key);
                self.agent_call_fact(key, call, dialog);
            }
            _ => {}
        }
        self.agent_status(now, key)
    }

    /// `account`'s agents, by id.
    pub fn agent_statuses(&self, now: Instant, account: &str) -> Vec<AgentStatus> {
        let mut out: Vec<AgentStatus> = self
            .acd
            .agents
            .values()
            .filter(|a| a.cfg.account == account)
            .map(|a| status(&self.acd, a, now))
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    /// `account`'s queues' figures, by name.
    pub fn queue_stats(&self, now: Instant, account: &str) -> Vec<QueueStats> {
        let mut out: Vec<QueueStats> = self
            .acd
            .queues
            .values()
            .filter(|q| q.cfg.account == account)
            .map(|q| {
                let mut agents: BTreeMap<&'static str, usize> = BTreeMap::new();
                for a in self.acd.agents.values().filter(|a| {
                    a.cfg.account == account
                        && !a.cfg.supervisor
                        && a.cfg.queues.contains(&q.cfg.name)
                }) {
                    *agents.entry(a.state.as_str()).or_default() += 1;
                }
                let offering = self
                    .acd
                    .requests
                    .values()
                    .filter(|r| {
                        r.account == account && r.queue == q.cfg.name && r.offered.is_some()
                    })
                    .count();
                let longest_wait = q
                    .waiting
                    .iter()
                    .filter_map(|(_, key)| self.acd.requests.get(key))
                    .map(|r| now.saturating_duration_since(r.enqueued_at))
                    .max()
                    .unwrap_or_default();
                let finished = q.answered + q.abandoned;
                QueueStats {
                    account: account.to_string(),
                    name: q.cfg.name.clone(),
                    waiting: q.waiting.len(),
                    offering,
                    longest_wait,
                    agents,
                    answered: q.answered,
                    abandoned: q.abandoned,
                    answered_in_time: q.answered_in_time,
                    service_level_pct: (finished > 0)
                        .then(|| 100.0 * q.answered_in_time as f64 / finished as f64),
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Every agent state change goes through here: the fact for history
    /// and metrics, the time it starts, the after-call-work timer.
    pub(crate) fn set_agent_state(
        &mut self,
        now: Instant,
        key: &AgentKey,
        state: AgentState,
        reason: String,
    ) {
        let after_call_work = match state {
            AgentState::AfterCallWork => self
                .acd
                .agents
                .get(key)
                .and_then(|a| a.call)
                .and_then(|c| self.acd.calls.get(&c))
                .map(|c| c.after_call_work),
            _ => None,
        };
        let Some(agent) = self.acd.agents.get_mut(key) else {
            return;
        };
        agent.generation += 1;
        self.acd.dirty = true;
        if state == AgentState::Ready && agent.state != AgentState::Ready {
            agent.idle_since = now;
        }
        agent.state = state;
        agent.reason = reason.clone();
        agent.since = now;
        if matches!(
            state,
            AgentState::Ready | AgentState::NotReady | AgentState::LoggedOut
        ) {
            agent.call = None;
        }
        let (num, generation) = (agent.num, agent.generation);
        let queues = agent.cfg.queues.clone();
        tracing::debug!(account = %key.0, agent = %key.1, state = state.as_str(), %reason, "agent state");
        self.fact(Fact::AgentState {
            account: key.0.clone(),
            agent: key.1.clone(),
            queues,
            state,
            reason,
        });
        if let Some(acw) = after_call_work {
            self.timers
                .set(now + acw, Timer::AfterCallWork(num, generation));
        }
    }

    /// An agent's after-call work is over (unless its state moved since).
    pub(crate) fn on_after_call_work_over(&mut self, now: Instant, num: u64, generation: u32) {
        let Some(key) = self.acd.agent_nums.get(&num).cloned() else {
            return;
        };
        let due =
            self.acd.agents.get(&key).is_some_and(|a| {
                a.generation == generation && a.state == AgentState::AfterCallWork
            });
        if due {
            self.set_agent_state(now, &key, AgentState::Ready, String::new());
            self.acd_dispatch(now);
        }
    }
}

/// The seeds' dialog state of an agent's queue call: ringing, then active or
/// held with the agent.
pub(crate) fn dialog_state(connected: bool, agent: AgentState) -> &'static str {
    match (connected, agent) {
        (false, _) => "alerting",
        (true, AgentState::Held) => "held",
        (true, _) => "active",
    }
}

fn status(acd: &super::Acd, a: &AgentLive, now: Instant) -> AgentStatus {
    let call_info = a.call.and_then(|call| {
        let op = acd.calls.get(&call)?;
        let state = dialog_state(op.connected, a.state);
        Some(AgentCall {
            call,
            state,
            queue: op.queue.clone(),
            callerid: op.callerid.clone(),
            muted: op.muted,
            transferable: op.transferable,
        })
    });
    let monitoring = acd
        .monitor_of(&a.cfg.account, &a.cfg.id)
        .map(|(call, m)| Monitoring {
            call,
            agent: m.agent.1.clone(),
            agent_call: m.agent_call,
            mode: m.mode,
            active: m.mixer.is_some(),
        });
    AgentStatus {
        call_info,
        monitoring,
        account: a.cfg.account.clone(),
        id: a.cfg.id.clone(),
        name: a.cfg.name.clone(),
        user: a.cfg.user.clone(),
        supervisor: a.cfg.supervisor,
        state: a.state,
        reason: a.reason.clone(),
        since: now.saturating_duration_since(a.since),
        call: a.call,
        queues: a.cfg.queues.clone(),
        answered: a.answered,
        missed: a.missed,
    }
}

/// Whether `agent` may take `queue`'s calls: a member with every skill the
/// queue needs at its level.
pub(crate) fn serves(agent: &AgentConfig, queue: &QueueConfig) -> bool {
    !agent.supervisor
        && agent.account == queue.account
        && agent.queues.contains(&queue.name)
        && queue
            .skills
            .iter()
            .all(|(skill, level)| agent.skills.get(skill).is_some_and(|l| l >= level))
}
