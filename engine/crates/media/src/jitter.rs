//! Receive-side jitter buffer: packets in (any order, any time), one 20 ms frame
//! out per media tick.
//!
//! Audio is stored by RTP timestamp in a ring of encoded samples with one
//! presence bit per sample, rather than in per-packet slots. That makes 10, 20
//! and 30 ms packets (or any mix) play out correctly as 20 ms frames, lets a
//! half-received frame keep the half that arrived, and needs no allocation after
//! construction. It holds codecs with one encoded byte per timestamp unit (both
//! G.711 laws); a frame-based codec will need its own buffer.
//!
//! Delay handling: playback starts `target` after the first packet of a stream.
//! An underrun (nothing buffered) stalls the playout clock instead of skipping,
//! so a delay spike costs a concealed frame rather than every late packet. A
//! packet arriving after its slot was already concealed raises the target and
//! stalls one frame. When the buffer held more than a frame above the target for
//! a whole observation window, frames are dropped to bring the delay back; calm
//! windows lower the target again. `min == max` gives a fixed delay.

use std::time::{Duration, Instant};

use crate::codec::{EncodedFrame, FRAME_SAMPLES};
use crate::seq::{SeqTracker, SeqVerdict};

/// Ring capacity in samples: 512 ms at 8 kHz, the widest span held at once.
const RING: usize = 4096;
const RING_MASK: usize = RING - 1;
const WORDS: usize = RING / 64;
const FRAME: i64 = FRAME_SAMPLES as i64;
/// Largest accepted packet (128 ms); anything bigger is not telephony audio.
pub const MAX_PACKET_SAMPLES: usize = 1024;
/// Pops per observation window for shrinking the delay (0.5 s).
const WINDOW_POPS: u32 = 25;
/// Trouble-free windows before the target is lowered by one frame (5 s).
const CALM_WINDOWS: u32 = 10;
/// Underrun pops before the stream is taken as paused and playout goes idle.
const STALL_LIMIT: u32 = 3;
const SAMPLES_PER_MS: u64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    pub initial_delay: Duration,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig {
            initial_delay: Duration::from_millis(40),
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
        }
    }
}

impl JitterConfig {
    pub fn fixed(delay: Duration) -> JitterConfig {
        JitterConfig {
            initial_delay: delay,
            min_delay: delay,
            max_delay: delay,
        }
    }
}

