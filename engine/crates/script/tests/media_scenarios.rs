//! The media example scenarios in `scripts/` (ivr, voicemail, dtmf_echo,
//! play, record_bridge), driven through a fake engine.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use dialtone_core::messages::{
    CallEvent, PlayerEvent, PlayerSource, RecordFormat, SessionCommand, SessionEnd, SessionEvent,
};
use dialtone_core::{CallId, UnitId};
use dialtone_script::{check, Scenario};

fn scenario(file: &str) -> Arc<Scenario> {
    let path = format!("{}/../../../scripts/{file}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Arc::new(Scenario {
        name: file.to_string(),
        source,
    })
}

#[test]
fn every_media_example_compiles() {
    for file in [
        "ivr.js",
        "voicemail.js",
        "dtmf_echo.js",
        "play.js",
        "record_bridge.js",
    ] {
        check(&scenario(file)).unwrap();
    }
}

/// Starts `file` for an inbound call, checks the Answer, reports Connected.
async fn connected_session(
    engine: &mut FakeEngine,
    file: &str,
    custom_data: &str,
) -> (TestSession, CallId) {
    let call = CallId::next();
    let s = engine.spawn_scenario(scenario(file), custom_data, Some(alerting(call)));
    assert!(matches!(engine.next(s.id).await, SessionCommand::Answer { call: c, .. } if c == call));
    s.call_event(call, connected());
    (s, call)
}

/// The text of a TTS playback owned by `call`.
async fn said(engine: &mut FakeEngine, s: &TestSession, call: CallId) -> String {
    match engine.next(s.id).await {
        SessionCommand::CreatePlayer {
            source: PlayerSource::Tts { text, .. },
            owner: Some(c),
            looped: false,
            ..
        } if c == call => text,
        other => panic!("expected the call to say something, got {other:?}"),
    }
}

fn finished() -> CallEvent {
    CallEvent::PlaybackFinished { error: None }
}

fn tone(t: &str) -> CallEvent {
    CallEvent::ToneReceived { tone: t.into() }
}

async fn ivr_start(engine: &mut FakeEngine) -> (TestSession, CallId) {
    let (s, call) = connected_session(engine, "ivr.js", "100").await;
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::HandleTones { call: c, enable: true } if c == call));
    assert!(said(engine, &s, call).await.starts_with("Press 1"));
    (s, call)
}

#[tokio::test]
async fn ivr_reads_the_menu_twice_then_hangs_up() {
    let mut engine = FakeEngine::start(config());
    let (s, call) = ivr_start(&mut engine).await;
    s.call_event(call, finished());
    // The custom data shortened the wait to 100 ms; one retry.
    assert!(said(&mut engine, &s, call).await.starts_with("Press 1"));
    s.call_event(call, finished());
    assert!(matches!(engine.next(s.id).await, SessionCommand::Hangup { call: c, .. } if c == call));
    s.call_event(call, disconnected(200));
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
}

#[tokio::test]
async fn ivr_option_1_plays_a_tone_script() {
    let mut engine = FakeEngine::start(config());
    let (s, call) = ivr_start(&mut engine).await;
    s.call_event(call, finished());
    s.call_event(call, tone("9"));
    s.call_event(call, tone("1"));
    let SessionCommand::CreatePlayer {
        unit,
        source: PlayerSource::ToneScript(_),
        owner: None,
        ..
    } = engine.next(s.id).await
    else {
        panic!("expected a tone-script player")
    };
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::SendMedia { from, to } if from == unit && to == UnitId::from(call)));
    s.send(SessionEvent::Player {
        unit,
        event: PlayerEvent::PlaybackFinished { error: None },
    });
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Hangup { .. }
    ));
    s.call_event(call, disconnected(200));
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    let logs = messages(s.id, "log");
    assert!(
        logs.contains(&"ivr: key 9 is not on the menu".to_string()),
        "{logs:?}"
    );
    assert!(logs.contains(&"ivr: option 1".to_string()), "{logs:?}");
}

#[tokio::test]
async fn ivr_option_2_says_goodbye() {
    let mut engine = FakeEngine::start(config());
    let (s, call) = ivr_start(&mut engine).await;
    s.call_event(call, tone("2"));
    assert!(said(&mut engine, &s, call).await.contains("Goodbye"));
    s.call_event(call, finished());
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Hangup { .. }
    ));
    s.call_event(call, disconnected(200));
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
}

