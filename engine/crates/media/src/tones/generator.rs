//! Sample-accurate tone generation at 8 kHz.
//!
//! Frequencies are whole hertz and the rate is 8000 Hz, so the phase of
//! every component after `n` samples is exactly `hz·n mod 8000` steps of a
//! shared 8000-entry sine table: no drift, phase-continuous across segments
//! and frames, and a silent stretch of any length is skipped in O(1).

use std::sync::OnceLock;
use std::time::Duration;

use super::script::{samples_to_duration, ToneScript, MAX_COMPONENTS};
use super::RATE;

/// Peak amplitude of a 0 dBm0 sine in 16-bit linear PCM (G.711: +3.14 dBm0
/// is full scale).
const DBM0_AMPLITUDE: f32 = 22_767.0;

fn sine_table() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (0..RATE)
            .map(|i| (std::f64::consts::TAU * f64::from(i) / f64::from(RATE)).sin() as f32)
            .collect()
    })
}

/// Where the generator is in the script.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    section: usize,
    segment: usize,
    /// Samples played in the current section and segment.
    in_section: u64,
    in_segment: u64,
}

/// Plays a [`ToneScript`] frame by frame.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    script: ToneScript,
    looped: bool,
    cursor: Cursor,
    played: u64,
    finished: bool,
    table: &'static [f32],
    steps: [u32; MAX_COMPONENTS],
    amps: [f32; MAX_COMPONENTS],
    phases: [u32; MAX_COMPONENTS],
    used: usize,
}

impl ToneGenerator {
    /// `looped` repeats a finite script from the start; a script with an
    /// endless section plays forever either way.
    pub fn new(script: ToneScript, looped: bool) -> Self {
        let script_components = script.components().len().min(MAX_COMPONENTS);
        let mut steps = [0u32; MAX_COMPONENTS];
        let mut amps = [0f32; MAX_COMPONENTS];
        for ((step, amp), c) in steps.iter_mut().zip(&mut amps).zip(script.components()) {
            *step = u32::from(c.hz);
            *amp = DBM0_AMPLITUDE * 10f32.powf(c.level_dbm0 / 20.0);
        }
        ToneGenerator {
            script,
            looped,
            cursor: Cursor::default(),
            played: 0,
            finished: false,
            table: sine_table(),
            steps,
            amps,
            phases: [0; MAX_COMPONENTS],
            used: script_components,
        }
    }

    /// Fills `out` (normally one 160-sample frame). Returns false once the
    /// script has finished, and then `out` is all zeros; a frame in which the
    /// script ends part-way is zero-padded and still returns true.
    pub fn fill(&mut self, out: &mut [i16]) -> bool {
        let mut done = 0;
        while done < out.len() {
            let Some((run, mask)) = self.current_run() else {
                self.finished = true;
                break;
            };
            let n = usize::try_from(run)
                .unwrap_or(usize::MAX)
                .min(out.len() - done);
            if let Some(slice) = out.get_mut(done..done + n) {
                self.render(mask, slice);
            }
            self.advance(n as u64);
            done += n;
        }
        if let Some(rest) = out.get_mut(done..) {
            rest.fill(0);
        }
        done > 0 || out.is_empty() && !self.finished
    }

    /// Time generated since the start, across loops.
    pub fn position(&self) -> Duration {
        samples_to_duration(self.played)
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The length and component mask of the stretch starting now, or `None`
    /// when the script is over.
    fn current_run(&mut self) -> Option<(u64, u8)> {
        if self.finished {
            return None;
        }
        loop {
            let c = &mut self.cursor;
            let Some(section) = self.script.sections().get(c.section) else {
                if self.looped && self.script.samples() != Some(0) {
                    *c = Cursor::default();
                    continue;
                }
                return None;
            };
            let section_left = section
                .duration
                .map_or(u64::MAX, |d| d.saturating_sub(c.in_section));
            if section_left == 0 {
                *c = Cursor {
                    section: c.section + 1,
                    ..Cursor::default()
                };
                continue;
            }
            let Some(segment) = section.segments.get(c.segment) else {
                // Parsing guarantees some segment takes time, so wrapping
                // always reaches one.
                c.segment = 0;
                c.in_segment = 0;
                continue;
            };
            let on = segment.on_samples();
            let total = segment.total_samples();
            let (left, mask) = if c.in_segment < on {
                (on - c.in_segment, segment.mask)
            } else if c.in_segment < total {
                (total - c.in_segment, 0)
            } else {
                c.segment += 1;
                c.in_segment = 0;
                continue;
            };
            return Some((left.min(section_left), mask));
        }
    }

    fn advance(&mut self, n: u64) {
        let c = &mut self.cursor;
        c.in_section = c.in_section.saturating_add(n);
        c.in_segment = c.in_segment.saturating_add(n);
        self.played = self.played.saturating_add(n);
    }

    fn render(&mut self, mask: u8, out: &mut [i16]) {
        if mask == 0 {
            out.fill(0);
            let n = out.len() as u64;
            for (phase, &step) in self.phases.iter_mut().zip(&self.steps) {
                *phase = ((u64::from(*phase) + u64::from(step) * n) % u64::from(RATE)) as u32;
            }
            return;
        }
        for o in out.iter_mut() {
            let mut v = 0f32;
            for (k, (phase, (&step, &amp))) in self
                .phases
                .iter_mut()
                .zip(self.steps.iter().zip(&self.amps))
                .enumerate()
                .take(self.used)
            {
                if mask & (1 << k) != 0 {
                    v += amp * self.table.get(*phase as usize).copied().unwrap_or(0.0);
                }
                // Steps are below RATE / 2, so one subtraction wraps.
                *phase += step;
                if *phase >= RATE {
                    *phase -= RATE;
                }
            }
            *o = v.round().clamp(-32768.0, 32767.0) as i16;
        }
    }
}

#[cfg(test)]
#[path = "generator_tests.rs"]
mod tests;
