//! RFC 4733 telephone-event: the 4-byte payload, a receiver that turns a
//! packet stream into one digit per key press, and a sender that paces queued
//! digits out one packet per 20 ms tick.

use std::collections::VecDeque;
use std::time::Duration;

use thiserror::Error;

use super::FRAME;

/// Duration units advanced per 20 ms tick (8 kHz telephone-event clock).
const TICK_UNITS: u32 = FRAME as u32;
/// How many times the final (E=1) packet of an event is sent.
const END_REPEATS: u8 = 3;
/// Longest digit the sender accepts, kept well under the 16-bit duration field.
const MAX_TONE: Duration = Duration::from_secs(8);
/// Recent event timestamps remembered by the receiver for deduplication.
const RECENT: usize = 16;
/// Packets whose timestamp is this far behind the newest event (10 s) are
/// late copies; anything further back is taken as a restarted stream.
const LATE_WINDOW: u32 = 80_000;
/// Slack allowed when a long event is continued under a new timestamp.
const CONTINUATION_SLACK: u32 = 1_600;

/// Most characters [`DtmfSender`] holds queued at once.
pub const MAX_QUEUED: usize = 256;
/// Volume (−dBm0) put in outgoing events.
pub const DEFAULT_VOLUME: u8 = 10;
/// Default length of one sent digit.
pub const DEFAULT_TONE: Duration = Duration::from_millis(120);
/// Default silence between two sent digits.
pub const DEFAULT_GAP: Duration = Duration::from_millis(60);
/// Length of a `p` pause in a digit string.
pub const PAUSE: Duration = Duration::from_millis(500);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DtmfError {
    #[error("telephone-event payload is {len} bytes, needs 4")]
    TooShort { len: usize },
    #[error("{0:?} is not a DTMF digit or pause")]
    InvalidDigit(char),
    #[error("{requested} digits do not fit: {queued} already queued, at most {max}")]
    QueueFull {
        queued: usize,
        requested: usize,
        max: usize,
    },
}

/// '0'-'9' → 0-9, '*' → 10, '#' → 11, 'A'-'D' (either case) → 12-15.
pub fn digit_to_event(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(c as u8 - b'A' + 12),
        'a'..='d' => Some(c as u8 - b'a' + 12),
        _ => None,
    }
}

/// The inverse of [`digit_to_event`]; letters come back upper case.
pub fn event_to_digit(e: u8) -> Option<char> {
    match e {
        0..=9 => Some(char::from(b'0' + e)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + e - 12)),
        _ => None,
    }
}

/// One telephone-event block: event code, end bit, volume (−dBm0, 0-63) and
/// duration in timestamp units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    pub event: u8,
    pub end: bool,
    pub volume: u8,
    pub duration: u16,
}

impl EventPayload {
    /// Reads the first block; trailing redundant blocks are ignored.
    pub fn parse(b: &[u8]) -> Result<EventPayload, DtmfError> {
        match b {
            [event, flags, d0, d1, ..] => Ok(EventPayload {
                event: *event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3f,
                duration: u16::from_be_bytes([*d0, *d1]),
            }),
            _ => Err(DtmfError::TooShort { len: b.len() }),
        }
    }

    pub fn write(&self) -> [u8; 4] {
        let flags = (u8::from(self.end) << 7) | (self.volume & 0x3f);
        let [d0, d1] = self.duration.to_be_bytes();
        [self.event, flags, d0, d1]
    }
}

#[derive(Debug, Clone, Copy)]
struct LastEvent {
    timestamp: u32,
    event: u8,
    duration: u16,
    ended: bool,
}

/// Turns received telephone-event packets into one digit per key press.
///
/// All packets of one event share its RTP timestamp, so the timestamp is the
/// identity of a press: the digit is reported on the first packet seen with a
/// new timestamp and never again for it, whatever order the rest arrive in.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    recent: [u32; RECENT],
    recent_len: usize,
    recent_next: usize,
    last: Option<LastEvent>,
}

impl DtmfReceiver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every event, e.g. when the peer's RTP stream restarts.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Returns the digit when this packet starts a new key press.
    pub fn on_packet(&mut self, rtp_timestamp: u32, payload: &[u8]) -> Option<char> {
        let p = EventPayload::parse(payload).ok()?;
        let digit = event_to_digit(p.event)?;
        if self.seen(rtp_timestamp) {
            if let Some(last) = self.last.as_mut().filter(|l| l.timestamp == rtp_timestamp) {
                last.ended |= p.end;
                last.duration = last.duration.max(p.duration);
            }
            return None;
        }
        if let Some(last) = self.last {
            let behind = last.timestamp.wrapping_sub(rtp_timestamp);
            if behind != 0 && behind < LATE_WINDOW {
                return None;
            }
            if Self::continues(&last, rtp_timestamp, p.event) {
                self.remember(rtp_timestamp, &p);
                return None;
            }
        }
        self.remember(rtp_timestamp, &p);
        Some(digit)
    }

    /// A key held past the 16-bit duration limit is carried on under a new
    /// timestamp that starts where the previous segment ran out.
    fn continues(last: &LastEvent, timestamp: u32, event: u8) -> bool {
        let ahead = timestamp.wrapping_sub(last.timestamp);
        last.event == event
            && !last.ended
            && last.duration >= 0xf000
            && ahead <= u32::from(last.duration) + CONTINUATION_SLACK
    }

    fn seen(&self, timestamp: u32) -> bool {
        self.recent
            .iter()
            .take(self.recent_len)
            .any(|&t| t == timestamp)
    }

    fn remember(&mut self, timestamp: u32, p: &EventPayload) {
        if let Some(slot) = self.recent.get_mut(self.recent_next) {
            *slot = timestamp;
        }
        self.recent_next = (self.recent_next + 1) % RECENT;
        self.recent_len = (self.recent_len + 1).min(RECENT);
        self.last = Some(LastEvent {
            timestamp,
            event: p.event,
            duration: p.duration,
            ended: p.end,
        });
    }
}

