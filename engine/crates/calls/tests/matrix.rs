//! Every session command in every phase of a call: what goes to the SIP
//! layer and the media engine. One test per command walks the six phases.

mod harness;

use std::time::Duration;

use dialtone_calls::{MediaCommand, Output, Phase};
use dialtone_core::messages::{
    PlayerOp, PlayerSource, RecordFormat, RecorderOp, SessionCommand, SessionEnd,
};
use dialtone_core::{CallId, SessionId, UnitId};
use harness::*;

/// A harness with one call of `session` in `phase`.
fn call_in(phase: Phase) -> (Harness, SessionId, CallId) {
    let mut h = Harness::default();
    let (session, call) = match phase {
        Phase::Offered => {
            let i = h.invite();
            (i.session, i.call)
        }
        Phase::Answering => {
            let (i, _) = h.answering();
            (i.session, i.call)
        }
        Phase::Resolving => {
            let s = h.session();
            let (call, _) = h.call_sip(s, "sip:bob@pbx.example.com");
            (s, call)
        }
        Phase::Dialing => {
            let s = h.session();
            let (call, _, _) = h.dialing(s);
            (s, call)
        }
        Phase::Confirmed => {
            let i = h.connected();
            (i.session, i.call)
        }
        Phase::Ending => {
            let i = h.connected();
            h.cmd(
                i.session,
                SessionCommand::Hangup {
                    call: i.call,
                    headers: Vec::new(),
                },
            );
            (i.session, i.call)
        }
    };
    assert_eq!(h.core.call_status(call).map(|(p, _)| p), Some(phase));
    (h, session, call)
}

fn media_names(out: &[Output]) -> Vec<&'static str> {
    media_cmds(out)
        .iter()
        .map(|c| match c {
            MediaCommand::SetRemote { .. } => "SetRemote",
            MediaCommand::Release(_) => "Release",
            MediaCommand::Connect { .. } => "Connect",
            MediaCommand::Disconnect { .. } => "Disconnect",
            MediaCommand::AddPlayer { .. } => "AddPlayer",
            MediaCommand::PausePlayer { .. } => "PausePlayer",
            MediaCommand::AddMarker { .. } => "AddMarker",
            MediaCommand::AddRecorder { .. } => "AddRecorder",
            MediaCommand::MuteRecorder { .. } => "MuteRecorder",
            MediaCommand::MuteEndpoint { .. } => "MuteEndpoint",
            MediaCommand::ToneDetection { .. } => "ToneDetection",
            MediaCommand::SendDigits { .. } => "SendDigits",
            MediaCommand::AddMixer { .. } => "AddMixer",
            MediaCommand::AddLink { .. } => "AddLink",
            MediaCommand::Statistics { .. } => "Statistics",
            MediaCommand::SetMember { .. } => "SetMember",
            MediaCommand::RemoveMember { .. } => "RemoveMember",
        })
        .collect()
}

/// Runs `make(call)` in every phase and checks the UA command names
/// against `want` (in `Phase::ALL` order).
fn walk(make: impl Fn(CallId) -> SessionCommand, want: [&[&str]; 6]) {
    for (phase, want) in Phase::ALL.into_iter().zip(want) {
        let (mut h, session, call) = call_in(phase);
        let out = h.cmd(session, make(call));
        assert_eq!(ua_names(&out), want, "{phase:?}");
    }
}

/// Like [`walk`] for media command names.
fn walk_media(make: impl Fn(CallId) -> SessionCommand, want: [&[&str]; 6]) {
    for (phase, want) in Phase::ALL.into_iter().zip(want) {
        let (mut h, session, call) = call_in(phase);
        let out = h.cmd(session, make(call));
        assert_eq!(media_names(&out), want, "{phase:?}");
    }
}

// Phase::ALL: Offered, Answering, Resolving, Dialing, Confirmed, Ending.

#[test]
fn answer_in_every_phase() {
    walk(
        |call| SessionCommand::Answer {
            call,
            headers: Vec::new(),
        },
        [&["Answer"], &[], &[], &[], &[], &[]],
    );
}

#[test]
fn reject_in_every_phase() {
    walk(
        |call| SessionCommand::Reject {
            call,
            code: 486,
            headers: Vec::new(),
        },
        [&["Reject 486"], &[], &[], &[], &[], &[]],
    );
}

#[test]
fn ring_in_every_phase() {
    walk(
        |call| SessionCommand::Ring {
            call,
            headers: Vec::new(),
        },
        [&["Provisional 180"], &[], &[], &[], &[], &[]],
    );
}

