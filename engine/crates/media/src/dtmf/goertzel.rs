//! In-band DTMF detection on 8 kHz PCM, for peers that did not negotiate
//! telephone-event.
//!
//! Goertzel filters at the eight DTMF frequencies run over 102-sample blocks
//! (12.75 ms), independent of the 20 ms frame boundaries. 102 samples put
//! the nearest neighbouring frequency (697/770 Hz) close to the first null of
//! the block's response, so one block separates the groups well while two
//! blocks still fit inside the shortest valid press (40 ms).
//!
//! A block is a hit for a digit when the strongest row and column tones are
//! both above the level floor, within the twist limits, clearly stronger than
//! the rest of their group, and together hold most of the block's energy —
//! the last test is what rejects speech and music, whose energy is spread
//! over many harmonics. A press is reported when two consecutive blocks agree
//! on a digit and no digit was held before; it is released after two
//! consecutive blocks without one, so a single noisy block neither starts nor
//! splits a press.

use std::f32::consts::PI;

const RATE: f32 = 8000.0;
const BLOCK: usize = 102;
const FREQS: [f32; 8] = [697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// Peak amplitude of a 0 dBm0 sine in 16-bit linear PCM (G.711: +3.14 dBm0
/// is full scale).
const DBM0_AMPLITUDE: f32 = 22_767.0;
/// Weakest tone accepted, per frequency: −36 dBm0, a margin under the
/// −30 dBm0 the detector must work at.
const MIN_LEVEL_DBM0: f32 = -36.0;
/// Row may exceed column by 8 dB (normal twist).
const NORMAL_TWIST: f32 = 6.31;
/// Column may exceed row by 4 dB (reverse twist).
const REVERSE_TWIST: f32 = 2.51;
/// Each winner must be 6 dB above every other tone of its group.
const GROUP_DOMINANCE: f32 = 4.0;
/// The two tones must hold this share of the block's energy: a clean
/// press gives about 0.97–1.0, vowels with harmonics near DTMF frequencies
/// stay under 0.7.
const ENERGY_SHARE: f32 = 0.8;

/// Reports each key press found in 8 kHz PCM once.
#[derive(Debug, Clone)]
pub struct InbandDetector {
    coefs: [f32; 8],
    s1: [f32; 8],
    s2: [f32; 8],
    energy: f32,
    filled: usize,
    min_power: f32,
    /// Result of the previous block.
    last_hit: Option<char>,
    /// The digit currently held, already reported.
    held: Option<char>,
    /// A second press completed inside one oversized input slice.
    pending: Option<char>,
}

impl Default for InbandDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDetector {
    pub fn new() -> Self {
        let coefs = FREQS.map(|f| 2.0 * (2.0 * PI * f / RATE).cos());
        let min_amp = DBM0_AMPLITUDE * 10f32.powf(MIN_LEVEL_DBM0 / 20.0);
        let peak = min_amp * BLOCK as f32 / 2.0;
        InbandDetector {
            coefs,
            s1: [0.0; 8],
            s2: [0.0; 8],
            energy: 0.0,
            filled: 0,
            min_power: peak * peak,
            last_hit: None,
            held: None,
            pending: None,
        }
    }

    /// Forgets any partial block and held digit.
    pub fn reset(&mut self) {
        *self = Self {
            coefs: self.coefs,
            min_power: self.min_power,
            ..Self::new()
        };
    }

    /// Feeds the next samples (normally one 160-sample frame); returns a digit
    /// when a new press is recognised.
    pub fn process(&mut self, frame: &[i16]) -> Option<char> {
        let mut found = self.pending.take();
        for &sample in frame {
            let x = f32::from(sample);
            self.energy += x * x;
            for ((s1, s2), &c) in self.s1.iter_mut().zip(self.s2.iter_mut()).zip(&self.coefs) {
                let s0 = x + c * *s1 - *s2;
                *s2 = *s1;
                *s1 = s0;
            }
            self.filled += 1;
            if self.filled == BLOCK {
                if let Some(d) = self.end_block() {
                    if found.is_none() {
                        found = Some(d);
                    } else {
                        self.pending = Some(d);
                    }
                }
            }
        }
        found
    }

    fn end_block(&mut self) -> Option<char> {
        let mut power = [0.0f32; 8];
        for (p, ((s1, s2), c)) in power
            .iter_mut()
            .zip(self.s1.iter().zip(&self.s2).zip(&self.coefs))
        {
            *p = s1 * s1 + s2 * s2 - c * s1 * s2;
        }
        let hit = self.classify(&power);
        self.s1 = [0.0; 8];
        self.s2 = [0.0; 8];
        self.energy = 0.0;
        self.filled = 0;

        let mut report = None;
        if hit == self.last_hit && hit != self.held {
            match (self.held, hit) {
                (None, Some(d)) => {
                    self.held = Some(d);
                    report = Some(d);
                }
                (Some(_), None) => self.held = None,
                // A different digit with no gap between is not a new press.
                _ => {}
            }
        }
        self.last_hit = hit;
        report
    }

    fn classify(&self, power: &[f32; 8]) -> Option<char> {
        let (rows, cols) = power.split_at(4);
        let (r, row) = strongest(rows)?;
        let (c, col) = strongest(cols)?;
        if row < self.min_power || col < self.min_power {
            return None;
        }
        if row > col * NORMAL_TWIST || col > row * REVERSE_TWIST {
            return None;
        }
        let dominates = |group: &[f32], best: usize, p: f32| {
            group
                .iter()
                .enumerate()
                .all(|(i, &q)| i == best || p > q * GROUP_DOMINANCE)
        };
        if !dominates(rows, r, row) || !dominates(cols, c, col) {
            return None;
        }
        // A pure sine of amplitude A gives a Goertzel power of (A·N/2)² and a
        // block energy of N·A²/2, so the tones' share is power·2/N / energy.
        let share = (row + col) * 2.0 / BLOCK as f32;
        if share < ENERGY_SHARE * self.energy {
            return None;
        }
        KEYS.get(r).and_then(|k| k.get(c)).copied()
    }
}

fn strongest(group: &[f32]) -> Option<(usize, f32)> {
    group
        .iter()
        .copied()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

#[cfg(test)]
#[path = "goertzel_tests.rs"]
mod tests;
