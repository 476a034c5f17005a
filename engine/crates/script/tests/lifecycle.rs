//! Session life: event order and fields, terminate, idle timeout, the
//! engine's Terminate, shutdown.

mod common;

use std::time::Duration;

use common::*;
use dialtone_core::messages::{SessionCommand, SessionEnd, SessionEvent};
use dialtone_core::CallId;

#[tokio::test]
async fn started_then_call_alerting_with_their_fields() {
    let mut engine = FakeEngine::start(config());
    let call = CallId::next();
    let s = engine.spawn(
        "order.js",
        r#"
        var seen = [];
        VoxEngine.addEventListener(AppEvents.Started, function (e) {
            seen.push(e.name + " " + e.customData + " " + VoxEngine.customData());
        });
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            seen.push(e.name);
            Logger.write(JSON.stringify({
                seen: seen, callerid: e.callerid, destination: e.destination,
                displayName: e.displayName, fromURI: e.fromURI, toURI: e.toURI,
                headers: e.headers, id: e.call.id(), incoming: e.call.incoming(),
                state: e.call.state(), number: e.call.number(),
                callCallerid: e.call.callerid(), callName: e.call.displayName()
            }));
            e.call.answer();
        });
        "#,
        "hello",
        Some(alerting(call)),
    );
    match engine.next(s.id).await {
        SessionCommand::Answer { call: c, headers } => {
            assert_eq!(c, call);
            assert!(headers.is_empty());
        }
        other => panic!("expected Answer, got {other:?}"),
    }
    let logs = messages(s.id, "log");
    let seen: serde_json::Value = serde_json::from_str(&logs[0]).unwrap();
    assert_eq!(
        seen["seen"],
        serde_json::json!([
            "Application.Started hello hello",
            "Application.CallAlerting"
        ])
    );
    assert_eq!(seen["callerid"], "alice");
    assert_eq!(seen["destination"], "100");
    assert_eq!(seen["displayName"], "Alice");
    assert_eq!(seen["fromURI"], "sip:alice@example.com");
    assert_eq!(seen["toURI"], "sip:100@dialtone.test");
    assert_eq!(seen["headers"], serde_json::json!({"X-Trace": "abc"}));
    assert_eq!(seen["id"], call.0.to_string());
    assert_eq!(seen["incoming"], true);
    assert_eq!(seen["state"], "ALERTING");
    assert_eq!(seen["number"], "100");
    assert_eq!(seen["callCallerid"], "alice");
    assert_eq!(seen["callName"], "Alice");
    let events = messages(s.id, "event");
    assert_eq!(events[0], "Application.Started");
    assert_eq!(
        events[1],
        format!("Application.CallAlerting call={call} from=alice to=100")
    );
}

#[tokio::test]
async fn terminate_dispatches_terminating_then_terminated_then_ends_normally() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "terminate.js",
        r#"
        VoxEngine.addEventListener(AppEvents.Terminating, function (e) { Logger.write("1 " + e.name); });
        VoxEngine.addEventListener(AppEvents.Terminated, function (e) { Logger.write("2 " + e.name); });
        VoxEngine.addEventListener(AppEvents.Started, function () {
            setTimeout(function () { Logger.write("timer must not fire"); }, 0);
            VoxEngine.terminate();
        });
        "#,
        "",
        None,
    );
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert_eq!(
        messages(s.id, "log"),
        ["1 Application.Terminating", "2 Application.Terminated"]
    );
    assert_eq!(
        messages(s.id, "event"),
        [
            "Application.Started",
            "Application.Terminating",
            "Application.Terminated"
        ]
    );
    assert_eq!(engine.host.live_sessions(), 0);
}

#[tokio::test]
async fn the_engine_can_end_a_session() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "engine-ends.js",
        r#"VoxEngine.addEventListener(AppEvents.Terminating, function () { Logger.write("bye"); });"#,
        "",
        None,
    );
    s.send(SessionEvent::Terminate {
        reason: "shutdown".into(),
    });
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert_eq!(messages(s.id, "log").last().unwrap(), "bye");
}

