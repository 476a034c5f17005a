use super::*;

const A: UnitId = UnitId(1);
const B: UnitId = UnitId(2);
const C: UnitId = UnitId(3);
const D: UnitId = UnitId(4);
const OUTSIDE: UnitId = UnitId(99);

fn member(unit: UnitId) -> MemberSpec {
    MemberSpec {
        unit,
        send: true,
        forward: false,
        deaf_to: Vec::new(),
    }
}

fn level(v: i16) -> PcmFrame {
    // A square wave of amplitude v: constant magnitude, zero mean.
    let mut f = [0i16; FRAME_SAMPLES];
    for (i, s) in f.iter_mut().enumerate() {
        *s = if i % 2 == 0 { v } else { -v };
    }
    f
}

/// The magnitude `dst` hears (decoded), and whether the frame is the same
/// square wave (sign alternating).
fn heard(m: &mut Mixer, dst: UnitId) -> i32 {
    let mut out = [0u8; FRAME_SAMPLES];
    let mut scratch = [0i16; FRAME_SAMPLES];
    assert!(m.render(dst, Codec::Pcmu, &mut out, &mut scratch));
    let mut pcm = [0i16; FRAME_SAMPLES];
    Codec::Pcmu.decode_frame(&out, &mut pcm);
    i32::from(pcm[0])
}

fn close(got: i32, want: i32) -> bool {
    (got - want).abs() <= want.abs() / 16 + 16
}

fn tick(m: &mut Mixer, frames: &[(UnitId, i16)]) {
    m.begin_tick(false);
    for (u, v) in frames {
        m.contribute(*u, &level(*v));
    }
    m.finish_tick();
}

#[test]
fn the_limiter_is_linear_below_the_knee_and_never_clips() {
    for x in [-24_576, -1000, 0, 1, 1000, 24_576] {
        assert_eq!(i32::from(soft_limit(x)), x);
    }
    let mut last = soft_limit(24_576);
    for x in (24_577..400_000).step_by(97) {
        let y = soft_limit(x);
        assert!(y >= last, "monotonic at {x}");
        assert!(y < i16::MAX, "below full scale at {x}");
        assert_eq!(soft_limit(-x), -y, "symmetric at {x}");
        last = y;
    }
    assert!(soft_limit(i32::MAX) < i16::MAX && soft_limit(i32::MIN) > -i16::MAX);
    // Gentle just past the knee: slope about 1.
    assert!((i32::from(soft_limit(25_000)) - 25_000).abs() < 40);
}

#[test]
fn each_member_hears_everyone_but_itself() {
    let mut m = Mixer::new(UnitId(100));
    for u in [A, B, C, D] {
        m.set_member(member(u));
    }
    tick(&mut m, &[(A, 1000), (B, 2000), (C, 4000)]);
    assert_eq!(m.speakers(), 3);
    assert!(close(heard(&mut m, A), 6000));
    assert!(close(heard(&mut m, B), 5000));
    assert!(close(heard(&mut m, C), 3000));
    // D said nothing: it hears the full mix, as does a listener outside.
    assert!(close(heard(&mut m, D), 7000));
    assert!(close(heard(&mut m, OUTSIDE), 7000));
    assert_eq!(
        m.render_counts(),
        (2, 3),
        "D and OUTSIDE share one encoding"
    );
    assert_eq!(m.full_pcm()[0], 7000);
}

#[test]
fn silence_is_left_out_of_the_mix() {
    let mut m = Mixer::new(UnitId(100));
    for u in [A, B] {
        m.set_member(member(u));
    }
    tick(&mut m, &[(A, SPEECH_FLOOR), (B, 3000)]);
    assert_eq!(m.speakers(), 1);
    // A's near-silence was not mixed, so A shares the full mix (B).
    assert!(close(heard(&mut m, A), 3000));
    assert!(heard(&mut m, B).abs() <= 8, "B hears nobody");
    tick(&mut m, &[]);
    assert!(heard(&mut m, A).abs() <= 8);
}

#[test]
fn loud_speakers_are_limited_not_clipped() {
    let mut m = Mixer::new(UnitId(100));
    for u in [A, B, C, D] {
        m.set_member(member(u));
    }
    tick(&mut m, &[(A, 20_000), (B, 20_000), (C, 20_000)]);
    let d = heard(&mut m, D);
    assert!(d > 24_000 && d < 32_767, "{d}");
    let a = heard(&mut m, A);
    assert!(a > 24_000 && a < d + 1, "{a}");
}

