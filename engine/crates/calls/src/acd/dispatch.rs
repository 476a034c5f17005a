//! ACD requests: queueing, distribution to agents, and what the calls to
//! agents bring back.

use std::time::{Duration, Instant};

use dialtone_core::acd::{AcdEnqueue, AcdEvent};
use dialtone_core::messages::{CallEvent, OutboundCall, SessionEvent};
use dialtone_core::{CallId, SessionId};

use super::agents::{serves, AgentState};
use super::{AgentKey, OperatorCall, Place, Reaction, Request, RequestKey};
use crate::registrar::UserKey;
use crate::timers::Timer;
use crate::CallCore;

/// Handle time assumed for the wait estimate before any call was answered.
const DEFAULT_HANDLE_TIME: Duration = Duration::from_secs(180);

impl CallCore {
    pub(crate) fn acd_enqueue(&mut self, now: Instant, session: SessionId, req: AcdEnqueue) {
        let key = (session, req.request);
        // A session of no account (`dialtone run`, `dialtone test`) uses
        // the queues of no account, as its users are those of no account.
        let Some(account) = self.sessions.get(&session).map(|s| {
            s.owner
                .as_ref()
                .map(|o| o.account.clone())
                .unwrap_or_default()
        }) else {
            return;
        };
        if self.acd.requests.contains_key(&key) {
            return self.acd_event(key, AcdEvent::Error("request id in use".into()));
        }
        let qkey = (account.clone(), req.queue.clone());
        let Some(queue) = self.acd.queues.get(&qkey) else {
            let why = format!("no queue {:?}", req.queue);
            return self.acd_event(key, AcdEvent::Error(why));
        };
        let anyone = match &req.agent {
            Some(id) => self
                .acd
                .agents
                .get(&(account.clone(), id.clone()))
                .is_some_and(|a| a.state != AgentState::LoggedOut && !a.cfg.supervisor),
            None => self
                .acd
                .agents
                .values()
                .any(|a| a.state != AgentState::LoggedOut && serves(&a.cfg, &queue.cfg)),
        };
        if !anyone {
            return self.acd_event(key, AcdEvent::Offline);
        }
        if queue.waiting.len() >= queue.cfg.max_waiting as usize {
            return self.acd_event(key, AcdEvent::QueueFull);
        }
        self.acd.seq += 1;
        let place: Place = (req.priority.clamp(1, 100), self.acd.seq);
        self.acd.requests.insert(
            key,
            Request {
                session,
                id: req.request,
                account,
                queue: req.queue,
                callerid: req.callerid,
                headers: req.headers,
                place,
                enqueued_at: now,
                offered: None,
                agent: req.agent.clone(),
            },
        );
        if req.agent.is_some() {
            self.acd.targeted += 1;
        }
        if let Some(q) = self.acd.queues.get_mut(&qkey) {
            q.waiting.insert((place, key));
        }
        self.acd.dirty = true;
        self.acd_event(key, AcdEvent::Queued);
        self.acd_dispatch(now);
    }

    /// `ACDRequest.getStatus()`: its place and the wait to expect.
    pub(crate) fn acd_status(&mut self, session: SessionId, request: u64) {
        let key = (session, request);
        let Some(req) = self.acd.requests.get(&key) else {
            return self.acd_event(key, AcdEvent::Error("the request is not queued".into()));
        };
        let qkey = (req.account.clone(), req.queue.clone());
        let Some(q) = self.acd.queues.get(&qkey) else {
            return;
        };
        let position = if req.offered.is_some() {
            0
        } else {
            q.waiting.range(..(req.place, key)).count() as u32 + 1
        };
        let serving = self
            .acd
            .agents
            .values()
            .filter(|a| {
                matches!(
                    a.state,
                    AgentState::Ready
                        | AgentState::Reserved
                        | AgentState::Talking
                        | AgentState::AfterCallWork
                ) && serves(&a.cfg, &q.cfg)
            })
            .count()
            .max(1) as u32;
        let wait = DEFAULT_HANDLE_TIME.as_secs() as u32 * position / serving;
        self.acd_event(
            key,
            AcdEvent::Waiting {
                position,
                ewt_minutes: wait.div_ceil(60),
            },
        );
    }

    /// `ACDRequest.cancel()`: out of its queue; a phone ringing for it
    /// stops, and its agent is ready again.
    pub(crate) fn acd_cancel(&mut self, now: Instant, session: SessionId, request: u64) {
        let key = (session, request);
        let Some(req) = self.acd.take_request(&key) else {
            return;
        };
        self.acd_abandoned(now, req);
    }

