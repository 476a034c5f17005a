//! Accounts, applications, scenarios and rules on both backends, including
//! that one account can never read or change another's objects.

mod common;

use dialtone_routing::RuleSet;
use dialtone_store::{NewRule, Store, StoreError, MAX_SCENARIO_BYTES};

on_both_backends!(
    accounts_and_api_keys,
    api_keys_listed_and_revoked_by_id,
    concurrent_revocations_keep_a_key,
    admin_bootstrap,
    applications_are_per_account,
    scenarios_keep_versions,
    concurrent_uploads_each_get_a_version,
    scenarios_are_per_account,
    rules_crud_and_validation,
    rules_are_per_account,
    all_rules_feed_the_router,
    deleting_an_application_removes_its_objects,
);

fn rule(name: &str, priority: i32, pattern: &str) -> NewRule {
    NewRule {
        name: name.to_owned(),
        priority,
        pattern: pattern.to_owned(),
        exclude: None,
        from: None,
        headers: Vec::new(),
        scenarios: vec!["main".to_owned()],
        custom_data: String::new(),
    }
}

async fn accounts_and_api_keys(store: &Store) {
    let (a, key_a) = store.create_account("alpha").await.unwrap();
    let (b, key_b) = store.create_account("beta").await.unwrap();
    assert_ne!(a.id, b.id);
    assert!(!a.is_admin);
    assert_eq!(store.get_account(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.account_by_api_key(key_a.as_str()).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        store.account_by_api_key(key_b.as_str()).await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(store.account_by_api_key("dt_nope").await.unwrap(), None);

    let (second, _) = store.create_api_key(&a.id).await.unwrap();
    assert_eq!(
        store.account_by_api_key(second.as_str()).await.unwrap(),
        Some(a.clone())
    );
    // B cannot revoke A's key; A can.
    assert!(!store.revoke_api_key(&b.id, second.as_str()).await.unwrap());
    assert!(store.revoke_api_key(&a.id, second.as_str()).await.unwrap());
    assert_eq!(
        store.account_by_api_key(second.as_str()).await.unwrap(),
        None
    );
    assert!(matches!(
        store.create_api_key("missing").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.create_account("  ").await,
        Err(StoreError::Invalid { .. })
    ));
}

async fn api_keys_listed_and_revoked_by_id(store: &Store) {
    let (a, first) = store.create_account("alpha").await.unwrap();
    let (b, key_b) = store.create_account("beta").await.unwrap();
    let listed = store.list_api_keys(&a.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, first.id());
    assert_eq!(listed[0].created_at, a.created_at);
    // The id is the start of the stored hash, never the key.
    assert_eq!(first.id().len(), 16);
    assert!(!first.as_str().contains(&first.id()));

    let (second, info) = store.create_api_key(&a.id).await.unwrap();
    assert_eq!(info.id, second.id());
    assert_ne!(info.id, first.id());
    let ids: Vec<String> = store
        .list_api_keys(&a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, [first.id(), second.id()], "oldest first");
    assert_eq!(store.list_api_keys(&b.id).await.unwrap().len(), 1);
    assert!(store.list_api_keys("missing").await.unwrap().is_empty());

    // Another account's id, an unknown id, a malformed one: nothing happens.
    assert!(!store
        .revoke_api_key_by_id(&b.id, &first.id())
        .await
        .unwrap());
    assert!(!store
        .revoke_api_key_by_id(&a.id, &key_b.id())
        .await
        .unwrap());
    assert!(!store
        .revoke_api_key_by_id(&a.id, "0000000000000000")
        .await
        .unwrap());
    for bad in [
        "",
        "%",
        "________________",
        &first.id()[..8],
        &first.id().to_uppercase(),
    ] {
        assert!(
            !store.revoke_api_key_by_id(&a.id, bad).await.unwrap(),
            "{bad:?}"
        );
    }
    assert!(!store
        .revoke_api_key_by_id("missing", &first.id())
        .await
        .unwrap());
    assert_eq!(store.list_api_keys(&a.id).await.unwrap().len(), 2);

    // Rotation: the old key goes, the new one keeps working.
    assert!(store
        .revoke_api_key_by_id(&a.id, &first.id())
        .await
        .unwrap());
    assert_eq!(
        store.account_by_api_key(first.as_str()).await.unwrap(),
        None
    );
    assert_eq!(
        store.account_by_api_key(second.as_str()).await.unwrap(),
        Some(a.clone())
    );
    assert!(!store
        .revoke_api_key_by_id(&a.id, &first.id())
        .await
        .unwrap());
    // The last key stays.
    assert!(!store
        .revoke_api_key_by_id(&a.id, &second.id())
        .await
        .unwrap());
    assert_eq!(
        store.account_by_api_key(second.as_str()).await.unwrap(),
        Some(a.clone())
    );
    let ids: Vec<String> = store
        .list_api_keys(&a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, [second.id()]);
    assert_eq!(
        store.account_by_api_key(key_b.as_str()).await.unwrap(),
        Some(b)
    );
}

/// Revoking every key of an account at once leaves exactly one.
async fn concurrent_revocations_keep_a_key(store: &Store) {
    let (a, first) = store.create_account("gamma").await.unwrap();
    let mut ids = vec![first.id()];
    for _ in 0..4 {
        ids.push(store.create_api_key(&a.id).await.unwrap().1.id);
    }
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let store = store.clone();
            let account = a.id.clone();
            let id = id.clone();
            tokio::spawn(async move { store.revoke_api_key_by_id(&account, &id).await })
        })
        .collect();
    let mut revoked = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            revoked += 1;
        }
    }
    assert_eq!(revoked, ids.len() - 1);
    let left = store.list_api_keys(&a.id).await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(ids.contains(&left[0].id));
}