#[test]
fn forward_mode_hears_the_loudest_other_speaker() {
    let mut m = Mixer::new(UnitId(100));
    for u in [A, B, C] {
        m.set_member(member(u));
    }
    m.set_member(MemberSpec {
        forward: true,
        ..member(A)
    });
    tick(&mut m, &[(A, 9000), (B, 2000), (C, 4000)]);
    assert!(close(heard(&mut m, A), 4000), "C, the loudest but A itself");
}

#[test]
fn a_whisper_is_heard_by_its_target_only() {
    // A agent, B customer, C supervisor whispering to the agent.
    let mut m = Mixer::new(UnitId(100));
    m.set_member(member(A));
    m.set_member(MemberSpec {
        deaf_to: vec![C],
        ..member(B)
    });
    m.set_member(member(C));
    tick(&mut m, &[(A, 1000), (B, 2000), (C, 4000)]);
    assert!(close(heard(&mut m, A), 6000), "the agent hears both");
    assert!(
        close(heard(&mut m, B), 1000),
        "the customer hears the agent only"
    );
    assert!(close(heard(&mut m, C), 3000));
    // The supervisor leaves: nobody is deaf to it any more.
    m.remove_member(C);
    m.set_member(member(C));
    tick(&mut m, &[(A, 1000), (B, 2000), (C, 4000)]);
    assert!(close(heard(&mut m, B), 5000));
}

#[test]
fn listen_only_members_hear_without_being_heard() {
    let mut m = Mixer::new(UnitId(100));
    m.set_member(member(A));
    m.set_member(member(B));
    m.set_member(MemberSpec {
        send: false,
        ..member(C)
    });
    assert_eq!(m.sender_at(2), None);
    // The worker only asks senders for frames; C's is never contributed.
    tick(&mut m, &[(A, 1000), (B, 2000)]);
    assert!(close(heard(&mut m, C), 3000));
    assert!(close(heard(&mut m, A), 2000));
}

#[test]
fn members_come_and_go() {
    let mut m = Mixer::new(UnitId(100));
    for u in [A, B, C, D] {
        m.set_member(member(u));
    }
    m.remove_member(A);
    m.remove_member(A);
    assert_eq!(m.member_count(), 3);
    let senders: Vec<_> = (0..m.member_count())
        .filter_map(|k| m.sender_at(k))
        .collect();
    assert_eq!(senders.len(), 3);
    assert!(!senders.contains(&A));
    m.set_member(member(B));
    assert_eq!(m.member_count(), 3);
    tick(&mut m, &[(B, 1000), (C, 2000), (D, 4000)]);
    assert!(close(heard(&mut m, D), 3000));
    assert!(
        close(heard(&mut m, A), 7000),
        "A is no member now: the full mix"
    );
}

#[test]
fn a_wideband_lane_mixes_at_16_khz_beside_the_narrow_one() {
    let mut m = Mixer::new(UnitId(100));
    for u in [A, B, C] {
        m.set_member(member(u));
    }
    let wide = |v: i16| {
        let mut f = [0i16; WIDE_SAMPLES];
        for (i, s) in f.iter_mut().enumerate() {
            *s = if i % 2 == 0 { v } else { -v };
        }
        f
    };
    m.begin_tick(true);
    assert!(m.is_wide());
    // A and B are wideband, C narrowband (upsampled into the wide lane).
    for (u, v) in [(A, 1000), (B, 2000), (C, 4000)] {
        m.contribute(u, &level(v));
        let mut w = [0i16; WIDE_SAMPLES];
        if u == C {
            crate::codec::upsample(&level(v), &mut w);
        } else {
            w = wide(v);
        }
        m.contribute_wide(u, &w);
    }
    m.finish_tick();
    let mut out = [0i16; WIDE_SAMPLES];
    assert!(m.render_wide(A, &mut out));
    // A hears B's square wave at full width; C's upsampled wave is flat-topped
    // pairs (4000, 0): the first sample carries both, the second only B.
    assert_eq!(out[0], 2000 + 4000);
    assert_eq!(out[1], -2000);
    assert!(m.render_wide(B, &mut out));
    assert_eq!(out[0], 1000 + 4000);
    // The narrow lane is unchanged by it: C hears A and B.
    assert!(close(heard(&mut m, C), 3000));
    // Without a wideband member the lane goes.
    m.begin_tick(false);
    assert!(!m.is_wide());
    assert!(!m.render_wide(A, &mut out));
}
