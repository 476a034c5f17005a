//! Claims on both backends: what an account receives, kept per account, and
//! never overlapping another account's claims (numbers, number patterns by
//! the intersection of their languages, domains case-insensitively).
//!
//! The PostgreSQL database is shared by every test and every run, and
//! claims are compared across all accounts in it: each test scopes its
//! numbers, patterns and domains with a fresh token and deletes its claims
//! at the end. Claims that would overlap everything (`.*`) are tested on
//! SQLite only.

mod common;

use dialtone_store::{Account, ClaimKind, Store, StoreError, StoredClaim, MAX_PATTERN_CLAIMS};

on_both_backends!(
    claims_belong_to_their_account,
    overlapping_claims_of_another_account_are_refused,
    malformed_claims_are_refused,
    concurrent_overlapping_claims_cannot_both_win,
    accounts_with_rules_but_no_claims_are_listed,
);

/// A token no other test or run uses, safe inside numbers, regexes and
/// DNS labels.
fn token() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("t{}", &id[..12])
}

async fn account(store: &Store, name: &str) -> Account {
    store.create_account(name).await.expect("account").0
}

async fn claim(
    store: &Store,
    account: &Account,
    kind: ClaimKind,
    value: &str,
) -> Result<StoredClaim, StoreError> {
    store.create_claim(&account.id, kind, value).await
}

fn refused(result: Result<StoredClaim, StoreError>) -> String {
    match result {
        Err(StoreError::ClaimRefused(message)) => message,
        other => panic!("expected a refused claim, got {other:?}"),
    }
}

async fn clean_up(store: &Store, accounts: &[&Account]) {
    for a in accounts {
        for c in store.list_claims(&a.id).await.expect("list") {
            assert!(store.delete_claim(&a.id, &c.id).await.expect("delete"));
        }
    }
}

async fn claims_belong_to_their_account(store: &Store) {
    let t = token();
    let a = account(store, "a").await;
    let b = account(store, "b").await;
    let number = claim(store, &a, ClaimKind::Number, &format!("+{t}100"))
        .await
        .unwrap();
    assert_eq!(
        (number.kind, number.value.as_str(), number.account.as_str()),
        (
            ClaimKind::Number,
            format!("+{t}100").as_str(),
            a.id.as_str()
        )
    );
    let domain = claim(
        store,
        &a,
        ClaimKind::Domain,
        &format!("Sip.{t}.Example.com."),
    )
    .await
    .unwrap();
    assert_eq!(domain.value, format!("sip.{t}.example.com"), "normalized");
    let pattern = claim(store, &a, ClaimKind::Pattern, &format!(r"{t}\d+"))
        .await
        .unwrap();

    let listed = store.list_claims(&a.id).await.unwrap();
    assert_eq!(listed, [number.clone(), domain.clone(), pattern.clone()]);
    assert_eq!(store.list_claims(&b.id).await.unwrap(), []);
    assert_eq!(
        store.get_claim(&a.id, &number.id).await.unwrap(),
        Some(number.clone())
    );
    // Another account can neither read nor delete them.
    assert_eq!(store.get_claim(&b.id, &number.id).await.unwrap(), None);
    assert!(!store.delete_claim(&b.id, &number.id).await.unwrap());
    // The admin's lookup by id crosses accounts.
    assert_eq!(
        store.claim_by_id(&number.id).await.unwrap(),
        Some(number.clone())
    );
    let all = store.all_claims().await.unwrap();
    assert!(all.contains(&pattern) && all.contains(&domain));

    assert!(store.delete_claim(&a.id, &number.id).await.unwrap());
    assert!(!store.delete_claim(&a.id, &number.id).await.unwrap());
    assert_eq!(store.get_claim(&a.id, &number.id).await.unwrap(), None);
    // Once released, another account may claim it.
    claim(store, &b, ClaimKind::Number, &format!("+{t}100"))
        .await
        .unwrap();
    clean_up(store, &[&a, &b]).await;
}

