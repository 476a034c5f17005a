//! Backends for the store tests: a fresh SQLite file per test always, and
//! the PostgreSQL named by DIALTONE_TEST_POSTGRES when set. Tests share that
//! PostgreSQL database, so each one works in accounts it creates itself.

use dialtone_store::Store;

pub async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open_sqlite_file(&dir.path().join("dialtone.db"))
        .await
        .expect("open sqlite store");
    (store, dir)
}

/// `None` when no PostgreSQL is configured outside CI. In CI a missing
/// variable is a failure: a silently skipped backend is an untested one.
pub async fn postgres() -> Option<Store> {
    match std::env::var("DIALTONE_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(Store::open(&url).await.expect("open postgres store")),
        _ => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "CI=true but DIALTONE_TEST_POSTGRES is not set: the PostgreSQL store tests must run in CI"
            );
            eprintln!("DIALTONE_TEST_POSTGRES not set: PostgreSQL store test skipped");
            None
        }
    }
}

/// Run each named `async fn(&Store)` once against SQLite and once against
/// PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _dir) = $crate::common::sqlite().await;
                    super::$name(&store).await;
                    store.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(store) = $crate::common::postgres().await {
                        super::$name(&store).await;
                        store.close().await;
                    }
                }
            )*
        }
    };
}
