//! Consultation: an agent puts the customer on hold and calls someone else
//! (another agent, a queue's next ready agent, a user, a SIP URI or a
//! number), then hands the customer over (`consultTransfer`), brings all
//! three together (`consultConference`) or goes back to the customer
//! (`cancelConsult`).
//!
//! The consulted party's call is a call of the customer's session that the
//! scenario never sees, as a supervisor's is. While the consult is up the
//! customer hears hold music and the agent hears the consulted party. On
//! `consultTransfer` (or when the agent hangs up with the consulted party
//! answered) the scenario's call to the agent takes over the consulted
//! party's dialog, as an INVITE with `Replaces` would: the call keeps its
//! id, media endpoint and bridge to the customer, a re-INVITE moves the
//! consulted phone's media there, and the agent's own phone gets BYE. The
//! scenario sees no hang-up; if the consulted party is an agent, the call
//! becomes that agent's queue call.

use std::time::Instant;

use dialtone_core::messages::OutboundCall;
use dialtone_core::{CallId, SessionId, UnitId};
use dialtone_sdp::Direction;

use super::agents::serves;
use super::dial::{parse_target, Target};
use super::{AgentError, AgentKey, AgentState};
use crate::call::{OwnReInvite, Phase};
use crate::io::{Fact, MediaCommand};
use crate::CallCore;

/// Played to a customer on hold: a slow arpeggio, quiet, looped.
pub(crate) const HOLD_MUSIC: &str =
    "392@-22,494@-22,587@-22;*(0.35/0.05/1,0.35/0.05/2,0.35/0.05/3,0.35/0.45/2)";

/// A consultation, by the consulted party's call.
pub(crate) struct Consult {
    pub agent: AgentKey,
    pub agent_call: CallId,
    pub customer: CallId,
    pub session: SessionId,
    pub to: String,
    /// The consulted agent, and the state (with reason) it goes back to
    /// when the consult ends without a transfer.
    pub target: Option<(AgentKey, AgentState, String)>,
    pub connected: bool,
    /// All three talk in this mixer (`consultConference`).
    pub mixer: Option<UnitId>,
}

/// Hold music playing to a customer, by the agent's call.
pub(crate) struct Hold {
    pub player: UnitId,
    pub customer: CallId,
    pub session: SessionId,
}

impl CallCore {
    /// The customer of an agent's call: the session's other connected call
    /// that is no agent's, supervisor's or consulted party's.
    pub(crate) fn customer_of(&self, session: SessionId, agent_call: CallId) -> Option<CallId> {
        self.calls
            .values()
            .filter(|c| {
                c.session == session
                    && c.id != agent_call
                    && c.phase == Phase::Confirmed
                    && !self.acd.calls.contains_key(&c.id)
                    && !self.acd.monitors.contains_key(&c.id)
                    && !self.acd.consults.contains_key(&c.id)
            })
            .map(|c| c.id)
            .min()
    }

    /// Calls of a session that its scenario never sees (supervisors',
    /// consulted parties', both ends of an agent's own call).
    pub(crate) fn is_hidden_call(&self, call: CallId) -> bool {
        let acd = &self.acd;
        let idle = acd.calls.is_empty() && acd.far.is_empty();
        if idle && acd.monitors.is_empty() && acd.consults.is_empty() {
            // No contact centre at work (the common case): nothing to hide.
            return false;
        }
        acd.monitors.contains_key(&call)
            || acd.consults.contains_key(&call)
            || acd.far.contains_key(&call)
            || acd.calls.get(&call).is_some_and(|op| op.outbound.is_some())
    }

    /// The consult agent `key` has up, by the consulted party's call.
    fn consult_of(&self, key: &AgentKey) -> Option<CallId> {
        self.acd
            .consults
            .iter()
            .find(|(_, c)| c.agent == *key)
            .map(|(call, _)| *call)
    }

    /// The consult of agent `key` whose party answered, or `invalidState`
    /// for `command`.
    fn answered_consult(
        &self,
        key: &AgentKey,
        command: &'static str,
    ) -> Result<CallId, AgentError> {
        self.consult_of(key)
            .filter(|c| self.acd.consults.get(c).is_some_and(|c| c.connected))
            .ok_or_else(|| self.refusal(key, command))
    }

    pub(crate) fn is_consulting(&self, key: &AgentKey) -> bool {
        self.consult_of(key).is_some()
    }

