//! Applications and their scenarios. Saving a scenario never overwrites: it
//! adds version N+1, so a running session keeps the source it started with
//! and older versions stay retrievable.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::quotas::{check_scenarios, lock_account, prune_versions};
use crate::{affected, is_unique_violation, new_id, now_ms, Store, StoreError};

/// Largest accepted scenario source, in bytes.
pub const MAX_SCENARIO_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: String,
    pub account: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioVersion {
    pub application: String,
    pub name: String,
    pub version: i64,
    pub source: String,
    pub created_at: i64,
}

/// A scenario version without its source, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioInfo {
    pub name: String,
    pub version: i64,
    pub size: i64,
    pub created_at: i64,
}

fn app_from_row(row: &AnyRow) -> Result<Application, StoreError> {
    Ok(Application {
        id: row.try_get("id")?,
        account: row.try_get("account_id")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

fn info_from_row(row: &AnyRow) -> Result<ScenarioInfo, StoreError> {
    Ok(ScenarioInfo {
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        size: row.try_get("size")?,
        created_at: row.try_get("created_at")?,
    })
}

fn check_name(field: &'static str, name: &str) -> Result<(), StoreError> {
    let bad = |reason: &str| {
        Err(StoreError::Invalid {
            field,
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() {
        return bad("must not be empty");
    }
    if name.len() > 200 {
        return bad("must be at most 200 bytes");
    }
    if name.chars().any(char::is_control) {
        return bad("must not contain control characters");
    }
    Ok(())
}

impl Store {
    /// Create the application `name` for `account`, or return the existing
    /// one of that name (put is idempotent).
    pub async fn put_application(
        &self,
        account: &str,
        name: &str,
    ) -> Result<Application, StoreError> {
        check_name("application name", name)?;
        if let Some(app) = self.application_by_name(account, name).await? {
            return Ok(app);
        }
        let app = Application {
            id: new_id(),
            account: account.to_owned(),
            name: name.to_owned(),
            created_at: now_ms(),
        };
        let inserted = sqlx::query(
            "INSERT INTO applications (id, account_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&app.id)
        .bind(&app.account)
        .bind(&app.name)
        .bind(app.created_at)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(app),
            // A concurrent put won the race; theirs is as good as ours.
            Err(e) if is_unique_violation(&e) => self
                .application_by_name(account, name)
                .await?
                .ok_or(StoreError::NotFound {
                    what: "application",
                }),
            Err(e) => Err(e.into()),
        }
    }

    /// Every account's applications (for the routing snapshot).
    pub async fn all_applications(&self) -> Result<Vec<Application>, StoreError> {
        let rows = sqlx::query("SELECT id, account_id, name, created_at FROM applications")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(app_from_row).collect()
    }

    /// The latest version of every scenario of every account (for the
    /// routing snapshot).
    pub async fn all_latest_scenarios(&self) -> Result<Vec<(String, ScenarioVersion)>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.account_id, s.application_id, s.name, s.version, s.source, s.created_at
             FROM scenario_versions s
             WHERE s.version = (SELECT MAX(v.version) FROM scenario_versions v
                                WHERE v.application_id = s.application_id AND v.name = s.name)",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("account_id")?,
                    ScenarioVersion {
                        application: row.try_get("application_id")?,
                        name: row.try_get("name")?,
                        version: row.try_get("version")?,
                        source: row.try_get("source")?,
                        created_at: row.try_get("created_at")?,
                    },
                ))
            })
            .collect()
    }

    pub async fn get_application(
        &self,
        account: &str,
        id: &str,
    ) -> Result<Option<Application>, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, name, created_at FROM applications
             WHERE id = $1 AND account_id = $2",
        )
        .bind(id)
        .bind(account)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(app_from_row).transpose()
    }

    pub async fn application_by_name(
        &self,
        account: &str,
        name: &str,
    ) -> Result<Option<Application>, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, name, created_at FROM applications
             WHERE account_id = $1 AND name = $2",
        )
        .bind(account)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(app_from_row).transpose()
    }

    pub async fn list_applications(&self, account: &str) -> Result<Vec<Application>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id, name, created_at FROM applications
             WHERE account_id = $1 ORDER BY name",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(app_from_row).collect()
    }

    /// Delete an application with its scenarios and rules. History rows
    /// stay: they record what happened, whatever exists now.
    pub async fn delete_application(&self, account: &str, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let result = sqlx::query("DELETE FROM applications WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .execute(&mut *tx)
            .await?;
        if !affected(result) {
            return Ok(false);
        }
        for sql in [
            "DELETE FROM scenario_versions WHERE application_id = $1 AND account_id = $2",
            "DELETE FROM rules WHERE application_id = $1 AND account_id = $2",
            "DELETE FROM users WHERE application_id = $1 AND account_id = $2",
        ] {
            sqlx::query(sql)
                .bind(id)
                .bind(account)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn require_application(
        &self,
        account: &str,
        application: &str,
    ) -> Result<(), StoreError> {
        match self.get_application(account, application).await? {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound {
                what: "application",
            }),
        }
    }

    /// Save `source` as the next version of scenario `name`, deleting the
    /// oldest versions beyond [`crate::Quotas::scenario_versions`]. A new
    /// scenario name is refused with [`StoreError::QuotaExceeded`] when the
    /// account has as many as [`crate::Quotas::scenarios`] allows.
    pub async fn put_scenario(
        &self,
        account: &str,
        application: &str,
        name: &str,
        source: &str,
    ) -> Result<ScenarioVersion, StoreError> {
        check_name("scenario name", name)?;
        if source.len() > MAX_SCENARIO_BYTES {
            return Err(StoreError::ScenarioTooLarge {
                len: source.len(),
                max: MAX_SCENARIO_BYTES,
            });
        }
        // A no-op write on the application row comes first: PostgreSQL then
        // locks the row and SQLite takes its write lock, so uploads to one
        // application are serialized and the next version is read after the
        // previous upload committed. (A read first and a write after would
        // fail at once on SQLite with "database is locked" when another
        // writer commits in between.)
        let mut tx = self.pool.begin().await?;
        let locked =
            sqlx::query("UPDATE applications SET name = name WHERE id = $1 AND account_id = $2")
                .bind(application)
                .bind(account)
                .execute(&mut *tx)
                .await?;
        if !affected(locked) {
            return Err(StoreError::NotFound {
                what: "application",
            });
        }
        if self.quotas.scenarios.is_some() {
            // Scenarios of other applications count too.
            lock_account(&mut tx, account).await?;
            check_scenarios(&mut tx, account, application, name, self.quotas.scenarios).await?;
        }
        let created_at = now_ms();
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO scenario_versions
             (account_id, application_id, name, version, source, created_at)
             SELECT $1, $2, $3, COALESCE(MAX(version), 0) + 1, $4, $5
             FROM scenario_versions
             WHERE application_id = $2 AND name = $3 AND account_id = $1
             RETURNING version",
        )
        .bind(account)
        .bind(application)
        .bind(name)
        .bind(source)
        .bind(created_at)
        .fetch_one(&mut *tx)
        .await;
        let version = match inserted {
            Ok(version) => version,
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict(format!(
                    "scenario {name:?}: another upload took the next version"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        let pruned = prune_versions(
            &mut tx,
            account,
            application,
            name,
            version,
            self.quotas.scenario_versions,
        )
        .await?;
        tx.commit().await?;
        if pruned > 0 {
            tracing::debug!(scenario = name, pruned, "oldest scenario versions pruned");
        }
        Ok(ScenarioVersion {
            application: application.to_owned(),
            name: name.to_owned(),
            version,
            source: source.to_owned(),
            created_at,
        })
    }

    /// One version of a scenario, or the latest when `version` is `None`.
    pub async fn get_scenario(
        &self,
        account: &str,
        application: &str,
        name: &str,
        version: Option<i64>,
    ) -> Result<Option<ScenarioVersion>, StoreError> {
        let query = match version {
            Some(v) => sqlx::query(
                "SELECT application_id, name, version, source, created_at
                 FROM scenario_versions
                 WHERE account_id = $1 AND application_id = $2 AND name = $3 AND version = $4",
            )
            .bind(account)
            .bind(application)
            .bind(name)
            .bind(v),
            None => sqlx::query(
                "SELECT application_id, name, version, source, created_at
                 FROM scenario_versions
                 WHERE account_id = $1 AND application_id = $2 AND name = $3
                 ORDER BY version DESC LIMIT 1",
            )
            .bind(account)
            .bind(application)
            .bind(name),
        };
        let Some(row) = query.fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        Ok(Some(ScenarioVersion {
            application: row.try_get("application_id")?,
            name: row.try_get("name")?,
            version: row.try_get("version")?,
            source: row.try_get("source")?,
            created_at: row.try_get("created_at")?,
        }))
    }

    /// All versions of one scenario, oldest first.
    pub async fn list_scenario_versions(
        &self,
        account: &str,
        application: &str,
        name: &str,
    ) -> Result<Vec<ScenarioInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, version, CAST(LENGTH(source) AS BIGINT) AS size, created_at
             FROM scenario_versions
             WHERE account_id = $1 AND application_id = $2 AND name = $3
             ORDER BY version",
        )
        .bind(account)
        .bind(application)
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(info_from_row).collect()
    }

    /// The latest version of every scenario of an application, by name.
    pub async fn list_scenarios(
        &self,
        account: &str,
        application: &str,
    ) -> Result<Vec<ScenarioInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.name, s.version, CAST(LENGTH(s.source) AS BIGINT) AS size, s.created_at
             FROM scenario_versions s
             WHERE s.account_id = $1 AND s.application_id = $2
               AND s.version = (SELECT MAX(v.version) FROM scenario_versions v
                                WHERE v.application_id = s.application_id AND v.name = s.name)
             ORDER BY s.name",
        )
        .bind(account)
        .bind(application)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(info_from_row).collect()
    }

    /// Delete every version of a scenario.
    pub async fn delete_scenario(
        &self,
        account: &str,
        application: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "DELETE FROM scenario_versions
             WHERE account_id = $1 AND application_id = $2 AND name = $3",
        )
        .bind(account)
        .bind(application)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(affected(result))
    }
}
