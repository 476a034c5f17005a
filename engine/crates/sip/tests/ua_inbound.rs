//! Inbound requests against one core: what gets answered how before any call
//! exists, and retransmissions, with a scripted peer and virtual time.

mod common;

use common::raw::*;
use common::*;
use dialtone_sip::{Transport, UaCommand, UaEvent};

#[test]
fn options_outside_a_dialog() {
    let mut raw = Raw::new(Transport::Udp);
    let out = raw.send(
        "OPTIONS sip:127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKopt
From: <sip:probe@127.0.0.1>;tag=p
To: <sip:127.0.0.1:5070>
Call-ID: opt-1
CSeq: 1 OPTIONS
Max-Forwards: 0

",
    );
    let resp = out.only();
    assert_eq!(resp.code(), Some(200));
    assert_eq!(
        resp.headers.get("Allow"),
        Some("INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, MESSAGE, REFER, NOTIFY")
    );
    assert_eq!(resp.headers.get("Accept"), Some("application/sdp"));
    assert!(resp.to_tag().is_some());
    assert_eq!(out.sent[0].0, raw.peer);
    assert!(out.events.is_empty());
    raw.run_timers(secs(40));
    assert!(raw.idle());
}

#[test]
fn unsupported_methods_get_405_and_unknown_ones_501_with_allow() {
    for (method, code) in [
        ("SUBSCRIBE", 405),
        ("REGISTER", 405),
        ("MESSAGE", 405),
        ("FOO", 501),
        // Methods are case-sensitive: this is not INVITE.
        ("invite", 501),
    ] {
        let mut raw = Raw::new(Transport::Udp);
        let out = raw.send(&format!(
            "{method} sip:bob@127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK{method}
From: <sip:a@127.0.0.1>;tag=1
To: <sip:bob@127.0.0.1>
Call-ID: m-{method}
CSeq: 1 {method}

"
        ));
        let resp = out.only();
        assert_eq!(resp.code(), Some(code), "{method}");
        // MESSAGE is taken inside calls only: outside, it is not allowed.
        let allow = if method == "MESSAGE" {
            "INVITE, ACK, CANCEL, OPTIONS"
        } else {
            "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, MESSAGE, REFER, NOTIFY"
        };
        assert_eq!(resp.headers.get("Allow"), Some(allow), "{method}");
    }
}

#[test]
fn require_gets_420_with_unsupported() {
    let mut raw = Raw::new(Transport::Udp);
    let out = raw.send(&invite("z9hG4bKreq", "req-1", "Require: 100rel, timer\n"));
    let resp = out.only();
    assert_eq!(resp.code(), Some(420));
    // Session timers are supported: only 100rel is refused.
    assert_eq!(resp.headers.get("Unsupported"), Some("100rel"));
    assert!(out.events.is_empty());
    // The ACK for the 420 is absorbed by the transaction.
    let ack = "ACK sip:bob@127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKreq;rport
From: \"Alice\" <sip:alice@127.0.0.1:5060>;tag=ftag
To: <sip:bob@127.0.0.1:5070>;tag=x
Call-ID: req-1
CSeq: 1 ACK

";
    assert!(raw.send(ack).sent.is_empty());
    raw.run_timers(secs(40));
    assert!(raw.idle());
}

#[test]
fn max_forwards_zero_gets_483() {
    let mut raw = Raw::new(Transport::Udp);
    let text = invite("z9hG4bKmf", "mf-1", "").replace("Max-Forwards: 70", "Max-Forwards: 0");
    let out = raw.send(&text);
    assert_eq!(out.only().code(), Some(483));
    assert_eq!(raw.ua.leg_count(), 0);
}