    /// `consult`: the customer goes on hold, the agent's phone calls `to`.
    pub(crate) fn consult(
        &mut self,
        now: Instant,
        key: &AgentKey,
        to: &str,
    ) -> Result<(), AgentError> {
        if self.is_consulting(key) {
            return Err(self.refusal(key, "consult twice"));
        }
        let Some(agent) = self.acd.agents.get(key) else {
            return Err(AgentError::NotFound(key.1.clone()));
        };
        let (held, agent_user) = (agent.state == AgentState::Held, agent.cfg.user.clone());
        let agent_app = agent.cfg.application.clone();
        let call = agent.call;
        let session = call.and_then(|c| self.calls.get(&c).map(|x| x.session));
        let (Some(agent_call), Some(session)) = (call, session) else {
            return Err(AgentError::NotFound(format!("{}'s call", key.1)));
        };
        let Some(customer) = self.customer_of(session, agent_call) else {
            return Err(self.refusal(key, "consult without a customer"));
        };
        let target = match parse_target(to) {
            Target::Agent(id) => {
                let k = (key.0.clone(), id.clone());
                let a = self
                    .acd
                    .agents
                    .get(&k)
                    .ok_or_else(|| AgentError::NotFound(id.clone()))?;
                if k == *key
                    || !matches!(
                        a.state,
                        AgentState::Ready | AgentState::NotReady | AgentState::AfterCallWork
                    )
                {
                    return Err(AgentError::InvalidState {
                        agent: id,
                        state: a.state.as_str(),
                        command: "take a consult call",
                    });
                }
                Some(k)
            }
            Target::Queue(name) => {
                let q = self
                    .acd
                    .queues
                    .get(&(key.0.clone(), name.clone()))
                    .ok_or_else(|| AgentError::NotFound(format!("queue {name}")))?;
                let k = self
                    .acd
                    .agents
                    .iter()
                    .filter(|(k, a)| {
                        *k != key && a.state == AgentState::Ready && serves(&a.cfg, &q.cfg)
                    })
                    .min_by_key(|(k, a)| (a.idle_since, (*k).clone()))
                    .map(|(k, _)| k.clone())
                    .ok_or(AgentError::NoneReady(name))?;
                Some(k)
            }
            _ => None,
        };
        // The customer hears music; the agent's phone talks to the new call.
        self.start_hold_music(session, agent_call, customer);
        if held {
            self.hold(session, agent_call, false);
        }
        self.set_agent_state(now, key, AgentState::Held, String::new());
        if let Some(a) = self.acd.agents.get_mut(key) {
            a.call = Some(agent_call);
        }
        self.agent_call_fact(key, agent_call, "held");
        let call = CallId::next();
        let target = target.map(|k| {
            let (state, reason) = self
                .acd
                .agents
                .get(&k)
                .map(|a| (a.state, a.reason.clone()))
                .unwrap_or((AgentState::Ready, String::new()));
            (k, state, reason)
        });
        self.acd.consults.insert(
            call,
            Consult {
                agent: key.clone(),
                agent_call,
                customer,
                session,
                to: to.to_string(),
                target: target.clone(),
                connected: false,
                mixer: None,
            },
        );
        self.consult_fact(call, "alerting");
        let out = Box::new(OutboundCall {
            call,
            to: to.to_string(),
            callerid: Some(agent_user),
            display_name: None,
            headers: vec![("X-Consult-From".into(), key.1.clone())],
            auth_user: None,
            password: None,
        });
        if let Some((k, _, _)) = &target {
            let reason = format!("consult from {}", key.1);
            self.set_agent_state(now, k, AgentState::Reserved, reason);
        }
        let party = match target {
            Some((k, _, _)) => Target::Agent(k.1),
            None => parse_target(to),
        };
        self.dial_party(now, session, out, &party, &key.0, &agent_app);
        Ok(())
    }

    /// `cancelConsult`: the consulted party's call ends and the agent is
    /// back with the customer.
    pub(crate) fn cancel_consult(
        &mut self,
        now: Instant,
        key: &AgentKey,
    ) -> Result<(), AgentError> {
        let Some(call) = self.consult_of(key) else {
            return Err(self.refusal(key, "cancel a consult"));
        };
        let Some(c) = self.drop_consult(now, call, "dropped") else {
            return Ok(());
        };
        self.hangup(now, c.session, call, Vec::new());
        self.back_to_customer(now, key, c.agent_call, c.customer);
        Ok(())
    }