#[test]
fn early_media_in_every_phase() {
    walk(
        |call| SessionCommand::StartEarlyMedia {
            call,
            headers: Vec::new(),
        },
        [&["Provisional 183"], &[], &[], &[], &[], &[]],
    );
}

#[test]
fn hangup_in_every_phase() {
    walk(
        |call| SessionCommand::Hangup {
            call,
            headers: Vec::new(),
        },
        [
            &["Reject 480"],
            &["Hangup"],
            &[],
            &["Hangup"],
            &["Hangup"],
            &[],
        ],
    );
}

#[test]
fn hangup_events_in_every_phase() {
    // Which phases end the call at once (the others wait for the SIP layer).
    let want: [&[&str]; 6] = [
        &[
            "Disconnected 480 Temporarily Unavailable",
            "StateChanged ALERTING->TERMINATED",
        ],
        &[],
        &[
            "Failed 487 Request Terminated",
            "StateChanged PROGRESSING->TERMINATED",
        ],
        &[],
        &[],
        &[],
    ];
    for (phase, want) in Phase::ALL.into_iter().zip(want) {
        let (mut h, session, call) = call_in(phase);
        let out = h.cmd(
            session,
            SessionCommand::Hangup {
                call,
                headers: Vec::new(),
            },
        );
        assert_eq!(call_events(&out, call), want, "{phase:?}");
    }
}

#[test]
fn send_media_to_itself_in_every_phase() {
    walk_media(
        |call| SessionCommand::SendMedia {
            from: call.into(),
            to: call.into(),
        },
        [&["Connect"]; 6],
    );
}

#[test]
fn stop_media_in_every_phase() {
    walk_media(
        |call| SessionCommand::StopMedia {
            from: call.into(),
            to: call.into(),
        },
        [&["Disconnect"]; 6],
    );
}

#[test]
fn a_tone_playback_in_every_phase() {
    walk_media(
        |call| SessionCommand::CreatePlayer {
            unit: UnitId(CallId::next().0),
            source: PlayerSource::ToneScript("440@-10;1(1/0/1)".into()),
            looped: false,
            owner: Some(call),
        },
        [&["AddPlayer", "Connect"]; 6],
    );
}

#[test]
fn a_url_playback_in_every_phase_waits_for_its_load() {
    for phase in Phase::ALL {
        let (mut h, session, call) = call_in(phase);
        let out = h.cmd(
            session,
            SessionCommand::CreatePlayer {
                unit: UnitId(CallId::next().0),
                source: PlayerSource::Url("http://x/a.wav".into()),
                looped: true,
                owner: Some(call),
            },
        );
        assert_eq!(jobs(&out).len(), 1, "{phase:?}");
        assert!(media_cmds(&out).is_empty(), "{phase:?}");
    }
}

#[test]
fn player_control_in_every_phase() {
    for phase in Phase::ALL {
        let (mut h, session, call) = call_in(phase);
        let unit = UnitId(CallId::next().0);
        h.cmd(
            session,
            SessionCommand::CreatePlayer {
                unit,
                source: PlayerSource::ToneScript("440@-10;1(1/0/1)".into()),
                looped: false,
                owner: Some(call),
            },
        );
        for (op, want) in [
            (PlayerOp::Pause, "PausePlayer"),
            (PlayerOp::Resume, "PausePlayer"),
            (PlayerOp::AddMarker(-100), "AddMarker"),
            (PlayerOp::Stop, "Release"),
        ] {
            let out = h.cmd(session, SessionCommand::PlayerControl { unit, op });
            assert_eq!(media_names(&out), [want], "{phase:?} {op:?}");
        }
    }
}

#[test]
fn stop_playback_in_every_phase() {
    for phase in Phase::ALL {
        let (mut h, session, call) = call_in(phase);
        // Nothing playing: nothing to stop.
        assert!(h
            .cmd(session, SessionCommand::StopPlayback { call })
            .is_empty());
        h.cmd(
            session,
            SessionCommand::CreatePlayer {
                unit: UnitId(CallId::next().0),
                source: PlayerSource::ToneScript("440@-10;1(1/0/1)".into()),
                looped: false,
                owner: Some(call),
            },
        );
        let out = h.cmd(session, SessionCommand::StopPlayback { call });
        assert_eq!(media_names(&out), ["Release"], "{phase:?}");
    }
}

#[test]
fn handle_tones_in_every_phase() {
    // Detection is switched on the endpoint once the call has one.
    walk_media(
        |call| SessionCommand::HandleTones { call, enable: true },
        [
            &[],
            &["ToneDetection"],
            &[],
            &["ToneDetection"],
            &["ToneDetection"],
            &["ToneDetection"],
        ],
    );
}

