//! Strict RTP latching: which source address an endpoint takes RTP from.
//!
//! Symmetric RTP has the endpoint learn where its peer really sends from (a
//! NAT rewrites the address in SDP), but learning from every packet lets
//! anyone who reaches the port take the call's media: one packet with the
//! right payload type and the caller is cut off. So, as Asterisk's
//! `strictrtp` and FreeSWITCH do:
//!
//! - the first source to send valid RTP of a negotiated payload type is
//!   latched (NAT traversal);
//! - from then on packets from any other source are foreign: dropped and
//!   counted, never decoded;
//! - another source takes over only once the latched one has been silent for
//!   `relatch_after` *and* the newcomer has sent [`RELATCH_RUN`] packets in a
//!   row with one SSRC and consecutive sequence numbers (a peer that moved,
//!   not a spray of forged or random packets);
//! - a new remote address in SDP (a re-INVITE) is trusted at once: it becomes
//!   the latched source, and its silence counts from that moment.
//!
//! Plain state with time passed in; the endpoint does the logging.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Consecutive packets a new source must send before it may take over.
pub const RELATCH_RUN: u8 = 4;
/// At most one warning about foreign packets per endpoint this often.
pub const FOREIGN_WARN_EVERY: Duration = Duration::from_secs(60);

/// What to do with one valid packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// From the latched source.
    Accept,
    /// `from` is the latched source from now on: the first valid packet, or a
    /// justified switch away from `before`. The packet is accepted.
    Latched { before: Option<SocketAddr> },
    /// From another source: drop it. `warn` is `Some(n)` when a warning is
    /// due, `n` being the foreign packets since the last one (this included).
    Foreign { warn: Option<u64> },
}

/// A source other than the latched one, and how consistently it has sent.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    from: SocketAddr,
    ssrc: u32,
    next_seq: u16,
    run: u8,
}

#[derive(Debug)]
pub struct Latch {
    relatch_after: Duration,
    source: Option<SocketAddr>,
    /// The last valid packet from `source`, or when it was trusted from SDP.
    heard: Option<Instant>,
    candidate: Option<Candidate>,
    foreign_unwarned: u64,
    warned_at: Option<Instant>,
}

impl Latch {
    pub fn new(relatch_after: Duration) -> Latch {
        Latch {
            relatch_after,
            source: None,
            heard: None,
            candidate: None,
            foreign_unwarned: 0,
            warned_at: None,
        }
    }

    /// The latched source, if any.
    pub fn source(&self) -> Option<SocketAddr> {
        self.source
    }

    /// The negotiated remote address changed (a re-INVITE): it is the source
    /// from now on, as if it had just sent.
    pub fn trust(&mut self, remote: SocketAddr, now: Instant) {
        self.source = Some(remote);
        self.heard = Some(now);
        self.candidate = None;
    }

    /// Judges one packet that parsed as RTP of a negotiated payload type.
    pub fn check(&mut self, from: SocketAddr, ssrc: u32, seq: u16, now: Instant) -> Verdict {
        let Some(source) = self.source else {
            self.latch(from, now);
            return Verdict::Latched { before: None };
        };
        if source == from {
            self.heard = Some(now);
            return Verdict::Accept;
        }
        let run = self.follow(from, ssrc, seq);
        let silent = self
            .heard
            .is_none_or(|t| now.saturating_duration_since(t) >= self.relatch_after);
        if silent && run >= RELATCH_RUN {
            self.latch(from, now);
            return Verdict::Latched {
                before: Some(source),
            };
        }
        self.foreign_unwarned += 1;
        let due = self
            .warned_at
            .is_none_or(|t| now.saturating_duration_since(t) >= FOREIGN_WARN_EVERY);
        if !due {
            return Verdict::Foreign { warn: None };
        }
        self.warned_at = Some(now);
        let n = std::mem::take(&mut self.foreign_unwarned);
        Verdict::Foreign { warn: Some(n) }
    }

    fn latch(&mut self, from: SocketAddr, now: Instant) {
        self.source = Some(from);
        self.heard = Some(now);
        self.candidate = None;
    }