    /// `consultConference`: the customer, the agent and the consulted party
    /// talk together.
    pub(crate) fn consult_conference(
        &mut self,
        now: Instant,
        key: &AgentKey,
    ) -> Result<(), AgentError> {
        let call = self.answered_consult(key, "conference (no consult answered)")?;
        let Some(c) = self.acd.consults.get(&call) else {
            return Ok(());
        };
        if c.mixer.is_some() {
            return Err(self.refusal(key, "conference twice"));
        }
        let (session, agent_call, customer) = (c.session, c.agent_call, c.customer);
        self.stop_hold_music(agent_call);
        let mixer = self.acd_mixer(session);
        for call in [customer, agent_call, call] {
            let unit = UnitId::from(call);
            self.media(MediaCommand::SetMember {
                mixer,
                spec: super::monitor::member(unit, Vec::new()),
            });
            self.media(MediaCommand::Connect {
                from: mixer,
                to: unit,
            });
        }
        if let Some(c) = self.acd.consults.get_mut(&call) {
            c.mixer = Some(mixer);
        }
        self.set_agent_state(now, key, AgentState::Talking, String::new());
        if let Some(a) = self.acd.agents.get_mut(key) {
            a.call = Some(agent_call);
        }
        self.agent_call_fact(key, agent_call, "active");
        self.consult_fact(call, "conference");
        Ok(())
    }

    /// `consultTransfer`: the consulted party (answered) takes the agent's
    /// place on the customer's call.
    pub(crate) fn consult_transfer(
        &mut self,
        now: Instant,
        key: &AgentKey,
    ) -> Result<(), AgentError> {
        let call = self.answered_consult(key, "transfer (no consult answered)")?;
        if !self.consult_takeover(now, call, false) {
            return Err(self.refusal(key, "transfer (the consulted call is not up)"));
        }
        Ok(())
    }

    /// The agent's leg of `agent_call` ended by itself: with an answered
    /// consult up, the consulted party takes its place (the scenario sees
    /// no hang-up). Whether it did.
    pub(crate) fn consult_takes_over_ended_leg(
        &mut self,
        now: Instant,
        agent_call: CallId,
    ) -> bool {
        let found = self
            .acd
            .consults
            .iter()
            .find(|(_, c)| c.agent_call == agent_call && c.connected)
            .map(|(call, _)| *call);
        match found {
            Some(call) => self.consult_takeover(now, call, true),
            None => false,
        }
    }

    /// The agent's call takes over the dialog of consult `call`; the agent's
    /// own leg gets BYE unless it is already gone. Whether it did.
    fn consult_takeover(&mut self, now: Instant, call: CallId, leg_gone: bool) -> bool {
        let usable = self
            .calls
            .get(&call)
            .is_some_and(|k| k.phase == Phase::Confirmed && k.local_rtp.is_some());
        let agent_call = self.acd.consults.get(&call).map(|c| c.agent_call);
        if !usable || agent_call.is_none_or(|a| !self.calls.contains_key(&a)) {
            return false;
        }
        let Some(c) = self.drop_consult(now, call, "transferred") else {
            return false;
        };
        let Some(k) = self.calls.remove(&call) else {
            return false;
        };
        self.stop_hold_music(c.agent_call);
        // A supervisor on the agent's call leaves with the agent.
        self.monitor_call_ended(now, c.agent_call);
        let Some(a) = self.calls.get_mut(&c.agent_call) else {
            return false;
        };
        let old = std::mem::replace(&mut a.leg, k.leg);
        a.sdp_session = k.sdp_session;
        a.sdp_version = k.sdp_version;
        a.wish = Direction::SendRecv;
        a.held_by_peer = k.held_by_peer;
        a.reinvite_offer = None;
        a.glare_retries = 0;
        a.reoffer = false;
        a.refer_pending = false;
        a.transferring = false;
        a.our_reinvite = Some(OwnReInvite::Hold);
        self.legs.remove(&old);
        self.legs.insert(k.leg, c.agent_call);
        tracing::info!(call = %c.agent_call, consult = %call, "consulted party took over the agent's call");
        // The consulted call's own endpoint goes; its history ends here.
        self.release_call_units(&k);
        self.media(MediaCommand::Release(k.unit()));
        if let Some(s) = self.sessions.get_mut(&k.session) {
            s.calls.retain(|x| *x != call);
        }
        self.fact(Fact::CallEnded {
            call,
            connected: true,
            code: None,
            reason: Some("transferred".into()),
        });
        if !leg_gone {
            self.ua(dialtone_sip::UaCommand::Hangup {
                leg: old,
                headers: Vec::new(),
            });
        }
        self.send_own_reinvite(c.agent_call, Vec::new());
        let (agent_unit, customer) = (UnitId::from(c.agent_call), UnitId::from(c.customer));
        self.wire_both(agent_unit, customer);
        // The first agent is done with the call; a consulted agent has it.
        self.agent_call_fact(&c.agent, c.agent_call, "dropped");
        let acw = self
            .acd
            .calls
            .get(&c.agent_call)
            .map(|op| op.after_call_work)
            .unwrap_or_default();
        let next = if acw.is_zero() {
            AgentState::Ready
        } else {
            AgentState::AfterCallWork
        };
        self.set_agent_state(now, &c.agent, next, String::new());
        if let Some(a) = self.acd.agents.get_mut(&c.agent) {
            a.call = None;
        }
        match c.target {
            Some((b, _, _)) => {
                if let Some(op) = self.acd.calls.get_mut(&c.agent_call) {
                    op.agent = b.clone();
                    op.muted = false;
                    if let Some(plan) = op.outbound.as_mut() {
                        plan.prior = (AgentState::Ready, String::new());
                    }
                }
                if let Some(a) = self.acd.agents.get_mut(&b) {
                    a.call = Some(c.agent_call);
                    a.answered += 1;
                }
                self.set_agent_state(now, &b, AgentState::Talking, String::new());
                self.agent_call_fact(&b, c.agent_call, "active");
            }
            None => {
                // No agent has the call now. An agent's own call has no
                // scenario to end it: each end takes the other with it.
                let plan = self
                    .acd
                    .calls
                    .remove(&c.agent_call)
                    .and_then(|op| op.outbound);
                if let Some(far) = plan.and_then(|p| p.far.map(|f| (f, p.session))) {
                    self.acd.far.insert(c.agent_call, far);
                }
            }
        }
        self.acd_dispatch(now);
        true
    }

