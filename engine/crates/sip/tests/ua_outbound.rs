//! Outbound legs against a scripted callee, in virtual time.

mod common;

use common::raw::*;
use common::*;
use dialtone_sip::auth::{digest_response, Challenge, DigestInput};
use dialtone_sip::{Method, SipMessage, Transport, UaCommand, UaEvent};

fn dial(raw: &mut Raw, auth: Option<(&str, &str)>) -> (u64, SipMessage) {
    let leg = raw.ua.new_leg_id();
    let out = raw.command(UaCommand::Dial {
        leg,
        target: raw.peer,
        request_uri: "sip:bob@127.0.0.1:5060".into(),
        from_uri: "sip:dialtone@127.0.0.1:5070".into(),
        from_display: Some("Dial Tone".into()),
        to_uri: "sip:bob@127.0.0.1:5060".into(),
        body: Some(sdp("offer")),
        headers: vec![("X-Campaign".into(), "7".into())],
        auth: auth.map(|(u, p)| (u.to_string(), p.to_string())),
        max_forwards: 70,
    });
    assert_eq!(out.sent[0].0, raw.peer);
    (leg, out.only().clone())
}

fn hangup(raw: &mut Raw, leg: u64) -> Out {
    raw.command(UaCommand::Hangup {
        leg,
        headers: vec![],
    })
}

#[test]
fn invite_is_well_formed() {
    let mut raw = Raw::new(Transport::Udp);
    let (_, invite) = dial(&mut raw, None);
    assert_eq!(invite.request_uri(), Some("sip:bob@127.0.0.1:5060"));
    let via = invite.top_via().unwrap();
    assert_eq!(via.transport, "UDP");
    assert_eq!(via.sent_by(), "127.0.0.1:5070");
    assert!(via.branch().unwrap().starts_with("z9hG4bK") && via.branch().unwrap().len() > 12);
    assert_eq!(via.rport(), Some(None));
    assert_eq!(invite.headers.get("Max-Forwards"), Some("70"));
    let from = invite.from_addr().unwrap();
    assert_eq!(from.display.as_deref(), Some("Dial Tone"));
    assert!(from.tag().is_some());
    assert_eq!(invite.to_tag(), None);
    assert_eq!(invite.headers.get("CSeq"), Some("1 INVITE"));
    assert_eq!(
        invite.headers.get("Contact"),
        Some("<sip:dialtone@127.0.0.1:5070>")
    );
    assert_eq!(invite.headers.get("User-Agent"), Some("dialtone-test"));
    assert_eq!(
        invite.headers.get("Allow"),
        Some("INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, MESSAGE, REFER, NOTIFY")
    );
    assert_eq!(invite.headers.get("Content-Type"), Some("application/sdp"));
    assert_eq!(invite.headers.get("X-Campaign"), Some("7"));
    assert_eq!(invite.body, sdp("offer").data);
}

#[test]
fn timer_a_doubles_and_timer_b_fails_with_408() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, _) = dial(&mut raw, None);
    let log = raw.run_timers(secs(60));
    let invites: Vec<_> = log
        .iter()
        .filter(|(_, m, _)| m.method() == Some(&Method::Invite))
        .map(|(t, _, _)| *t)
        .collect();
    assert_eq!(
        invites,
        vec![ms(500), ms(1500), ms(3500), ms(7500), ms(15500), ms(31500)]
    );
    let (at, _, events) = log.iter().find(|(_, _, e)| !e.is_empty()).unwrap();
    assert_eq!(*at, secs(32));
    assert!(matches!(&events[..], [UaEvent::Failed { leg: l, code: 408, .. }] if *l == leg));
    assert!(raw.idle());
}

#[test]
fn tcp_dial_does_not_retransmit() {
    let mut raw = Raw::new(Transport::Tcp);
    let (_, invite) = dial(&mut raw, None);
    assert_eq!(invite.top_via().unwrap().transport, "TCP");
    assert_eq!(
        invite.headers.get("Contact"),
        Some("<sip:dialtone@127.0.0.1:5070;transport=tcp>")
    );
    let log = raw.run_timers(secs(60));
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, secs(32));
    assert!(matches!(&log[0].2[..], [UaEvent::Failed { code: 408, .. }]));
}

