//! Who is calling: `Authorization: Bearer KEY` resolved to an account.

use super::error::ApiError;
use super::ApiState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use dialtone_store::Account;

/// The authenticated account of a request; extracting it fails with 401.
#[derive(Debug, Clone)]
pub struct Caller(pub Account);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Caller, ApiError> {
        let key = bearer_key(&parts.headers).ok_or(ApiError::Unauthorized)?;
        match state.store.account_by_api_key(key).await? {
            Some(account) => Ok(Caller(account)),
            None => Err(ApiError::Unauthorized),
        }
    }
}

/// The key of `Authorization: Bearer KEY` (scheme case-insensitive).
pub(crate) fn bearer_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, key) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
        })
        .filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn bearer_keys_are_read_with_any_case_and_spacing() {
        assert_eq!(bearer_key(&headers("Bearer dt_abc")), Some("dt_abc"));
        assert_eq!(bearer_key(&headers("  bearer   dt_abc  ")), Some("dt_abc"));
        assert_eq!(bearer_key(&headers("Basic dt_abc")), None);
        assert_eq!(bearer_key(&headers("Bearer ")), None);
        assert_eq!(bearer_key(&HeaderMap::new()), None);
    }
}
