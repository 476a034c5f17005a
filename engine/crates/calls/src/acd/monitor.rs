//! Supervisors on agents' calls: listen (hears both, heard by none),
//! whisper (heard by the agent only) and barge (a full participant).
//!
//! The supervisor's phone is called as a call of the customer's session,
//! which the scenario never sees. Once it answers, the customer, the agent
//! and the supervisor meet in a mixer of that session: the customer and
//! the agent speak into it and each hears everyone but itself; what the
//! supervisor may do is only which members hear it, so switching between
//! the three modes changes the mixer and never re-INVITEs anyone. When the
//! supervisor hangs up (or `stopMonitor`), the mixer goes and the customer
//! and the agent hear each other directly again; when either of them hangs
//! up, the supervisor's call ends too.

use std::time::Instant;

use dialtone_core::messages::{CallEvent, OutboundCall};
use dialtone_core::{CallId, SessionId, UnitId};

use super::{AgentError, AgentKey, AgentState};
use crate::io::{Fact, MediaCommand, Member};
use crate::registrar::UserKey;
use crate::units::{Kind, Unit};
use crate::CallCore;

/// What a supervisor does on an agent's call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorMode {
    /// Hears the customer and the agent; heard by neither.
    Listen,
    /// Hears both; heard by the agent only.
    Whisper,
    /// Hears both; heard by both.
    Barge,
}

impl MonitorMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorMode::Listen => "listen",
            MonitorMode::Whisper => "whisper",
            MonitorMode::Barge => "barge",
        }
    }
}

/// A supervisor's call on an agent's call, by the supervisor's call.
pub(crate) struct Monitor {
    pub supervisor: AgentKey,
    pub agent: AgentKey,
    pub agent_call: CallId,
    pub customer: CallId,
    pub session: SessionId,
    pub mode: MonitorMode,
    /// The mixer, once the supervisor answered.
    pub mixer: Option<UnitId>,
}

