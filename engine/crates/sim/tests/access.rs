//! Requests to a simulated session's `accessURL`: the spec's `request`
//! events, the `response` expectation, and when answers are written down.

mod common;

use common::{inline, spec};

use std::time::Duration;

use dialtone_sim::{run, Action, Happened, Report, Request, Spec, SpecError, WorldAction};

fn response(status: u16, content_type: Option<&str>, body: &str) -> Action {
    Action::Response {
        status,
        content_type: content_type.map(str::to_owned),
        body: body.into(),
    }
}

/// The timeline as `(seconds, text)`, world entries in parentheses; the
/// events the session dispatched are left out.
fn lines(report: &Report) -> Vec<(f64, String)> {
    report
        .timeline
        .iter()
        .filter_map(|entry| {
            let text = match &entry.what {
                Happened::Action(action) => action.to_string(),
                Happened::World(what) => format!("({what})"),
                Happened::Event(_) => return None,
            };
            Some((entry.at.as_secs_f64(), text))
        })
        .collect()
}

fn at_of(report: &Report, expectation: usize) -> Duration {
    let index = report.outcomes[expectation]
        .matched
        .unwrap_or_else(|| panic!("expectation {expectation} unmatched\n{}", report.render()));
    report.timeline[index].at
}

#[test]
fn request_events_are_parsed_with_defaults() {
    let spec = spec(
        r#"{ "events": [
               {"at": 3000, "request": {"method": "post", "path": "/extra", "content": "{\"tone\":1200}",
                                        "headers": {"Content-Type": "application/json"}}},
               {"at": 1000, "request": {}},
               {"at": 2000, "request": {"content": {"a": [1, "x"]}}},
               {"at": 2500, "request": {"method": "PUT", "content": [1, 2]}}
           ],
           "expect": [ {"terminated": true} ] }"#,
    );
    let requests: Vec<(u64, &Request)> = spec
        .events
        .iter()
        .map(|e| match &e.action {
            WorldAction::Request(r) => (e.at.as_millis() as u64, r),
            other => panic!("not a request: {other:?}"),
        })
        .collect();
    assert_eq!(requests.len(), 4);
    // Sorted by time; method defaults to GET and is upper-cased.
    assert_eq!(requests[0].0, 1000);
    assert_eq!(
        requests[0].1,
        &Request {
            method: "GET".into(),
            path: String::new(),
            content: String::new(),
            headers: Vec::new(),
        }
    );
    assert_eq!(requests[1].1.content, r#"{"a":[1,"x"]}"#);
    assert_eq!(requests[2].1.content, "[1,2]");
    assert_eq!(requests[2].1.method, "PUT");
    assert_eq!(
        requests[3].1,
        &Request {
            method: "POST".into(),
            path: "/extra".into(),
            content: r#"{"tone":1200}"#.into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
        }
    );
    assert_eq!(requests[3].0, 3000);
}

