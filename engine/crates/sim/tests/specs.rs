//! Runs every example scenario against its spec, and checks how failures,
//! timeouts and the simulated world are reported.

mod common;

use common::{inline, spec};

use std::path::{Path, PathBuf};
use std::time::Duration;

use dialtone_script::Scenario;
use dialtone_sim::{run, run_files, Spec, SpecError};

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../scripts")
}

fn example(name: &str) -> Scenario {
    let path = scripts_dir().join(format!("{name}.js"));
    Scenario {
        name: path.display().to_string(),
        source: std::fs::read_to_string(&path).expect("example scenario"),
    }
}

/// `NAME.spec.json`, or `NAME.spec.js` for a spec written in JavaScript.
fn is_spec(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.ends_with(".spec.json") || text.ends_with(".spec.js")
}

#[test]
fn a_spec_in_javascript_runs_like_json() {
    let dir = tempfile_dir();
    let spec_path = dir.join("echo.spec.js");
    std::fs::write(
        &spec_path,
        r#"// The caller hangs up after a minute of echo.
const minute = 60 * 1000;
({
  call: { from: "alice", to: "100" },
  events: [{ at: minute, hangup: true }],
  expect: [{ answered: true }, { log: "echo: connected" }, { terminated: true }],
})
"#,
    )
    .expect("write spec");
    let report = run_files(&scripts_dir().join("echo.js"), &spec_path).expect("spec runs");
    assert!(report.passed(), "{}", report.render());

    std::fs::write(&spec_path, "const nothing = 1;\n").expect("write spec");
    let Err(err) = run_files(&scripts_dir().join("echo.js"), &spec_path) else {
        panic!("a spec that evaluates to nothing is refused");
    };
    assert!(err.to_string().contains("echo.spec.js"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh directory under the system's temp directory.
fn tempfile_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir =
        std::env::temp_dir().join(format!("dialtone-sim-spec-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn every_example_spec_passes() {
    let mut specs: Vec<PathBuf> = std::fs::read_dir(scripts_dir())
        .expect("scripts directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| is_spec(path))
        .collect();
    specs.sort();
    let mut unspecified: Vec<PathBuf> = std::fs::read_dir(scripts_dir())
        .expect("scripts directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "js") && !is_spec(path))
        .filter(|path| {
            !path.with_extension("spec.json").exists() && !path.with_extension("spec.js").exists()
        })
        .collect();
    unspecified.sort();
    assert!(
        unspecified.is_empty(),
        "examples without a spec next to them: {unspecified:?}"
    );
    assert!(
        specs.len() >= 11,
        "expected a spec per example, found {specs:?}"
    );
    let mut failures = Vec::new();
    for spec_path in &specs {
        let text = spec_path.to_string_lossy();
        let name = text
            .strip_suffix(".spec.json")
            .or_else(|| text.strip_suffix(".spec.js"))
            .map(|stem| format!("{stem}.js"))
            .expect("a spec path");
        let report = run_files(Path::new(&name), spec_path).expect("spec runs");
        if !report.passed() {
            failures.push(format!("{}\n{}", spec_path.display(), report.render()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_failing_expectation_is_reported_with_a_diff() {
    let spec = spec(
        r#"{ "call": {"from": "alice"},
             "expect": [ {"answered": true}, {"reject": 486}, {"play": "nope.wav"}, {"terminated": true} ] }"#,
    );
    let report = run(example("busy"), &spec).expect("runs");
    assert!(!report.passed());
    let outcomes: Vec<bool> = report
        .outcomes
        .iter()
        .map(|o| o.matched.is_some())
        .collect();
    assert_eq!(outcomes, [false, true, false, true]);
    let text = report.render();
    assert!(text.contains("FAIL  answered  (not observed)"), "{text}");
    assert!(text.contains("PASS  reject 486"), "{text}");
    // The diff: the missing expectation where it was expected, the matched
    // actions marked, the unmatched log line plain.
    assert!(text.contains("    -             answered\n"), "{text}");
    assert!(text.contains("    =    0.000 s  reject 486\n"), "{text}");
    assert!(
        text.contains("    -             play \"nope.wav\"\n"),
        "{text}"
    );
    assert!(
        text.contains("         0.000 s  log \"busy: rejecting call from alice\"\n"),
        "{text}"
    );
    assert!(text.contains("FAILED: 2/4 expectations"), "{text}");
}

#[test]
fn expectations_must_come_in_order() {
    let spec = spec(
        r#"{ "call": {"from": "alice"}, "expect": [ {"terminated": true}, {"reject": 486} ] }"#,
    );
    let report = run(example("busy"), &spec).expect("runs");
    assert!(!report.passed());
    assert!(report.outcomes[0].matched.is_some());
    assert!(report.outcomes[1].matched.is_none());
}

#[test]
fn minutes_of_call_time_run_in_milliseconds() {
    let report = run_files(
        &scripts_dir().join("echo.js"),
        &scripts_dir().join("echo.spec.json"),
    )
    .expect("runs");
    assert!(report.passed(), "{}", report.render());
    assert!(report.virtual_time >= Duration::from_secs(120));
    assert!(
        report.wall_time < Duration::from_secs(2),
        "{:?}",
        report.wall_time
    );
    println!(
        "echo.spec.json: {:?} of call time in {:?}",
        report.virtual_time, report.wall_time
    );
}

#[test]
fn a_failing_callee_is_seen_by_the_scenario() {
    let spec = spec(
        r#"{ "customData": "sip:bob@example.com", "call": {"from": "alice"},
             "callees": { "sip:bob@example.com": {"ring": 500, "fail": 486, "failAfter": 4000} },
             "expect": [ {"callSIP": "sip:bob@example.com"}, {"ring": true}, {"reject": 486}, {"terminated": true} ] }"#,
    );
    let report = run(example("forward"), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    let reject = report.outcomes[2].matched.expect("reject matched");
    assert_eq!(report.timeline[reject].at, Duration::from_secs(4));
}

#[test]
fn the_timeout_ends_a_session_that_never_ends() {
    let spec = spec(
        r#"{ "call": {"from": "alice"}, "timeout": 5000, "expect": [ {"terminated": true} ] }"#,
    );
    let report = run(example("echo"), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    assert!(report.timed_out);
    assert_eq!(report.virtual_time, Duration::from_secs(5));
    assert!(report
        .render()
        .contains("the spec's timeout ended the session"));
}

#[test]
fn timers_run_on_the_virtual_clock() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
          e.call.answer();
          setTimeout(function () { Logger.write("ten minutes"); e.call.hangup(); }, 600000);
        });
        VoxEngine.addEventListener(AppEvents.Terminating, function () { Logger.write("bye"); });
    "#;
    let spec = spec(
        r#"{ "call": {}, "timeout": 3600000,
             "expect": [ {"answered": true}, {"log": "ten minutes"}, {"hangup": true}, {"log": "bye"}, {"terminated": true} ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    let hangup = report.outcomes[2].matched.expect("hangup matched");
    assert_eq!(report.timeline[hangup].at, Duration::from_secs(600));
    // No live call for the idle limit (60 s) ends the session.
    assert_eq!(report.virtual_time, Duration::from_secs(660));
}

#[test]
fn script_errors_are_actions_too() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
          throw new Error("boom");
        });
    "#;
    let spec = spec(r#"{ "call": {}, "expect": [ {"error": "boom"}, {"terminated": true} ] }"#);
    let report = run(inline(source), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn headers_and_custom_data_reach_the_scenario() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
          Logger.write(VoxEngine.customData() + " " + e.headers["X-Id"] + " " + e.destination);
          e.call.reject(404);
        });
    "#;
    let spec = spec(
        r#"{ "customData": "cd", "call": {"to": "555", "headers": {"X-Id": "7"}},
             "expect": [ {"log": "cd 7 555"}, {"reject": 404} ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn bad_specs_are_refused_with_a_reason() {
    let event = Spec::from_json(r#"{ "events": [ {"at": 1} ] }"#);
    assert!(matches!(event, Err(SpecError::Event { index: 0, .. })));
    let expect = Spec::from_json(r#"{ "expect": [ {"danced": true} ] }"#);
    assert!(matches!(expect, Err(SpecError::Expect { index: 0, .. })));
    let callee = Spec::from_json(r#"{ "callees": { "sip:x@y": {"answer": 1, "fail": 486} } }"#);
    assert!(matches!(callee, Err(SpecError::Callee { .. })));
    let unknown = Spec::from_json(r#"{ "calls": {} }"#);
    assert!(matches!(unknown, Err(SpecError::Json(_))));
}

#[test]
fn http_requests_are_answered_from_the_spec_after_their_delay() {
    let spec = spec(
        r#"{ "customData": "https://api.example.com/v1/hook", "call": {"from": "bob"},
             "http": { "/api\\.example\\.com/": {"code": 503, "delay": 2000} },
             "expect": [ {"http": "/v1/hook$/"}, {"log": "webhook: failed with code 503"}, {"hangup": true} ] }"#,
    );
    let report = run(example("webhook"), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    let failed = report.outcomes[1].matched.expect("log matched");
    assert_eq!(report.timeline[failed].at, Duration::from_secs(2));
}

#[test]
fn an_unknown_url_gets_code_minus_1() {
    let spec = spec(
        r#"{ "customData": "http://nowhere.example/", "call": {"from": "bob"},
             "expect": [ {"http": "nowhere"}, {"log": "/failed with code -1 \\(.*no \"http\" entry/"}, {"terminated": true} ] }"#,
    );
    let report = run(example("webhook"), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn a_bad_http_pattern_is_a_spec_error() {
    let error = Spec::from_json(r#"{ "http": { "/(/": {"code": 200} } }"#).unwrap_err();
    assert!(matches!(error, SpecError::Http { .. }), "{error}");
}
