//! The CTI WebSocket (`/v1/cti`): agent desktops, supervisors and
//! integrations. JSON text frames both ways.
//!
//! The first message authenticates: an agent with its user's password
//! (`{"id", "command": "login", "account", "agent", "password"}`, which also
//! logs the agent in), a supervisor the same way, an integration with an
//! API key (`{"id", "command": "authenticate", "apiKey"}`). Either may carry
//! `lastSeq`: the events after it are sent again, then the current state
//! (a desktop that reconnects misses nothing). Every command is answered
//! with `{"type": "ack", "id", ...}` or `{"type": "error", "id",
//! "errorType": "invalidState" | "notAllowed" | "generalError", "message"}`;
//! events are `{"type": "event", "seq", "event": "agentState" |
//! "newInboundCall" | "dialogState" | ..., ...}`.
//!
//! What a connection sees: an agent its own events; a supervisor those of
//! the agents of its queues; an integration (API key) its whole account's.

pub mod hub;
pub mod queue_stats;

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use dialtone_calls::{
    AgentCall, AgentCommand, AgentError, AgentStatus, MonitorMode, Monitoring, QueueStats,
    MAX_ACW_DELAY_S,
};
use dialtone_sip::digest_server::{ha1, DigestAlgorithm};
use serde_json::{json, Value};

use crate::api::ApiState;
use hub::{CtiEvent, Viewer};

/// Time to authenticate after connecting.
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest message taken.
const MAX_MESSAGE: usize = 64 * 1024;

/// Who is connected.
#[derive(Debug, Clone)]
enum Identity {
    Agent {
        account: String,
        id: String,
        supervisor: bool,
        queues: Vec<String>,
    },
    Integration {
        account: String,
    },
}

impl Identity {
    fn account(&self) -> &str {
        match self {
            Identity::Agent { account, .. } | Identity::Integration { account } => account,
        }
    }

    /// What this connection sees.
    fn viewer(&self) -> Viewer {
        match self {
            Identity::Integration { .. } => Viewer::Everything,
            Identity::Agent {
                id,
                supervisor,
                queues,
                ..
            } => Viewer::Agent {
                id: id.clone(),
                supervisor: *supervisor,
                queues: queues.clone(),
            },
        }
    }

    /// Whether this connection may act on `agent` (with `agent_queues`).
    fn may_control(&self, agent: &str, agent_queues: &[String]) -> bool {
        match self {
            Identity::Integration { .. } => true,
            Identity::Agent {
                id,
                supervisor,
                queues,
                ..
            } => agent == id || (*supervisor && agent_queues.iter().any(|q| queues.contains(q))),
        }
    }
}

/// The reference agent desktop: one page, no API key (it logs in over the
/// CTI WebSocket like any desktop).
pub async fn desk_page() -> impl axum::response::IntoResponse {
    use axum::http::header;
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
            ),
        ],
        include_str!("desk.html"),
    )
}

/// The upgrade. An integration may authenticate in the request instead of
/// the first message (`Authorization: Bearer KEY`, and `?lastSeq=N` to
/// resume); a key that is wrong is refused before the upgrade (401).
pub async fn connect(
    State(state): State<ApiState>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Result<Response, crate::api::error::ApiError> {
    let pre = match crate::api::auth::bearer_key(&headers) {
        None => None,
        Some(key) => {
            let account = state
                .store
                .account_by_api_key(key)
                .await?
                .ok_or(crate::api::error::ApiError::Unauthorized)?;
            let last_seq = query.get("lastSeq").and_then(|s| s.parse::<u64>().ok());
            Some((
                Identity::Integration {
                    account: account.id,
                },
                last_seq,
            ))
        }
    };
    Ok(ws
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| session(state, socket, pre)))
}

async fn send(socket: &mut WebSocket, value: Value) -> bool {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .is_ok()
}

fn error(id: &Value, kind: &str, message: impl Into<String>) -> Value {
    json!({"type": "error", "id": id, "errorType": kind, "message": message.into()})
}

fn ack(id: &Value, result: Value) -> Value {
    let mut v = json!({"type": "ack", "id": id});
    if let (Some(o), Value::Object(r)) = (v.as_object_mut(), result) {
        o.extend(r);
    }
    v
}

