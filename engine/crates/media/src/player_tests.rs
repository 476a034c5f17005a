//! Player position, looping, pausing, markers and the end, one tick at a time.

use super::*;

const UNIT: UnitId = UnitId(3);

/// A clip whose sample `i` is `i`, so a frame shows where it was cut.
fn ramp(len: usize) -> Clip {
    (0..len).map(|i| i as i16).collect::<Vec<_>>().into()
}

fn run(p: &mut Player, ticks: usize) -> Vec<MediaEvent> {
    let mut ev = Vec::new();
    for _ in 0..ticks {
        p.tick(&mut ev);
    }
    ev
}

#[test]
fn plays_frames_in_order_and_finishes_once() {
    let mut p = Player::new(UNIT, PlayerMedia::Clip(ramp(400)), false);
    let mut ev = Vec::new();
    p.tick(&mut ev);
    assert_eq!(
        ev,
        vec![MediaEvent::PlayerStarted {
            unit: UNIT,
            duration: Duration::from_millis(50)
        }]
    );
    assert_eq!(p.pcm().unwrap()[0], 0);
    assert_eq!(p.pcm().unwrap()[159], 159);
    ev.clear();
    p.tick(&mut ev);
    assert_eq!(p.pcm().unwrap()[0], 160);
    assert!(ev.is_empty());
    p.tick(&mut ev);
    // The last 80 samples, then silence padding.
    let f = p.pcm().unwrap();
    assert_eq!((f[0], f[79], f[80], f[159]), (320, 399, 0, 0));
    assert_eq!(ev, vec![MediaEvent::PlayerFinished(UNIT)]);
    assert!(p.is_finished());
    ev.clear();
    p.tick(&mut ev);
    assert!(p.pcm().is_none(), "a finished player sends nothing");
    assert!(ev.is_empty());
    assert_eq!(p.played(), 400);
}

#[test]
fn exact_multiple_of_a_frame_finishes_on_its_last_frame() {
    let mut p = Player::new(UNIT, PlayerMedia::Clip(ramp(320)), false);
    let ev = run(&mut p, 2);
    assert_eq!(ev.last(), Some(&MediaEvent::PlayerFinished(UNIT)));
    assert!(p.pcm().is_some());
}

#[test]
fn looped_clip_wraps_and_never_finishes() {
    let mut p = Player::new(UNIT, PlayerMedia::Clip(ramp(200)), true);
    let ev = run(&mut p, 2);
    // Second frame: 160..200, then 0..120 of the next pass.
    let f = p.pcm().unwrap();
    assert_eq!((f[0], f[39], f[40], f[159]), (160, 199, 0, 119));
    let ev2 = run(&mut p, 500);
    assert!(ev
        .iter()
        .chain(&ev2)
        .all(|e| !matches!(e, MediaEvent::PlayerFinished(_))));
    assert_eq!(p.played(), 502 * 160);
}

#[test]
fn a_clip_shorter_than_a_frame_loops_within_the_frame() {
    let mut p = Player::new(UNIT, PlayerMedia::Clip(ramp(50)), true);
    run(&mut p, 1);
    let f = p.pcm().unwrap();
    assert_eq!((f[49], f[50], f[100], f[159]), (49, 0, 0, 9));
}

#[test]
fn pause_holds_position_and_output() {
    let mut p = Player::new(UNIT, PlayerMedia::Clip(ramp(800)), false);
    run(&mut p, 1);
    p.set_paused(true);
    let ev = run(&mut p, 10);
    assert!(ev.is_empty());
    assert!(p.pcm().is_none());
    assert_eq!(p.played(), 160);
    p.set_paused(false);
    run(&mut p, 1);
    assert_eq!(p.pcm().unwrap()[0], 160, "resumes where it paused");
}

#[test]
fn paused_before_start_does_not_report_started() {
    let mut p = Player::new(UNIT, PlayerMedia::Clip(ramp(800)), false);
    p.set_paused(true);
    assert!(run(&mut p, 3).is_empty());
    p.set_paused(false);
    assert!(matches!(
        run(&mut p, 1).first(),
        Some(MediaEvent::PlayerStarted { .. })
    ));
}

#[test]
fn markers_fire_once_when_passed() {
    // 1 s clip; markers at 30 ms (sample 240), 0 ms, and 100 ms before the end.
    let mut p = Player::new(UNIT, PlayerMedia::Clip(ramp(8000)), true);
    p.add_marker(30);
    p.add_marker(0);
    p.add_marker(-100);
    let marker = |ms| MediaEvent::PlayerMarker {
        unit: UNIT,
        offset_ms: ms,
    };
    let first = run(&mut p, 1);
    assert!(first.contains(&marker(0)));
    assert!(!first.contains(&marker(30)));
    assert_eq!(
        run(&mut p, 1),
        vec![marker(30)],
        "sample 240 is in 160..320"
    );
    // 900 ms = sample 7200 = the first sample of tick 45.
    let mid = run(&mut p, 43);
    assert!(mid.is_empty());
    assert_eq!(run(&mut p, 1), vec![marker(-100)]);
    // Looping on: markers do not fire again on the next pass.
    assert!(run(&mut p, 100).is_empty());
}

