//! Users of an application: what phones and agents register as, and whom
//! `VoxEngine.callUser` calls. Passwords go in and never come out; each user
//! is shown with its SIP addresses and its live bindings.

use super::apps::find_app;
use super::error::ApiError;
use super::{ApiJson, ApiState, Caller};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use dialtone_calls::{Binding, UserKey};
use dialtone_store::{StoredUser, UserChange};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Instant;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserBody {
    password: Option<String>,
    display_name: Option<String>,
}

fn binding_json(b: &Binding, now: Instant) -> Value {
    json!({
        "contact": b.contact,
        "source": b.source.addr.to_string(),
        "transport": b.source.transport.via_name(),
        "webrtc": b.is_webrtc(),
        "expiresIn": b.expires_at.saturating_duration_since(now).as_secs(),
        "userAgent": b.user_agent,
        "registeredFor": now.saturating_duration_since(b.since).as_secs(),
    })
}

fn user_json(user: &StoredUser, addresses: &[String], bindings: &[Binding]) -> Value {
    let now = Instant::now();
    json!({
        "name": user.name,
        "displayName": user.display_name,
        "realm": user.realm,
        "sipAddresses": addresses
            .iter()
            .map(|d| format!("sip:{}@{d}", user.name))
            .collect::<Vec<_>>(),
        "bindings": bindings.iter().map(|b| binding_json(b, now)).collect::<Vec<_>>(),
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
    })
}

fn domains(state: &ApiState, account: &str, app: &str) -> Vec<String> {
    state
        .router
        .snapshot()
        .user_domains
        .get(&(account.to_string(), app.to_string()))
        .cloned()
        .unwrap_or_default()
}

async fn bindings_of(
    state: &ApiState,
    account: &str,
    app: &str,
) -> Result<Vec<(UserKey, Vec<Binding>)>, ApiError> {
    state
        .sessions
        .bindings(account.to_string(), Some(app.to_string()))
        .await
        .map_err(ApiError::control_gone)
}

pub async fn put_user(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path((app, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<UserBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    if body.password.is_none()
        && state
            .store
            .get_user(&caller.id, &app.id, &name)
            .await?
            .is_none()
    {
        return Err(ApiError::Invalid(
            "password is required for a new user".to_owned(),
        ));
    }
    let change = UserChange {
        password: body.password,
        display_name: body.display_name,
    };
    let (user, created) = state
        .store
        .put_user(&caller.id, &app.id, &name, change)
        .await?;
    state.router.put_user(&app.name, &user).await;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let addresses = domains(&state, &caller.id, &app.name);
    Ok((status, Json(user_json(&user, &addresses, &[]))))
}

pub async fn get_user(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path((app, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    let user = state
        .store
        .get_user(&caller.id, &app.id, &name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("user {name:?}")))?;
    let bindings = bindings_of(&state, &caller.id, &app.name).await?;
    let mine = bindings
        .iter()
        .find(|(k, _)| k.user == user.name)
        .map_or(&[][..], |(_, b)| b.as_slice());
    let addresses = domains(&state, &caller.id, &app.name);
    Ok(Json(user_json(&user, &addresses, mine)))
}

pub async fn list_users(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(app): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    let users = state.store.list_users(&caller.id, &app.id).await?;
    let bindings = bindings_of(&state, &caller.id, &app.name).await?;
    let addresses = domains(&state, &caller.id, &app.name);
    let list: Vec<Value> = users
        .iter()
        .map(|u| {
            let mine = bindings
                .iter()
                .find(|(k, _)| k.user == u.name)
                .map_or(&[][..], |(_, b)| b.as_slice());
            user_json(u, &addresses, mine)
        })
        .collect();
    Ok(Json(json!({ "users": list })))
}

pub async fn delete_user(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path((app, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    if !state.store.delete_user(&caller.id, &app.id, &name).await? {
        return Err(ApiError::NotFound(format!("user {name:?}")));
    }
    state.router.remove_user(&caller.id, &app.name, &name).await;
    state.sessions.forget_user(UserKey {
        account: caller.id.clone(),
        application: app.name.clone(),
        user: name,
    });
    Ok(StatusCode::NO_CONTENT)
}
