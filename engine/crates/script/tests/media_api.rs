//! Playback, TTS, tones, DTMF, recording, players and recorders, driven
//! through a fake engine: the commands each method sends, the events each
//! listener gets, and what misuse throws.

mod common;

use std::time::Duration;

use common::*;
use dialtone_core::messages::{
    CallEvent, PlayerEvent, PlayerOp, PlayerSource, RecordFormat, RecorderEvent, RecorderOp,
    SessionCommand, SessionEnd, SessionEvent,
};
use dialtone_core::{CallId, UnitId};

/// Spawns `script` for an inbound call and skips the Answer it sends on
/// alerting; the call is then reported connected.
async fn answered(engine: &mut FakeEngine, script: &str) -> (TestSession, CallId) {
    let call = CallId::next();
    let source = format!(
        "VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {{
            var call = e.call;
            call.answer();
            call.addEventListener(CallEvents.Connected, function () {{ {script} }});
        }});"
    );
    let s = engine.spawn("media.js", &source, "", Some(alerting(call)));
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Answer { .. }
    ));
    s.call_event(call, connected());
    (s, call)
}

#[tokio::test]
async fn call_playback_methods_send_commands() {
    let mut engine = FakeEngine::start(config());
    let (s, call) = answered(
        &mut engine,
        r#"
        call.startPlayback("http://example.com/a.wav", {loop: true});
        call.startPlayback("file:///tmp/b.mp3", false);
        call.startPlayback("prompts/c.ogg");
        call.say("Hello", {voice: "en-us", ttsOptions: {rate: "fast"}, engine: "espeak"});
        call.say("Bonjour", "fr");
        call.playProgressTone("us");
        call.stopPlayback();
        call.handleTones(true);
        call.sendDigits("12p3#*AD");
        call.record({stereo: true, format: "mp3", hd_audio: true});
        call.handleTones(false);
        "#,
    )
    .await;
    let mut units = Vec::new();
    let mut playback = |cmd: SessionCommand| -> (PlayerSource, bool) {
        match cmd {
            SessionCommand::CreatePlayer {
                unit,
                source,
                looped,
                owner,
            } => {
                assert_eq!(owner, Some(call));
                units.push(unit);
                (source, looped)
            }
            other => panic!("expected CreatePlayer, got {other:?}"),
        }
    };
    assert_eq!(
        playback(engine.next(s.id).await),
        (PlayerSource::Url("http://example.com/a.wav".into()), true)
    );
    assert_eq!(
        playback(engine.next(s.id).await),
        (PlayerSource::Url("file:///tmp/b.mp3".into()), false)
    );
    assert_eq!(
        playback(engine.next(s.id).await),
        (PlayerSource::Url("prompts/c.ogg".into()), false)
    );
    assert_eq!(
        playback(engine.next(s.id).await),
        (
            PlayerSource::Tts {
                text: "Hello".into(),
                voice: Some("en-us".into()),
                rate: Some(1.25),
                engine: Some("espeak".into())
            },
            false
        )
    );
    assert_eq!(
        playback(engine.next(s.id).await),
        (
            PlayerSource::Tts {
                text: "Bonjour".into(),
                voice: Some("fr".into()),
                rate: None,
                engine: None
            },
            false
        )
    );
    assert_eq!(
        playback(engine.next(s.id).await),
        (PlayerSource::ProgressTone("US".into()), true)
    );
    // Every playback is a fresh unit, distinct from the call's.
    let mut distinct = units.clone();
    distinct.push(UnitId::from(call));
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), units.len() + 1);
    assert!(
        matches!(engine.next(s.id).await, SessionCommand::StopPlayback { call: c } if c == call)
    );
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::HandleTones { call: c, enable: true } if c == call));
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::SendDigits { call: c, digits } if c == call && digits == "12p3#*AD"));
    match engine.next(s.id).await {
        SessionCommand::CreateRecorder {
            unit,
            call: Some(c),
            stereo: true,
            format: RecordFormat::Mp3,
        } => {
            assert_eq!(c, call);
            assert_ne!(unit, UnitId::from(call));
        }
        other => panic!("expected CreateRecorder, got {other:?}"),
    }
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::HandleTones { enable: false, .. }
    ));
}