async fn overlapping_claims_of_another_account_are_refused(store: &Store) {
    let t = token();
    let a = account(store, "a").await;
    let b = account(store, "b").await;
    claim(store, &a, ClaimKind::Pattern, &format!(r"{t}1\d{{3}}"))
        .await
        .unwrap();

    // Pattern vs pattern: a common string, or none.
    let message = refused(claim(store, &b, ClaimKind::Pattern, &format!(r"{t}12\d\d")).await);
    assert!(message.contains("another account"), "{message}");
    assert!(
        !message.contains(&a.id) && !message.contains(r"1\d{3}"),
        "the other claim stays private: {message}"
    );
    claim(store, &b, ClaimKind::Pattern, &format!(r"{t}2\d{{3}}"))
        .await
        .unwrap();
    refused(claim(store, &b, ClaimKind::Pattern, &format!("{t}.*")).await);
    refused(claim(store, &a, ClaimKind::Pattern, &format!("{t}[12]0{{3}}")).await);

    // Exact vs pattern, both ways.
    refused(claim(store, &b, ClaimKind::Number, &format!("{t}1234")).await);
    claim(store, &b, ClaimKind::Number, &format!("{t}12345"))
        .await
        .unwrap();
    refused(claim(store, &a, ClaimKind::Pattern, &format!(r"{t}\d{{5}}")).await);

    // Exact vs exact.
    claim(store, &a, ClaimKind::Number, &format!("+{t}"))
        .await
        .unwrap();
    refused(claim(store, &b, ClaimKind::Number, &format!("+{t}")).await);

    // Domains, case-insensitively; a subdomain is another domain.
    claim(store, &a, ClaimKind::Domain, &format!("{t}.example.com"))
        .await
        .unwrap();
    refused(
        claim(
            store,
            &b,
            ClaimKind::Domain,
            &format!("{}.Example.COM.", t.to_uppercase()),
        )
        .await,
    );
    claim(
        store,
        &b,
        ClaimKind::Domain,
        &format!("sub.{t}.example.com"),
    )
    .await
    .unwrap();

    // Within one account, overlaps are fine; repeating a claim is not.
    claim(store, &a, ClaimKind::Pattern, &format!(r"{t}12\d\d"))
        .await
        .unwrap();
    claim(store, &a, ClaimKind::Number, &format!("{t}1234"))
        .await
        .unwrap();
    let message = refused(claim(store, &a, ClaimKind::Number, &format!("{t}1234")).await);
    assert!(message.contains("already claims"), "{message}");

    // A pattern the check cannot decide within its budget is refused: the
    // first comparison that outgrows it is with a's pattern of the same
    // shape (no common string: the 21st byte from the end differs).
    claim(
        store,
        &a,
        ClaimKind::Pattern,
        &format!("{t}[ab]*a[ab]{{20}}"),
    )
    .await
    .unwrap();
    let message = refused(
        claim(
            store,
            &b,
            ClaimKind::Pattern,
            &format!("{t}[ab]*b[ab]{{20}}"),
        )
        .await,
    );
    assert!(message.contains("cannot be checked"), "{message}");

    let b_values: Vec<String> = store
        .list_claims(&b.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.value)
        .collect();
    assert_eq!(
        b_values,
        [
            format!(r"{t}2\d{{3}}"),
            format!("{t}12345"),
            format!("sub.{t}.example.com"),
        ]
    );
    clean_up(store, &[&a, &b]).await;
}

