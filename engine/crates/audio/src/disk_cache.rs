//! A directory of cached files bounded by total bytes, least recently used
//! out first: the download cache (`<hash>.body` + `<hash>.json` per URL) and
//! the TTS cache (`<hash>.s16` per request) are each one.
//!
//! Entries are written whole (a temporary file renamed into place) and read
//! whole, so a reader sees an old copy, a new copy or none, never a torn one.
//! Eviction unlinks files; a reader that already opened one reads it to the
//! end (unix unlink semantics), and a clip a player holds is decoded audio
//! in memory (`Arc<[i16]>`), which no file removal touches. Stores are
//! serialised, so the files on disk follow the bookkeeping: the bytes kept
//! never exceed the budget (plus the one temporary file being written).
//!
//! The directory survives restarts: opening it counts what a previous run
//! left (recency by modification time), evicts down to the budget and
//! removes temporary files a crash left behind.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use parking_lot::Mutex;

use crate::disk_lru::{Admit, ByteLru};
use crate::http::write_atomic;

/// What a cache holds now and has dropped since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskCacheStats {
    /// Bytes of the entries kept (all their files).
    pub bytes: u64,
    pub entries: usize,
    /// The configured limit of `bytes`.
    pub budget: u64,
    /// Entries removed to make room (at start-up too).
    pub evictions: u64,
}

/// How a [`DiskCache::store`] went.
#[derive(Debug)]
pub(crate) enum Stored {
    Kept,
    /// Larger than the whole budget: served, not kept.
    TooLarge,
    Failed(std::io::Error),
}

pub(crate) struct DiskCache {
    dir: PathBuf,
    /// The file suffixes of one entry, in the order they are written.
    suffixes: &'static [&'static str],
    lru: Mutex<ByteLru>,
    /// Held across a store's evictions and writes.
    writing: tokio::sync::Mutex<()>,
    evictions: AtomicU64,
}

impl DiskCache {
    /// Opens the cache in `dir` (which need not exist yet): counts the
    /// entries already there and evicts, oldest first, down to `budget`.
    pub(crate) fn open(dir: PathBuf, suffixes: &'static [&'static str], budget: u64) -> DiskCache {
        let cache = DiskCache {
            dir,
            suffixes,
            lru: Mutex::new(ByteLru::new(budget)),
            writing: tokio::sync::Mutex::new(()),
            evictions: AtomicU64::new(0),
        };
        cache.scan();
        cache
    }

    pub(crate) fn path(&self, key: &str, suffix: &str) -> PathBuf {
        self.dir.join(format!("{key}.{suffix}"))
    }

    /// Start-up: what a previous run left counts against the budget.
    fn scan(&self) {
        let Ok(listing) = std::fs::read_dir(&self.dir) else {
            return;
        };
        // Key to (bytes, newest modification).
        let mut found: std::collections::HashMap<String, (u64, SystemTime)> =
            std::collections::HashMap::new();
        for item in listing.flatten() {
            let path = item.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some((key, suffix)) = name.rsplit_once('.') else {
                continue;
            };
            let Ok(meta) = item.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            if suffix.starts_with("tmp") {
                // A write a crash interrupted; nobody renames it now.
                remove_quietly(&path);
                continue;
            }
            if !self.suffixes.contains(&suffix) || !is_key(key) {
                continue;
            }
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let entry = found
                .entry(key.to_owned())
                .or_insert((0, SystemTime::UNIX_EPOCH));
            entry.0 += meta.len();
            entry.1 = entry.1.max(modified);
        }
        let mut entries: Vec<(String, u64, SystemTime)> = found
            .into_iter()
            .map(|(key, (bytes, modified))| (key, bytes, modified))
            .collect();
        entries.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(&b.0)));
        let mut dropped = Vec::new();
        {
            let mut lru = self.lru.lock();
            for (key, bytes, _) in entries {
                match lru.insert(&key, bytes) {
                    Admit::Kept { evicted } => dropped.extend(evicted),
                    Admit::TooLarge => dropped.push(key),
                }
            }
        }
        self.evictions
            .fetch_add(dropped.len() as u64, Ordering::Relaxed);
        for key in &dropped {
            for suffix in self.suffixes {
                remove_quietly(&self.path(key, suffix));
            }
        }
        if !dropped.is_empty() {
            tracing::info!(
                dir = %self.dir.display(),
                evicted = dropped.len(),
                "cache was over its budget at start-up; least recently stored entries removed"
            );
        }
    }

    /// `key` was just read from disk: it is the last to go.
    pub(crate) fn touch(&self, key: &str) {
        self.lru.lock().touch(key);
    }

    /// Writes `files` (suffix, bytes) as the entry `key`, evicting the least
    /// recently used entries it needs room from. An entry larger than the
    /// whole budget is not written (and an older copy of it goes).
    pub(crate) async fn store(&self, key: &str, files: &[(&str, &[u8])]) -> Stored {
        let bytes: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
        let _writing = self.writing.lock().await;
        let admitted = self.lru.lock().insert(key, bytes);
        let evicted = match admitted {
            Admit::TooLarge => {
                self.remove_files(key).await;
                return Stored::TooLarge;
            }
            Admit::Kept { evicted } => evicted,
        };
        self.evictions
            .fetch_add(evicted.len() as u64, Ordering::Relaxed);
        for old in &evicted {
            self.remove_files(old).await;
        }
        let written = async {
            tokio::fs::create_dir_all(&self.dir).await?;
            for (suffix, body) in files {
                write_atomic(&self.path(key, suffix), body).await?;
            }
            Ok::<(), std::io::Error>(())
        }
        .await;
        match written {
            Ok(()) => Stored::Kept,
            Err(e) => {
                self.lru.lock().remove(key);
                self.remove_files(key).await;
                Stored::Failed(e)
            }
        }
    }

    async fn remove_files(&self, key: &str) {
        for suffix in self.suffixes {
            if let Err(e) = tokio::fs::remove_file(self.path(key, suffix)).await {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(key, error = %e, "cannot remove cache file");
                }
            }
        }
    }

    pub(crate) fn stats(&self) -> DiskCacheStats {
        let lru = self.lru.lock();
        DiskCacheStats {
            bytes: lru.total(),
            entries: lru.len(),
            budget: lru.budget(),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }
}

