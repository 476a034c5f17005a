//! Inbound calls against one core: responses, routes, CANCEL, BYE, ACK,
//! re-INVITE and TCP behaviour, with a scripted peer and virtual time.

mod common;

use common::raw::*;
use common::*;
use dialtone_sip::{SipMessage, Transport, UaCommand, UaEvent};

#[test]
fn response_headers_follow_the_request() {
    let mut raw = Raw::new(Transport::Udp);
    let text = invite(
        "z9hG4bKhdr",
        "hdr-1",
        "Record-Route: <sip:p1.example;lr>, <sip:10.9.9.9:5080;lr>\n",
    )
    .replace(
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKhdr;rport",
        "Via: SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bKhdr;rport\nVia: SIP/2.0/UDP 10.2.2.2;branch=z9hG4bKup",
    );
    let out = raw.send(&text);
    let trying = out.only();
    let vias: Vec<_> = trying.headers.get_all("Via").collect();
    assert_eq!(
        vias,
        vec![
            "SIP/2.0/UDP 10.1.1.1:5062;branch=z9hG4bKhdr;rport=5060;received=127.0.0.1",
            "SIP/2.0/UDP 10.2.2.2;branch=z9hG4bKup"
        ]
    );
    assert_eq!(trying.to_tag(), None, "100 Trying carries no To tag");
    assert!(trying.headers.get("Record-Route").is_none());
    let leg = match &out.events[0] {
        UaEvent::Incoming { leg, .. } => *leg,
        _ => unreachable!(),
    };
    let ringing = raw.command(UaCommand::Provisional {
        leg,
        code: 180,
        body: None,
        headers: vec![("X-Ring".into(), "yes".into())],
    });
    let ringing = ringing.only();
    assert_eq!(
        ringing.headers.get("Record-Route"),
        Some("<sip:p1.example;lr>, <sip:10.9.9.9:5080;lr>")
    );
    assert_eq!(ringing.headers.get("X-Ring"), Some("yes"));
    assert_eq!(
        ringing.headers.get("Contact"),
        Some("<sip:dialtone@127.0.0.1:5070>")
    );
    let out = raw.command(UaCommand::Answer {
        leg,
        body: None,
        headers: vec![],
    });
    assert!(out.only().headers.get("Record-Route").is_some());
    assert_eq!(out.only().headers.get("Content-Type"), None);
    // The ACK (late: the INVITE had an offer, the ACK has nothing).
    let tag = out.only().to_tag().unwrap().to_string();
    let ack = in_dialog("ACK", "z9hG4bKhdrack", "hdr-1", &tag, 1);
    let out = raw.send(&ack);
    assert_eq!(out.events, vec![UaEvent::Acked { leg, body: None }]);
    // Our BYE follows the route set: to p1? No: the first route is not an IP
    // literal, so it falls back to where the INVITE came from; the Route header
    // still lists both proxies.
    let out = raw.command(UaCommand::Hangup {
        leg,
        headers: vec![],
    });
    let (to, bye) = &out.sent[0];
    assert_eq!(*to, raw.peer);
    let routes: Vec<_> = bye.headers.get_all("Route").collect();
    assert_eq!(
        routes,
        vec!["<sip:p1.example;lr>", "<sip:10.9.9.9:5080;lr>"]
    );
    assert_eq!(bye.request_uri(), Some("sip:alice@127.0.0.1:5060"));
}

#[test]
fn bye_follows_a_literal_first_route() {
    let mut raw = Raw::new(Transport::Udp);
    let out = raw.send(&invite(
        "z9hG4bKrr2",
        "rr-2",
        "Record-Route: <sip:10.9.9.9:5080;lr>\n",
    ));
    let leg = match &out.events[0] {
        UaEvent::Incoming { leg, .. } => *leg,
        _ => unreachable!(),
    };
    let ok = raw.command(UaCommand::Answer {
        leg,
        body: None,
        headers: vec![],
    });
    let tag = ok.only().to_tag().unwrap().to_string();
    raw.send(&in_dialog("ACK", "z9hG4bKrr2ack", "rr-2", &tag, 1));
    let out = raw.command(UaCommand::Hangup {
        leg,
        headers: vec![],
    });
    assert_eq!(out.sent[0].0.addr, "10.9.9.9:5080".parse().unwrap());
}

