//! Calls to users: `callUser` in both forms, `callUserDirect`, and the
//! `forwardCallToUser` helpers, through a fake engine.

mod common;

use common::*;
use dialtone_core::messages::{CallEvent, SessionCommand, SessionEnd};
use dialtone_core::{CallId, UnitId};

#[tokio::test]
async fn call_user_forms_send_call_user_commands() {
    let mut engine = FakeEngine::start(config());
    let inbound = CallId::next();
    let s = engine.spawn(
        "users.js",
        r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            var a = VoxEngine.callUser({ username: "alice", callerid: "100", displayName: "Desk",
                                         extraHeaders: { "X-A": "1" } });
            var b = VoxEngine.callUser("bob", "200", "Front", { "X-B": "2" }, false);
            var c = VoxEngine.callUserDirect(e.call, "carol");
            try { VoxEngine.callUser({ callerid: "1" }); } catch (err) { Logger.write("threw: " + err.message); }
            Logger.write([a.number(), b.callerid(), c.callerid()].join("|"));
        });
        "#,
        "",
        Some(alerting(inbound)),
    );
    let SessionCommand::CallUser(a) = engine.next(s.id).await else {
        panic!("expected CallUser")
    };
    assert_eq!(a.to, "alice");
    assert_eq!(a.callerid.as_deref(), Some("100"));
    assert_eq!(a.display_name.as_deref(), Some("Desk"));
    assert_eq!(a.headers, headers(&[("X-A", "1")]));
    let SessionCommand::CallUser(b) = engine.next(s.id).await else {
        panic!("expected CallUser")
    };
    assert_eq!((b.to.as_str(), b.callerid.as_deref()), ("bob", Some("200")));
    assert_eq!(b.headers, headers(&[("X-B", "2")]));
    let SessionCommand::CallUser(c) = engine.next(s.id).await else {
        panic!("expected CallUser")
    };
    assert_eq!(c.to, "carol");
    // The incoming call's caller id goes on.
    let caller = incoming(inbound).callerid;
    assert_eq!(c.callerid.as_deref(), Some(caller.as_str()));
    s.send(dialtone_core::messages::SessionEvent::Terminate {
        reason: "done".into(),
    });
    engine.until_ended(s.id).await;
    let logs = messages(s.id, "log");
    assert!(logs
        .iter()
        .any(|l| l.contains("direct (peer-to-peer) media is not supported")));
    assert!(logs
        .iter()
        .any(|l| l.contains("threw: VoxEngine.callUser(): the user name")));
    assert!(
        logs.iter().any(|l| l == &format!("alice|200|{caller}")),
        "{logs:?}"
    );
}

#[tokio::test]
async fn forward_call_to_user_calls_the_destination_and_bridges() {
    let mut engine = FakeEngine::start(config());
    let inbound = CallId::next();
    let s = engine.spawn(
        "forward_user.js",
        r#"
        VoxEngine.forwardCallToUser(function (a, b) {
            Logger.write("established " + a.id() + " " + b.id());
        });
        "#,
        "",
        Some(alerting(inbound)),
    );
    let SessionCommand::CallUser(out) = engine.next(s.id).await else {
        panic!("expected CallUser")
    };
    let incoming = incoming(inbound);
    assert_eq!(out.to, incoming.destination);
    assert_eq!(out.callerid.as_deref(), Some(incoming.callerid.as_str()));
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
    s.call_event(inbound, connected());
    s.call_event(out.call, disconnected(200));
    let (_, end) = engine.until_ended(s.id).await;
    assert_eq!(end, SessionEnd::Normal);
    assert!(messages(s.id, "log")
        .iter()
        .any(|l| l == &format!("established {} {}", inbound.0, out.call.0)));
}

#[tokio::test]
async fn forward_call_to_pstn_transforms_the_number() {
    let mut engine = FakeEngine::start(config());
    let inbound = CallId::next();
    let s = engine.spawn(
        "forward_pstn.js",
        r#"
        VoxEngine.forwardCallToPSTN(function (n) { return "1555" + n; });
        "#,
        "",
        Some(alerting(inbound)),
    );
    let SessionCommand::CallPstn(out) = engine.next(s.id).await else {
        panic!("expected CallPstn")
    };
    assert_eq!(out.to, format!("1555{}", incoming(inbound).destination));
    let mut engine2 = FakeEngine::start(config());
    let s2 = engine2.spawn(
        "forward_sip.js",
        "VoxEngine.forwardCallToSIP();\nVoxEngine.addEventListener(AppEvents.Started, function () { try { VoxEngine.callPSTN('bob@evil'); } catch (e) { Logger.write(e.name); } });",
        "",
        Some(alerting(CallId::next())),
    );
    let SessionCommand::CallPstn(out) = engine2.next(s2.id).await else {
        panic!("expected CallPstn")
    };
    assert_eq!(out.to, "100");
    assert_eq!(messages(s2.id, "log"), ["TypeError"]);
}
