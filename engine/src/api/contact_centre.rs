//! A contact centre over REST: agents (`/v1/agents/{id}`, with their live
//! state, and `/v1/agents/{id}/state` to change it) and queues
//! (`/v1/queues/{name}`, with their figures) of the caller's account.
//! Every change of an account's agents or queues hands the whole of that
//! account's configuration to the call core.

use std::collections::BTreeMap;
use std::time::Duration;

use super::error::ApiError;
use super::{ApiJson, ApiState, Caller};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use dialtone_calls::{AgentCommand, AgentError, AgentStatus, QueueStats};
use dialtone_store::{AgentRole, AgentSpec, QueueSpec, Store, StoredAgent, StoredQueue};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgentBody {
    #[serde(default)]
    name: String,
    application: String,
    user: String,
    role: Option<String>,
    #[serde(default)]
    skills: BTreeMap<String, u8>,
    #[serde(default)]
    queues: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QueueBody {
    #[serde(default)]
    skills: BTreeMap<String, u8>,
    max_waiting: Option<u32>,
    ring_timeout: Option<u32>,
    after_call_work: Option<u32>,
    service_level: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateBody {
    state: String,
    #[serde(default)]
    reason: String,
}

/// Serializes hand-overs of configuration, so that two changes reach the
/// call core in the order they were stored.
static SYNC: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn agent_config(a: StoredAgent) -> dialtone_calls::AgentConfig {
    dialtone_calls::AgentConfig {
        supervisor: a.role == AgentRole::Supervisor,
        account: a.account,
        id: a.id,
        name: a.name,
        application: a.application,
        user: a.user,
        skills: a.skills,
        queues: a.queues,
    }
}

fn queue_config(q: StoredQueue) -> dialtone_calls::QueueConfig {
    let secs = |s: u32| Duration::from_secs(u64::from(s));
    dialtone_calls::QueueConfig {
        account: q.account,
        name: q.name,
        skills: q.skills,
        max_waiting: q.max_waiting,
        ring_timeout: secs(q.ring_timeout),
        after_call_work: secs(q.after_call_work),
        service_level: secs(q.service_level),
    }
}

/// Hands `account`'s agents and queues to the call core.
pub async fn sync_account(
    store: &Store,
    sessions: &crate::call::control::SessionControl,
    account: &str,
) -> Result<(), dialtone_store::StoreError> {
    let _order = SYNC.lock().await;
    let agents = store.list_agents(account).await?;
    let queues = store.list_queues(account).await?;
    sessions.set_contact_centre(
        account.to_string(),
        agents.into_iter().map(agent_config).collect(),
        queues.into_iter().map(queue_config).collect(),
    );
    Ok(())
}

/// Every account's agents and queues, at start.
pub async fn sync_all(
    store: &Store,
    sessions: &crate::call::control::SessionControl,
) -> Result<(), dialtone_store::StoreError> {
    let _order = SYNC.lock().await;
    let mut by_account: BTreeMap<String, (Vec<_>, Vec<_>)> = BTreeMap::new();
    for a in store.all_agents().await? {
        by_account
            .entry(a.account.clone())
            .or_default()
            .0
            .push(agent_config(a));
    }
    for q in store.all_queues().await? {
        by_account
            .entry(q.account.clone())
            .or_default()
            .1
            .push(queue_config(q));
    }
    for (account, (agents, queues)) in by_account {
        sessions.set_contact_centre(account, agents, queues);
    }
    Ok(())
}

async fn live(
    state: &ApiState,
    account: &str,
) -> Result<(Vec<AgentStatus>, Vec<QueueStats>), ApiError> {
    state
        .sessions
        .contact_centre(account.to_string())
        .await
        .map_err(ApiError::control_gone)
}

fn status_json(s: Option<&AgentStatus>) -> Value {
    let Some(s) = s else {
        return json!({"state": "loggedOut", "reason": "", "since": 0, "answered": 0, "missed": 0});
    };
    json!({
        "state": s.state.as_str(),
        "reason": s.reason,
        "since": s.since.as_secs(),
        "answered": s.answered,
        "missed": s.missed,
    })
}

fn stats_json(s: Option<&QueueStats>) -> Value {
    let Some(s) = s else {
        return json!({"waiting": 0, "offering": 0, "longestWait": 0, "agents": {},
                      "answered": 0, "abandoned": 0, "answeredInTime": 0, "serviceLevel": null});
    };
    json!({
        "waiting": s.waiting,
        "offering": s.offering,
        "longestWait": s.longest_wait.as_secs(),
        "agents": s.agents,
        "answered": s.answered,
        "abandoned": s.abandoned,
        "answeredInTime": s.answered_in_time,
        "serviceLevel": s.service_level_pct,
    })
}

fn agent_json(a: &StoredAgent, live: &[AgentStatus]) -> Value {
    let status = live.iter().find(|s| s.id == a.id);
    json!({
        "id": a.id,
        "name": a.name,
        "application": a.application,
        "user": a.user,
        "role": a.role.as_str(),
        "skills": a.skills,
        "queues": a.queues,
        "status": status_json(status),
        "createdAt": a.created_at,
        "updatedAt": a.updated_at,
    })
}

fn queue_json(q: &StoredQueue, live: &[QueueStats]) -> Value {
    let stats = live.iter().find(|s| s.name == q.name);
    json!({
        "name": q.name,
        "skills": q.skills,
        "maxWaiting": q.max_waiting,
        "ringTimeout": q.ring_timeout,
        "afterCallWork": q.after_call_work,
        "serviceLevel": q.service_level,
        "stats": stats_json(stats),
        "createdAt": q.created_at,
        "updatedAt": q.updated_at,
    })
}

fn created_or_ok(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

pub async fn put_agent(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AgentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let role = match body.role.as_deref() {
        None => AgentRole::Agent,
        Some(r) => AgentRole::parse(r)
            .ok_or_else(|| ApiError::BadRequest("role: must be agent or supervisor".into()))?,
    };
    let spec = AgentSpec {
        name: body.name,
        application: body.application,
        user: body.user,
        role,
        skills: body.skills,
        queues: body.queues,
    };
    let (agent, created) = state.store.put_agent(&caller.id, &id, spec).await?;
    sync_account(&state.store, &state.sessions, &caller.id).await?;
    let (agents, _) = live(&state, &caller.id).await?;
    Ok((created_or_ok(created), Json(agent_json(&agent, &agents))))
}

pub async fn get_agent(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let agent = state
        .store
        .get_agent(&caller.id, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("agent {id:?}")))?;
    let (agents, _) = live(&state, &caller.id).await?;
    Ok(Json(agent_json(&agent, &agents)))
}

pub async fn list_agents(
    State(state): State<ApiState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let agents = state.store.list_agents(&caller.id).await?;
    let (live_agents, _) = live(&state, &caller.id).await?;
    let agents: Vec<Value> = agents.iter().map(|a| agent_json(a, &live_agents)).collect();
    Ok(Json(json!({ "agents": agents })))
}

pub async fn delete_agent(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.store.delete_agent(&caller.id, &id).await? {
        return Err(ApiError::NotFound(format!("agent {id:?}")));
    }
    sync_account(&state.store, &state.sessions, &caller.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn put_queue(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<QueueBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let spec = QueueSpec {
        skills: body.skills,
        max_waiting: body.max_waiting,
        ring_timeout: body.ring_timeout,
        after_call_work: body.after_call_work,
        service_level: body.service_level,
    };
    let (queue, created) = state.store.put_queue(&caller.id, &name, spec).await?;
    sync_account(&state.store, &state.sessions, &caller.id).await?;
    let (_, queues) = live(&state, &caller.id).await?;
    Ok((created_or_ok(created), Json(queue_json(&queue, &queues))))
}

pub async fn get_queue(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let queue = state
        .store
        .get_queue(&caller.id, &name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("queue {name:?}")))?;
    let (_, queues) = live(&state, &caller.id).await?;
    Ok(Json(queue_json(&queue, &queues)))
}

pub async fn list_queues(
    State(state): State<ApiState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let queues = state.store.list_queues(&caller.id).await?;
    let (_, live_queues) = live(&state, &caller.id).await?;
    let queues: Vec<Value> = queues.iter().map(|q| queue_json(q, &live_queues)).collect();
    Ok(Json(json!({ "queues": queues })))
}

pub async fn delete_queue(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.store.delete_queue(&caller.id, &name).await? {
        return Err(ApiError::NotFound(format!("queue {name:?}")));
    }
    sync_account(&state.store, &state.sessions, &caller.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/agents/{id}/state`: log in or out, ready, not ready (with a
/// reason), after-call work done; as a supervisor or an integration would.
pub async fn set_agent_state(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StateBody>,
) -> Result<Json<Value>, ApiError> {
    if body.reason.chars().count() > 128 || body.reason.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "reason: at most 128 characters without control characters".into(),
        ));
    }
    let command = match body.state.as_str() {
        "loggedIn" => AgentCommand::Login,
        "loggedOut" => AgentCommand::Logout,
        "ready" => AgentCommand::Ready,
        "notReady" => AgentCommand::NotReady {
            reason: body.reason,
        },
        "afterCallWorkDone" => AgentCommand::CompleteAfterCallWork,
        _ => {
            return Err(ApiError::BadRequest(
                "state: must be loggedIn, loggedOut, ready, notReady or afterCallWorkDone".into(),
            ))
        }
    };
    let result = state
        .sessions
        .agent_command(caller.id.clone(), id.clone(), command)
        .await
        .map_err(ApiError::control_gone)?;
    match result {
        Ok(status) => Ok(Json(
            json!({ "id": id, "status": status_json(Some(&status)) }),
        )),
        Err(AgentError::NotFound(_)) => Err(ApiError::NotFound(format!("agent {id:?}"))),
        // The seeds' `invalidState` and `notAllowed`.
        Err(e @ (AgentError::InvalidState { .. } | AgentError::NoneReady(_))) => {
            Err(ApiError::Other {
                status: StatusCode::CONFLICT,
                code: "invalid_state",
                message: e.to_string(),
            })
        }
        Err(
            e @ (AgentError::Supervisor | AgentError::NotSupervisor | AgentError::TransferNotTaken),
        ) => Err(ApiError::Other {
            status: StatusCode::CONFLICT,
            code: "not_allowed",
            message: e.to_string(),
        }),
        // Not a state change's: the CTI's commands only.
        Err(e @ (AgentError::Refused(_) | AgentError::BadTarget(_))) => {
            Err(ApiError::BadRequest(e.to_string()))
        }
    }
}
