//! Applications and their versioned scenarios.

use super::error::ApiError;
use super::{ApiState, Caller};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use dialtone_script::Scenario;
use dialtone_store::{Application, ScenarioInfo, MAX_SCENARIO_BYTES};
use serde::Deserialize;
use serde_json::{json, Value};

fn app_json(app: &Application) -> Value {
    json!({ "id": app.id, "name": app.name, "createdAt": app.created_at })
}

fn info_json(info: &ScenarioInfo) -> Value {
    json!({
        "name": info.name,
        "version": info.version,
        "size": info.size,
        "createdAt": info.created_at,
    })
}

/// The caller's application called `name`, or 404.
pub(super) async fn find_app(
    state: &ApiState,
    account: &str,
    name: &str,
) -> Result<Application, ApiError> {
    state
        .store
        .application_by_name(account, name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("application {name:?}")))
}

pub async fn list_applications(
    State(state): State<ApiState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let apps = state.store.list_applications(&caller.id).await?;
    Ok(Json(
        json!({ "applications": apps.iter().map(app_json).collect::<Vec<_>>() }),
    ))
}

pub async fn put_application(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let existed = state
        .store
        .application_by_name(&caller.id, &name)
        .await?
        .is_some();
    let app = state.store.put_application(&caller.id, &name).await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(app_json(&app))))
}

pub async fn get_application(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = find_app(&state, &caller.id, &name).await?;
    Ok(Json(app_json(&app)))
}

pub async fn delete_application(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let app = find_app(&state, &caller.id, &name).await?;
    if !state.store.delete_application(&caller.id, &app.id).await? {
        return Err(ApiError::NotFound(format!("application {name:?}")));
    }
    state.router.reload().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_scenarios(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(app): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    let list = state.store.list_scenarios(&caller.id, &app.id).await?;
    Ok(Json(
        json!({ "scenarios": list.iter().map(info_json).collect::<Vec<_>>() }),
    ))
}

fn is_javascript(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = value.split(';').next().unwrap_or("").trim();
    ["application/javascript", "text/javascript"]
        .iter()
        .any(|m| mime.eq_ignore_ascii_case(m))
}

/// Save a new version of a scenario once it compiles.
pub async fn put_scenario(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path((app, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !is_javascript(&headers) {
        return Err(ApiError::UnsupportedMediaType(
            "a scenario must be sent as Content-Type: application/javascript".to_owned(),
        ));
    }
    let body = body?;
    if body.len() > MAX_SCENARIO_BYTES {
        return Err(ApiError::TooLarge(format!(
            "scenario source is {} bytes, more than the {MAX_SCENARIO_BYTES} byte limit",
            body.len()
        )));
    }
    let source = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::BadRequest("scenario source is not UTF-8".to_owned()))?;
    let app = find_app(&state, &caller.id, &app).await?;
    let scenario = Scenario {
        name: format!("{}/{name}", app.name),
        source,
    };
    // Compiling takes a fresh JS runtime; keep it off the async threads.
    let checked = tokio::task::spawn_blocking(move || {
        let result = dialtone_script::check(&scenario);
        (scenario, result)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("compile task failed: {e}")))?;
    let (scenario, result) = checked;
    if let Err(e) = result {
        return Err(ApiError::Syntax {
            file: e.file,
            line: e.line,
            column: e.column,
            message: e.message,
        });
    }
    let saved = state
        .store
        .put_scenario(&caller.id, &app.id, &name, &scenario.source)
        .await?;
    state.router.reload().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "application": app.name,
            "name": saved.name,
            "version": saved.version,
            "size": saved.source.len(),
            "createdAt": saved.created_at,
        })),
    ))
}

#[derive(Deserialize)]
pub struct VersionQuery {
    version: Option<i64>,
}

pub async fn get_scenario(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path((app, name)): Path<(String, String)>,
    Query(q): Query<VersionQuery>,
) -> Result<Json<Value>, ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    let found = state
        .store
        .get_scenario(&caller.id, &app.id, &name, q.version)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("scenario {name:?}")))?;
    Ok(Json(json!({
        "application": app.name,
        "name": found.name,
        "version": found.version,
        "source": found.source,
        "createdAt": found.created_at,
    })))
}

pub async fn list_versions(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path((app, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    let list = state
        .store
        .list_scenario_versions(&caller.id, &app.id, &name)
        .await?;
    if list.is_empty() {
        return Err(ApiError::NotFound(format!("scenario {name:?}")));
    }
    Ok(Json(
        json!({ "versions": list.iter().map(info_json).collect::<Vec<_>>() }),
    ))
}

pub async fn delete_scenario(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path((app, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    if !state
        .store
        .delete_scenario(&caller.id, &app.id, &name)
        .await?
    {
        return Err(ApiError::NotFound(format!("scenario {name:?}")));
    }
    state.router.reload().await?;
    Ok(StatusCode::NO_CONTENT)
}
