//! API keys of the caller's account: list, create, revoke (rotation), and
//! the admin's way back into an account whose keys are lost. A key is shown
//! in plain text only when it is created; afterwards it is named by its id.

use super::auth::bearer_key;
use super::error::ApiError;
use super::{ApiState, Caller};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use dialtone_store::{Account, ApiKey};
use serde_json::{json, Value};

/// The authenticated account and the id of the key this request used.
pub struct KeyCaller {
    account: Account,
    key_id: String,
}

impl FromRequestParts<ApiState> for KeyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<KeyCaller, ApiError> {
        let Caller(account) = Caller::from_request_parts(parts, state).await?;
        // The same header `Caller` just accepted.
        let key = bearer_key(&parts.headers).ok_or(ApiError::Unauthorized)?;
        Ok(KeyCaller {
            account,
            key_id: ApiKey(key.to_owned()).id(),
        })
    }
}

/// `GET /v1/keys`: the caller's keys, oldest first.
pub async fn list_keys(
    State(state): State<ApiState>,
    caller: KeyCaller,
) -> Result<Json<Value>, ApiError> {
    let keys = state.store.list_api_keys(&caller.account.id).await?;
    let list: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "id": k.id,
                "createdAt": k.created_at,
                "current": k.id == caller.key_id,
            })
        })
        .collect();
    Ok(Json(json!({ "keys": list })))
}

/// `POST /v1/keys`: another key for the caller's account.
pub async fn create_key(
    State(state): State<ApiState>,
    Caller(caller): Caller,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    issue(&state, &caller.id).await
}

/// `POST /v1/accounts/{id}/keys`: admin only, a new key for any account.
pub async fn create_account_key(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(account): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !caller.is_admin {
        return Err(ApiError::Forbidden(
            "only the admin account can create keys for other accounts",
        ));
    }
    issue(&state, &account).await
}

async fn issue(state: &ApiState, account: &str) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (key, info) = state.store.create_api_key(account).await?;
    tracing::info!(account, key = %info.id, "API key created");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": info.id,
            "apiKey": key.as_str(),
            "createdAt": info.created_at,
        })),
    ))
}

/// `DELETE /v1/keys/{id}`: revoke one of the caller's keys, the one this
/// request uses included, but never the account's last key.
pub async fn revoke_key(
    State(state): State<ApiState>,
    caller: KeyCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let account = &caller.account.id;
    if state.store.revoke_api_key_by_id(account, &id).await? {
        tracing::info!(account = %account, key = %id, "API key revoked");
        return Ok(StatusCode::NO_CONTENT);
    }
    let keys = state.store.list_api_keys(account).await?;
    if keys.iter().any(|k| k.id == id) {
        return Err(ApiError::Other {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: format!(
                "key {id} is the account's last key: create another one before revoking it"
            ),
        });
    }
    Err(ApiError::NotFound(format!("key {id:?}")))
}