#[test]
fn bad_requests_get_400_saying_what_is_wrong() {
    let base = invite("z9hG4bKbad", "bad-1", "");
    let cases: Vec<(String, &str)> = vec![
        (
            base.replace("Call-ID: bad-1\n", ""),
            "Missing Call-ID header",
        ),
        (base.replace("CSeq: 1 INVITE\n", ""), "Missing CSeq header"),
        (base.replace("CSeq: 1 INVITE", "CSeq: x INVITE"), "Bad CSeq"),
        (
            base.replace("CSeq: 1 INVITE", "CSeq: 1 BYE"),
            "CSeq method does not match request",
        ),
        (
            base.replace("From: \"Alice\" <sip:alice@127.0.0.1:5060>;tag=ftag\n", ""),
            "Missing From header",
        ),
        (
            base.replace(
                "From: \"Alice\" <sip:alice@127.0.0.1:5060>",
                "From: <nonsense",
            ),
            "Bad From",
        ),
        (
            base.replace("CSeq: 1 INVITE\n", "CSeq: 1 INVITE\nCSeq: 2 INVITE\n"),
            "Multiple CSeq headers",
        ),
        (
            base.replace("To: <sip:bob@127.0.0.1:5070>\n", ""),
            "Missing To header",
        ),
        (
            base.replace("To: <sip:bob@127.0.0.1:5070>", "To: <sip:>"),
            "Bad To",
        ),
        (
            base.replace("Max-Forwards: 70", "Max-Forwards: many"),
            "Bad Max-Forwards",
        ),
        (
            base.replace("INVITE sip:bob@127.0.0.1:5070 SIP", "INVITE sip:bob@ SIP"),
            "Bad Request-URI",
        ),
        (
            base.replace("INVITE sip:bob@127.0.0.1:5070 SIP", "INVITE SIP"),
            "Bad start line",
        ),
        (
            base.replace(
                "INVITE sip:bob@127.0.0.1:5070 SIP",
                "INVITE sip:bob@127.0.0.1 x SIP",
            ),
            "Bad start line",
        ),
        (
            base.replace(
                "sip:bob@127.0.0.1:5070 SIP",
                "sip:bob@127.0.0.1:5070?Route=x SIP",
            ),
            "Bad Request-URI: headers not allowed",
        ),
        (
            base.replace(";branch=z9hG4bKbad;rport", ";branch=z9hG4bKbad;;rport"),
            "Bad Via",
        ),
        (
            base.replace("Content-Length: 5", "Content-Length: 500"),
            "Bad Content-Length",
        ),
        (
            base.replace("Content-Length: 5", "Content-Length: -5"),
            "Bad Content-Length",
        ),
        (
            base.replace(
                "Via: SIP/2.0/UDP 127.0.0.1:5060",
                "Via: SIP/2.0/UDP 127.0.0.1:99999",
            ),
            "Bad Via",
        ),
    ];
    for (text, reason) in cases {
        let mut raw = Raw::new(Transport::Udp);
        let out = raw.send(&text);
        assert_eq!(out.sent.len(), 1, "{reason}: {text}");
        let resp = out.only();
        assert_eq!(resp.code(), Some(400), "{reason}: {text}");
        assert_eq!(resp.reason(), Some(reason));
        assert!(out.events.is_empty());
        assert_eq!(out.sent[0].0, raw.peer);
        assert_eq!(raw.ua.leg_count(), 0);
    }
}

#[test]
fn unsupported_uri_scheme_gets_416() {
    let mut raw = Raw::new(Transport::Udp);
    let text = invite("z9hG4bKurn", "urn-1", "").replace(
        "INVITE sip:bob@127.0.0.1:5070 SIP",
        "INVITE urn:service:sos SIP",
    );
    assert_eq!(raw.send(&text).only().code(), Some(416));
}

#[test]
fn unanswerable_input_is_dropped() {
    let mut raw = Raw::new(Transport::Udp);
    let no_via = invite("z9hG4bKx", "nv", "").replace(
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx;rport\n",
        "",
    );
    for junk in [
        no_via.as_str(),
        "hello",
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKnone\nCSeq: 1 INVITE\n\n",
        "SIP/2.0 200 OK\n\n",
        "\n\n\n",
        "",
    ] {
        let out = raw.send(junk);
        assert!(out.sent.is_empty() && out.events.is_empty(), "{junk:?}");
    }
    assert!(raw.idle());
}

#[test]
fn unknown_dialog_gets_481_and_its_ack_is_dropped() {
    let mut raw = Raw::new(Transport::Udp);
    for method in ["BYE", "INFO", "INVITE", "OPTIONS"] {
        let out = raw.send(&in_dialog(
            method,
            &format!("z9hG4bK{method}"),
            "nope",
            "nope",
            2,
        ));
        assert_eq!(out.only().code(), Some(481), "{method}");
    }
    let out = raw.send(&in_dialog("ACK", "z9hG4bKack", "nope", "nope", 2));
    assert!(out.sent.is_empty());
    // BYE outside any dialog.
    let text = in_dialog("BYE", "z9hG4bKbye2", "nope", "x", 2).replace(";tag=x", "");
    assert_eq!(raw.send(&text).only().code(), Some(481));
}