#[test]
fn provisionals_stop_retransmission_and_are_reported_once() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, invite) = dial(&mut raw, None);
    let out = raw.send(&response_to(&invite, 100, "Trying", None, ""));
    assert!(out.sent.is_empty() && out.events.is_empty());
    // No Timer A, no Timer B while ringing.
    assert!(raw.run_timers(secs(120)).is_empty());
    assert_eq!(raw.ua.leg_count(), 1);
    let ringing = response_to(&invite, 180, "Ringing", Some("t1"), "X-Ring: 1\n");
    let out = raw.send(&ringing);
    assert!(matches!(
        &out.events[..],
        [UaEvent::Provisional { leg: l, code: 180, reason, body: None, headers }]
            if *l == leg && reason == "Ringing" && headers.contains(&("X-Ring".into(), "1".into()))
    ));
    assert!(raw.send(&ringing).events.is_empty(), "repeat is dropped");
    let progress = response_to(
        &invite,
        183,
        "Session Progress",
        Some("t1"),
        "Content-Type: application/sdp\n",
    )
    .replace("Content-Length: 0\n\n", "Content-Length: 5\n\nv=0\n");
    let out = raw.send(&progress);
    assert!(matches!(
        &out.events[..],
        [UaEvent::Provisional { code: 183, body: Some(b), .. }] if b.data == b"v=0\r\n"
    ));
}

#[test]
fn hangup_before_a_provisional_waits_to_cancel() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, invite) = dial(&mut raw, None);
    assert!(hangup(&mut raw, leg).sent.is_empty(), "§9.1: no CANCEL yet");
    let out = raw.send(&response_to(&invite, 100, "Trying", None, ""));
    let cancel = out.only().clone();
    assert!(out.events.is_empty());
    assert_eq!(cancel.method(), Some(&Method::Cancel));
    assert_eq!(cancel.request_uri(), invite.request_uri());
    assert_eq!(cancel.headers.get("Via"), invite.headers.get("Via"));
    assert_eq!(cancel.headers.get("From"), invite.headers.get("From"));
    assert_eq!(cancel.headers.get("To"), invite.headers.get("To"));
    assert_eq!(cancel.call_id(), invite.call_id());
    assert_eq!(cancel.headers.get("CSeq"), Some("1 CANCEL"));
    // A provisional after the CANCEL is neither reported nor causes a second CANCEL.
    let out = raw.send(&response_to(&invite, 180, "Ringing", Some("t1"), ""));
    assert!(out.sent.is_empty() && out.events.is_empty());
    assert!(raw
        .send(&response_to(&cancel, 200, "OK", Some("t1"), ""))
        .events
        .is_empty());
    let terminated = response_to(&invite, 487, "Request Terminated", Some("t1"), "");
    let out = raw.send(&terminated);
    let ack = &out.sent[0].1;
    assert_eq!(ack.method(), Some(&Method::Ack));
    assert_eq!(ack.headers.get("Via"), invite.headers.get("Via"));
    assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
    assert_eq!(ack.to_tag(), Some("t1"));
    assert!(matches!(&out.events[..], [UaEvent::Failed { leg: l, code: 487, .. }] if *l == leg));
    let again = raw.send(&terminated);
    assert_eq!(again.sent.len(), 1, "ACK repeated");
    assert!(again.events.is_empty());
    raw.run_timers(secs(100));
    assert!(raw.idle());
}

#[test]
fn hangup_with_no_answer_at_all_ends_at_timer_b() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, _) = dial(&mut raw, None);
    hangup(&mut raw, leg);
    let log = raw.run_timers(secs(60));
    assert!(log
        .iter()
        .all(|(_, m, _)| m.method() != Some(&Method::Cancel)));
    let (at, _, events) = log.iter().find(|(_, _, e)| !e.is_empty()).unwrap();
    assert_eq!(*at, secs(32));
    assert!(matches!(&events[..], [UaEvent::Failed { code: 408, .. }]));
    assert!(raw.idle());
}

