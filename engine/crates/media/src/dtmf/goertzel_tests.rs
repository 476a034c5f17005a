use std::f64::consts::PI;

use super::*;
use crate::g711::{linear_to_ulaw, ulaw_to_linear};

const FRAME: usize = 160;
const DIGITS: &str = "123A456B789C*0#D";

struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    /// Roughly Gaussian with the given RMS (sum of 12 uniforms).
    fn gauss(&mut self, rms: f64) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() * rms
    }
}

fn amp_dbfs(db: f64) -> f64 {
    32767.0 * 10f64.powf(db / 20.0)
}

fn freqs(d: char) -> (f64, f64) {
    let i = DIGITS.find(d).unwrap();
    let rows = [697.0, 770.0, 852.0, 941.0];
    let cols = [1209.0, 1336.0, 1477.0, 1633.0];
    (rows[i / 4], cols[i % 4])
}

/// A signal description rendered to floating point before noise and G.711.
struct Signal {
    samples: Vec<f64>,
}

impl Signal {
    fn new() -> Self {
        Signal {
            samples: Vec::new(),
        }
    }

    fn silence(mut self, ms: usize) -> Self {
        self.samples.extend(std::iter::repeat_n(0.0, ms * 8));
        self
    }

    fn samples(mut self, n: usize) -> Self {
        self.samples.extend(std::iter::repeat_n(0.0, n));
        self
    }

    fn tones(mut self, ms: usize, parts: &[(f64, f64)]) -> Self {
        for n in 0..ms * 8 {
            let t = n as f64 / 8000.0;
            let v: f64 = parts
                .iter()
                .map(|(f, a)| a * (2.0 * PI * f * t + f / 7.0).sin())
                .sum();
            self.samples.push(v);
        }
        self
    }

    fn digit(self, d: char, ms: usize, row_db: f64, col_db: f64) -> Self {
        let (r, c) = freqs(d);
        self.tones(ms, &[(r, amp_dbfs(row_db)), (c, amp_dbfs(col_db))])
    }

    /// Adds noise, passes through μ-law and runs the detector frame by frame.
    fn detect(self, noise_rms: f64, seed: u64) -> String {
        let mut rng = Noise(seed | 1);
        let pcm: Vec<i16> = self
            .samples
            .iter()
            .map(|s| {
                let v = (s + rng.gauss(noise_rms)).clamp(-32768.0, 32767.0) as i16;
                ulaw_to_linear(linear_to_ulaw(v))
            })
            .collect();
        let mut det = InbandDetector::new();
        let mut out = String::new();
        for frame in pcm.chunks(FRAME) {
            if let Some(d) = det.process(frame) {
                out.push(d);
            }
        }
        out
    }
}

#[test]
fn all_digits_short_presses_at_every_alignment() {
    for offset in (0..FRAME).step_by(17) {
        let mut sig = Signal::new().samples(offset).silence(40);
        for d in DIGITS.chars() {
            sig = sig.digit(d, 40, -20.0, -20.0).silence(40);
        }
        assert_eq!(sig.detect(30.0, offset as u64), DIGITS, "offset {offset}");
    }
}

#[test]
fn levels_from_minus_10_to_minus_30_with_noise() {
    for (level, noise) in [
        (-10.0, 300.0),
        (-20.0, 1000.0),
        (-30.0, 30.0),
        (-33.0, 20.0),
    ] {
        let mut sig = Signal::new().silence(60);
        for d in DIGITS.chars() {
            sig = sig.digit(d, 50, level, level).silence(50);
        }
        assert_eq!(sig.detect(noise, 7), DIGITS, "level {level} dBFS");
    }
}

#[test]
fn minus_30_dbm0_with_twist() {
    // −30 dBm0 per tone is about −33 dBFS; one tone of each press is weaker
    // still (3 dB normal, 2 dB reverse twist).
    let sig = Signal::new()
        .silence(40)
        .digit('5', 60, -33.0, -36.0)
        .silence(60)
        .digit('9', 60, -35.0, -33.0)
        .silence(60);
    assert_eq!(sig.detect(10.0, 3), "59");
}

#[test]
fn excessive_twist_is_rejected() {
    let sig = Signal::new()
        .silence(40)
        .digit('5', 200, -10.0, -20.0)
        .silence(60)
        .digit('9', 200, -20.0, -14.0)
        .silence(60);
    assert_eq!(sig.detect(10.0, 3), "");
}

#[test]
fn held_tone_reports_once() {
    let sig = Signal::new()
        .silence(40)
        .digit('7', 1000, -15.0, -15.0)
        .silence(100);
    assert_eq!(sig.detect(100.0, 11), "7");
}

#[test]
fn same_digit_twice_with_gap_reports_twice() {
    let sig = Signal::new()
        .silence(40)
        .digit('3', 80, -15.0, -15.0)
        .silence(40)
        .digit('3', 80, -15.0, -15.0)
        .silence(40);
    assert_eq!(sig.detect(50.0, 5), "33");
}