/// What one tick plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playout<'a> {
    /// Received audio (gaps inside the frame filled with the silence code).
    Frame(&'a [u8]),
    /// The frame is lost: play this previous frame, attenuated.
    Repeat(&'a [u8]),
    /// The frame is lost and the previous one was already repeated.
    Silence,
    /// No stream is playing (not started yet, or paused).
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Stored,
    /// Stored as the first packet of a new stream (first packet, SSRC change, jump).
    Resynced,
    Duplicate,
    /// Its playout time has passed.
    Late,
    /// Empty or larger than [`MAX_PACKET_SAMPLES`].
    Invalid,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Distinct packets stored or played.
    pub received: u64,
    pub duplicates: u64,
    pub late: u64,
    pub invalid: u64,
    pub resyncs: u64,
    /// Frames that were played as concealment.
    pub concealed: u64,
    /// Frames discarded to reduce delay.
    pub dropped_frames: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Buffering { since: Instant },
    Playing,
}

pub struct JitterBuffer {
    min: i64,
    max: i64,
    target: i64,
    fill: u8,
    state: State,
    ssrc: Option<u32>,
    ts_ref: i64,
    /// Next timestamp to play (Playing), or the stream's earliest (Buffering).
    play_ts: i64,
    /// End of what was played before going idle, to recognise stragglers.
    played_end: Option<i64>,
    max_end: i64,
    seq: SeqTracker,
    conceal_run: u32,
    stall_run: u32,
    grow_pending: bool,
    window_pops: u32,
    window_min: i64,
    window_trouble: bool,
    calm: u32,
    have_frame: bool,
    out: EncodedFrame,
    present: [u64; WORDS],
    ring: [u8; RING],
    stats: JitterStats,
}

fn samples(d: Duration) -> i64 {
    (d.as_millis() as u64)
        .saturating_mul(SAMPLES_PER_MS)
        .min(RING as u64 / 2) as i64
}

impl JitterBuffer {
    /// `fill` is the codec's silence code, used where part of a frame is missing.
    pub fn new(cfg: JitterConfig, fill: u8) -> JitterBuffer {
        let min = samples(cfg.min_delay);
        let max = samples(cfg.max_delay).max(min);
        JitterBuffer {
            min,
            max,
            target: samples(cfg.initial_delay).clamp(min, max),
            fill,
            state: State::Idle,
            ssrc: None,
            ts_ref: 0,
            play_ts: 0,
            played_end: None,
            max_end: 0,
            seq: SeqTracker::default(),
            conceal_run: 0,
            stall_run: 0,
            grow_pending: false,
            window_pops: 0,
            window_min: i64::MAX,
            window_trouble: false,
            calm: 0,
            have_frame: false,
            out: [fill; FRAME_SAMPLES],
            present: [0; WORDS],
            ring: [fill; RING],
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Packets never received, by sequence number (RFC 3550 cumulative loss).
    pub fn lost(&self) -> u64 {
        self.seq.lost()
    }

    pub fn target_delay(&self) -> Duration {
        Duration::from_millis(self.target as u64 / SAMPLES_PER_MS)
    }

    /// Samples buffered beyond the next frame to play, when playing.
    pub fn buffered_samples(&self) -> usize {
        match self.state {
            State::Playing => (self.max_end - self.play_ts).max(0) as usize,
            _ => 0,
        }
    }

    pub fn is_playing(&self) -> bool {
        self.state == State::Playing
    }

    /// The last frame returned as `Frame` (what `Repeat` replays).
    pub fn last_frame(&self) -> &EncodedFrame {
        &self.out
    }

    /// Forgets the stream (e.g. the remote changed codec); statistics stay.
    pub fn reset(&mut self, fill: u8) {
        self.fill = fill;
        self.ssrc = None;
        self.played_end = None;
        self.have_frame = false;
        self.out = [fill; FRAME_SAMPLES];
        self.clear_audio();
        self.state = State::Idle;
    }

    pub fn push(
        &mut self,
        ssrc: u32,
        seq: u16,
        timestamp: u32,
        payload: &[u8],
        marker: bool,
        now: Instant,
    ) -> PushOutcome {
        let len = payload.len() as i64;
        if payload.is_empty() || payload.len() > MAX_PACKET_SAMPLES {
            self.stats.invalid += 1;
            return PushOutcome::Invalid;
        }
        if self.ssrc != Some(ssrc) {
            if self.ssrc.is_some() {
                tracing::debug!(old = ?self.ssrc, new = ssrc, "jitter buffer: SSRC changed");
            }
            self.ssrc = Some(ssrc);
            self.played_end = None;
            self.seq.restart(seq);
            return self.resync(timestamp, payload, now);
        }
        if let SeqVerdict::Duplicate = self.seq.update(seq) {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        let ext = self.extend(timestamp);
        let end = ext + len;
        match self.state {
            State::Idle => {
                if self.is_straggler(ext) {
                    return self.late();
                }
                self.resync(timestamp, payload, now)
            }
            State::Buffering { .. } => {
                if self.is_straggler(ext) {
                    return self.late();
                }
                let start = self.play_ts.min(ext);
                let span = self.max_end.max(end) - start;
                if span <= RING as i64 {
                    self.play_ts = start;
                    self.store(ext, payload)
                } else if ext < self.play_ts {
                    self.late()
                } else {
                    self.resync(timestamp, payload, now)
                }
            }
            State::Playing => {
                let underrun = self.max_end <= self.play_ts;
                if marker && underrun && ext >= self.play_ts {
                    // A new talkspurt while nothing is left to play: buffer it
                    // afresh rather than play out the silence gap.
                    self.played_end = Some(self.play_ts);
                    return self.resync(timestamp, payload, now);
                }
                if ext < self.play_ts && self.play_ts - ext <= RING as i64 {
                    self.note_trouble(true);
                    return self.late();
                }
                if ext < self.play_ts || end - self.play_ts > RING as i64 {
                    self.played_end = Some(self.play_ts);
                    return self.resync(timestamp, payload, now);
                }
                self.store(ext, payload)
            }
        }
    }

    pub fn pop(&mut self, now: Instant) -> Playout<'_> {
        match self.state {
            State::Idle => return Playout::Nothing,
            State::Buffering { since } => {
                let wait = Duration::from_millis(self.target as u64 / SAMPLES_PER_MS);
                if now.saturating_duration_since(since) < wait {
                    return Playout::Nothing;
                }
                self.state = State::Playing;
                self.reset_window();
            }
            State::Playing => {}
        }
        if self.grow_pending {
            self.grow_pending = false;
            return self.conceal();
        }
        let level = self.max_end - self.play_ts;
        if level <= 0 {
            self.stall_run += 1;
            if self.stall_run > STALL_LIMIT {
                self.stall_run = 0;
                self.played_end = Some(self.play_ts);
                self.state = State::Idle;
                return Playout::Nothing;
            }
            return self.conceal();
        }
        if self.stall_run > 0 {
            // Audio came back after an underrun: the delay was too short.
            self.stall_run = 0;
            self.note_trouble(false);
        }
        self.observe_level(level);
        let present = self.read_frame();
        self.play_ts += FRAME;
        if present {
            self.conceal_run = 0;
            self.have_frame = true;
            Playout::Frame(&self.out)
        } else {
            self.conceal()
        }
    }

    fn late(&mut self) -> PushOutcome {
        self.stats.late += 1;
        PushOutcome::Late
    }

    fn is_straggler(&self, ext: i64) -> bool {
        matches!(self.played_end, Some(end) if ext < end && end - ext <= RING as i64)
    }

    fn extend(&mut self, ts: u32) -> i64 {
        let diff = i64::from(ts.wrapping_sub(self.ts_ref as u32) as i32);
        let ext = self.ts_ref + diff;
        if ext > self.ts_ref {
            self.ts_ref = ext;
        }
        ext
    }

    fn resync(&mut self, timestamp: u32, payload: &[u8], now: Instant) -> PushOutcome {
        if self.stats.received > 0 {
            self.stats.resyncs += 1;
        }
        self.clear_audio();
        // Extended timestamps start far from zero so stepping back never underflows.
        let ext = 1 << 40 | i64::from(timestamp);
        self.ts_ref = ext;
        if let Some(end) = self.played_end {
            // Keep straggler detection meaningful in the new numbering only
            // when the new stream continues the old one.
            let old = end as u32;
            let diff = i64::from(old.wrapping_sub(timestamp) as i32);
            self.played_end = Some(ext + diff);
        }
        self.play_ts = ext;
        self.max_end = ext;
        self.state = State::Buffering { since: now };
        self.store(ext, payload);
        PushOutcome::Resynced
    }

    fn clear_audio(&mut self) {
        self.present = [0; WORDS];
        self.stall_run = 0;
        self.grow_pending = false;
        self.conceal_run = 0;
    }

    fn store(&mut self, ext: i64, payload: &[u8]) -> PushOutcome {
        let at = (ext as usize) & RING_MASK;
        if self.is_present(at) {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        let first = payload.len().min(RING - at);
        let (head, tail) = payload.split_at(first);
        if let Some(dst) = self.ring.get_mut(at..at + first) {
            dst.copy_from_slice(head);
        }
        if let Some(dst) = self.ring.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
        }
        self.mark(at, payload.len(), true);
        self.max_end = self.max_end.max(ext + payload.len() as i64);
        self.stats.received += 1;
        PushOutcome::Stored
    }

    fn is_present(&self, at: usize) -> bool {
        self.present[(at >> 6) % WORDS] & (1 << (at & 63)) != 0
    }

    /// Sets or clears presence bits for `len` samples from ring index `at`.
    fn mark(&mut self, at: usize, len: usize, set: bool) {
        let mut at = at & RING_MASK;
        let mut left = len.min(RING);
        while left > 0 {
            let bit = at & 63;
            let n = left.min(64 - bit);
            let mask = if n == 64 {
                u64::MAX
            } else {
                ((1u64 << n) - 1) << bit
            };
            let word = &mut self.present[(at >> 6) % WORDS];
            if set {
                *word |= mask;
            } else {
                *word &= !mask;
            }
            left -= n;
            at = (at + n) & RING_MASK;
        }
    }

    /// Count of present samples among `len` from ring index `at`.
    fn count_present(&self, at: usize, len: usize) -> u32 {
        let mut at = at & RING_MASK;
        let mut left = len.min(RING);
        let mut count = 0;
        while left > 0 {
            let bit = at & 63;
            let n = left.min(64 - bit);
            let mask = if n == 64 {
                u64::MAX
            } else {
                ((1u64 << n) - 1) << bit
            };
            count += (self.present[(at >> 6) % WORDS] & mask).count_ones();
            left -= n;
            at = (at + n) & RING_MASK;
        }
        count
    }

    /// Copies the frame at `play_ts` into `out` and frees its ring space.
    /// Returns false (leaving `out` as it was) when none of it arrived.
    fn read_frame(&mut self) -> bool {
        let at = (self.play_ts as usize) & RING_MASK;
        let count = self.count_present(at, FRAME_SAMPLES) as usize;
        if count == FRAME_SAMPLES {
            let first = FRAME_SAMPLES.min(RING - at);
            let (head, tail) = self.out.split_at_mut(first);
            if let Some(src) = self.ring.get(at..at + first) {
                head.copy_from_slice(src);
            }
            if let Some(src) = self.ring.get(..tail.len()) {
                tail.copy_from_slice(src);
            }
        } else if count > 0 {
            for (i, o) in self.out.iter_mut().enumerate() {
                let idx = (at + i) & RING_MASK;
                let here = self.present[(idx >> 6) % WORDS] & (1 << (idx & 63)) != 0;
                *o = if here { self.ring[idx] } else { self.fill };
            }
        }
        self.mark(at, FRAME_SAMPLES, false);
        count > 0
    }

    fn conceal(&mut self) -> Playout<'_> {
        self.stats.concealed += 1;
        self.conceal_run += 1;
        if self.conceal_run == 1 && self.have_frame {
            Playout::Repeat(&self.out)
        } else {
            Playout::Silence
        }
    }

    fn note_trouble(&mut self, stall: bool) {
        self.window_trouble = true;
        self.calm = 0;
        if self.target < self.max {
            self.target = (self.target + FRAME).min(self.max);
            // A late packet means the buffer is too short right now: add the
            // frame of delay at once. (An underrun already stalled.)
            self.grow_pending |= stall;
        }
    }

    fn reset_window(&mut self) {
        self.window_pops = 0;
        self.window_min = i64::MAX;
        self.window_trouble = false;
    }

    fn observe_level(&mut self, level: i64) {
        self.window_min = self.window_min.min(level);
        self.window_pops += 1;
        if self.window_pops < WINDOW_POPS {
            return;
        }
        if !self.window_trouble {
            self.calm += 1;
            if self.calm >= CALM_WINDOWS && self.target > self.min {
                self.target = (self.target - FRAME).max(self.min);
                self.calm = 0;
            }
        }
        // `level` counts the frame about to play; one more frame of slack
        // absorbs where packet arrivals fall between ticks.
        let excess = self.window_min - (self.target + 2 * FRAME);
        if excess >= 0 {
            let frames = (excess / FRAME / 2).max(1);
            for _ in 0..frames {
                let at = (self.play_ts as usize) & RING_MASK;
                self.mark(at, FRAME_SAMPLES, false);
                self.play_ts += FRAME;
            }
            self.stats.dropped_frames += frames as u64;
        }
        self.reset_window();
    }
}

#[cfg(test)]
#[path = "jitter_tests.rs"]
mod tests;
