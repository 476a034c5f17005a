//! The Call class and VoxEngine call functions, driven through a fake
//! engine: which commands they send, and what they throw.

mod common;

use common::*;
use dialtone_core::messages::{CallEvent, CallState, SessionCommand, SessionEnd};
use dialtone_core::{CallId, UnitId};

#[tokio::test]
async fn call_actions_send_commands_with_only_x_headers() {
    let mut engine = FakeEngine::start(config());
    let call = CallId::next();
    let s = engine.spawn(
        "actions.js",
        r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            e.call.ring({"X-A": "1", "Contact": "<sip:evil@example.com>"});
            e.call.startEarlyMedia({"X-B": 2});
            e.call.answer({"x-c": "three"});
            e.call.addEventListener(CallEvents.Connected, function (c) {
                c.call.hangup({"X-D": true});
            });
        });
        "#,
        "",
        Some(alerting(call)),
    );
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::Ring { call: c, headers } if c == call && headers == headers_of(&[("X-A", "1")])));
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::StartEarlyMedia { call: c, headers } if c == call && headers == headers_of(&[("X-B", "2")])));
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::Answer { call: c, headers } if c == call && headers == headers_of(&[("x-c", "three")])));
    s.call_event(call, connected());
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::Hangup { call: c, headers } if c == call && headers == headers_of(&[("X-D", "true")])));
    let logs = messages(s.id, "log");
    assert!(
        logs.iter().any(|l| l.contains("'Contact' ignored")),
        "no log line for the dropped header: {logs:?}"
    );
}

fn headers_of(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    headers(pairs)
}

async fn first_command(script: &str) -> SessionCommand {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn("reject.js", script, "", Some(alerting(CallId::next())));
    engine.next(s.id).await
}

#[tokio::test]
async fn reject_and_decline_codes() {
    let with_code = first_command(
        r#"VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) { e.call.reject(480, {"X-Why": "closed"}); });"#,
    )
    .await;
    assert!(matches!(with_code,
        SessionCommand::Reject { code: 480, headers, .. } if headers == headers_of(&[("X-Why", "closed")])));
    let default = first_command(
        r#"VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) { e.call.reject(); });"#,
    )
    .await;
    assert!(matches!(default, SessionCommand::Reject { code: 486, .. }));
    let headers_only = first_command(
        r#"VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) { e.call.reject({"X-Old": "form"}); });"#,
    )
    .await;
    assert!(matches!(headers_only,
        SessionCommand::Reject { code: 486, headers, .. } if headers == headers_of(&[("X-Old", "form")])));
    let decline = first_command(
        r#"VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) { e.call.decline(); });"#,
    )
    .await;
    assert!(matches!(decline, SessionCommand::Reject { code: 603, .. }));
}

#[tokio::test]
async fn call_sip_with_options_and_positional_arguments() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "callsip.js",
        r#"
        VoxEngine.addEventListener(AppEvents.Started, function () {
            var a = VoxEngine.callSIP("bob@example.com", {
                callerid: "100", displayName: "Front desk", authUser: "u", password: "p",
                headers: {"X-A": "1", "From": "spoof"}
            });
            var b = VoxEngine.callSIP("sip:carol@example.com:5070", "200", "Desk", "secret", "user", {"X-B": "2"});
            var c = VoxEngine.callSIP("sips:dave@example.com");
            Logger.write([a.incoming(), a.state(), a.number(), a.callerid(), a.displayName(), b.id(), String(c)].join("|"));
        });
        "#,
        "",
        None,
    );
    let SessionCommand::CallSip(a) = engine.next(s.id).await else {
        panic!("expected CallSip")
    };
    assert_eq!(a.to, "sip:bob@example.com");
    assert_eq!(a.callerid.as_deref(), Some("100"));
    assert_eq!(a.display_name.as_deref(), Some("Front desk"));
    assert_eq!(a.auth_user.as_deref(), Some("u"));
    assert_eq!(a.password.as_deref(), Some("p"));
    assert_eq!(a.headers, headers_of(&[("X-A", "1")]));
    let SessionCommand::CallSip(b) = engine.next(s.id).await else {
        panic!("expected CallSip")
    };
    assert_eq!(b.to, "sip:carol@example.com:5070");
    assert_eq!(b.callerid.as_deref(), Some("200"));
    assert_eq!(b.display_name.as_deref(), Some("Desk"));
    assert_eq!(b.password.as_deref(), Some("secret"));
    assert_eq!(b.auth_user.as_deref(), Some("user"));
    assert_eq!(b.headers, headers_of(&[("X-B", "2")]));
    let SessionCommand::CallSip(c) = engine.next(s.id).await else {
        panic!("expected CallSip")
    };
    assert_eq!(c.to, "sips:dave@example.com");
    assert_eq!(c.callerid, None);
    assert!(a.call != b.call && b.call != c.call);
    s.send(dialtone_core::messages::SessionEvent::Terminate {
        reason: "done".into(),
    });
    engine.until_ended(s.id).await;
    let logs = messages(s.id, "log");
    assert!(logs[0].contains("header 'From' ignored"));
    let log = &logs[1];
    assert_eq!(
        log,
        &format!(
            "false|PROGRESSING|sip:bob@example.com|100|Front desk|{}|Call(id={}, outbound, callerid=, number=sips:dave@example.com, state=PROGRESSING)",
            b.call, c.call
        )
    );
}

