//! The bookkeeping of a byte-bounded cache, without any I/O: which entries
//! are kept, how many bytes they hold, and which go, least recently used
//! first, when a new one needs room. [`crate::disk_cache`] does the file
//! work it decides.

use std::collections::{BTreeMap, HashMap};

/// Keys with their sizes and recency, the total never above the budget.
#[derive(Debug)]
pub(crate) struct ByteLru {
    /// Key to (bytes, tick of last use).
    entries: HashMap<String, (u64, u64)>,
    /// Tick of last use to key: the first entry is the least recently used.
    by_use: BTreeMap<u64, String>,
    total: u64,
    budget: u64,
    tick: u64,
}

/// What [`ByteLru::insert`] decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Kept; these keys were dropped to make room (least recently used
    /// first) and their files must go.
    Kept { evicted: Vec<String> },
    /// Larger than the whole budget: not kept (the caller serves it without
    /// storing it). A previous entry of the key is dropped, since its
    /// content is stale.
    TooLarge,
}

impl ByteLru {
    pub(crate) fn new(budget: u64) -> ByteLru {
        ByteLru {
            entries: HashMap::new(),
            by_use: BTreeMap::new(),
            total: 0,
            budget,
            tick: 0,
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// Marks `key` as just used; false if it is not kept.
    pub(crate) fn touch(&mut self, key: &str) -> bool {
        let tick = self.next_tick();
        let Some((_, used)) = self.entries.get_mut(key) else {
            return false;
        };
        let old = std::mem::replace(used, tick);
        if let Some(k) = self.by_use.remove(&old) {
            self.by_use.insert(tick, k);
        }
        true
    }

    /// Keeps `key` with `bytes` (replacing what it held) as the most
    /// recently used entry, evicting others until the total fits.
    pub(crate) fn insert(&mut self, key: &str, bytes: u64) -> Admit {
        self.remove(key);
        if bytes > self.budget {
            return Admit::TooLarge;
        }
        let mut evicted = Vec::new();
        while self.total + bytes > self.budget {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            if let Some((size, _)) = self.entries.remove(&oldest) {
                self.total -= size;
            }
            evicted.push(oldest);
        }
        let tick = self.next_tick();
        self.entries.insert(key.to_owned(), (bytes, tick));
        self.by_use.insert(tick, key.to_owned());
        self.total += bytes;
        Admit::Kept { evicted }
    }

    /// Forgets `key`; true if it was kept.
    pub(crate) fn remove(&mut self, key: &str) -> bool {
        let Some((size, used)) = self.entries.remove(key) else {
            return false;
        };
        self.by_use.remove(&used);
        self.total -= size;
        true
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn budget(&self) -> u64 {
        self.budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(evicted: &[&str]) -> Admit {
        Admit::Kept {
            evicted: evicted.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn past_the_budget_the_least_recently_used_goes_first() {
        let mut lru = ByteLru::new(100);
        assert_eq!(lru.insert("a", 40), kept(&[]));
        assert_eq!(lru.insert("b", 40), kept(&[]));
        assert_eq!(lru.insert("c", 40), kept(&["a"]));
        assert!(!lru.contains("a"));
        assert_eq!((lru.len(), lru.total()), (2, 80));
    }

    #[test]
    fn a_recently_used_entry_survives() {
        let mut lru = ByteLru::new(100);
        lru.insert("a", 40);
        lru.insert("b", 40);
        assert!(lru.touch("a"));
        assert_eq!(lru.insert("c", 40), kept(&["b"]));
        assert!(lru.contains("a") && lru.contains("c"));
        assert!(!lru.touch("b"), "an evicted entry is gone");
    }

    #[test]
    fn an_entry_larger_than_the_budget_is_not_kept_and_evicts_nothing() {
        let mut lru = ByteLru::new(100);
        lru.insert("a", 60);
        assert_eq!(lru.insert("huge", 101), Admit::TooLarge);
        assert!(lru.contains("a") && !lru.contains("huge"));
        assert_eq!(lru.total(), 60);
        // Exactly the budget fits, after everything else went.
        assert_eq!(lru.insert("full", 100), kept(&["a"]));
        assert_eq!(lru.total(), 100);
    }

    #[test]
    fn replacing_a_key_counts_its_new_size_once() {
        let mut lru = ByteLru::new(100);
        lru.insert("a", 30);
        lru.insert("b", 30);
        assert_eq!(lru.insert("a", 70), kept(&[]), "30 + 70 fits");
        assert_eq!((lru.len(), lru.total()), (2, 100));
        assert_eq!(lru.insert("a", 71), kept(&["b"]));
        assert_eq!((lru.len(), lru.total()), (1, 71));
        // A replacement too large drops the stale copy.
        assert_eq!(lru.insert("a", 500), Admit::TooLarge);
        assert_eq!((lru.len(), lru.total()), (0, 0));
    }

    #[test]
    fn a_zero_budget_keeps_nothing() {
        let mut lru = ByteLru::new(0);
        assert_eq!(lru.insert("a", 1), Admit::TooLarge);
        assert_eq!(lru.insert("empty", 0), kept(&[]));
        assert_eq!(lru.total(), 0);
    }

    #[test]
    fn the_total_never_exceeds_the_budget() {
        // A deterministic mix of inserts, touches and removals.
        let mut lru = ByteLru::new(1000);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..10_000 {
            let key = format!("k{}", next() % 64);
            match next() % 4 {
                0 | 1 => {
                    let size = next() % 1200;
                    let admitted = lru.insert(&key, size);
                    assert_eq!(admitted == Admit::TooLarge, size > 1000);
                    if let Admit::Kept { evicted } = admitted {
                        assert!(!evicted.contains(&key));
                        assert!(evicted.iter().all(|k| !lru.contains(k)));
                    }
                }
                2 => {
                    lru.touch(&key);
                }
                _ => {
                    lru.remove(&key);
                }
            }
            assert!(lru.total() <= lru.budget());
            let sum: u64 = lru.entries.values().map(|(size, _)| size).sum();
            assert_eq!(sum, lru.total());
            assert_eq!(lru.by_use.len(), lru.entries.len());
        }
    }
}