#[test]
fn send_digits_in_every_phase() {
    // RFC 4733 once telephone-event is negotiated; nothing before.
    walk_media(
        |call| SessionCommand::SendDigits {
            call,
            digits: "1".into(),
        },
        [
            &[],
            &["SendDigits"],
            &[],
            &[],
            &["SendDigits"],
            &["SendDigits"],
        ],
    );
    walk(
        |call| SessionCommand::SendDigits {
            call,
            digits: "1".into(),
        },
        [&[], &[], &[], &[], &[], &[]],
    );
}

#[test]
fn record_in_every_phase() {
    walk_media(
        |call| SessionCommand::CreateRecorder {
            unit: UnitId(CallId::next().0),
            call: Some(call),
            stereo: false,
            format: RecordFormat::Wav,
        },
        [&["AddRecorder"]; 6],
    );
}

#[test]
fn recorder_control_in_every_phase() {
    for phase in Phase::ALL {
        let (mut h, session, call) = call_in(phase);
        let unit = UnitId(CallId::next().0);
        h.cmd(
            session,
            SessionCommand::CreateRecorder {
                unit,
                call: Some(call),
                stereo: false,
                format: RecordFormat::Wav,
            },
        );
        let out = h.cmd(
            session,
            SessionCommand::RecorderControl {
                unit,
                op: RecorderOp::Mute(true),
            },
        );
        assert_eq!(media_names(&out), ["MuteRecorder"], "{phase:?}");
        let out = h.cmd(
            session,
            SessionCommand::RecorderControl {
                unit,
                op: RecorderOp::Stop,
            },
        );
        assert_eq!(media_names(&out), ["Release"], "{phase:?}");
    }
}

#[test]
fn an_http_request_in_every_phase() {
    for phase in Phase::ALL {
        let (mut h, session, _) = call_in(phase);
        let out = h.cmd(
            session,
            SessionCommand::HttpRequest {
                id: 1,
                url: "http://x/".into(),
                method: "GET".into(),
                headers: Vec::new(),
                body: None,
                timeout: Duration::from_secs(5),
            },
        );
        assert_eq!(jobs(&out).len(), 1, "{phase:?}");
    }
}

#[test]
fn the_session_ending_in_every_phase() {
    walk(
        |_| SessionCommand::Ended {
            reason: SessionEnd::Normal,
        },
        [
            &["Reject 480"],
            &["Hangup"],
            &[],
            &["Hangup"],
            &["Hangup"],
            &[],
        ],
    );
}

#[test]
fn the_session_failing_in_every_phase() {
    walk(
        |_| SessionCommand::Ended {
            reason: SessionEnd::ScriptError("boom".into()),
        },
        [
            &["Reject 500"],
            &["Hangup"],
            &[],
            &["Hangup"],
            &["Hangup"],
            &[],
        ],
    );
}

#[test]
fn every_command_from_a_stranger_in_every_phase_does_nothing() {
    for phase in Phase::ALL {
        let (mut h, _, call) = call_in(phase);
        let stranger = h.session();
        let unit = UnitId(CallId::next().0);
        for cmd in [
            SessionCommand::Answer {
                call,
                headers: Vec::new(),
            },
            SessionCommand::Reject {
                call,
                code: 486,
                headers: Vec::new(),
            },
            SessionCommand::Ring {
                call,
                headers: Vec::new(),
            },
            SessionCommand::StartEarlyMedia {
                call,
                headers: Vec::new(),
            },
            SessionCommand::Hangup {
                call,
                headers: Vec::new(),
            },
            SessionCommand::SendMedia {
                from: call.into(),
                to: call.into(),
            },
            SessionCommand::StopMedia {
                from: call.into(),
                to: call.into(),
            },
            SessionCommand::CreatePlayer {
                unit,
                source: PlayerSource::ToneScript("440@-10;1(1/0/1)".into()),
                looped: false,
                owner: Some(call),
            },
            SessionCommand::StopPlayback { call },
            SessionCommand::HandleTones { call, enable: true },
            SessionCommand::SendDigits {
                call,
                digits: "1".into(),
            },
            SessionCommand::CreateRecorder {
                unit,
                call: Some(call),
                stereo: false,
                format: RecordFormat::Wav,
            },
        ] {
            let shown = format!("{cmd:?}");
            let out = h.cmd(stranger, cmd);
            assert!(out.is_empty(), "{phase:?}: {shown} gave {out:?}");
        }
    }
}
