//! A refused connection says why, never with the URL's password.

use dialtone_store::{DatabaseUrl, Store, StoreError};

/// The PostgreSQL of DIALTONE_TEST_POSTGRES with a wrong password: the
/// server refuses it at once (unlike an unreachable one, which sqlx retries).
#[tokio::test]
async fn a_wrong_postgres_password_is_not_in_the_error() {
    let Ok(url) = std::env::var("DIALTONE_TEST_POSTGRES") else {
        eprintln!("DIALTONE_TEST_POSTGRES not set: PostgreSQL connect test skipped");
        return;
    };
    let (head, host) = url.rsplit_once('@').expect("user and password in the URL");
    let user = head
        .trim_start_matches("postgres://")
        .trim_start_matches("postgresql://")
        .split(':')
        .next()
        .unwrap();
    const WRONG: &str = "Wr0ng-Zq8rT4v1";
    let wrong = format!("postgres://{user}:{WRONG}@{host}");
    let err = Store::open(&wrong).await.unwrap_err();
    assert!(matches!(err, StoreError::Connect(_)), "{err:?}");
    let shown = format!("{err} {err:?} {}", DatabaseUrl::new(&wrong));
    assert!(!shown.contains(WRONG), "{shown}");
    assert!(
        shown.contains(&format!("postgres://{user}:***@{host}")),
        "{shown}"
    );
}

/// The pool behind a store keeps the connect options; its `Debug` must not
/// print them.
#[tokio::test]
async fn a_store_on_postgres_does_not_debug_print_its_password() {
    let Ok(url) = std::env::var("DIALTONE_TEST_POSTGRES") else {
        eprintln!("DIALTONE_TEST_POSTGRES not set: PostgreSQL connect test skipped");
        return;
    };
    let store = Store::open(&url).await.expect("open postgres store");
    let shown = format!("{store:?} {store:#?}");
    let (userinfo, _) = url.rsplit_once('@').unwrap();
    let password = userinfo.rsplit_once(':').unwrap().1;
    assert!(!shown.contains(&format!(":{password}@")), "{shown}");
    assert!(!shown.contains("password"), "{shown}");
    store.close().await;
}