/// Cache keys are SHA-256 hex digests; anything else in the directory is
/// not ours to count or remove.
fn is_key(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn remove_quietly(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove cache file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const BODY: &[&str] = &["body", "json"];

    fn key(n: u8) -> String {
        format!("{n:064x}")
    }

    fn on_disk(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.metadata().unwrap().len())
            .sum()
    }

    #[tokio::test]
    async fn stores_evict_the_least_recently_used_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path().join("c"), BODY, 100);
        for n in [1, 2] {
            let stored = cache
                .store(&key(n), &[("body", &[0; 30]), ("json", &[0; 10])])
                .await;
            assert!(matches!(stored, Stored::Kept));
        }
        cache.touch(&key(1));
        cache
            .store(&key(3), &[("body", &[0; 30]), ("json", &[0; 10])])
            .await;
        assert!(cache.path(&key(1), "body").exists(), "recently used stays");
        assert!(!cache.path(&key(2), "body").exists());
        assert!(!cache.path(&key(2), "json").exists());
        let stats = cache.stats();
        assert_eq!((stats.bytes, stats.entries, stats.evictions), (80, 2, 1));
        assert_eq!(on_disk(&dir.path().join("c")), 80);

        // Too large for the whole budget: not written, nothing evicted.
        let stored = cache.store(&key(4), &[("body", &[0; 101])]).await;
        assert!(matches!(stored, Stored::TooLarge));
        assert!(!cache.path(&key(4), "body").exists());
        assert_eq!(cache.stats().entries, 2);
    }

    #[tokio::test]
    async fn a_file_open_for_reading_survives_its_eviction() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path().to_path_buf(), &["s16"], 10);
        cache.store(&key(1), &[("s16", b"0123456789")]).await;
        let mut reader = std::fs::File::open(cache.path(&key(1), "s16")).unwrap();
        cache.store(&key(2), &[("s16", b"abcdefghij")]).await;
        assert!(!cache.path(&key(1), "s16").exists());
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "0123456789");
    }

    #[test]
    fn opening_counts_what_is_there_and_evicts_the_oldest_down_to_budget() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        for (n, age) in [(1u8, 30u64), (2, 20), (3, 10)] {
            let path = dir.path().join(format!("{}.s16", key(n)));
            std::fs::write(&path, [0u8; 40]).unwrap();
            let file = std::fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(now - Duration::from_secs(age)).unwrap();
        }
        std::fs::write(dir.path().join(format!("{}.tmp77", key(9))), b"x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"operator's file").unwrap();
        let cache = DiskCache::open(dir.path().to_path_buf(), &["s16"], 100);
        let stats = cache.stats();
        assert_eq!((stats.bytes, stats.entries, stats.evictions), (80, 2, 1));
        assert!(
            !dir.path().join(format!("{}.s16", key(1))).exists(),
            "oldest"
        );
        assert!(dir.path().join(format!("{}.s16", key(2))).exists());
        assert!(dir.path().join(format!("{}.s16", key(3))).exists());
        assert!(!dir.path().join(format!("{}.tmp77", key(9))).exists());
        assert!(dir.path().join("notes.txt").exists(), "not ours to remove");

        // A smaller budget at the next start evicts more.
        let cache = DiskCache::open(dir.path().to_path_buf(), &["s16"], 40);
        assert_eq!(cache.stats().entries, 1);
        assert!(
            dir.path().join(format!("{}.s16", key(3))).exists(),
            "newest"
        );
    }
}
