//! In-dialog MESSAGE, UPDATE and our own re-INVITE, against one core with a
//! scripted peer and virtual time.

mod common;

use common::raw::*;
use common::*;
use dialtone_sip::{Body, SipMessage, Transport, UaCommand, UaEvent};

/// A confirmed inbound call: INVITE, 200, ACK. Returns the leg and our tag.
fn confirmed(raw: &mut Raw, call_id: &str) -> (u64, String) {
    let (leg, tag) = answered(raw, "z9hG4bKinv", call_id);
    let out = raw.send(&in_dialog("ACK", "z9hG4bKack", call_id, &tag, 1));
    assert!(out.events.iter().any(is_acked), "{:?}", out.events);
    (leg, tag)
}

/// `text` with a body of `content_type` in place of its empty one.
fn with_body(text: &str, content_type: &str, body: &str) -> String {
    text.replace(
        "Content-Length: 0\n\n",
        &format!(
            "Content-Type: {content_type}\nContent-Length: {}\n\n{body}",
            body.len()
        ),
    )
}

fn sent_request<'a>(out: &'a Out, method: &str) -> &'a SipMessage {
    out.sent
        .iter()
        .map(|(_, m)| m)
        .find(|m| m.method().is_some_and(|x| x.as_str() == method))
        .unwrap_or_else(|| panic!("no {method} in {:#?}", out.sent))
}

#[test]
fn a_message_in_a_call_is_answered_and_reported() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = confirmed(&mut raw, "m-1");
    let msg = with_body(
        &in_dialog("MESSAGE", "z9hG4bKm1", "m-1", &tag, 2),
        "text/plain",
        "hello",
    );
    let out = raw.send(&msg);
    assert_eq!(out.codes(), vec![200]);
    match &out.events[..] {
        [UaEvent::Message {
            leg: l,
            content_type,
            body,
            ..
        }] => {
            assert_eq!(*l, leg);
            assert_eq!(content_type, "text/plain");
            assert_eq!(body, b"hello");
        }
        other => panic!("{other:?}"),
    }
    // Past 8 KiB: 413 and no event.
    let big = with_body(
        &in_dialog("MESSAGE", "z9hG4bKm2", "m-1", &tag, 3),
        "text/plain",
        &"x".repeat(8193),
    );
    let out = raw.send(&big);
    assert_eq!(out.codes(), vec![413]);
    assert!(out.events.is_empty());
}

#[test]
fn a_message_outside_any_call_gets_405() {
    let mut raw = Raw::new(Transport::Udp);
    let text = in_dialog("MESSAGE", "z9hG4bKm9", "m-9", "x", 1).replace(";tag=x", "");
    let out = raw.send(&with_body(&text, "text/plain", "hi"));
    assert_eq!(out.codes(), vec![405]);
    assert_eq!(
        out.only().headers.get("Allow"),
        Some("INVITE, ACK, CANCEL, OPTIONS")
    );
    assert!(out.events.is_empty());
}

#[test]
fn an_update_without_a_body_is_a_refresh_and_one_with_an_offer_is_reported() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = confirmed(&mut raw, "u-1");
    let out = raw.send(&in_dialog("UPDATE", "z9hG4bKu1", "u-1", &tag, 2));
    assert_eq!(out.codes(), vec![200]);
    assert!(out.events.is_empty(), "{:?}", out.events);
    let offer = with_body(
        &in_dialog("UPDATE", "z9hG4bKu2", "u-1", &tag, 3),
        "application/sdp",
        "v=0\r\n",
    );
    let out = raw.send(&offer);
    assert!(out.sent.is_empty(), "answered by the call layer");
    assert!(
        matches!(&out.events[..], [UaEvent::ReInvite { leg: l, body: Some(_), .. }] if *l == leg)
    );
    let out = raw.command(UaCommand::AnswerReInvite {
        leg,
        code: 200,
        body: Some(sdp("answer")),
        headers: vec![("X-Held".into(), "1".into())],
    });
    let ok = out.only();
    assert_eq!(ok.code(), Some(200));
    assert_eq!(ok.cseq().unwrap().method.as_str(), "UPDATE");
    assert!(!ok.body.is_empty());
    assert_eq!(
        ok.headers.get("X-Held"),
        Some("1"),
        "the scenario's header is in the 200"
    );
    // No ACK is awaited: the next re-INVITE is taken, not refused 500.
    let out = raw.send(&in_dialog("INVITE", "z9hG4bKre", "u-1", &tag, 4));
    assert_eq!(out.codes(), vec![100]);
    assert!(matches!(&out.events[..], [UaEvent::ReInvite { .. }]));
}

