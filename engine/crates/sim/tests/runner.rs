//! The honest runner: script errors fail a spec that does not expect them,
//! a spec must expect something, `not` and `ordered`, `event`
//! expectations, JSON; and the simulated world answering through the
//! engine's call core (codes, DTMF by INFO, re-INVITE).

mod common;

use common::{inline, spec};

use dialtone_sim::{run, Spec, SpecError};

const ANSWER_THEN_HANG_UP: &str = r#"
    VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
      e.call.addEventListener(CallEvents.Disconnected, function (ev) {
        Logger.write("gone " + ev.code + " " + ev.reason);
        VoxEngine.terminate();
      });
      e.call.hangup();
    });
"#;

#[test]
fn a_spec_with_no_expectations_is_refused() {
    assert!(matches!(
        Spec::from_json("{}"),
        Err(SpecError::NoExpectations)
    ));
    assert!(matches!(
        Spec::from_json(r#"{"call": {}, "expect": []}"#),
        Err(SpecError::NoExpectations)
    ));
}

#[test]
fn an_uncaught_exception_fails_a_spec_that_does_not_expect_it() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
          e.call.answer();
          throw new Error("oops");
        });
    "#;
    let report = run(
        inline(source),
        &spec(r#"{ "call": {}, "expect": [ {"answered": true}, {"terminated": true} ] }"#),
    )
    .expect("runs");
    assert!(report.outcomes.iter().all(|o| o.passed));
    assert!(!report.passed(), "{}", report.render());
    assert_eq!(report.unexpected_errors().len(), 1);
    let text = report.render();
    assert!(text.contains("FAIL  unexpected script error"), "{text}");
    assert!(text.contains("1 unexpected script error"), "{text}");
    let report = run(
        inline(source),
        &spec(r#"{ "call": {}, "expect": [ {"answered": true}, {"error": "oops"} ] }"#),
    )
    .expect("runs");
    assert!(report.passed(), "{}", report.render());
    // Expected errors are still shown.
    assert!(report.render().contains("error (at"), "{}", report.render());
}

#[test]
fn a_scenario_that_does_not_compile_fails_unless_expected() {
    let broken = "VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {";
    let report = run(
        inline(broken),
        &spec(r#"{ "call": {}, "expect": [ {"terminated": true} ] }"#),
    )
    .expect("runs");
    assert!(!report.passed());
    let report = run(
        inline(broken),
        &spec(r#"{ "call": {}, "expect": [ {"error": "SyntaxError"} ] }"#),
    )
    .expect("runs");
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn the_scenario_sees_the_codes_the_engine_sends() {
    // hangup() of an unanswered inbound call is 480 on the wire and in the event.
    let report = run(
        inline(ANSWER_THEN_HANG_UP),
        &spec(
            r#"{ "call": {}, "expect": [
                 {"hangup": true},
                 {"event": "/^Call.Disconnected call=\\d+ code=480 reason=\"Temporarily Unavailable\"/"},
                 {"log": "gone 480 Temporarily Unavailable"} ] }"#,
        ),
    )
    .expect("runs");
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn reject_reason_phrases_are_the_wires() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
          e.call.addEventListener(CallEvents.Disconnected, function (ev) {
            Logger.write(ev.code + " " + ev.reason);
          });
          e.call.reject(410);
        });
    "#;
    let report = run(
        inline(source),
        &spec(r#"{ "call": {}, "expect": [ {"reject": 410}, {"log": "410 Gone"} ] }"#),
    )
    .expect("runs");
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn not_holds_between_its_neighbours_when_ordered() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
          Logger.write("one");
          Logger.write("two");
          Logger.write("three");
          VoxEngine.terminate();
        });
    "#;
    let holds = spec(
        r#"{ "call": {}, "expect": [ {"log": "two"}, {"not": {"log": "one"}}, {"log": "three"} ] }"#,
    );
    let report = run(inline(source), &holds).expect("runs");
    assert!(report.passed(), "{}", report.render());
    let broken = spec(
        r#"{ "call": {}, "expect": [ {"log": "one"}, {"not": {"log": "two"}}, {"log": "three"} ] }"#,
    );
    let report = run(inline(source), &broken).expect("runs");
    assert!(!report.passed());
    assert!(!report.outcomes[1].passed);
    let text = report.render();
    assert!(
        text.contains("FAIL  not log \"two\"  (observed at"),
        "{text}"
    );
    assert!(text.contains("    ! "), "{text}");
}