#[tokio::test]
async fn call_media_events_reach_listeners_with_their_fields() {
    let mut engine = FakeEngine::start(config());
    let (s, call) = answered(
        &mut engine,
        r#"
        function show(e) {
            var parts = [e.name, e.id === call.id(), e.call === call];
            ["duration", "error", "tone", "url"].forEach(function (k) {
                if (k in e) parts.push(k + "=" + e[k]);
            });
            Logger.write(parts.join(" "));
            if (e.name === CallEvents.RecordStopped) call.hangup();
        }
        [CallEvents.PlaybackReady, CallEvents.PlaybackStarted, CallEvents.PlaybackFinished,
         CallEvents.ToneReceived, CallEvents.RecordStarted, CallEvents.RecordStopped,
         CallEvents.RecordError].forEach(function (n) { call.addEventListener(n, show); });
        call.startPlayback("a.wav");
        "#,
    )
    .await;
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::CreatePlayer { .. }
    ));
    for event in [
        CallEvent::PlaybackReady,
        CallEvent::PlaybackStarted {
            duration: Duration::from_millis(2500),
        },
        CallEvent::PlaybackFinished { error: None },
        CallEvent::PlaybackFinished {
            error: Some("404 Not Found".into()),
        },
        CallEvent::ToneReceived { tone: "5".into() },
        CallEvent::RecordStarted {
            url: "http://127.0.0.1:8080/records/r.wav".into(),
        },
        CallEvent::RecordError {
            error: "disk full".into(),
        },
        CallEvent::RecordStopped {
            url: "http://127.0.0.1:8080/records/r.wav".into(),
            duration: Duration::from_secs(7),
        },
    ] {
        s.call_event(call, event);
    }
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Hangup { .. }
    ));
    let logs = messages(s.id, "log");
    assert_eq!(
        logs,
        vec![
            "Call.PlaybackReady true true",
            "Call.PlaybackStarted true true duration=2.5",
            "Call.PlaybackFinished true true",
            "Call.PlaybackFinished true true error=404 Not Found",
            "Call.ToneReceived true true tone=5",
            "Call.RecordStarted true true url=http://127.0.0.1:8080/records/r.wav",
            "Call.RecordError true true error=disk full",
            "Call.RecordStopped true true duration=7 url=http://127.0.0.1:8080/records/r.wav",
        ]
    );
}

#[tokio::test]
async fn a_second_playback_is_a_second_create_player_owned_by_the_call() {
    let mut engine = FakeEngine::start(config());
    let (s, call) = answered(
        &mut engine,
        r#"call.startPlayback("one.wav"); call.say("two");"#,
    )
    .await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        match engine.next(s.id).await {
            SessionCommand::CreatePlayer {
                unit,
                owner: Some(c),
                ..
            } if c == call => seen.push(unit),
            other => panic!("expected CreatePlayer owned by the call, got {other:?}"),
        }
    }
    assert_ne!(seen[0], seen[1]);
}