/// What to send on this 20 ms tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderStep {
    /// Nothing queued or in progress.
    Idle,
    /// In a gap or a pause: send no event packet this tick.
    Silent,
    Packet {
        payload: [u8; 4],
        /// RTP marker bit: set on the first packet of each event.
        marker: bool,
        /// First packet of an event: the caller fixes the event's RTP
        /// timestamp now and reuses it for every later packet of the event.
        event_start: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Tone { event: u8, sent: u32 },
    End { event: u8, duration: u16, left: u8 },
    Silent { left: u32 },
}

/// Paces queued digits out as telephone-event packets, one call to
/// [`DtmfSender::next`] per 20 ms tick.
#[derive(Debug)]
pub struct DtmfSender {
    queue: VecDeque<char>,
    phase: Phase,
    tone_ticks: u32,
    gap_ticks: u32,
    pause_ticks: u32,
    volume: u8,
}

impl Default for DtmfSender {
    fn default() -> Self {
        Self::new()
    }
}

fn ticks(d: Duration) -> u32 {
    let tick_ms = 1000 * FRAME as u128 / 8000;
    u32::try_from(d.as_millis().div_ceil(tick_ms)).unwrap_or(u32::MAX)
}

impl DtmfSender {
    pub fn new() -> Self {
        Self::with_timing(DEFAULT_TONE, DEFAULT_GAP)
    }

    /// `tone` is rounded up to whole ticks (at least one, at most 8 s).
    pub fn with_timing(tone: Duration, gap: Duration) -> Self {
        DtmfSender {
            queue: VecDeque::with_capacity(MAX_QUEUED),
            phase: Phase::Idle,
            tone_ticks: ticks(tone.min(MAX_TONE)).max(1),
            gap_ticks: ticks(gap),
            pause_ticks: ticks(PAUSE),
            volume: DEFAULT_VOLUME,
        }
    }

    /// Queues `0-9 * # A-D` (either case) and `p`/`P` pauses. On error
    /// nothing is queued.
    pub fn queue(&mut self, digits: &str) -> Result<(), DtmfError> {
        if let Some(bad) = digits
            .chars()
            .find(|&c| digit_to_event(c).is_none() && !matches!(c, 'p' | 'P'))
        {
            return Err(DtmfError::InvalidDigit(bad));
        }
        let requested = digits.chars().count();
        if self.queue.len() + requested > MAX_QUEUED {
            return Err(DtmfError::QueueFull {
                queued: self.queue.len(),
                requested,
                max: MAX_QUEUED,
            });
        }
        self.queue.extend(digits.chars());
        Ok(())
    }

    /// True while a digit, gap or pause is in progress or anything is queued.
    pub fn is_busy(&self) -> bool {
        self.phase != Phase::Idle || !self.queue.is_empty()
    }

    /// Drops the queue. A digit already started is ended properly (with its
    /// end packets) so the peer does not hear it held.
    pub fn clear(&mut self) {
        self.queue.clear();
        self.phase = match self.phase {
            Phase::Tone { event, sent } if sent > 0 => Phase::End {
                event,
                duration: duration_units(sent),
                left: END_REPEATS,
            },
            Phase::End { .. } => self.phase,
            _ => Phase::Idle,
        };
    }

    /// The step for this tick. Not an `Iterator`: an idle sender is not
    /// exhausted, it answers `Idle` until more digits are queued.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> SenderStep {
        loop {
            match self.phase {
                Phase::Idle => {
                    let Some(c) = self.queue.pop_front() else {
                        return SenderStep::Idle;
                    };
                    self.phase = match digit_to_event(c) {
                        Some(event) => Phase::Tone { event, sent: 0 },
                        None => Phase::Silent {
                            left: self.pause_ticks,
                        },
                    };
                }
                Phase::Tone { event, sent } => {
                    let sent = sent + 1;
                    let duration = duration_units(sent);
                    let end = sent >= self.tone_ticks;
                    self.phase = if end {
                        Phase::End {
                            event,
                            duration,
                            left: END_REPEATS - 1,
                        }
                    } else {
                        Phase::Tone { event, sent }
                    };
                    return self.packet(event, end, duration, sent == 1);
                }
                Phase::End {
                    event,
                    duration,
                    left,
                } => {
                    if left == 0 {
                        self.phase = Phase::Silent {
                            left: self.gap_ticks,
                        };
                        continue;
                    }
                    self.phase = Phase::End {
                        event,
                        duration,
                        left: left - 1,
                    };
                    return self.packet(event, true, duration, false);
                }
                Phase::Silent { left } => {
                    if left == 0 {
                        self.phase = Phase::Idle;
                        continue;
                    }
                    self.phase = Phase::Silent { left: left - 1 };
                    return SenderStep::Silent;
                }
            }
        }
    }

    fn packet(&self, event: u8, end: bool, duration: u16, first: bool) -> SenderStep {
        let payload = EventPayload {
            event,
            end,
            volume: self.volume,
            duration,
        }
        .write();
        SenderStep::Packet {
            payload,
            marker: first,
            event_start: first,
        }
    }
}

fn duration_units(sent_ticks: u32) -> u16 {
    u16::try_from(sent_ticks.saturating_mul(TICK_UNITS)).unwrap_or(u16::MAX)
}

#[cfg(test)]
#[path = "rfc4733_tests.rs"]
mod tests;