#[test]
fn duplicate_bye_gets_the_same_200_and_no_second_event() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = answered(&mut raw, "z9hG4bKd", "dup-1");
    raw.send(&in_dialog("ACK", "z9hG4bKdack", "dup-1", &tag, 1));
    let bye = in_dialog("BYE", "z9hG4bKdbye", "dup-1", &tag, 2);
    let first = raw.send(&bye);
    assert_eq!(first.codes(), vec![200]);
    assert!(matches!(
        &first.events[..],
        [UaEvent::Terminated { leg: l, by_remote: true, code: 200, reason, .. }] if *l == leg && reason == "BYE"
    ));
    raw.advance(secs(2));
    let second = raw.send(&bye);
    assert_eq!(second.codes(), vec![200]);
    assert_eq!(second.only().to_bytes(), first.only().to_bytes());
    assert!(second.events.is_empty());
    assert_eq!(raw.ua.leg_count(), 0);
    // Timer J ends the BYE transaction; Timer L the INVITE one.
    raw.run_timers(secs(40));
    assert!(raw.idle());
    // A BYE retransmitted after that finds no dialog.
    assert_eq!(raw.send(&bye).only().code(), Some(481));
}

#[test]
fn cancel_before_answer() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = ringing(&mut raw, "z9hG4bKc", "can-1");
    let cancel = "CANCEL sip:bob@127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKc;rport
Max-Forwards: 70
From: \"Alice\" <sip:alice@127.0.0.1:5060>;tag=ftag
To: <sip:bob@127.0.0.1:5070>
Call-ID: can-1
CSeq: 1 CANCEL

";
    let out = raw.send(cancel);
    assert_eq!(out.codes(), vec![200, 487]);
    assert_eq!(out.sent[0].1.to_tag(), Some(tag.as_str()));
    assert_eq!(out.sent[1].1.to_tag(), Some(tag.as_str()));
    assert_eq!(out.sent[1].1.headers.get("CSeq"), Some("1 INVITE"));
    assert_eq!(out.events, vec![UaEvent::Cancelled { leg }]);
    // A retransmitted CANCEL gets its 200 again; nothing else happens.
    let again = raw.send(cancel);
    assert_eq!(again.codes(), vec![200]);
    assert!(again.events.is_empty());
    // Without the ACK the 487 is retransmitted (Timer G), then Timer H ends it.
    let log = raw.run_timers(secs(40));
    let times: Vec<_> = log
        .iter()
        .filter(|(_, m, _)| m.code() == Some(487))
        .map(|(t, _, _)| *t)
        .collect();
    assert_eq!(&times[..4], &[ms(500), ms(1500), ms(3500), ms(7500)]);
    assert!(raw.idle());
}

#[test]
fn cancel_after_the_answer_only_gets_200() {
    let mut raw = Raw::new(Transport::Udp);
    let (_leg, _tag) = answered(&mut raw, "z9hG4bKc2", "can-2");
    let cancel = "CANCEL sip:bob@127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKc2;rport
From: \"Alice\" <sip:alice@127.0.0.1:5060>;tag=ftag
To: <sip:bob@127.0.0.1:5070>
Call-ID: can-2
CSeq: 1 CANCEL

";
    let out = raw.send(cancel);
    assert_eq!(out.codes(), vec![200]);
    assert!(out.events.is_empty());
}

#[test]
fn cancel_for_nothing_gets_481() {
    let mut raw = Raw::new(Transport::Udp);
    let out = raw.send(
        "CANCEL sip:bob@127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnothing
From: <sip:alice@127.0.0.1:5060>;tag=ftag
To: <sip:bob@127.0.0.1:5070>
Call-ID: can-3
CSeq: 1 CANCEL

",
    );
    assert_eq!(out.only().code(), Some(481));
}