#[tokio::test]
async fn players_send_commands_and_get_created_first() {
    let mut engine = FakeEngine::start(config());
    let (s, call) = answered(
        &mut engine,
        r#"
        var p = VoxEngine.createURLPlayer("http://example.com/music.mp3", {loop: true});
        var order = [];
        [PlayerEvents.Created, PlayerEvents.PlaybackReady, PlayerEvents.Started,
         PlayerEvents.PlaybackMarkerReached, PlayerEvents.PlaybackFinished, PlayerEvents.Error,
         PlayerEvents.Stopped].forEach(function (n) {
            p.addEventListener(n, function (e) {
                var parts = [e.name, e.player === p];
                ["duration", "offset", "error"].forEach(function (k) {
                    if (k in e) parts.push(k + "=" + e[k]);
                });
                Logger.write(parts.join(" "));
                if (e.name === PlayerEvents.Stopped) call.hangup();
            });
        });
        p.sendMediaTo(call);
        p.addMarker(-1500);
        p.pause();
        p.resume();
        p.stopMediaTo(call);
        p.stop();
        p.stop();
        Logger.write("id " + (p.id() !== call.id()) + " " + String(p));
        var t = VoxEngine.createTTSPlayer("Hi", {language: "de", rate: 0.8});
        var tone = VoxEngine.createToneScriptPlayer("425@-10;10(1/4/1)", true);
        var tone2 = VoxEngine.createToneScriptPlayer("425@-10;10(1/4/1)", {loop: false});
        "#,
    )
    .await;
    let SessionCommand::CreatePlayer {
        unit,
        source,
        looped: true,
        owner: None,
    } = engine.next(s.id).await
    else {
        panic!("expected CreatePlayer")
    };
    assert_eq!(
        source,
        PlayerSource::Url("http://example.com/music.mp3".into())
    );
    let to = UnitId::from(call);
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::SendMedia { from, to: t } if from == unit && t == to));
    for op in [
        PlayerOp::AddMarker(-1500),
        PlayerOp::Pause,
        PlayerOp::Resume,
    ] {
        assert!(matches!(engine.next(s.id).await,
            SessionCommand::PlayerControl { unit: u, op: o } if u == unit && o == op));
    }
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::StopMedia { from, to: t } if from == unit && t == to));
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::PlayerControl { unit: u, op: PlayerOp::Stop } if u == unit));
    // The second stop() sends nothing: the next command is the TTS player.
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::CreatePlayer { source: PlayerSource::Tts { ref text, ref voice, rate: Some(r), engine: None }, looped: false, owner: None, .. }
            if text == "Hi" && voice.as_deref() == Some("de") && (r - 0.8).abs() < 1e-6));
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::CreatePlayer { source: PlayerSource::ToneScript(ref t), looped: true, owner: None, .. } if t == "425@-10;10(1/4/1)"));
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::CreatePlayer {
            source: PlayerSource::ToneScript(_),
            looped: false,
            ..
        }
    ));
    // An engine event sent now arrives after the host's own Created.
    for event in [
        PlayerEvent::PlaybackReady,
        PlayerEvent::Started {
            duration: Duration::from_millis(1500),
        },
        PlayerEvent::MarkerReached { offset: -1500 },
        PlayerEvent::PlaybackFinished { error: None },
        PlayerEvent::Error {
            error: "decode failed".into(),
        },
        PlayerEvent::Stopped,
    ] {
        s.send(SessionEvent::Player { unit, event });
    }
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Hangup { .. }
    ));
    let logs = messages(s.id, "log");
    assert_eq!(
        logs,
        vec![
            format!("player.stop(): player {} was stopped", unit.0),
            "id true Player(id=".to_string() + &unit.0.to_string() + ")",
            "Player.Created true".into(),
            "Player.PlaybackReady true".into(),
            "Player.Started true duration=1.5".into(),
            "Player.PlaybackMarkerReached true offset=-1500".into(),
            "Player.PlaybackFinished true".into(),
            "Player.Error true error=decode failed".into(),
            "Player.Stopped true".into(),
        ],
    );
}

#[tokio::test]
async fn sequence_players_send_their_segments_and_name_their_events() {
    let mut engine = FakeEngine::start(config());
    let (s, call) = answered(
        &mut engine,
        r#"
        var outro = { text: "Bye", parameters: { language: "de" } };
        var p = VoxEngine.createSequencePlayer({ segments: [{ url: "intro.wav" }, outro] });
        [SequencePlayerEvents.Created, SequencePlayerEvents.Started,
         SequencePlayerEvents.PlaybackMarkerReached, SequencePlayerEvents.PlaybackFinished]
            .forEach(function (n) {
                p.addEventListener(n, function (e) {
                    var parts = [e.name, e.sequencePlayer === p, "player" in e];
                    ["duration", "offset"].forEach(function (k) {
                        if (k in e) parts.push(k + "=" + e[k]);
                    });
                    Logger.write(parts.join(" "));
                    if (e.name === SequencePlayerEvents.PlaybackFinished) call.hangup();
                });
            });
        p.addMarker(-300, outro);
        p.addMarker(100, 0);
        ["x", 2, { text: "Bye" }, undefined].forEach(function (bad) {
            try { p.addMarker(0, bad); } catch (e) { Logger.write(e.name); }
        });
        [{}, { segments: [] }, { segments: [{ text: "a", url: "b" }] }, { segments: [5] }]
            .forEach(function (bad) {
                try { VoxEngine.createSequencePlayer(bad); } catch (e) { Logger.write(e.name); }
            });
        p.sendMediaTo(call);
        Logger.write(String(p));
        "#,
    )
    .await;
    let SessionCommand::CreatePlayer {
        unit,
        source: PlayerSource::Sequence(segments),
        looped: false,
        owner: None,
    } = engine.next(s.id).await
    else {
        panic!("expected a sequence player")
    };
    assert_eq!(segments[0], PlayerSource::Url("intro.wav".into()));
    assert!(matches!(&segments[1],
        PlayerSource::Tts { text, voice, .. } if text == "Bye" && voice.as_deref() == Some("de")));
    for op in [
        PlayerOp::AddSegmentMarker {
            segment: 1,
            offset_ms: -300,
        },
        PlayerOp::AddSegmentMarker {
            segment: 0,
            offset_ms: 100,
        },
    ] {
        assert!(matches!(engine.next(s.id).await,
            SessionCommand::PlayerControl { unit: u, op: o } if u == unit && o == op));
    }
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::SendMedia { from, to } if from == unit && to == UnitId::from(call)
    ));
    for event in [
        PlayerEvent::Started {
            duration: Duration::from_millis(2500),
        },
        PlayerEvent::MarkerReached { offset: -300 },
        PlayerEvent::PlaybackFinished { error: None },
    ] {
        s.send(SessionEvent::Player { unit, event });
    }
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Hangup { .. }
    ));
    let logs = messages(s.id, "log");
    let mut want: Vec<String> = vec!["TypeError".into(); 4];
    want.extend(["TypeError", "RangeError", "TypeError", "TypeError"].map(String::from));
    want.extend([
        format!("SequencePlayer(id={})", unit.0),
        "SequencePlayer.Created true false".into(),
        "SequencePlayer.Started true false duration=2.5".into(),
        "SequencePlayer.PlaybackMarkerReached true false offset=-300".into(),
        "SequencePlayer.PlaybackFinished true false".into(),
    ]);
    assert_eq!(logs, want);
    let events = messages(s.id, "event");
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("SequencePlayer.Started player=")),
        "{events:?}"
    );
}

