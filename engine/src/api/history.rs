//! Call history of the caller's account: sessions with their calls and
//! logs, and the recordings made on them.

use super::error::ApiError;
use super::{ApiState, Caller};
use crate::history::SESSION_STATUSES;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Json;
use dialtone_store::{CallRecord, HistoryFilter, Page, SessionRecord};
use serde::Deserialize;
use serde_json::{json, Value};
use tower::ServiceExt;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Sessions started at or after this time (ms since the epoch).
    from: Option<i64>,
    /// Sessions started before this time (ms since the epoch).
    to: Option<i64>,
    number: Option<String>,
    application: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

pub(super) fn session_json(s: &SessionRecord) -> Value {
    json!({
        "id": s.id,
        "application": s.application,
        "rule": s.rule,
        "startedAt": s.started_at,
        "endedAt": s.ended_at,
        "status": s.status,
        "error": s.error,
    })
}

pub(super) fn call_json(c: &CallRecord) -> Value {
    let recordings: Vec<Value> = c
        .recordings
        .iter()
        .map(|id| json!({ "id": id, "url": format!("/v1/recordings/{id}") }))
        .collect();
    json!({
        "id": c.id,
        "direction": c.direction,
        "from": c.from,
        "to": c.to,
        "startedAt": c.started_at,
        "answeredAt": c.answered_at,
        "endedAt": c.ended_at,
        "durationMs": c.duration_ms,
        "disconnectCode": c.disconnect_code,
        "disconnectReason": c.disconnect_reason,
        "recordings": recordings,
    })
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

pub async fn list_history(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let statuses = SESSION_STATUSES;
    if let Some(status) = q.status.as_deref().filter(|s| !s.is_empty()) {
        if !statuses.contains(&status) {
            return Err(ApiError::BadRequest(format!(
                "unknown status {status:?}: expected one of {}",
                statuses.join(", ")
            )));
        }
    }
    let filter = HistoryFilter {
        from_time: q.from,
        to_time: q.to,
        number: non_empty(q.number),
        application: non_empty(q.application),
        status: non_empty(q.status),
    };
    let page = Page {
        limit: q.limit.unwrap_or(0),
        cursor: non_empty(q.cursor),
    };
    let page = state
        .store
        .query_history(&caller.id, &filter, &page)
        .await?;
    let sessions: Vec<Value> = page
        .entries
        .iter()
        .map(|e| {
            let mut v = session_json(&e.session);
            v["calls"] = e.calls.iter().map(call_json).collect();
            v
        })
        .collect();
    Ok(Json(
        json!({ "sessions": sessions, "nextCursor": page.next_cursor }),
    ))
}

pub async fn get_session(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let calls = state.store.session_calls(&caller.id, &id).await?;
    let mut v = match state.store.get_session(&caller.id, &id).await? {
        Some(s) => session_json(&s),
        // Calls can be written before their session's row.
        None if !calls.is_empty() => json!({ "id": id }),
        None => return Err(ApiError::NotFound("session".to_owned())),
    };
    let log = state.store.session_log(&caller.id, &id).await?;
    v["calls"] = calls.iter().map(call_json).collect();
    v["log"] = json!(log);
    Ok(Json(v))
}

/// Recording ids are their file names, `<session>-<unit>.<ext>`.
pub fn recording_session(id: &str) -> Option<&str> {
    let plain = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !plain || id.starts_with('.') || id.contains("..") {
        return None;
    }
    // A session id is a hyphenated UUID: 36 characters.
    id.get(..36)
        .filter(|_| id.as_bytes().get(36) == Some(&b'-'))
}

/// Streams the recording from disk (with `Range` support, so players can
/// seek); it is never read into memory whole.
pub async fn get_recording(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("recording".to_owned());
    let session = recording_session(&id).ok_or_else(not_found)?;
    let calls = state.store.session_calls(&caller.id, session).await?;
    if !calls.iter().any(|c| c.recordings.contains(&id)) {
        return Err(not_found());
    }
    let path = state.recordings_dir.join(&id);
    match tokio::fs::metadata(&path).await {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(not_found()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(ApiError::Internal(format!("{}: {e}", path.display()))),
    }
    let mime = if id.ends_with(".mp3") {
        "audio/mpeg"
    } else {
        "audio/wav"
    };
    let served = tower_http::services::ServeFile::new_with_mime(
        &path,
        &mime
            .parse()
            .map_err(|_| ApiError::Internal(format!("bad MIME type {mime}")))?,
    )
    .oneshot(request)
    .await;
    match served {
        Ok(response) => Ok(response.map(axum::body::Body::new)),
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::recording_session;

    #[test]
    fn recording_ids_name_their_session() {
        let s = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        assert_eq!(recording_session(&format!("{s}-7.wav")), Some(s));
        assert_eq!(recording_session("../etc/passwd"), None);
        assert_eq!(recording_session(&format!("{s}-7/../x")), None);
        assert_eq!(recording_session("short.wav"), None);
    }
}
