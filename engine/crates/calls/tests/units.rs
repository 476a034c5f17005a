//! Players and recorders: a call's playback and `record()`, standalone
//! players and recorders, loading, replacing, stopping, failing, and what
//! goes when a call or session goes.

mod harness;

use std::sync::Arc;
use std::time::Duration;

use dialtone_calls::{Fact, Job, JobResult, MediaCommand, Output};
use dialtone_core::messages::{
    PlayerEvent, PlayerOp, PlayerSource, RecordFormat, RecorderEvent, RecorderOp, SessionCommand,
    SessionEnd, SessionEvent,
};
use dialtone_core::{CallId, SessionId, UnitId};
use dialtone_media::{MediaEvent, PlayerMedia};
use dialtone_sip::UaEvent;
use harness::*;

fn new_unit() -> UnitId {
    UnitId(CallId::next().0)
}

fn play(
    h: &mut Harness,
    session: SessionId,
    owner: Option<CallId>,
    source: PlayerSource,
) -> (UnitId, Vec<Output>) {
    let unit = new_unit();
    let out = h.cmd(
        session,
        SessionCommand::CreatePlayer {
            unit,
            source,
            looped: false,
            owner,
        },
    );
    (unit, out)
}

/// A recorder of `call` (or standalone), WAV, mono.
fn record(h: &mut Harness, session: SessionId, call: Option<CallId>) -> (UnitId, Vec<Output>) {
    let unit = new_unit();
    let out = h.cmd(
        session,
        SessionCommand::CreateRecorder {
            unit,
            call,
            stereo: false,
            format: RecordFormat::Wav,
        },
    );
    (unit, out)
}

fn tone(h: &mut Harness, session: SessionId, owner: Option<CallId>) -> (UnitId, Vec<Output>) {
    play(
        h,
        session,
        owner,
        PlayerSource::ToneScript("440@-10;1(1/0/1)".into()),
    )
}

fn url(u: &str) -> PlayerSource {
    PlayerSource::Url(u.into())
}

fn clip() -> Result<PlayerMedia, String> {
    Ok(PlayerMedia::Clip(Arc::from(vec![0i16; 160])))
}

fn mu(unit: UnitId) -> dialtone_media::UnitId {
    dialtone_media::UnitId(unit.0)
}

fn player_events(out: &[Output], unit: UnitId) -> Vec<PlayerEvent> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Player { unit: u, event } if u == unit => Some(event),
            _ => None,
        })
        .collect()
}

fn recorder_events(out: &[Output], unit: UnitId) -> Vec<RecorderEvent> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Recorder { unit: u, event } if u == unit => Some(event),
            _ => None,
        })
        .collect()
}

#[test]
fn a_tone_script_plays_at_once_into_its_call() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let (unit, out) = tone(&mut h, inbound.session, Some(inbound.call));
    assert!(jobs(&out).is_empty());
    let media = media_cmds(&out);
    assert!(matches!(media[0], MediaCommand::AddPlayer { unit: u, .. } if *u == unit));
    assert!(matches!(
        media[1],
        MediaCommand::Connect { from, to } if *from == unit && to.0 == inbound.call.0
    ));
    assert_eq!(call_events(&out, inbound.call), ["PlaybackReady"]);
    let out = h.media(MediaEvent::PlayerStarted {
        unit: mu(unit),
        duration: Duration::from_secs(1),
    });
    assert_eq!(call_events(&out, inbound.call), ["PlaybackStarted"]);
    let out = h.media(MediaEvent::PlayerFinished(mu(unit)));
    assert_eq!(call_events(&out, inbound.call), ["PlaybackFinished"]);
    assert!(matches!(media_cmds(&out)[0], MediaCommand::Release(u) if *u == unit));
    assert_eq!(h.core.live_units(), 0);
}

#[test]
fn a_bad_tone_script_finishes_with_an_error() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let (_, out) = play(
        &mut h,
        inbound.session,
        Some(inbound.call),
        PlayerSource::ToneScript("nonsense".into()),
    );
    let events = call_events(&out, inbound.call);
    assert_eq!(events.len(), 1);
    assert!(
        events[0].starts_with("PlaybackFinished error bad tone script"),
        "{events:?}"
    );
    assert_eq!(h.core.live_units(), 0);
}

