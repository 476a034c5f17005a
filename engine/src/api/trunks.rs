//! SIP trunks of the caller's account: where `VoxEngine.callPSTN` sends a
//! number, by prefix and priority, failing over to the next trunk on 5xx,
//! 408 or no answer. Passwords go in and never come out. A trunk with
//! `register` keeps itself registered with its provider; where that stands
//! shows in its `registration`.

use super::error::ApiError;
use super::{ApiJson, ApiState, Caller};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use dialtone_calls::TrunkRegistrationStatus;
use dialtone_store::{StoredTrunk, TrunkSpec};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrunkBody {
    host: String,
    port: Option<u16>,
    transport: Option<String>,
    username: Option<String>,
    password: Option<String>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    priority: i64,
    #[serde(default)]
    strip: i64,
    #[serde(default)]
    add_prefix: String,
    caller_id: Option<String>,
    #[serde(default)]
    register: bool,
    register_expires: Option<u32>,
}

fn registration_json(status: Option<&TrunkRegistrationStatus>) -> Value {
    let Some(s) = status else {
        return Value::Null;
    };
    json!({
        "state": s.state.as_str(),
        "code": s.code,
        "reason": s.reason,
        "expiresIn": s.expires_in.map(|d| d.as_secs()),
        "nextAttemptIn": s.next_attempt_in.map(|d| d.as_secs()),
        "failures": s.failures,
    })
}

fn trunk_json(t: &StoredTrunk, statuses: &[TrunkRegistrationStatus]) -> Value {
    let status = statuses.iter().find(|s| s.trunk == t.name);
    json!({
        "name": t.name,
        "host": t.host,
        "port": t.port,
        "transport": t.transport,
        "username": t.username,
        "hasPassword": t.password.is_some(),
        "prefixes": t.prefixes,
        "priority": t.priority,
        "strip": t.strip,
        "addPrefix": t.add_prefix,
        "callerId": t.caller_id,
        "register": t.register_expires.is_some(),
        "registerExpires": t.register_expires,
        "registration": if t.register_expires.is_some() {
            registration_json(status)
        } else {
            Value::Null
        },
        "createdAt": t.created_at,
        "updatedAt": t.updated_at,
    })
}

pub async fn put_trunk(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<TrunkBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let spec = TrunkSpec {
        host: body.host,
        port: body.port,
        transport: body.transport,
        username: body.username,
        password: body.password,
        prefixes: body.prefixes,
        priority: body.priority,
        strip: body.strip,
        add_prefix: body.add_prefix,
        caller_id: body.caller_id,
        register: body.register,
        register_expires: body.register_expires,
    };
    let (trunk, created) = state.store.put_trunk(&caller.id, &name, spec).await?;
    state.router.reload().await?;
    sync_registrations(&state);
    let statuses = registrations(&state, &caller.id).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(trunk_json(&trunk, &statuses))))
}

/// Hands the trunks that register to the call core.
fn sync_registrations(state: &ApiState) {
    state
        .router
        .sync_registrations(|trunks| state.sessions.set_trunk_registrations(trunks));
}

async fn registrations(
    state: &ApiState,
    account: &str,
) -> Result<Vec<TrunkRegistrationStatus>, ApiError> {
    state
        .sessions
        .trunk_registrations(account.to_string())
        .await
        .map_err(ApiError::control_gone)
}

pub async fn get_trunk(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trunk = state
        .store
        .get_trunk(&caller.id, &name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("trunk {name:?}")))?;
    let statuses = registrations(&state, &caller.id).await?;
    Ok(Json(trunk_json(&trunk, &statuses)))
}

pub async fn list_trunks(
    State(state): State<ApiState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let trunks = state.store.list_trunks(&caller.id).await?;
    let statuses = registrations(&state, &caller.id).await?;
    let trunks: Vec<Value> = trunks.iter().map(|t| trunk_json(t, &statuses)).collect();
    Ok(Json(json!({ "trunks": trunks })))
}

pub async fn delete_trunk(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !state.store.delete_trunk(&caller.id, &name).await? {
        return Err(ApiError::NotFound(format!("trunk {name:?}")));
    }
    state.router.reload().await?;
    sync_registrations(&state);
    Ok(StatusCode::NO_CONTENT)
}
