//! A contact centre's configuration over REST: agents (`/v1/agents/{id}`)
//! and queues (`/v1/queues/{name}`) of the caller's account.

use std::collections::BTreeMap;

use super::error::ApiError;
use super::{ApiJson, ApiState, Caller};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use dialtone_store::{AgentRole, AgentSpec, QueueSpec, StoredAgent, StoredQueue};
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

fn agent_json(a: &StoredAgent) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "application": a.application,
        "user": a.user,
        "role": a.role.as_str(),
        "skills": a.skills,
        "queues": a.queues,
        "createdAt": a.created_at,
        "updatedAt": a.updated_at,
    })
}

fn queue_json(q: &StoredQueue) -> Value {
    json!({
        "name": q.name,
        "skills": q.skills,
        "maxWaiting": q.max_waiting,
        "ringTimeout": q.ring_timeout,
        "afterCallWork": q.after_call_work,
        "serviceLevel": q.service_level,
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
    Ok((created_or_ok(created), Json(agent_json(&agent))))
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
    Ok(Json(agent_json(&agent)))
}

pub async fn list_agents(
    State(state): State<ApiState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let agents = state.store.list_agents(&caller.id).await?;
    let agents: Vec<Value> = agents.iter().map(agent_json).collect();
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
    Ok((created_or_ok(created), Json(queue_json(&queue))))
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
    Ok(Json(queue_json(&queue)))
}

pub async fn list_queues(
    State(state): State<ApiState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let queues = state.store.list_queues(&caller.id).await?;
    let queues: Vec<Value> = queues.iter().map(queue_json).collect();
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
    Ok(StatusCode::NO_CONTENT)
}
