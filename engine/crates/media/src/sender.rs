//! Send-side RTP state of one endpoint.
//!
//! The RTP timestamp is derived from the media worker's tick counter rather than
//! counted per sent packet, so it keeps advancing through ticks where nothing
//! is sent (silence, no input, a late worker that skipped ticks) and the remote
//! sees a clock that matches wall time.

use crate::codec::FRAME_SAMPLES;

/// Header fields for one outgoing packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpStamp {
    pub ssrc: u32,
    pub sequence: u16,
    pub timestamp: u32,
    /// First packet of a talkspurt (RFC 3551 §4.1).
    pub marker: bool,
}

#[derive(Debug, Clone)]
pub struct RtpSender {
    ssrc: u32,
    next_seq: u16,
    ts_base: u32,
    /// Tick of the last packet sent, to tell a talkspurt start.
    last_sent: Option<u64>,
}

impl RtpSender {
    pub fn new(ssrc: u32, first_seq: u16, ts_base: u32) -> RtpSender {
        RtpSender {
            ssrc,
            next_seq: first_seq,
            ts_base,
            last_sent: None,
        }
    }

    /// Random SSRC, initial sequence number and timestamp (RFC 3550 §5.1).
    pub fn random() -> RtpSender {
        RtpSender::new(rand::random(), rand::random(), rand::random())
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Stamps the packet sent on media tick `tick` (one per tick at most).
    pub fn stamp(&mut self, tick: u64) -> RtpStamp {
        let marker = match self.last_sent {
            Some(prev) => tick != prev.wrapping_add(1),
            None => true,
        };
        let stamp = RtpStamp {
            ssrc: self.ssrc,
            sequence: self.next_seq,
            timestamp: self.timestamp_at(tick),
            marker,
        };
        self.next_seq = self.next_seq.wrapping_add(1);
        self.last_sent = Some(tick);
        stamp
    }

    /// Header fields for a packet whose timestamp the caller chooses (an
    /// RFC 4733 event keeps its start timestamp): the sequence number comes
    /// from the same space as audio packets.
    pub fn stamp_fixed(&mut self, tick: u64, timestamp: u32, marker: bool) -> RtpStamp {
        let stamp = RtpStamp {
            ssrc: self.ssrc,
            sequence: self.next_seq,
            timestamp,
            marker,
        };
        self.next_seq = self.next_seq.wrapping_add(1);
        self.last_sent = Some(tick);
        stamp
    }

    /// The media timestamp tick `tick` corresponds to.
    pub fn timestamp_at(&self, tick: u64) -> u32 {
        self.ts_base
            .wrapping_add((tick as u32).wrapping_mul(FRAME_SAMPLES as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_and_timestamp_advance_through_silence() {
        let mut s = RtpSender::new(9, 65_534, u32::MAX - 200);
        let a = s.stamp(10);
        assert!(a.marker);
        assert_eq!(a.sequence, 65_534);
        let b = s.stamp(11);
        assert!(!b.marker);
        assert_eq!(b.sequence, 65_535);
        assert_eq!(b.timestamp, a.timestamp.wrapping_add(160));
        // Ticks 12..=14 are silent: nothing sent, the clock keeps going.
        let c = s.stamp(15);
        assert!(c.marker, "first packet after a gap starts a talkspurt");
        assert_eq!(c.sequence, 0, "sequence counts packets, wraps");
        assert_eq!(c.timestamp, a.timestamp.wrapping_add(5 * 160));
        let d = s.stamp(16);
        assert!(!d.marker);
        assert_eq!(d.ssrc, 9);
    }

    #[test]
    fn random_senders_differ() {
        let a = RtpSender::random();
        let b = RtpSender::random();
        // 2^-96 chance of a false failure.
        assert!(a.ssrc != b.ssrc || a.next_seq != b.next_seq || a.ts_base != b.ts_base);
    }
}
