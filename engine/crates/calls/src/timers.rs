//! The call core's own timers: one queue, polled by the driver.
//!
//! Timers are never withdrawn: one that fires for a call or unit that is
//! gone, or whose work was done another way, finds nothing to do.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use dialtone_core::CallId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// The next SIP INFO digit of a call is due.
    InfoDigit(CallId),
    /// An inbound call still unanswered gets 480.
    NoAnswer(CallId),
    /// A call whose RTP stopped (in this generation) is hung up.
    RtpSilence(CallId, u32),
    /// A connected call reached its maximum length.
    MaxDuration(CallId),
    /// The scenario's time to answer a re-INVITE is up.
    ReInviteAnswer(CallId),
    /// Our re-INVITE met glare; its back-off is over.
    ReInviteRetry(CallId),
    /// A trunk's registration is due for a refresh or a retry (in this
    /// generation).
    TrunkRegistration(u64, u32),
    /// An agent's phone has rung for the queue's ring time.
    AcdRing(CallId),
    /// An agent's after-call work is over (agent number, generation).
    AfterCallWork(u64, u32),
}

#[derive(Default)]
pub(crate) struct Timers {
    /// (deadline, insertion order, timer): same-instant timers fire in the
    /// order they were set.
    queue: BinaryHeap<Reverse<(Instant, u64, Timer)>>,
    seq: u64,
}

impl Timers {
    pub fn set(&mut self, at: Instant, timer: Timer) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, timer)));
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((at, _, _))| *at)
    }

    /// The earliest timer due at `now`, removed from the queue.
    pub fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        match self.queue.peek() {
            Some(Reverse((at, _, _))) if *at <= now => {
                self.queue.pop().map(|Reverse((_, _, timer))| timer)
            }
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fires_in_deadline_then_insertion_order() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.set(t0 + Duration::from_millis(20), Timer::InfoDigit(CallId(3)));
        timers.set(t0 + Duration::from_millis(10), Timer::InfoDigit(CallId(2)));
        timers.set(t0 + Duration::from_millis(10), Timer::InfoDigit(CallId(1)));
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(timers.pop_due(t0), None);
        let due: Vec<_> =
            std::iter::from_fn(|| timers.pop_due(t0 + Duration::from_millis(15))).collect();
        assert_eq!(
            due,
            vec![Timer::InfoDigit(CallId(2)), Timer::InfoDigit(CallId(1))]
        );
        assert_eq!(timers.len(), 1);
    }
}
