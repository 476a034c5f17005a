//! RFC 4028 session timers on one core with a scripted peer and virtual
//! time: negotiation, refreshes either way, and the end of a lapsed session.

mod common;

use common::raw::*;
use common::*;
use dialtone_sip::{SipMessage, Transport, UaCommand, UaEvent};

/// An inbound call whose INVITE carries `extra`, answered and ACKed; the 200.
fn confirmed_with(raw: &mut Raw, call_id: &str, extra: &str) -> (u64, String, SipMessage) {
    let out = raw.send(&invite("z9hG4bKst", call_id, extra));
    assert_eq!(out.codes(), vec![100], "{:#?}", out.sent);
    let leg = match &out.events[..] {
        [UaEvent::Incoming { leg, .. }] => *leg,
        other => panic!("{other:?}"),
    };
    let out = raw.command(UaCommand::Answer {
        leg,
        body: Some(sdp("answer")),
        headers: vec![],
    });
    let ok = out.only().clone();
    let tag = ok.to_tag().expect("tag").to_string();
    raw.send(&in_dialog("ACK", "z9hG4bKstack", call_id, &tag, 1));
    (leg, tag, ok)
}

fn terminated(events: &[UaEvent]) -> Option<(u16, String)> {
    events.iter().find_map(|e| match e {
        UaEvent::Terminated { code, reason, .. } => Some((*code, reason.clone())),
        _ => None,
    })
}

#[test]
fn a_caller_that_refreshes_gets_the_interval_back_and_is_ended_when_it_stops() {
    let mut raw = Raw::new(Transport::Udp);
    let (_leg, tag, ok) =
        confirmed_with(&mut raw, "st-1", "Session-Expires: 120\nSupported: timer\n");
    assert_eq!(ok.headers.get("Session-Expires"), Some("120;refresher=uac"));
    assert_eq!(ok.headers.get("Require"), Some("timer"));
    assert!(ok.headers.values("Supported").any(|t| t == "timer"));
    // A refresh at 60 s (an UPDATE without a body) is answered with the
    // interval and resets the clock.
    raw.advance(secs(60));
    let out = raw.send(&in_dialog("UPDATE", "z9hG4bKup1", "st-1", &tag, 2));
    assert_eq!(out.codes(), vec![200]);
    assert_eq!(
        out.only().headers.get("Session-Expires"),
        Some("120;refresher=uac")
    );
    // 88 s after the first answer nothing happens: the refresh counted.
    let out = raw.advance(secs(30));
    assert!(terminated(&out.events).is_none());
    // 120 - 32 = 88 s after the refresh with none since: BYE.
    let out = raw.advance(secs(60));
    assert_eq!(
        terminated(&out.events),
        Some((408, "Session Timer Expired".into()))
    );
    assert!(out.first_lines().iter().any(|l| l.starts_with("BYE ")));
}

#[test]
fn a_caller_without_timer_support_leaves_the_refreshes_to_us() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, _tag, ok) = confirmed_with(&mut raw, "st-2", "Session-Expires: 100\n");
    assert_eq!(ok.headers.get("Session-Expires"), Some("100;refresher=uas"));
    assert_eq!(
        ok.headers.get("Require"),
        None,
        "it did not say it supports timers"
    );
    let out = raw.advance(secs(50));
    let update = out
        .sent
        .iter()
        .map(|(_, m)| m)
        .find(|m| m.method().is_some_and(|x| x.as_str() == "UPDATE"))
        .expect("our refresh at half the interval")
        .clone();
    assert!(update.body.is_empty());
    assert_eq!(
        update.headers.get("Session-Expires"),
        Some("100;refresher=uas")
    );
    raw.send(&response_to(&update, 200, "OK", None, ""));
    // The next one 50 s after that answer.
    assert!(raw.advance(secs(49)).sent.is_empty());
    let out = raw.advance(secs(1));
    let again = out.only().clone();
    assert_eq!(again.method().map(|m| m.as_str()), Some("UPDATE"));
    // A refresh the peer no longer knows (481) ends the call.
    let out = raw.send(&response_to(&again, 481, "Call Does Not Exist", None, ""));
    assert_eq!(
        terminated(&out.events),
        Some((481, "Session Refresh Failed".into()))
    );
    let _ = leg;
}