#[test]
fn our_reinvite_is_acked_once_and_its_answer_reported_once() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, _tag) = confirmed(&mut raw, "r-1");
    let out = raw.command(UaCommand::ReInvite {
        leg,
        body: Some(sdp("hold")),
        headers: vec![("X-Why".into(), "hold".into())],
    });
    let invite = sent_request(&out, "INVITE").clone();
    assert_eq!(
        invite.cseq().unwrap().seq,
        1,
        "our first request in the dialog"
    );
    assert_eq!(invite.to_tag(), Some("ftag"));
    assert_eq!(invite.headers.get("X-Why"), Some("hold"));
    assert!(invite.headers.get("Contact").is_some());
    let ok = with_body(
        &response_to(
            &invite,
            200,
            "OK",
            None,
            "Contact: <sip:alice@127.0.0.1:5060>\n",
        ),
        "application/sdp",
        "v=0\r\n",
    );
    let out = raw.send(&ok);
    let ack = sent_request(&out, "ACK");
    assert_eq!(ack.cseq().unwrap().seq, 1);
    match &out.events[..] {
        [UaEvent::ReInviteAnswered {
            leg: l,
            code: 200,
            body: Some(b),
            ..
        }] => {
            assert_eq!(*l, leg);
            assert_eq!(b.data, b"v=0\r\n");
        }
        other => panic!("{other:?}"),
    }
    // A retransmitted 200 is ACKed again and not reported again.
    let out = raw.send(&ok);
    assert_eq!(out.first_lines().len(), 1);
    assert!(out.first_lines()[0].starts_with("ACK "));
    assert!(out.events.is_empty());
}

#[test]
fn glare_gets_491_both_ways() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = confirmed(&mut raw, "g-1");
    let out = raw.command(UaCommand::ReInvite {
        leg,
        body: Some(sdp("ours")),
        headers: vec![],
    });
    let ours = sent_request(&out, "INVITE").clone();
    // Theirs crosses ours: 491.
    let out = raw.send(&in_dialog("INVITE", "z9hG4bKtheirs", "g-1", &tag, 2));
    assert_eq!(out.codes(), vec![491]);
    assert!(out.events.is_empty());
    let update = with_body(
        &in_dialog("UPDATE", "z9hG4bKtheirs2", "g-1", &tag, 3),
        "application/sdp",
        "v=0\r\n",
    );
    assert_eq!(raw.send(&update).codes(), vec![491]);
    // Ours is refused 491 by them: reported as such.
    let out = raw.send(&response_to(&ours, 491, "Request Pending", None, ""));
    assert!(matches!(
        &out.events[..],
        [UaEvent::ReInviteAnswered { code: 491, .. }]
    ));
    // While theirs is open, ours is refused at once without a message.
    let out = raw.send(&in_dialog("INVITE", "z9hG4bKtheirs3", "g-1", &tag, 4));
    assert_eq!(out.codes(), vec![100]);
    let out = raw.command(UaCommand::ReInvite {
        leg,
        body: Some(sdp("ours")),
        headers: vec![],
    });
    assert!(out.sent.is_empty());
    assert!(matches!(
        &out.events[..],
        [UaEvent::ReInviteAnswered { code: 491, .. }]
    ));
}

#[test]
fn our_reinvite_without_an_answer_times_out_with_408() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, _tag) = confirmed(&mut raw, "t-1");
    raw.command(UaCommand::ReInvite {
        leg,
        body: Some(sdp("ours")),
        headers: vec![],
    });
    let log = raw.run_timers(secs(40));
    let events: Vec<_> = log.into_iter().flat_map(|(_, _, e)| e).collect();
    assert!(
        matches!(&events[..], [UaEvent::ReInviteAnswered { code: 408, .. }]),
        "{events:?}"
    );
}

#[test]
fn our_message_and_info_go_out_in_the_dialog() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = confirmed(&mut raw, "o-1");
    let out = raw.command(UaCommand::Message {
        leg,
        body: Body {
            content_type: "text/plain".into(),
            data: b"hi there".to_vec(),
        },
        headers: vec![],
    });
    let msg = sent_request(&out, "MESSAGE");
    assert_eq!(msg.body, b"hi there");
    assert_eq!(msg.to_tag(), Some("ftag"));
    assert_eq!(msg.from_addr().unwrap().tag(), Some(tag.as_str()));
    let out = raw.command(UaCommand::Info {
        leg,
        body: Body {
            content_type: "application/json".into(),
            data: b"{}".to_vec(),
        },
        headers: vec![],
    });
    assert_eq!(
        sent_request(&out, "INFO").content_type(),
        Some("application/json")
    );
}

#[test]
fn our_reinvite_answered_only_1xx_gives_up_and_leaves_nothing() {
    // Found by the ua_input fuzzer: after a 100 Trying, Timer B no longer
    // runs, so the re-INVITE waited for ever and outlived its dialog.
    let mut raw = Raw::new(Transport::Udp);
    let (leg, _tag) = confirmed(&mut raw, "p-1");
    let out = raw.command(UaCommand::ReInvite {
        leg,
        body: Some(sdp("ours")),
        headers: vec![],
    });
    let invite = sent_request(&out, "INVITE").clone();
    raw.send(&response_to(&invite, 100, "Trying", None, ""));
    let log = raw.run_timers(secs(40));
    let events: Vec<_> = log.into_iter().flat_map(|(_, _, e)| e).collect();
    assert!(
        matches!(&events[..], [UaEvent::ReInviteAnswered { code: 408, .. }]),
        "{events:?}"
    );
    // The call goes on and can send another.
    let out = raw.command(UaCommand::ReInvite {
        leg,
        body: Some(sdp("again")),
        headers: vec![],
    });
    let again = sent_request(&out, "INVITE").clone();
    raw.send(&response_to(&again, 100, "Trying", None, ""));
    // Hung up while the second waits: nothing is left once the timers run.
    raw.command(UaCommand::Hangup {
        leg,
        headers: vec![],
    });
    raw.run_timers(secs(200));
    assert!(raw.idle(), "a transaction or leg was left behind");
}