async fn admin_bootstrap(store: &Store) {
    // A shared PostgreSQL may already hold an admin from an earlier run, so
    // the first call may or may not generate a key; the second never does.
    let first = store.bootstrap_admin(None).await.unwrap();
    assert!(first.account.is_admin);
    if let Some(key) = &first.generated_key {
        assert_eq!(
            store.account_by_api_key(key.as_str()).await.unwrap(),
            Some(first.account.clone())
        );
    }
    let again = store.bootstrap_admin(None).await.unwrap();
    assert_eq!(again.account.id, first.account.id);
    assert!(again.generated_key.is_none());

    // A supplied key (DIALTONE_ADMIN_KEY) is accepted for the existing admin.
    let supplied = format!("env-key-{}", uuid_like());
    let with_key = store.bootstrap_admin(Some(&supplied)).await.unwrap();
    assert_eq!(with_key.account.id, first.account.id);
    assert!(with_key.generated_key.is_none());
    assert_eq!(
        store
            .account_by_api_key(&supplied)
            .await
            .unwrap()
            .map(|a| a.id),
        Some(first.account.id.clone())
    );
    assert!(matches!(
        store.bootstrap_admin(Some("short")).await,
        Err(StoreError::Invalid { .. })
    ));
    // Another account's key cannot be claimed as the admin key.
    let (_, other_key) = store.create_account("other").await.unwrap();
    assert!(matches!(
        store.bootstrap_admin(Some(other_key.as_str())).await,
        Err(StoreError::Invalid { .. })
    ));
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos:032x}")
}

async fn applications_are_per_account(store: &Store) {
    let (a, _) = store.create_account("a").await.unwrap();
    let (b, _) = store.create_account("b").await.unwrap();
    let ivr = store.put_application(&a.id, "ivr").await.unwrap();
    // Put is idempotent by name.
    assert_eq!(store.put_application(&a.id, "ivr").await.unwrap(), ivr);
    let queue = store.put_application(&a.id, "queue").await.unwrap();
    // B may use the same name: names are per account.
    let b_ivr = store.put_application(&b.id, "ivr").await.unwrap();
    assert_ne!(b_ivr.id, ivr.id);

    let names: Vec<_> = store
        .list_applications(&a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.name)
        .collect();
    assert_eq!(names, ["ivr", "queue"]);
    assert_eq!(
        store.list_applications(&b.id).await.unwrap(),
        vec![b_ivr.clone()]
    );

    assert_eq!(
        store.get_application(&a.id, &ivr.id).await.unwrap(),
        Some(ivr.clone())
    );
    assert_eq!(store.get_application(&b.id, &ivr.id).await.unwrap(), None);
    assert!(!store.delete_application(&b.id, &ivr.id).await.unwrap());
    assert!(store
        .get_application(&a.id, &ivr.id)
        .await
        .unwrap()
        .is_some());
    assert!(store.delete_application(&a.id, &queue.id).await.unwrap());
    assert!(!store.delete_application(&a.id, &queue.id).await.unwrap());
    assert!(matches!(
        store.put_application(&a.id, "").await,
        Err(StoreError::Invalid { .. })
    ));
}