#[test]
fn too_short_an_interval_gets_422_and_require_timer_is_taken() {
    let mut raw = Raw::new(Transport::Udp);
    let out = raw.send(&invite("z9hG4bKshort", "st-3", "Session-Expires: 60\n"));
    let resp = out.only();
    assert_eq!(resp.code(), Some(422));
    assert_eq!(resp.headers.get("Min-SE"), Some("90"));
    assert!(out.events.is_empty());
    let out = raw.send(&invite(
        "z9hG4bKreq",
        "st-4",
        "Require: timer\nSession-Expires: 90;refresher=uas\n",
    ));
    assert_eq!(out.codes(), vec![100], "Require: timer is understood");
    assert!(matches!(&out.events[..], [UaEvent::Incoming { .. }]));
}

#[test]
fn a_call_without_session_expires_has_no_timer() {
    let mut raw = Raw::new(Transport::Udp);
    let (_leg, _tag, ok) = confirmed_with(&mut raw, "st-5", "");
    assert_eq!(ok.headers.get("Session-Expires"), None);
    let out = raw.advance(secs(4000));
    assert!(out.sent.is_empty() && terminated(&out.events).is_none());
}

/// Our INVITE to the scripted peer.
fn dial(raw: &mut Raw) -> SipMessage {
    let leg = raw.ua.new_leg_id();
    let out = raw.command(UaCommand::Dial {
        leg,
        target: raw.peer,
        request_uri: "sip:bob@127.0.0.1:5060".into(),
        from_uri: "sip:dialtone@127.0.0.1:5070".into(),
        from_display: None,
        to_uri: "sip:bob@127.0.0.1:5060".into(),
        body: Some(sdp("offer")),
        headers: vec![],
        auth: None,
        max_forwards: 70,
    });
    out.only().clone()
}

#[test]
fn our_invites_ask_for_a_timer_and_refresh_when_the_callee_says_so() {
    let mut raw = Raw::new(Transport::Udp);
    let invite = dial(&mut raw);
    assert_eq!(invite.headers.get("Session-Expires"), Some("1800"));
    assert!(invite.headers.values("Supported").any(|t| t == "timer"));
    let ok = response_to(
        &invite,
        200,
        "OK",
        Some("callee"),
        "Contact: <sip:bob@127.0.0.1:5060>\nSession-Expires: 90;refresher=uac\nRequire: timer\n",
    );
    let out = raw.send(&ok);
    assert!(out
        .events
        .iter()
        .any(|e| matches!(e, UaEvent::Answered { .. })));
    let out = raw.advance(secs(45));
    let update = out
        .sent
        .iter()
        .map(|(_, m)| m)
        .find(|m| m.method().is_some_and(|x| x.as_str() == "UPDATE"))
        .expect("we refresh at half of 90 s");
    assert_eq!(
        update.headers.get("Session-Expires"),
        Some("90;refresher=uac")
    );
}

#[test]
fn a_422_to_our_invite_is_retried_once_with_the_callees_min_se() {
    let mut raw = Raw::new(Transport::Udp);
    let invite = dial(&mut raw);
    let too_small = response_to(
        &invite,
        422,
        "Session Interval Too Small",
        Some("callee"),
        "Min-SE: 3600\n",
    );
    let out = raw.send(&too_small);
    assert!(out.events.is_empty(), "no failure: {:?}", out.events);
    let again = out
        .sent
        .iter()
        .map(|(_, m)| m)
        .find(|m| m.method().is_some_and(|x| x.as_str() == "INVITE"))
        .expect("the INVITE again")
        .clone();
    assert_eq!(again.headers.get("Session-Expires"), Some("3600"));
    assert_eq!(again.headers.get("Min-SE"), Some("3600"));
    assert_eq!(again.cseq().unwrap().seq, invite.cseq().unwrap().seq + 1);
    assert_ne!(
        again.top_via().unwrap().branch(),
        invite.top_via().unwrap().branch()
    );
    // A second 422 ends the attempt.
    let out = raw.send(&response_to(
        &again,
        422,
        "Session Interval Too Small",
        Some("callee"),
        "Min-SE: 7200\n",
    ));
    assert!(out
        .events
        .iter()
        .any(|e| matches!(e, UaEvent::Failed { code: 422, .. })));
}
