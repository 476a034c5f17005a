//! `ApplicationStorage`: a key-value store per application, with a time to
//! live on every key. The requests a session makes and their answers, the
//! limits VoxEngine documents, and an in-memory store (`dialtone run`,
//! `dialtone test`); `dialtone serve` keeps it in its database.

use std::collections::BTreeMap;

/// Longest key, in characters.
pub const MAX_KEY_CHARS: usize = 200;
/// Longest value, in characters.
pub const MAX_VALUE_CHARS: usize = 2000;
/// Longest time to live, seconds (90 days).
pub const MAX_TTL_SECS: u64 = 7_776_000;
/// Time to live when none (or 0) is given, seconds (30 days).
pub const DEFAULT_TTL_SECS: u64 = 2_592_000;
/// Keys `keys()` returns at most per call, and by default.
pub const MAX_KEYS_PAGE: usize = 1000;
/// Keys one application may hold; a put of a new key past it fails.
pub const MAX_KEYS_PER_APPLICATION: usize = 100_000;

/// Whose storage: an application of an account (both empty for sessions of
/// no account).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorageScope {
    pub account: String,
    pub application: String,
}

/// One request of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageOp {
    Get {
        key: String,
    },
    /// `ttl_secs` already checked and defaulted.
    Put {
        key: String,
        value: String,
        ttl_secs: u64,
    },
    Delete {
        key: String,
    },
    /// Keys that start with `pattern` (all when empty), sorted, at most `count`.
    Keys {
        pattern: String,
        count: usize,
    },
}

/// A stored pair (VoxEngine's `StorageKey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageItem {
    pub key: String,
    pub value: String,
    /// When it expires, seconds since the Unix epoch.
    pub expire_at: i64,
}

/// The answer to a [`StorageOp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageReply {
    /// `get`, `put` and `delete`: the pair (`None`: there was none).
    Item(Option<StorageItem>),
    Keys(Vec<String>),
}

/// Checks a key as `put`, `get` and `delete` take it.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the key is empty".into());
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(format!("the key is longer than {MAX_KEY_CHARS} characters"));
    }
    Ok(())
}

/// Checks a value as `put` takes it.
pub fn check_value(value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(format!(
            "the value is longer than {MAX_VALUE_CHARS} characters"
        ));
    }
    Ok(())
}

/// The in-memory store: every scope's pairs, with their expiry.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    scopes: BTreeMap<StorageScope, BTreeMap<String, (String, i64)>>,
}

impl MemoryStorage {
    /// Runs `op` for `scope` at `now_secs` (seconds since the Unix epoch).
    pub fn run(
        &mut self,
        scope: &StorageScope,
        op: StorageOp,
        now_secs: i64,
    ) -> Result<StorageReply, String> {
        let pairs = self.scopes.entry(scope.clone()).or_default();
        pairs.retain(|_, (_, expire_at)| *expire_at > now_secs);
        let item = |key: &str, (value, expire_at): &(String, i64)| StorageItem {
            key: key.to_string(),
            value: value.clone(),
            expire_at: *expire_at,
        };
        Ok(match op {
            StorageOp::Get { key } => StorageReply::Item(pairs.get(&key).map(|p| item(&key, p))),
            StorageOp::Put {
                key,
                value,
                ttl_secs,
            } => {
                if !pairs.contains_key(&key) && pairs.len() >= MAX_KEYS_PER_APPLICATION {
                    return Err(format!(
                        "the application already holds {MAX_KEYS_PER_APPLICATION} keys"
                    ));
                }
                let stored = (value, now_secs.saturating_add(ttl_secs as i64));
                let reply = item(&key, &stored);
                pairs.insert(key, stored);
                StorageReply::Item(Some(reply))
            }
            StorageOp::Delete { key } => {
                StorageReply::Item(pairs.remove(&key).map(|p| item(&key, &p)))
            }
            StorageOp::Keys { pattern, count } => StorageReply::Keys(
                pairs
                    .keys()
                    .filter(|k| k.starts_with(&pattern))
                    .take(count.min(MAX_KEYS_PAGE))
                    .cloned()
                    .collect(),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_live_until_their_ttl_and_stay_in_their_scope() {
        let mut s = MemoryStorage::default();
        let a = StorageScope {
            account: "a".into(),
            application: "x".into(),
        };
        let b = StorageScope {
            account: "b".into(),
            application: "x".into(),
        };
        let put = |k: &str, v: &str, ttl| StorageOp::Put {
            key: k.into(),
            value: v.into(),
            ttl_secs: ttl,
        };
        let get = |k: &str| StorageOp::Get { key: k.into() };
        s.run(&a, put("mask:1", "555", 60), 1000).unwrap();
        s.run(&a, put("mask:2", "556", 10), 1000).unwrap();
        s.run(&a, put("other", "x", 60), 1000).unwrap();
        assert_eq!(
            s.run(&a, get("mask:1"), 1002).unwrap(),
            StorageReply::Item(Some(StorageItem {
                key: "mask:1".into(),
                value: "555".into(),
                expire_at: 1060
            }))
        );
        assert_eq!(
            s.run(&b, get("mask:1"), 1001).unwrap(),
            StorageReply::Item(None)
        );
        let keys = |s: &mut MemoryStorage, at| {
            s.run(
                &a,
                StorageOp::Keys {
                    pattern: "mask".into(),
                    count: 1000,
                },
                at,
            )
            .unwrap()
        };
        assert_eq!(
            keys(&mut s, 1005),
            StorageReply::Keys(vec!["mask:1".into(), "mask:2".into()])
        );
        assert_eq!(
            keys(&mut s, 1010),
            StorageReply::Keys(vec!["mask:1".into()])
        );
        let gone = s
            .run(
                &a,
                StorageOp::Delete {
                    key: "mask:1".into(),
                },
                1011,
            )
            .unwrap();
        assert!(matches!(gone, StorageReply::Item(Some(i)) if i.value == "555"));
        assert_eq!(
            s.run(&a, get("mask:1"), 1012).unwrap(),
            StorageReply::Item(None)
        );
        assert!(check_key("").is_err() && check_key(&"k".repeat(201)).is_err());
        assert!(check_value(&"v".repeat(2001)).is_err() && check_value("").is_ok());
    }
}