    /// Adds a foreign packet to the candidate's run (or starts a new one) and
    /// returns the run's length.
    fn follow(&mut self, from: SocketAddr, ssrc: u32, seq: u16) -> u8 {
        let next_seq = seq.wrapping_add(1);
        match self.candidate.as_mut() {
            Some(c) if c.from == from && c.ssrc == ssrc && c.next_seq == seq => {
                c.run = c.run.saturating_add(1);
                c.next_seq = next_seq;
                c.run
            }
            _ => {
                self.candidate = Some(Candidate {
                    from,
                    ssrc,
                    next_seq,
                    run: 1,
                });
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    }

    struct Clock(Instant);
    impl Clock {
        fn at(&self, ms: u64) -> Instant {
            self.0 + Duration::from_millis(ms)
        }
    }

    #[test]
    fn first_source_latches_and_others_are_foreign() {
        let t = Clock(Instant::now());
        let mut l = Latch::new(Duration::from_secs(2));
        assert_eq!(
            l.check(addr(1), 7, 100, t.at(0)),
            Verdict::Latched { before: None }
        );
        assert_eq!(l.check(addr(1), 7, 101, t.at(20)), Verdict::Accept);
        assert_eq!(
            l.check(addr(2), 9, 5, t.at(30)),
            Verdict::Foreign { warn: Some(1) }
        );
        // A consistent run is not enough while the source keeps talking.
        for i in 1..20u16 {
            assert_eq!(
                l.check(addr(2), 9, 5 + i, t.at(30 + u64::from(i))),
                Verdict::Foreign { warn: None }
            );
            assert_eq!(
                l.check(addr(1), 7, 101 + i, t.at(30 + u64::from(i))),
                Verdict::Accept
            );
        }
        assert_eq!(l.source(), Some(addr(1)));
    }

    #[test]
    fn warnings_are_rate_limited_and_count_what_they_skipped() {
        let t = Clock(Instant::now());
        let mut l = Latch::new(Duration::from_secs(2));
        l.check(addr(1), 7, 0, t.at(0));
        let mut warned = Vec::new();
        // 100 packets a second for 150 s, one source talking all along.
        for i in 0..15_000u64 {
            l.check(addr(1), 7, i as u16, t.at(i * 10));
            if let Verdict::Foreign { warn: Some(n) } =
                l.check(addr(2), rand::random(), rand::random(), t.at(i * 10))
            {
                warned.push((i * 10, n));
            }
        }
        assert_eq!(warned, vec![(0, 1), (60_000, 6000), (120_000, 6000)]);
    }

    #[test]
    fn a_consistent_newcomer_takes_over_after_the_silence() {
        let t = Clock(Instant::now());
        let mut l = Latch::new(Duration::from_secs(2));
        l.check(addr(1), 7, 0, t.at(0));
        // Silent since 0 ms; at 1990 ms a newcomer's run is complete but too soon.
        for i in 0..4u16 {
            let v = l.check(addr(2), 9, 65_534u16.wrapping_add(i), t.at(1990));
            assert!(matches!(v, Verdict::Foreign { .. }), "{v:?}");
        }
        assert_eq!(
            l.check(addr(2), 9, 2, t.at(2000)),
            Verdict::Latched {
                before: Some(addr(1))
            },
            "a run across the sequence wrap, after 2 s of silence"
        );
        assert_eq!(l.source(), Some(addr(2)));
        assert!(matches!(
            l.check(addr(1), 7, 1, t.at(2010)),
            Verdict::Foreign { .. }
        ));
    }

    #[test]
    fn inconsistent_newcomers_never_take_over() {
        let t = Clock(Instant::now());
        let mut l = Latch::new(Duration::from_secs(2));
        l.check(addr(1), 7, 0, t.at(0));
        let mut at = 3000;
        let mut send = |l: &mut Latch, from: u16, ssrc: u32, seq: u16| {
            at += 1;
            let v = l.check(addr(from), ssrc, seq, t.at(at));
            assert!(matches!(v, Verdict::Foreign { .. }), "{v:?}");
        };
        for i in 0..1000u16 {
            // Consecutive sequence numbers, alternating SSRCs.
            send(&mut l, 2, 9 + u32::from(i % 2), i);
        }
        for i in 0..1000u16 {
            // One SSRC, every other sequence number.
            send(&mut l, 3, 11, i.wrapping_mul(2));
        }
        for _ in 0..1000 {
            // A spray of random SSRCs and sequence numbers.
            send(&mut l, 4, rand::random(), rand::random());
        }
        assert_eq!(l.source(), Some(addr(1)));
    }

    #[test]
    fn an_interrupted_run_starts_over() {
        let t = Clock(Instant::now());
        let mut l = Latch::new(Duration::ZERO);
        l.check(addr(1), 7, 0, t.at(0));
        for seq in [10, 11, 12] {
            l.check(addr(2), 9, seq, t.at(5));
        }
        // Another source in between resets the count.
        l.check(addr(3), 9, 13, t.at(5));
        assert!(matches!(
            l.check(addr(2), 9, 13, t.at(5)),
            Verdict::Foreign { .. }
        ));
        for seq in 14..16 {
            assert!(matches!(
                l.check(addr(2), 9, seq, t.at(5)),
                Verdict::Foreign { .. }
            ));
        }
        assert_eq!(
            l.check(addr(2), 9, 16, t.at(5)),
            Verdict::Latched {
                before: Some(addr(1))
            },
            "zero relatch time: a consistent run is enough"
        );
    }

    #[test]
    fn a_trusted_address_counts_as_just_heard() {
        let t = Clock(Instant::now());
        let mut l = Latch::new(Duration::from_secs(2));
        l.check(addr(1), 7, 0, t.at(0));
        l.trust(addr(5), t.at(10_000));
        assert_eq!(l.source(), Some(addr(5)));
        assert_eq!(l.check(addr(5), 3, 0, t.at(10_010)), Verdict::Accept);
        // The old stream trickles on: foreign, even as a consistent run.
        for i in 1..10u16 {
            assert!(matches!(
                l.check(addr(1), 7, i, t.at(10_020)),
                Verdict::Foreign { .. }
            ));
        }
        // The trusted address never sends again: after 2 s a consistent
        // source may take over.
        let mut l = Latch::new(Duration::from_secs(2));
        l.trust(addr(5), t.at(0));
        for i in 0..4u16 {
            assert!(matches!(
                l.check(addr(6), 1, i, t.at(1999)),
                Verdict::Foreign { .. }
            ));
        }
        assert_eq!(
            l.check(addr(6), 1, 4, t.at(2000)),
            Verdict::Latched {
                before: Some(addr(5))
            }
        );
    }
}
