//! Where `ApplicationStorage` keeps its pairs: in memory for `dialtone run`
//! (gone at exit), in the database for `dialtone serve` (kept across
//! restarts and shared by every node on one PostgreSQL database).

use std::future::Future;
use std::pin::Pin;

use dialtone_core::storage::{MemoryStorage, StorageOp, StorageReply, StorageScope};

/// The answer to one storage request, when it is ready.
pub type StorageFuture = Pin<Box<dyn Future<Output = Result<StorageReply, String>> + Send>>;

/// A store of `ApplicationStorage` pairs.
pub trait AppStorage: Send + Sync {
    fn run(&self, scope: StorageScope, op: StorageOp) -> StorageFuture;
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    dialtone_store::now_ms() / 1000
}

/// The in-memory store of `dialtone run`.
#[derive(Default)]
pub struct MemoryAppStorage(parking_lot::Mutex<MemoryStorage>);

impl AppStorage for MemoryAppStorage {
    fn run(&self, scope: StorageScope, op: StorageOp) -> StorageFuture {
        let result = self.0.lock().run(&scope, op, now_secs());
        Box::pin(std::future::ready(result))
    }
}

/// The database of `dialtone serve`.
pub struct StoreAppStorage(pub dialtone_store::Store);

impl AppStorage for StoreAppStorage {
    fn run(&self, scope: StorageScope, op: StorageOp) -> StorageFuture {
        let store = self.0.clone();
        Box::pin(async move {
            store
                .storage_run(&scope.account, &scope.application, op, now_secs())
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "ApplicationStorage request failed");
                    e.to_string()
                })
        })
    }
}
