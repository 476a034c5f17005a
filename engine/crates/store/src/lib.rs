//! Persistent state for Dialtone: accounts and API keys, applications with
//! their versioned scenarios and routing rules, and call history.
//!
//! One code path serves both SQLite (the embedded default) and PostgreSQL:
//! every query goes through sqlx's `Any` driver with `$N` placeholders, which
//! both backends accept, and the schema sticks to `TEXT` and `BIGINT`.
//!
//! Every object belongs to one account and every method that reads or
//! changes one takes the account id and filters on it, so one account can
//! never see or touch another's rows. The only cross-account reads are
//! [`Store::all_rules`] and [`Store::all_claims`], which feed the INVITE
//! router (claims are also compared across accounts, so that no two
//! accounts' claims overlap).

mod accounts;
mod app_storage;
mod apps;
mod claims;
mod contact_centre;
mod database_url;
mod history;
mod history_backlog;
mod quotas;
mod rules;
mod schema;
mod trunks;
mod users;

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyQueryResult};
use sqlx::{AnyPool, Executor};

pub use accounts::{Account, AdminBootstrap, ApiKey, ApiKeyInfo};
pub use apps::{Application, ScenarioInfo, ScenarioVersion, MAX_SCENARIO_BYTES};
pub use claims::{StoredClaim, MAX_PATTERN_CLAIMS};
pub use contact_centre::{
    AgentRole, AgentSpec, QueueSpec, StoredAgent, StoredQueue, MAX_AGENTS_PER_ACCOUNT,
    MAX_QUEUES_PER_ACCOUNT, MAX_SKILL_LEVEL,
};
pub use database_url::{redact_url, DatabaseUrl};
pub use dialtone_routing::{ClaimError, ClaimKind};
pub use history::{
    CallRecord, HistoryConfig, HistoryEntry, HistoryError, HistoryFilter, HistoryPage,
    HistoryWriter, Interrupted, Page, SessionRecord, CALL_INTERRUPTED_REASON, HARD_LIMIT_FACTOR,
    SESSION_INTERRUPTED_REASON, SESSION_STATUSES, STATUS_ENDED, STATUS_FAILED, STATUS_INTERRUPTED,
    STATUS_RUNNING,
};
pub use quotas::{
    Quotas, StoredUsage, DEFAULT_MAX_RULES, DEFAULT_MAX_SCENARIOS, DEFAULT_SCENARIO_VERSIONS,
};
pub use rules::{NewRule, StoredRule, MAX_CUSTOM_DATA};
pub use trunks::{
    StoredTrunk, TrunkSpec, DEFAULT_REGISTER_EXPIRES, MAX_REGISTER_EXPIRES, MAX_TRUNKS_PER_ACCOUNT,
    MIN_REGISTER_EXPIRES,
};
pub use users::{
    check_user_name, StoredUser, UserChange, DEFAULT_REALM, MAX_USERS_PER_ACCOUNT, MIN_PASSWORD_LEN,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The URL is shown with its password replaced by `***`.
    #[error("unsupported database url {0:?}: expected sqlite:… or postgres://…")]
    UnsupportedUrl(String),
    /// Connecting failed; the driver's message with the URL's passwords
    /// replaced by `***`.
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("{0} already exists")]
    Conflict(String),
    #[error("scenario source is {len} bytes, more than the {max} byte limit")]
    ScenarioTooLarge { len: usize, max: usize },
    #[error("customData is {len} bytes; the limit is {max}")]
    CustomDataTooLarge { len: usize, max: usize },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// One more would pass a per-account quota ([`Quotas`]); `quota` is
    /// its name (the setting is `quota_<quota>`).
    #[error("quota exceeded: an account may have at most {limit} {what} (quota_{quota})")]
    QuotaExceeded {
        quota: &'static str,
        what: &'static str,
        limit: u64,
    },
    #[error(transparent)]
    Rule(#[from] dialtone_routing::RuleError),
    #[error(transparent)]
    Claim(#[from] ClaimError),
    /// A well-formed claim that cannot be granted: it overlaps another
    /// account's claim (or cannot be shown not to), or repeats the account's
    /// own, or is one too many.
    #[error("{0}")]
    ClaimRefused(String),
    #[error("background task failed: {0}")]
    Task(String),
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt { what: &'static str, reason: String },
    #[error("random source failed: {0}")]
    Random(String),
}

/// Which database sits behind the `Any` pool; only migrations care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }
}

/// Handle to the database; cheap to clone (it wraps a pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    quotas: Quotas,
}

impl Store {
    /// Connect to `url` (`sqlite://path?mode=rwc`, `sqlite::memory:` or
    /// `postgres://…`) and bring the schema up to date. No error carries
    /// the URL's password.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let memory = backend == Backend::Sqlite && url.contains(":memory:");
        let mut options = AnyPoolOptions::new();
        if memory {
            // Each SQLite in-memory connection is its own database; one
            // connection keeps every query on the same one.
            options = options.max_connections(1);
        } else if backend == Backend::Sqlite {
            // WAL lets history writes proceed while readers hold snapshots.
            // With synchronous = NORMAL a commit has reached the WAL file
            // (the OS's page cache) before it returns, so a transaction that
            // committed survives the process being killed; only a power loss
            // or OS crash can take back the last ones (the WAL is synced at
            // checkpoints), and never leaves the file inconsistent.
            options = options.max_connections(4).after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            });
        } else {
            options = options.max_connections(8);
        }
        let secret = DatabaseUrl::new(url);
        let pool = options
            .connect(url)
            .await
            .map_err(|e| StoreError::Connect(secret.scrub(&e.to_string())))?;
        let store = Store {
            pool,
            backend,
            quotas: Quotas::default(),
        };
        schema::migrate(&store).await?;
        Ok(store)
    }

    /// Open (creating if needed) an SQLite database file.
    pub async fn open_sqlite_file(path: &std::path::Path) -> Result<Store, StoreError> {
        Store::open(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Milliseconds since the Unix epoch; all stored times use this unit.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Time-ordered id: string order is creation order, which the router and
/// history pagination rely on.
fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn affected(result: AnyQueryResult) -> bool {
    result.rows_affected() > 0
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What makes a committed history batch survive `kill -9`: the WAL, and
    /// commits that have reached it before they return.
    #[tokio::test]
    async fn sqlite_files_are_opened_in_wal_mode_with_normal_sync() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_file(&dir.path().join("d.db"))
            .await
            .unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(mode.to_ascii_lowercase(), "wal");
        // 1 = NORMAL (2 would be FULL, 0 OFF).
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(sync, 1);
        store.close().await;
    }

    #[tokio::test]
    async fn open_errors_never_carry_the_password() {
        let err = Store::open("mysql://root:Zq8rT4v1@db/x")
            .await
            .unwrap_err()
            .to_string();
        assert!(!err.contains("Zq8rT4v1"), "{err}");
        assert!(err.contains("mysql://root:***@db/x"), "{err}");
        // A host that cannot resolve fails at once, as a connect error.
        let err = Store::open("postgres://dialtone:Zq8rT4v1@dialtone-test.invalid:5432/d")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Connect(_)), "{err:?}");
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("Zq8rT4v1"), "{shown}");
        }
    }
}
