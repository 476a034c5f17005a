//! Inbound routing rules of an application, and the match dry run.

use super::apps::find_app;
use super::custom_data;
use super::error::ApiError;
use super::{ApiJson, ApiState, Caller};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use dialtone_store::{NewRule, StoredRule};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    name: String,
    pattern: String,
    exclude: Option<String>,
    #[serde(default, deserialize_with = "integral_i32")]
    priority: i32,
    from: Option<String>,
    /// Header name → pattern its value must match.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    scenarios: Vec<String>,
    /// Given to every session the rule starts, as in `POST /v1/sessions`.
    #[serde(rename = "customData", default)]
    custom_data: Option<Value>,
}

/// An `i32` that may also be written as an integral JSON float (`5.0`), as
/// JSON Schema's `integer` allows.
fn integral_i32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    use serde::de::Error;
    let n = serde_json::Number::deserialize(d)?;
    let value = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i32::try_from(i).ok(),
        (None, Some(f))
            if f.fract() == 0.0 && f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX) =>
        {
            // Integral and in range, so the cast is exact.
            Some(f as i32)
        }
        _ => None,
    };
    value.ok_or_else(|| D::Error::custom(format!("expected a 32-bit integer, not {n}")))
}

impl RuleBody {
    fn into_new(self) -> Result<NewRule, ApiError> {
        Ok(NewRule {
            custom_data: custom_data::text(self.custom_data)?,
            name: self.name,
            priority: self.priority,
            pattern: self.pattern,
            exclude: self.exclude,
            from: self.from,
            headers: self.headers.into_iter().collect(),
            scenarios: self.scenarios,
        })
    }
}

fn rule_json(app_name: &str, stored: &StoredRule) -> Value {
    let r = &stored.rule;
    let headers: Map<String, Value> = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "id": r.id,
        "name": r.name,
        "application": app_name,
        "priority": r.priority,
        "pattern": r.pattern,
        "exclude": r.exclude,
        "from": r.from,
        "headers": headers,
        "scenarios": r.scenarios,
        "customData": stored.custom_data,
        "createdAt": stored.created_at,
    })
}

/// The caller's rule `id` of application `app_id`, or 404.
async fn find_rule(
    state: &ApiState,
    account: &str,
    app_id: &str,
    id: &str,
) -> Result<StoredRule, ApiError> {
    match state.store.get_rule(account, id).await? {
        Some(rule) if rule.rule.application == app_id => Ok(rule),
        _ => Err(ApiError::NotFound(format!("rule {id:?}"))),
    }
}

pub async fn create_rule(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(app): Path<String>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    let stored = state
        .store
        .create_rule(&caller.id, &app.id, &body.into_new()?)
        .await?;
    state.router.reload().await?;
    Ok((StatusCode::CREATED, Json(rule_json(&app.name, &stored))))
}

pub async fn list_rules(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path(app): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    let rules = state.store.list_rules(&caller.id, &app.id).await?;
    let list: Vec<Value> = rules.iter().map(|r| rule_json(&app.name, r)).collect();
    Ok(Json(json!({ "rules": list })))
}

pub async fn get_rule(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path((app, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    let rule = find_rule(&state, &caller.id, &app.id, &id).await?;
    Ok(Json(rule_json(&app.name, &rule)))
}

pub async fn update_rule(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path((app, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Json<Value>, ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    find_rule(&state, &caller.id, &app.id, &id).await?;
    let updated = state
        .store
        .update_rule(&caller.id, &id, &body.into_new()?)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("rule {id:?}")))?;
    state.router.reload().await?;
    Ok(Json(rule_json(&app.name, &updated)))
}

pub async fn delete_rule(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    Path((app, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let app = find_app(&state, &caller.id, &app).await?;
    find_rule(&state, &caller.id, &app.id, &id).await?;
    if !state.store.delete_rule(&caller.id, &id).await? {
        return Err(ApiError::NotFound(format!("rule {id:?}")));
    }
    state.router.reload().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchBody {
    to: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// The Request-URI host, for domain claims.
    #[serde(default)]
    domain: Option<String>,
}

/// Which of the caller's rules an INVITE would hit, and what it would run.
/// Only the caller's own claims and rules are looked at, the admin's
/// included: nothing here depends on, or tells anything about, another
/// account. `claim` is the caller's claim that takes such an INVITE (null if
/// none does: the INVITE would not reach these rules).
pub async fn match_rule(
    State(state): State<ApiState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<MatchBody>,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state.router.snapshot();
    let headers: Vec<(String, String)> = body.headers.into_iter().collect();
    let to = body.to.trim();
    let domain = body
        .domain
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let claim = snapshot
        .claims
        .owner_among(&caller.id, to, domain)
        .map(|c| {
            json!({
                "id": c.id,
                "kind": c.kind.as_str(),
                "value": c.value,
            })
        });
    let rule = snapshot
        .rules_of(&caller.id)
        .match_invite(to, &body.from, &headers)
        .ok_or_else(|| ApiError::NotFound("matching rule".to_owned()))?;
    let target = snapshot.targets.get(&rule.id);
    let stored = state
        .store
        .get_rule(&caller.id, &rule.id)
        .await?
        .ok_or_else(|| ApiError::NotFound("matching rule".to_owned()))?;
    let app_name = target.map_or("", |t| t.application.as_str());
    Ok(Json(json!({
        "rule": rule_json(app_name, &stored),
        "application": app_name,
        "scenarios": rule.scenarios,
        "scenario": target.and_then(|t| t.scenario.as_ref()).map(|s| s.name.clone()),
        "missingScenarios": target.map(|t| t.missing.clone()).unwrap_or_default(),
        "claim": claim,
    })))
}

#[cfg(test)]
mod tests {
    use super::RuleBody;
    use serde_json::json;

    fn priority(value: serde_json::Value) -> Result<i32, String> {
        let body = json!({ "name": "r", "pattern": "1", "scenarios": ["s"], "priority": value });
        serde_json::from_value::<RuleBody>(body)
            .map(|b| b.priority)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn priority_is_an_integer_in_either_json_spelling() {
        assert_eq!(priority(json!(5)), Ok(5));
        assert_eq!(priority(json!(-59.0)), Ok(-59));
        assert_eq!(priority(json!(-2147483648.0)), Ok(i32::MIN));
        assert!(priority(json!(5.5)).is_err());
        assert!(priority(json!(3_000_000_000_i64)).is_err());
        assert!(priority(json!(2147483648.0)).is_err());
        assert!(priority(json!("5")).is_err());
        let no_priority = json!({ "name": "r", "pattern": "1", "scenarios": ["s"] });
        let body: RuleBody = serde_json::from_value(no_priority).expect("valid");
        assert_eq!(body.priority, 0);
    }
}