impl CallCore {
    /// `supervisor` listens to, whispers to or barges in on `agent`'s call;
    /// on a call it already monitors, only the mode changes.
    pub(crate) fn supervise(
        &mut self,
        now: Instant,
        supervisor: &AgentKey,
        agent: &str,
        mode: MonitorMode,
    ) -> Result<(), AgentError> {
        let agent_key = (supervisor.0.clone(), agent.to_string());
        let target = self
            .acd
            .agents
            .get(&agent_key)
            .ok_or_else(|| AgentError::NotFound(agent.to_string()))?;
        let refuse = |state: AgentState, command: &'static str| AgentError::InvalidState {
            agent: agent.to_string(),
            state: state.as_str(),
            command,
        };
        let agent_call = match (target.state, target.call) {
            (AgentState::Talking | AgentState::Held, Some(call)) => call,
            (state, _) => return Err(refuse(state, "be monitored")),
        };
        let own = self
            .acd
            .monitor_of(&supervisor.0, &supervisor.1)
            .map(|(call, m)| (call, m.agent_call));
        match own {
            Some((call, on)) if on == agent_call => {
                self.set_monitor_mode(call, mode);
                return Ok(());
            }
            Some(_) => return Err(self.refusal(supervisor, "monitor a second call")),
            None => {}
        }
        let Some(session) = self.calls.get(&agent_call).map(|c| c.session) else {
            return Err(AgentError::NotFound(format!("{agent}'s call")));
        };
        let customer = self
            .customer_of(session, agent_call)
            .ok_or_else(|| refuse(AgentState::Talking, "be monitored without a customer"))?;
        let Some(sup) = self.acd.agents.get(supervisor) else {
            return Err(AgentError::NotFound(supervisor.1.clone()));
        };
        let user = UserKey {
            account: sup.cfg.account.clone(),
            application: sup.cfg.application.clone(),
            user: sup.cfg.user.clone(),
        };
        let call = CallId::next();
        self.acd.monitors.insert(
            call,
            Monitor {
                supervisor: supervisor.clone(),
                agent: agent_key,
                agent_call,
                customer,
                session,
                mode,
                mixer: None,
            },
        );
        self.monitor_fact(call, "alerting");
        let out = OutboundCall {
            call,
            to: user.user.clone(),
            callerid: Some(format!("{} {}", mode.as_str(), agent)),
            display_name: None,
            headers: Vec::new(),
            auth_user: None,
            password: None,
        };
        self.call_user_key(now, session, Box::new(out), user);
        Ok(())
    }

    /// Ends what `supervisor` monitors (its call is hung up).
    pub(crate) fn stop_supervising(
        &mut self,
        now: Instant,
        supervisor: &AgentKey,
    ) -> Result<(), AgentError> {
        let found = self
            .acd
            .monitor_of(&supervisor.0, &supervisor.1)
            .map(|(call, m)| (call, m.session));
        let Some((call, session)) = found else {
            return Err(self.refusal(supervisor, "stop monitoring (monitors nothing)"));
        };
        self.hangup(now, session, call, Vec::new());
        // A call still dialling may end without an event: finish here.
        self.end_monitor(call);
        Ok(())
    }

    /// Notes what a call event means for monitors, consults and holds.
    pub(crate) fn monitor_observe(&mut self, call: CallId, event: &CallEvent) {
        let acd = &self.acd;
        if acd.monitors.is_empty() && acd.consults.is_empty() && acd.holds.is_empty() {
            return;
        }
        let reaction = match event {
            CallEvent::Connected { .. } if acd.monitors.contains_key(&call) => {
                super::Reaction::MonitorConnected(call)
            }
            CallEvent::Connected { .. } if acd.consults.contains_key(&call) => {
                super::Reaction::ConsultConnected(call)
            }
            CallEvent::Failed { .. } => super::Reaction::PartyEnded(call, true),
            CallEvent::Disconnected { .. } => super::Reaction::PartyEnded(call, false),
            _ => return,
        };
        self.acd.reactions.push(reaction);
    }

    /// The supervisor answered: the three meet in a mixer.
    pub(crate) fn monitor_connected(&mut self, call: CallId) {
        let Some(m) = self.acd.monitors.get(&call) else {
            return;
        };
        let (session, agent, customer) = (m.session, m.agent_call, m.customer);
        if !self.calls.contains_key(&agent) || !self.calls.contains_key(&customer) {
            return;
        }
        let mixer = self.acd_mixer(session);
        if let Some(m) = self.acd.monitors.get_mut(&call) {
            m.mixer = Some(mixer);
        }
        let agent_unit = UnitId::from(agent);
        self.media(MediaCommand::SetMember {
            mixer,
            spec: member(agent_unit, Vec::new()),
        });
        let mode = self.acd.monitors.get(&call).map(|m| m.mode);
        self.set_monitor_mode(call, mode.unwrap_or(MonitorMode::Listen));
        for to in [UnitId::from(customer), agent_unit, UnitId::from(call)] {
            self.media(MediaCommand::Connect { from: mixer, to });
        }
        self.monitor_fact(call, "active");
    }

    /// A mixer of `session` for the contact centre's own use (monitors,
    /// consult conferences), released with the session's units.
    pub(crate) fn acd_mixer(&mut self, session: SessionId) -> UnitId {
        let mixer = UnitId(CallId::next().0);
        self.units.insert(
            mixer,
            Unit {
                session,
                owner: None,
                kind: Kind::Conference,
            },
        );
        let shard = self.shard(session);
        self.media(MediaCommand::AddMixer { unit: mixer, shard });
        mixer
    }

    /// Who hears the supervisor, per mode. The customer's membership
    /// carries whom it is deaf to.
    fn set_monitor_mode(&mut self, call: CallId, mode: MonitorMode) {
        let Some(m) = self.acd.monitors.get_mut(&call) else {
            return;
        };
        let changed = m.mode != mode;
        m.mode = mode;
        let (customer, mixer) = (UnitId::from(m.customer), m.mixer);
        let sup = UnitId::from(call);
        if let Some(mixer) = mixer {
            let deaf = if mode == MonitorMode::Whisper {
                vec![sup]
            } else {
                Vec::new()
            };
            self.media(MediaCommand::SetMember {
                mixer,
                spec: member(customer, deaf),
            });
            if mode == MonitorMode::Listen {
                self.media(MediaCommand::RemoveMember { mixer, unit: sup });
            } else {
                self.media(MediaCommand::SetMember {
                    mixer,
                    spec: member(sup, Vec::new()),
                });
            }
        }
        if changed {
            let state = if mixer.is_some() {
                "active"
            } else {
                "alerting"
            };
            self.monitor_fact(call, state);
        }
    }

    /// A call ended: a monitor it took part in ends too.
    pub(crate) fn monitor_call_ended(&mut self, now: Instant, call: CallId) {
        if self.acd.monitors.contains_key(&call) {
            self.end_monitor(call);
            return;
        }
        let watching: Vec<(CallId, SessionId)> = self
            .acd
            .monitors
            .iter()
            .filter(|(_, m)| m.agent_call == call || m.customer == call)
            .map(|(c, m)| (*c, m.session))
            .collect();
        for (sup_call, session) in watching {
            self.hangup(now, session, sup_call, Vec::new());
            self.end_monitor(sup_call);
        }
    }

    /// Forgets the monitor of supervisor call `call`: the mixer goes and
    /// the customer and the agent hear each other directly again.
    fn end_monitor(&mut self, call: CallId) {
        let Some(m) = self.drop_monitor(call) else {
            return;
        };
        let both = self.calls.contains_key(&m.agent_call) && self.calls.contains_key(&m.customer);
        if m.mixer.is_some() && both {
            let (agent, customer) = (UnitId::from(m.agent_call), UnitId::from(m.customer));
            self.wire_both(agent, customer);
        }
    }

    /// Forgets the monitor of supervisor call `call` and releases its mixer;
    /// desktops learn it is dropped.
    fn drop_monitor(&mut self, call: CallId) -> Option<Monitor> {
        let m = self.acd.monitors.remove(&call)?;
        if let Some(mixer) = m.mixer {
            self.units.remove(&mixer);
            self.media(MediaCommand::Release(mixer));
        }
        let fact = monitor_fact(&m, call, "dropped", &self.acd);
        self.fact(fact);
        Some(m)
    }

    /// A session ended: its monitors are gone with its calls.
    pub(crate) fn monitors_session_ended(&mut self, session: SessionId) {
        let calls = super::keys_where(&self.acd.monitors, |_, m| m.session == session);
        for call in calls {
            self.drop_monitor(call);
        }
    }

    fn monitor_fact(&mut self, call: CallId, state: &'static str) {
        let Some(m) = self.acd.monitors.get(&call) else {
            return;
        };
        let fact = monitor_fact(m, call, state, &self.acd);
        self.fact(fact);
    }
}

pub(super) fn member(unit: UnitId, deaf_to: Vec<UnitId>) -> Member {
    Member {
        unit,
        send: true,
        forward: false,
        deaf_to,
    }
}

fn monitor_fact(m: &Monitor, call: CallId, state: &'static str, acd: &super::Acd) -> Fact {
    Fact::Monitor {
        account: m.supervisor.0.clone(),
        supervisor: m.supervisor.1.clone(),
        agent: m.agent.1.clone(),
        queues: acd.queues_of(&m.agent),
        call,
        agent_call: m.agent_call,
        mode: m.mode.as_str(),
        state,
    }
}
