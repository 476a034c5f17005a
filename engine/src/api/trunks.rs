//! SIP trunks of the caller's account: where `VoxEngine.callPSTN` sends a
//! number, by prefix and priority, failing over to the next trunk on 5xx,
//! 408 or no answer. Passwords go in and never come out.

use super::error::ApiError;
use super::{ApiJson, ApiState, Caller};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
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
}

fn trunk_json(t: &StoredTrunk) -> Value {
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
    };
    let (trunk, created) = state.store.put_trunk(&caller.id, &name, spec).await?;
    state.router.reload().await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(trunk_json(&trunk))))
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
    Ok(Json(trunk_json(&trunk)))
}

pub async fn list_trunks(
    State(state): State<ApiState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let trunks = state.store.list_trunks(&caller.id).await?;
    Ok(Json(
        json!({ "trunks": trunks.iter().map(trunk_json).collect::<Vec<_>>() }),
    ))
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
    Ok(StatusCode::NO_CONTENT)
}
