use std::f64::consts::TAU;
use std::time::Duration;

use super::*;
use crate::tones::progress_tone;

fn gen(script: &str, looped: bool) -> ToneGenerator {
    ToneGenerator::new(ToneScript::parse(script).unwrap(), looped)
}

/// Renders `frames` 160-sample frames, returning the samples and each
/// frame's return value.
fn render(g: &mut ToneGenerator, frames: usize) -> (Vec<i16>, Vec<bool>) {
    let mut out = Vec::with_capacity(frames * 160);
    let mut live = Vec::with_capacity(frames);
    let mut f = [0i16; 160];
    for _ in 0..frames {
        live.push(g.fill(&mut f));
        out.extend_from_slice(&f);
    }
    (out, live)
}

fn amplitude(dbm0: f64) -> f64 {
    22_767.0 * 10f64.powf(dbm0 / 20.0)
}

/// The ideal sample `n` of a sum of sines running from sample 0.
fn ideal(n: usize, parts: &[(f64, f64)]) -> i16 {
    let t = n as f64 / 8000.0;
    parts
        .iter()
        .map(|(hz, a)| a * (TAU * hz * t).sin())
        .sum::<f64>()
        .round() as i16
}

/// Normalised power of `x` at `hz` (1.0 for a full-scale sine there).
fn power_at(x: &[i16], hz: f64, amp: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (n, &s) in x.iter().enumerate() {
        let w = TAU * hz * n as f64 / 8000.0;
        re += f64::from(s) * w.cos();
        im += f64::from(s) * w.sin();
    }
    let mag = (re * re + im * im).sqrt() / (x.len() as f64 / 2.0);
    (mag / amp).powi(2)
}

#[test]
fn frequency_and_level_are_right() {
    let mut g = gen("1000@-10;1(*/0/1)", false);
    let (x, _) = render(&mut g, 50);
    let amp = amplitude(-10.0);
    assert!((power_at(&x, 1000.0, amp) - 1.0).abs() < 0.01);
    assert!(power_at(&x, 950.0, amp) < 0.001);
    let peak = x.iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert!((f64::from(peak) - amp).abs() < 2.0, "peak {peak}");
    // 1000 Hz for one second: 2000 sign changes.
    let crossings = x.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    assert!((1998..=2001).contains(&crossings), "{crossings}");
}

#[test]
fn cadence_is_sample_accurate_and_phase_continuous() {
    // 100 ms on, 50 ms off, forever.
    let mut g = gen("440@-10;*(0.1/0.05/1)", false);
    let (x, live) = render(&mut g, 100);
    assert!(live.iter().all(|&l| l));
    let parts = [(440.0, amplitude(-10.0))];
    for (n, &s) in x.iter().enumerate() {
        let on = n % 1200 < 800;
        let want = if on { ideal(n, &parts) } else { 0 };
        assert!(
            (i32::from(s) - i32::from(want)).abs() <= 1,
            "sample {n}: {s} vs {want}"
        );
    }
}

#[test]
fn two_components_sum() {
    let mut g = gen("350@-13,440@-13;10(*/0/1+2)", false);
    let (x, _) = render(&mut g, 25);
    let a = amplitude(-13.0);
    for (n, &s) in x.iter().enumerate() {
        let want = ideal(n, &[(350.0, a), (440.0, a)]);
        assert!((i32::from(s) - i32::from(want)).abs() <= 1, "sample {n}");
    }
}

#[test]
fn finite_script_ends_with_zero_padded_frame() {
    let mut g = gen("440@-10;0.05(*/0/1)", false);
    let mut f = [7i16; 160];
    assert!(g.fill(&mut f));
    assert!(g.fill(&mut f));
    assert!(g.fill(&mut f));
    // 400 samples: the third frame holds 80 of them, then zeros.
    assert!(f[..80].iter().any(|&s| s != 0));
    assert!(f[80..].iter().all(|&s| s == 0));
    assert_eq!(g.position(), Duration::from_millis(50));
    f = [7; 160];
    assert!(!g.fill(&mut f));
    assert!(f.iter().all(|&s| s == 0));
    assert!(g.is_finished());
    assert!(!g.fill(&mut f));
    assert_eq!(g.position(), Duration::from_millis(50));
}

#[test]
fn script_ending_on_a_frame_boundary() {
    let mut g = gen("440@-10;0.04(*/0/1)", false);
    let mut f = [0i16; 160];
    assert!(g.fill(&mut f));
    assert!(g.fill(&mut f));
    assert!(!g.fill(&mut f));
}

