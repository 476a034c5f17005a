//! Embedded schema migrations, applied in order on open.
//!
//! The SQL is written once for both backends: only `TEXT` and `BIGINT`
//! columns, no autoincrement (ids are time-ordered UUIDs made in Rust), no
//! foreign-key cascades (SQLite needs a pragma for those; deletes cascade
//! explicitly in a transaction instead).

use sqlx::{Acquire, Executor};

use crate::{now_ms, Backend, Store, StoreError};

/// (version, statements). Append new versions; never edit shipped ones.
const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            is_admin BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL)",
            "CREATE TABLE api_keys (
            key_hash TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            created_at BIGINT NOT NULL)",
            "CREATE INDEX api_keys_account ON api_keys (account_id)",
            "CREATE TABLE applications (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            UNIQUE (account_id, name))",
            "CREATE TABLE scenario_versions (
            account_id TEXT NOT NULL,
            application_id TEXT NOT NULL,
            name TEXT NOT NULL,
            version BIGINT NOT NULL,
            source TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (application_id, name, version))",
            "CREATE TABLE rules (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            application_id TEXT NOT NULL,
            name TEXT NOT NULL,
            priority BIGINT NOT NULL,
            pattern TEXT NOT NULL,
            exclude_pattern TEXT,
            from_pattern TEXT,
            headers TEXT NOT NULL,
            scenarios TEXT NOT NULL,
            created_at BIGINT NOT NULL)",
            "CREATE INDEX rules_application ON rules (application_id)",
            "CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            application_id TEXT,
            rule_id TEXT,
            started_at BIGINT NOT NULL,
            ended_at BIGINT,
            status TEXT NOT NULL,
            error TEXT)",
            "CREATE INDEX sessions_account_started ON sessions (account_id, started_at)",
            "CREATE TABLE calls (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            direction TEXT NOT NULL,
            from_number TEXT NOT NULL,
            to_number TEXT NOT NULL,
            started_at BIGINT NOT NULL,
            answered_at BIGINT,
            ended_at BIGINT,
            duration_ms BIGINT,
            disconnect_code BIGINT,
            disconnect_reason TEXT,
            recordings TEXT NOT NULL)",
            "CREATE INDEX calls_session ON calls (session_id)",
            "CREATE TABLE session_logs (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            line TEXT NOT NULL)",
            "CREATE INDEX session_logs_session ON session_logs (session_id)",
        ],
    ),
    // A rule's `customData`, stored as a JSON string (see `rules.rs`). The
    // default keeps older rows, and rows written by an older binary sharing
    // the database during an upgrade, at an empty customData.
    (
        2,
        &["ALTER TABLE rules ADD COLUMN custom_data TEXT NOT NULL DEFAULT '\"\"'"],
    ),
    // Claims: the numbers, number patterns and SIP domains an account
    // receives (see `claims.rs`). Existing accounts get none: routing to
    // them stops until they claim what they receive, which `dialtone serve`
    // warns about at start. The unique index is a backstop; overlaps
    // between accounts are refused in Rust under `claim_lock`, whose one
    // row every claim write updates first to serialise them.
    (
        3,
        &[
            "CREATE TABLE claims (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            created_at BIGINT NOT NULL)",
            "CREATE UNIQUE INDEX claims_kind_value ON claims (kind, value)",
            "CREATE INDEX claims_account ON claims (account_id)",
            "CREATE TABLE claim_lock (
            id BIGINT PRIMARY KEY,
            writes BIGINT NOT NULL)",
            "INSERT INTO claim_lock (id, writes) VALUES (1, 0)",
        ],
    ),
    // What a crash leaves open, found at start without reading all history
    // (`Store::close_interrupted`). Partial indexes: they hold only the few
    // live rows, and both backends have them.
    (
        4,
        &[
            "CREATE INDEX sessions_running ON sessions (id) WHERE status = 'running'",
            "CREATE INDEX calls_open ON calls (id) WHERE ended_at IS NULL",
        ],
    ),
    // Per-account quotas count an account's rules and scenarios on every
    // write of one (`quotas.rs`). `IF NOT EXISTS`: tests rebuild older
    // databases by dropping what later migrations made, not these.
    (
        5,
        &[
            "CREATE INDEX IF NOT EXISTS rules_account ON rules (account_id)",
            "CREATE INDEX IF NOT EXISTS scenario_versions_account
             ON scenario_versions (account_id, application_id, name)",
        ],
    ),
    // Users of applications (`users.rs`): digest HA1s, never passwords.
    // `IF NOT EXISTS` as for version 5.
    (
        6,
        &[
            "CREATE TABLE IF NOT EXISTS users (
            account_id TEXT NOT NULL,
            application_id TEXT NOT NULL,
            name TEXT NOT NULL,
            display_name TEXT NOT NULL,
            realm TEXT NOT NULL,
            ha1_md5 TEXT NOT NULL,
            ha1_sha256 TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (application_id, name))",
            "CREATE INDEX IF NOT EXISTS users_account ON users (account_id)",
        ],
    ),
    // `ApplicationStorage` pairs (`app_storage.rs`), by account and
    // application name.
    (
        7,
        &["CREATE TABLE IF NOT EXISTS app_storage (
            account_id TEXT NOT NULL,
            application TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            expire_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, application, key))"],
    ),
    // SIP trunks of each account (`trunks.rs`).
    (
        8,
        &["CREATE TABLE IF NOT EXISTS trunks (
            account_id TEXT NOT NULL,
            name TEXT NOT NULL,
            host TEXT NOT NULL,
            port BIGINT NOT NULL,
            transport TEXT NOT NULL,
            username TEXT NOT NULL,
            password TEXT NOT NULL,
            prefixes TEXT NOT NULL,
            priority BIGINT NOT NULL,
            strip BIGINT NOT NULL,
            add_prefix TEXT NOT NULL,
            caller_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, name))"],
    ),
    // Outbound registration of a trunk: seconds asked for, 0 for none.
    (
        9,
        &["ALTER TABLE trunks ADD COLUMN register_expires BIGINT NOT NULL DEFAULT 0"],
    ),
    // A contact centre's agents and queues (`contact_centre.rs`).
    (
        10,
        &[
            "CREATE TABLE IF NOT EXISTS queues (
            account_id TEXT NOT NULL,
            name TEXT NOT NULL,
            skills TEXT NOT NULL,
            max_waiting BIGINT NOT NULL,
            ring_timeout BIGINT NOT NULL,
            after_call_work BIGINT NOT NULL,
            service_level BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, name))",
            "CREATE TABLE IF NOT EXISTS agents (
            account_id TEXT NOT NULL,
            id TEXT NOT NULL,
            name TEXT NOT NULL,
            application TEXT NOT NULL,
            user_name TEXT NOT NULL,
            role TEXT NOT NULL,
            skills TEXT NOT NULL,
            queues TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (account_id, id))",
        ],
    ),
];

/// Arbitrary constant naming Dialtone's migration lock on PostgreSQL.
const PG_LOCK_KEY: i64 = 0x6469_616c_746f;

pub(crate) async fn migrate(store: &Store) -> Result<(), StoreError> {
    let mut conn = store.pool.acquire().await?;
    // Several processes (or parallel tests) may open the same PostgreSQL
    // database at once; the advisory lock serialises their migrations.
    // SQLite serialises writers by itself.
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(PG_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    let result = apply(&mut conn).await;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(PG_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    result
}

async fn apply(conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS dialtone_schema (
            version BIGINT PRIMARY KEY,
            applied_at BIGINT NOT NULL)",
    )
    .await?;
    let current: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM dialtone_schema")
        .fetch_one(&mut *conn)
        .await?;
    for (version, statements) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        let mut tx = conn.begin().await?;
        for sql in *statements {
            tx.execute(*sql).await?;
        }
        sqlx::query("INSERT INTO dialtone_schema (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}