/// The next command: a JSON object with a `command`, or `None` when the
/// connection is gone.
async fn next_command(socket: &mut WebSocket) -> Option<Result<Value, String>> {
    loop {
        match socket.recv().await? {
            Ok(Message::Text(text)) => {
                return Some(match serde_json::from_str::<Value>(&text) {
                    Ok(v) if v.get("command").and_then(Value::as_str).is_some() => Ok(v),
                    Ok(_) => Err("a command is a JSON object with a \"command\"".into()),
                    Err(e) => Err(format!("not JSON: {e}")),
                })
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn session(state: ApiState, mut socket: WebSocket, pre: Option<(Identity, Option<u64>)>) {
    let (identity, id, last_seq) = match pre {
        Some((identity, last_seq)) => (identity, Value::Null, last_seq),
        None => {
            let first = match tokio::time::timeout(AUTH_TIMEOUT, next_command(&mut socket)).await {
                Ok(Some(Ok(v))) => v,
                Ok(Some(Err(e))) => {
                    send(&mut socket, error(&Value::Null, "generalError", e)).await;
                    return;
                }
                _ => return,
            };
            let id = first.get("id").cloned().unwrap_or(Value::Null);
            match authenticate(&state, &first).await {
                Ok(identity) => (identity, id, first.get("lastSeq").and_then(Value::as_u64)),
                Err((kind, message)) => {
                    send(&mut socket, error(&id, kind, message)).await;
                    return;
                }
            }
        }
    };
    let account = identity.account().to_string();
    let hub = state.sessions.cti().clone();
    // Subscribed before the login, whose state change is the first event.
    let viewer = identity.viewer();
    let (mut events, missed, complete) = hub.subscribe(&account, last_seq, viewer.clone());
    if let Identity::Agent { id: agent, .. } = &identity {
        // Logging in again (a reconnect) keeps the agent's state.
        let _ = state
            .sessions
            .agent_command(account.clone(), agent.clone(), AgentCommand::Login)
            .await;
    }
    let who = match &identity {
        Identity::Agent { id, supervisor, .. } => {
            json!({"agent": id, "role": if *supervisor { "supervisor" } else { "agent" }})
        }
        Identity::Integration { .. } => json!({"role": "integration"}),
    };
    let mut result = who;
    if let Some(o) = result.as_object_mut() {
        o.insert("lastSeq".into(), json!(hub.last_seq(&account)));
        o.insert("resumed".into(), json!(last_seq.is_some() && complete));
    }
    if !send(&mut socket, ack(&id, result)).await {
        return;
    }
    for event in missed.iter().filter(|e| viewer.sees(e)) {
        if !send(&mut socket, event_json(event)).await {
            return;
        }
    }
    // The current state (Sobot's regain-status): every visible agent.
    if let Ok((agents, _)) = state.sessions.contact_centre(account.clone()).await {
        for a in agents
            .iter()
            .filter(|a| identity.may_control(&a.id, &a.queues))
        {
            let body = json!({"type": "state", "event": "agentState", "agent": a.id,
                              "state": a.state.as_str(), "reason": a.reason,
                              "since": a.since.as_secs()});
            if !send(&mut socket, body).await {
                return;
            }
        }
    }
    loop {
        tokio::select! {
            command = next_command(&mut socket) => {
                let reply = match command {
                    None => break,
                    Some(Err(e)) => error(&Value::Null, "generalError", e),
                    Some(Ok(c)) => handle(&state, &identity, &c).await,
                };
                if !send(&mut socket, reply).await {
                    break;
                }
            }
            event = events.recv() => match event {
                Some(event) => {
                    if !send(&mut socket, event_json(&event)).await {
                        break;
                    }
                }
                None => {
                    // Too slow (the hub let go of it): it reconnects with
                    // its lastSeq.
                    let body = json!({"type": "error", "errorType": "generalError",
                                      "message": "too far behind; reconnect with lastSeq"});
                    send(&mut socket, body).await;
                    break;
                }
            }
        }
    }
}

fn event_json(event: &CtiEvent) -> Value {
    let mut body = event.body.clone();
    if let Some(o) = body.as_object_mut() {
        o.insert("type".into(), json!("event"));
        o.insert("seq".into(), json!(event.seq));
        o.insert("at".into(), json!(event.at_ms));
    }
    body
}

async fn authenticate(state: &ApiState, first: &Value) -> Result<Identity, (&'static str, String)> {
    let text = |name: &str| first.get(name).and_then(Value::as_str).unwrap_or_default();
    let refused = || ("notAllowed", "wrong credentials".to_string());
    match text("command") {
        "authenticate" => {
            let account = state
                .store
                .account_by_api_key(text("apiKey"))
                .await
                .map_err(|e| ("generalError", e.to_string()))?
                .ok_or_else(refused)?;
            Ok(Identity::Integration {
                account: account.id,
            })
        }
        "login" => {
            let (account, agent_id, password) = (text("account"), text("agent"), text("password"));
            let agent = state
                .store
                .get_agent(account, agent_id)
                .await
                .map_err(|e| ("generalError", e.to_string()))?
                .ok_or_else(refused)?;
            let app = state
                .store
                .application_by_name(account, &agent.application)
                .await
                .map_err(|e| ("generalError", e.to_string()))?
                .ok_or_else(refused)?;
            let user = state
                .store
                .get_user(account, &app.id, &agent.user)
                .await
                .map_err(|e| ("generalError", e.to_string()))?
                .ok_or_else(refused)?;
            let given = ha1(DigestAlgorithm::Md5, &user.name, &user.realm, password);
            if !constant_time_eq(given.as_bytes(), user.ha1_md5.as_bytes()) {
                return Err(refused());
            }
            Ok(Identity::Agent {
                account: account.to_string(),
                id: agent.id,
                supervisor: agent.role == dialtone_store::AgentRole::Supervisor,
                queues: agent.queues,
            })
        }
        other => Err((
            "notAllowed",
            format!("authenticate first (login or authenticate), not {other:?}"),
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One command after authentication.
async fn handle(state: &ApiState, identity: &Identity, c: &Value) -> Value {
    let id = c.get("id").cloned().unwrap_or(Value::Null);
    let account = identity.account().to_string();
    let command = c.get("command").and_then(Value::as_str).unwrap_or_default();
    // An agent acting on itself needs no look at the others (a burst of
    // desktops going ready costs one step each, not one per agent).
    let own = match identity {
        Identity::Agent { id: own, .. } => c
            .get("agent")
            .and_then(Value::as_str)
            .is_none_or(|a| a == own),
        Identity::Integration { .. } => false,
    };
    let needs_all = !own
        || matches!(
            command,
            "queryAgents" | "queryQueues" | "queryCalls" | "listen" | "whisper" | "barge"
        );
    let fetched = if needs_all {
        state.sessions.contact_centre(account.clone()).await
    } else {
        Ok((Vec::new(), Vec::new()))
    };
    let agents = match fetched {
        Ok((agents, queues)) => {
            match command {
                "queryAgents" => {
                    let list: Vec<Value> = agents
                        .iter()
                        .filter(|a| identity.may_control(&a.id, &a.queues))
                        .map(agent_json)
                        .collect();
                    return ack(&id, json!({"agents": list}));
                }
                "queryCalls" => {
                    let visible = agents
                        .iter()
                        .filter(|a| identity.may_control(&a.id, &a.queues));
                    let mut calls = Vec::new();
                    let mut monitors = Vec::new();
                    for a in visible {
                        if let Some(c) = &a.call_info {
                            calls.push(call_json(&a.id, c));
                        }
                        if let Some(m) = &a.monitoring {
                            monitors.push(monitoring_json(&a.id, m));
                        }
                    }
                    return ack(&id, json!({"calls": calls, "monitors": monitors}));
                }
                "queryQueues" => {
                    let visible = |q: &str| match identity {
                        Identity::Integration { .. } => true,
                        Identity::Agent { queues, .. } => queues.iter().any(|x| x == q),
                    };
                    let list: Vec<Value> = queues
                        .iter()
                        .filter(|q| visible(&q.name))
                        .map(queue_json)
                        .collect();
                    return ack(&id, json!({"queues": list}));
                }
                _ => {}
            }
            agents
        }
        Err(e) => return error(&id, "generalError", e.to_string()),
    };
    let agent_command = match command {
        "ready" => AgentCommand::Ready,
        "notReady" => AgentCommand::NotReady {
            reason: c
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .chars()
                .filter(|ch| !ch.is_control())
                .take(128)
                .collect(),
        },
        "logout" => AgentCommand::Logout,
        "login" => AgentCommand::Login,
        "completeAfterCallWork" => AgentCommand::CompleteAfterCallWork,
        "delayAfterCallWork" => {
            let seconds = c.get("seconds").and_then(Value::as_u64).unwrap_or(0);
            if seconds == 0 || seconds > u64::from(MAX_ACW_DELAY_S) {
                return error(
                    &id,
                    "generalError",
                    format!("seconds: 1 to {MAX_ACW_DELAY_S}"),
                );
            }
            AgentCommand::DelayAfterCallWork {
                seconds: seconds as u32,
            }
        }
        // A ringing call is refused, a connected one ended.
        "release" | "reject" => AgentCommand::Release,
        "answer" => AgentCommand::Answer,
        "hold" => AgentCommand::Hold,
        "retrieve" => AgentCommand::Retrieve,
        "singleStepTransfer" => {
            let Some(to) = destination(c) else {
                return error(
                    &id,
                    "generalError",
                    "to: 1 to 256 characters, no control ones",
                );
            };
            AgentCommand::Transfer { to }
        }
        "consult" => {
            let Some(to) = destination(c) else {
                return error(
                    &id,
                    "generalError",
                    "to: 1 to 256 characters, no control ones",
                );
            };
            AgentCommand::Consult { to }
        }
        "makeCall" => {
            let Some(to) = destination(c) else {
                return error(
                    &id,
                    "generalError",
                    "to: 1 to 256 characters, no control ones",
                );
            };
            let callerid = match c.get("callerid").and_then(Value::as_str) {
                Some(s) if s.is_empty() || s.len() > 64 || s.chars().any(|ch| ch.is_control()) => {
                    return error(&id, "generalError", "callerid: 1 to 64 characters");
                }
                other => other.map(str::to_string),
            };
            AgentCommand::MakeCall { to, callerid }
        }
        "cancelConsult" => AgentCommand::CancelConsult,
        "consultTransfer" => AgentCommand::ConsultTransfer,
        "consultConference" => AgentCommand::ConsultConference,
        "mute" => AgentCommand::Mute,
        "unmute" => AgentCommand::Unmute,
        "listen" | "whisper" | "barge" | "stopMonitor" => {
            return monitor(state, identity, &agents, &id, command, c).await
        }
        "sendDtmf" => {
            let digits = c.get("digits").and_then(Value::as_str).unwrap_or_default();
            let valid = |ch: char| ch.is_ascii_digit() || "*#ABCDabcd".contains(ch);
            if digits.is_empty() || digits.len() > 32 || !digits.chars().all(valid) {
                return error(&id, "generalError", "digits: 1 to 32 of 0-9 * # A-D");
            }
            AgentCommand::SendDtmf {
                digits: digits.to_string(),
            }
        }
        other => return error(&id, "generalError", format!("unknown command {other:?}")),
    };
    // The agent acted on: the connection's own, or the one named.
    let target = match (c.get("agent").and_then(Value::as_str), identity) {
        (Some(a), _) => a.to_string(),
        (None, Identity::Agent { id, .. }) => id.clone(),
        (None, Identity::Integration { .. }) => {
            return error(&id, "generalError", "name the \"agent\" to act on")
        }
    };
    if !own {
        let Some(target_status) = agents.iter().find(|a| a.id == target) else {
            return error(&id, "generalError", format!("no agent {target:?}"));
        };
        if !identity.may_control(&target, &target_status.queues) {
            return error(&id, "notAllowed", format!("agent {target:?} is not yours"));
        }
    }
    run_agent_command(state, &id, account, target, agent_command).await
}

/// A command's `to` (a transfer's or consult's destination), if usable.
fn destination(c: &Value) -> Option<String> {
    let to = c.get("to").and_then(Value::as_str)?;
    let usable = !to.is_empty() && to.len() <= 256 && !to.chars().any(|ch| ch.is_control());
    usable.then(|| to.to_string())
}

/// Runs `command` on `agent` in the call core: the ack with the agent's
/// status, or the seeds' error type for the refusal.
async fn run_agent_command(
    state: &ApiState,
    id: &Value,
    account: String,
    agent: String,
    command: AgentCommand,
) -> Value {
    match state.sessions.agent_command(account, agent, command).await {
        Ok(Ok(status)) => ack(id, json!({"agent": agent_json(&status)})),
        Ok(Err(e @ (AgentError::InvalidState { .. } | AgentError::NoneReady(_)))) => {
            error(id, "invalidState", e.to_string())
        }
        Ok(Err(
            e @ (AgentError::Supervisor
            | AgentError::NotSupervisor
            | AgentError::TransferNotTaken
            | AgentError::BadTarget(_)),
        )) => error(id, "notAllowed", e.to_string()),
        Ok(Err(e)) => error(id, "generalError", e.to_string()),
        Err(e) => error(id, "generalError", e.to_string()),
    }
}

/// A supervisor's `listen`, `whisper`, `barge` (on `agent`'s call) or
/// `stopMonitor`. The supervisor is the connection's agent, or the one an
/// integration names in `supervisor`.
async fn monitor(
    state: &ApiState,
    identity: &Identity,
    agents: &[AgentStatus],
    id: &Value,
    command: &str,
    c: &Value,
) -> Value {
    let supervisor = match (c.get("supervisor").and_then(Value::as_str), identity) {
        (Some(s), Identity::Integration { .. }) => s.to_string(),
        (_, Identity::Agent { id, .. }) => id.clone(),
        (None, Identity::Integration { .. }) => {
            return error(id, "generalError", "name the \"supervisor\" who monitors")
        }
    };
    let agent_command = if command == "stopMonitor" {
        AgentCommand::StopMonitor
    } else {
        let Some(watched) = c.get("agent").and_then(Value::as_str) else {
            return error(id, "generalError", "name the \"agent\" whose call to join");
        };
        let Some(status) = agents.iter().find(|a| a.id == watched) else {
            return error(id, "generalError", format!("no agent {watched:?}"));
        };
        if !identity.may_control(watched, &status.queues) {
            return error(id, "notAllowed", format!("agent {watched:?} is not yours"));
        }
        let mode = match command {
            "listen" => MonitorMode::Listen,
            "whisper" => MonitorMode::Whisper,
            _ => MonitorMode::Barge,
        };
        AgentCommand::Monitor {
            agent: watched.to_string(),
            mode,
        }
    };
    let account = identity.account().to_string();
    run_agent_command(state, id, account, supervisor, agent_command).await
}

fn agent_json(a: &AgentStatus) -> Value {
    json!({"agent": a.id, "name": a.name, "state": a.state.as_str(), "reason": a.reason,
           "since": a.since.as_secs(), "queues": a.queues, "answered": a.answered,
           "missed": a.missed, "supervisor": a.supervisor,
           "call": a.call_info.as_ref().map(|c| call_json(&a.id, c)),
           "monitoring": a.monitoring.as_ref().map(|m| monitoring_json(&a.id, m))})
}

/// A queue's figures, as `queryQueues` and `queueStats` give them.
pub fn queue_json(q: &QueueStats) -> Value {
    json!({"queue": q.name, "waiting": q.waiting, "offering": q.offering,
           "longestWait": q.longest_wait.as_secs(), "agents": q.agents,
           "answered": q.answered, "abandoned": q.abandoned,
           "serviceLevel": q.service_level_pct})
}

fn call_json(agent: &str, c: &AgentCall) -> Value {
    json!({"agent": agent, "call": c.call.to_string(), "state": c.state, "queue": c.queue,
           "callerid": c.callerid, "mute": c.muted, "transferable": c.transferable})
}

fn monitoring_json(supervisor: &str, m: &Monitoring) -> Value {
    json!({"supervisor": supervisor, "agent": m.agent, "call": m.call.to_string(),
           "agentCall": m.agent_call.to_string(), "mode": m.mode.as_str(),
           "state": if m.active { "active" } else { "alerting" }})
}