#[test]
fn not_holds_everywhere_when_unordered_and_order_stops_mattering() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
          Logger.write("one");
          Logger.write("two");
          e.call.reject(486);
        });
    "#;
    let unordered = spec(
        r#"{ "call": {}, "ordered": false,
             "expect": [ {"log": "two"}, {"log": "one"}, {"not": {"answered": true}} ] }"#,
    );
    assert!(run(inline(source), &unordered).expect("runs").passed());
    let ordered = spec(r#"{ "call": {}, "expect": [ {"log": "two"}, {"log": "one"} ] }"#);
    assert!(!run(inline(source), &ordered).expect("runs").passed());
    let never = spec(
        r#"{ "call": {}, "ordered": false, "expect": [ {"log": "one"}, {"not": {"reject": 486}} ] }"#,
    );
    assert!(!run(inline(source), &never).expect("runs").passed());
    // A `not` cannot hold another.
    assert!(Spec::from_json(r#"{"expect": [{"not": {"not": {"answered": true}}}]}"#).is_err());
}

#[test]
fn the_json_report_lists_events_logs_and_outcomes() {
    let report = run(
        inline(ANSWER_THEN_HANG_UP),
        &spec(r#"{ "call": {}, "expect": [ {"hangup": true}, {"not": {"answered": true}} ] }"#),
    )
    .expect("runs");
    let json = report.to_json();
    assert_eq!(json["passed"], true);
    let events: Vec<&str> = json["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert_eq!(events[0], "Application.Started");
    assert!(events.iter().any(|e| e.starts_with("Call.Disconnected")));
    assert_eq!(json["logs"][0]["text"], "gone 480 Temporarily Unavailable");
    assert_eq!(json["expectations"][0]["expect"], "hangup");
    assert_eq!(json["expectations"][1]["passed"], true);
    assert!(json["timeline"].as_array().is_some_and(|t| !t.is_empty()));
}

#[test]
fn dtmf_by_info_reaches_a_call_that_handles_tones() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
          e.call.answer();
          e.call.handleTones(true);
          e.call.addEventListener(CallEvents.ToneReceived, function (ev) {
            Logger.write("tone " + ev.tone);
            e.call.hangup();
          });
          e.call.addEventListener(CallEvents.Disconnected, function () { VoxEngine.terminate(); });
        });
    "#;
    let report = run(
        inline(source),
        &spec(
            r#"{ "call": {}, "events": [ {"at": 1000, "dtmf": "7", "via": "info"} ],
                 "expect": [ {"log": "tone 7"}, {"event": "/code=200 reason=\"OK\"/"} ] }"#,
        ),
    )
    .expect("runs");
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn a_hold_reinvite_is_answered_by_the_call_core() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
          e.call.answer();
        });
    "#;
    let report = run(
        inline(source),
        &spec(
            r#"{ "call": {}, "events": [ {"at": 1000, "reinvite": "sendonly"}, {"at": 2000, "hangup": true} ],
                 "timeout": 5000, "expect": [ {"answered": true}, {"event": "Call.Disconnected"} ] }"#,
        ),
    )
    .expect("runs");
    assert!(report.passed(), "{}", report.render());
    let answered = report.timeline.iter().any(|e| {
        matches!(&e.what, dialtone_sim::Happened::World(w) if w == "caller's re-INVITE is answered 200")
    });
    assert!(answered, "{}", report.render());
    assert!(Spec::from_json(
        r#"{"events": [{"at": 1, "reinvite": "sideways"}], "expect": [{"terminated": true}]}"#
    )
    .is_err());
}

#[test]
fn a_callee_that_only_rings_rings_until_the_end() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.Started, function () {
          var call = VoxEngine.callSIP("sip:nobody@192.0.2.99");
          call.addEventListener(CallEvents.Failed, function (e) {
            Logger.write("failed " + e.code);
            VoxEngine.terminate();
          });
        });
    "#;
    let report = run(
        inline(source),
        &spec(
            r#"{ "callees": { "sip:nobody@192.0.2.99": { "ring": 100000000 } },
                 "expect": [ {"callSIP": "sip:nobody@192.0.2.99"}, {"terminated": true} ], "timeout": 60000 }"#,
        ),
    )
    .expect("runs");
    // It rang (a provisional stops Timer B), so it rings until the timeout.
    assert!(report.timed_out, "{}", report.render());
}