#[test]
fn an_unknown_progress_tone_country_finishes_with_an_error() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let (_, out) = play(
        &mut h,
        inbound.session,
        Some(inbound.call),
        PlayerSource::ProgressTone("XX".into()),
    );
    assert!(call_events(&out, inbound.call)[0].contains("no progress tone"));
}

#[test]
fn a_url_is_loaded_by_a_job_then_played() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let (unit, out) = play(
        &mut h,
        inbound.session,
        Some(inbound.call),
        url("http://x/a.wav"),
    );
    assert!(matches!(&jobs(&out)[0], Job::Load { unit: u, .. } if *u == unit));
    assert!(media_cmds(&out).is_empty());
    let out = h.job(JobResult::Loaded {
        unit,
        result: clip(),
    });
    assert!(matches!(
        media_cmds(&out)[0],
        MediaCommand::AddPlayer { .. }
    ));
    assert_eq!(call_events(&out, inbound.call), ["PlaybackReady"]);
}

#[test]
fn a_load_failure_finishes_the_playback_with_its_error() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let (unit, _) = play(
        &mut h,
        inbound.session,
        Some(inbound.call),
        url("http://x/404.wav"),
    );
    let out = h.job(JobResult::Loaded {
        unit,
        result: Err("HTTP 404".into()),
    });
    assert_eq!(
        call_events(&out, inbound.call),
        ["PlaybackFinished error HTTP 404"]
    );
    assert_eq!(h.core.live_units(), 0);
}

#[test]
fn a_new_playback_replaces_the_old_one() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let (first, _) = play(
        &mut h,
        inbound.session,
        Some(inbound.call),
        url("http://x/1.wav"),
    );
    let (second, out) = play(
        &mut h,
        inbound.session,
        Some(inbound.call),
        url("http://x/2.wav"),
    );
    assert!(matches!(media_cmds(&out)[0], MediaCommand::Release(u) if *u == first));
    // The first one's late load is dropped; the second plays.
    assert!(h
        .job(JobResult::Loaded {
            unit: first,
            result: clip()
        })
        .is_empty());
    let out = h.job(JobResult::Loaded {
        unit: second,
        result: clip(),
    });
    assert_eq!(call_events(&out, inbound.call), ["PlaybackReady"]);
    // Events of the replaced player are not the call's any more.
    assert!(h.media(MediaEvent::PlayerFinished(mu(first))).is_empty());
}

#[test]
fn stop_playback_raises_no_event() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let (unit, _) = tone(&mut h, inbound.session, Some(inbound.call));
    let out = h.cmd(
        inbound.session,
        SessionCommand::StopPlayback { call: inbound.call },
    );
    assert!(matches!(media_cmds(&out)[0], MediaCommand::Release(u) if *u == unit));
    assert!(events(&out).is_empty());
    assert!(h.media(MediaEvent::PlayerFinished(mu(unit))).is_empty());
}

#[test]
fn controls_sent_while_loading_wait_for_the_player() {
    let mut h = Harness::default();
    let session = h.session();
    let (unit, _) = play(&mut h, session, None, url("http://x/a.wav"));
    for op in [PlayerOp::Pause, PlayerOp::AddMarker(500)] {
        assert!(h
            .cmd(session, SessionCommand::PlayerControl { unit, op })
            .is_empty());
    }
    let out = h.job(JobResult::Loaded {
        unit,
        result: clip(),
    });
    let media = media_cmds(&out);
    assert!(matches!(media[0], MediaCommand::AddPlayer { .. }));
    assert!(matches!(
        media[1],
        MediaCommand::PausePlayer { paused: true, .. }
    ));
    assert!(matches!(
        media[2],
        MediaCommand::AddMarker { offset_ms: 500, .. }
    ));
    assert_eq!(player_events(&out, unit), [PlayerEvent::PlaybackReady]);
}