    /// The consulted party answered: the agent hears it, and it the agent.
    pub(crate) fn consult_connected(&mut self, now: Instant, call: CallId) {
        let Some(c) = self.acd.consults.get_mut(&call) else {
            return;
        };
        c.connected = true;
        let (agent_unit, target) = (UnitId::from(c.agent_call), c.target.clone());
        let unit = UnitId::from(call);
        self.wire_both(unit, agent_unit);
        if let Some((b, _, _)) = target {
            let reason = self
                .acd
                .agents
                .get(&b)
                .map(|a| a.reason.clone())
                .unwrap_or_default();
            self.set_agent_state(now, &b, AgentState::Talking, reason);
        }
        self.consult_fact(call, "active");
    }

    /// A call ended: a consult it was part of ends (the consulted party's
    /// call, the agent's or the customer's), and hold music for it stops.
    pub(crate) fn consult_party_ended(&mut self, now: Instant, call: CallId, failed: bool) {
        if self.acd.consults.contains_key(&call) {
            let state = if failed { "failed" } else { "dropped" };
            if let Some(c) = self.drop_consult(now, call, state) {
                if c.mixer.is_some() {
                    // Out of a conference: the two talk again.
                    self.back_to_customer(now, &c.agent, c.agent_call, c.customer);
                } else if self.calls.contains_key(&c.agent_call) {
                    // The customer stays on hold until the agent retrieves.
                    self.media(MediaCommand::Disconnect {
                        from: UnitId::from(call),
                        to: UnitId::from(c.agent_call),
                    });
                }
            }
            return;
        }
        let involved = super::keys_where(&self.acd.consults, |_, c| {
            c.agent_call == call || c.customer == call
        });
        for k in involved {
            if let Some(c) = self.drop_consult(now, k, "dropped") {
                self.hangup(now, c.session, k, Vec::new());
            }
        }
        let holds = super::keys_where(&self.acd.holds, |a, h| *a == call || h.customer == call);
        for a in holds {
            self.stop_hold_music(a);
        }
    }

    /// Forgets consult `call`: its mixer goes and a consulted agent goes
    /// back to what it was doing; desktops learn `state`.
    fn drop_consult(&mut self, now: Instant, call: CallId, state: &'static str) -> Option<Consult> {
        self.consult_fact(call, state);
        let c = self.acd.consults.remove(&call)?;
        if let Some(mixer) = c.mixer {
            self.units.remove(&mixer);
            self.media(MediaCommand::Release(mixer));
        }
        if let (Some((b, was, reason)), false) = (&c.target, state == "transferred") {
            let busy = self.acd.agents.get(b).is_some_and(|a| {
                matches!(a.state, AgentState::Reserved | AgentState::Talking) && a.call.is_none()
            });
            if busy {
                let (next, reason) = match was {
                    AgentState::NotReady => (AgentState::NotReady, reason.clone()),
                    _ => (AgentState::Ready, String::new()),
                };
                self.set_agent_state(now, b, next, reason);
            }
        }
        Some(c)
    }

