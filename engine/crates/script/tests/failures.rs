//! Failure is local: script errors, CPU and memory overruns and compile
//! errors end one session with a reason; other sessions go on.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use dialtone_core::messages::{SessionCommand, SessionEnd};
use dialtone_core::CallId;
use dialtone_script::{check, CompileError, Scenario};

/// A session on the same worker that must keep answering calls.
const HEALTHY: &str = r#"
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) { e.call.answer(); });
"#;

fn script_error(end: SessionEnd) -> String {
    match end {
        SessionEnd::ScriptError(text) => text,
        other => panic!("expected a script error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_uncaught_exception_ends_the_session_with_its_location() {
    let mut engine = FakeEngine::start(config());
    let call = CallId::next();
    let s = engine.spawn(
        "thrower.js",
        "VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {\n    e.call.answer();\n    helper();\n});\nfunction helper() {\n    throw new Error(\"boom\");\n}\n",
        "",
        Some(alerting(call)),
    );
    let (commands, end) = engine.until_ended(s.id).await;
    assert!(matches!(commands[..], [SessionCommand::Answer { .. }]));
    let text = script_error(end);
    assert!(text.starts_with("thrower.js:6:"), "{text}");
    assert!(text.ends_with("Error: boom"), "{text}");
    let errors = messages(s.id, "error");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("thrower.js:6"), "{}", errors[0]);
    assert!(
        errors[0].contains("helper"),
        "the log carries the JS stack: {}",
        errors[0]
    );
    // No Terminating after an error: no more JS runs.
    assert!(!messages(s.id, "event")
        .iter()
        .any(|e| e.contains("Terminating")));
}

#[tokio::test]
async fn errors_in_top_level_code_and_in_timers_end_the_session() {
    let mut engine = FakeEngine::start(config());
    let top = engine.spawn("top.js", "var x = 1;\nnull.f();\n", "", None);
    assert!(script_error(engine.ended(top.id).await).starts_with("top.js:2:"));
    let timer = engine.spawn(
        "timer.js",
        "setTimeout(function () {\n  undefinedFunction();\n}, 1);\n",
        "",
        None,
    );
    let text = script_error(engine.ended(timer.id).await);
    assert!(
        text.starts_with("timer.js:2:") && text.contains("ReferenceError"),
        "{text}"
    );
    let thrown = engine.spawn("string.js", "throw 'plain';", "", None);
    assert!(script_error(engine.ended(thrown.id).await).contains("plain"));
}

#[tokio::test]
async fn an_unhandled_promise_rejection_ends_the_session() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "async.js",
        "VoxEngine.addEventListener(AppEvents.Started, async function () {\n  await null;\n  throw new TypeError('late');\n});\n",
        "",
        None,
    );
    let text = script_error(engine.ended(s.id).await);
    assert!(
        text.contains("unhandled promise rejection") && text.contains("TypeError: late"),
        "{text}"
    );
    let handled = engine.spawn(
        "handled.js",
        "Promise.reject(new Error('x')).catch(function () { Logger.write('caught'); });\nVoxEngine.terminate();\n",
        "",
        None,
    );
    assert_eq!(engine.ended(handled.id).await, SessionEnd::Normal);
    assert_eq!(messages(handled.id, "log"), ["caught"]);
}

#[tokio::test]
async fn an_endless_loop_is_stopped_by_the_cpu_budget_and_its_worker_keeps_going() {
    let mut cfg = config();
    cfg.workers = 1;
    cfg.cpu_budget = Duration::from_millis(50);
    let mut engine = FakeEngine::start(cfg);
    let spinner = engine.spawn(
        "spin.js",
        "VoxEngine.addEventListener(AppEvents.Started, function () {\n  try { while (true) {} } catch (e) { Logger.write('caught'); }\n});\n",
        "",
        None,
    );
    let call = CallId::next();
    let healthy = engine.spawn("healthy.js", HEALTHY, "", Some(alerting(call)));
    let text = script_error(engine.ended(spinner.id).await);
    assert!(text.contains("CPU budget of 50 ms"), "{text}");
    assert!(
        messages(spinner.id, "log").is_empty(),
        "the interrupt is not catchable"
    );
    assert!(
        matches!(engine.next(healthy.id).await, SessionCommand::Answer { call: c, .. } if c == call)
    );
    // The worker runs new sessions too.
    let call = CallId::next();
    let later = engine.spawn("healthy.js", HEALTHY, "", Some(alerting(call)));
    assert!(matches!(
        engine.next(later.id).await,
        SessionCommand::Answer { .. }
    ));
}

