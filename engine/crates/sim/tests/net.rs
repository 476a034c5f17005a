//! `Net` requests in the simulated web: the request's own timeout, and the
//! `http` expectation's method and body.

mod common;

use common::{inline, spec};

use std::time::Duration;

use dialtone_script::Scenario;
use dialtone_sim::{run, Action, Happened, Report, Spec, SpecError};

fn at_of(report: &Report, expectation: usize) -> Duration {
    let index = report.outcomes[expectation]
        .matched
        .unwrap_or_else(|| panic!("expectation {expectation} unmatched\n{}", report.render()));
    report.timeline[index].at
}

fn world_lines(report: &Report) -> Vec<(Duration, String)> {
    report
        .timeline
        .iter()
        .filter_map(|entry| match &entry.what {
            Happened::World(what) => Some((entry.at, what.clone())),
            Happened::Action(_) | Happened::Event(_) => None,
        })
        .collect()
}

/// Requests `url` with `options` (JS source) once the session starts, logs
/// the result, and ends.
fn requester(options: &str) -> Scenario {
    inline(&format!(
        r#"
        VoxEngine.addEventListener(AppEvents.Started, function () {{
          Net.httpRequestAsync("https://api.example.com/slow", {options}).then(function (r) {{
            Logger.write("code " + r.code + " error " + r.error + " text " + r.text);
            VoxEngine.terminate();
          }});
        }});
        "#
    ))
}