async fn scenarios_keep_versions(store: &Store) {
    let (a, _) = store.create_account("a").await.unwrap();
    let app = store.put_application(&a.id, "app").await.unwrap();
    let v1 = store
        .put_scenario(&a.id, &app.id, "main", "// one")
        .await
        .unwrap();
    let v2 = store
        .put_scenario(&a.id, &app.id, "main", "// two!")
        .await
        .unwrap();
    store
        .put_scenario(&a.id, &app.id, "helper", "// h")
        .await
        .unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));

    let latest = store
        .get_scenario(&a.id, &app.id, "main", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest, v2);
    let first = store
        .get_scenario(&a.id, &app.id, "main", Some(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.source, "// one");

    // The routing snapshot's view: every application and the latest version
    // of each scenario (other tests' objects may share a PostgreSQL database).
    let apps = store.all_applications().await.unwrap();
    assert!(apps.iter().any(|x| x.id == app.id && x.account == a.id));
    let mut mine: Vec<_> = store
        .all_latest_scenarios()
        .await
        .unwrap()
        .into_iter()
        .filter(|(account, s)| *account == a.id && s.application == app.id)
        .map(|(_, s)| (s.name, s.version, s.source))
        .collect();
    mine.sort();
    assert_eq!(
        mine,
        [
            ("helper".to_owned(), 1, "// h".to_owned()),
            ("main".to_owned(), 2, "// two!".to_owned())
        ]
    );
    assert!(store
        .get_scenario(&a.id, &app.id, "main", Some(3))
        .await
        .unwrap()
        .is_none());

    let versions = store
        .list_scenario_versions(&a.id, &app.id, "main")
        .await
        .unwrap();
    let summary: Vec<_> = versions.iter().map(|v| (v.version, v.size)).collect();
    assert_eq!(summary, [(1, 6), (2, 7)]);
    let all: Vec<_> = store
        .list_scenarios(&a.id, &app.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.version))
        .collect();
    assert_eq!(all, [("helper".to_owned(), 1), ("main".to_owned(), 2)]);

    // The size limit is inclusive.
    let big = "x".repeat(MAX_SCENARIO_BYTES);
    store
        .put_scenario(&a.id, &app.id, "big", &big)
        .await
        .unwrap();
    let too_big = "x".repeat(MAX_SCENARIO_BYTES + 1);
    assert!(matches!(
        store.put_scenario(&a.id, &app.id, "big", &too_big).await,
        Err(StoreError::ScenarioTooLarge { .. })
    ));

    assert!(store.delete_scenario(&a.id, &app.id, "main").await.unwrap());
    assert!(store
        .get_scenario(&a.id, &app.id, "main", None)
        .await
        .unwrap()
        .is_none());
    // A new save after deletion starts again at version 1.
    let again = store
        .put_scenario(&a.id, &app.id, "main", "// again")
        .await
        .unwrap();
    assert_eq!(again.version, 1);
}