#[tokio::test]
async fn a_promise_loop_is_stopped_by_the_cpu_budget() {
    let mut cfg = config();
    cfg.cpu_budget = Duration::from_millis(50);
    let mut engine = FakeEngine::start(cfg);
    let s = engine.spawn(
        "jobs.js",
        "async function loop() { for (;;) { await null; } }\nloop();\n",
        "",
        None,
    );
    assert!(script_error(engine.ended(s.id).await).contains("CPU budget"));
}

#[tokio::test]
async fn a_memory_hog_is_stopped_and_other_sessions_are_fine() {
    let mut cfg = config();
    cfg.workers = 1;
    cfg.memory_limit = 8 * 1024 * 1024;
    // The memory limit, not the CPU budget, must be what stops it, however
    // slowly a loaded machine runs the loop.
    cfg.cpu_budget = Duration::from_secs(8);
    let mut engine = FakeEngine::start(cfg);
    let hog = engine.spawn(
        "hog.js",
        "VoxEngine.addEventListener(AppEvents.Started, function () {\n  var a = [];\n  for (;;) { a.push('x' + a.length + new Array(64).join('y')); }\n});\n",
        "",
        None,
    );
    let call = CallId::next();
    let healthy = engine.spawn("healthy.js", HEALTHY, "", Some(alerting(call)));
    let text = script_error(engine.ended(hog.id).await);
    assert!(text.contains("out of memory"), "{text}");
    assert!(matches!(
        engine.next(healthy.id).await,
        SessionCommand::Answer { .. }
    ));
}

#[tokio::test]
async fn runaway_recursion_is_a_script_error_not_a_crash() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "deep.js",
        "function f(n) { return f(n + 1) + 1; }\nf(0);\n",
        "",
        None,
    );
    let text = script_error(engine.ended(s.id).await);
    assert!(
        text.contains("RangeError") || text.contains("stack"),
        "{text}"
    );
}

#[tokio::test]
async fn too_many_commands_in_one_callback_is_an_error() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "flood.js",
        "VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {\n  for (;;) { e.call.sendMediaTo(e.call); }\n});\n",
        "",
        Some(alerting(CallId::next())),
    );
    let (commands, end) = engine.until_ended(s.id).await;
    assert_eq!(commands.len(), 1000);
    assert!(script_error(end).contains("RangeError"));
}

#[test]
fn check_reports_syntax_errors_with_their_position() {
    let ok = Scenario {
        name: "fine.js".into(),
        source: "var a = 1;\nundefinedAtRunTime();\n".into(),
    };
    assert_eq!(check(&ok), Ok(()));
    let bad = Scenario {
        name: "bad.js".into(),
        source: "var a = 1;\nvar b = {;\n".into(),
    };
    let err = check(&bad).unwrap_err();
    assert_eq!((err.file.as_str(), err.line, err.column), ("bad.js", 2, 10));
    assert!(err.message.contains("SyntaxError"), "{err}");
    assert_eq!(err.to_string(), format!("bad.js:2:10: {}", err.message));
}

#[tokio::test]
async fn a_scenario_that_does_not_compile_ends_with_a_compile_error() {
    let mut engine = FakeEngine::start(config());
    let scenario = Arc::new(Scenario {
        name: "broken.js".into(),
        source: "function (\n".into(),
    });
    let expected: CompileError = check(&scenario).unwrap_err();
    for _ in 0..2 {
        // The second session gets the cached compile result.
        let s = engine.spawn_scenario(scenario.clone(), "", Some(alerting(CallId::next())));
        match engine.ended(s.id).await {
            SessionEnd::CompileError(text) => assert_eq!(text, expected.to_string()),
            other => panic!("expected a compile error, got {other:?}"),
        }
        assert!(messages(s.id, "error")[0].starts_with("broken.js:1:"));
    }
}

#[tokio::test]
async fn sessions_of_one_scenario_share_its_bytecode_but_not_their_globals() {
    let mut cfg = config();
    cfg.workers = 1;
    let mut engine = FakeEngine::start(cfg);
    let scenario = Arc::new(Scenario {
        name: "counter.js".into(),
        source: "var count = (typeof count === 'number' ? count : 0) + 1;\nVoxEngine.addEventListener(AppEvents.CallAlerting, function (e) { Logger.write('count ' + count); e.call.answer(); });\n".into(),
    });
    for _ in 0..3 {
        let s = engine.spawn_scenario(scenario.clone(), "", Some(alerting(CallId::next())));
        assert!(matches!(
            engine.next(s.id).await,
            SessionCommand::Answer { .. }
        ));
        assert_eq!(messages(s.id, "log"), ["count 1"]);
    }
}
