//! `/access/{session}/{token}[/…]`: a session's `accessURL`. Any method;
//! the request becomes `AppEvents.HttpRequest` in the session and what the
//! handler returns is the response. The token is the secret: no API key.

use crate::api::ApiError;
use crate::call::control::SessionControl;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use dialtone_core::messages::{AccessReplySlot, AccessRequest};
use dialtone_core::SessionId;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Largest request body passed to a session.
pub const MAX_BODY: usize = 1024 * 1024;
/// Longest a client waits for the session's answer.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest the request body may take to arrive.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests one session may have waiting for answers; more get 429. A
/// session answers one at a time, so a flood would only queue up.
pub const MAX_PENDING_PER_SESSION: usize = 16;
/// Requests waiting for answers across all sessions; more get 503.
pub const MAX_PENDING: usize = 4096;

#[derive(Clone)]
struct AccessState {
    control: SessionControl,
    pending: Arc<Mutex<HashMap<SessionId, usize>>>,
}

/// One request counted against its session until dropped.
struct Pending {
    pending: Arc<Mutex<HashMap<SessionId, usize>>>,
    session: SessionId,
}

/// Why a request may not wait for an answer.
enum Busy {
    Session,
    Engine,
}

impl Pending {
    fn take(state: &AccessState, session: SessionId) -> Result<Pending, Busy> {
        let mut map = state.pending.lock();
        let total: usize = map.values().sum();
        if total >= MAX_PENDING {
            return Err(Busy::Engine);
        }
        let count = map.entry(session).or_insert(0);
        if *count >= MAX_PENDING_PER_SESSION {
            return Err(Busy::Session);
        }
        *count += 1;
        Ok(Pending {
            pending: state.pending.clone(),
            session,
        })
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut map = self.pending.lock();
        if let Some(count) = map.get_mut(&self.session) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.session);
            }
        }
    }
}

pub fn routes(control: SessionControl) -> Router {
    let state = AccessState {
        control,
        pending: Arc::new(Mutex::new(HashMap::new())),
    };
    Router::new()
        .route("/access/{session}/{token}", any(access))
        .route("/access/{session}/{token}/{*rest}", any(access))
        // The body is read by the handler itself, after the session and
        // token are checked, with its own limit.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// The API's JSON error answer: `{"error": {code, message}}`.
fn error(status: StatusCode, code: &'static str, message: &str) -> Response {
    ApiError::Other {
        status,
        code,
        message: message.to_owned(),
    }
    .into_response()
}

async fn access(
    State(state): State<AccessState>,
    Path(params): Path<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let not_found = || error(StatusCode::NOT_FOUND, "not_found", "no such session");
    let (Some(session), Some(token)) = (params.get("session"), params.get("token")) else {
        return not_found();
    };
    let Ok(session) = session.parse::<SessionId>() else {
        return not_found();
    };
    // Nothing is read or queued for a session that does not exist or a
    // token that does not open it.
    if !state.control.gate().admits(session, token) {
        return not_found();
    }
    let _pending = match Pending::take(&state, session) {
        Ok(p) => p,
        Err(Busy::Session) => {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "the session has too many requests waiting for an answer",
            )
        }
        Err(Busy::Engine) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "too many requests are waiting for sessions to answer; retry later",
            )
        }
    };
    let body = match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await
    {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            let message = format!("the request body is larger than {MAX_BODY} bytes, or broken");
            return error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", &message);
        }
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "the request body did not arrive in time",
            )
        }
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
    if state
        .control
        .access(session, token.clone(), request)
        .is_err()
    {
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
