//! RTP sequence number bookkeeping for one received stream: extended (wrap-free)
//! numbers, a 64-packet history to recognise duplicates, and RFC 3550
//! cumulative loss (expected minus received), carried across restarts.

/// Sequence distance beyond which the history starts afresh.
const SEQ_JUMP: i64 = 1000;

/// Extended sequence numbers and the last 64 seen, for duplicates and loss.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeqTracker {
    started: bool,
    base: i64,
    highest: i64,
    history: u64,
    received: u64,
    lost_before: u64,
}

pub enum SeqVerdict {
    New,
    Duplicate,
}

impl SeqTracker {
    pub fn extend(&self, seq: u16) -> i64 {
        let diff = i64::from(seq.wrapping_sub(self.highest as u16) as i16);
        self.highest + diff
    }

    pub fn lost(&self) -> u64 {
        if !self.started {
            return self.lost_before;
        }
        let expected = (self.highest - self.base + 1).max(0) as u64;
        self.lost_before + expected.saturating_sub(self.received)
    }

    pub fn restart(&mut self, seq: u16) {
        self.lost_before = self.lost();
        self.started = true;
        self.base = 1 << 20 | i64::from(seq);
        self.highest = self.base;
        self.history = 1;
        self.received = 1;
    }

    pub fn update(&mut self, seq: u16) -> SeqVerdict {
        if !self.started {
            self.restart(seq);
            return SeqVerdict::New;
        }
        let ext = self.extend(seq);
        let ahead = ext - self.highest;
        if ahead.abs() > SEQ_JUMP {
            self.restart(seq);
            return SeqVerdict::New;
        }
        if ahead > 0 {
            self.history = if ahead >= 64 {
                0
            } else {
                self.history << ahead
            };
            self.history |= 1;
            self.highest = ext;
        } else {
            let back = -ahead;
            if back < 64 {
                if self.history & (1 << back) != 0 {
                    return SeqVerdict::Duplicate;
                }
                self.history |= 1 << back;
            }
            if ext < self.base {
                self.base = ext;
            }
        }
        self.received += 1;
        SeqVerdict::New
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(t: &mut SeqTracker, seqs: &[u16]) -> usize {
        seqs.iter()
            .filter(|&&s| matches!(t.update(s), SeqVerdict::Duplicate))
            .count()
    }

    #[test]
    fn counts_loss_across_wrap() {
        let mut t = SeqTracker::default();
        assert_eq!(t.lost(), 0);
        let seqs: Vec<u16> = (65_530..=65_535).chain(0..10).filter(|s| *s != 2).collect();
        assert_eq!(feed(&mut t, &seqs), 0);
        assert_eq!(t.lost(), 1);
    }

    #[test]
    fn recognises_duplicates_and_late_fills() {
        let mut t = SeqTracker::default();
        assert_eq!(feed(&mut t, &[10, 11, 13, 11, 12, 13, 10]), 3);
        assert_eq!(t.lost(), 0);
    }

    #[test]
    fn big_jump_restarts_but_keeps_loss() {
        let mut t = SeqTracker::default();
        feed(&mut t, &[1, 2, 4]);
        assert_eq!(t.lost(), 1);
        feed(&mut t, &[30_000, 30_001, 30_003]);
        assert_eq!(t.lost(), 2);
    }
}
