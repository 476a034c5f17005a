//! Conferences in `dialtone test`: endpoints, their events, and the errors a
//! scenario gets for what cannot join.

mod common;

use common::{inline, spec};
use dialtone_sim::{run, Action, Happened};

#[test]
fn a_call_that_ended_cannot_join_and_the_conference_says_so() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
          var conf = VoxEngine.createConference();
          conf.addEventListener(ConferenceEvents.ConferenceError, function (ev) {
            Logger.write("error " + ev.code + " " + ev.error + " " + (ev.endpointId === ep.id()) +
              " " + conf.getList().length);
            VoxEngine.terminate();
          });
          e.call.hangup();
          var ep = conf.add({ call: e.call });
        });
    "#;
    let spec = spec(
        r#"{ "call": {}, "expect": [ {"log": "error 404 the call has ended true 0"}, {"terminated": true} ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn endpoints_events_and_whom_they_hear() {
    let source = r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
          var conf = VoxEngine.createConference({ id: "room" });
          var seen = [];
          [ConferenceEvents.Started, ConferenceEvents.EndpointAdded, ConferenceEvents.EndpointUpdated,
           ConferenceEvents.EndpointManaged, ConferenceEvents.EndpointRemoved, ConferenceEvents.Stopped]
            .forEach(function (name) {
              conf.addEventListener(name, function (ev) {
                seen.push(ev.name.replace("Conference.", "") + (ev.endpoint ? ":" + ev.direction : ""));
                if (ev.name === ConferenceEvents.Stopped) {
                  Logger.write(conf.id() + " " + seen.join(","));
                  VoxEngine.terminate();
                }
              });
            });
          e.call.answer();
          e.call.addEventListener(CallEvents.Connected, function () {
            var ep = conf.add({ call: e.call, direction: "SEND" });
            conf.sendMediaTo(e.call);
            ep.manageEndpoint({ all: { audio: false } }).then(function () {
              Logger.write("managed " + ep.getDirection() + " " + ep.getMode());
              VoxEngine.stopMediaBetween(e.call, conf);
              conf.stop();
            });
          });
        });
    "#;
    let spec = spec(
        r#"{ "call": {}, "expect": [ {"answered": true}, {"log": "managed BOTH MIX"},
             {"log": "room Started,EndpointAdded:SEND,EndpointUpdated:BOTH,EndpointManaged:BOTH,EndpointRemoved:BOTH,Stopped"},
             {"terminated": true} ] }"#,
    );
    let report = run(inline(source), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
}

/// The scenario of a meet-me across sessions, as VoxEngine builds one: a
/// caller's session reaches the conference session "room" with
/// `callConference`; the same scenario runs the room.
const MEET: &str = r#"
    var conf = null;
    VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
      if (e.destination === "room") {
        if (e.callerid === "mallory") { e.call.reject(486); return; }
        if (!conf) {
          conf = VoxEngine.createConference({ id: "room" });
          conf.addEventListener(ConferenceEvents.EndpointAdded, function () {
            Logger.write("room has " + conf.getList().length);
          });
          conf.addEventListener(ConferenceEvents.EndpointRemoved, function () {
            Logger.write("room has " + conf.getList().length + " left");
            if (conf.getList().length === 0 && e.callerid !== "stays") VoxEngine.terminate();
          });
        }
        e.call.answer();
        VoxEngine.sendMediaBetween(e.call, conf);
        return;
      }
      var caller = e.call;
      caller.answer();
      caller.addEventListener(CallEvents.Connected, function () {
        var leg = VoxEngine.callConference("room", e.callerid);
        leg.addEventListener(CallEvents.Connected, function () {
          VoxEngine.sendMediaBetween(caller, leg);
          Logger.write(e.callerid + " joined");
        });
        leg.addEventListener(CallEvents.Failed, function (ev) {
          Logger.write("room failed " + ev.code);
          caller.hangup();
        });
        leg.addEventListener(CallEvents.Disconnected, function () { caller.hangup(); });
        caller.addEventListener(CallEvents.Disconnected, function () {
          leg.hangup();
          VoxEngine.terminate();
        });
      });
    });
"#;

