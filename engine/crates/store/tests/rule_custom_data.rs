//! A rule's `customData` on both backends: stored, read back by every read
//! (one rule, an application's list, the router's cross-account list),
//! replaced by an update, limited in size; and a database made before the
//! column existed gives its rules an empty one.

mod common;

use dialtone_store::{NewRule, Store, StoreError, MAX_CUSTOM_DATA};

on_both_backends!(custom_data_round_trips, custom_data_is_limited);

fn rule(name: &str, custom_data: &str) -> NewRule {
    NewRule {
        name: name.to_owned(),
        priority: 0,
        pattern: r"\d+".to_owned(),
        exclude: None,
        from: None,
        headers: Vec::new(),
        scenarios: vec!["main".to_owned()],
        custom_data: custom_data.to_owned(),
    }
}

async fn custom_data_round_trips(store: &Store) {
    let (a, _) = store.create_account("a").await.unwrap();
    let app = store.put_application(&a.id, "app").await.unwrap();
    // U+0000 and quotes are the cases a raw TEXT column on PostgreSQL or a
    // careless encoding would lose.
    let data = "sip:bob@127.0.0.1:5080;x=\"q\" \u{0} ünï \\ {\"k\": 1}";
    let created = store
        .create_rule(&a.id, &app.id, &rule("fwd", data))
        .await
        .unwrap();
    assert_eq!(created.custom_data, data);
    let plain = store
        .create_rule(&a.id, &app.id, &rule("plain", ""))
        .await
        .unwrap();
    assert_eq!(plain.custom_data, "");

    let got = store.get_rule(&a.id, &created.rule.id).await.unwrap();
    assert_eq!(got.as_ref().map(|r| r.custom_data.as_str()), Some(data));
    let listed: Vec<(String, String)> = store
        .list_rules(&a.id, &app.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.rule.name, r.custom_data))
        .collect();
    assert_eq!(
        listed,
        [
            ("fwd".to_owned(), data.to_owned()),
            ("plain".to_owned(), String::new())
        ]
    );
    // A shared PostgreSQL holds other tests' rules too: look at this one.
    let routed = store
        .all_rules()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.rule.id == created.rule.id)
        .map(|r| r.custom_data);
    assert_eq!(routed.as_deref(), Some(data));

    // An update replaces the whole rule, customData included.
    let changed = store
        .update_rule(
            &a.id,
            &created.rule.id,
            &rule("fwd", "sip:carol@example.com"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.custom_data, "sip:carol@example.com");
    let cleared = store
        .update_rule(&a.id, &created.rule.id, &rule("fwd", ""))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared.custom_data, "");
}

async fn custom_data_is_limited(store: &Store) {
    let (a, _) = store.create_account("a").await.unwrap();
    let app = store.put_application(&a.id, "app").await.unwrap();
    let exact = "x".repeat(MAX_CUSTOM_DATA);
    let kept = store
        .create_rule(&a.id, &app.id, &rule("exact", &exact))
        .await
        .unwrap();
    assert_eq!(kept.custom_data.len(), MAX_CUSTOM_DATA);

    let over = "x".repeat(MAX_CUSTOM_DATA + 1);
    let err = store
        .create_rule(&a.id, &app.id, &rule("over", &over))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::CustomDataTooLarge { len, max }
            if len == MAX_CUSTOM_DATA + 1 && max == MAX_CUSTOM_DATA),
        "{err}"
    );
    assert!(matches!(
        store
            .update_rule(&a.id, &kept.rule.id, &rule("exact", &over))
            .await,
        Err(StoreError::CustomDataTooLarge { .. })
    ));
    let names: Vec<String> = store
        .list_rules(&a.id, &app.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.rule.name)
        .collect();
    assert_eq!(names, ["exact"]);
    let unchanged = store.get_rule(&a.id, &kept.rule.id).await.unwrap();
    assert_eq!(
        unchanged.map(|r| r.custom_data.len()),
        Some(MAX_CUSTOM_DATA)
    );
}

/// A database at schema version 1 (before rules had customData), with a
/// rule in it, is migrated on open: the rule keeps working with an empty
/// customData and new rules store theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_1_database_gets_the_column() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        for sql in [
            "CREATE TABLE dialtone_schema (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            "INSERT INTO dialtone_schema (version, applied_at) VALUES (1, 0)",
            "CREATE TABLE accounts (id TEXT PRIMARY KEY, name TEXT NOT NULL,
                is_admin BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL)",
            "CREATE TABLE api_keys (key_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL,
                created_at BIGINT NOT NULL)",
            "CREATE TABLE applications (id TEXT PRIMARY KEY, account_id TEXT NOT NULL,
                name TEXT NOT NULL, created_at BIGINT NOT NULL, UNIQUE (account_id, name))",
            "CREATE TABLE scenario_versions (account_id TEXT NOT NULL,
                application_id TEXT NOT NULL, name TEXT NOT NULL, version BIGINT NOT NULL,
                source TEXT NOT NULL, created_at BIGINT NOT NULL,
                PRIMARY KEY (application_id, name, version))",
            "CREATE TABLE rules (id TEXT PRIMARY KEY, account_id TEXT NOT NULL,
                application_id TEXT NOT NULL, name TEXT NOT NULL, priority BIGINT NOT NULL,
                pattern TEXT NOT NULL, exclude_pattern TEXT, from_pattern TEXT,
                headers TEXT NOT NULL, scenarios TEXT NOT NULL, created_at BIGINT NOT NULL)",
            "CREATE TABLE sessions (id TEXT PRIMARY KEY, account_id TEXT NOT NULL,
                application_id TEXT, rule_id TEXT, started_at BIGINT NOT NULL, ended_at BIGINT,
                status TEXT NOT NULL, error TEXT)",
            "CREATE TABLE calls (id TEXT PRIMARY KEY, account_id TEXT NOT NULL,
                session_id TEXT NOT NULL, direction TEXT NOT NULL, from_number TEXT NOT NULL,
                to_number TEXT NOT NULL, started_at BIGINT NOT NULL, answered_at BIGINT,
                ended_at BIGINT, duration_ms BIGINT, disconnect_code BIGINT,
                disconnect_reason TEXT, recordings TEXT NOT NULL)",
            "INSERT INTO accounts VALUES ('acct', 'old', 0, 1)",
            "INSERT INTO applications VALUES ('app', 'acct', 'pbx', 1)",
            "INSERT INTO rules VALUES ('rule', 'acct', 'app', 'old', 0, '1\\d{3}', NULL, NULL,
                '[]', '[\"main\"]', 1)",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    }
    let store = Store::open(&url).await.unwrap();
    let old = store.get_rule("acct", "rule").await.unwrap().unwrap();
    assert_eq!(old.custom_data, "");
    assert_eq!(old.rule.pattern, r"1\d{3}");
    let new = store
        .create_rule("acct", "app", &rule("new", "sip:x@example.com"))
        .await
        .unwrap();
    assert_eq!(new.custom_data, "sip:x@example.com");
    store.close().await;
}