#[test]
fn a_sequence_player_is_loaded_whole_and_marks_inside_its_segments() {
    let mut h = Harness::default();
    let session = h.session();
    let segments = vec![
        url("http://x/a.wav"),
        PlayerSource::Tts {
            text: "hello".into(),
            voice: None,
            rate: None,
            engine: None,
        },
    ];
    let (unit, out) = play(&mut h, session, None, PlayerSource::Sequence(segments));
    assert!(matches!(
        &jobs(&out)[0],
        Job::Load { unit: u, source: PlayerSource::Sequence(s) } if *u == unit && s.len() == 2
    ));
    // Sent while loading: placed once the segments' lengths are known.
    for (segment, offset_ms) in [(1, 250), (1, -100), (0, 5_000), (7, 0)] {
        let op = PlayerOp::AddSegmentMarker { segment, offset_ms };
        assert!(h
            .cmd(session, SessionCommand::PlayerControl { unit, op })
            .is_empty());
    }
    // 1.5 s and 1 s at 8 kHz.
    let out = h.job(JobResult::LoadedSequence {
        unit,
        result: Ok((
            std::sync::Arc::from(vec![0i16; 20_000]),
            vec![12_000, 8_000],
        )),
    });
    let media = media_cmds(&out);
    assert!(matches!(media[0], MediaCommand::AddPlayer { .. }));
    let marks: Vec<i64> = media
        .iter()
        .filter_map(|m| match m {
            MediaCommand::AddMarker { offset_ms, .. } => Some(*offset_ms),
            _ => None,
        })
        .collect();
    // Past the first segment's end, and a segment there is not: never.
    assert_eq!(marks, [1_750, 2_400]);
    assert_eq!(player_events(&out, unit), [PlayerEvent::PlaybackReady]);
    // The media reports where it marked; the script hears its own offsets.
    let out = h.media(MediaEvent::PlayerMarker {
        unit: mu(unit),
        offset_ms: 2_400,
    });
    assert_eq!(
        player_events(&out, unit),
        [PlayerEvent::MarkerReached { offset: -100 }]
    );
    let out = h.media(MediaEvent::PlayerMarker {
        unit: mu(unit),
        offset_ms: 1_750,
    });
    assert_eq!(
        player_events(&out, unit),
        [PlayerEvent::MarkerReached { offset: 250 }]
    );
}

#[test]
fn a_sequence_that_cannot_be_loaded_fails_as_a_player() {
    let mut h = Harness::default();
    let session = h.session();
    let (unit, _) = play(
        &mut h,
        session,
        None,
        PlayerSource::Sequence(vec![url("http://x/404.wav")]),
    );
    let out = h.job(JobResult::LoadedSequence {
        unit,
        result: Err("segment 0: HTTP 404".into()),
    });
    assert_eq!(
        player_events(&out, unit),
        [
            PlayerEvent::Error {
                error: "segment 0: HTTP 404".into()
            },
            PlayerEvent::PlaybackFinished {
                error: Some("segment 0: HTTP 404".into())
            }
        ]
    );
    assert_eq!(h.core.live_units(), 0);
}

#[test]
fn stop_while_loading_stops_at_once() {
    let mut h = Harness::default();
    let session = h.session();
    let (unit, _) = play(&mut h, session, None, url("http://x/a.wav"));
    let out = h.cmd(
        session,
        SessionCommand::PlayerControl {
            unit,
            op: PlayerOp::Stop,
        },
    );
    assert_eq!(player_events(&out, unit), [PlayerEvent::Stopped]);
    assert!(h
        .job(JobResult::Loaded {
            unit,
            result: clip()
        })
        .is_empty());
}

#[test]
fn a_standalone_player_reports_as_a_player() {
    let mut h = Harness::default();
    let session = h.session();
    let (unit, out) = tone(&mut h, session, None);
    assert_eq!(player_events(&out, unit), [PlayerEvent::PlaybackReady]);
    assert_eq!(media_cmds(&out).len(), 1, "no input is set for it");
    let out = h.media(MediaEvent::PlayerStarted {
        unit: mu(unit),
        duration: Duration::from_secs(1),
    });
    assert_eq!(
        player_events(&out, unit),
        [PlayerEvent::Started {
            duration: Duration::from_secs(1)
        }]
    );
    let out = h.media(MediaEvent::PlayerMarker {
        unit: mu(unit),
        offset_ms: 250,
    });
    assert_eq!(
        player_events(&out, unit),
        [PlayerEvent::MarkerReached { offset: 250 }]
    );
    let out = h.media(MediaEvent::PlayerFinished(mu(unit)));
    assert_eq!(
        player_events(&out, unit),
        [PlayerEvent::PlaybackFinished { error: None }]
    );
}