#[test]
fn an_unreachable_callee_fails_with_408_after_timer_b() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.Started, function () {
          var call = VoxEngine.callSIP("sip:nobody@192.0.2.99");
          call.addEventListener(CallEvents.Failed, function (e) {
            Logger.write("failed " + e.code + " " + e.reason);
            VoxEngine.terminate();
          });
        });
    "#;
    let report = run(
        inline(source),
        &spec(
            r#"{ "callees": { "sip:nobody@192.0.2.99": { "unreachable": true } },
                 "expect": [ {"callSIP": "sip:nobody@192.0.2.99"}, {"log": "failed 408 Request Timeout"}, {"terminated": true} ] }"#,
        ),
    )
    .expect("runs");
    assert!(report.passed(), "{}", report.render());
    let logged = report.outcomes[1].matched.expect("logged");
    assert_eq!(
        report.timeline[logged].at,
        std::time::Duration::from_secs(32)
    );
    assert!(Spec::from_json(
        r#"{"callees": {"sip:x@y": {"unreachable": true, "ring": 1}}, "expect": [{"terminated": true}]}"#
    )
    .is_err());
}

const ECHO_LOGGING_END: &str = r#"
    VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
      e.call.answer();
      if (VoxEngine.customData() === "keep") e.call.hangupOnRtpTimeout(false);
      e.call.addEventListener(CallEvents.Disconnected, function (ev) {
        Logger.write("gone " + ev.code + " " + ev.reason);
        VoxEngine.terminate();
      });
    });
"#;

#[test]
fn a_peer_that_stops_sending_rtp_is_hung_up_by_the_engine() {
    let report = run(
        inline(ECHO_LOGGING_END),
        &spec(
            r#"{ "call": {}, "events": [ {"at": 1000, "rtp": "stop"} ],
                 "expect": [ {"event": "Call.RtpStopped"}, {"log": "gone 200 RTP Timeout"} ] }"#,
        ),
    )
    .expect("runs");
    assert!(report.passed(), "{}", report.render());
    let logged = report.outcomes[1].matched.expect("logged");
    // 20 s of grace after RtpStopped (the spec's event stands for the media
    // engine's report).
    assert_eq!(
        report.timeline[logged].at,
        std::time::Duration::from_secs(21)
    );
}

#[test]
fn a_scenario_can_keep_a_silent_call_up() {
    let report = run(
        inline(ECHO_LOGGING_END),
        &spec(
            r#"{ "customData": "keep", "call": {}, "events": [ {"at": 1000, "rtp": "stop"}, {"at": 300000, "hangup": true} ],
                 "timeout": 400000,
                 "expect": [ {"event": "Call.RtpStopped"}, {"not": {"log": "RTP Timeout"}}, {"log": "gone 200 BYE"} ] }"#,
        ),
    )
    .expect("runs");
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn an_inbound_call_nobody_answers_gets_480_after_three_minutes() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
          e.call.addEventListener(CallEvents.Disconnected, function (ev) {
            Logger.write("gone " + ev.code + " " + ev.reason);
            VoxEngine.terminate();
          });
        });
    "#;
    let report = run(
        inline(source),
        &spec(r#"{ "call": {}, "timeout": 600000, "expect": [ {"log": "gone 480 No Answer"} ] }"#),
    )
    .expect("runs");
    assert!(report.passed(), "{}", report.render());
    let logged = report.outcomes[0].matched.expect("logged");
    assert_eq!(
        report.timeline[logged].at,
        std::time::Duration::from_secs(180)
    );
}

#[test]
fn a_script_that_floods_its_log_is_held_to_its_budget() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.Started, function () {
          for (var i = 0; i < 10000; i++) Logger.write("line " + i);
          setTimeout(function () { Logger.write("later"); VoxEngine.terminate(); }, 2000);
        });
    "#;
    let report = run(
        inline(source),
        &spec(
            r#"{ "expect": [ {"log": "line 199"}, {"not": {"log": "line 200"}},
                             {"log": "/^9800 log lines \\(\\d+ bytes\\) dropped: over the session's budget/"},
                             {"log": "later"} ] }"#,
        ),
    )
    .expect("runs");
    assert!(report.passed(), "{}", report.render());
}
