//! One ordered queue of wake-ups for all transactions and legs, so `poll_timeout`
//! is O(1) however many calls are up. Entries are never removed early: a stale
//! one only causes a wake-up that finds nothing due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use super::tx_table::TxId;
use super::types::LegId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Wake {
    Tx(TxId),
    Leg(LegId),
}

#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<(Instant, Wake)>>,
}

impl TimerQueue {
    pub fn push(&mut self, at: Instant, wake: Wake) {
        self.heap.push(Reverse((at, wake)));
    }

    pub fn peek(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, Wake)> {
        if self.peek()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse(entry)| entry)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }
}
