//! The rules on small scenarios: each finding with its exact position, and
//! valid scenarios (the shipped ones among them) with none.

use super::*;

/// `line:col: message` for every finding in `source`.
fn findings(source: &str) -> Vec<String> {
    let scenario = Scenario {
        name: "t.js".into(),
        source: source.into(),
    };
    lint(&scenario)
        .expect("lints")
        .into_iter()
        .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
        .collect()
}

fn assert_clean(source: &str) {
    assert_eq!(findings(source), Vec::<String>::new(), "in:\n{source}");
}

#[test]
fn unknown_members_of_namespaces_and_enums() {
    let source = r#"VoxEngine.callSIPP("sip:a@b");
VoxEngine.addEventListener(AppEvents.CallAlerting2, function (e) {});
var c = CallEvents.Conected;
var p = PlayerEvents.X, r = RecorderEvents.Stoped;
Net.x(); Logger.wirte("a");
"#;
    assert_eq!(
        findings(source),
        [
            "1:11: unknown member VoxEngine.callSIPP (did you mean VoxEngine.callSIP?)",
            "2:38: unknown member AppEvents.CallAlerting2 (did you mean AppEvents.CallAlerting?)",
            "3:20: unknown member CallEvents.Conected (did you mean CallEvents.Connected?)",
            "4:22: unknown member PlayerEvents.X",
            "4:44: unknown member RecorderEvents.Stoped (did you mean RecorderEvents.Stopped?)",
            "5:5: unknown member Net.x",
            "5:17: unknown member Logger.wirte (did you mean Logger.write?)",
        ]
    );
}

#[test]
fn types_and_interfaces_are_not_runtime_members() {
    assert_eq!(
        findings("var o = VoxEngine.CallSIPParameters;\nvar t = AppEvents.StartedEvent;\n"),
        [
            "1:19: unknown member VoxEngine.CallSIPParameters",
            "2:19: unknown member AppEvents.StartedEvent",
        ]
    );
}

#[test]
fn the_inbound_call_of_call_alerting_is_a_call() {
    let source = r#"VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.answr();
});
VoxEngine.addEventListener(AppEvents.CallAlerting, function (event) {
  var call = event.call;
  call.hangupp();
});
VoxEngine.addEventListener("Application.CallAlerting", async ({ call }) => call.rejct(486));
VoxEngine.addEventListener(AppEvents.CallAlerting, e => e.call.ring().x);
"#;
    assert_eq!(
        findings(source),
        [
            "2:10: unknown member Call.answr (did you mean Call.answer?)",
            "6:8: unknown member Call.hangupp (did you mean Call.hangup?)",
            "8:81: unknown member Call.rejct (did you mean Call.reject?)",
        ]
    );
}

#[test]
fn objects_made_by_voxengine_have_their_class() {
    let source = r#"const out = VoxEngine.callSIP("sip:bob@example.com");
out.answr();
let later;
later = VoxEngine.callSIP("sip:carol@example.com", { callerid: "1" });
later.sendMedia(out);
var player = null;
function start() {
  player = VoxEngine.createTTSPlayer("hello");
  player.play();
}
var tone = VoxEngine.createToneScriptPlayer("440@-10;1(1/0/1)", true);
tone.stopp();
VoxEngine.createURLPlayer("a.wav").sendMediaTo(out).then();
var recorder = VoxEngine.createRecorder();
recorder.stopp();
"#;
    assert_eq!(
        findings(source),
        [
            "2:5: unknown member Call.answr (did you mean Call.answer?)",
            "5:7: unknown member Call.sendMedia (did you mean Call.sendMediaTo?)",
            "9:10: unknown member Player.play",
            "12:6: unknown member Player.stopp (did you mean Player.stop?)",
            "15:10: unknown member Recorder.stopp (did you mean Recorder.stop?)",
        ]
    );
}

#[test]
fn handlers_of_an_objects_events_get_their_payload() {
    let source = r#"var call = VoxEngine.callSIP("sip:a@b");
call.addEventListener(CallEvents.Connected, (ev) => ev.call.sendMediaToo(call));
call.addEventListener("Call.Disconnected", function (ev) { ev.call.hangup(); ev.cal.x(); });
VoxEngine.easyProcess(call, call, function (a, b) { a.answr(); b.id(); });
var p = VoxEngine.createURLPlayer("a.wav");
p.addEventListener(PlayerEvents.Started, (ev) => ev.player.paus());
VoxEngine.createRecorder().addEventListener(RecorderEvents.Stopped, (ev) => ev.recorder.mutee());
"#;
    assert_eq!(
        findings(source),
        [
            "2:61: unknown member Call.sendMediaToo (did you mean Call.sendMediaTo?)",
            "4:55: unknown member Call.answr (did you mean Call.answer?)",
            "6:60: unknown member Player.paus (did you mean Player.pause?)",
            "7:89: unknown member Recorder.mutee (did you mean Recorder.mute?)",
        ]
    );
}

