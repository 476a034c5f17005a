//! SIP trunks of an account: where `VoxEngine.callPSTN` sends a number, by
//! prefix and priority, with the credentials the provider asks for. The
//! password is kept to answer the provider's digest challenges and is never
//! returned by the API.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::quotas::lock_account;
use crate::{affected, now_ms, Store, StoreError};

/// Trunks one account may have.
pub const MAX_TRUNKS_PER_ACCOUNT: u64 = 100;
const MAX_PREFIXES: usize = 100;

/// A trunk as stored. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredTrunk {
    pub account: String,
    pub name: String,
    pub host: String,
    pub port: u16,
    /// `udp` or `tcp`.
    pub transport: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Numbers it takes (empty: any), longest match first.
    pub prefixes: Vec<String>,
    /// Lower goes first among trunks that match a number.
    pub priority: i64,
    /// Digits removed from the front of a number before it is dialled.
    pub strip: i64,
    /// Prepended after stripping (`+`, a tech prefix).
    pub add_prefix: String,
    /// The caller id every call through it carries, when the provider
    /// requires one; `None` keeps the scenario's.
    pub caller_id: Option<String>,
    /// Registers with the provider, asking for this many seconds.
    pub register_expires: Option<u32>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for StoredTrunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredTrunk")
            .field("account", &self.account)
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("transport", &self.transport)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("prefixes", &self.prefixes)
            .field("priority", &self.priority)
            .finish_non_exhaustive()
    }
}

/// A trunk as the API writes it. `Debug` hides the password.
#[derive(Clone, Default)]
pub struct TrunkSpec {
    pub host: String,
    pub port: Option<u16>,
    pub transport: Option<String>,
    pub username: Option<String>,
    /// `None` on an update keeps the stored password.
    pub password: Option<String>,
    pub prefixes: Vec<String>,
    pub priority: i64,
    pub strip: i64,
    pub add_prefix: String,
    pub caller_id: Option<String>,
    /// Keep the trunk registered with the provider (needs a username).
    pub register: bool,
    /// Seconds to ask for ([`MIN_REGISTER_EXPIRES`] to
    /// [`MAX_REGISTER_EXPIRES`]; [`DEFAULT_REGISTER_EXPIRES`] when left out).
    pub register_expires: Option<u32>,
}

/// Shortest registration a trunk may ask for.
pub const MIN_REGISTER_EXPIRES: u32 = 60;
/// Longest registration a trunk may ask for (a day).
pub const MAX_REGISTER_EXPIRES: u32 = 86_400;
/// What a registering trunk asks for when it does not say.
pub const DEFAULT_REGISTER_EXPIRES: u32 = 3600;

impl std::fmt::Debug for TrunkSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrunkSpec")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn is_number_part(s: &str) -> bool {
    s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_digit() || c == '+' || c == '*' || c == '#')
}

fn check(name: &str, spec: &TrunkSpec) -> Result<(), StoreError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(invalid(
            "trunk name",
            "must be 1 to 64 letters, digits and -_.",
        ));
    }
    let host = spec.host.trim();
    if host.is_empty()
        || host.len() > 253
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c))
    {
        return Err(invalid("host", "must be a host name or an IP address"));
    }
    if let Some(t) = &spec.transport {
        if t != "udp" && t != "tcp" {
            return Err(invalid("transport", "must be udp or tcp"));
        }
    }
    for text in [&spec.username, &spec.password, &spec.caller_id]
        .into_iter()
        .flatten()
    {
        if text.len() > 128 || text.chars().any(char::is_control) {
            return Err(invalid(
                "credentials",
                "username, password and callerId are at most 128 characters without control characters",
            ));
        }
    }
    if spec.prefixes.len() > MAX_PREFIXES || !spec.prefixes.iter().all(|p| is_number_part(p)) {
        return Err(invalid(
            "prefixes",
            "at most 100, each up to 32 digits (and + * #)",
        ));
    }
    if !is_number_part(&spec.add_prefix) {
        return Err(invalid("addPrefix", "up to 32 digits (and + * #)"));
    }
    if !(0..=32).contains(&spec.strip) {
        return Err(invalid("strip", "must be 0 to 32"));
    }
    if let Some(e) = spec.register_expires {
        if !(MIN_REGISTER_EXPIRES..=MAX_REGISTER_EXPIRES).contains(&e) {
            return Err(invalid("registerExpires", "must be 60 to 86400 seconds"));
        }
    }
    if spec.register && spec.username.as_deref().is_none_or(str::is_empty) {
        return Err(invalid(
            "register",
            "a trunk registers as its username: set username",
        ));
    }
    Ok(())
}