#[test]
fn bad_requests_are_refused_with_a_reason() {
    for (json, wanted) in [
        (r#"{"at": 1, "request": {"method": "GE T"}}"#, "HTTP method"),
        (r#"{"at": 1, "request": {"method": ""}}"#, "HTTP method"),
        (r#"{"at": 1, "request": {"content": 42}}"#, "\"content\""),
        (r#"{"at": 1, "request": {"path": "/a b"}}"#, "\"path\""),
        (r#"{"at": 1, "call": "sip:x@y", "request": {}}"#, "\"call\""),
        (r#"{"at": 1, "request": {}, "hangup": true}"#, "exactly one"),
    ] {
        let error = Spec::from_json(&format!(
            r#"{{ "events": [ {{"at": 0, "dtmf": "1"}}, {json} ] }}"#
        ))
        .expect_err(json);
        match &error {
            SpecError::Event { index: 1, message } => {
                assert!(message.contains(wanted), "{json}: {message}")
            }
            other => panic!("{json}: {other}"),
        }
    }
    let unknown = Spec::from_json(r#"{ "events": [ {"at": 1, "request": {"body": "x"}} ] }"#);
    assert!(matches!(unknown, Err(SpecError::Json(_))), "{unknown:?}");
}

#[test]
fn response_expectations_match_status_and_body() {
    let spec = spec(
        r#"{ "expect": [
               {"response": "\"tone\":1200"},
               {"response": "/^\\{.*\\}$/"},
               {"response": {"status": 500}},
               {"response": {"status": 500, "body": "boom"}},
               {"response": {"body": ""}}
           ] }"#,
    );
    let json = response(200, Some("application/json"), r#"{"tone":1200}"#);
    let failed = response(
        500,
        Some("application/json"),
        r#"{"error":{"message":"boom"}}"#,
    );
    let empty = response(200, None, "");
    let matches = |index: usize, action: &Action| spec.expect[index].matches(action);
    assert!(matches(0, &json));
    assert!(!matches(0, &failed));
    assert!(matches(1, &json) && matches(1, &failed) && !matches(1, &empty));
    assert!(!matches(2, &json) && matches(2, &failed));
    assert!(matches(3, &failed));
    assert!(!matches(3, &response(500, None, "other")));
    assert!(!matches(3, &response(200, None, "boom")));
    assert!(matches(4, &empty) && matches(4, &json));
    // Other actions never match.
    assert!(!matches(4, &Action::Log("{\"tone\":1200}".into())));
    assert_eq!(spec.expect[0].to_string(), r#"response "\"tone\":1200""#);
    assert_eq!(spec.expect[3].to_string(), r#"response 500 "boom""#);
    assert_eq!(spec.expect[2].to_string(), "response 500");

    for bad in [
        r#"{"response": true}"#,
        r#"{"response": {}}"#,
        r#"{"response": {"status": 99}}"#,
        r#"{"response": {"status": "500"}}"#,
        r#"{"response": {"body": 1}}"#,
        r#"{"response": {"code": 500}}"#,
        r#"{"response": "/(/"}"#,
    ] {
        let error = Spec::from_json(&format!(r#"{{ "expect": [ {bad} ] }}"#));
        assert!(
            matches!(error, Err(SpecError::Expect { index: 0, .. })),
            "{bad}: {error:?}"
        );
    }
}

#[test]
fn responses_are_shown_on_one_line_and_cut() {
    assert_eq!(
        response(200, Some("application/json"), r#"{"a":1}"#).to_string(),
        r#"response 200 application/json: {"a":1}"#
    );
    assert_eq!(response(200, None, "").to_string(), "response 200 (empty)");
    assert_eq!(
        response(404, None, "no\nsuch").to_string(),
        r"response 404: no\nsuch"
    );
    let long = "é".repeat(500);
    let shown = response(200, Some("text/plain"), &long).to_string();
    assert!(shown.ends_with(" … (500 characters)"), "{shown}");
    assert_eq!(shown.matches('é').count(), 200);
}

#[test]
fn the_session_sees_its_access_url_and_the_request() {
    let source = r#"
        var url = "";
        VoxEngine.addEventListener(AppEvents.Started, function (e) {
            url = e.accessURL;
            Logger.write("url " + e.accessURL + " " + (e.accessSecureURL === e.accessURL));
        });
        VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
            Logger.write(e.method + " " + (e.path === url.replace("http://dialtone.test", "") + "/extra")
                + " " + e.content + " " + e.headers["content-type"]);
            if (e.method === "GET") VoxEngine.terminate();
            return JSON.parse(e.content || "{}").tone || undefined;
        });
    "#;
    let spec = spec(
        r#"{ "events": [
               {"at": 3000, "request": {"method": "POST", "path": "/extra", "content": {"tone": 1200},
                                        "headers": {"Content-Type": "application/json"}}},
               {"at": 4000, "request": {"path": "extra"}}
             ],
             "expect": [
               {"log": "/^url http://dialtone\\.test/access/[0-9a-f-]{36}/[0-9a-f]{32} true$/"},
               {"log": "POST true {\"tone\":1200} application/json"},
               {"response": {"status": 200, "body": "/^1200$/"}},
               {"log": "GET true  undefined"},
               {"response": {"status": 200, "body": "/^$/"}},
               {"terminated": true}
             ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    assert_eq!(at_of(&report, 2), Duration::from_secs(3));
    assert_eq!(at_of(&report, 4), Duration::from_secs(4));
    let lines = lines(&report);
    assert!(
        lines.contains(&(
            3.0,
            r#"(request POST <accessURL>/extra {"tone":1200})"#.into()
        )),
        "{lines:?}"
    );
    assert!(
        lines.contains(&(3.0, "response 200 text/plain; charset=utf-8: 1200".into())),
        "{lines:?}"
    );
    assert!(
        lines.contains(&(4.0, "response 200 (empty)".into())),
        "{lines:?}"
    );
}

#[test]
fn what_the_handler_does_comes_before_its_answer() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
            Logger.write("handling");
            return "done";
        });
    "#;
    let spec = spec(
        r#"{ "events": [ {"at": 1000, "request": {}}, {"at": 2000, "terminate": "end"} ],
             "expect": [ {"response": "done"}, {"log": "handling"} ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    let lines = lines(&report);
    let texts: Vec<&str> = lines.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        texts[..3],
        [
            "(request GET <accessURL>)",
            "log \"handling\"",
            "response 200 text/plain; charset=utf-8: done"
        ],
        "{lines:?}"
    );
    // In order: the log line came before the answer.
    assert!(!report.passed());
}

#[test]
fn a_promise_is_answered_later_in_virtual_time() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
            Logger.write("asked");
            return new Promise(function (resolve) {
                setTimeout(function () { Logger.write("resolving"); resolve({ later: true }); }, 2500);
            });
        });
    "#;
    let spec = spec(
        r#"{ "events": [ {"at": 1000, "request": {"method": "POST"}}, {"at": 10000, "terminate": "end"} ],
             "expect": [ {"log": "asked"}, {"log": "resolving"},
                         {"response": {"status": 200, "body": "{\"later\":true}"}}, {"terminated": true} ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    assert_eq!(at_of(&report, 0), Duration::from_secs(1));
    assert_eq!(at_of(&report, 2), Duration::from_millis(3500));
    assert_eq!(at_of(&report, 3), Duration::from_secs(10));
    assert!(report
        .render()
        .contains(r#"PASS  response 200 "{\"later\":true}"  (at   3.500 s)"#));
}

#[test]
fn a_handler_that_throws_answers_500_and_ends_the_session_with_its_error() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
            throw new TypeError("bad request " + e.content);
        });
    "#;
    let spec = spec(
        r#"{ "events": [ {"at": 2000, "request": {"content": "x"}} ],
             "expect": [ {"error": "TypeError: bad request x"},
                         {"response": {"status": 500, "body": "bad request x"}},
                         {"terminated": true} ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    assert_eq!(at_of(&report, 0), Duration::from_secs(2));
    assert_eq!(report.virtual_time, Duration::from_secs(2));
    // The session reports the exception, answers 500, then ends.
    let texts: Vec<String> = lines(&report).into_iter().map(|(_, t)| t).collect();
    let error = texts
        .iter()
        .position(|t| t.starts_with("error ") && t.contains("bad request x"))
        .unwrap_or_else(|| panic!("{texts:?}"));
    assert!(
        texts[error + 1].starts_with("response 500 application/json: "),
        "{texts:?}"
    );
    assert_eq!(texts[error + 2], "terminated", "{texts:?}");
    assert_eq!(texts.len(), error + 3, "{texts:?}");
}

#[test]
fn a_request_after_the_end_gets_the_engines_404() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            e.call.reject(486);
            VoxEngine.terminate();
        });
        VoxEngine.addEventListener(AppEvents.HttpRequest, function () { return "too late"; });
    "#;
    let spec = spec(
        r#"{ "call": {}, "events": [ {"at": 1000, "dtmf": "1"}, {"at": 5000, "request": {"path": "/x"}} ],
             "expect": [ {"reject": 486}, {"terminated": true} ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    // The session ended at once; its call time does not grow with the request.
    assert_eq!(report.virtual_time, Duration::ZERO);
    let lines = lines(&report);
    assert_eq!(
        lines[lines.len() - 2..],
        [
            (5.0, "(request GET <accessURL>/x)".to_string()),
            (
                5.0,
                r#"response 404 application/json: {"error":{"code":"not_found","message":"no such session"}}"#
                    .to_string()
            )
        ],
        "{lines:?}"
    );
    // Only requests still happen after the end: the key press does not.
    assert!(
        !lines.iter().any(|(_, t)| t.contains("presses")),
        "{lines:?}"
    );
}

#[test]
fn a_request_pending_when_the_session_ends_gets_no_answer() {
    let source = r#"
        var later = null;
        VoxEngine.addEventListener(AppEvents.HttpRequest, function () {
            return new Promise(function (resolve) { later = resolve; });
        });
    "#;
    let spec = spec(
        r#"{ "events": [ {"at": 1000, "request": {}}, {"at": 4000, "terminate": "maintenance"} ],
             "expect": [ {"terminated": true} ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    let texts: Vec<String> = lines(&report).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        texts,
        [
            "(request GET <accessURL>)",
            "(the engine ends the session: maintenance)",
            "log \"the engine ends the session: maintenance\"",
            "(no answer: the session ended)",
            "terminated"
        ]
    );
}

#[test]
fn a_promise_that_can_never_settle_is_dropped_at_once() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.HttpRequest, function () {
            return new Promise(function () {});
        });
    "#;
    let spec = spec(
        r#"{ "events": [ {"at": 1000, "request": {}}, {"at": 4000, "terminate": "end"} ],
             "expect": [ {"terminated": true} ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    let lines = lines(&report);
    assert_eq!(
        lines[..2],
        [
            (1.0, "(request GET <accessURL>)".to_string()),
            (
                1.0,
                "(no answer: the session dropped the request)".to_string()
            )
        ],
        "{lines:?}"
    );
    assert_eq!(report.virtual_time, Duration::from_secs(4));
}