#[test]
fn named_functions_used_only_as_handlers_get_the_payload() {
    let source = r#"var inbound;
function onConnected(ev) {
  ev.call.sendMediaToo(inbound);
}
function onAlerting(e) {
  inbound = e.call;
  inbound.answr();
  var out = VoxEngine.callSIP("sip:x@y");
  out.addEventListener(CallEvents.Connected, onConnected);
  out.addEventListener(CallEvents.Failed, onFailed);
}
const onFailed = function (ev) { ev.call.hangupp(); };
VoxEngine.addEventListener(AppEvents.CallAlerting, onAlerting);
function alsoCalled(e) { e.call.bogus(); }
VoxEngine.addEventListener(AppEvents.CallAlerting, alsoCalled);
alsoCalled({ call: {} });
"#;
    // `alsoCalled` is also called directly, with anything: not typed.
    assert_eq!(
        findings(source),
        [
            "3:11: unknown member Call.sendMediaToo (did you mean Call.sendMediaTo?)",
            "7:11: unknown member Call.answr (did you mean Call.answer?)",
            "12:42: unknown member Call.hangupp (did you mean Call.hangup?)",
        ]
    );
}

#[test]
fn argument_counts_follow_the_declarations() {
    let source = r#"VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
  e.call.answer({}, {}, 3);
  e.call.id(1);
  e.call.sendDigits();
  e.call.reject(486, {}, 1);
});
VoxEngine.callSIP();
Logger.write();
Logger.write("a", "b");
setTimeout();
VoxEngine.customData("a",);
"#;
    assert_eq!(
        findings(source),
        [
            "2:10: Call.answer takes at most 2 arguments, 3 given",
            "3:10: Call.id takes no arguments, 1 given",
            "4:10: Call.sendDigits takes 1 argument, 0 given",
            "5:10: Call.reject takes at most 2 arguments, 3 given",
            "7:11: VoxEngine.callSIP takes at least 1 argument, 0 given",
            "8:8: Logger.write takes 1 argument, 0 given",
            "9:8: Logger.write takes 1 argument, 2 given",
            "10:1: setTimeout takes at least 1 argument, 0 given",
        ]
    );
}

#[test]
fn overloads_rest_parameters_and_spreads_widen_the_count() {
    assert_clean(
        r#"var out = VoxEngine.callSIP("sip:a@b", "100", "Alice", "pw", "alice", {});
setTimeout(function () {}, 10, 1, 2, 3, 4, 5);
var args = ["sip:a@b"];
VoxEngine.callSIP(...args);
out.reject({ "X-A": "1" });
"#,
    );
}

#[test]
fn unknown_event_names_are_reported() {
    let source = r#"VoxEngine.addEventListener("Application.CallAlertin", function () {});
var call = VoxEngine.callSIP("sip:a@b");
call.addEventListener("Call.Conected", function () {});
call.addEventListener(AppEvents.Started, function () {});
call.removeEventListener(`Call.Faild`);
call.addEventListener("Call.Connected", (ev) => ev.call.answr());
VoxEngine.createURLPlayer("a.wav").addEventListener("Player.Strted", () => {});
"#;
    assert_eq!(
        findings(source),
        [
            "1:28: unknown event \"Application.CallAlertin\" for VoxEngine.addEventListener (did you mean \"Application.CallAlerting\"?)",
            "3:23: unknown event \"Call.Conected\" for Call.addEventListener (did you mean \"Call.Connected\"?)",
            "4:23: AppEvents.Started is not an event of Call (expected a CallEvents member)",
            "5:26: unknown event `Call.Faild` for Call.removeEventListener (did you mean \"Call.Failed\"?)",
            "6:57: unknown member Call.answr (did you mean Call.answer?)",
            "7:53: unknown event \"Player.Strted\" for Player.addEventListener (did you mean \"Player.Started\"?)",
        ]
    );
}

#[test]
fn objects_of_unknown_type_are_never_reported() {
    assert_clean(
        r#"var data = JSON.parse("{}");
var n = Math.max(1, 2, 3) + Date.now();
var s = "a,b".split(",").map(function (x) { return x.trim(); }).join("-");
var user = { answer: function () {}, setTimeout() {} };
user.answr();
user.setTimeout();
[1, 2].forEach(function (call) { call.bogus(); });
function watch(call, name) { call.bogus(name); }
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var inbound = e.call;
  inbound = pick(inbound);
  inbound.bogus();
  e.whatever.thing();
  e.call.tag = "x";
  Logger.write(e.call.tag);
  e.call.hasOwnProperty("id");
  e.call.toString();
});
var mixed = VoxEngine.callSIP("a");
mixed = VoxEngine.createRecorder();
mixed.bogus();
var name = "Call." + "Whatever";
mixed.addEventListener(name, function () {});
"#,
    );
}

