//! Bytes of recordings each account keeps, and the per-account quota on
//! them (`quota_recording_mib`).
//!
//! One counter per account, shared by all its recordings: the recording
//! writer charges each file's growth to it once a second and when the file
//! is finished (`dialtone_media::RecordingBudget`), so the call path never
//! queries the database. A recording asked for while the account's counter
//! is at the limit is refused; one running when it gets there is finished
//! and reported as a `RecordError`. At start-up `dialtone serve` counts the
//! files already in the recordings directory, each charged to the account
//! of its session in history; deleting a recording gives its bytes back.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dialtone_media::RecordingBudget;
use dialtone_store::{Store, StoreError};
use parking_lot::Mutex;

/// Recordings an account may keep, by default: 10 GiB.
pub const DEFAULT_RECORDING_QUOTA: u64 = 10 * 1024 * 1024 * 1024;

pub struct RecordingUsage {
    /// `None`: counted, never refused.
    limit: Option<u64>,
    accounts: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

impl std::fmt::Debug for RecordingUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingUsage")
            .field("limit", &self.limit)
            .field("accounts", &self.accounts.lock().len())
            .finish()
    }
}

/// What [`RecordingUsage::count_existing`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    pub files: u64,
    pub bytes: u64,
    /// Files whose session history does not know (made by `dialtone run`
    /// in the same directory, or whose history was lost): charged to nobody.
    pub unowned: u64,
}

impl RecordingUsage {
    pub fn new(limit: Option<u64>) -> RecordingUsage {
        RecordingUsage {
            limit,
            accounts: Mutex::new(HashMap::new()),
        }
    }

    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    fn counter(&self, account: &str) -> Arc<AtomicU64> {
        self.accounts
            .lock()
            .entry(account.to_owned())
            .or_default()
            .clone()
    }

    /// Bytes `account`'s recordings hold now.
    pub fn used(&self, account: &str) -> u64 {
        self.accounts
            .lock()
            .get(account)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    pub fn add(&self, account: &str, bytes: u64) {
        self.counter(account).fetch_add(bytes, Ordering::Relaxed);
    }

    /// A recording of `bytes` was deleted.
    pub fn release(&self, account: &str, bytes: u64) {
        let counter = self.counter(account);
        let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            Some(n.saturating_sub(bytes))
        });
    }

    /// The message of a refused or stopped recording.
    fn exceeded(&self, limit: u64) -> String {
        format!(
            "recording quota exceeded: an account may keep at most {} of recordings \
             (quota_recording_mib); delete some (DELETE /v1/recordings/{{id}})",
            human_bytes(limit)
        )
    }

    /// The budget a new recording of `account` is charged to, or why it may
    /// not start.
    pub fn budget(&self, account: &str) -> Result<RecordingBudget, String> {
        let used = self.counter(account);
        let message = self.limit.map(|l| self.exceeded(l)).unwrap_or_default();
        let budget = RecordingBudget::new(used, self.limit, message);
        if budget.is_exhausted() {
            return Err(budget.message().to_owned());
        }
        Ok(budget)
    }

    /// Charges every recording file in `dir` to the account of its session.
    pub async fn count_existing(&self, dir: &Path, store: &Store) -> Result<Counted, StoreError> {
        let mut sizes: HashMap<String, u64> = HashMap::new();
        let mut counted = Counted::default();
        let mut listing = match tokio::fs::read_dir(dir).await {
            Ok(listing) => listing,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(counted),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot list recordings");
                return Ok(counted);
            }
        };
        while let Ok(Some(item)) = listing.next_entry().await {
            let name = item.file_name();
            let Some(session) = name.to_str().and_then(crate::api::recording_session) else {
                continue;
            };
            let Ok(meta) = item.metadata().await else {
                continue;
            };
            if meta.is_file() {
                *sizes.entry(session.to_owned()).or_default() += meta.len();
                counted.files += 1;
                counted.bytes += meta.len();
            }
        }
        let sessions: Vec<String> = sizes.keys().cloned().collect();
        for (session, account) in store.session_accounts(&sessions).await? {
            if let Some(bytes) = sizes.remove(&session) {
                self.add(&account, bytes);
            }
        }
        counted.unowned = sizes.values().sum();
        Ok(counted)
    }
}

/// `10 GiB`, `512 MiB`, or bytes when not a whole MiB.
fn human_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * MIB;
    if n >= GIB && n.is_multiple_of(GIB) {
        format!("{} GiB", n / GIB)
    } else if n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_refused_at_the_limit_and_allowed_again_after_a_delete() {
        let usage = RecordingUsage::new(Some(1000));
        let budget = usage.budget("a").unwrap();
        assert!(budget.charge(600));
        assert_eq!(usage.used("a"), 600);
        assert!(!usage.budget("b").unwrap().is_exhausted(), "per account");
        usage.add("a", 400);
        let err = usage.budget("a").unwrap_err();
        assert!(
            err.starts_with("recording quota exceeded") && err.contains("1000 bytes"),
            "{err}"
        );
        usage.release("a", 1);
        assert!(usage.budget("a").is_ok());
        usage.release("a", 5000);
        assert_eq!(usage.used("a"), 0, "never below zero");
    }

    #[test]
    fn without_a_limit_bytes_are_counted_and_nothing_refused() {
        let usage = RecordingUsage::new(None);
        usage.add("a", u64::MAX / 2);
        let budget = usage.budget("a").unwrap();
        assert!(budget.charge(10));
        assert_eq!(usage.used("a"), u64::MAX / 2 + 10);
    }

    #[test]
    fn limits_read_as_whole_units() {
        assert_eq!(human_bytes(DEFAULT_RECORDING_QUOTA), "10 GiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3 MiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }

    #[tokio::test]
    async fn files_on_disk_are_charged_to_their_sessions_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open("sqlite::memory:").await.unwrap();
        let (account, _) = store.create_account("a").await.unwrap();
        let session = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        let (writer, _task) =
            dialtone_store::HistoryWriter::spawn(store.clone(), Default::default());
        writer
            .record_session(dialtone_store::SessionRecord {
                id: session.into(),
                account: account.id.clone(),
                application: None,
                rule: None,
                started_at: 1,
                ended_at: Some(2),
                status: dialtone_store::STATUS_ENDED.into(),
                error: None,
            })
            .unwrap();
        writer.flush().await.unwrap();
        std::fs::write(dir.path().join(format!("{session}-3.wav")), [0u8; 300]).unwrap();
        std::fs::write(dir.path().join(format!("{session}-4.mp3")), [0u8; 200]).unwrap();
        let stranger = "0190a1b2-c3d4-7e5f-8a9b-000000000000";
        std::fs::write(dir.path().join(format!("{stranger}-1.wav")), [0u8; 50]).unwrap();
        std::fs::write(dir.path().join("notes.txt"), [0u8; 70]).unwrap();
        let usage = RecordingUsage::new(Some(1 << 20));
        let counted = usage.count_existing(dir.path(), &store).await.unwrap();
        assert_eq!(
            counted,
            Counted {
                files: 3,
                bytes: 550,
                unowned: 50
            }
        );
        assert_eq!(usage.used(&account.id), 500);
    }
}
