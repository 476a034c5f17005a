//! `/access/{session}/{token}[/…]`: a session's `accessURL`. Any method;
//! the request becomes `AppEvents.HttpRequest` in the session and what the
//! handler returns is the response. The token is the secret: no API key.

use crate::call::control::SessionControl;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use dialtone_core::messages::{AccessReplySlot, AccessRequest};
use dialtone_core::SessionId;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

/// Largest request body passed to a session.
pub const MAX_BODY: usize = 1024 * 1024;
/// Longest a client waits for the session's answer.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

pub fn routes(control: SessionControl) -> Router {
    Router::new()
        .route("/access/{session}/{token}", any(access))
        .route("/access/{session}/{token}/{*rest}", any(access))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(control)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

async fn access(
    State(control): State<SessionControl>,
    Path(params): Path<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let message = format!("the request body is larger than {MAX_BODY} bytes");
            return error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", &message);
        }
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_request", &e.body_text()),
    };
    let not_found = || error(StatusCode::NOT_FOUND, "not_found", "no such session");
    let (Some(session), Some(token)) = (params.get("session"), params.get("token")) else {
        return not_found();
    };
    let Ok(session) = session.parse::<SessionId>() else {
        return not_found();
    };
    let (reply, answer) = AccessReplySlot::new();
    let request = AccessRequest {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        content: String::from_utf8_lossy(&body).into_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        reply,
    };
    if control.access(session, token.clone(), request).is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the engine is shutting down",
        );
    }
    match tokio::time::timeout(REPLY_TIMEOUT, answer).await {
        Ok(Ok(r)) => {
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
            match r.content_type {
                Some(ct) => (status, [(CONTENT_TYPE, ct)], r.body).into_response(),
                None => (status, axum::body::Body::from(r.body)).into_response(),
            }
        }
        Ok(Err(_)) => error(
            StatusCode::GONE,
            "session_ended",
            "the session ended, or dropped the request, without answering",
        ),
        Err(_) => error(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "the session did not answer in time",
        ),
    }
}