#[test]
fn cancel_without_final_response_gives_up_after_64_t1() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, invite) = dial(&mut raw, None);
    raw.send(&response_to(&invite, 180, "Ringing", Some("t1"), ""));
    raw.advance(secs(3));
    let cancel = hangup(&mut raw, leg).only().clone();
    raw.send(&response_to(&cancel, 200, "OK", Some("t1"), ""));
    let log = raw.run_timers(secs(100));
    let (at, _, events) = log.iter().find(|(_, _, e)| !e.is_empty()).unwrap();
    assert_eq!(*at, secs(35));
    assert!(matches!(&events[..], [UaEvent::Failed { code: 487, .. }]));
    assert!(raw.idle());
}

#[test]
fn answer_acks_along_the_dialog_route() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, invite) = dial(&mut raw, None);
    let ok = response_to(
        &invite,
        200,
        "OK",
        Some("t1"),
        "Contact: <sip:bob@127.0.0.1:5062>\nRecord-Route: <sip:127.0.0.1:5090;lr>\nContent-Type: application/sdp\n",
    )
    .replace("Content-Length: 0\n\n", "Content-Length: 5\n\nv=0\n");
    let out = raw.send(&ok);
    let (to, ack) = &out.sent[0];
    assert_eq!(to.addr, "127.0.0.1:5090".parse().unwrap());
    assert_eq!(ack.request_uri(), Some("sip:bob@127.0.0.1:5062"));
    assert_eq!(ack.headers.get("Route"), Some("<sip:127.0.0.1:5090;lr>"));
    assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
    assert_ne!(
        ack.top_via().unwrap().branch(),
        invite.top_via().unwrap().branch()
    );
    assert!(matches!(
        &out.events[..],
        [UaEvent::Answered { leg: l, body: Some(b), .. }] if *l == leg && b.data == b"v=0\r\n"
    ));
    // Our ACK was lost: the retransmitted 2xx gets the same ACK, no new event.
    raw.advance(ms(500));
    let again = raw.send(&ok);
    assert_eq!(again.sent.len(), 1);
    assert_eq!(again.sent[0].0.addr, "127.0.0.1:5090".parse().unwrap());
    assert_eq!(again.sent[0].1.to_bytes(), ack.to_bytes());
    assert!(again.events.is_empty());
    let out = hangup(&mut raw, leg);
    let (to, bye) = &out.sent[0];
    assert_eq!(to.addr, "127.0.0.1:5090".parse().unwrap());
    assert_eq!(bye.headers.get("CSeq"), Some("2 BYE"));
    assert_eq!(bye.to_tag(), Some("t1"));
    let out = raw.send(&response_to(bye, 200, "OK", None, ""));
    assert!(matches!(
        &out.events[..],
        [UaEvent::Terminated {
            by_remote: false,
            code: 200,
            ..
        }]
    ));
    raw.run_timers(secs(100));
    assert!(raw.idle());
}

#[test]
fn answer_without_route_acks_to_the_contact() {
    let mut raw = Raw::new(Transport::Udp);
    let (_, invite) = dial(&mut raw, None);
    let out = raw.send(&response_to(
        &invite,
        200,
        "OK",
        Some("t1"),
        "Contact: <sip:bob@127.0.0.1:5062>\n",
    ));
    assert_eq!(out.sent[0].0.addr, "127.0.0.1:5062".parse().unwrap());
}

#[test]
fn answer_racing_our_hangup_is_acked_and_byed() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, invite) = dial(&mut raw, None);
    hangup(&mut raw, leg);
    let out = raw.send(&response_to(
        &invite,
        200,
        "OK",
        Some("t1"),
        "Contact: <sip:bob@127.0.0.1:5060>\n",
    ));
    let methods: Vec<_> = out.sent.iter().map(|(_, m)| m.method().cloned()).collect();
    assert_eq!(methods, vec![Some(Method::Ack), Some(Method::Bye)]);
    assert!(out.events.is_empty(), "no Answered");
    let bye = out.sent[1].1.clone();
    let out = raw.send(&response_to(&bye, 200, "OK", None, ""));
    assert!(matches!(
        &out.events[..],
        [UaEvent::Terminated { leg: l, by_remote: false, .. }] if *l == leg
    ));
}