#[test]
fn short_dropout_does_not_split_a_press() {
    let sig = Signal::new()
        .silence(40)
        .digit('8', 200, -15.0, -15.0)
        .silence(10)
        .digit('8', 200, -15.0, -15.0)
        .silence(60);
    assert_eq!(sig.detect(50.0, 5), "8");
}

#[test]
fn below_threshold_is_silent() {
    let sig = Signal::new()
        .silence(40)
        .digit('1', 200, -50.0, -50.0)
        .silence(60);
    assert_eq!(sig.detect(2.0, 1), "");
}

#[test]
fn single_tones_are_not_digits() {
    for f in [697.0, 770.0, 941.0, 1000.0, 1209.0, 1633.0, 2000.0] {
        let sig = Signal::new()
            .silence(20)
            .tones(500, &[(f, amp_dbfs(-10.0))]);
        assert_eq!(sig.detect(50.0, 9), "", "{f} Hz");
    }
}

#[test]
fn two_tones_of_one_group_are_not_digits() {
    let sig = Signal::new()
        .tones(500, &[(697.0, amp_dbfs(-15.0)), (770.0, amp_dbfs(-15.0))])
        .tones(500, &[(1209.0, amp_dbfs(-15.0)), (1477.0, amp_dbfs(-15.0))]);
    assert_eq!(sig.detect(50.0, 9), "");
}

/// Vowel-like signal: harmonics of a 150 Hz voice with 5 Hz vibrato,
/// shaped by two formants, including harmonics sitting close to DTMF
/// frequencies (750 ≈ 770 Hz, 1200 ≈ 1209 Hz).
fn voice(ms: usize, f0: f64, formants: (f64, f64), seed: u64) -> Vec<f64> {
    let mut rng = Noise(seed | 1);
    let mut phase = [0.0f64; 25];
    let mut out = Vec::with_capacity(ms * 8);
    for n in 0..ms * 8 {
        let t = n as f64 / 8000.0;
        let f = f0 * (1.0 + 0.03 * (2.0 * PI * 5.0 * t).sin());
        let mut v = 0.0;
        for (k, ph) in phase.iter_mut().enumerate() {
            let h = (k + 1) as f64;
            *ph += 2.0 * PI * f * h / 8000.0;
            let fh = f0 * h;
            let gain = 1.0 / (1.0 + ((fh - formants.0) / 150.0).powi(2))
                + 0.6 / (1.0 + ((fh - formants.1) / 200.0).powi(2))
                + 0.05;
            v += gain * ph.sin();
        }
        out.push(v * 2500.0 + rng.gauss(50.0));
    }
    out
}

#[test]
fn speech_like_signals_do_not_talk_off() {
    let cases = [
        (150.0, (750.0, 1200.0)),
        (150.0, (770.0, 1336.0)),
        (120.0, (700.0, 1220.0)),
        (210.0, (850.0, 1470.0)),
        (100.0, (500.0, 1500.0)),
    ];
    for (i, (f0, formants)) in cases.into_iter().enumerate() {
        let sig = Signal {
            samples: voice(2000, f0, formants, i as u64),
        };
        assert_eq!(sig.detect(0.0, 1), "", "f0 {f0} formants {formants:?}");
    }
}

#[test]
fn chirps_and_noise_do_not_talk_off() {
    let mut samples = Vec::new();
    let amp = amp_dbfs(-12.0);
    for n in 0..16_000 {
        let t = n as f64 / 8000.0;
        // Linear sweep 300 → 3400 Hz over 2 s, with a second sweep falling.
        let up = 2.0 * PI * (300.0 * t + 775.0 * t * t);
        let down = 2.0 * PI * (3400.0 * t - 775.0 * t * t);
        samples.push(amp * up.sin() + amp * down.sin());
    }
    let sig = Signal { samples };
    assert_eq!(sig.detect(30.0, 2), "");
    let noise = Signal::new().silence(3000);
    assert_eq!(noise.detect(3000.0, 4), "");
}

#[test]
fn odd_slice_sizes_and_reset() {
    let sig = Signal::new()
        .silence(40)
        .digit('6', 60, -15.0, -15.0)
        .silence(60)
        .digit('#', 60, -15.0, -15.0)
        .silence(60);
    let pcm: Vec<i16> = sig.samples.iter().map(|&s| s as i16).collect();
    let mut det = InbandDetector::new();
    let mut out = String::new();
    for chunk in pcm.chunks(37) {
        out.extend(det.process(chunk));
    }
    assert_eq!(out, "6#");
    // The whole signal in one slice reports the first, then the second.
    let mut det = InbandDetector::new();
    assert_eq!(det.process(&pcm), Some('6'));
    assert_eq!(det.process(&[]), Some('#'));
    assert_eq!(det.process(&[]), None);
    // Reset forgets a held digit.
    let mut det = InbandDetector::new();
    let held: Vec<i16> = pcm[320..800].to_vec();
    assert_eq!(det.process(&held), Some('6'));
    assert_eq!(det.process(&held), None);
    det.reset();
    assert_eq!(det.process(&held), Some('6'));
}