#[tokio::test]
async fn a_session_without_live_calls_ends_after_the_idle_timeout() {
    let mut cfg = config();
    cfg.idle_timeout = Duration::from_millis(100);
    let mut engine = FakeEngine::start(cfg);
    let call = CallId::next();
    let s = engine.spawn(
        "idle.js",
        r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) { e.call.answer(); });
        VoxEngine.addEventListener(AppEvents.Terminating, function () { Logger.write("idle end"); });
        "#,
        "",
        Some(alerting(call)),
    );
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Answer { .. }
    ));
    s.call_event(call, connected());
    // While the call is up the session stays; its end starts the idle clock.
    s.call_event(call, disconnected(200));
    let started = std::time::Instant::now();
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert!(started.elapsed() >= Duration::from_millis(90));
    assert_eq!(messages(s.id, "log").last().unwrap(), "idle end");
}

#[tokio::test]
async fn a_live_call_keeps_the_session_past_the_idle_timeout() {
    let mut cfg = config();
    cfg.idle_timeout = Duration::from_millis(50);
    let mut engine = FakeEngine::start(cfg);
    let call = CallId::next();
    let s = engine.spawn(
        "busy-call.js",
        r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            e.call.answer();
            setTimeout(function () { e.call.hangup(); }, 300);
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
    // The timer fires long after the idle timeout: the live call kept the
    // session.
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Hangup { .. }
    ));
    s.call_event(call, disconnected(200));
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
}

#[tokio::test]
async fn sessions_end_on_host_shutdown_and_later_spawns_are_refused() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "shutdown.js",
        r#"
        VoxEngine.addEventListener(AppEvents.Started, function () { VoxEngine.callSIP("sip:bob@example.com"); });
        VoxEngine.addEventListener(AppEvents.Terminated, function () { Logger.write("terminated"); });
        "#,
        "",
        None,
    );
    // The session is running once its first command arrives.
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::CallSip(_)
    ));
    engine.host.shutdown();
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert_eq!(messages(s.id, "log").last().unwrap(), "terminated");
    let late = engine.spawn("late.js", "", "", None);
    assert!(matches!(
        engine.ended(late.id).await,
        SessionEnd::ScriptError(_)
    ));
    assert_eq!(engine.host.live_sessions(), 0);
}

#[tokio::test]
async fn the_engine_dropping_the_event_channel_ends_the_session() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn("dropped.js", "", "", None);
    drop(s.events);
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
}

/// QuickJS aborts the process if a value outlives its runtime; these
/// sessions end holding cycles, pending timers, promises and listeners.
#[tokio::test]
async fn teardown_releases_everything_a_script_holds() {
    let mut engine = FakeEngine::start(config());
    let holder = r#"
        var keep = [];
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            var call = e.call;
            var self = { call: call, event: e };
            self.self = self;
            call.addEventListener(CallEvents.Connected, function () { keep.push(self, call); });
            var out = VoxEngine.callSIP("sip:bob@example.com");
            VoxEngine.easyProcess(call, out, function () { keep.push(out); });
            setInterval(function () { keep.push(call); }, 1000, call, out, self);
            setTimeout(function () {}, 100000, self);
            new Promise(function () { keep.push(call); });
            keep.push(VoxEngine, Logger, CallEvents);
            if (e.call.customData() === "") { call.answer(); }
        });
    "#;
    // A normal end and an error end, each with all of the above.
    let endings = [
        ("held-normal.js", "VoxEngine.addEventListener(AppEvents.CallAlerting, function () { VoxEngine.terminate(); });"),
        ("held-error.js", "VoxEngine.addEventListener(AppEvents.CallAlerting, function () { throw new Error('x'); });"),
    ];
    for (name, ending) in endings {
        let call = dialtone_core::CallId::next();
        let s = engine.spawn(
            name,
            &format!("{holder}\n{ending}"),
            "",
            Some(alerting(call)),
        );
        let (commands, _) = engine.until_ended(s.id).await;
        assert!(!commands.is_empty());
    }
    assert_eq!(engine.host.live_sessions(), 0);
}