#[test]
fn looped_script_repeats_exactly() {
    // A pass is 30 ms: 20 ms of 500 Hz then 10 ms of silence.
    let mut g = gen("500@-6;0.03(0.02/0.02/1)", true);
    let (x, live) = render(&mut g, 30);
    assert!(live.iter().all(|&l| l));
    let parts = [(500.0, amplitude(-6.0))];
    for (n, &s) in x.iter().enumerate() {
        // The section cuts the 20 ms off time to 10 ms.
        let want = if n % 240 < 160 { ideal(n, &parts) } else { 0 };
        assert!((i32::from(s) - i32::from(want)).abs() <= 1, "sample {n}");
    }
    assert_eq!(g.position(), Duration::from_millis(600));
    // Not looped, the same script stops after one pass.
    let mut g = gen("500@-6;0.03(0.02/0.02/1)", false);
    let (_, live) = render(&mut g, 3);
    assert_eq!(live, vec![true, true, false]);
}

#[test]
fn sections_play_in_order() {
    let mut g = gen("440@-10,880@-10;0.1(*/0/1);0.1(*/0/2)", false);
    let (x, live) = render(&mut g, 11);
    assert_eq!(live.iter().filter(|&&l| l).count(), 10);
    let a = amplitude(-10.0);
    assert!(power_at(&x[..800], 440.0, a) > 0.95);
    assert!(power_at(&x[..800], 880.0, a) < 0.01);
    assert!(power_at(&x[800..1600], 880.0, a) > 0.95);
    assert!(power_at(&x[800..1600], 440.0, a) < 0.01);
    assert!(x[1600..].iter().all(|&s| s == 0));
}

#[test]
fn empty_pass_does_not_hang_even_looped() {
    let mut g = gen("440@-10;0(1/1/1)", true);
    let mut f = [1i16; 160];
    assert!(!g.fill(&mut f));
    assert!(f.iter().all(|&s| s == 0));
    // Zero-length segments are skipped.
    let mut g = gen("440@-10;*(0/0/1,0.01/0/1)", false);
    assert!(g.fill(&mut f));
    assert!(f[..80].iter().any(|&s| s != 0));
}

#[test]
fn any_slice_length_gives_the_same_samples() {
    let script = "350@-19,440@-19;0.3(.1/.1/1+2);*(.05/.05/2)";
    let mut a = gen(script, false);
    let (want, _) = render(&mut a, 40);
    let mut b = gen(script, false);
    let mut got = Vec::new();
    let mut buf = [0i16; 37];
    while got.len() < want.len() {
        assert!(b.fill(&mut buf));
        got.extend_from_slice(&buf);
    }
    assert_eq!(&got[..want.len()], &want[..]);
}

#[test]
fn full_scale_sums_clip_instead_of_wrapping() {
    let mut g = gen("400@3,400@3,400@3;1(*/0/1+2+3)", false);
    let (x, _) = render(&mut g, 5);
    assert_eq!(x.iter().max(), Some(&32767));
    assert_eq!(x.iter().min(), Some(&-32768));
}

#[test]
fn us_ringback_cadence() {
    let mut g = ToneGenerator::new(progress_tone("US").unwrap(), false);
    // Two cycles of 2 s on / 4 s off = 600 frames, all live.
    let (x, live) = render(&mut g, 600);
    assert!(live.iter().all(|&l| l));
    let a = amplitude(-19.0);
    for cycle in 0..2 {
        let base = cycle * 48_000;
        let on = &x[base..base + 16_000];
        assert!(power_at(on, 440.0, a) > 0.95);
        assert!(power_at(on, 480.0, a) > 0.95);
        assert!(power_at(on, 620.0, a) < 0.01);
        assert!(x[base + 16_000..base + 48_000].iter().all(|&s| s == 0));
        assert_ne!(x[base + 15_999], 0);
    }
    assert_eq!(g.position(), Duration::from_secs(12));
}

#[test]
fn ru_ringback_cadence() {
    let mut g = ToneGenerator::new(progress_tone("RU").unwrap(), false);
    let (x, _) = render(&mut g, 500);
    let a = amplitude(-10.0);
    for base in [0, 40_000] {
        assert!(power_at(&x[base..base + 8000], 425.0, a) > 0.95);
        assert!(x[base + 8000..base + 40_000].iter().all(|&s| s == 0));
    }
}
