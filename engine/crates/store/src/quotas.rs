//! Per-account quotas on what the store keeps: routing rules and scenarios
//! are refused past their limit, and old scenario versions are pruned
//! beyond the number kept per scenario. Both backends enforce them in the
//! same SQL, inside the transaction of the write, after the account's row
//! is locked so that concurrent writes of one account cannot both pass.

use sqlx::{Any, Row, Transaction};

use crate::{Store, StoreError};

/// Routing rules an account may have, by default.
pub const DEFAULT_MAX_RULES: u64 = 1000;
/// Scenarios (distinct names, over all applications) an account may have,
/// by default.
pub const DEFAULT_MAX_SCENARIOS: u64 = 1000;
/// Versions kept of each scenario, by default.
pub const DEFAULT_SCENARIO_VERSIONS: u64 = 100;

/// The limits. `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Routing rules per account; one more is refused.
    pub rules: Option<u64>,
    /// Scenarios per account; a new name past it is refused (a new version
    /// of an existing scenario is not).
    pub scenarios: Option<u64>,
    /// Versions kept per scenario: saving a version deletes the oldest ones
    /// beyond this many. The latest version, the one calls run, is never
    /// among them.
    pub scenario_versions: Option<u64>,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas {
            rules: Some(DEFAULT_MAX_RULES),
            scenarios: Some(DEFAULT_MAX_SCENARIOS),
            scenario_versions: Some(DEFAULT_SCENARIO_VERSIONS),
        }
    }
}

/// What an account holds of what the store's quotas limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoredUsage {
    pub rules: u64,
    /// Distinct scenarios over all applications.
    pub scenarios: u64,
    /// Versions of all scenarios together.
    pub scenario_versions: u64,
}

impl Store {
    /// This store with `quotas` enforced (the defaults until then).
    pub fn with_quotas(mut self, quotas: Quotas) -> Store {
        self.quotas = quotas;
        self
    }

    pub fn quotas(&self) -> Quotas {
        self.quotas
    }

    /// Counts of what `account` holds.
    pub async fn stored_usage(&self, account: &str) -> Result<StoredUsage, StoreError> {
        let row = sqlx::query(
            "SELECT
               (SELECT COUNT(*) FROM rules WHERE account_id = $1) AS rules,
               (SELECT COUNT(*) FROM (SELECT DISTINCT application_id, name
                  FROM scenario_versions WHERE account_id = $1) s) AS scenarios,
               (SELECT COUNT(*) FROM scenario_versions WHERE account_id = $1) AS versions",
        )
        .bind(account)
        .fetch_one(&self.pool)
        .await?;
        let count = |name: &str| -> Result<u64, StoreError> {
            let n: i64 = row.try_get(name)?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        Ok(StoredUsage {
            rules: count("rules")?,
            scenarios: count("scenarios")?,
            scenario_versions: count("versions")?,
        })
    }
}

impl Store {
    /// The account of each of `sessions` that history knows (for charging
    /// recording files found on disk at start-up to their accounts).
    pub async fn session_accounts(
        &self,
        sessions: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut found = Vec::new();
        for chunk in sessions.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "SELECT id, account_id FROM sessions WHERE id IN ({})",
                placeholders.join(", ")
            );
            // Only numbered placeholders are spliced in; the ids are bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                found.push((row.try_get("id")?, row.try_get("account_id")?));
            }
        }
        Ok(found)
    }
}

/// Takes `account`'s row lock for the rest of `tx`: a no-op write, which
/// PostgreSQL turns into a row lock and SQLite into its write lock. False
/// if there is no such account.
pub(crate) async fn lock_account(
    tx: &mut Transaction<'static, Any>,
    account: &str,
) -> Result<bool, StoreError> {
    let result = sqlx::query("UPDATE accounts SET name = name WHERE id = $1")
        .bind(account)
        .execute(&mut **tx)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Refuses one more rule of `account` past `limit`.
pub(crate) async fn check_rules(
    tx: &mut Transaction<'static, Any>,
    account: &str,
    limit: Option<u64>,
) -> Result<(), StoreError> {
    let Some(limit) = limit else { return Ok(()) };
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rules WHERE account_id = $1")
        .bind(account)
        .fetch_one(&mut **tx)
        .await?;
    refuse_at(n, limit, "rules", "routing rules")
}

/// Refuses a new scenario name of `account` past `limit`; a scenario that
/// already has a version is always accepted.
pub(crate) async fn check_scenarios(
    tx: &mut Transaction<'static, Any>,
    account: &str,
    application: &str,
    name: &str,
    limit: Option<u64>,
) -> Result<(), StoreError> {
    let Some(limit) = limit else { return Ok(()) };
    let exists: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM scenario_versions
         WHERE account_id = $1 AND application_id = $2 AND name = $3 LIMIT 1",
    )
    .bind(account)
    .bind(application)
    .bind(name)
    .fetch_optional(&mut **tx)
    .await?;
    if exists.is_some() {
        return Ok(());
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT DISTINCT application_id, name
           FROM scenario_versions WHERE account_id = $1) s",
    )
    .bind(account)
    .fetch_one(&mut **tx)
    .await?;
    refuse_at(n, limit, "scenarios", "scenarios")
}

/// Deletes the versions of a scenario older than the `keep` newest, given
/// that `latest` was just saved. Returns how many went.
pub(crate) async fn prune_versions(
    tx: &mut Transaction<'static, Any>,
    account: &str,
    application: &str,
    name: &str,
    latest: i64,
    keep: Option<u64>,
) -> Result<u64, StoreError> {
    let Some(keep) = keep else { return Ok(0) };
    // At least the latest stays, whatever the setting.
    let keep = i64::try_from(keep.max(1)).unwrap_or(i64::MAX);
    let result = sqlx::query(
        "DELETE FROM scenario_versions
         WHERE account_id = $1 AND application_id = $2 AND name = $3 AND version <= $4",
    )
    .bind(account)
    .bind(application)
    .bind(name)
    .bind(latest.saturating_sub(keep))
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected())
}

fn refuse_at(
    count: i64,
    limit: u64,
    quota: &'static str,
    what: &'static str,
) -> Result<(), StoreError> {
    if u64::try_from(count).unwrap_or(0) >= limit {
        return Err(StoreError::QuotaExceeded { quota, what, limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_at_the_limit_is_refused() {
        assert!(refuse_at(2, 3, "rules", "routing rules").is_ok());
        let err = refuse_at(3, 3, "rules", "routing rules").unwrap_err();
        assert_eq!(
            err.to_string(),
            "quota exceeded: an account may have at most 3 routing rules (quota_rules)"
        );
        assert!(refuse_at(0, 0, "rules", "routing rules").is_err());
    }
}
