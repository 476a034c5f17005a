//! REFER and NOTIFY (RFC 3515, RFC 4488) on one core with a scripted peer.

mod common;

use common::raw::*;
use common::*;
use dialtone_sip::{SipMessage, Transport, UaCommand, UaEvent};

fn confirmed(raw: &mut Raw, call_id: &str) -> (u64, String) {
    let (leg, tag) = answered(raw, "z9hG4bKinv", call_id);
    raw.send(&in_dialog("ACK", "z9hG4bKack", call_id, &tag, 1));
    (leg, tag)
}

fn refer(call_id: &str, tag: &str, seq: u32, extra: &str) -> String {
    in_dialog("REFER", &format!("z9hG4bKref{seq}"), call_id, tag, seq)
        .replace("Content-Length: 0", &format!("{extra}Content-Length: 0"))
}

fn sent<'a>(out: &'a Out, method: &str) -> Option<&'a SipMessage> {
    out.sent
        .iter()
        .map(|(_, m)| m)
        .find(|m| m.method().is_some_and(|x| x.as_str() == method))
}

#[test]
fn a_refer_is_reported_answered_and_followed_by_notifies() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = confirmed(&mut raw, "rf-1");
    let out = raw.send(&refer(
        "rf-1",
        &tag,
        2,
        "Refer-To: <sip:carol@192.0.2.7:5060>\nX-Why: busy\n",
    ));
    assert!(out.sent.is_empty(), "the call layer answers");
    match &out.events[..] {
        [UaEvent::Refer {
            leg: l,
            refer_to,
            subscription: true,
            headers,
        }] => {
            assert_eq!(*l, leg);
            assert_eq!(refer_to, "sip:carol@192.0.2.7:5060");
            assert!(headers.iter().any(|(n, v)| n == "X-Why" && v == "busy"));
        }
        other => panic!("{other:?}"),
    }
    let out = raw.command(UaCommand::AnswerRefer { leg, code: 202 });
    assert_eq!(out.codes(), vec![202]);
    let out = raw.command(UaCommand::Notify {
        leg,
        sipfrag: "SIP/2.0 100 Trying".into(),
        terminated: false,
    });
    let notify = sent(&out, "NOTIFY").expect("a NOTIFY").clone();
    assert_eq!(notify.headers.get("Event"), Some("refer"));
    assert_eq!(
        notify.headers.get("Subscription-State"),
        Some("active;expires=60")
    );
    assert_eq!(
        notify.headers.get("Content-Type"),
        Some("message/sipfrag;version=2.0")
    );
    assert_eq!(notify.body, b"SIP/2.0 100 Trying\r\n");
    let out = raw.command(UaCommand::Notify {
        leg,
        sipfrag: "SIP/2.0 200 OK".into(),
        terminated: true,
    });
    let last = sent(&out, "NOTIFY").expect("the final NOTIFY");
    assert!(last
        .headers
        .get("Subscription-State")
        .unwrap()
        .starts_with("terminated"));
    // The subscription is over: nothing more goes out.
    let out = raw.command(UaCommand::Notify {
        leg,
        sipfrag: "SIP/2.0 200 OK".into(),
        terminated: true,
    });
    assert!(sent(&out, "NOTIFY").is_none());
}

#[test]
fn refer_sub_false_gets_no_notifies_and_bad_refers_are_refused() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = confirmed(&mut raw, "rf-2");
    raw.send(&refer(
        "rf-2",
        &tag,
        2,
        "Refer-To: sip:carol@192.0.2.7\nRefer-Sub: false\n",
    ));
    let out = raw.command(UaCommand::AnswerRefer { leg, code: 202 });
    assert_eq!(out.only().headers.get("Refer-Sub"), Some("false"));
    let out = raw.command(UaCommand::Notify {
        leg,
        sipfrag: "SIP/2.0 200 OK".into(),
        terminated: true,
    });
    assert!(sent(&out, "NOTIFY").is_none());
    // No Refer-To: 400. Two at once: the second gets 491.
    let out = raw.send(&refer("rf-2", &tag, 3, ""));
    assert_eq!(out.codes(), vec![400]);
    raw.send(&refer("rf-2", &tag, 4, "Refer-To: <sip:a@h>\n"));
    let out = raw.send(&refer("rf-2", &tag, 5, "Refer-To: <sip:b@h>\n"));
    assert_eq!(out.codes(), vec![491]);
    let out = raw.command(UaCommand::AnswerRefer { leg, code: 603 });
    assert_eq!(out.codes(), vec![603]);
}