#[tokio::test]
async fn recorders_take_media_and_report_events() {
    let mut engine = FakeEngine::start(config());
    let (s, call) = answered(
        &mut engine,
        r#"
        var r = VoxEngine.createRecorder({stereo: true, format: "wav", expire: "never"});
        function show(e) {
            var parts = [e.name, e.recorder === r];
            ["url", "duration", "error"].forEach(function (k) {
                if (k in e) parts.push(k + "=" + e[k]);
            });
            Logger.write(parts.join(" "));
            if (e.name === RecorderEvents.Stopped) call.hangup();
        }
        r.addEventListener(RecorderEvents.Started, show);
        r.addEventListener(RecorderEvents.RecorderError, show);
        r.addEventListener(RecorderEvents.Stopped, show);
        call.sendMediaTo(r);
        var p = VoxEngine.createToneScriptPlayer("440@-10;1(1/0/1)");
        p.sendMediaTo(r);
        r.mute(true);
        r.mute(false);
        call.stopMediaTo(r);
        r.stop();
        r.stop();
        "#,
    )
    .await;
    let SessionCommand::CreateRecorder {
        unit,
        call: None,
        stereo: true,
        format: RecordFormat::Wav,
    } = engine.next(s.id).await
    else {
        panic!("expected CreateRecorder")
    };
    let c = UnitId::from(call);
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::SendMedia { from, to } if from == c && to == unit));
    let SessionCommand::CreatePlayer { unit: player, .. } = engine.next(s.id).await else {
        panic!("expected CreatePlayer")
    };
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::SendMedia { from, to } if from == player && to == unit));
    for op in [RecorderOp::Mute(true), RecorderOp::Mute(false)] {
        assert!(matches!(engine.next(s.id).await,
            SessionCommand::RecorderControl { unit: u, op: o } if u == unit && o == op));
    }
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::StopMedia { from, to } if from == c && to == unit));
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::RecorderControl { unit: u, op: RecorderOp::Stop } if u == unit));
    for event in [
        RecorderEvent::Started {
            url: "http://h/r1.wav".into(),
        },
        RecorderEvent::Error {
            error: "No space left on device".into(),
        },
        RecorderEvent::Stopped {
            url: "http://h/r1.wav".into(),
            duration: Duration::from_millis(4250),
        },
    ] {
        s.send(SessionEvent::Recorder { unit, event });
    }
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Hangup { .. }
    ));
    assert_eq!(
        messages(s.id, "log"),
        vec![
            format!("recorder.stop(): recorder {} was already stopped", unit.0),
            "Recorder.Started true url=http://h/r1.wav".into(),
            "Recorder.Error true error=No space left on device".into(),
            "Recorder.Stopped true url=http://h/r1.wav duration=4.25".into(),
        ]
    );
}

