//! Call statistics and RTCP (RFC 3550 §6): what an endpoint measures of the
//! stream it receives (packets, loss, interarrival jitter), the sender and
//! receiver reports it exchanges with the peer on the odd port next to its
//! RTP port, and the round-trip time those reports give.
//!
//! Plain state with times passed in; the endpoint owns the socket. Only
//! endpoints whose call asked for statistics (`CallEvents.Statistics` has a
//! listener) keep this state, bind the RTCP port and pay for it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds from 1900 (NTP's epoch) to 1970.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// RTP clock of every codec the endpoint speaks.
const CLOCK_HZ: f64 = 8_000.0;

const PT_SR: u8 = 200;
const PT_RR: u8 = 201;

/// What one report says (the event's figures), in whole units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallStats {
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Packets never received since the stream began (by sequence number).
    pub packets_lost: u64,
    /// Share of the packets expected since the last report that were lost,
    /// in parts per million.
    pub loss_ppm: u32,
    /// Interarrival jitter of what we receive, in µs.
    pub jitter_us: u32,
    /// Round-trip time from the peer's last report on our stream, in µs.
    pub rtt_us: Option<u32>,
    /// What the peer's last report says of our stream: loss (ppm) and
    /// jitter (µs).
    pub remote_loss_ppm: Option<u32>,
    pub remote_jitter_us: Option<u32>,
}

/// A wall-clock time as a 64-bit NTP timestamp.
pub fn ntp(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() + NTP_UNIX_OFFSET;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// The middle 32 bits of an NTP timestamp (LSR, and "now" for RTT).
fn middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// Receive side of the statistics, fed by every audio packet.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    received: u64,
    base_seq: Option<u16>,
    /// Highest sequence number seen, extended with its wrap count.
    max_ext: u32,
    /// Expected and received at the last report (for the interval's loss).
    expected_prior: u32,
    received_prior: u64,
    /// Interarrival jitter in RTP timestamp units, ×16 (RFC 3550 A.8).
    jitter16: u32,
    /// Transit time of the previous packet, in timestamp units.
    last_transit: Option<i64>,
    peer_ssrc: u32,
    /// The peer's last SR: its NTP middle bits and when we got it.
    peer_sr: Option<(u32, SystemTime)>,
    rtt: Option<Duration>,
    remote_loss: Option<u32>,
    remote_jitter: Option<u32>,
}

impl Stats {
    pub fn new() -> Stats {
        Stats::default()
    }