    /// A session ended: its requests are abandoned.
    pub(crate) fn acd_session_ended(&mut self, now: Instant, session: SessionId) {
        self.monitors_session_ended(session);
        self.consults_session_ended(now, session);
        self.outbound_session_ended(now, session);
        let keys: Vec<RequestKey> = self
            .acd
            .requests
            .keys()
            .filter(|(s, _)| *s == session)
            .copied()
            .collect();
        for key in keys {
            if let Some(req) = self.acd.take_request(&key) {
                self.acd_abandoned(now, req);
            }
        }
    }

    fn acd_abandoned(&mut self, now: Instant, req: Request) {
        let qkey = (req.account.clone(), req.queue.clone());
        if let Some(q) = self.acd.queues.get_mut(&qkey) {
            q.waiting.remove(&(req.place, (req.session, req.id)));
            q.abandoned += 1;
        }
        self.acd.dirty = true;
        if let Some(call) = req.offered {
            if let Some(op) = self.acd.calls.get_mut(&call) {
                op.request = None;
                let agent = op.agent.clone();
                self.hangup(now, req.session, call, Vec::new());
                if self
                    .acd
                    .agents
                    .get(&agent)
                    .is_some_and(|a| a.state == AgentState::Reserved)
                {
                    self.set_agent_state(now, &agent, AgentState::Ready, String::new());
                }
            }
        }
        self.acd_dispatch(now);
    }

    /// Forgets a request that no longer waits (its queue is gone).
    pub(crate) fn acd_request_done(&mut self, key: RequestKey) {
        self.acd.take_request(&key);
    }

    pub(crate) fn acd_event(&mut self, (session, request): RequestKey, event: AcdEvent) {
        self.event(session, SessionEvent::Acd { request, event });
    }

    /// Offers waiting requests to ready agents until no more can go: each
    /// round, the most urgent request (priority, then arrival) among the
    /// heads of the queues that have an agent for it goes to that queue's
    /// longest idle agent.
    pub(crate) fn acd_dispatch(&mut self, now: Instant) {
        loop {
            let mut best: Option<(Place, RequestKey, AgentKey)> = None;
            for q in self.acd.queues.values() {
                // The queue's most urgent request that an agent can take
                // now: its head, or (when requests for named agents wait)
                // one of those further back.
                let mut head_seen = false;
                for &(place, key) in &q.waiting {
                    if best.as_ref().is_some_and(|(p, _, _)| *p <= place) {
                        break;
                    }
                    let named = self.acd.requests.get(&key).and_then(|r| r.agent.as_ref());
                    let agent = match named {
                        Some(id) => {
                            let k = (q.cfg.account.clone(), id.clone());
                            self.acd
                                .agents
                                .get(&k)
                                .filter(|a| a.state == AgentState::Ready)
                                .map(|_| k)
                        }
                        None if head_seen => continue,
                        None => {
                            head_seen = true;
                            self.acd
                                .agents
                                .iter()
                                .filter(|(_, a)| {
                                    a.state == AgentState::Ready && serves(&a.cfg, &q.cfg)
                                })
                                .min_by_key(|(k, a)| (a.idle_since, (*k).clone()))
                                .map(|(k, _)| k.clone())
                        }
                    };
                    if let Some(agent) = agent {
                        best = Some((place, key, agent));
                        break;
                    }
                    if self.acd.targeted == 0 {
                        break;
                    }
                }
            }
            let Some((place, key, agent)) = best else {
                break;
            };
            self.acd_offer(now, place, key, agent);
        }
        self.acd_react(now);
    }

    /// Reserves `agent` and rings its phone for request `key`.
    fn acd_offer(&mut self, now: Instant, place: Place, key: RequestKey, agent: AgentKey) {
        let Some(req) = self.acd.requests.get_mut(&key) else {
            return;
        };
        let qkey = (req.account.clone(), req.queue.clone());
        let call = CallId::next();
        req.offered = Some(call);
        let (callerid, headers) = (req.callerid.clone(), req.headers.clone());
        let (ring, acw) = match self.acd.queues.get_mut(&qkey) {
            Some(q) => {
                q.waiting.remove(&(place, key));
                (q.cfg.ring_timeout, q.cfg.after_call_work)
            }
            None => return,
        };
        let Some(a) = self.acd.agents.get_mut(&agent) else {
            return;
        };
        a.call = Some(call);
        let user = UserKey {
            account: a.cfg.account.clone(),
            application: a.cfg.application.clone(),
            user: a.cfg.user.clone(),
        };
        self.set_agent_state(now, &agent, AgentState::Reserved, key_reason(&qkey.1));
        if let Some(a) = self.acd.agents.get_mut(&agent) {
            a.call = Some(call);
        }
        self.acd.calls.insert(
            call,
            OperatorCall {
                agent: agent.clone(),
                request: Some(key),
                connected: false,
                timed_out: false,
                after_call_work: acw,
                queue: qkey.1.clone(),
                callerid: callerid.clone(),
                muted: false,
                transferable: false,
                outbound: None,
            },
        );
        self.agent_call_fact(&agent, call, "alerting");
        // The session learns of the call before any of its events.
        self.acd_event(
            key,
            AcdEvent::OperatorCallAttempt {
                call,
                agent: user.user.clone(),
                callerid: callerid.clone(),
                display_name: String::new(),
            },
        );
        self.timers.set(now + ring, Timer::AcdRing(call));
        let out = OutboundCall {
            call,
            to: user.user.clone(),
            callerid: Some(callerid),
            display_name: None,
            headers,
            auth_user: None,
            password: None,
        };
        self.call_user_key(now, key.0, Box::new(out), user);
    }