#[tokio::test]
async fn voicemail_prompts_beeps_records_and_logs_the_url() {
    let mut engine = FakeEngine::start(config());
    let (s, call) = connected_session(&mut engine, "voicemail.js", "").await;
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::HandleTones { enable: true, .. }
    ));
    assert!(said(&mut engine, &s, call)
        .await
        .contains("leave a message"));
    s.call_event(call, finished());
    let SessionCommand::CreatePlayer {
        unit: beep,
        source: PlayerSource::ToneScript(_),
        owner: None,
        ..
    } = engine.next(s.id).await
    else {
        panic!("expected the beep")
    };
    assert!(
        matches!(engine.next(s.id).await, SessionCommand::SendMedia { from, .. } if from == beep)
    );
    s.send(SessionEvent::Player {
        unit: beep,
        event: PlayerEvent::PlaybackFinished { error: None },
    });
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::CreateRecorder { call: Some(c), stereo: false, format: RecordFormat::Wav, .. } if c == call));
    let url = "http://127.0.0.1:8088/records/vm.wav";
    s.call_event(call, CallEvent::RecordStarted { url: url.into() });
    s.call_event(call, tone("#"));
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Hangup { .. }
    ));
    s.call_event(call, disconnected(200));
    s.call_event(
        call,
        CallEvent::RecordStopped {
            url: url.into(),
            duration: Duration::from_secs(12),
        },
    );
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    let logs = messages(s.id, "log");
    assert!(
        logs.contains(&format!("voicemail: message {url} (12 s)")),
        "{logs:?}"
    );
}

#[tokio::test]
async fn dtmf_echo_sends_every_key_back() {
    let mut engine = FakeEngine::start(config());
    let (s, call) = connected_session(&mut engine, "dtmf_echo.js", "").await;
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::HandleTones { enable: true, .. }
    ));
    for key in ["7", "#", "A"] {
        s.call_event(call, tone(key));
        assert!(matches!(engine.next(s.id).await,
            SessionCommand::SendDigits { call: c, digits } if c == call && digits == key));
    }
    s.call_event(call, disconnected(200));
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
}

#[tokio::test]
async fn play_plays_the_custom_data_and_hangs_up_at_the_end() {
    let mut engine = FakeEngine::start(config());
    let (s, call) = connected_session(&mut engine, "play.js", "http://example.com/a.mp3").await;
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::CreatePlayer { source: PlayerSource::Url(ref u), owner: Some(c), looped: false, .. }
            if u == "http://example.com/a.mp3" && c == call));
    s.call_event(call, CallEvent::PlaybackReady);
    s.call_event(
        call,
        CallEvent::PlaybackStarted {
            duration: Duration::from_millis(3500),
        },
    );
    s.call_event(call, finished());
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Hangup { .. }
    ));
    s.call_event(call, disconnected(200));
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert!(messages(s.id, "log").contains(&"play: http://example.com/a.mp3 (3.5 s)".to_string()));
}

#[tokio::test]
async fn record_bridge_records_the_caller_in_stereo_once_connected() {
    let mut engine = FakeEngine::start(config());
    let inbound = CallId::next();
    let s = engine.spawn_scenario(
        scenario("record_bridge.js"),
        "sip:bob@127.0.0.1:5070",
        Some(alerting(inbound)),
    );
    let SessionCommand::CallSip(out) = engine.next(s.id).await else {
        panic!("expected CallSip")
    };
    assert_eq!(out.to, "sip:bob@127.0.0.1:5070");
    s.call_event(out.call, connected());
    assert!(
        matches!(engine.next(s.id).await, SessionCommand::Answer { call, .. } if call == inbound)
    );
    for _ in 0..2 {
        assert!(matches!(
            engine.next(s.id).await,
            SessionCommand::SendMedia { .. }
        ));
    }
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::CreateRecorder { call: Some(c), stereo: true, format: RecordFormat::Wav, .. } if c == inbound));
    s.call_event(inbound, connected());
    s.call_event(
        inbound,
        CallEvent::RecordStarted {
            url: "http://h/r.wav".into(),
        },
    );
    s.call_event(out.call, disconnected(200));
    let (commands, end) = engine.until_ended(s.id).await;
    assert!(
        matches!(commands[..], [SessionCommand::Hangup { call, .. }] if call == inbound),
        "{commands:?}"
    );
    assert_eq!(end, SessionEnd::Normal);
    assert!(
        messages(s.id, "log").contains(&"record_bridge: recording to http://h/r.wav".to_string())
    );
}
