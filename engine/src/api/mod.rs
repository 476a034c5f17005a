//! The management REST API of `dialtone serve`: accounts, claims,
//! applications, scenarios, routing rules and call history. Every object belongs to one account and every
//! handler reads and writes only the caller's own; a missing object and
//! another account's object look the same (404).

mod apps;
pub(crate) mod auth;
mod claims;
pub mod contact_centre;
mod custom_data;
pub(crate) mod error;
mod history;
mod keys;
mod openapi;
mod recordings;
mod rules;
mod sessions;
mod trunks;
mod usage;
mod users;

pub use auth::Caller;
pub use error::{json_errors, method_not_allowed, ApiError};
pub use history::recording_session;

use crate::serve::router::StoreRouter;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use dialtone_store::{Store, MAX_SCENARIO_BYTES};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub router: Arc<StoreRouter>,
    /// Starts, lists and ends live sessions.
    pub sessions: crate::call::control::SessionControl,
    /// Live sessions' calls and log lines so far.
    pub history: Arc<crate::history::StoreSink>,
    /// Where recordings are written; `GET /v1/recordings/{id}` reads here.
    pub recordings_dir: std::path::PathBuf,
    /// Recording bytes per account, against their quota.
    pub recording_usage: Arc<crate::recording_usage::RecordingUsage>,
}

/// A JSON body whose rejections become [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(value))
    }
}

/// All routes under `/v1`, ready to merge into the HTTP listener.
pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/v1/accounts", post(create_account))
        .route("/v1/applications", get(apps::list_applications))
        .route(
            "/v1/applications/{app}",
            put(apps::put_application)
                .get(apps::get_application)
                .delete(apps::delete_application),
        )
        .route(
            "/v1/applications/{app}/scenarios",
            get(apps::list_scenarios),
        )
        .route(
            "/v1/applications/{app}/scenarios/{name}",
            put(apps::put_scenario)
                .get(apps::get_scenario)
                .delete(apps::delete_scenario),
        )
        .route(
            "/v1/applications/{app}/scenarios/{name}/versions",
            get(apps::list_versions),
        )
        .route(
            "/v1/applications/{app}/rules",
            post(rules::create_rule).get(rules::list_rules),
        )
        .route(
            "/v1/applications/{app}/rules/{id}",
            get(rules::get_rule)
                .put(rules::update_rule)
                .delete(rules::delete_rule),
        )
        .route("/v1/applications/{app}/users", get(users::list_users))
        .route(
            "/v1/applications/{app}/users/{name}",
            put(users::put_user)
                .get(users::get_user)
                .delete(users::delete_user),
        )
        .route("/v1/cti", get(crate::cti::connect))
        .route("/desk", get(crate::cti::desk_page))
        .route("/v1/agents", get(contact_centre::list_agents))
        .route(
            "/v1/agents/{id}",
            put(contact_centre::put_agent)
                .get(contact_centre::get_agent)
                .delete(contact_centre::delete_agent),
        )
        .route(
            "/v1/agents/{id}/state",
            post(contact_centre::set_agent_state),
        )
        .route("/v1/queues", get(contact_centre::list_queues))
        .route(
            "/v1/queues/{name}",
            put(contact_centre::put_queue)
                .get(contact_centre::get_queue)
                .delete(contact_centre::delete_queue),
        )
        .route("/v1/trunks", get(trunks::list_trunks))
        .route(
            "/v1/trunks/{name}",
            put(trunks::put_trunk)
                .get(trunks::get_trunk)
                .delete(trunks::delete_trunk),
        )
        .route("/v1/rules/match", post(rules::match_rule))
        .route(
            "/v1/claims",
            get(claims::list_claims).post(claims::create_claim),
        )
        .route(
            "/v1/claims/{id}",
            get(claims::get_claim).delete(claims::delete_claim),
        )
        .route(
            "/v1/sessions",
            post(sessions::start_session).get(sessions::list_sessions),
        )
        .route(
            "/v1/sessions/{id}",
            get(sessions::get_session).delete(sessions::delete_session),
        )
        .route("/v1/history", get(history::list_history))
        .route("/v1/history/{session}", get(history::get_session))
        .route(
            "/v1/recordings/{id}",
            get(history::get_recording).delete(recordings::delete_recording),
        )
        .route("/v1/account/usage", get(usage::get_usage))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/v1/keys", get(keys::list_keys).post(keys::create_key))
        .route("/v1/keys/{id}", axum::routing::delete(keys::revoke_key))
        .route("/v1/accounts/{id}/keys", post(keys::create_account_key))
        // Applies to the routes above it: keep it after the last route.
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(not_found)
        // Room above the scenario limit so an oversized scenario reaches the
        // handler and gets the limit in its message.
        .layer(DefaultBodyLimit::max(MAX_SCENARIO_BYTES * 4))
        // Extractor rejections and other plain-text errors become JSON.
        .layer(axum::middleware::map_response(error::json_errors))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route".to_owned())
}

#[derive(Deserialize)]
struct NewAccount {
    name: String,
}

async fn create_account(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !caller.is_admin {
        return Err(ApiError::Forbidden(
            "only the admin account can create accounts",
        ));
    }
    let (account, key) = state.store.create_account(body.name.trim()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": account.id,
            "name": account.name,
            "apiKey": key.as_str(),
            "createdAt": account.created_at,
        })),
    ))
}