    /// The queue's ring time for `call` is over: it stops ringing, and its
    /// failure counts as no answer.
    pub(crate) fn on_acd_ring_timeout(&mut self, now: Instant, call: CallId) {
        let Some(op) = self.acd.calls.get_mut(&call).filter(|op| !op.connected) else {
            return;
        };
        op.timed_out = true;
        if let Some(session) = self.calls.get(&call).map(|c| c.session) {
            self.hangup(now, session, call, Vec::new());
        }
    }

    /// Notes a call event the distribution must react to.
    pub(crate) fn acd_observe(&mut self, call: CallId, event: &CallEvent) {
        self.monitor_observe(call, event);
        if self.acd.far.contains_key(&call) {
            let reaction = match event {
                CallEvent::Connected { .. } => Reaction::FarConnected(call),
                CallEvent::Failed { code, .. } => Reaction::FarEnded(call, Some(*code)),
                CallEvent::Disconnected { .. } => Reaction::FarEnded(call, None),
                _ => return,
            };
            self.acd.reactions.push(reaction);
            return;
        }
        if !self.acd.calls.contains_key(&call) {
            return;
        }
        let reaction = match event {
            CallEvent::Connected { .. } => Reaction::Connected(call),
            CallEvent::Failed { code, .. } => Reaction::Failed(call, *code),
            CallEvent::Disconnected { .. } => Reaction::Disconnected(call),
            _ => return,
        };
        self.acd.reactions.push(reaction);
    }

    /// Carries out the reactions noted since the last time (not nested:
    /// reactions noted meanwhile are taken by the loop).
    pub(crate) fn acd_react(&mut self, now: Instant) {
        if self.acd.reacting {
            return;
        }
        self.acd.reacting = true;
        while !self.acd.reactions.is_empty() {
            let reactions = std::mem::take(&mut self.acd.reactions);
            for r in reactions {
                match r {
                    Reaction::Connected(call) => self.acd_connected(now, call),
                    Reaction::Failed(call, code) => self.acd_failed(now, call, code),
                    Reaction::Disconnected(call) => self.acd_disconnected(now, call),
                    Reaction::MonitorConnected(call) => self.monitor_connected(call),
                    Reaction::ConsultConnected(call) => self.consult_connected(now, call),
                    Reaction::FarConnected(call) => self.outbound_far_connected(call),
                    Reaction::FarEnded(call, code) => self.outbound_far_ended(now, call, code),
                    Reaction::PartyEnded(call, failed) => {
                        self.monitor_call_ended(now, call);
                        self.consult_party_ended(now, call, failed);
                    }
                }
            }
        }
        self.acd.reacting = false;
        if std::mem::take(&mut self.acd.dirty) {
            let mut agents = [0usize; 7];
            for a in self.acd.agents.values() {
                if let Some(i) = AgentState::ALL.iter().position(|s| *s == a.state) {
                    agents[i] += 1;
                }
            }
            let waiting = self.acd.queues.values().map(|q| q.waiting.len()).sum();
            self.fact(crate::io::Fact::AcdGauges { waiting, agents });
        }
    }

    fn acd_connected(&mut self, now: Instant, call: CallId) {
        let Some(op) = self.acd.calls.get_mut(&call) else {
            return;
        };
        if op.outbound.is_some() {
            return self.outbound_agent_answered(now, call);
        }
        op.connected = true;
        let agent = op.agent.clone();
        let request = op.request.take();
        self.agent_call_fact(&agent, call, "active");
        if let Some(a) = self.acd.agents.get_mut(&agent) {
            a.answered += 1;
        }
        let user = self
            .acd
            .agents
            .get(&agent)
            .map(|a| a.cfg.user.clone())
            .unwrap_or_default();
        self.set_agent_state(now, &agent, AgentState::Talking, String::new());
        let Some(key) = request else {
            return;
        };
        if let Some(req) = self.acd.take_request(&key) {
            let qkey = (req.account.clone(), req.queue.clone());
            if let Some(q) = self.acd.queues.get_mut(&qkey) {
                q.answered += 1;
                if now.saturating_duration_since(req.enqueued_at) <= q.cfg.service_level {
                    q.answered_in_time += 1;
                }
            }
            self.acd_event(key, AcdEvent::OperatorReached { call, agent: user });
        }
    }