async fn malformed_claims_are_refused(store: &Store) {
    let a = account(store, "a").await;
    for (kind, value) in [
        (ClaimKind::Number, ""),
        (ClaimKind::Number, "12 34"),
        (ClaimKind::Number, "a@b"),
        (ClaimKind::Pattern, "("),
        (ClaimKind::Pattern, ""),
        (ClaimKind::Domain, "127.0.0.1"),
        (ClaimKind::Domain, "localhost"),
        (ClaimKind::Domain, "bad_label.example.com"),
    ] {
        let result = claim(store, &a, kind, value).await;
        assert!(
            matches!(result, Err(StoreError::Claim(_))),
            "{kind} {value:?}: {result:?}"
        );
    }
    let too_long = "1".repeat(1025);
    assert!(matches!(
        claim(store, &a, ClaimKind::Pattern, &too_long).await,
        Err(StoreError::Claim(_))
    ));
    assert!(matches!(
        store
            .create_claim("no-such-account", ClaimKind::Number, "1234")
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.list_claims(&a.id).await.unwrap(), []);
}

async fn concurrent_overlapping_claims_cannot_both_win(store: &Store) {
    let t = token();
    let a = account(store, "a").await;
    let b = account(store, "b").await;
    for round in 0..4 {
        let pattern = format!(r"{t}{round}\d+");
        let number = format!("{t}{round}7");
        let (x, y) = tokio::join!(
            claim(store, &a, ClaimKind::Pattern, &pattern),
            claim(store, &b, ClaimKind::Number, &number),
        );
        assert!(
            x.is_ok() != y.is_ok(),
            "round {round}: exactly one wins: {x:?} {y:?}"
        );
        for loser in [x, y].into_iter().filter_map(Result::err) {
            assert!(matches!(loser, StoreError::ClaimRefused(_)), "{loser:?}");
        }
    }
    clean_up(store, &[&a, &b]).await;
}

async fn accounts_with_rules_but_no_claims_are_listed(store: &Store) {
    let t = token();
    let a = account(store, "has-rules").await;
    let quiet = account(store, "no-rules").await;
    let app = store.put_application(&a.id, "app").await.unwrap();
    store
        .create_rule(
            &a.id,
            &app.id,
            &dialtone_store::NewRule {
                name: "r".to_owned(),
                priority: 0,
                pattern: ".*".to_owned(),
                exclude: None,
                from: None,
                headers: Vec::new(),
                scenarios: vec!["main".to_owned()],
                custom_data: String::new(),
            },
        )
        .await
        .unwrap();
    let listed = |accounts: Vec<Account>| -> Vec<String> {
        accounts
            .into_iter()
            .map(|x| x.id)
            .filter(|id| *id == a.id || *id == quiet.id)
            .collect()
    };
    assert_eq!(
        listed(store.accounts_with_rules_but_no_claims().await.unwrap()),
        vec![a.id.clone()]
    );
    claim(store, &a, ClaimKind::Number, &format!("{t}1"))
        .await
        .unwrap();
    assert_eq!(
        listed(store.accounts_with_rules_but_no_claims().await.unwrap()),
        Vec::<String>::new()
    );
    clean_up(store, &[&a]).await;
}

/// `.*` overlaps every other claim of a number or pattern, so only on a
/// database of this test's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_all_patterns_overlap_everything() {
    let (store, _dir) = common::sqlite().await;
    let a = account(&store, "a").await;
    let b = account(&store, "b").await;
    claim(&store, &a, ClaimKind::Number, "+15550100")
        .await
        .unwrap();
    refused(claim(&store, &b, ClaimKind::Pattern, ".*").await);
    refused(claim(&store, &b, ClaimKind::Pattern, r"\+1555.*").await);
    claim(&store, &b, ClaimKind::Pattern, r"\+1666.*")
        .await
        .unwrap();
    // A domain is another kind: it never overlaps numbers or patterns.
    claim(&store, &b, ClaimKind::Domain, "acme.example.com")
        .await
        .unwrap();
    claim(&store, &a, ClaimKind::Pattern, ".*")
        .await
        .unwrap_err();
    let c = account(&store, "c").await;
    claim(&store, &c, ClaimKind::Pattern, r"[^+].*")
        .await
        .unwrap();
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_claims_per_account_are_limited() {
    let (store, _dir) = common::sqlite().await;
    let a = account(&store, "a").await;
    for i in 0..MAX_PATTERN_CLAIMS {
        claim(&store, &a, ClaimKind::Pattern, &format!(r"{i}\d"))
            .await
            .unwrap();
    }
    let message = refused(claim(&store, &a, ClaimKind::Pattern, "x").await);
    assert!(message.contains("limit"), "{message}");
    // Numbers are not limited by it.
    claim(&store, &a, ClaimKind::Number, "x").await.unwrap();
    store.close().await;
}

/// A database from before claims existed, with an account that has rules:
/// the migration claims nothing for it, and it is listed as an account whose
/// rules receive no calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_2_database_gets_claims_and_no_claim_is_made() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    {
        // Migrations 1 and 2 as an older binary applies them.
        let store = Store::open(&url).await.unwrap();
        store.close().await;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        for sql in [
            "DROP TABLE claims",
            "DROP TABLE claim_lock",
            "DROP INDEX sessions_running",
            "DROP INDEX calls_open",
            // What later migrations added: a version-2 database has none of it.
            "DROP INDEX rules_account",
            "DROP INDEX scenario_versions_account",
            "DROP TABLE users",
            "DROP TABLE app_storage",
            "DROP TABLE trunks",
            "DROP TABLE queues",
            "DROP TABLE agents",
            "DELETE FROM dialtone_schema WHERE version >= 3",
            "INSERT INTO accounts VALUES ('acct', 'old', 0, 1)",
            "INSERT INTO applications VALUES ('app', 'acct', 'pbx', 1)",
            "INSERT INTO rules VALUES ('rule', 'acct', 'app', 'old', 0, '1\\d{3}', NULL, NULL,
                '[]', '[\"main\"]', 1, '\"\"')",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        conn.close().await.unwrap();
    }
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.all_claims().await.unwrap(), []);
    let waiting: Vec<String> = store
        .accounts_with_rules_but_no_claims()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(waiting, ["old"]);
    let claimed = store
        .create_claim("acct", ClaimKind::Pattern, r"1\d{3}")
        .await
        .unwrap();
    assert_eq!(claimed.account, "acct");
    store.close().await;
}