#[test]
fn a_standalone_player_that_fails_reports_error_then_finished() {
    let mut h = Harness::default();
    let session = h.session();
    let (unit, _) = play(&mut h, session, None, url("http://x/a.wav"));
    let out = h.job(JobResult::Loaded {
        unit,
        result: Err("decode".into()),
    });
    assert_eq!(
        player_events(&out, unit),
        [
            PlayerEvent::Error {
                error: "decode".into()
            },
            PlayerEvent::PlaybackFinished {
                error: Some("decode".into())
            }
        ]
    );
}

#[test]
fn a_media_engine_failure_to_add_a_player_ends_its_playback() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let (unit, _) = tone(&mut h, inbound.session, Some(inbound.call));
    h.core.handle_media_failure(unit, "worker gone".into());
    let out = h.take();
    assert_eq!(
        call_events(&out, inbound.call),
        ["PlaybackFinished error worker gone"]
    );
}

#[test]
fn a_call_recording_is_filed_and_reported_on_the_call() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let unit = new_unit();
    let out = h.cmd(
        inbound.session,
        SessionCommand::CreateRecorder {
            unit,
            call: Some(inbound.call),
            stereo: true,
            format: RecordFormat::Mp3,
        },
    );
    let file = format!("{}-{}.mp3", inbound.session, unit.0);
    assert!(facts(&out).contains(&Fact::Recording {
        session: inbound.session,
        call: Some(inbound.call),
        file: file.clone()
    }));
    let MediaCommand::AddRecorder { spec, .. } = media_cmds(&out)[0] else {
        panic!("no recorder");
    };
    assert_eq!(spec.path, std::path::Path::new("/rec").join(&file));
    assert!(spec.stereo);
    assert_eq!(spec.tap, Some(media_unit(inbound.call)));
    let out = h.media(MediaEvent::RecorderStarted(mu(unit)));
    assert_eq!(call_events(&out, inbound.call), ["RecordStarted"]);
}

#[test]
fn a_call_ending_stops_its_recording_after_disconnected() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let (unit, _) = record(&mut h, inbound.session, Some(inbound.call));
    let out = h.ua(UaEvent::Terminated {
        leg: inbound.leg,
        by_remote: true,
        code: 200,
        reason: "BYE".into(),
        headers: Vec::new(),
    });
    assert!(media_cmds(&out)
        .iter()
        .any(|c| matches!(c, MediaCommand::Release(u) if *u == unit)));
    let out = h.media(MediaEvent::RecorderStopped {
        unit: mu(unit),
        duration: Duration::from_secs(3),
    });
    assert_eq!(call_events(&out, inbound.call), ["RecordStopped"]);
    assert_eq!(h.core.live_units(), 0);
}

#[test]
fn a_standalone_recorder_stops_mutes_and_reports_as_a_recorder() {
    let mut h = Harness::default();
    let session = h.session();
    let (unit, _) = record(&mut h, session, None);
    let out = h.media(MediaEvent::RecorderStarted(mu(unit)));
    assert!(
        matches!(&recorder_events(&out, unit)[0], RecorderEvent::Started { url } if url.starts_with("http://h/rec/"))
    );
    let out = h.cmd(
        session,
        SessionCommand::RecorderControl {
            unit,
            op: RecorderOp::Mute(true),
        },
    );
    assert!(matches!(
        media_cmds(&out)[0],
        MediaCommand::MuteRecorder { muted: true, .. }
    ));
    let out = h.cmd(
        session,
        SessionCommand::RecorderControl {
            unit,
            op: RecorderOp::Stop,
        },
    );
    assert!(matches!(media_cmds(&out)[0], MediaCommand::Release(u) if *u == unit));
    let out = h.media(MediaEvent::RecorderStopped {
        unit: mu(unit),
        duration: Duration::from_secs(2),
    });
    assert!(
        matches!(&recorder_events(&out, unit)[0], RecorderEvent::Stopped { duration, .. } if *duration == Duration::from_secs(2))
    );
}