#[test]
fn lost_ack_bye_first_then_late_ack() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = answered(&mut raw, "z9hG4bKl", "late-1");
    // The 2xx is retransmitted while the ACK is missing.
    assert_eq!(raw.advance(ms(500)).codes(), vec![200]);
    // The BYE overtakes the ACK.
    let out = raw.send(&in_dialog("BYE", "z9hG4bKlbye", "late-1", &tag, 2));
    assert_eq!(out.codes(), vec![200]);
    assert!(matches!(
        &out.events[..],
        [UaEvent::Terminated {
            by_remote: true,
            ..
        }]
    ));
    // The BYE stopped the 2xx retransmissions.
    let log = raw.run_timers(secs(5));
    assert!(log.is_empty(), "{log:?}");
    let out = raw.send(&in_dialog("ACK", "z9hG4bKlack", "late-1", &tag, 1));
    assert!(out.sent.is_empty() && out.events.is_empty());
    let _ = leg;
    raw.run_timers(secs(60));
    assert!(raw.idle());
}

#[test]
fn duplicate_ack_reports_once() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = answered(&mut raw, "z9hG4bKa", "ack-1");
    let ack = in_dialog("ACK", "z9hG4bKaack", "ack-1", &tag, 1);
    let first = raw.send(&ack);
    assert_eq!(first.events, vec![UaEvent::Acked { leg, body: None }]);
    assert!(raw.send(&ack).events.is_empty());
    assert!(raw.advance(secs(1)).sent.is_empty(), "2xx stopped");
}

#[test]
fn late_offer_answer_arrives_in_the_ack() {
    let mut raw = Raw::new(Transport::Udp);
    let text = invite("z9hG4bKlo", "lo-1", "").replace(
        "Content-Type: application/sdp\nContent-Length: 5\n\nv=0\n",
        "Content-Length: 0\n\n",
    );
    let out = raw.send(&text);
    let leg = match &out.events[..] {
        [UaEvent::Incoming {
            leg, body: None, ..
        }] => *leg,
        other => panic!("{other:?}"),
    };
    let ok = raw.command(UaCommand::Answer {
        leg,
        body: Some(sdp("offer")),
        headers: vec![],
    });
    let tag = ok.only().to_tag().unwrap().to_string();
    let ack = in_dialog("ACK", "z9hG4bKloack", "lo-1", &tag, 1).replace(
        "Content-Length: 0\n\n",
        "Content-Type: application/sdp\nContent-Length: 5\n\nv=1\n",
    );
    let out = raw.send(&ack);
    match &out.events[..] {
        [UaEvent::Acked { body: Some(b), .. }] => {
            assert_eq!(b.data, b"v=1\r\n");
            assert_eq!(b.content_type, "application/sdp");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hangup_of_a_ringing_leg_sends_480() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, _) = ringing(&mut raw, "z9hG4bKh", "h-1");
    let out = raw.command(UaCommand::Hangup {
        leg,
        headers: vec![],
    });
    assert_eq!(out.codes(), vec![480]);
    assert!(matches!(
        &out.events[..],
        [UaEvent::Terminated {
            by_remote: false,
            code: 480,
            ..
        }]
    ));
    assert_eq!(raw.ua.leg_count(), 0);
}

#[test]
fn hangup_while_waiting_for_ack_sends_bye_after_it() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = answered(&mut raw, "z9hG4bKw", "w-1");
    let out = raw.command(UaCommand::Hangup {
        leg,
        headers: vec![],
    });
    assert!(out.sent.is_empty(), "no BYE before the ACK");
    let out = raw.send(&in_dialog("ACK", "z9hG4bKwack", "w-1", &tag, 1));
    assert_eq!(
        out.first_lines(),
        vec!["BYE sip:alice@127.0.0.1:5060 SIP/2.0"]
    );
    assert!(out.events.is_empty(), "no Acked after our hangup");
    let bye = out.only().clone();
    let out = raw.send(&response_to(&bye, 200, "OK", None, ""));
    assert!(matches!(
        &out.events[..],
        [UaEvent::Terminated {
            by_remote: false,
            code: 200,
            ..
        }]
    ));
}