#[test]
fn retransmitted_invite_gets_the_last_response_again() {
    let mut raw = Raw::new(Transport::Udp);
    let text = invite("z9hG4bKrt", "rt-1", "");
    let out = raw.send(&text);
    assert_eq!(out.codes(), vec![100]);
    assert_eq!(out.events.len(), 1);
    let again = raw.send(&text);
    assert_eq!(again.codes(), vec![100]);
    assert!(again.events.is_empty(), "no second Incoming");
    let leg = raw.ua.leg_count();
    assert_eq!(leg, 1);
    let leg = match &out.events[0] {
        UaEvent::Incoming { leg, .. } => *leg,
        _ => unreachable!(),
    };
    raw.command(UaCommand::Provisional {
        leg,
        code: 183,
        body: Some(sdp("early")),
        headers: vec![],
    });
    let again = raw.send(&text);
    assert_eq!(again.codes(), vec![183]);
    assert_eq!(again.only().body, sdp("early").data);
    raw.command(UaCommand::Answer {
        leg,
        body: Some(sdp("answer")),
        headers: vec![],
    });
    // Accepted (RFC 6026): the retransmitted INVITE gets the 2xx, not a new leg.
    let again = raw.send(&text);
    assert_eq!(again.codes(), vec![200]);
    assert!(again.events.is_empty());
}

#[test]
fn a_branch_of_only_the_magic_cookie_does_not_merge_requests() {
    // RFC 4475 §3.2.1: such requests are matched the RFC 2543 way, by Call-ID,
    // From tag and CSeq, so two of them are two transactions.
    let mut raw = Raw::new(Transport::Udp);
    for call_id in ["cookie-1", "cookie-2"] {
        let out = raw.send(&format!(
            "OPTIONS sip:bob@127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK
From: <sip:a@127.0.0.1>;tag=1
To: <sip:bob@127.0.0.1>
Call-ID: {call_id}
CSeq: 8 OPTIONS
Content-Length: 0

"
        ));
        let resp = out.only();
        assert_eq!(resp.code(), Some(200));
        assert_eq!(resp.call_id().unwrap(), call_id);
    }
}

/// Out-of-dialog requests that change nothing are answered without a
/// transaction: a flood of them leaves nothing behind.
#[test]
fn junk_options_and_stray_requests_keep_no_transaction() {
    let mut raw = Raw::new(Transport::Udp);
    for i in 0..500 {
        let out = raw.send(&format!(
            "OPTIONS sip:127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKflood{i}
From: <sip:probe@127.0.0.1>;tag=p{i}
To: <sip:127.0.0.1:5070>
Call-ID: flood-{i}
CSeq: 1 OPTIONS
Max-Forwards: 70

"
        ));
        assert_eq!(out.only().code(), Some(200));
        let out = raw.send(&format!(
            "BYE sip:127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKbye{i}
From: <sip:probe@127.0.0.1>;tag=b{i}
To: <sip:127.0.0.1:5070>
Call-ID: stray-{i}
CSeq: 1 BYE
Max-Forwards: 70

"
        ));
        assert_eq!(out.only().code(), Some(481));
        let out = raw.send(&format!(
            "INVITE sip:127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKjunk{i}
From: <sip:probe@127.0.0.1>;tag=j{i}
To: <sip:127.0.0.1:5070>
Call-ID: junk-{i}
CSeq: 1 INVITE
CSeq: 2 INVITE
Max-Forwards: 70

"
        ));
        assert_eq!(out.only().code(), Some(400));
    }
    assert_eq!(raw.ua.transaction_count(), 0);
    assert_eq!(raw.ua.pending_timer_count(), 0);
}

/// One address past its share of server transactions gets a stateless 503.
#[test]
fn a_source_past_its_transaction_cap_gets_503() {
    let mut cfg = dialtone_sip::UaConfig::new("127.0.0.1:5070".parse().unwrap(), "test");
    cfg.max_server_tx_per_source = 3;
    let mut raw = Raw::new(Transport::Udp);
    raw.ua = dialtone_sip::UaCore::new(cfg);
    let invite = |i: usize| {
        format!(
            "INVITE sip:bob@127.0.0.1:5070 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKcap{i}
From: <sip:alice@127.0.0.1>;tag=c{i}
To: <sip:bob@127.0.0.1:5070>
Call-ID: cap-{i}
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.1:5060>
Max-Forwards: 70

"
        )
    };
    for i in 0..3 {
        let out = raw.send(&invite(i));
        assert!(out
            .events
            .iter()
            .any(|e| matches!(e, UaEvent::Incoming { .. })));
    }
    let out = raw.send(&invite(3));
    assert!(out.events.is_empty());
    let refused = out.only();
    assert_eq!(refused.code(), Some(503));
    assert_eq!(refused.headers.get("Retry-After"), Some("5"));
    assert_eq!(raw.ua.transaction_count(), 3);
}
