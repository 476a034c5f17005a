//! Claims: the numbers, number patterns and SIP domains an account receives.
//! An INVITE reaches an account's rules only if one of its claims matches
//! the Request-URI. Each account manages its own; the admin may manage any
//! account's (`?account=ID`).

use super::error::ApiError;
use super::{ApiJson, ApiState, Caller};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use dialtone_store::{Account, ClaimKind, StoredClaim};
use serde::Deserialize;
use serde_json::{json, Value};

/// Exactly one of the three.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    number: Option<String>,
    pattern: Option<String>,
    domain: Option<String>,
}

impl ClaimBody {
    fn kind_and_value(self) -> Result<(ClaimKind, String), ApiError> {
        match (self.number, self.pattern, self.domain) {
            (Some(v), None, None) => Ok((ClaimKind::Number, v)),
            (None, Some(v), None) => Ok((ClaimKind::Pattern, v)),
            (None, None, Some(v)) => Ok((ClaimKind::Domain, v)),
            _ => Err(ApiError::Invalid(
                "give exactly one of number, pattern and domain".to_owned(),
            )),
        }
    }
}

#[derive(Deserialize)]
pub struct AccountQuery {
    account: Option<String>,
}

pub fn claim_json(claim: &StoredClaim) -> Value {
    json!({
        "id": claim.id,
        "account": claim.account,
        "kind": claim.kind.as_str(),
        "value": claim.value,
        "createdAt": claim.created_at,
    })
}

/// The account a request acts for: the caller's own, or with `?account=`
/// any account for the admin (403 for anyone else, 404 if it does not
/// exist).
async fn target_account(
    state: &ApiState,
    caller: &Account,
    query: AccountQuery,
) -> Result<String, ApiError> {
    match query.account {
        None => Ok(caller.id.clone()),
        Some(id) if id == caller.id => Ok(id),
        Some(_) if !caller.is_admin => Err(ApiError::Forbidden(
            "only the admin account can manage other accounts' claims",
        )),
        Some(id) => match state.store.get_account(&id).await? {
            Some(account) => Ok(account.id),
            None => Err(ApiError::NotFound(format!("account {id:?}"))),
        },
    }
}

/// The claim `id` if the caller may see it: its own, or any for the admin.
async fn find_claim(state: &ApiState, caller: &Account, id: &str) -> Result<StoredClaim, ApiError> {
    let found = if caller.is_admin {
        state.store.claim_by_id(id).await?
    } else {
        state.store.get_claim(&caller.id, id).await?
    };
    found.ok_or_else(|| ApiError::NotFound(format!("claim {id:?}")))
}

/// `GET /v1/claims`: the account's claims, oldest first.
pub async fn list_claims(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Query(query): Query<AccountQuery>,
) -> Result<Json<Value>, ApiError> {
    let account = target_account(&state, &caller, query).await?;
    let claims = state.store.list_claims(&account).await?;
    let list: Vec<Value> = claims.iter().map(claim_json).collect();
    Ok(Json(json!({ "claims": list })))
}

/// `POST /v1/claims`: claim a number, a pattern or a domain. 409 when it
/// overlaps another account's claim (which one is not said).
pub async fn create_claim(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Query(query): Query<AccountQuery>,
    ApiJson(body): ApiJson<ClaimBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (kind, value) = body.kind_and_value()?;
    let account = target_account(&state, &caller, query).await?;
    if kind == ClaimKind::Domain {
        let normalized = dialtone_routing::normalize_claim(kind, &value)?;
        if state.router.is_reserved(&normalized) {
            return Err(ApiError::Other {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message: format!(
                    "domain {normalized:?} is reserved: this server is addressed by it"
                ),
            });
        }
    }
    let claim = state.store.create_claim(&account, kind, &value).await?;
    tracing::info!(account = %account, claim = %claim.id, kind = %kind, value = %claim.value, "claim created");
    state.router.reload().await?;
    Ok((StatusCode::CREATED, Json(claim_json(&claim))))
}

/// `GET /v1/claims/{id}`.
pub async fn get_claim(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let claim = find_claim(&state, &caller, &id).await?;
    Ok(Json(claim_json(&claim)))
}

/// `DELETE /v1/claims/{id}`: the account stops receiving what it claimed.
pub async fn delete_claim(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let claim = find_claim(&state, &caller, &id).await?;
    if !state.store.delete_claim(&claim.account, &claim.id).await? {
        return Err(ApiError::NotFound(format!("claim {id:?}")));
    }
    tracing::info!(account = %claim.account, claim = %claim.id, "claim deleted");
    state.router.reload().await?;
    Ok(StatusCode::NO_CONTENT)
}