#[test]
fn our_refer_reports_its_answer_and_the_peers_notifies() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = confirmed(&mut raw, "rf-3");
    let out = raw.command(UaCommand::Refer {
        leg,
        refer_to: "sip:carol@192.0.2.7:5060".into(),
        headers: vec![("X-Transfer".into(), "1".into())],
    });
    let req = sent(&out, "REFER").expect("a REFER").clone();
    assert_eq!(
        req.headers.get("Refer-To"),
        Some("<sip:carol@192.0.2.7:5060>")
    );
    assert!(req.headers.get("Referred-By").is_some());
    assert_eq!(req.headers.get("X-Transfer"), Some("1"));
    let out = raw.send(&response_to(&req, 202, "Accepted", None, ""));
    assert!(matches!(
        &out.events[..],
        [UaEvent::ReferAnswered { code: 202, .. }]
    ));
    let notify = in_dialog("NOTIFY", "z9hG4bKn1", "rf-3", &tag, 2).replace(
        "Content-Length: 0\n\n",
        "Event: refer\nSubscription-State: terminated;reason=noresource\n\
         Content-Type: message/sipfrag;version=2.0\nContent-Length: 16\n\nSIP/2.0 200 OK\r\n",
    );
    let out = raw.send(&notify);
    assert_eq!(out.codes(), vec![200]);
    match &out.events[..] {
        [UaEvent::Notify {
            event, state, body, ..
        }] => {
            assert_eq!(event, "refer");
            assert!(state.starts_with("terminated"));
            assert_eq!(body, b"SIP/2.0 200 OK\r\n");
        }
        other => panic!("{other:?}"),
    }
    // A REFER that gets no answer at all is reported as 408.
    let out = raw.command(UaCommand::Refer {
        leg,
        refer_to: "sip:dave@192.0.2.8".into(),
        headers: vec![],
    });
    assert!(sent(&out, "REFER").is_some());
    let log = raw.run_timers(secs(40));
    assert!(log
        .iter()
        .flat_map(|(_, _, e)| e)
        .any(|e| matches!(e, UaEvent::ReferAnswered { code: 408, .. })));
}

#[test]
fn a_refer_left_unanswered_when_the_call_ends_gets_481_and_leaves_nothing() {
    // Found by the ua_input fuzzer: the REFER's transaction outlived its leg.
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = confirmed(&mut raw, "rf-6");
    raw.send(&refer("rf-6", &tag, 2, "Refer-To: <sip:c@h>\n"));
    raw.command(UaCommand::Hangup {
        leg,
        headers: vec![],
    });
    // Our BYE goes unanswered; once it gives up the leg is gone, and the
    // REFER gets its final answer with it.
    let log = raw.run_timers(secs(100));
    assert!(
        log.iter().any(|(_, m, _)| m.code() == Some(481)),
        "no 481 to the REFER"
    );
    assert!(raw.idle(), "a transaction or leg was left behind");
}

#[test]
fn an_attended_transfer_names_the_other_dialog_in_replaces() {
    let mut raw = Raw::new(Transport::Udp);
    let (a, _) = confirmed(&mut raw, "rf-a");
    let out = raw.send(&invite("z9hG4bKinvb", "rf-b", ""));
    let b = match &out.events[..] {
        [UaEvent::Incoming { leg, .. }] => *leg,
        other => panic!("{other:?}"),
    };
    let out = raw.command(UaCommand::Answer {
        leg: b,
        body: Some(sdp("answer")),
        headers: vec![],
    });
    let b_tag = out.only().to_tag().expect("tag").to_string();
    raw.send(&in_dialog("ACK", "z9hG4bKackb", "rf-b", &b_tag, 1));
    let out = raw.command(UaCommand::ReferReplacing {
        leg: a,
        target: b,
        headers: vec![],
    });
    let req = sent(&out, "REFER").expect("a REFER");
    assert_eq!(
        req.headers.get("Refer-To"),
        Some(
            format!(
                "<sip:alice@127.0.0.1:5060?Replaces=rf-b%3Bto-tag%3Dftag%3Bfrom-tag%3D{b_tag}>"
            )
            .as_str()
        )
    );
    // A leg that is gone cannot be replaced.
    let out = raw.command(UaCommand::ReferReplacing {
        leg: a,
        target: 999,
        headers: vec![],
    });
    assert!(matches!(
        &out.events[..],
        [UaEvent::ReferAnswered { code: 481, .. }]
    ));
}

fn replacing_invite(branch: &str, call_id: &str, replaces: &str) -> String {
    invite(
        branch,
        call_id,
        &format!("Replaces: {replaces}\nRequire: replaces\n"),
    )
}

#[test]
fn an_invite_with_replaces_names_the_confirmed_leg_it_takes_over() {
    let mut raw = Raw::new(Transport::Udp);
    let (old, tag) = confirmed(&mut raw, "rp-1");
    // The peer's From tag in `invite()` is the dialog's remote tag.
    let remote = "ftag";
    let out = raw.send(&replacing_invite(
        "z9hG4bKrp2",
        "rp-2",
        &format!("rp-1;to-tag={tag};from-tag={remote}"),
    ));
    assert_eq!(out.codes(), vec![100]);
    match &out.events[..] {
        [UaEvent::Replacing { replaces, .. }] => assert_eq!(*replaces, old),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_invite_replacing_no_dialog_gets_481_and_early_only_486() {
    let mut raw = Raw::new(Transport::Udp);
    let (_, tag) = confirmed(&mut raw, "rp-3");
    let remote = "ftag";
    for (branch, call_id, replaces, code) in [
        (
            "z9hG4bKn1",
            "rp-4",
            format!("nope;to-tag={tag};from-tag={remote}"),
            481,
        ),
        (
            "z9hG4bKn2",
            "rp-5",
            format!("rp-3;to-tag=other;from-tag={remote}"),
            481,
        ),
        (
            "z9hG4bKn3",
            "rp-6",
            format!("rp-3;to-tag={tag};from-tag=wrong"),
            481,
        ),
        ("z9hG4bKn4", "rp-7", "rp-3;to-tag=x".to_string(), 400),
        (
            "z9hG4bKn5",
            "rp-8",
            format!("rp-3;to-tag={tag};from-tag={remote};early-only"),
            486,
        ),
    ] {
        let out = raw.send(&replacing_invite(branch, call_id, &replaces));
        assert_eq!(out.codes(), vec![code], "{replaces}");
        assert!(out.events.is_empty(), "{replaces}: {:?}", out.events);
    }
}
