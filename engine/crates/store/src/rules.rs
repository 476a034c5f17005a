//! Routing rules of applications. Patterns are compiled on every write so a
//! rule that would break the router is refused when it is saved, not when a
//! call arrives.
//!
//! A rule's `customData` is kept as a JSON string literal rather than raw
//! text: PostgreSQL's `TEXT` cannot hold U+0000, which a JSON string may.

use dialtone_routing::Rule;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::quotas::{check_rules, lock_account};
use crate::{affected, new_id, now_ms, Store, StoreError};

/// A rule as a client writes it; the store fills in id and application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRule {
    pub name: String,
    pub priority: i32,
    pub pattern: String,
    pub exclude: Option<String>,
    pub from: Option<String>,
    pub headers: Vec<(String, String)>,
    pub scenarios: Vec<String>,
    /// What `VoxEngine.customData()` returns in the sessions the rule
    /// starts; at most [`MAX_CUSTOM_DATA`] bytes.
    pub custom_data: String,
}

/// Largest `customData` of a rule, in bytes (VoxEngine's limit).
pub const MAX_CUSTOM_DATA: usize = 64 * 1024;

/// A stored rule with the account it belongs to (the router needs it to
/// charge the session to the right account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRule {
    pub account: String,
    pub created_at: i64,
    pub rule: Rule,
    /// Given to every session the rule starts.
    pub custom_data: String,
}

// A macro rather than a const so queries stay `&'static str` via `concat!`.
macro_rules! columns {
    () => {
        "id, account_id, application_id, name, priority, pattern, \
         exclude_pattern, from_pattern, headers, scenarios, created_at, custom_data"
    };
}

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: "rule",
        reason: reason.to_string(),
    }
}

fn rule_from_row(row: &AnyRow) -> Result<StoredRule, StoreError> {
    let headers: String = row.try_get("headers")?;
    let scenarios: String = row.try_get("scenarios")?;
    let priority: i64 = row.try_get("priority")?;
    let custom_data: String = row.try_get("custom_data")?;
    Ok(StoredRule {
        account: row.try_get("account_id")?,
        created_at: row.try_get("created_at")?,
        custom_data: serde_json::from_str(&custom_data).map_err(corrupt)?,
        rule: Rule {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            application: row.try_get("application_id")?,
            priority: i32::try_from(priority).map_err(corrupt)?,
            pattern: row.try_get("pattern")?,
            exclude: row.try_get("exclude_pattern")?,
            from: row.try_get("from_pattern")?,
            headers: serde_json::from_str(&headers).map_err(corrupt)?,
            scenarios: serde_json::from_str(&scenarios).map_err(corrupt)?,
        },
    })
}

/// The JSON forms of a rule's headers, scenarios and customData, as stored.
struct Encoded {
    headers: String,
    scenarios: String,
    custom_data: String,
}

/// Validate `new` as the rule `id` of `application` and encode it.
fn prepare(id: &str, application: &str, new: &NewRule) -> Result<Encoded, StoreError> {
    if new.name.trim().is_empty() {
        return Err(StoreError::Invalid {
            field: "rule name",
            reason: "must not be empty".to_owned(),
        });
    }
    if new.scenarios.is_empty() {
        return Err(StoreError::Invalid {
            field: "rule scenarios",
            reason: "a rule must run at least one scenario".to_owned(),
        });
    }
    if new.custom_data.len() > MAX_CUSTOM_DATA {
        return Err(StoreError::CustomDataTooLarge {
            len: new.custom_data.len(),
            max: MAX_CUSTOM_DATA,
        });
    }
    dialtone_routing::validate(&Rule {
        id: id.to_owned(),
        name: new.name.clone(),
        application: application.to_owned(),
        priority: new.priority,
        pattern: new.pattern.clone(),
        exclude: new.exclude.clone(),
        from: new.from.clone(),
        headers: new.headers.clone(),
        scenarios: new.scenarios.clone(),
    })?;
    Ok(Encoded {
        headers: serde_json::to_string(&new.headers).map_err(corrupt)?,
        scenarios: serde_json::to_string(&new.scenarios).map_err(corrupt)?,
        custom_data: serde_json::to_string(&new.custom_data).map_err(corrupt)?,
    })
}

impl Store {
    /// Adds a rule to `application`; refused with
    /// [`StoreError::QuotaExceeded`] when the account already has as many
    /// rules as [`crate::Quotas::rules`] allows.
    pub async fn create_rule(
        &self,
        account: &str,
        application: &str,
        new: &NewRule,
    ) -> Result<StoredRule, StoreError> {
        self.require_application(account, application).await?;
        let id = new_id();
        let encoded = prepare(&id, application, new)?;
        let created_at = now_ms();
        let mut tx = self.pool.begin().await?;
        if !lock_account(&mut tx, account).await? {
            return Err(StoreError::NotFound { what: "account" });
        }
        check_rules(&mut tx, account, self.quotas.rules).await?;
        sqlx::query(concat!(
            "INSERT INTO rules (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&id)
        .bind(account)
        .bind(application)
        .bind(&new.name)
        .bind(i64::from(new.priority))
        .bind(&new.pattern)
        .bind(new.exclude.clone())
        .bind(new.from.clone())
        .bind(encoded.headers)
        .bind(encoded.scenarios)
        .bind(created_at)
        .bind(encoded.custom_data)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_rule(account, &id)
            .await?
            .ok_or(StoreError::NotFound { what: "rule" })
    }

    pub async fn get_rule(
        &self,
        account: &str,
        id: &str,
    ) -> Result<Option<StoredRule>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM rules WHERE id = $1 AND account_id = $2"
        ))
        .bind(id)
        .bind(account)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rule_from_row).transpose()
    }

    /// Rules of one application in matching order.
    pub async fn list_rules(
        &self,
        account: &str,
        application: &str,
    ) -> Result<Vec<StoredRule>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM rules WHERE account_id = $1 AND application_id = $2 ORDER BY priority DESC, id"
        ))
        .bind(account)
        .bind(application)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rule_from_row).collect()
    }

    /// Replace a rule's contents, keeping its id (and so its tie-break
    /// position). `None` if `account` has no such rule.
    pub async fn update_rule(
        &self,
        account: &str,
        id: &str,
        new: &NewRule,
    ) -> Result<Option<StoredRule>, StoreError> {
        let Some(existing) = self.get_rule(account, id).await? else {
            return Ok(None);
        };
        let encoded = prepare(id, &existing.rule.application, new)?;
        let result = sqlx::query(
            "UPDATE rules SET name = $1, priority = $2, pattern = $3, exclude_pattern = $4,
                 from_pattern = $5, headers = $6, scenarios = $7, custom_data = $8
             WHERE id = $9 AND account_id = $10",
        )
        .bind(&new.name)
        .bind(i64::from(new.priority))
        .bind(&new.pattern)
        .bind(new.exclude.clone())
        .bind(new.from.clone())
        .bind(encoded.headers)
        .bind(encoded.scenarios)
        .bind(encoded.custom_data)
        .bind(id)
        .bind(account)
        .execute(&self.pool)
        .await?;
        if !affected(result) {
            return Ok(None);
        }
        self.get_rule(account, id).await
    }

    pub async fn delete_rule(&self, account: &str, id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM rules WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .execute(&self.pool)
            .await?;
        Ok(affected(result))
    }

    /// Every rule of every account, in matching order, for building the
    /// router's `RuleSet`. This is the one read that crosses accounts; it
    /// must never be exposed to API clients.
    pub async fn all_rules(&self) -> Result<Vec<StoredRule>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM rules ORDER BY priority DESC, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rule_from_row).collect()
    }
}