#[test]
fn bye_without_answer_times_out_with_timer_f() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = answered(&mut raw, "z9hG4bKf", "f-1");
    raw.send(&in_dialog("ACK", "z9hG4bKfack", "f-1", &tag, 1));
    let start = raw.elapsed();
    raw.command(UaCommand::Hangup {
        leg,
        headers: vec![],
    });
    let log = raw.run_timers(start + secs(40));
    let byes = log
        .iter()
        .filter(|(_, m, _)| m.method() == Some(&dialtone_sip::Method::Bye))
        .count();
    assert_eq!(byes, 10, "Timer E retransmissions");
    let end = log
        .iter()
        .find(|(_, _, events)| !events.is_empty())
        .unwrap();
    assert_eq!(end.0 - start, secs(32));
    assert!(matches!(
        &end.2[..],
        [UaEvent::Terminated {
            by_remote: false,
            code: 408,
            ..
        }]
    ));
    raw.run_timers(secs(100));
    assert!(raw.idle());
}

#[test]
fn second_reinvite_while_one_is_pending_gets_500() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, tag) = answered(&mut raw, "z9hG4bKr", "r-1");
    raw.send(&in_dialog("ACK", "z9hG4bKrack", "r-1", &tag, 1));
    let out = raw.send(&in_dialog("INVITE", "z9hG4bKre1", "r-1", &tag, 2));
    assert_eq!(out.codes(), vec![100]);
    assert!(
        matches!(&out.events[..], [UaEvent::ReInvite { leg: l, body: None, .. }] if *l == leg),
        "{:?}",
        out.events
    );
    let out = raw.send(&in_dialog("INVITE", "z9hG4bKre2", "r-1", &tag, 3));
    assert_eq!(out.codes(), vec![500]);
    assert!(out.only().headers.get("Retry-After").is_some());
    let out = raw.command(UaCommand::AnswerReInvite {
        leg,
        code: 488,
        body: None,
        headers: Vec::new(),
    });
    assert_eq!(out.codes(), vec![488]);
    // A BYE with a pending re-INVITE answers it with 487 first.
    let out = raw.send(&in_dialog("INVITE", "z9hG4bKre3", "r-1", &tag, 4));
    assert_eq!(out.codes(), vec![100]);
    let out = raw.send(&in_dialog("BYE", "z9hG4bKrbye", "r-1", &tag, 5));
    assert_eq!(out.codes(), vec![200, 487]);
    raw.run_timers(secs(100));
    assert!(raw.idle());
}

#[test]
fn tcp_no_retransmission_but_ack_timeout_still_applies() {
    let mut raw = Raw::new(Transport::Tcp);
    let text = invite("z9hG4bKt", "t-1", "")
        .replace("SIP/2.0/UDP 127.0.0.1:5060", "SIP/2.0/TCP 127.0.0.1:5060");
    let out = raw.send(&text);
    let leg = match &out.events[..] {
        [UaEvent::Incoming { leg, .. }] => *leg,
        other => panic!("{other:?}"),
    };
    let ok = raw.command(UaCommand::Answer {
        leg,
        body: None,
        headers: vec![],
    });
    assert_eq!(
        ok.only().headers.get("Contact"),
        Some("<sip:dialtone@127.0.0.1:5070;transport=tcp>")
    );
    let log = raw.run_timers(secs(40));
    // Nothing resent; at 64·T1 a BYE over the same connection and the event.
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].0, secs(32));
    assert_eq!(log[0].1.method(), Some(&dialtone_sip::Method::Bye));
    assert!(log[0].1.top_via().unwrap().transport == "TCP");
    assert!(matches!(
        &log[0].2[..],
        [UaEvent::Terminated { code: 408, reason, .. }] if reason == "ACK timeout"
    ));
}

#[test]
fn tcp_keepalive_ping_gets_pong() {
    let mut raw = Raw::new(Transport::Tcp);
    let out = raw.send_bytes(b"\r\n\r\n");
    assert_eq!(out.sent.len(), 1);
    assert_eq!(out.sent[0].1.reason(), Some("pong"));
    let mut udp = Raw::new(Transport::Udp);
    assert!(udp.send_bytes(b"\r\n\r\n").sent.is_empty());
    assert!(raw.send_bytes(b"\r\n").sent.is_empty());
}