fn trunk_from_row(row: &AnyRow) -> Result<StoredTrunk, StoreError> {
    let prefixes: String = row.try_get("prefixes")?;
    let opt = |s: String| (!s.is_empty()).then_some(s);
    Ok(StoredTrunk {
        account: row.try_get("account_id")?,
        name: row.try_get("name")?,
        host: row.try_get("host")?,
        port: u16::try_from(row.try_get::<i64, _>("port")?).unwrap_or(5060),
        transport: row.try_get("transport")?,
        username: opt(row.try_get("username")?),
        password: opt(row.try_get("password")?),
        prefixes: serde_json::from_str(&prefixes).map_err(|e| StoreError::Corrupt {
            what: "trunk prefixes",
            reason: e.to_string(),
        })?,
        priority: row.try_get("priority")?,
        strip: row.try_get("strip")?,
        add_prefix: row.try_get("add_prefix")?,
        caller_id: opt(row.try_get("caller_id")?),
        register_expires: u32::try_from(row.try_get::<i64, _>("register_expires")?)
            .ok()
            .filter(|e| *e > 0),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const COLUMNS: &str = "account_id, name, host, port, transport, username, password, prefixes, \
                       priority, strip, add_prefix, caller_id, created_at, updated_at, \
                       register_expires";

impl Store {
    /// Creates or replaces trunk `name` of `account`; returns it and whether
    /// it was created. A password left out keeps the stored one.
    pub async fn put_trunk(
        &self,
        account: &str,
        name: &str,
        spec: TrunkSpec,
    ) -> Result<(StoredTrunk, bool), StoreError> {
        check(name, &spec)?;
        let mut tx = self.pool.begin().await?;
        if !lock_account(&mut tx, account).await? {
            return Err(StoreError::NotFound { what: "account" });
        }
        let existing = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM trunks WHERE account_id = $1 AND name = $2"
        )))
        .bind(account)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(trunk_from_row)
        .transpose()?;
        let now = now_ms();
        if existing.is_none() {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM trunks WHERE account_id = $1")
                .bind(account)
                .fetch_one(&mut *tx)
                .await?;
            if u64::try_from(n).unwrap_or(0) >= MAX_TRUNKS_PER_ACCOUNT {
                return Err(StoreError::QuotaExceeded {
                    quota: "trunks",
                    what: "trunks",
                    limit: MAX_TRUNKS_PER_ACCOUNT,
                });
            }
        }
        let password = spec
            .password
            .clone()
            .or_else(|| existing.as_ref().and_then(|t| t.password.clone()));
        let trunk = StoredTrunk {
            account: account.to_owned(),
            name: name.to_owned(),
            host: spec.host.trim().to_ascii_lowercase(),
            port: spec.port.unwrap_or(5060),
            transport: spec.transport.clone().unwrap_or_else(|| "udp".into()),
            username: spec.username.clone().filter(|u| !u.is_empty()),
            password: password.filter(|p| !p.is_empty()),
            prefixes: spec.prefixes.clone(),
            priority: spec.priority,
            strip: spec.strip,
            add_prefix: spec.add_prefix.clone(),
            caller_id: spec.caller_id.clone().filter(|c| !c.is_empty()),
            register_expires: spec
                .register
                .then(|| spec.register_expires.unwrap_or(DEFAULT_REGISTER_EXPIRES)),
            created_at: existing.as_ref().map_or(now, |t| t.created_at),
            updated_at: now,
        };
        sqlx::query("DELETE FROM trunks WHERE account_id = $1 AND name = $2")
            .bind(account)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO trunks ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        )))
        .bind(&trunk.account)
        .bind(&trunk.name)
        .bind(&trunk.host)
        .bind(i64::from(trunk.port))
        .bind(&trunk.transport)
        .bind(trunk.username.clone().unwrap_or_default())
        .bind(trunk.password.clone().unwrap_or_default())
        .bind(serde_json::to_string(&trunk.prefixes).unwrap_or_else(|_| "[]".into()))
        .bind(trunk.priority)
        .bind(trunk.strip)
        .bind(&trunk.add_prefix)
        .bind(trunk.caller_id.clone().unwrap_or_default())
        .bind(trunk.created_at)
        .bind(trunk.updated_at)
        .bind(i64::from(trunk.register_expires.unwrap_or(0)))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((trunk, existing.is_none()))
    }

    pub async fn get_trunk(
        &self,
        account: &str,
        name: &str,
    ) -> Result<Option<StoredTrunk>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM trunks WHERE account_id = $1 AND name = $2"
        )))
        .bind(account)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(trunk_from_row).transpose()
    }

    pub async fn list_trunks(&self, account: &str) -> Result<Vec<StoredTrunk>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM trunks WHERE account_id = $1 ORDER BY priority, name"
        )))
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(trunk_from_row).collect()
    }

    pub async fn delete_trunk(&self, account: &str, name: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM trunks WHERE account_id = $1 AND name = $2")
            .bind(account)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(affected(result))
    }

    /// Every account's trunks (for the routing snapshot).
    pub async fn all_trunks(&self) -> Result<Vec<StoredTrunk>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM trunks")))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(trunk_from_row).collect()
    }
}
