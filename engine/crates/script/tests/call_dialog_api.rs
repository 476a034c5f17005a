//! `sendInfo`, `sendMessage`, the re-INVITE methods, `hold`/`unhold` and the
//! events they go with, driven through a fake engine.

mod common;

use common::*;
use dialtone_core::messages::{CallEvent, SessionCommand, SessionEnd};
use dialtone_core::CallId;

#[tokio::test]
async fn in_dialog_methods_send_commands_and_events_reach_listeners() {
    let mut engine = FakeEngine::start(config());
    let call = CallId::next();
    let s = engine.spawn(
        "dialog.js",
        r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            var call = e.call;
            call.addEventListener(CallEvents.Connected, function () {
                call.sendInfo("application/json", '{"a":1}', {"X-K": "v"});
                call.sendMessage("hi");
                try { call.sendMessage(new Array(8194).join("x")); }
                catch (err) { Logger.write("too long: " + err.name); }
                try { call.sendInfo(); } catch (err) { Logger.write("no type: " + err.name); }
                call.hold();
                call.unhold();
                call.addEventListener(CallEvents.ReInviteReceived, function (r) {
                    Logger.write("reinvite " + r.mimeType + " " + r.headers["X-R"]);
                    r.call.acceptReInvite(r.headers, r.mimeType, r.body);
                });
            });
            call.addEventListener(CallEvents.OnHold, function () { Logger.write("on hold"); });
            call.addEventListener(CallEvents.OffHold, function () { Logger.write("off hold"); });
            call.addEventListener(CallEvents.InfoReceived, function (i) {
                Logger.write("info " + i.mimeType + " " + i.body);
            });
            call.addEventListener(CallEvents.MessageReceived, function (m) {
                Logger.write("message " + m.text);
            });
            call.addEventListener(CallEvents.ReInviteRejected, function (r) {
                Logger.write("rejected " + r.code);
            });
            call.addEventListener(CallEvents.Disconnected, function () { VoxEngine.terminate(); });
            try { call.sendMessage("early"); } catch (err) { Logger.write("early: " + err.message); }
            call.answer();
        });
        "#,
        "",
        Some(alerting(call)),
    );
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Answer { .. }
    ));
    s.call_event(call, connected());
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::SendInfo { call: c, mime_type, body, headers: h }
            if c == call && mime_type == "application/json" && body == r#"{"a":1}"#
                && h == headers(&[("X-K", "v")])));
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::SendMessage { text, .. } if text == "hi"));
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Hold { hold: true, .. }
    ));
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Hold { hold: false, .. }
    ));
    assert!(matches!(
        engine.next_raw(s.id).await,
        SessionCommand::HandleReInvites { enable: true, .. }
    ));
    s.call_event(
        call,
        CallEvent::ReInviteReceived {
            mime_type: "application/sdp".into(),
            body: "v=0\r\n".into(),
            headers: headers(&[("X-R", "1")]),
        },
    );
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::AcceptReInvite { call: c, mime_type, body, .. }
            if c == call && mime_type == "application/sdp" && body == "v=0\r\n"));
    for event in [
        CallEvent::OnHold,
        CallEvent::OffHold,
        CallEvent::InfoReceived {
            mime_type: "application/json".into(),
            body: "{}".into(),
            headers: Vec::new(),
        },
        CallEvent::MessageReceived {
            text: "yo".into(),
            headers: Vec::new(),
        },
        CallEvent::ReInviteRejected {
            code: 488,
            headers: Vec::new(),
        },
        disconnected(200),
    ] {
        s.call_event(call, event);
    }
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    let log = messages(s.id, "log");
    assert_eq!(
        log,
        [
            format!("early: call.sendMessage(): call {call} is not connected").as_str(),
            "too long: RangeError",
            "no type: TypeError",
            "reinvite application/sdp 1",
            "on hold",
            "off hold",
            "info application/json {}",
            "message yo",
            "rejected 488",
        ]
    );
}