#[tokio::test]
async fn misuse_throws() {
    let mut engine = FakeEngine::start(config());
    let call = CallId::next();
    let s = engine.spawn(
        "misuse.js",
        r#"
        function attempt(f) {
            try { f(); Logger.write("no error"); } catch (e) { Logger.write(String(e)); }
        }
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            var call = e.call;
            call.answer();
            call.addEventListener(CallEvents.Connected, function () {
                var p = VoxEngine.createToneScriptPlayer("440@-10;1(1/0/1)");
                var r = VoxEngine.createRecorder();
                attempt(function () { call.sendDigits("x"); });
                attempt(function () { call.sendDigits(""); });
                attempt(function () { call.sendDigits(5); });
                attempt(function () { call.record({format: "ogg"}); });
                attempt(function () { call.startPlayback(42); });
                attempt(function () { call.playProgressTone("USA"); });
                attempt(function () { call.say("hi", {rate: "warp"}); });
                attempt(function () { call.sendMediaTo(p); });
                attempt(function () { p.sendMediaTo(p); });
                attempt(function () { p.addMarker("soon"); });
                attempt(function () { VoxEngine.sendMediaBetween(call, r); });
                attempt(function () { VoxEngine.createToneScriptPlayer(" "); });
                attempt(function () { VoxEngine.createRecorder("wav"); });
                call.hangup();
                attempt(function () { call.record(); });
                attempt(function () { call.sendDigits("1"); });
                attempt(function () { call.startPlayback("a.wav"); });
                attempt(function () { call.stopPlayback(); });
                VoxEngine.terminate();
            });
        });
        "#,
        "",
        Some(alerting(call)),
    );
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Answer { .. }
    ));
    s.call_event(call, connected());
    let (commands, end) = engine.until_ended(s.id).await;
    assert_eq!(end, SessionEnd::Normal);
    // Player, recorder, SendDigits("5"), hangup; nothing for the misuses.
    assert_eq!(commands.len(), 4, "{commands:?}");
    assert!(matches!(&commands[2], SessionCommand::SendDigits { digits, .. } if digits == "5"));
    assert!(matches!(commands[3], SessionCommand::Hangup { .. }));
    let logs = messages(s.id, "log");
    let expected = [
        "RangeError: call.sendDigits(): 'x' is not a DTMF digit",
        "RangeError: call.sendDigits(): no digits to send",
        "no error",
        "RangeError: call.record(): format must be \"wav\" or \"mp3\"",
        "TypeError: call.startPlayback(): the URL must be a string",
        "RangeError: call.playProgressTone(): \"USA\" is not a two-letter country code",
        "RangeError: call.say(): the rate must be",
        "TypeError: call.sendMediaTo(): a Player has no audio input",
        "TypeError: player.sendMediaTo(): a Player has no audio input",
        "TypeError: player.addMarker(): the offset must be a number",
        "TypeError: VoxEngine.sendMediaBetween(): expected a Call, not a Recorder",
        "RangeError: VoxEngine.createToneScriptPlayer(): empty tone script",
        "TypeError: VoxEngine.createRecorder(): options must be an object",
        "Error: call.record(): call",
        "Error: call.sendDigits(): call",
        "Error: call.startPlayback(): call",
        "no error",
    ];
    let got: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("Error") || *l == "no error")
        .collect();
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (line, prefix) in got.iter().zip(expected) {
        assert!(
            line.starts_with(prefix),
            "{line:?} does not start with {prefix:?}"
        );
    }
    assert!(logs.iter().any(|l| l.contains("call.stopPlayback(): call")));
}

#[tokio::test]
async fn a_session_with_only_players_and_recorders_still_idles_out() {
    let mut cfg = config();
    cfg.idle_timeout = Duration::from_millis(200);
    let mut engine = FakeEngine::start(cfg);
    let s = engine.spawn(
        "idle.js",
        r#"
        VoxEngine.addEventListener(AppEvents.Started, function () {
            VoxEngine.createURLPlayer("a.wav");
            VoxEngine.createRecorder();
        });
        "#,
        "",
        None,
    );
    let (commands, end) = engine.until_ended(s.id).await;
    assert_eq!(end, SessionEnd::Normal);
    assert_eq!(commands.len(), 2, "{commands:?}");
    let logs = messages(s.id, "log");
    assert!(logs.iter().any(|l| l.contains("no live calls")), "{logs:?}");
}

#[tokio::test]
async fn events_for_unknown_units_are_logged_and_ignored() {
    let mut engine = FakeEngine::start(config());
    let (s, _call) = answered(&mut engine, r#"Logger.write("up");"#).await;
    s.send(SessionEvent::Player {
        unit: UnitId(u64::MAX),
        event: PlayerEvent::Stopped,
    });
    s.send(SessionEvent::Recorder {
        unit: UnitId(u64::MAX - 1),
        event: RecorderEvent::Error { error: "x".into() },
    });
    s.send(SessionEvent::Terminate {
        reason: "test".into(),
    });
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    let logs = messages(s.id, "log");
    assert!(
        logs.iter()
            .any(|l| l.contains("which this session does not own")),
        "{logs:?}"
    );
}