#[test]
fn tcp_server_transactions_end_at_once() {
    let mut raw = Raw::new(Transport::Tcp);
    raw.send(
        "OPTIONS sip:127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKtopt
From: <sip:probe@127.0.0.1>;tag=p
To: <sip:127.0.0.1:5070>
Call-ID: topt
CSeq: 1 OPTIONS

",
    );
    assert!(raw.idle());
}

#[test]
fn incoming_reports_the_invite_faithfully() {
    let mut raw = Raw::new(Transport::Udp);
    let text = invite("z9hG4bKi", "inc-1", "X-Account: 42\n").replace(
        "To: <sip:bob@127.0.0.1:5070>",
        "t: \"Bob\" <sip:bob@127.0.0.1:5070>",
    );
    let out = raw.send(&text);
    match &out.events[..] {
        [UaEvent::Incoming {
            source,
            request_uri,
            destination,
            from_uri,
            from_user,
            from_display,
            to_uri,
            headers,
            body,
            ..
        }] => {
            assert_eq!(*source, raw.peer);
            assert_eq!(request_uri, "sip:bob@127.0.0.1:5070");
            assert_eq!(destination, "bob");
            assert_eq!(from_uri, "sip:alice@127.0.0.1:5060");
            assert_eq!(from_user, "alice");
            assert_eq!(from_display.as_deref(), Some("Alice"));
            assert_eq!(to_uri, "sip:bob@127.0.0.1:5070");
            assert!(headers.contains(&("X-Account".into(), "42".into())));
            assert!(headers.contains(&("To".into(), "\"Bob\" <sip:bob@127.0.0.1:5070>".into())));
            assert_eq!(body.as_ref().unwrap().data, b"v=0\r\n");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc2543_peer_without_magic_cookie() {
    let mut raw = Raw::new(Transport::Udp);
    let text = invite("1234", "old-1", "");
    assert_eq!(raw.send(&text).codes(), vec![100]);
    // Retransmission matched by request identity.
    let again = raw.send(&text);
    assert_eq!(again.codes(), vec![100]);
    assert!(again.events.is_empty());
}

#[test]
fn compact_and_folded_invite_is_understood() {
    let mut raw = Raw::new(Transport::Udp);
    let out = raw.send(
        "INVITE sip:carol@127.0.0.1:5070 SIP/2.0
v: SIP/2.0/UDP 127.0.0.1:5060
 ;branch=z9hG4bKcomp
f: <sip:alice@127.0.0.1:5060>;tag=77
t: <sip:carol@127.0.0.1:5070>
i: compact-1
CSeq: 1 INVITE
m: <sip:alice@127.0.0.1:5060>
c: application/sdp
l: 4

v=0
",
    );
    assert_eq!(out.codes(), vec![100]);
    match &out.events[..] {
        [UaEvent::Incoming {
            destination, body, ..
        }] => {
            assert_eq!(destination, "carol");
            assert_eq!(body.as_ref().unwrap().content_type, "application/sdp");
            assert_eq!(body.as_ref().unwrap().data, b"v=0\r");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn reject_rules() {
    let mut raw = Raw::new(Transport::Udp);
    let (leg, _) = ringing(&mut raw, "z9hG4bKrj", "rj-1");
    let out = raw.command(UaCommand::Reject {
        leg,
        code: 603,
        reason: Some("Go\r\nAway".into()),
        headers: vec![],
    });
    assert_eq!(out.only().code(), Some(603));
    assert_eq!(out.only().reason(), Some("GoAway"));
    assert!(out.events.is_empty());
    // Commands for a leg that is gone do nothing.
    let out = raw.command(UaCommand::Answer {
        leg,
        body: None,
        headers: vec![],
    });
    assert!(out.sent.is_empty() && out.events.is_empty());
    let _ = SipMessage::response(1, "");
}