#[tokio::test]
async fn easy_process_relays_reinvites_and_info_between_its_calls() {
    let mut engine = FakeEngine::start(config());
    let inbound = CallId::next();
    let s = engine.spawn(
        "relay.js",
        r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            var out = VoxEngine.callSIP("sip:bob@127.0.0.1:5070");
            VoxEngine.easyProcess(e.call, out);
        });
        "#,
        "",
        Some(alerting(inbound)),
    );
    let SessionCommand::CallSip(out) = engine.next(s.id).await else {
        panic!("expected CallSip")
    };
    let outbound = out.call;
    s.call_event(outbound, connected());
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Answer { .. }
    ));
    s.call_event(inbound, connected());
    // The media join of easyProcess.
    for _ in 0..2 {
        assert!(matches!(
            engine.next(s.id).await,
            SessionCommand::SendMedia { .. }
        ));
    }
    // The caller holds: the callee gets the hold, and its answer goes back.
    s.call_event(
        inbound,
        CallEvent::ReInviteReceived {
            mime_type: "application/sdp".into(),
            body: "hold-offer".into(),
            headers: headers(&[("X-H", "1")]),
        },
    );
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::ReInvite { call, body, headers: h, .. }
            if call == outbound && body == "hold-offer" && h == headers(&[("X-H", "1")])));
    s.call_event(
        outbound,
        CallEvent::ReInviteAccepted {
            mime_type: "application/sdp".into(),
            body: "held-answer".into(),
            headers: Vec::new(),
        },
    );
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::AcceptReInvite { call, body, .. } if call == inbound && body == "held-answer"));
    // A refusal goes back as a refusal.
    s.call_event(
        outbound,
        CallEvent::ReInviteReceived {
            mime_type: "application/sdp".into(),
            body: "x".into(),
            headers: Vec::new(),
        },
    );
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::ReInvite { call, .. } if call == inbound));
    s.call_event(
        inbound,
        CallEvent::ReInviteRejected {
            code: 488,
            headers: Vec::new(),
        },
    );
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::RejectReInvite { call, .. } if call == outbound));
    // INFO goes across as it came.
    s.call_event(
        inbound,
        CallEvent::InfoReceived {
            mime_type: "application/x-app".into(),
            body: "ping".into(),
            headers: Vec::new(),
        },
    );
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::SendInfo { call, mime_type, body, .. }
            if call == outbound && mime_type == "application/x-app" && body == "ping"));
}

#[tokio::test]
async fn transfers_send_commands_and_their_events_carry_voxengine_fields() {
    let mut engine = FakeEngine::start(config());
    let call = CallId::next();
    let s = engine.spawn(
        "transfer.js",
        r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            var call = e.call;
            call.handleBlindTransfer(true);
            call.addEventListener(CallEvents.BlindTransferRequested, function (t) {
                Logger.write("asked " + t.transferTo + " " + t.referTo + " " + t.headers["X-W"]);
                call.notifyBlindTransferFailed(486, "Busy Here");
                try { call.transferTo("carol"); } catch (err) { Logger.write("bad target: " + err.name); }
                call.transferTo("sip:carol@192.0.2.7", {"X-T": "1"});
            });
            call.addEventListener(CallEvents.TransferComplete, function (t) { Logger.write("complete " + t.role); });
            call.addEventListener(CallEvents.TransferFailed, function (t) {
                Logger.write("failed " + t.code + " " + t.reason + " " + t.role);
                call.notifyBlindTransferSuccess();
            });
            call.addEventListener(CallEvents.Disconnected, function () { VoxEngine.terminate(); });
            call.answer();
        });
        "#,
        "",
        Some(alerting(call)),
    );
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::HandleBlindTransfer { call: c, enable: true } if c == call));
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Answer { .. }
    ));
    s.call_event(call, connected());
    s.call_event(
        call,
        CallEvent::BlindTransferRequested {
            transfer_to: "carol".into(),
            refer_to: "sip:carol@192.0.2.7".into(),
            headers: headers(&[("X-W", "w")]),
        },
    );
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::NotifyBlindTransfer { code: 486, reason, .. } if reason == "Busy Here"));
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::TransferTo { target, headers: h, .. }
            if target == "sip:carol@192.0.2.7" && h == headers(&[("X-T", "1")])));
    s.call_event(
        call,
        CallEvent::TransferComplete {
            headers: Vec::new(),
        },
    );
    s.call_event(
        call,
        CallEvent::TransferFailed {
            code: 603,
            reason: "Decline".into(),
            headers: Vec::new(),
        },
    );
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::NotifyBlindTransfer { code: 200, reason, .. } if reason == "OK"));
    s.call_event(call, disconnected(200));
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert_eq!(
        messages(s.id, "log"),
        [
            "asked carol sip:carol@192.0.2.7 w",
            "bad target: TypeError",
            "complete transferor",
            "failed 603 Decline transferor",
        ]
    );
}

#[tokio::test]
async fn transfer_to_another_call_is_an_attended_transfer() {
    let mut engine = FakeEngine::start(config());
    let call = CallId::next();
    let s = engine.spawn(
        "attended.js",
        r#"
        VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
            var other = VoxEngine.callSIP("sip:bob@127.0.0.1:5070");
            other.addEventListener(CallEvents.Connected, function () { e.call.answer(); });
            e.call.addEventListener(CallEvents.Connected, function () { e.call.transferTo(other); });
        });
        "#,
        "",
        Some(alerting(call)),
    );
    let SessionCommand::CallSip(out) = engine.next(s.id).await else {
        panic!("expected CallSip")
    };
    s.call_event(out.call, connected());
    assert!(matches!(
        engine.next(s.id).await,
        SessionCommand::Answer { .. }
    ));
    s.call_event(call, connected());
    assert!(matches!(engine.next(s.id).await,
        SessionCommand::TransferToCall { call: c, other, .. } if c == call && other == out.call));
}
