//! An agent's own outbound call (`makeCall`), click-to-call style: the
//! agent's phone rings first; once it answers, the far end (an agent, a
//! user, a SIP URI or a number through the trunks) is dialled and the two
//! are bridged when it answers.
//!
//! The call lives in a session of its own, started for it in the agent's
//! application (so the account's limits, quotas and history apply) with a
//! built-in scenario that does nothing: the call core drives both calls,
//! and the session ends when they do. The agent's call is an agent call
//! like a queue's: hold, retrieve, mute, DTMF, consult and release work on
//! it, and desktops see `outboundDialing` then `dialogState`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialtone_core::messages::OutboundCall;
use dialtone_core::{CallId, Scenario, SessionId, UnitId};

use super::dial::{parse_target, Target};
use super::{AgentError, AgentKey, AgentState, OperatorCall};
use crate::io::Fact;
use crate::registrar::UserKey;
use crate::services::RouteOwner;
use crate::sessions::StartRequest;
use crate::timers::Timer;
use crate::CallCore;

/// How long the agent's phone rings for its own call.
pub(crate) const MAKE_CALL_RING: Duration = Duration::from_secs(30);

/// The scenario of a `makeCall` session: the call core does the work.
const SCENARIO: &str = "// makeCall: the agent's outbound call, driven by the engine.\n";

/// What an agent's outbound call is doing, in its agent call.
pub(crate) struct Outbound {
    pub to: String,
    pub session: SessionId,
    /// The far end's call, once dialled.
    pub far: Option<CallId>,
    /// The state (and reason) the agent goes back to afterwards.
    pub prior: (AgentState, String),
    pub callerid: String,
}

impl CallCore {
    /// `makeCall`: rings the agent's phone, then dials `to`.
    pub(crate) fn make_call(
        &mut self,
        now: Instant,
        key: &AgentKey,
        to: &str,
        callerid: Option<String>,
    ) -> Result<(), AgentError> {
        let Some(agent) = self.acd.agents.get(key) else {
            return Err(AgentError::NotFound(key.1.clone()));
        };
        if !matches!(
            agent.state,
            AgentState::Ready | AgentState::NotReady | AgentState::AfterCallWork
        ) {
            return Err(AgentError::InvalidState {
                agent: key.1.clone(),
                state: agent.state.as_str(),
                command: "make a call",
            });
        }
        if let Target::Queue(_) = parse_target(to) {
            return Err(AgentError::BadTarget(
                "a call to a queue is a scenario's (enqueueACDRequest)".into(),
            ));
        }
        let prior = match agent.state {
            AgentState::NotReady => (AgentState::NotReady, agent.reason.clone()),
            _ => (AgentState::Ready, String::new()),
        };
        let user = UserKey {
            account: agent.cfg.account.clone(),
            application: agent.cfg.application.clone(),
            user: agent.cfg.user.clone(),
        };
        let callerid = callerid.unwrap_or_else(|| user.user.clone());
        let started = self
            .start_session(
                now,
                StartRequest {
                    scenario: Arc::new(Scenario {
                        name: "makeCall".into(),
                        source: SCENARIO.into(),
                    }),
                    custom_data: to.to_string(),
                    owner: Some(RouteOwner {
                        account: user.account.clone(),
                        application: user.application.clone(),
                        rule: None,
                    }),
                },
            )
            .map_err(|e| AgentError::Refused(e.to_string()))?;
        let session = started.id;
        let call = CallId::next();
        self.acd.calls.insert(
            call,
            OperatorCall {
                agent: key.clone(),
                request: None,
                connected: false,
                timed_out: false,
                after_call_work: Duration::ZERO,
                queue: String::new(),
                callerid: to.to_string(),
                muted: false,
                transferable: false,
                outbound: Some(Box::new(Outbound {
                    to: to.to_string(),
                    session,
                    far: None,
                    prior,
                    callerid,
                })),
            },
        );
        self.set_agent_state(now, key, AgentState::Reserved, "outbound call".into());
        if let Some(a) = self.acd.agents.get_mut(key) {
            a.call = Some(call);
        }
        self.outbound_fact(call, "initiating", None);
        self.agent_call_fact(key, call, "initiating");
        self.timers.set(now + MAKE_CALL_RING, Timer::AcdRing(call));
        let out = Box::new(OutboundCall {
            call,
            to: user.user.clone(),
            callerid: Some(to.to_string()),
            display_name: None,
            headers: vec![("X-Dialtone-MakeCall".into(), to.to_string())],
            auth_user: None,
            password: None,
        });
        self.call_user_key(now, session, out, user);
        Ok(())
    }

