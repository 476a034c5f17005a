//! Decoded clips in memory: a least-recently-used set bounded by total
//! samples, plus the loads in flight so concurrent callers share one.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::OnceCell;

use crate::{AudioError, Clip};

type Pending = Arc<OnceCell<Result<Clip, AudioError>>>;

pub(crate) struct ClipCache {
    inner: Mutex<Inner>,
}

struct Inner {
    clips: HashMap<String, Entry>,
    inflight: HashMap<String, Pending>,
    total_samples: usize,
    max_samples: usize,
    tick: u64,
    evictions: u64,
}

struct Entry {
    clip: Clip,
    last_used: u64,
}

enum Lookup {
    Hit(Clip),
    Wait(Pending),
}

impl ClipCache {
    pub(crate) fn new(max_samples: usize) -> ClipCache {
        ClipCache {
            inner: Mutex::new(Inner {
                clips: HashMap::new(),
                inflight: HashMap::new(),
                total_samples: 0,
                max_samples,
                tick: 0,
                evictions: 0,
            }),
        }
    }

    /// Returns the cached clip, or joins (or starts) the one load of `key`.
    /// If the caller running `load` is cancelled, another waiter takes over.
    pub(crate) async fn get_or_load<F, Fut>(
        &self,
        key: &str,
        hits: &AtomicU64,
        load: F,
    ) -> Result<Clip, AudioError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Clip, AudioError>>,
    {
        let pending = match self.lookup(key) {
            Lookup::Hit(clip) => {
                hits.fetch_add(1, Ordering::Relaxed);
                return Ok(clip);
            }
            Lookup::Wait(p) => p,
        };
        let result = pending.get_or_init(load).await.clone();
        self.complete(key, &pending, &result);
        result
    }

    fn lookup(&self, key: &str) -> Lookup {
        let mut inner = self.inner.lock();
        inner.tick += 1;
        let tick = inner.tick;
        if let Some(e) = inner.clips.get_mut(key) {
            e.last_used = tick;
            return Lookup::Hit(e.clip.clone());
        }
        let pending = inner.inflight.entry(key.to_string()).or_default();
        Lookup::Wait(pending.clone())
    }

    /// Moves a finished load into the LRU; failures are not remembered, so
    /// the next caller tries again.
    fn complete(&self, key: &str, pending: &Pending, result: &Result<Clip, AudioError>) {
        let mut inner = self.inner.lock();
        let ours = inner
            .inflight
            .get(key)
            .is_some_and(|p| Arc::ptr_eq(p, pending));
        if !ours {
            return;
        }
        inner.inflight.remove(key);
        if let Ok(clip) = result {
            inner.insert(key, clip.clone());
        }
    }

    /// Drops every cached clip (clips in use stay alive through their `Arc`).
    pub(crate) fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.clips.clear();
        inner.total_samples = 0;
    }

    pub(crate) fn usage(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        (inner.clips.len(), inner.total_samples)
    }

    /// Clips dropped to make room since the cache was made.
    pub(crate) fn evictions(&self) -> u64 {
        self.inner.lock().evictions
    }
}

impl Inner {
    fn insert(&mut self, key: &str, clip: Clip) {
        if clip.len() > self.max_samples {
            return;
        }
        self.tick += 1;
        let len = clip.len();
        if let Some(old) = self.clips.insert(
            key.to_string(),
            Entry {
                clip,
                last_used: self.tick,
            },
        ) {
            self.total_samples -= old.clip.len();
        }
        self.total_samples += len;
        while self.total_samples > self.max_samples {
            // Linear scan: eviction is rare and the set holds few prompts.
            let oldest = self
                .clips
                .iter()
                .filter(|(k, _)| k.as_str() != key)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone());
            let Some(oldest) = oldest else { break };
            if let Some(e) = self.clips.remove(&oldest) {
                self.total_samples -= e.clip.len();
                self.evictions += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(n: usize) -> Clip {
        vec![0i16; n].into()
    }

    #[tokio::test]
    async fn evicts_least_recently_used_by_samples() {
        let cache = ClipCache::new(100);
        let hits = AtomicU64::new(0);
        for k in ["a", "b"] {
            cache
                .get_or_load(k, &hits, || async { Ok(clip(40)) })
                .await
                .unwrap();
        }
        // Touch "a" so "b" is the oldest.
        cache
            .get_or_load("a", &hits, || async { Ok(clip(1)) })
            .await
            .unwrap();
        cache
            .get_or_load("c", &hits, || async { Ok(clip(40)) })
            .await
            .unwrap();
        assert_eq!(cache.usage(), (2, 80));
        let a = cache
            .get_or_load("a", &hits, || async { Ok(clip(1)) })
            .await
            .unwrap();
        assert_eq!(a.len(), 40);
        let b = cache
            .get_or_load("b", &hits, || async { Ok(clip(7)) })
            .await
            .unwrap();
        assert_eq!(b.len(), 7);
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let cache = ClipCache::new(100);
        let hits = AtomicU64::new(0);
        let r = cache
            .get_or_load("x", &hits, || async { Err(AudioError::Timeout) })
            .await;
        assert_eq!(r, Err(AudioError::Timeout));
        let r = cache
            .get_or_load("x", &hits, || async { Ok(clip(3)) })
            .await;
        assert_eq!(r.unwrap().len(), 3);
    }
}