#[test]
fn call_conference_starts_the_conference_session_beside_the_first() {
    let spec = spec(
        r#"{ "call": { "from": "alice", "to": "1000" },
             "events": [ { "at": 3000, "hangup": true } ],
             "expect": [ {"answered": true}, {"log": "room has 1"}, {"log": "alice joined"},
                         {"terminated": true}, {"log": "room has 0 left"}, {"terminated": true} ] }"#,
    );
    let report = run(inline(MEET), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    assert!(!report.timed_out, "{}", report.render());
    // The room's lines say they are the room's; the caller's do not.
    let session_of = |line: &str| {
        report
            .timeline
            .iter()
            .find(|e| matches!(&e.what, Happened::Action(Action::Log(l)) if l == line))
            .map(|e| e.session.clone())
    };
    assert_eq!(session_of("room has 1"), Some(Some("room".to_string())));
    assert_eq!(session_of("alice joined"), Some(None));
    let ended: Vec<Option<String>> = report
        .timeline
        .iter()
        .filter(|e| matches!(e.what, Happened::Action(Action::Terminated)))
        .map(|e| e.session.clone())
        .collect();
    assert_eq!(ended, vec![None, Some("room".to_string())]);
    // The caller hung up at 3 s; the room ended right after it.
    assert!(report.virtual_time < std::time::Duration::from_secs(4));
}

#[test]
fn a_room_that_rejects_fails_the_callers_leg_with_its_code() {
    let spec = spec(
        r#"{ "call": { "from": "mallory", "to": "1000" },
             "expect": [ {"answered": true}, {"log": "room failed 486"}, {"hangup": true},
                         {"terminated": true} ] }"#,
    );
    let report = run(inline(MEET), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
}

#[test]
fn the_timeout_ends_every_session() {
    // The room of "stays" never ends by itself.
    let spec = spec(
        r#"{ "call": { "from": "stays", "to": "1000" }, "timeout": 20000,
             "events": [ { "at": 2000, "hangup": true } ],
             "expect": [ {"log": "stays joined"}, {"terminated": true}, {"log": "room has 0 left"},
                         {"terminated": true} ] }"#,
    );
    let report = run(inline(MEET), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    assert!(report.timed_out, "{}", report.render());
}

#[test]
fn an_expectation_can_name_the_session_it_is_met_in() {
    let spec = spec(
        r#"{ "call": { "from": "alice", "to": "1000" },
             "events": [ { "at": 3000, "hangup": true } ],
             "expect": [ {"answered": true, "session": "room"}, {"log": "room has 1", "session": "room"},
                         {"not": {"log": "alice joined", "session": "room"}},
                         {"terminated": true, "session": "room"} ] }"#,
    );
    let report = run(inline(MEET), &spec).expect("runs");
    assert!(report.passed(), "{}", report.render());
    // The caller's session logged "alice joined": not the room.
    let wrong = spec_text(r#"[ {"log": "alice joined", "session": "room"} ]"#);
    let report = run(inline(MEET), &wrong).expect("runs");
    assert!(!report.passed(), "{}", report.render());
    assert!(
        report
            .render()
            .contains("FAIL  log \"alice joined\" in room"),
        "{}",
        report.render()
    );
}

#[test]
fn a_session_key_must_name_a_session_and_sit_inside_a_not() {
    for (expect, says) in [
        (r#"{"log": "x", "session": ""}"#, "\"session\" takes"),
        (r#"{"log": "x", "session": 3}"#, "\"session\" takes"),
        (
            r#"{"not": {"log": "x"}, "session": "room"}"#,
            "inside the \"not\"",
        ),
        (r#"{"log": "x", "hangup": true}"#, "one key"),
    ] {
        let text = format!(r#"{{ "call": {{}}, "expect": [ {expect} ] }}"#);
        let err = dialtone_sim::Spec::from_json(&text).expect_err(expect);
        assert!(err.to_string().contains(says), "{expect}: {err}");
    }
}

/// A spec for `MEET` with alice calling 1000, hanging up at 3 s, and `expect`.
fn spec_text(expect: &str) -> dialtone_sim::Spec {
    spec(&format!(
        r#"{{ "call": {{ "from": "alice", "to": "1000" }}, "events": [ {{ "at": 3000, "hangup": true }} ], "expect": {expect} }}"#
    ))
}