#[tokio::test]
async fn state_follows_the_call_events() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "states.js",
        r#"
        var out;
        function log(e) {
            Logger.write(e.name + " " + e.id + " " + e.call.state() +
                (e.oldState ? " " + e.oldState + "->" + e.newState : "") +
                (e.code ? " code=" + e.code + " " + e.reason : "") +
                (e.internalCode ? " internalCode=" + e.internalCode + " duration=" + e.duration : ""));
        }
        VoxEngine.addEventListener(AppEvents.Started, function () {
            out = VoxEngine.callSIP("sip:bob@example.com");
            Logger.write("created " + out.state());
            [CallEvents.Ringing, CallEvents.AudioStarted, CallEvents.Connected, CallEvents.StateChanged,
             CallEvents.FirstAudioPacketReceived, CallEvents.RtpStopped, CallEvents.RtpResumed,
             CallEvents.Disconnected].forEach(function (n) { out.addEventListener(n, log); });
            out.addEventListener(CallEvents.Disconnected, function () { VoxEngine.terminate(); });
        });
        "#,
        "",
        None,
    );
    let SessionCommand::CallSip(out) = engine.next(s.id).await else {
        panic!("expected CallSip")
    };
    let call = out.call;
    s.call_event(call, CallEvent::Ringing { headers: vec![] });
    s.call_event(call, CallEvent::AudioStarted { headers: vec![] });
    s.call_event(call, connected());
    s.call_event(call, CallEvent::FirstAudioPacketReceived);
    s.call_event(call, CallEvent::RtpStopped);
    s.call_event(call, CallEvent::RtpResumed);
    s.call_event(
        call,
        CallEvent::StateChanged {
            old: CallState::Connected,
            new: CallState::Terminated,
        },
    );
    s.call_event(call, disconnected(200));
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    let id = call.0;
    assert_eq!(
        messages(s.id, "log"),
        [
            "created PROGRESSING".to_string(),
            format!("Call.Ringing {id} PROGRESSING"),
            format!("Call.AudioStarted {id} PROGRESSING"),
            format!("Call.Connected {id} CONNECTED"),
            format!("Call.FirstAudioPacketReceived {id} CONNECTED"),
            format!("Call.RtpStopped {id} CONNECTED"),
            format!("Call.RtpResumed {id} CONNECTED"),
            format!("Call.StateChanged {id} TERMINATED CONNECTED->TERMINATED"),
            format!(
                "Call.Disconnected {id} TERMINATED code=200 Normal internalCode=200 duration=3"
            ),
        ]
    );
    assert!(messages(s.id, "event").contains(&format!("Call.Connected call={id}")));
}

