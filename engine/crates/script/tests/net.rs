//! `Net.httpRequestAsync` / `Net.httpRequest`: what the session sends, how
//! the answer resolves, validation and the per-session limit.

mod common;

use std::time::Duration;

use common::*;
use dialtone_core::messages::{HttpResult, SessionCommand, SessionEnd, SessionEvent};

#[tokio::test]
async fn a_request_is_sent_and_its_response_resolves_the_promise() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "net.js",
        r#"
        Net.httpRequestAsync("http://127.0.0.1:9/hook", {
            method: "post",
            headers: { "Content-Type": "application/json" },
            postData: JSON.stringify({ a: 1 }),
            timeout: 5,
        }).then(function (r) {
            Logger.write("code " + r.code + " text " + r.text + " h " + r.headers[0].key + "=" + r.headers[0].value
                + " error " + r.error);
            VoxEngine.terminate();
        });
        "#,
        "",
        None,
    );
    let SessionCommand::HttpRequest {
        id,
        url,
        method,
        headers,
        body,
        timeout,
    } = engine.next(s.id).await
    else {
        panic!("expected an HttpRequest");
    };
    assert_eq!(url, "http://127.0.0.1:9/hook");
    assert_eq!(method, "POST");
    assert_eq!(
        headers,
        [("Content-Type".into(), "application/json".into())]
    );
    assert_eq!(body.as_deref(), Some(&br#"{"a":1}"#[..]));
    assert_eq!(timeout, Duration::from_secs(5));
    s.send(SessionEvent::HttpResponse {
        id,
        result: HttpResult {
            code: 201,
            headers: vec![("X-A".into(), "b".into())],
            text: "ok".into(),
            error: None,
        },
    });
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert_eq!(
        messages(s.id, "log"),
        ["code 201 text ok h X-A=b error undefined"]
    );
}

#[tokio::test]
async fn the_callback_form_gets_failures_with_negative_codes() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "net_cb.js",
        r#"
        Net.httpRequest("https://example.invalid/", function (r) {
            Logger.write("code " + r.code + " error " + r.error);
            VoxEngine.terminate();
        }, { headers: ["X-Token: abc"] });
        "#,
        "",
        None,
    );
    let SessionCommand::HttpRequest {
        id,
        method,
        headers,
        body,
        timeout,
        ..
    } = engine.next(s.id).await
    else {
        panic!("expected an HttpRequest");
    };
    assert_eq!(method, "GET");
    assert_eq!(headers, [("X-Token".into(), "abc".into())]);
    assert_eq!(body, None);
    assert_eq!(timeout, Duration::from_secs(90));
    s.send(SessionEvent::HttpResponse {
        id,
        result: HttpResult::failure(-3, "host not found"),
    });
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert_eq!(messages(s.id, "log"), ["code -3 error host not found"]);
}

#[tokio::test]
async fn bad_urls_resolve_with_minus_2_and_bad_options_throw() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "net_bad.js",
        r#"
        function tryIt(label, f) {
            try { f(); Logger.write(label + " ok"); }
            catch (e) { Logger.write(label + " " + e.name); }
        }
        tryIt("number url", function () { Net.httpRequestAsync(42); });
        tryIt("bad method", function () { Net.httpRequestAsync("http://a/", { method: "GE T" }); });
        tryIt("bad header", function () { Net.httpRequestAsync("http://a/", { headers: { "X-A": "a\r\nb" } }); });
        tryIt("bad body", function () { Net.httpRequestAsync("http://a/", { postData: [256] }); });
        tryIt("bad timeout", function () { Net.httpRequestAsync("http://a/", { timeout: -1 }); });
        Net.httpRequestAsync("ftp://example.com/").then(function (r) {
            Logger.write("ftp " + r.code);
            VoxEngine.terminate();
        });
        "#,
        "",
        None,
    );
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert_eq!(
        messages(s.id, "log"),
        [
            "number url TypeError",
            "bad method TypeError",
            "bad header TypeError",
            "bad body TypeError",
            "bad timeout TypeError",
            "ftp -2"
        ]
    );
}

#[tokio::test]
async fn more_than_ten_requests_in_flight_resolve_with_code_0() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "net_limit.js",
        r#"
        for (var i = 0; i < 11; i++) {
            (function (n) {
                Net.httpRequestAsync("http://127.0.0.1/" + n).then(function (r) {
                    Logger.write(n + " " + r.code);
                    if (n === 10) Logger.write("limit: " + r.error);
                });
            })(i);
        }
        setTimeout(function () { VoxEngine.terminate(); }, 50);
        "#,
        "",
        None,
    );
    let mut ids = Vec::new();
    for _ in 0..10 {
        match engine.next(s.id).await {
            SessionCommand::HttpRequest { id, .. } => ids.push(id),
            other => panic!("expected an HttpRequest, got {other:?}"),
        }
    }
    // The 11th never reaches the engine.
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    let log = messages(s.id, "log");
    assert_eq!(log[0], "10 0");
    assert!(log[1].starts_with("limit: more than 10"), "{log:?}");
}

#[tokio::test]
async fn a_request_in_flight_keeps_a_callless_session_past_the_idle_limit() {
    let mut cfg = config();
    cfg.idle_timeout = Duration::from_millis(50);
    let mut engine = FakeEngine::start(cfg);
    let s = engine.spawn(
        "net_idle.js",
        r#"
        Net.httpRequestAsync("http://127.0.0.1/slow").then(function (r) {
            Logger.write("done " + r.code);
        });
        "#,
        "",
        None,
    );
    let SessionCommand::HttpRequest { id, .. } = engine.next(s.id).await else {
        panic!("expected an HttpRequest");
    };
    // Waits on the real clock: the idle limit must not end the session while
    // the request is in flight. A timeout on the command channel proves it.
    let early = tokio::time::timeout(Duration::from_millis(300), engine.next(s.id)).await;
    assert!(early.is_err(), "the session ended with a request in flight");
    s.send(SessionEvent::HttpResponse {
        id,
        result: HttpResult::failure(-7, "timeout"),
    });
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert_eq!(
        messages(s.id, "log"),
        ["done -7", "no live calls for 0.05 s: ending the session"]
    );
}

#[tokio::test]
async fn http_request_options_objects_carry_voxengine_defaults() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "options.js",
        r#"
        var options = new Net.HttpRequestOptions();
        Logger.write(options.method + " " + options.headers.length + " " + options.timeout);
        options.method = "PUT";
        options.headers = ["X-A: 1"];
        options.postData = "body";
        Net.httpRequest("http://127.0.0.1:9/x", function () {}, options);
        "#,
        "",
        None,
    );
    let SessionCommand::HttpRequest {
        method,
        headers,
        body,
        timeout,
        ..
    } = engine.next(s.id).await
    else {
        panic!("expected an HttpRequest");
    };
    assert_eq!(method, "PUT");
    assert_eq!(headers, [("X-A".into(), "1".into())]);
    assert_eq!(body.as_deref(), Some(&b"body"[..]));
    assert_eq!(timeout, Duration::from_secs(90));
    assert_eq!(messages(s.id, "log"), ["GET 0 90"]);
}