async fn scenarios_are_per_account(store: &Store) {
    let (a, _) = store.create_account("a").await.unwrap();
    let (b, _) = store.create_account("b").await.unwrap();
    let app = store.put_application(&a.id, "app").await.unwrap();
    store
        .put_scenario(&a.id, &app.id, "main", "// a")
        .await
        .unwrap();

    assert!(matches!(
        store.put_scenario(&b.id, &app.id, "main", "// b").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store
        .get_scenario(&b.id, &app.id, "main", None)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .list_scenario_versions(&b.id, &app.id, "main")
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_scenarios(&b.id, &app.id)
        .await
        .unwrap()
        .is_empty());
    assert!(!store.delete_scenario(&b.id, &app.id, "main").await.unwrap());
    let kept = store
        .get_scenario(&a.id, &app.id, "main", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((kept.version, kept.source.as_str()), (1, "// a"));
}

async fn rules_crud_and_validation(store: &Store) {
    let (a, _) = store.create_account("a").await.unwrap();
    let app = store.put_application(&a.id, "app").await.unwrap();
    let mut full = rule("vip", 10, r"\+1\d{10}");
    full.exclude = Some(r"\+1900\d+".to_owned());
    full.from = Some(".*".to_owned());
    full.headers = vec![("X-Tenant".to_owned(), "acme".to_owned())];
    full.scenarios = vec!["main".to_owned(), "after".to_owned()];
    let vip = store.create_rule(&a.id, &app.id, &full).await.unwrap();
    assert_eq!(vip.account, a.id);
    assert_eq!(vip.rule.application, app.id);
    assert_eq!(vip.rule.exclude, full.exclude);
    assert_eq!(vip.rule.headers, full.headers);
    assert_eq!(vip.rule.scenarios, full.scenarios);
    let low = store
        .create_rule(&a.id, &app.id, &rule("low", -3, ".*"))
        .await
        .unwrap();
    let mid = store
        .create_rule(&a.id, &app.id, &rule("mid", 0, "1.*"))
        .await
        .unwrap();
    let order: Vec<_> = store
        .list_rules(&a.id, &app.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.rule.name)
        .collect();
    assert_eq!(order, ["vip", "mid", "low"]);

    // Bad patterns are refused at write time, with the regex message.
    let err = store
        .create_rule(&a.id, &app.id, &rule("bad", 0, "(12"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unclosed group"), "{err}");
    let mut no_scenarios = rule("none", 0, ".*");
    no_scenarios.scenarios.clear();
    assert!(matches!(
        store.create_rule(&a.id, &app.id, &no_scenarios).await,
        Err(StoreError::Invalid { .. })
    ));

    let updated = store
        .update_rule(&a.id, &low.rule.id, &rule("low", 20, "9.*"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.rule.id, low.rule.id);
    assert_eq!(
        (updated.rule.priority, updated.rule.pattern.as_str()),
        (20, "9.*")
    );
    assert!(store
        .update_rule(&a.id, &mid.rule.id, &rule("mid", 0, "["))
        .await
        .is_err());
    assert_eq!(
        store
            .get_rule(&a.id, &mid.rule.id)
            .await
            .unwrap()
            .unwrap()
            .rule
            .pattern,
        "1.*"
    );
    assert!(store.delete_rule(&a.id, &mid.rule.id).await.unwrap());
    assert!(!store.delete_rule(&a.id, &mid.rule.id).await.unwrap());
    assert_eq!(store.list_rules(&a.id, &app.id).await.unwrap().len(), 2);
}

async fn rules_are_per_account(store: &Store) {
    let (a, _) = store.create_account("a").await.unwrap();
    let (b, _) = store.create_account("b").await.unwrap();
    let app = store.put_application(&a.id, "app").await.unwrap();
    let r = store
        .create_rule(&a.id, &app.id, &rule("r", 0, ".*"))
        .await
        .unwrap();

    assert!(matches!(
        store
            .create_rule(&b.id, &app.id, &rule("evil", 99, ".*"))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.list_rules(&b.id, &app.id).await.unwrap().is_empty());
    assert!(store.get_rule(&b.id, &r.rule.id).await.unwrap().is_none());
    assert!(store
        .update_rule(&b.id, &r.rule.id, &rule("evil", 99, ".*"))
        .await
        .unwrap()
        .is_none());
    assert!(!store.delete_rule(&b.id, &r.rule.id).await.unwrap());
    assert_eq!(store.get_rule(&a.id, &r.rule.id).await.unwrap(), Some(r));
}

async fn all_rules_feed_the_router(store: &Store) {
    let (a, _) = store.create_account("a").await.unwrap();
    let (b, _) = store.create_account("b").await.unwrap();
    let app_a = store.put_application(&a.id, "a-app").await.unwrap();
    let app_b = store.put_application(&b.id, "b-app").await.unwrap();
    let first = store
        .create_rule(&a.id, &app_a.id, &rule("a-any", 5, r"\d+"))
        .await
        .unwrap();
    let second = store
        .create_rule(&b.id, &app_b.id, &rule("b-any", 5, r"\d+"))
        .await
        .unwrap();
    store
        .create_rule(&b.id, &app_b.id, &rule("b-sales", 50, "800"))
        .await
        .unwrap();

    // A shared PostgreSQL holds other tests' rules too: keep this test's.
    let ours: Vec<_> = store
        .all_rules()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.rule.application == app_a.id || r.rule.application == app_b.id)
        .collect();
    assert_eq!(ours.len(), 3);
    let owners: Vec<_> = ours.iter().map(|r| r.account.clone()).collect();
    assert_eq!(owners, [b.id.clone(), a.id.clone(), b.id.clone()]);

    let set = RuleSet::compile(ours.into_iter().map(|r| r.rule).collect()).unwrap();
    assert_eq!(set.match_invite("800", "x", &[]).unwrap().name, "b-sales");
    // Equal priority: the earlier rule (lower, time-ordered id) wins.
    assert!(first.rule.id < second.rule.id);
    assert_eq!(set.match_invite("123", "x", &[]).unwrap().name, "a-any");
    assert!(set.match_invite("abc", "x", &[]).is_none());
}

async fn deleting_an_application_removes_its_objects(store: &Store) {
    let (a, _) = store.create_account("a").await.unwrap();
    let app = store.put_application(&a.id, "app").await.unwrap();
    let keep = store.put_application(&a.id, "keep").await.unwrap();
    store
        .put_scenario(&a.id, &app.id, "main", "//")
        .await
        .unwrap();
    store
        .put_scenario(&a.id, &keep.id, "main", "//")
        .await
        .unwrap();
    let r = store
        .create_rule(&a.id, &app.id, &rule("r", 0, ".*"))
        .await
        .unwrap();
    store
        .create_rule(&a.id, &keep.id, &rule("k", 0, ".*"))
        .await
        .unwrap();

    assert!(store.delete_application(&a.id, &app.id).await.unwrap());
    assert!(store.get_rule(&a.id, &r.rule.id).await.unwrap().is_none());
    assert!(store
        .get_scenario(&a.id, &app.id, "main", None)
        .await
        .unwrap()
        .is_none());
    // A re-created application of the same name starts empty.
    let again = store.put_application(&a.id, "app").await.unwrap();
    assert_ne!(again.id, app.id);
    assert!(store
        .list_scenarios(&a.id, &again.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.list_rules(&a.id, &keep.id).await.unwrap().len(), 1);
    assert_eq!(
        store.list_scenarios(&a.id, &keep.id).await.unwrap().len(),
        1
    );
}

/// Uploads racing each other and the history writer all succeed, each with
/// its own version number (no "database is locked", no duplicate).
async fn concurrent_uploads_each_get_a_version(store: &Store) {
    let (a, _) = store.create_account("racer").await.unwrap();
    let app = store.put_application(&a.id, "app").await.unwrap();
    let (history, _task) = dialtone_store::HistoryWriter::spawn(
        store.clone(),
        dialtone_store::HistoryConfig {
            max_batch: 10,
            max_delay: std::time::Duration::from_millis(1),
            queue_bytes: 256 * 1024 * 1024,
        },
    );
    let noise = {
        let history = history.clone();
        let account = a.id.clone();
        tokio::spawn(async move {
            for i in 0..400 {
                let _ = history.append_log(&account, "noise", vec![format!("line {i}")]);
                tokio::task::yield_now().await;
            }
        })
    };
    let mut uploads = Vec::new();
    for t in 0..8 {
        let store = store.clone();
        let (account, app_id) = (a.id.clone(), app.id.clone());
        uploads.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            for i in 0..6 {
                let source = format!("// {t}.{i}");
                let saved = store
                    .put_scenario(&account, &app_id, "main", &source)
                    .await
                    .unwrap();
                versions.push(saved.version);
            }
            versions
        }));
    }
    let mut all = Vec::new();
    for u in uploads {
        all.extend(u.await.unwrap());
    }
    noise.await.unwrap();
    history.flush().await.unwrap();
    all.sort();
    assert_eq!(all, (1..=48).collect::<Vec<i64>>());
}