#[test]
fn marker_at_the_very_end_fires_with_the_finish() {
    let mut p = Player::new(UNIT, PlayerMedia::Clip(ramp(240)), false);
    p.add_marker(30);
    let ev = run(&mut p, 2);
    assert!(ev.contains(&MediaEvent::PlayerMarker {
        unit: UNIT,
        offset_ms: 30
    }));
    assert_eq!(ev.last(), Some(&MediaEvent::PlayerFinished(UNIT)));
}

#[test]
fn markers_already_passed_or_beyond_the_clip_never_fire() {
    let mut p = Player::new(UNIT, PlayerMedia::Clip(ramp(1600)), false);
    run(&mut p, 5);
    p.add_marker(10); // already passed
    p.add_marker(-5_000); // before the start: clamps to 0, passed
    p.add_marker(10_000); // after the end
    let ev = run(&mut p, 20);
    assert!(ev
        .iter()
        .all(|e| !matches!(e, MediaEvent::PlayerMarker { .. })));
}

#[test]
fn empty_clip_starts_and_finishes_at_once() {
    let mut p = Player::new(UNIT, PlayerMedia::Clip(ramp(0)), false);
    let ev = run(&mut p, 1);
    assert_eq!(
        ev,
        vec![
            MediaEvent::PlayerStarted {
                unit: UNIT,
                duration: Duration::ZERO
            },
            MediaEvent::PlayerFinished(UNIT)
        ]
    );
    assert!(p.pcm().is_none());
    let mut looped = Player::new(UNIT, PlayerMedia::Clip(ramp(0)), true);
    assert_eq!(run(&mut looped, 1).len(), 2, "nothing to loop over");
}

#[test]
fn render_encodes_once_per_codec_per_tick() {
    let clip: Clip = vec![1000i16; 480].into();
    let mut p = Player::new(UNIT, PlayerMedia::Clip(clip), false);
    let mut out = [0u8; FRAME_SAMPLES];
    assert!(
        !p.render(Codec::Pcmu, &mut out),
        "nothing before the first tick"
    );
    run(&mut p, 1);
    let mut want = [0u8; FRAME_SAMPLES];
    Codec::Pcmu.encode_frame(&[1000; FRAME_SAMPLES], &mut want);
    assert!(p.render(Codec::Pcmu, &mut out));
    assert_eq!(out, want);
    assert!(p.encoded.done()[0] && !p.encoded.done()[1]);
    assert!(p.render(Codec::Pcma, &mut out));
    Codec::Pcma.encode_frame(&[1000; FRAME_SAMPLES], &mut want);
    assert_eq!(out, want);
    run(&mut p, 1);
    assert_eq!(p.encoded.done(), [false; 2], "the cache lives for one tick");
}

#[test]
fn tone_script_player_runs_the_generator() {
    let script = crate::tones::progress_tone("US").unwrap();
    let mut p = Player::new(UNIT, PlayerMedia::Tones(script), false);
    let ev = run(&mut p, 1);
    assert!(matches!(ev.first(), Some(MediaEvent::PlayerStarted { .. })));
    assert!(
        p.pcm().unwrap().iter().any(|s| *s != 0),
        "ringback starts with tone"
    );
}

#[test]
fn finite_tone_script_finishes_and_loops_when_asked() {
    // 100 ms of 440 Hz: five frames.
    let script = crate::tones::ToneScript::parse("440@-10;0.1(*/0/1)").unwrap();
    let mut once = Player::new(UNIT, PlayerMedia::Tones(script.clone()), false);
    let ev = run(&mut once, 8);
    assert_eq!(
        ev.first(),
        Some(&MediaEvent::PlayerStarted {
            unit: UNIT,
            duration: Duration::from_millis(100)
        })
    );
    assert_eq!(ev.last(), Some(&MediaEvent::PlayerFinished(UNIT)));
    assert!(once.played() >= 800 && once.played() <= 960);
    let mut looped = Player::new(UNIT, PlayerMedia::Tones(script), true);
    let ev = run(&mut looped, 50);
    assert!(ev
        .iter()
        .all(|e| !matches!(e, MediaEvent::PlayerFinished(_))));
    assert!(looped.pcm().is_some());
}
