//! The example scenarios in `scripts/`, and `VoxEngine.easyProcess`, driven
//! through a fake engine.

mod common;

use std::sync::Arc;

use common::*;
use dialtone_core::messages::{CallEvent, OutboundCall, SessionCommand, SessionEnd};
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
fn every_example_scenario_compiles() {
    for file in ["echo.js", "forward.js", "busy.js"] {
        check(&scenario(file)).unwrap();
    }
}

#[tokio::test]
async fn echo_answers_echoes_and_ends_on_hangup() {
    let mut engine = FakeEngine::start(config());
    let call = CallId::next();
    let s = engine.spawn_scenario(scenario("echo.js"), "", Some(alerting(call)));
    assert!(matches!(engine.next(s.id).await, SessionCommand::Answer { call: c, .. } if c == call));
    s.call_event(call, connected());
    let unit = UnitId::from(call);
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::SendMedia { from, to } if from == unit && to == unit));
    s.call_event(call, disconnected(200));
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    let logs = messages(s.id, "log");
    assert_eq!(logs.len(), 4, "{logs:?}");
    assert!(logs[0].starts_with("echo: incoming call from alice"));
}

#[tokio::test]
async fn busy_rejects_with_486() {
    let mut engine = FakeEngine::start(config());
    let call = CallId::next();
    let s = engine.spawn_scenario(scenario("busy.js"), "", Some(alerting(call)));
    let (commands, end) = engine.until_ended(s.id).await;
    assert!(
        matches!(commands[..], [SessionCommand::Reject { call: c, code: 486, .. }] if c == call),
        "{commands:?}"
    );
    assert_eq!(end, SessionEnd::Normal);
}

/// Starts forward.js for an inbound call; returns the outbound call.
async fn start_forward(
    engine: &mut FakeEngine,
    inbound: CallId,
) -> (TestSession, Box<OutboundCall>) {
    let s = engine.spawn_scenario(
        scenario("forward.js"),
        "sip:bob@127.0.0.1:5070",
        Some(alerting(inbound)),
    );
    let SessionCommand::CallSip(out) = engine.next(s.id).await else {
        panic!("expected CallSip")
    };
    (s, out)
}

#[tokio::test]
async fn forward_bridges_the_calls_and_hangs_up_the_other_leg() {
    let mut engine = FakeEngine::start(config());
    let inbound = CallId::next();
    let (s, out) = start_forward(&mut engine, inbound).await;
    assert_eq!(out.to, "sip:bob@127.0.0.1:5070");
    assert_eq!(out.callerid.as_deref(), Some("alice"));
    assert_eq!(out.display_name.as_deref(), Some("Alice"));
    assert_eq!(out.headers, headers(&[("X-Trace", "abc")]));

    s.call_event(out.call, CallEvent::Ringing { headers: vec![] });
    assert!(
        matches!(engine.next(s.id).await, SessionCommand::Ring { call, .. } if call == inbound)
    );

    s.call_event(out.call, connected());
    assert!(
        matches!(engine.next(s.id).await, SessionCommand::Answer { call, .. } if call == inbound)
    );
    let (a, b) = (UnitId::from(inbound), UnitId::from(out.call));
    assert!(
        matches!(engine.next(s.id).await, SessionCommand::SendMedia { from, to } if from == a && to == b)
    );
    assert!(
        matches!(engine.next(s.id).await, SessionCommand::SendMedia { from, to } if from == b && to == a)
    );

    s.call_event(inbound, connected());
    s.call_event(inbound, disconnected(200));
    let (commands, end) = engine.until_ended(s.id).await;
    assert!(
        matches!(commands[..], [SessionCommand::Hangup { call, .. }] if call == out.call),
        "{commands:?}"
    );
    assert_eq!(end, SessionEnd::Normal);
    // onEstablished ran once the media was joined.
    assert!(messages(s.id, "log")
        .iter()
        .any(|l| l == &format!("forward: connected {} <-> {}", inbound.0, out.call.0)));
}

#[tokio::test]
async fn forward_rejects_the_caller_with_the_callees_failure_code() {
    let mut engine = FakeEngine::start(config());
    let inbound = CallId::next();
    let (s, out) = start_forward(&mut engine, inbound).await;
    s.call_event(out.call, failed(486, "Busy Here"));
    let (commands, end) = engine.until_ended(s.id).await;
    assert!(
        matches!(commands[..], [SessionCommand::Reject { call, code: 486, .. }] if call == inbound),
        "{commands:?}"
    );
    assert_eq!(end, SessionEnd::Normal);
}

#[tokio::test]
async fn forward_hangs_up_the_caller_when_the_callee_hangs_up() {
    let mut engine = FakeEngine::start(config());
    let inbound = CallId::next();
    let (s, out) = start_forward(&mut engine, inbound).await;
    s.call_event(out.call, connected());
    for _ in 0..3 {
        engine.next(s.id).await; // Answer, SendMedia x2
    }
    s.call_event(inbound, connected());
    s.call_event(out.call, disconnected(200));
    let (commands, end) = engine.until_ended(s.id).await;
    assert!(
        matches!(commands[..], [SessionCommand::Hangup { call, .. }] if call == inbound),
        "{commands:?}"
    );
    assert_eq!(end, SessionEnd::Normal);
}

#[tokio::test]
async fn forward_cancels_the_callee_when_the_caller_gives_up() {
    let mut engine = FakeEngine::start(config());
    let inbound = CallId::next();
    let (s, out) = start_forward(&mut engine, inbound).await;
    s.call_event(out.call, CallEvent::Ringing { headers: vec![] });
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Ring { .. }
    ));
    s.call_event(inbound, disconnected(487));
    let (commands, end) = engine.until_ended(s.id).await;
    assert!(
        matches!(commands[..], [SessionCommand::Hangup { call, .. }] if call == out.call),
        "{commands:?}"
    );
    assert_eq!(end, SessionEnd::Normal);
}

#[tokio::test]
async fn easy_process_listeners_run_beside_script_listeners() {
    let mut engine = FakeEngine::start(config());
    let inbound = CallId::next();
    let s = engine.spawn(
        "mixed.js",
        r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            var out = VoxEngine.callSIP("sip:bob@example.com");
            out.addEventListener(CallEvents.Failed, function (f) { Logger.write("failed " + f.code + " " + f.reason); });
            VoxEngine.easyProcess(e.call, out);
        });
        "#,
        "",
        Some(alerting(inbound)),
    );
    let SessionCommand::CallSip(out) = engine.next(s.id).await else {
        panic!("expected CallSip")
    };
    // A failure code that is no SIP error becomes 480 for the caller.
    s.call_event(out.call, failed(200, "odd"));
    let (commands, end) = engine.until_ended(s.id).await;
    assert!(
        matches!(commands[..], [SessionCommand::Reject { code: 480, .. }]),
        "{commands:?}"
    );
    assert_eq!(end, SessionEnd::Normal);
    assert_eq!(messages(s.id, "log"), ["failed 200 odd"]);
}
