//! Deleting recordings, which gives their bytes back to the account's
//! recording quota. (Reading one is history's `GET /v1/recordings/{id}`.)

use super::error::ApiError;
use super::history::recording_session;
use super::sessions::own_live;
use super::{ApiState, Caller};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use dialtone_core::SessionId;

/// `DELETE /v1/recordings/{id}`: the file goes; the call's history still
/// names it, and reading it answers 404 from then on. A recording of a
/// session still running may be being written: 409 until it ends.
pub async fn delete_recording(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound("recording".to_owned());
    let session = recording_session(&id).ok_or_else(not_found)?;
    let calls = state.store.session_calls(&caller.id, session).await?;
    if !calls.iter().any(|c| c.recordings.contains(&id)) {
        return Err(not_found());
    }
    if let Ok(live) = session.parse::<SessionId>() {
        if own_live(&state, &caller.id, live).await?.is_some() {
            return Err(ApiError::Other {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message: "the recording's session is still running; delete it once it ended"
                    .to_owned(),
            });
        }
    }
    let path = state.recordings_dir.join(&id);
    let bytes = match tokio::fs::metadata(&path).await {
        Ok(m) if m.is_file() => m.len(),
        Ok(_) => return Err(not_found()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(ApiError::Internal(format!("{}: {e}", path.display()))),
    };
    match tokio::fs::remove_file(&path).await {
        Ok(()) => {}
        // A concurrent delete won; its bytes were given back there.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(ApiError::Internal(format!("{}: {e}", path.display()))),
    }
    state.recording_usage.release(&caller.id, bytes);
    Ok(StatusCode::NO_CONTENT)
}