#[test]
fn failure_is_acked_by_the_transaction() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, invite) = dial(&mut raw, None);
    let busy = response_to(&invite, 486, "Busy Here", Some("t1"), "");
    let out = raw.send(&busy);
    assert_eq!(out.sent[0].1.method(), Some(&Method::Ack));
    assert!(matches!(
        &out.events[..],
        [UaEvent::Failed { leg: l, code: 486, reason, .. }] if *l == leg && reason == "Busy Here"
    ));
    assert_eq!(raw.ua.leg_count(), 0);
    let again = raw.send(&busy);
    assert_eq!(again.sent.len(), 1);
    assert!(again.events.is_empty());
    // Timer D ends the transaction.
    raw.run_timers(secs(33));
    assert!(raw.idle());
}

#[test]
fn second_fork_answering_is_acked_and_byed() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, invite) = dial(&mut raw, None);
    let first = raw.send(&response_to(
        &invite,
        200,
        "OK",
        Some("fork1"),
        "Contact: <sip:a@127.0.0.1:5060>\n",
    ));
    assert!(matches!(&first.events[..], [UaEvent::Answered { leg: l, .. }] if *l == leg));
    let out = raw.send(&response_to(
        &invite,
        200,
        "OK",
        Some("fork2"),
        "Contact: <sip:b@127.0.0.1:5060>\n",
    ));
    let methods: Vec<_> = out.sent.iter().map(|(_, m)| m.method().cloned()).collect();
    assert_eq!(methods, vec![Some(Method::Ack), Some(Method::Bye)]);
    assert!(out.sent.iter().all(|(_, m)| m.to_tag() == Some("fork2")));
    assert!(out.events.is_empty());
    assert_eq!(raw.ua.leg_count(), 1);
}

/// Pulls `name="value"` or `name=value` out of an Authorization header.
fn auth_param(header: &str, name: &str) -> String {
    header
        .trim_start_matches("Digest ")
        .split(", ")
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} missing in {header}"))
        .trim_matches('"')
        .to_string()
}

#[test]
fn digest_challenge_is_answered_once() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, invite) = dial(&mut raw, Some(("alice", "s3cret")));
    let challenge = r#"Digest realm="dialtone.test", nonce="abc123", qop="auth", opaque="xyz""#;
    let out = raw.send(&response_to(
        &invite,
        401,
        "Unauthorized",
        Some("t1"),
        &format!("WWW-Authenticate: {challenge}\n"),
    ));
    assert!(out.events.is_empty());
    let methods: Vec<_> = out.sent.iter().map(|(_, m)| m.method().cloned()).collect();
    assert_eq!(methods, vec![Some(Method::Ack), Some(Method::Invite)]);
    let retry = out.sent[1].1.clone();
    assert_eq!(retry.headers.get("CSeq"), Some("2 INVITE"));
    assert_eq!(retry.call_id(), invite.call_id());
    assert_eq!(retry.from_tag(), invite.from_tag());
    assert_eq!(retry.to_tag(), None);
    assert_ne!(
        retry.top_via().unwrap().branch(),
        invite.top_via().unwrap().branch()
    );
    assert_eq!(retry.body, invite.body);
    let header = retry.headers.get("Authorization").unwrap().to_string();
    assert_eq!(auth_param(&header, "username"), "alice");
    assert_eq!(auth_param(&header, "realm"), "dialtone.test");
    assert_eq!(auth_param(&header, "uri"), "sip:bob@127.0.0.1:5060");
    assert_eq!(auth_param(&header, "qop"), "auth");
    assert_eq!(auth_param(&header, "nc"), "00000001");
    assert_eq!(auth_param(&header, "opaque"), "xyz");
    let cnonce = auth_param(&header, "cnonce");
    let expected = digest_response(
        &Challenge::parse(challenge).unwrap(),
        &DigestInput {
            username: "alice",
            password: "s3cret",
            method: "INVITE",
            uri: "sip:bob@127.0.0.1:5060",
            cnonce: &cnonce,
            nc: 1,
        },
    );
    assert_eq!(auth_param(&header, "response"), expected);

    let ok = raw.send(&response_to(
        &retry,
        200,
        "OK",
        Some("t2"),
        "Contact: <sip:bob@127.0.0.1:5060>\n",
    ));
    let ack = &ok.sent[0].1;
    assert_eq!(ack.headers.get("Authorization"), Some(header.as_str()));
    assert_eq!(ack.headers.get("CSeq"), Some("2 ACK"));
    assert!(matches!(&ok.events[..], [UaEvent::Answered { leg: l, .. }] if *l == leg));
}