    /// One audio packet: `arrival` is when the kernel got it.
    pub fn on_packet(&mut self, ssrc: u32, seq: u16, timestamp: u32, arrival: SystemTime) {
        self.peer_ssrc = ssrc;
        self.received += 1;
        match self.base_seq {
            None => {
                self.base_seq = Some(seq);
                self.max_ext = u32::from(seq);
            }
            Some(_) => {
                let max = self.max_ext as u16;
                let delta = seq.wrapping_sub(max);
                if delta != 0 && delta < 0x8000 {
                    let mut cycles = self.max_ext & 0xFFFF_0000;
                    if seq < max {
                        cycles = cycles.wrapping_add(0x1_0000);
                    }
                    self.max_ext = cycles | u32::from(seq);
                }
            }
        }
        let at = arrival.duration_since(UNIX_EPOCH).unwrap_or_default();
        let arrival_units = (at.as_secs_f64() * CLOCK_HZ) as i64;
        let transit = arrival_units - i64::from(timestamp);
        if let Some(last) = self.last_transit {
            let d = (transit - last)
                .unsigned_abs()
                .min(u64::from(u32::MAX / 16)) as u32;
            // J += (|D| - J) / 16, kept ×16 for precision.
            let j = self.jitter16;
            self.jitter16 = j.wrapping_add(d).wrapping_sub((j + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    fn expected(&self) -> u32 {
        match self.base_seq {
            Some(base) => self.max_ext.wrapping_sub(u32::from(base)).wrapping_add(1),
            None => 0,
        }
    }

    /// Packets expected and lost since the last report.
    fn interval(&self) -> (u32, u64) {
        let expected = self.expected().wrapping_sub(self.expected_prior);
        let received = self.received.saturating_sub(self.received_prior);
        (expected, u64::from(expected).saturating_sub(received))
    }

    pub fn lost(&self) -> u64 {
        u64::from(self.expected()).saturating_sub(self.received)
    }

    pub fn jitter_ms(&self) -> f64 {
        f64::from(self.jitter16) / 16.0 / CLOCK_HZ * 1000.0
    }

    /// The figures for a report, and the interval's loss (which moves the
    /// interval on).
    pub fn report(&mut self, packets_sent: u64) -> CallStats {
        let (expected_interval, lost_interval) = self.interval();
        self.expected_prior = self.expected();
        self.received_prior = self.received;
        CallStats {
            packets_sent,
            packets_received: self.received,
            packets_lost: self.lost(),
            loss_ppm: if expected_interval == 0 {
                0
            } else {
                (lost_interval * 1_000_000 / u64::from(expected_interval)).min(1_000_000) as u32
            },
            jitter_us: (self.jitter_ms() * 1000.0) as u32,
            rtt_us: self
                .rtt
                .map(|d| d.as_micros().min(u128::from(u32::MAX)) as u32),
            remote_loss_ppm: self.remote_loss,
            remote_jitter_us: self.remote_jitter,
        }
    }

    /// Our sender report (or a receiver report when we have sent nothing),
    /// with one report block on the peer's stream when there is one.
    pub fn build_report(
        &self,
        our_ssrc: u32,
        now: SystemTime,
        rtp_timestamp: u32,
        packets_sent: u64,
        octets_sent: u64,
        out: &mut Vec<u8>,
    ) {
        out.clear();
        let blocks = u8::from(self.base_seq.is_some());
        let sender = packets_sent > 0;
        let words = 1 + if sender { 5 } else { 0 } + 6 * usize::from(blocks);
        out.push(0x80 | blocks);
        out.push(if sender { PT_SR } else { PT_RR });
        out.extend_from_slice(&(words as u16).to_be_bytes());
        out.extend_from_slice(&our_ssrc.to_be_bytes());
        if sender {
            out.extend_from_slice(&ntp(now).to_be_bytes());
            out.extend_from_slice(&rtp_timestamp.to_be_bytes());
            out.extend_from_slice(&(packets_sent as u32).to_be_bytes());
            out.extend_from_slice(&(octets_sent as u32).to_be_bytes());
        }
        if blocks == 1 {
            let (expected_interval, lost_interval) = self.interval();
            let fraction = if expected_interval == 0 {
                0
            } else {
                ((lost_interval << 8) / u64::from(expected_interval)).min(255) as u8
            };
            let cumulative = self.lost().min(0x7F_FFFF) as u32;
            out.extend_from_slice(&self.peer_ssrc.to_be_bytes());
            out.push(fraction);
            out.extend_from_slice(&cumulative.to_be_bytes()[1..]);
            out.extend_from_slice(&self.max_ext.to_be_bytes());
            out.extend_from_slice(&(self.jitter16 >> 4).to_be_bytes());
            let (lsr, dlsr) = match self.peer_sr {
                Some((lsr, at)) => {
                    let held = now.duration_since(at).unwrap_or_default();
                    (lsr, (held.as_secs_f64() * 65_536.0) as u32)
                }
                None => (0, 0),
            };
            out.extend_from_slice(&lsr.to_be_bytes());
            out.extend_from_slice(&dlsr.to_be_bytes());
        }
    }

    /// A compound RTCP packet from the peer: its SR's time (for our next
    /// report) and what its report blocks say of `our_ssrc`'s stream, with
    /// the round-trip time they give. Malformed parts are skipped.
    pub fn on_rtcp(&mut self, data: &[u8], our_ssrc: u32, now: SystemTime) {
        let mut rest = data;
        while rest.len() >= 8 {
            let (first, pt) = (rest[0], rest[1]);
            let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
            if first >> 6 != 2 || len > rest.len() {
                return;
            }
            let (packet, next) = rest.split_at(len);
            rest = next;
            let count = usize::from(first & 0x1F);
            let blocks = match pt {
                PT_SR if packet.len() >= 28 => {
                    let ntp_ts = u64::from_be_bytes(packet[8..16].try_into().unwrap_or([0; 8]));
                    self.peer_sr = Some((middle(ntp_ts), now));
                    &packet[28..]
                }
                PT_RR if packet.len() >= 8 => &packet[8..],
                _ => continue,
            };
            for block in blocks.chunks_exact(24).take(count) {
                let ssrc = u32::from_be_bytes(block[0..4].try_into().unwrap_or([0; 4]));
                if ssrc != our_ssrc {
                    continue;
                }
                self.remote_loss = Some(u32::from(block[4]) * 1_000_000 / 256);
                let jitter = u32::from_be_bytes(block[12..16].try_into().unwrap_or([0; 4]));
                self.remote_jitter = Some((f64::from(jitter) / CLOCK_HZ * 1e6) as u32);
                let lsr = u32::from_be_bytes(block[16..20].try_into().unwrap_or([0; 4]));
                let dlsr = u32::from_be_bytes(block[20..24].try_into().unwrap_or([0; 4]));
                if lsr != 0 {
                    let a = middle(ntp(now));
                    let rtt = a.wrapping_sub(lsr).wrapping_sub(dlsr);
                    // Above 2^31 units (9 hours) it wrapped: a bad report.
                    if rtt < 0x8000_0000 {
                        self.rtt = Some(Duration::from_secs_f64(f64::from(rtt) / 65_536.0));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "rtcp_tests.rs"]
mod tests;