#[test]
fn a_recording_error_reaches_its_call() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let (unit, _) = record(&mut h, inbound.session, Some(inbound.call));
    let out = h.media(MediaEvent::RecorderError {
        unit: mu(unit),
        error: "disk full".into(),
    });
    assert_eq!(call_events(&out, inbound.call), ["RecordError disk full"]);
    assert_eq!(h.core.live_units(), 0);
}

#[test]
fn a_recorder_of_a_call_the_session_does_not_own_is_refused() {
    let mut h = Harness::default();
    let theirs = h.connected();
    let mine = h.session();
    let out = h.cmd(
        mine,
        SessionCommand::CreateRecorder {
            unit: new_unit(),
            call: Some(theirs.call),
            stereo: false,
            format: RecordFormat::Wav,
        },
    );
    assert!(out.is_empty());
}

#[test]
fn a_unit_id_in_use_is_refused() {
    let mut h = Harness::default();
    let session = h.session();
    let (unit, _) = play(&mut h, session, None, url("http://x/a.wav"));
    let out = h.cmd(
        session,
        SessionCommand::CreateRecorder {
            unit,
            call: None,
            stereo: false,
            format: RecordFormat::Wav,
        },
    );
    assert!(out.is_empty());
}

#[test]
fn the_end_of_a_session_releases_its_units_silently() {
    let mut h = Harness::default();
    let session = h.session();
    let (player, _) = tone(&mut h, session, None);
    let recorder = new_unit();
    h.cmd(
        session,
        SessionCommand::CreateRecorder {
            unit: recorder,
            call: None,
            stereo: false,
            format: RecordFormat::Wav,
        },
    );
    let out = h.end_session(session, SessionEnd::Normal);
    let released: Vec<UnitId> = media_cmds(&out)
        .iter()
        .filter_map(|c| match c {
            MediaCommand::Release(u) => Some(*u),
            _ => None,
        })
        .collect();
    assert!(released.contains(&player) && released.contains(&recorder));
    assert!(h
        .media(MediaEvent::RecorderStopped {
            unit: mu(recorder),
            duration: Duration::ZERO
        })
        .is_empty());
    assert_eq!(h.core.live_units(), 0);
}

#[test]
fn units_of_another_session_cannot_be_controlled_or_wired() {
    let mut h = Harness::default();
    let a = h.session();
    let b = h.session();
    let (unit, _) = tone(&mut h, a, None);
    assert!(h
        .cmd(
            b,
            SessionCommand::PlayerControl {
                unit,
                op: PlayerOp::Stop
            }
        )
        .is_empty());
    let inbound = h.connected();
    assert!(h
        .cmd(
            inbound.session,
            SessionCommand::SendMedia {
                from: unit,
                to: inbound.call.into()
            }
        )
        .is_empty());
}

#[test]
fn a_standalone_recording_error_reaches_the_recorder() {
    let mut h = Harness::default();
    let session = h.session();
    let (unit, _) = record(&mut h, session, None);
    let out = h.media(MediaEvent::RecorderError {
        unit: mu(unit),
        error: "disk full".into(),
    });
    assert_eq!(
        recorder_events(&out, unit),
        [RecorderEvent::Error {
            error: "disk full".into()
        }]
    );
    assert!(media_cmds(&out)
        .iter()
        .any(|c| matches!(c, MediaCommand::Release(u) if *u == unit)));
    assert_eq!(h.core.live_units(), 0);
}

#[test]
fn a_standalone_tts_player_loads_then_plays() {
    let mut h = Harness::default();
    let session = h.session();
    let (unit, out) = play(
        &mut h,
        session,
        None,
        PlayerSource::Tts {
            text: "Hello".into(),
            voice: Some("en".into()),
            rate: None,
            engine: None,
        },
    );
    assert!(matches!(
        &jobs(&out)[0],
        Job::Load { source: PlayerSource::Tts { text, .. }, .. } if text == "Hello"
    ));
    let out = h.job(JobResult::Loaded {
        unit,
        result: clip(),
    });
    assert_eq!(player_events(&out, unit), [PlayerEvent::PlaybackReady]);
}