#[test]
fn proxy_challenge_uses_proxy_authorization() {
    let mut raw = Raw::new(Transport::Udp);
    let (_, invite) = dial(&mut raw, Some(("alice", "pw")));
    let out = raw.send(&response_to(
        &invite,
        407,
        "Proxy Authentication Required",
        Some("t1"),
        "Proxy-Authenticate: Digest realm=\"proxy\", nonce=\"n1\"\n",
    ));
    let retry = &out.sent[1].1;
    let header = retry.headers.get("Proxy-Authorization").unwrap();
    assert!(!header.contains("qop"));
    assert!(retry.headers.get("Authorization").is_none());
}

#[test]
fn rejected_credentials_fail_the_call() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, invite) = dial(&mut raw, Some(("alice", "wrong")));
    let challenge = "WWW-Authenticate: Digest realm=\"r\", nonce=\"n1\"\n";
    let out = raw.send(&response_to(
        &invite,
        401,
        "Unauthorized",
        Some("t1"),
        challenge,
    ));
    let retry = out.sent[1].1.clone();
    let out = raw.send(&response_to(
        &retry,
        401,
        "Unauthorized",
        Some("t2"),
        challenge,
    ));
    assert_eq!(out.sent.len(), 1, "only the ACK");
    assert!(matches!(&out.events[..], [UaEvent::Failed { leg: l, code: 401, .. }] if *l == leg));
}

#[test]
fn challenge_without_credentials_fails() {
    let mut raw = Raw::new(Transport::Udp);
    let (_, invite) = dial(&mut raw, None);
    let out = raw.send(&response_to(
        &invite,
        401,
        "Unauthorized",
        Some("t1"),
        "WWW-Authenticate: Digest realm=\"r\", nonce=\"n1\"\n",
    ));
    assert!(matches!(
        &out.events[..],
        [UaEvent::Failed { code: 401, .. }]
    ));
}

#[test]
fn transport_failure_fails_the_leg_with_503() {
    let mut raw = Raw::new(Transport::Tcp);
    let (leg, _) = dial(&mut raw, None);
    let (now, peer) = (raw.now, raw.peer);
    raw.ua.handle_transport_error(now, peer);
    let out = raw.out();
    assert!(matches!(&out.events[..], [UaEvent::Failed { leg: l, code: 503, .. }] if *l == leg));
    assert!(raw.idle());
}

#[test]
fn responses_not_for_us_are_dropped() {
    let mut raw = Raw::new(Transport::Udp);
    let (_, invite) = dial(&mut raw, None);
    let two_vias = response_to(&invite, 200, "OK", Some("t1"), "").replacen(
        "Via: ",
        "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\nVia: ",
        1,
    );
    assert!(raw.send(&two_vias).events.is_empty());
    let other_branch =
        response_to(&invite, 200, "OK", Some("t1"), "").replace("z9hG4bK", "z9hG4bKzz");
    assert!(raw.send(&other_branch).events.is_empty());
    let wrong_method = response_to(&invite, 200, "OK", Some("t1"), "").replace("1 INVITE", "1 BYE");
    assert!(raw.send(&wrong_method).events.is_empty());
    assert_eq!(raw.ua.leg_count(), 1);
}

#[test]
fn invalid_dial_fails_at_once() {
    let mut raw = Raw::new(Transport::Udp);
    let out = raw.command(UaCommand::Dial {
        leg: 77,
        target: raw.peer,
        request_uri: "sip:bob@host\r\nVia: evil".into(),
        from_uri: "sip:a@b".into(),
        from_display: None,
        to_uri: "sip:bob@host".into(),
        body: None,
        headers: vec![],
        auth: None,
        max_forwards: 70,
    });
    assert!(out.sent.is_empty());
    assert!(matches!(
        &out.events[..],
        [UaEvent::Failed {
            leg: 77,
            code: 400,
            ..
        }]
    ));
    assert!(raw.idle());
}