#[test]
fn reassignments_the_walk_cannot_follow_make_a_value_unknown() {
    assert_clean(
        r#"var a = VoxEngine.callSIP("a"), b = VoxEngine.callSIP("b");
[a, b] = [{}, []];
a.bogus(); b.bogus();
var c = VoxEngine.callSIP("c");
({ c } = { c: {} });
c.bogus();
var d = VoxEngine.callSIP("d");
for (d of [1, 2]) d.bogus();
var f = VoxEngine.callSIP("f");
for ([f] of [[1]]) f.bogus();
VoxEngine.addEventListener(AppEvents.CallAlerting, function (x, e) { e.call.bogus(); }.bind(null, 1));
var g = VoxEngine.callSIP("g");
g.answer = function (x, y, z) {};
g.answer(1, 2, 3);
"#,
    );
}

#[test]
fn scenario_names_shadow_the_api() {
    assert_clean(
        r#"var Logger = { say: function () {} };
Logger.say();
function setTimeout(a, b, c, d) {}
setTimeout();
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var VoxEngine = { anything: 1 };
  VoxEngine.anything();
  { let e = { call: {} }; e.call.whatever(); }
  try { e.call.answer(); } catch (e) { e.call.bogus(); }
  for (const e of []) e.call.bogus();
});
"#,
    );
}

#[test]
fn syntax_of_real_scenarios_does_not_confuse_the_walker() {
    let source = r#"#!/usr/bin/env dialtone
/* a { block comment ( */
var re = /[/({]+/g, half = 10 / 2 / 1;
var t = `a ${VoxEngine.customData()} b ${ `nested ${ {a: 1}.a }` } c`;
var f = (x) => x, g = async (y) => { await y; };
class Holder {
  static count = 0;
  constructor(call) { this.call = call; }
  answer() { return this.call.answr(); }
}
label: for (let i = 0; i < 3; i++) { if (i) continue label; }
switch (half) { case 1: { break; } default: Logger.write(`x`); }
var obj = { "key": 1, [`k${half}`]: 2, nested: { deep: [1, 2] } };
var a = obj
(function () {})
VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => e.call.answer(), )
`${e.call.answr()}`
"#;
    // `e` in the last template is not the handler's parameter: no finding.
    assert_clean(source);
    assert_eq!(
        findings("VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {\n  Logger.write(`${e.call.answr()}`);\n});\n"),
        ["2:26: unknown member Call.answr (did you mean Call.answer?)"]
    );
}

#[test]
fn what_the_lexer_cannot_read_is_an_error_not_a_finding() {
    let scenario = Scenario {
        name: "bad.js".into(),
        source: "var s = 'open;\n".into(),
    };
    let err = lint(&scenario).unwrap_err();
    assert!(matches!(err, LintError::Lex { .. }), "{err}");
    assert_eq!(err.to_string(), "bad.js:1:9: unterminated string");
}

#[test]
fn diagnostics_display_as_file_line_col_message() {
    let scenario = Scenario {
        name: "scripts/x.js".into(),
        source: "CallEvents.Conected;\n".into(),
    };
    let found = lint(&scenario).unwrap();
    assert_eq!(
        found[0].to_string(),
        "scripts/x.js:1:12: unknown member CallEvents.Conected (did you mean CallEvents.Connected?)"
    );
}

#[test]
fn shipped_scenarios_are_clean() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
    let mut checked = 0;
    for dir in ["scripts", "tests/scenarios"] {
        let entries = std::fs::read_dir(root.join(dir)).expect("scenario directory");
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "js") {
                continue;
            }
            let scenario = Scenario {
                name: path.display().to_string(),
                source: std::fs::read_to_string(&path).expect("readable"),
            };
            let found = lint(&scenario).expect("lints");
            assert!(found.is_empty(), "{found:#?}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} scenarios found");
}

#[test]
fn suggestions_are_close_names_only() {
    let names = [
        "answer",
        "hangup",
        "id",
        "say",
        "sendMediaTo",
        "stopMediaTo",
    ];
    assert_eq!(suggest("answr", names), Some("answer"));
    assert_eq!(suggest("Answer", names), Some("answer"));
    assert_eq!(suggest("hagnup", names), Some("hangup"));
    assert_eq!(suggest("sendmediato", names), Some("sendMediaTo"));
    assert_eq!(suggest("play", names), None);
    assert_eq!(suggest("x", names), None);
    assert_eq!(distance("kitten", "sitting"), 3);
    assert_eq!(distance("ab", "ba"), 1);
}
