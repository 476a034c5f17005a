//! `AppEvents.HttpRequest`: requests to the session's `accessURL` reach the
//! script, and what its handler returns becomes the response.

mod common;

use std::time::Duration;

use common::*;
use dialtone_core::messages::{
    AccessReplySlot, AccessRequest, AccessResponse, SessionEnd, SessionEvent,
};
use tokio::sync::oneshot;

fn request(method: &str, content: &str) -> (SessionEvent, oneshot::Receiver<AccessResponse>) {
    let (reply, rx) = AccessReplySlot::new();
    let event = SessionEvent::Access(AccessRequest {
        method: method.into(),
        path: "/access/s/t/extra".into(),
        content: content.into(),
        headers: headers(&[("Content-Type", "application/json"), ("X-Id", "7")]),
        reply,
    });
    (event, rx)
}

async fn answer(rx: oneshot::Receiver<AccessResponse>) -> AccessResponse {
    tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .expect("no answer in time")
        .expect("the session dropped the request")
}

#[tokio::test]
async fn started_carries_the_access_url_and_the_handler_sees_the_request() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "access.js",
        r#"
        VoxEngine.addEventListener(AppEvents.Started, function (e) {
            Logger.write("url " + (e.accessURL === e.accessSecureURL) + " " + e.accessURL.indexOf("/access/"));
        });
        VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
            Logger.write(e.name + " " + e.method + " " + e.path + " " + e.content + " " + e.headers["x-id"]
                + " " + e.headers["content-type"]);
            return "hello";
        });
        "#,
        "",
        None,
    );
    let (event, rx) = request("POST", r#"{"a":1}"#);
    s.send(event);
    let r = answer(rx).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "hello");
    assert_eq!(r.content_type, Some("text/plain; charset=utf-8"));
    s.send(SessionEvent::Terminate {
        reason: "test".into(),
    });
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    let log = messages(s.id, "log");
    assert!(log[0].starts_with("url true "), "{log:?}");
    assert!(!log[0].ends_with(" -1"), "{log:?}");
    assert_eq!(
        log[1],
        r#"Application.HttpRequest POST /access/s/t/extra {"a":1} 7 application/json"#
    );
}

#[tokio::test]
async fn objects_are_json_numbers_text_and_nothing_is_an_empty_200() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "access_values.js",
        r#"
        var n = 0;
        VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
            n++;
            if (n === 1) return { state: "playing", tones: [440, 1200] };
            if (n === 2) return 42;
            if (n === 3) return undefined;
            if (n === 4) { var cyclic = {}; cyclic.self = cyclic; return cyclic; }
            return "still here";
        });
        "#,
        "",
        None,
    );
    let mut answers = Vec::new();
    for _ in 0..4 {
        let (event, rx) = request("GET", "");
        s.send(event);
        answers.push(answer(rx).await);
    }
    assert_eq!(answers[0].body, r#"{"state":"playing","tones":[440,1200]}"#);
    assert_eq!(answers[0].content_type, Some("application/json"));
    assert_eq!((answers[1].status, answers[1].body.as_str()), (200, "42"));
    assert_eq!((answers[2].status, answers[2].content_type), (200, None));
    assert_eq!(answers[2].body, "");
    // A value with no JSON form answers 500 and the session goes on.
    assert_eq!(answers[3].status, 500);
    let (event, rx) = request("GET", "");
    s.send(event);
    assert_eq!(answer(rx).await.status, 200);
    s.send(SessionEvent::Terminate {
        reason: "test".into(),
    });
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
}

#[tokio::test]
async fn a_promise_is_awaited_and_a_rejection_answers_500() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "access_async.js",
        r#"
        var calls = 0;
        VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
            calls++;
            if (calls === 2) return Promise.reject(new Error("nope"));
            return new Promise(function (resolve) {
                setTimeout(function () { resolve({ later: true }); }, 200);
            });
        });
        "#,
        "",
        None,
    );
    let (event, rx) = request("GET", "");
    s.send(event);
    let r = answer(rx).await;
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"later":true}"#));
    let (event, rx) = request("GET", "");
    s.send(event);
    let r = answer(rx).await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("nope"), "{}", r.body);
    s.send(SessionEvent::Terminate {
        reason: "test".into(),
    });
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
}

#[tokio::test]
async fn a_handler_that_throws_answers_500_and_ends_the_session() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "access_throw.js",
        r#"
        VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
            throw new TypeError("bad request " + e.content);
        });
        "#,
        "",
        None,
    );
    let (event, rx) = request("POST", "x");
    s.send(event);
    let r = answer(rx).await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("bad request x"), "{}", r.body);
    assert!(matches!(
        engine.ended(s.id).await,
        SessionEnd::ScriptError(_)
    ));
}

#[tokio::test]
async fn a_pending_answer_is_dropped_when_the_session_ends() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "access_never.js",
        r#"
        VoxEngine.addEventListener(AppEvents.HttpRequest, function () {
            return new Promise(function () {});
        });
        "#,
        "",
        None,
    );
    let (event, rx) = request("GET", "");
    s.send(event);
    s.send(SessionEvent::Terminate {
        reason: "test".into(),
    });
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    let dropped = tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .expect("the request was neither answered nor dropped");
    assert!(dropped.is_err(), "{dropped:?}");
}
