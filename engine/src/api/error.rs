//! The one place API failures become HTTP responses: every error is
//! `{"error": {"code", "message"}}` with a fitting status, including the
//! router's own answers (unknown route, wrong method) and the rejections of
//! axum's extractors.

use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dialtone_store::StoreError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid API key")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(String),
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: u32,
        column: u32,
        message: String,
    },
    #[error("internal error")]
    Internal(String),
    /// 409 `quota_exceeded`: one more would pass the account's quota
    /// `quota` (the setting `quota_<quota>`) of `limit`.
    #[error("{message}")]
    QuotaExceeded {
        quota: &'static str,
        limit: u64,
        message: String,
    },
    /// 503: try again after `retry_after` seconds (sent as Retry-After).
    #[error("{message}")]
    Unavailable {
        code: &'static str,
        message: String,
        retry_after: u32,
    },
    /// A failure produced outside the API's handlers, with its own status.
    #[error("{message}")]
    Other {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
}

impl ApiError {
    /// 503 `shutting_down`: the signalling task that answers about live
    /// state (bindings, registrations, agents) is gone.
    pub(crate) fn control_gone(e: crate::call::control::ControlError) -> ApiError {
        ApiError::Unavailable {
            code: "shutting_down",
            message: e.to_string(),
            retry_after: 5,
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::Syntax { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "syntax_error"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::QuotaExceeded { .. } => (StatusCode::CONFLICT, "quota_exceeded"),
            ApiError::Unavailable { code, .. } => (StatusCode::SERVICE_UNAVAILABLE, *code),
            ApiError::Other { status, code, .. } => (*status, *code),
        }
    }

    /// The error for a response some other layer answered with `status`
    /// and the plain-text `message` (an extractor rejection, say).
    fn from_status(status: StatusCode, message: String) -> ApiError {
        let message = if message.trim().is_empty() {
            status
                .canonical_reason()
                .unwrap_or("request failed")
                .to_owned()
        } else {
            message.trim().to_owned()
        };
        match status {
            StatusCode::BAD_REQUEST => ApiError::BadRequest(message),
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
            StatusCode::NOT_FOUND => ApiError::NotFound(message),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::Other {
                status,
                code: "method_not_allowed",
                message,
            },
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(message),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(message),
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::Invalid(message),
            StatusCode::INTERNAL_SERVER_ERROR => ApiError::Internal(message),
            _ => ApiError::Other {
                status,
                code: if status.is_server_error() {
                    "internal"
                } else {
                    "bad_request"
                },
                message,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(detail) = &self {
            // The client gets a generic message; the detail goes to the log.
            tracing::error!(error = %detail, "API request failed");
        }
        let mut error = json!({ "code": code, "message": self.to_string() });
        if let ApiError::Syntax { line, column, .. } = &self {
            error["line"] = json!(line);
            error["column"] = json!(column);
        }
        if let ApiError::QuotaExceeded { quota, limit, .. } = &self {
            error["quota"] = json!(quota);
            error["limit"] = json!(limit);
        }
        let mut response = (status, Json(json!({ "error": error }))).into_response();
        if let ApiError::Unavailable { retry_after, .. } = &self {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        response
    }
}

/// Router fallback: the path exists but not with this method. The router
/// adds the `Allow` header.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

/// Longest plain-text error body carried over into the JSON message.
const MAX_PLAIN_ERROR: usize = 4096;

/// Response middleware: any error response that is not JSON yet (extractor
/// rejections answer in plain text) becomes the `{"error": …}` body with the
/// same status and headers.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_PLAIN_ERROR).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    let error = ApiError::from_status(status, text).into_response();
    let (error_parts, error_body) = error.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts.headers.insert(
        CONTENT_TYPE,
        error_parts
            .headers
            .get(CONTENT_TYPE)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("application/json")),
    );
    Response::from_parts(parts, error_body)
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound { what } => ApiError::NotFound(what.to_owned()),
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::ScenarioTooLarge { .. } | StoreError::CustomDataTooLarge { .. } => {
                ApiError::TooLarge(e.to_string())
            }
            StoreError::Invalid { .. } => ApiError::BadRequest(e.to_string()),
            StoreError::QuotaExceeded { quota, limit, .. } => ApiError::QuotaExceeded {
                quota,
                limit,
                message: e.to_string(),
            },
            StoreError::Rule(rule) => ApiError::Invalid(rule.to_string()),
            StoreError::Claim(claim) => claim.into(),
            StoreError::ClaimRefused(message) => ApiError::Other {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message,
            },
            StoreError::Database(_)
            | StoreError::UnsupportedUrl(_)
            | StoreError::Connect(_)
            | StoreError::Corrupt { .. }
            | StoreError::Random(_)
            | StoreError::Task(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<dialtone_routing::ClaimError> for ApiError {
    fn from(e: dialtone_routing::ClaimError) -> ApiError {
        ApiError::Invalid(e.to_string())
    }
}

impl From<crate::serve::router::RouterError> for ApiError {
    fn from(e: crate::serve::router::RouterError) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        match r.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(r.body_text()),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(r.body_text()),
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::Invalid(r.body_text()),
            _ => ApiError::BadRequest(r.body_text()),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> ApiError {
        match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(r.body_text()),
            _ => ApiError::BadRequest(r.body_text()),
        }
    }
}
