//! Sessions over REST (VoxEngine's StartScenarios): start a session of an
//! application's rule or scenario with custom data, list and inspect the
//! caller's live sessions, end one. A session that has ended is answered from
//! history. A session started by a rule gets the rule's `customData` unless
//! the request gives its own.

use super::custom_data;
use super::error::ApiError;
use super::history::{call_json, session_json};
use super::{ApiJson, ApiState, Caller};
use crate::call::control::{ControlError, LiveSession, StartRequest};
use crate::routing::RouteOwner;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use dialtone_core::SessionId;
use dialtone_script::Scenario;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    application: String,
    rule: Option<String>,
    scenario: Option<String>,
    #[serde(rename = "customData")]
    custom_data: Option<Value>,
}

fn unavailable(e: ControlError) -> ApiError {
    let code = match e {
        ControlError::ShuttingDown => "unavailable",
        ControlError::Overloaded | ControlError::Busy(_) | ControlError::SetupRate(_) => {
            "overloaded"
        }
        ControlError::SessionLimit(_) => "session_limit",
    };
    ApiError::Unavailable {
        code,
        message: e.to_string(),
        retry_after: e.retry_after(),
    }
}

/// What a new session runs: the scenario, and the rule (its id and its
/// `customData`) when started by one.
struct Resolved {
    scenario: Arc<Scenario>,
    rule: Option<(String, String)>,
}

/// What a new session runs and under which rule, from the routing snapshot
/// (no database round trip on this path).
fn resolve(state: &ApiState, account: &str, body: &NewSession) -> Result<Resolved, ApiError> {
    let snapshot = state.router.snapshot();
    let app_id = snapshot
        .applications
        .get(&(account.to_owned(), body.application.clone()))
        .ok_or_else(|| ApiError::NotFound(format!("application {:?}", body.application)))?;
    match (&body.rule, &body.scenario) {
        (Some(_), Some(_)) | (None, None) => Err(ApiError::Invalid(
            "give exactly one of \"rule\" and \"scenario\"".to_owned(),
        )),
        (None, Some(name)) => snapshot
            .scenarios
            .get(&(app_id.clone(), name.clone()))
            .map(|s| Resolved {
                scenario: s.clone(),
                rule: None,
            })
            .ok_or_else(|| ApiError::NotFound(format!("scenario {name:?}"))),
        (Some(rule), None) => {
            let by_id = snapshot
                .targets
                .get(rule)
                .filter(|t| t.account == account && t.application == body.application)
                .map(|_| rule.clone());
            let id = by_id
                .or_else(|| {
                    snapshot
                        .rule_names
                        .get(&(app_id.clone(), rule.clone()))
                        .cloned()
                })
                .ok_or_else(|| ApiError::NotFound(format!("rule {rule:?}")))?;
            let target = snapshot
                .targets
                .get(&id)
                .ok_or_else(|| ApiError::NotFound(format!("rule {rule:?}")))?;
            match &target.scenario {
                Some(s) => Ok(Resolved {
                    scenario: s.clone(),
                    rule: Some((id, target.custom_data.clone())),
                }),
                None => Err(ApiError::Invalid(format!(
                    "rule {rule:?} runs scenarios that do not exist: {}",
                    target.missing.join(", ")
                ))),
            }
        }
    }
}

pub async fn start_session(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewSession>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Resolved { scenario, rule } = resolve(&state, &caller.id, &body)?;
    // The request's own customData wins over the rule's.
    let (rule, rule_data) = rule.unzip();
    let custom_data = match rule_data {
        Some(data) if !custom_data::given(&body.custom_data) => data,
        _ => custom_data::text(body.custom_data)?,
    };
    let name = scenario.name.clone();
    let owner = RouteOwner {
        account: caller.id.clone(),
        application: body.application.clone(),
        rule: rule.clone(),
    };
    let started = state
        .sessions
        .start(StartRequest {
            scenario,
            custom_data,
            owner: Some(owner),
        })
        .await
        .map_err(unavailable)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": started.id.to_string(),
            "application": body.application,
            "rule": rule,
            "scenario": name,
            "accessURL": started.access_url,
            "accessSecureURL": started.access_url,
            "startedAt": started.started_at,
        })),
    ))
}

fn state_name(s: &LiveSession) -> &'static str {
    if s.terminating {
        "terminating"
    } else {
        "running"
    }
}

fn summary_json(s: &LiveSession) -> Value {
    let owner = s.owner.as_ref();
    json!({
        "id": s.id.to_string(),
        "application": owner.map(|o| o.application.as_str()),
        "rule": owner.and_then(|o| o.rule.as_deref()),
        "scenario": s.scenario,
        "startedAt": s.started_at,
        "state": state_name(s),
        "calls": s.calls.len(),
    })
}

pub async fn list_sessions(
    State(state): State<ApiState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let mut live = state
        .sessions
        .list(Some(caller.id.clone()))
        .await
        .map_err(unavailable)?;
    live.sort_by_key(|s| (s.started_at, s.id.0));
    Ok(Json(json!({
        "sessions": live.iter().map(summary_json).collect::<Vec<_>>(),
    })))
}

/// The caller's live session `id`, if there is one.
pub(super) async fn own_live(
    state: &ApiState,
    account: &str,
    id: SessionId,
) -> Result<Option<LiveSession>, ApiError> {
    let live = state.sessions.get(id).await.map_err(unavailable)?;
    Ok(live.filter(|s| s.owner.as_ref().is_some_and(|o| o.account == account)))
}

pub async fn get_session(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let not_found = || ApiError::NotFound("session".to_owned());
    let session: SessionId = id.parse().map_err(|_| not_found())?;
    if let Some(live) = own_live(&state, &caller.id, session).await? {
        let mut v = summary_json(&live);
        v["accessURL"] = json!(live.access_url);
        let so_far = state.history.live(session);
        let calls: Vec<Value> = so_far
            .as_ref()
            .map(|h| {
                h.calls
                    .iter()
                    .map(|record| {
                        let mut c = call_json(record);
                        let call_state = live
                            .calls
                            .iter()
                            .find(|lc| record.id == format!("{session}-{}", lc.id))
                            .map_or("TERMINATED", |lc| lc.state.as_str());
                        c["state"] = json!(call_state);
                        c
                    })
                    .collect()
            })
            .unwrap_or_default();
        v["calls"] = json!(calls);
        v["log"] = json!(so_far.map(|h| h.log).unwrap_or_default());
        return Ok(Json(v));
    }
    let record = state
        .store
        .get_session(&caller.id, &id)
        .await?
        .ok_or_else(not_found)?;
    let calls = state.store.session_calls(&caller.id, &id).await?;
    let log = state.store.session_log(&caller.id, &id).await?;
    let mut v = session_json(&record);
    v["state"] = json!(record.status);
    v["scenario"] = Value::Null;
    v["calls"] = calls
        .iter()
        .map(|c| {
            let mut c = call_json(c);
            c["state"] = json!("TERMINATED");
            c
        })
        .collect();
    v["log"] = json!(log);
    Ok(Json(v))
}

pub async fn delete_session(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let not_found = || ApiError::NotFound("session".to_owned());
    let session: SessionId = id.parse().map_err(|_| not_found())?;
    let live = state
        .sessions
        .terminate(session, Some(caller.id.clone()))
        .await
        .map_err(unavailable)?;
    if !live {
        return Err(not_found());
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "state": "terminating" })),
    ))
}
