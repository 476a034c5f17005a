//! Who is calling: `Authorization: Bearer KEY` resolved to an account.

use super::error::ApiError;
use super::ApiState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use dialtone_store::Account;

/// The authenticated account of a request; extracting it fails with 401.
#[derive(Debug, Clone)]
pub struct Caller(pub Account);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Caller, ApiError> {
        let key = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, key) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
            })
            .filter(|k| !k.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        match state.store.account_by_api_key(key).await? {
            Some(account) => Ok(Caller(account)),
            None => Err(ApiError::Unauthorized),
        }
    }
}
