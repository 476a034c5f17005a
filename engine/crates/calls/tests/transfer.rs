//! Blind transfers both ways, as the call core handles them.

mod harness;

use dialtone_core::messages::SessionCommand;
use dialtone_sip::{UaCommand, UaEvent};
use harness::*;

fn refer(leg: u64) -> UaEvent {
    UaEvent::Refer {
        leg,
        refer_to: "sip:carol@192.0.2.7:5060".into(),
        subscription: true,
        headers: vec![("X-Why".into(), "agent".into()), ("Via".into(), "x".into())],
    }
}

fn notify(leg: u64, sipfrag: &str) -> UaEvent {
    UaEvent::Notify {
        leg,
        event: "refer".into(),
        state: "active;expires=60".into(),
        body: sipfrag.as_bytes().to_vec(),
    }
}

#[test]
fn a_refer_is_declined_unless_the_scenario_handles_transfers() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = h.ua(refer(inbound.leg));
    assert_eq!(ua_names(&out), ["AnswerRefer 603"]);
    assert!(call_events(&out, inbound.call).is_empty());
}

#[test]
fn a_handled_refer_is_accepted_reported_and_notified() {
    let mut h = Harness::default();
    let inbound = h.connected();
    h.cmd(
        inbound.session,
        SessionCommand::HandleBlindTransfer {
            call: inbound.call,
            enable: true,
        },
    );
    let out = h.ua(refer(inbound.leg));
    assert_eq!(
        ua_names(&out),
        ["AnswerRefer 202", "Notify SIP/2.0 100 Trying"]
    );
    assert_eq!(
        call_events(&out, inbound.call),
        ["BlindTransferRequested sip:carol@192.0.2.7:5060"]
    );
    let text = format!("{:?}", events(&out));
    assert!(
        text.contains("transfer_to: \"carol\"") && text.contains("X-Why"),
        "{text}"
    );
    assert!(
        !text.contains("\"Via\""),
        "only X- headers reach the scenario"
    );
    let out = h.cmd(
        inbound.session,
        SessionCommand::NotifyBlindTransfer {
            call: inbound.call,
            code: 486,
            reason: String::new(),
        },
    );
    assert_eq!(ua_names(&out), ["Notify SIP/2.0 486 Busy Here"]);
    // Reported once: a second notification has nothing to report on.
    let out = h.cmd(
        inbound.session,
        SessionCommand::NotifyBlindTransfer {
            call: inbound.call,
            code: 200,
            reason: "OK".into(),
        },
    );
    assert!(ua_names(&out).is_empty());
}

#[test]
fn transfer_to_sends_a_refer_and_reports_what_the_peer_notifies() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let transfer = |h: &mut Harness| {
        h.cmd(
            inbound.session,
            SessionCommand::TransferTo {
                call: inbound.call,
                target: "sip:carol@192.0.2.7".into(),
                headers: vec![("X-T".into(), "1".into())],
            },
        )
    };
    let out = transfer(&mut h);
    match &ua_cmds(&out)[..] {
        [UaCommand::Refer {
            refer_to, headers, ..
        }] => {
            assert_eq!(refer_to, "sip:carol@192.0.2.7");
            assert_eq!(headers, &[("X-T".to_string(), "1".to_string())]);
        }
        other => panic!("{other:?}"),
    }
    // One at a time.
    assert_eq!(
        call_events(&transfer(&mut h), inbound.call),
        ["TransferFailed 491"]
    );
    let out = h.ua(UaEvent::ReferAnswered {
        leg: inbound.leg,
        code: 202,
        reason: "Accepted".into(),
    });
    assert!(call_events(&out, inbound.call).is_empty());
    assert!(call_events(
        &h.ua(notify(inbound.leg, "SIP/2.0 180 Ringing\r\n")),
        inbound.call
    )
    .is_empty());
    let out = h.ua(notify(inbound.leg, "SIP/2.0 200 OK\r\n"));
    assert_eq!(call_events(&out, inbound.call), ["TransferComplete"]);

    // Refused by the peer, or the target busy.
    transfer(&mut h);
    let out = h.ua(UaEvent::ReferAnswered {
        leg: inbound.leg,
        code: 603,
        reason: "Decline".into(),
    });
    assert_eq!(call_events(&out, inbound.call), ["TransferFailed 603"]);
    transfer(&mut h);
    h.ua(UaEvent::ReferAnswered {
        leg: inbound.leg,
        code: 202,
        reason: "Accepted".into(),
    });
    let out = h.ua(notify(inbound.leg, "SIP/2.0 486 Busy Here\r\n"));
    assert_eq!(call_events(&out, inbound.call), ["TransferFailed 486"]);
}

#[test]
fn transfer_to_before_the_call_is_up_fails_at_once() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = h.cmd(
        inbound.session,
        SessionCommand::TransferTo {
            call: inbound.call,
            target: "sip:carol@192.0.2.7".into(),
            headers: Vec::new(),
        },
    );
    assert!(ua_cmds(&out).is_empty());
    assert_eq!(call_events(&out, inbound.call), ["TransferFailed 481"]);
}

#[test]
fn transfer_to_another_call_refers_with_replaces_to_it() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let (other, other_leg) = h.outbound_connected(inbound.session);
    let out = h.cmd(
        inbound.session,
        SessionCommand::TransferToCall {
            call: inbound.call,
            other,
            headers: Vec::new(),
        },
    );
    match &ua_cmds(&out)[..] {
        [UaCommand::ReferReplacing { leg, target, .. }] => {
            assert_eq!((*leg, *target), (inbound.leg, other_leg));
        }
        other => panic!("{other:?}"),
    }
    let out = h.ua(notify(inbound.leg, "SIP/2.0 200 OK\r\n"));
    assert_eq!(call_events(&out, inbound.call), ["TransferComplete"]);
    // A call of another session, or one not connected, cannot be the target.
    let elsewhere = h.connected();
    let out = h.cmd(
        inbound.session,
        SessionCommand::TransferToCall {
            call: inbound.call,
            other: elsewhere.call,
            headers: Vec::new(),
        },
    );
    assert!(ua_cmds(&out).is_empty());
    assert_eq!(call_events(&out, inbound.call), ["TransferFailed 481"]);
}
