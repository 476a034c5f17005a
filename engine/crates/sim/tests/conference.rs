//! Conferences in `dialtone test`: endpoints, their events, and the errors a
//! scenario gets for what cannot join.

mod common;

use common::{inline, spec};
use dialtone_sim::run;

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