#[test]
fn an_answer_slower_than_the_timeout_resolves_with_minus_7_at_the_timeout() {
    let spec = spec(
        r#"{ "http": { "https://api.example.com/slow": {"code": 200, "text": "late", "delay": 5000} },
             "expect": [ {"http": "/slow"},
                         {"log": "/^code -7 error no complete response within 2 s text $/"},
                         {"terminated": true} ] }"#,
    );
    let report = run(requester(r#"{ timeout: 2 }"#), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    assert_eq!(at_of(&report, 1), Duration::from_secs(2));
    let world = world_lines(&report);
    assert!(
        world.iter().any(|(at, what)| *at == Duration::from_secs(2)
            && what.starts_with("HTTP response -7: the request's 2 s timeout passed")
            && what.contains("answers 200 after 5 s")),
        "{world:?}"
    );
    // The late answer never reaches the session.
    assert!(!report.render().contains("late"), "{}", report.render());
}

#[test]
fn an_answer_within_the_timeout_is_the_specs() {
    let spec = spec(
        r#"{ "http": { "https://api.example.com/slow": {"code": 200, "text": "in time", "delay": 2000} },
             "expect": [ {"log": "code 200 error undefined text in time"}, {"terminated": true} ] }"#,
    );
    let report = run(requester(r#"{ timeout: 2 }"#), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    assert_eq!(at_of(&report, 0), Duration::from_secs(2));
}

#[test]
fn without_a_timeout_a_request_waits_90_s() {
    let spec = spec(
        r#"{ "http": { "https://api.example.com/slow": {"code": 200, "delay": 100000} },
             "expect": [ {"log": "code -7 error no complete response within 90 s"}, {"terminated": true} ] }"#,
    );
    let report = run(requester("{}"), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    assert_eq!(at_of(&report, 0), Duration::from_secs(90));
}

#[test]
fn the_callback_form_times_out_too() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.Started, function () {
          Net.httpRequest("https://api.example.com/slow", function (r) {
            Logger.write("callback code " + r.code);
            VoxEngine.terminate();
          }, { timeout: 0.5 });
        });
    "#;
    let spec = spec(
        r#"{ "http": { "/slow/": {"code": 204, "delay": 600} },
             "expect": [ {"log": "callback code -7"}, {"terminated": true} ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    assert_eq!(at_of(&report, 0), Duration::from_millis(500));
}

/// POSTs a JSON body, then GETs with no body.
fn poster() -> Scenario {
    inline(
        r#"
        VoxEngine.addEventListener(AppEvents.Started, function () {
          Net.httpRequestAsync("https://crm.example.com/calls", {
            method: "post",
            headers: { "Content-Type": "application/json" },
            postData: JSON.stringify({ url: "sim://recording/1", duration: 16.5 }),
          }).then(function () {
            return Net.httpRequestAsync("https://crm.example.com/calls?x=1");
          }).then(function () { VoxEngine.terminate(); });
        });
        "#,
    )
}

#[test]
fn the_http_expectation_checks_method_and_body() {
    let spec = spec(
        r#"{ "http": { "/crm/": {"code": 200} },
             "expect": [
               {"http": {"url": "crm.example.com/calls", "method": "post",
                         "body": "/\"url\":\"sim://recording/1\",\"duration\":16\\.5/"}},
               {"http": {"method": "GET", "url": "/\\?x=1$/"}},
               {"terminated": true} ] }"#,
    );
    let report = run(poster(), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    let requests: Vec<&Action> = report
        .timeline
        .iter()
        .filter_map(|entry| match &entry.what {
            Happened::Action(action @ Action::Http { .. }) => Some(action),
            _ => None,
        })
        .collect();
    assert_eq!(
        requests[0],
        &Action::Http {
            method: "POST".into(),
            url: "https://crm.example.com/calls".into(),
            body: r#"{"url":"sim://recording/1","duration":16.5}"#.into(),
        }
    );
    assert_eq!(
        requests[1].to_string(),
        "http GET https://crm.example.com/calls?x=1"
    );
}

#[test]
fn a_wrong_method_or_body_fails_and_the_report_shows_the_request() {
    let spec = spec(
        r#"{ "http": { "/crm/": {"code": 200} },
             "expect": [ {"http": {"method": "PUT"}}, {"http": {"body": "duration\":17"}} ] }"#,
    );
    let report = run(poster(), &spec).expect("runs");
    assert!(!report.passed());
    let text = report.render();
    assert!(text.contains("FAIL  http PUT  (not observed)"), "{text}");
    assert!(
        text.contains("FAIL  http body \"duration\\\":17\"  (not observed)"),
        "{text}"
    );
    assert!(
        text.contains(
            "0.000 s  http POST https://crm.example.com/calls: {\"url\":\"sim://recording/1\",\"duration\":16.5}\n"
        ),
        "{text}"
    );
}

#[test]
fn a_long_request_body_is_cut_in_the_report() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.Started, function () {
          Net.httpRequestAsync("https://crm.example.com/big", {
            method: "PUT", postData: new Array(501).join("ab") + "END",
          }).then(function () { VoxEngine.terminate(); });
        });
    "#;
    let spec = spec(
        r#"{ "http": { "/crm/": {"code": 200} },
             "expect": [ {"http": {"method": "PUT", "body": "/abEND$/"}}, {"log": "never"} ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    // The body matches in full; only the report cuts it.
    assert!(report.outcomes[0].matched.is_some(), "{}", report.render());
    let text = report.render();
    let line = text
        .lines()
        .find(|line| line.contains("http PUT https:"))
        .unwrap_or_else(|| panic!("no request line\n{text}"));
    assert!(line.ends_with(" … (1003 characters)"), "{line}");
    assert!(!line.contains("END"), "{line}");
}

#[test]
fn bad_http_expectations_are_refused_with_a_reason() {
    for (json, reason) in [
        (r#"{"http": {}}"#, "at least one"),
        (r#"{"http": 5}"#, "at least one"),
        (r#"{"http": {"verb": "GET"}}"#, "unknown key \"verb\""),
        (r#"{"http": {"method": "GET POST"}}"#, "not an HTTP method"),
        (r#"{"http": {"method": 1}}"#, "not an HTTP method"),
        (r#"{"http": {"body": 1}}"#, "\"body\" takes a string"),
        (r#"{"http": {"url": "/(/"}}"#, "bad regular expression"),
    ] {
        let error = Spec::from_json(&format!(r#"{{ "expect": [ {json} ] }}"#)).unwrap_err();
        match &error {
            SpecError::Expect { index: 0, message } => {
                assert!(message.contains(reason), "{json}: {message}")
            }
            other => panic!("{json}: {other}"),
        }
    }
}
