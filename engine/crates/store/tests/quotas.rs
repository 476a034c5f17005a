//! Per-account quotas on both backends: rules and scenarios past their limit
//! are refused (other accounts unaffected), versions past the number kept
//! are pruned oldest first and the latest always stays, and concurrent
//! writes of one account cannot slip past a limit together.

mod common;

use dialtone_store::{NewRule, Quotas, Store, StoreError, StoredUsage};

on_both_backends!(
    rules_past_the_quota_are_refused,
    scenarios_past_the_quota_are_refused_but_new_versions_are_not,
    old_versions_are_pruned_oldest_first,
    concurrent_rules_do_not_pass_the_quota,
    defaults_are_documented_values,
);

fn rule(name: &str) -> NewRule {
    NewRule {
        name: name.to_owned(),
        priority: 0,
        pattern: r"\d+".to_owned(),
        exclude: None,
        from: None,
        headers: Vec::new(),
        scenarios: vec!["main".to_owned()],
        custom_data: String::new(),
    }
}

fn limited(store: &Store, rules: u64, scenarios: u64, versions: u64) -> Store {
    store.clone().with_quotas(Quotas {
        rules: Some(rules),
        scenarios: Some(scenarios),
        scenario_versions: Some(versions),
    })
}

fn is_quota(e: &StoreError, name: &str, max: u64) -> bool {
    matches!(e, StoreError::QuotaExceeded { quota, limit, .. } if *quota == name && *limit == max)
}

async fn rules_past_the_quota_are_refused(store: &Store) {
    let store = limited(store, 3, 10, 10);
    let (a, _) = store.create_account("a").await.unwrap();
    let (b, _) = store.create_account("b").await.unwrap();
    let one = store.put_application(&a.id, "one").await.unwrap();
    let two = store.put_application(&a.id, "two").await.unwrap();
    store
        .create_rule(&a.id, &one.id, &rule("r1"))
        .await
        .unwrap();
    store
        .create_rule(&a.id, &two.id, &rule("r2"))
        .await
        .unwrap();
    store
        .create_rule(&a.id, &two.id, &rule("r3"))
        .await
        .unwrap();
    // The quota is per account, over all its applications.
    let err = store
        .create_rule(&a.id, &one.id, &rule("r4"))
        .await
        .unwrap_err();
    assert!(is_quota(&err, "rules", 3), "{err:?}");
    assert!(err.to_string().contains("at most 3 routing rules"), "{err}");
    assert_eq!(store.stored_usage(&a.id).await.unwrap().rules, 3);
    // Another account is not charged for a's rules.
    let bapp = store.put_application(&b.id, "one").await.unwrap();
    store
        .create_rule(&b.id, &bapp.id, &rule("r1"))
        .await
        .unwrap();
    // Deleting one makes room again; updates never count.
    let listed = store.list_rules(&a.id, &one.id).await.unwrap();
    store
        .update_rule(&a.id, &listed[0].rule.id, &rule("r1b"))
        .await
        .unwrap()
        .unwrap();
    assert!(store.delete_rule(&a.id, &listed[0].rule.id).await.unwrap());
    store
        .create_rule(&a.id, &one.id, &rule("r4"))
        .await
        .unwrap();
}

async fn scenarios_past_the_quota_are_refused_but_new_versions_are_not(store: &Store) {
    let store = limited(store, 10, 2, 10);
    let (a, _) = store.create_account("a").await.unwrap();
    let one = store.put_application(&a.id, "one").await.unwrap();
    let two = store.put_application(&a.id, "two").await.unwrap();
    store.put_scenario(&a.id, &one.id, "s1", "1").await.unwrap();
    store.put_scenario(&a.id, &two.id, "s1", "1").await.unwrap();
    let err = store
        .put_scenario(&a.id, &one.id, "s2", "1")
        .await
        .unwrap_err();
    assert!(is_quota(&err, "scenarios", 2), "{err:?}");
    // A new version of an existing scenario is fine.
    let v2 = store.put_scenario(&a.id, &one.id, "s1", "2").await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(
        store.stored_usage(&a.id).await.unwrap(),
        StoredUsage {
            rules: 0,
            scenarios: 2,
            scenario_versions: 3
        }
    );
    assert!(store.delete_scenario(&a.id, &two.id, "s1").await.unwrap());
    store.put_scenario(&a.id, &one.id, "s2", "1").await.unwrap();
}

async fn old_versions_are_pruned_oldest_first(store: &Store) {
    let store = limited(store, 10, 10, 3);
    let (a, _) = store.create_account("a").await.unwrap();
    let app = store.put_application(&a.id, "app").await.unwrap();
    for n in 1..=5 {
        let saved = store
            .put_scenario(&a.id, &app.id, "main", &format!("// v{n}"))
            .await
            .unwrap();
        assert_eq!(saved.version, n);
        let kept: Vec<i64> = store
            .list_scenario_versions(&a.id, &app.id, "main")
            .await
            .unwrap()
            .iter()
            .map(|v| v.version)
            .collect();
        let first = (n - 2).max(1);
        assert_eq!(kept, (first..=n).collect::<Vec<_>>());
    }
    // The latest is what calls run, and version numbers go on.
    let latest = store
        .get_scenario(&a.id, &app.id, "main", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((latest.version, latest.source.as_str()), (5, "// v5"));
    assert!(store
        .get_scenario(&a.id, &app.id, "main", Some(2))
        .await
        .unwrap()
        .is_none());
    // Keeping "0" versions still keeps the latest.
    let store = store.with_quotas(Quotas {
        scenario_versions: Some(0),
        ..Quotas::default()
    });
    store
        .put_scenario(&a.id, &app.id, "main", "// v6")
        .await
        .unwrap();
    let kept = store
        .list_scenario_versions(&a.id, &app.id, "main")
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].version, 6);
}

async fn concurrent_rules_do_not_pass_the_quota(store: &Store) {
    let store = limited(store, 5, 10, 10);
    let (a, _) = store.create_account("a").await.unwrap();
    let app = store.put_application(&a.id, "app").await.unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|n| {
            let (store, account, app) = (store.clone(), a.id.clone(), app.id.clone());
            tokio::spawn(async move {
                // SQLite answers a busy database with an error rather than
                // waiting; such a write is retried, as a client would.
                for _ in 0..50 {
                    match store
                        .create_rule(&account, &app, &rule(&format!("r{n}")))
                        .await
                    {
                        Err(StoreError::Database(_)) => {
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await
                        }
                        other => return other.map(|_| ()),
                    }
                }
                panic!("database stayed busy");
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => created += 1,
            Err(e) => assert!(is_quota(&e, "rules", 5), "{e:?}"),
        }
    }
    assert_eq!(created, 5);
    assert_eq!(store.stored_usage(&a.id).await.unwrap().rules, 5);
}

async fn defaults_are_documented_values(store: &Store) {
    assert_eq!(
        store.quotas(),
        Quotas {
            rules: Some(1000),
            scenarios: Some(1000),
            scenario_versions: Some(100),
        }
    );
}