#[tokio::test]
async fn misuse_throws_js_errors_that_scripts_can_catch() {
    let mut engine = FakeEngine::start(config());
    let call = CallId::next();
    let s = engine.spawn(
        "misuse.js",
        r#"
        function attempt(f) {
            try { f(); Logger.write("no error"); } catch (e) { Logger.write(e.name + ": " + e.message); }
        }
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            var out = VoxEngine.callSIP("sip:bob@example.com");
            attempt(function () { out.answer(); });
            attempt(function () { e.call.sendMediaTo(42); });
            attempt(function () { e.call.addEventListener(CallEvents.Connected, "not a function"); });
            attempt(function () { e.call.addEventListener(undefined, function () {}); });
            attempt(function () { e.call.reject(200); });
            attempt(function () { e.call.reject("busy"); });
            attempt(function () { e.call.answer("X-A: 1"); });
            attempt(function () { e.call.answer({"X-Bad": "a\r\nVia: x"}); });
            attempt(function () { VoxEngine.callSIP("not a uri"); });
            attempt(function () { VoxEngine.easyProcess(e.call, {}); });
            attempt(function () { setTimeout("code", 10); });
            e.call.answer();
            attempt(function () { e.call.answer(); });
            attempt(function () { e.call.reject(486); });
            e.call.hangup();
            attempt(function () { e.call.hangup(); });
            VoxEngine.terminate();
        });
        "#,
        "",
        Some(alerting(call)),
    );
    let (commands, end) = engine.until_ended(s.id).await;
    assert_eq!(end, SessionEnd::Normal);
    assert_eq!(commands.len(), 3, "{commands:?}");
    assert!(matches!(commands[0], SessionCommand::CallSip(_)));
    assert!(matches!(commands[1], SessionCommand::Answer { .. }));
    assert!(matches!(commands[2], SessionCommand::Hangup { .. }));
    let logs: Vec<String> = messages(s.id, "log")
        .into_iter()
        .filter(|l| l.contains("Error") || l == "no error")
        .collect();
    let expected_prefixes = [
        "Error: call.answer(): call",
        "TypeError: call.sendMediaTo(): expected a media unit (a Call or a Recorder), not int",
        "TypeError: call.addEventListener(): the listener for Call.Connected must be a function",
        "TypeError: call.addEventListener(): the event must be an event name",
        "RangeError: call.reject(): 200 is not a SIP final error code",
        "TypeError: call.reject(): the code must be a number",
        "TypeError: call.answer(): headers must be an object",
        "TypeError: call.answer(): header 'X-Bad' contains a line break",
        "TypeError: VoxEngine.callSIP(): 'not a uri' is not a SIP URI",
        "TypeError: VoxEngine.easyProcess(): expected a Call",
        "TypeError: setTimeout: the callback must be a function",
        "Error: call.answer(): call",
        "Error: call.reject(): call",
        "no error",
    ];
    assert_eq!(logs.len(), expected_prefixes.len(), "{logs:#?}");
    for (log, prefix) in logs.iter().zip(expected_prefixes) {
        assert!(
            log.starts_with(prefix),
            "{log:?} should start with {prefix:?}"
        );
    }
    assert!(logs[0].ends_with("is outbound; only inbound calls can do this"));
    assert!(logs[11].ends_with("has already been answered"));
}

#[tokio::test]
async fn media_between_calls() {
    let mut engine = FakeEngine::start(config());
    let call = CallId::next();
    let s = engine.spawn(
        "media.js",
        r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            var out = VoxEngine.callSIP("sip:bob@example.com");
            e.call.sendMediaTo(out);
            e.call.stopMediaTo(out);
            VoxEngine.sendMediaBetween(e.call, out);
            VoxEngine.stopMediaBetween(e.call, out);
        });
        "#,
        "",
        Some(alerting(call)),
    );
    let SessionCommand::CallSip(out) = engine.next(s.id).await else {
        panic!("expected CallSip")
    };
    let (a, b) = (UnitId::from(call), UnitId::from(out.call));
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(match engine.next(s.id).await {
            SessionCommand::SendMedia { from, to } => ("send", from, to),
            SessionCommand::StopMedia { from, to } => ("stop", from, to),
            other => panic!("unexpected {other:?}"),
        });
    }
    assert_eq!(
        seen,
        [
            ("send", a, b),
            ("stop", a, b),
            ("send", a, b),
            ("send", b, a),
            ("stop", a, b),
            ("stop", b, a)
        ]
    );
}

#[tokio::test]
async fn listeners_can_be_removed() {
    let mut engine = FakeEngine::start(config());
    let call = CallId::next();
    let s = engine.spawn(
        "remove.js",
        r#"
        function a() { Logger.write("a"); }
        function b() { Logger.write("b"); }
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            e.call.addEventListener(CallEvents.Connected, a);
            e.call.addEventListener(CallEvents.Connected, b);
            e.call.removeEventListener(CallEvents.Connected, a);
            e.call.addEventListener(CallEvents.Disconnected, a);
            e.call.addEventListener(CallEvents.Disconnected, b);
            e.call.removeEventListener(CallEvents.Disconnected);
            e.call.addEventListener(CallEvents.Disconnected, function () { VoxEngine.terminate(); });
            e.call.answer();
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
    s.call_event(call, disconnected(200));
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert_eq!(messages(s.id, "log"), ["b"]);
}

#[tokio::test]
async fn custom_data_of_session_and_call() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "custom.js",
        r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            var before = VoxEngine.customData();
            VoxEngine.customData("changed");
            e.call.customData("per-call");
            Logger.write(before + "|" + VoxEngine.customData() + "|" + e.call.customData());
            e.call.answer();
        });
        "#,
        "initial",
        Some(alerting(CallId::next())),
    );
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Answer { .. }
    ));
    assert_eq!(messages(s.id, "log"), ["initial|changed|per-call"]);
}