#[test]
fn remote_bye_ends_an_outbound_call() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, invite) = dial(&mut raw, None);
    raw.send(&response_to(
        &invite,
        200,
        "OK",
        Some("t1"),
        "Contact: <sip:bob@127.0.0.1:5060>\n",
    ));
    let call_id = invite.call_id().unwrap().to_string();
    let our_tag = invite.from_tag().unwrap().to_string();
    let bye = format!(
        "BYE sip:dialtone@127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKrbye
From: <sip:bob@127.0.0.1:5060>;tag=t1
To: <sip:dialtone@127.0.0.1:5070>;tag={our_tag}
Call-ID: {call_id}
CSeq: 1 BYE

"
    );
    let out = raw.send(&bye);
    assert_eq!(out.codes(), vec![200]);
    assert!(matches!(
        &out.events[..],
        [UaEvent::Terminated { leg: l, by_remote: true, code: 200, .. }] if *l == leg
    ));
    // A BYE from a stranger with the right dialog id but a wrong tag is refused.
    let mut raw2 = Raw::new(Transport::Udp);
    let (_, invite2) = dial(&mut raw2, None);
    raw2.send(&response_to(
        &invite2,
        200,
        "OK",
        Some("t1"),
        "Contact: <sip:bob@127.0.0.1:5060>\n",
    ));
    let forged = bye
        .replace(&call_id, invite2.call_id().unwrap())
        .replace(&our_tag, invite2.from_tag().unwrap())
        .replace("tag=t1", "tag=intruder");
    assert_eq!(raw2.send(&forged).codes(), vec![481]);
}

#[test]
fn cancel_that_overtook_its_invite_is_sent_again() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, invite) = dial(&mut raw, None);
    raw.send(&response_to(&invite, 100, "Trying", None, ""));
    let cancel = hangup(&mut raw, leg).only().clone();
    // The callee had not seen the INVITE when the CANCEL arrived.
    let out = raw.send(&response_to(
        &cancel,
        481,
        "Call/Transaction Does Not Exist",
        Some("x"),
        "",
    ));
    let again = out.only();
    assert_eq!(again.method(), Some(&Method::Cancel));
    assert_eq!(again.headers.get("Via"), cancel.headers.get("Via"));
    // Its 200 arrives, then the 487.
    assert!(raw
        .send(&response_to(again, 200, "OK", Some("t1"), ""))
        .sent
        .is_empty());
    let out = raw.send(&response_to(
        &invite,
        487,
        "Request Terminated",
        Some("t1"),
        "",
    ));
    assert!(matches!(
        &out.events[..],
        [UaEvent::Failed { code: 487, .. }]
    ));
    // A second refusal is not retried.
    let mut raw = Raw::new(Transport::Udp);
    let (leg, invite) = dial(&mut raw, None);
    raw.send(&response_to(&invite, 180, "Ringing", Some("t1"), ""));
    let cancel = hangup(&mut raw, leg).only().clone();
    let refused = response_to(&cancel, 481, "No", Some("x"), "");
    assert_eq!(raw.send(&refused).sent.len(), 1);
    raw.advance(ms(100));
    let refused2 = refused.replace("tag=x", "tag=y");
    assert!(raw.send(&refused2).sent.is_empty());
    raw.run_timers(secs(100));
    assert!(raw.idle());
}

#[test]
fn the_invite_carries_the_max_forwards_it_is_given() {
    let mut raw = Raw::new(Transport::Udp);
    let (_, invite) = dial(&mut raw, None);
    assert_eq!(invite.headers.get("Max-Forwards"), Some("70"));
    let leg = raw.ua.new_leg_id();
    let out = raw.command(UaCommand::Dial {
        leg,
        target: raw.peer,
        request_uri: "sip:loop@127.0.0.1:5060".into(),
        from_uri: "sip:dialtone@127.0.0.1:5070".into(),
        from_display: None,
        to_uri: "sip:loop@127.0.0.1:5060".into(),
        body: None,
        headers: Vec::new(),
        auth: None,
        max_forwards: 3,
    });
    assert_eq!(out.only().headers.get("Max-Forwards"), Some("3"));
}
