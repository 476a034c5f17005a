//! What the caller's account holds of what its quotas limit.

use super::error::ApiError;
use super::{ApiState, Caller};
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

/// `GET /v1/account/usage`: each quota's use and limit (`null`: no limit).
pub async fn get_usage(
    State(state): State<ApiState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let stored = state.store.stored_usage(&caller.id).await?;
    let quotas = state.store.quotas();
    let recordings = &state.recording_usage;
    Ok(Json(json!({
        "rules": { "used": stored.rules, "limit": quotas.rules },
        "scenarios": { "used": stored.scenarios, "limit": quotas.scenarios },
        "scenarioVersions": {
            "used": stored.scenario_versions,
            "keptPerScenario": quotas.scenario_versions,
        },
        "recordingBytes": {
            "used": recordings.used(&caller.id),
            "limit": recordings.limit(),
        },
    })))
}