    fn acd_failed(&mut self, now: Instant, call: CallId, code: u16) {
        if let Some(op) = self.acd.calls.get(&call).filter(|op| op.outbound.is_some()) {
            let code = if op.timed_out { 408 } else { code };
            return self.outbound_agent_ended(now, call, Some(code));
        }
        if let Some(agent) = self.acd.calls.get(&call).map(|op| op.agent.clone()) {
            self.agent_call_fact(&agent, call, "failed");
        }
        let Some(op) = self.acd.calls.remove(&call) else {
            return;
        };
        let (agent, timed_out) = (op.agent, op.timed_out);
        let code = if timed_out { 408 } else { code };
        let user = self.acd.agents.get_mut(&agent).map(|a| {
            a.missed += 1;
            a.cfg.user.clone()
        });
        if self
            .acd
            .agents
            .get(&agent)
            .is_some_and(|a| a.state == AgentState::Reserved)
        {
            let reason = if timed_out {
                "no answer"
            } else {
                "call refused"
            };
            self.set_agent_state(now, &agent, AgentState::NotReady, reason.to_string());
        }
        if let Some(key) = op.request {
            // Back at its place, for the next agent.
            if let Some(req) = self.acd.requests.get_mut(&key) {
                req.offered = None;
                let (place, qkey) = (req.place, (req.account.clone(), req.queue.clone()));
                if let Some(q) = self.acd.queues.get_mut(&qkey) {
                    q.waiting.insert((place, key));
                }
                self.acd_event(
                    key,
                    AcdEvent::OperatorFailed {
                        agent: user.unwrap_or_default(),
                        code,
                    },
                );
            }
        }
        self.acd_dispatch(now);
    }

    fn acd_disconnected(&mut self, now: Instant, call: CallId) {
        let Some(op) = self.acd.calls.get(&call) else {
            return;
        };
        if op.outbound.is_some() {
            return self.outbound_agent_ended(now, call, None);
        }
        let (agent, acw) = (op.agent.clone(), op.after_call_work);
        self.agent_call_fact(&agent, call, "dropped");
        let talking = self.acd.agents.get(&agent).is_some_and(|a| {
            a.call == Some(call)
                && matches!(
                    a.state,
                    AgentState::Talking | AgentState::Held | AgentState::Reserved
                )
        });
        if talking {
            if acw.is_zero() {
                self.set_agent_state(now, &agent, AgentState::Ready, String::new());
            } else {
                self.set_agent_state(now, &agent, AgentState::AfterCallWork, String::new());
            }
        }
        self.acd.calls.remove(&call);
        self.acd_dispatch(now);
    }
}

impl CallCore {
    /// The scenario took (or stopped taking) transfers of `call`: desktops
    /// of an agent on it learn it from `dialogState`.
    pub(crate) fn acd_transfer_handling(&mut self, call: CallId, enable: bool) {
        let Some(op) = self.acd.calls.get_mut(&call) else {
            return;
        };
        op.transferable = enable;
        if !op.connected {
            return;
        }
        let agent = op.agent.clone();
        let state = self.agent_dialog_state(&agent);
        self.agent_call_fact(&agent, call, state);
    }

    /// The dialog state of `agent`'s connected queue call.
    pub(crate) fn agent_dialog_state(&self, agent: &AgentKey) -> &'static str {
        let state = self
            .acd
            .agents
            .get(agent)
            .map_or(AgentState::Talking, |a| a.state);
        super::agents::dialog_state(true, state)
    }

    /// Tells history, metrics and desktops about a queue call to an agent.
    pub(crate) fn agent_call_fact(&mut self, agent: &AgentKey, call: CallId, state: &'static str) {
        let Some(a) = self.acd.agents.get(agent) else {
            return;
        };
        let (queue, callerid, muted, transferable) = self
            .acd
            .calls
            .get(&call)
            .map(|op| {
                (
                    op.queue.clone(),
                    op.callerid.clone(),
                    op.muted,
                    op.transferable,
                )
            })
            .unwrap_or_default();
        let fact = crate::io::Fact::AgentCall {
            account: agent.0.clone(),
            agent: agent.1.clone(),
            queues: a.cfg.queues.clone(),
            call,
            state,
            queue,
            callerid,
            muted,
            transferable,
        };
        self.fact(fact);
    }
}

/// The reason an agent is reserved: the queue its call comes from.
fn key_reason(queue: &str) -> String {
    format!("queue {queue}")
}