    /// The agent and the customer hear each other again (directly, or
    /// through a supervisor's mixer), with no hold music.
    fn reconnect(&mut self, agent_call: CallId, customer: CallId) {
        self.stop_hold_music(agent_call);
        if !self.calls.contains_key(&agent_call) || !self.calls.contains_key(&customer) {
            return;
        }
        let (a, c) = (UnitId::from(agent_call), UnitId::from(customer));
        let mixer = self
            .acd
            .monitors
            .values()
            .find(|m| m.agent_call == agent_call)
            .and_then(|m| m.mixer);
        match mixer {
            Some(mixer) => {
                self.media(MediaCommand::Connect { from: mixer, to: a });
                self.media(MediaCommand::Connect { from: mixer, to: c });
            }
            None => {
                self.wire_both(a, c);
            }
        }
    }

    /// Back from a consult: the agent talks to the customer again.
    fn back_to_customer(
        &mut self,
        now: Instant,
        key: &AgentKey,
        agent_call: CallId,
        customer: CallId,
    ) {
        self.reconnect(agent_call, customer);
        let on_it = self.calls.contains_key(&agent_call)
            && self
                .acd
                .agents
                .get(key)
                .is_some_and(|x| x.call == Some(agent_call));
        if on_it {
            self.set_agent_state(now, key, AgentState::Talking, String::new());
            self.agent_call_fact(key, agent_call, "active");
        }
    }

    /// The customer of `agent_call` hears hold music instead of the agent,
    /// and the agent hears nothing of the customer.
    pub(crate) fn start_hold_music(
        &mut self,
        session: SessionId,
        agent_call: CallId,
        customer: CallId,
    ) {
        if self.acd.holds.contains_key(&agent_call) {
            return;
        }
        let media = match dialtone_media::tones::ToneScript::parse(HOLD_MUSIC) {
            Ok(script) => dialtone_media::PlayerMedia::Tones(script),
            Err(e) => {
                tracing::error!(error = %e, "hold music");
                return;
            }
        };
        let player = UnitId(CallId::next().0);
        let shard = self.shard(session);
        self.media(MediaCommand::AddPlayer {
            unit: player,
            shard,
            media,
            looped: true,
        });
        self.media(MediaCommand::Connect {
            from: player,
            to: UnitId::from(customer),
        });
        self.media(MediaCommand::Disconnect {
            from: UnitId::from(customer),
            to: UnitId::from(agent_call),
        });
        self.acd.holds.insert(
            agent_call,
            Hold {
                player,
                customer,
                session,
            },
        );
    }

    /// Hold music for `agent_call`'s customer stops (the caller reconnects
    /// what the customer hears).
    pub(crate) fn stop_hold_music(&mut self, agent_call: CallId) {
        if let Some(h) = self.acd.holds.remove(&agent_call) {
            self.media(MediaCommand::Release(h.player));
        }
    }

    /// Plain hold and retrieve from the desktop: music for the customer,
    /// and back.
    pub(crate) fn hold_customer(&mut self, agent_call: CallId, hold: bool) {
        let Some(session) = self.calls.get(&agent_call).map(|c| c.session) else {
            return;
        };
        let Some(customer) = self.customer_of(session, agent_call) else {
            return;
        };
        if hold {
            self.start_hold_music(session, agent_call, customer);
        } else {
            self.reconnect(agent_call, customer);
        }
    }

    /// A session ended: its consults and hold music are gone with it.
    pub(crate) fn consults_session_ended(&mut self, now: Instant, session: SessionId) {
        let calls = super::keys_where(&self.acd.consults, |_, c| c.session == session);
        for call in calls {
            self.drop_consult(now, call, "dropped");
        }
        let holds = super::keys_where(&self.acd.holds, |_, h| h.session == session);
        for a in holds {
            self.stop_hold_music(a);
        }
    }

    fn consult_fact(&mut self, call: CallId, state: &'static str) {
        let Some(c) = self.acd.consults.get(&call) else {
            return;
        };
        let queues = |k: &AgentKey| self.acd.queues_of(k);
        let fact = Fact::Consult {
            account: c.agent.0.clone(),
            agent: c.agent.1.clone(),
            queues: queues(&c.agent),
            consulted: c.target.as_ref().map(|(k, _, _)| k.1.clone()),
            consulted_queues: c
                .target
                .as_ref()
                .map(|(k, _, _)| queues(k))
                .unwrap_or_default(),
            call,
            agent_call: c.agent_call,
            to: c.to.clone(),
            state,
        };
        self.fact(fact);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_music_is_a_valid_tone_script() {
        assert!(dialtone_media::tones::ToneScript::parse(HOLD_MUSIC).is_ok());
    }
}