    /// The agent's phone answered its own call: the far end is dialled.
    pub(crate) fn outbound_agent_answered(&mut self, now: Instant, call: CallId) {
        let Some(op) = self.acd.calls.get_mut(&call) else {
            return;
        };
        op.connected = true;
        let agent = op.agent.clone();
        let Some(plan) = op.outbound.as_mut() else {
            return;
        };
        let far = CallId::next();
        plan.far = Some(far);
        let (to, session, callerid) = (plan.to.clone(), plan.session, plan.callerid.clone());
        self.acd.far.insert(far, (call, session));
        let reason = "outbound call".to_string();
        self.set_agent_state(now, &agent, AgentState::Talking, reason);
        self.outbound_fact(call, "initiated", None);
        self.agent_call_fact(&agent, call, "alerting");
        let application = self
            .acd
            .agents
            .get(&agent)
            .map(|a| a.cfg.application.clone())
            .unwrap_or_default();
        let out = Box::new(OutboundCall {
            call: far,
            to: to.clone(),
            callerid: Some(callerid),
            display_name: None,
            headers: Vec::new(),
            auth_user: None,
            password: None,
        });
        self.dial_party(
            now,
            session,
            out,
            &parse_target(&to),
            &agent.0,
            &application,
        );
    }

    /// The far end answered: the agent and it hear each other.
    pub(crate) fn outbound_far_connected(&mut self, far: CallId) {
        let Some((call, _)) = self.acd.far.get(&far).copied() else {
            return;
        };
        let Some(agent) = self.acd.calls.get(&call).map(|op| op.agent.clone()) else {
            return;
        };
        let (a, f) = (UnitId::from(call), UnitId::from(far));
        self.wire_both(a, f);
        self.outbound_fact(call, "active", None);
        let state = self.agent_dialog_state(&agent);
        self.agent_call_fact(&agent, call, state);
    }

    /// The far end failed (`code`) or hung up: the agent's call ends too
    /// (and the session, if no agent has the call any more).
    pub(crate) fn outbound_far_ended(&mut self, now: Instant, far: CallId, code: Option<u16>) {
        let Some((call, session)) = self.acd.far.remove(&far) else {
            return;
        };
        self.acd.far.remove(&call);
        if let Some(code) = code {
            self.outbound_fact(call, "failed", Some(code));
        }
        self.hangup(now, session, call, Vec::new());
        if !self.acd.calls.contains_key(&call) {
            self.terminate_session(session, None, "makeCall ended");
        }
    }

    /// The agent's own call is over (failed or ended): the far end is hung
    /// up, the session ends, and the agent goes back to what it was.
    pub(crate) fn outbound_agent_ended(&mut self, now: Instant, call: CallId, failed: Option<u16>) {
        let Some(op) = self.acd.calls.get(&call) else {
            return;
        };
        let Some(plan) = op.outbound.as_deref() else {
            return;
        };
        let (agent, session, far) = (op.agent.clone(), plan.session, plan.far);
        let prior = plan.prior.clone();
        if failed.is_some() {
            self.outbound_fact(call, "failed", failed);
        }
        let state = if failed.is_some() {
            "failed"
        } else {
            "dropped"
        };
        self.agent_call_fact(&agent, call, state);
        self.acd.calls.remove(&call);
        if let Some(far) = far {
            self.acd.far.remove(&far);
            self.acd.far.remove(&call);
            self.hangup(now, session, far, Vec::new());
        }
        self.terminate_session(session, None, "makeCall ended");
        let on_it = self.acd.agents.get(&agent).is_some_and(|a| {
            a.call == Some(call)
                && matches!(
                    a.state,
                    AgentState::Reserved | AgentState::Talking | AgentState::Held
                )
        });
        if on_it {
            let (next, reason) = prior;
            self.set_agent_state(now, &agent, next, reason);
        }
        self.acd_dispatch(now);
    }

    /// A session ended: the agent calls it carried are over.
    pub(crate) fn outbound_session_ended(&mut self, now: Instant, session: SessionId) {
        let calls = super::keys_where(&self.acd.calls, |_, op| {
            op.outbound.as_ref().is_some_and(|p| p.session == session)
        });
        for call in calls {
            self.outbound_agent_ended(now, call, None);
        }
    }

    fn outbound_fact(&mut self, call: CallId, state: &'static str, code: Option<u16>) {
        let Some(op) = self.acd.calls.get(&call) else {
            return;
        };
        let Some(plan) = op.outbound.as_deref() else {
            return;
        };
        let fact = Fact::OutboundDialing {
            account: op.agent.0.clone(),
            agent: op.agent.1.clone(),
            queues: self.acd.queues_of(&op.agent),
            call,
            to: plan.to.clone(),
            state,
            code,
        };
        self.fact(fact);
    }
}
