//! The call core's facts written to history and counted in metrics.

use std::sync::Arc;

use dialtone_calls::Fact;
use dialtone_core::messages::SessionEnd;

use crate::history::HistorySink;
use crate::metrics::Metrics;

pub struct Sinks {
    pub history: Arc<dyn HistorySink>,
    pub metrics: Arc<Metrics>,
    /// Agents' desktops (the CTI WebSocket).
    pub cti: crate::cti::hub::CtiHub,
}

impl Sinks {
    pub fn record(&self, fact: Fact) {
        match fact {
            Fact::CallAttempt(direction) => self.metrics.call_started(direction),
            Fact::InviteRefused { code } => self.metrics.call_failed(code),
            Fact::RegisterAnswered { code, bindings } => {
                self.metrics.register_answered(code, bindings)
            }
            Fact::TrunkRegisterAnswered { code } => self.metrics.trunk_register_answered(code),
            Fact::TrunkRegistrations {
                registered,
                failed,
                registering,
            } => self
                .metrics
                .set_trunk_registrations(registered, failed, registering),
            Fact::AgentState {
                account,
                agent,
                queues,
                state,
                reason,
            } => {
                self.metrics.agent_state(state.as_str());
                let body = serde_json::json!({
                    "event": "agentState", "agent": agent, "state": state.as_str(),
                    "reason": reason,
                });
                self.cti.publish(&account, Some(agent), queues, body);
            }
            Fact::AcdGauges { waiting, agents } => self.metrics.set_acd(waiting, agents),
            Fact::AgentCall {
                account,
                agent,
                queues,
                call,
                state,
                queue,
                callerid,
                muted,
                transferable,
            } => {
                if state == "alerting" {
                    let body = serde_json::json!({
                        "event": "newInboundCall", "agent": agent, "call": call.to_string(),
                        "queue": queue, "callerid": callerid,
                    });
                    self.cti
                        .publish(&account, Some(agent.clone()), queues.clone(), body);
                }
                let body = serde_json::json!({
                    "event": "dialogState", "agent": agent, "call": call.to_string(),
                    "state": state, "queue": queue, "callerid": callerid, "mute": muted,
                    "transferable": transferable,
                });
                self.cti.publish(&account, Some(agent), queues, body);
            }
            Fact::Monitor {
                account,
                supervisor,
                agent,
                queues,
                call,
                agent_call,
                mode,
                state,
            } => {
                // The supervisor and the agent's queues' supervisors see it;
                // the monitored agent does not.
                let body = serde_json::json!({
                    "event": "monitorState", "supervisor": supervisor, "agent": agent,
                    "call": call.to_string(), "agentCall": agent_call.to_string(),
                    "mode": mode, "state": state,
                });
                self.cti.publish(&account, Some(supervisor), queues, body);
            }
            Fact::Consult {
                account,
                agent,
                queues,
                consulted,
                consulted_queues,
                call,
                agent_call,
                to,
                state,
            } => {
                // The consulting agent (and its supervisors) and the
                // consulted agent (and its) each get it, with their role.
                let body = |role: &str| {
                    serde_json::json!({
                        "event": "consultCall", "agent": agent, "role": role,
                        "call": call.to_string(), "agentCall": agent_call.to_string(),
                        "to": to, "consulted": consulted, "state": state,
                    })
                };
                if let Some(b) = consulted.clone() {
                    self.cti
                        .publish(&account, Some(b), consulted_queues, body("consulted"));
                }
                self.cti
                    .publish(&account, Some(agent.clone()), queues, body("consulting"));
            }
            Fact::OutboundDialing {
                account,
                agent,
                queues,
                call,
                to,
                state,
                code,
            } => {
                let body = serde_json::json!({
                    "event": "outboundDialing", "agent": agent, "call": call.to_string(),
                    "to": to, "state": state, "code": code,
                });
                self.cti.publish(&account, Some(agent), queues, body);
            }
            Fact::SessionRefused(why) => self.metrics.session_refused(&why),
            Fact::SessionStarted { session, owner } => {
                self.metrics.session_started();
                if let Some(owner) = &owner {
                    self.history.session_started(session, owner);
                }
            }
            Fact::CallStarted {
                session,
                call,
                direction,
                from,
                to,
            } => self
                .history
                .call_started(session, call, direction, &from, &to),
            Fact::CallAnswered { call } => self.history.call_answered(call),
            Fact::CallEnded {
                call,
                connected,
                code,
                reason,
            } => {
                if connected {
                    self.metrics.call_ended();
                } else {
                    self.metrics.call_failed(code.unwrap_or(0));
                }
                self.history.call_ended(call, code, reason.as_deref());
            }
            Fact::Recording {
                session,
                call,
                file,
            } => self.history.recording(session, call, &file),
            Fact::SessionEnded { session, reason } => {
                self.metrics.session_ended(&reason);
                let error = match &reason {
                    SessionEnd::Normal => None,
                    SessionEnd::ScriptError(e) | SessionEnd::CompileError(e) => Some(e.as_str()),
                };
                self.history.session_ended(session, error);
            }
        }
    }
}
