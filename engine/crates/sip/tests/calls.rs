//! Two user-agent cores talking through the in-memory network.

mod common;

use common::*;
use dialtone_sip::{Body, Transport, UaCommand, UaEvent};

/// Dial → Incoming → 180 → Answer → Answered → Hangup from A → Terminated on both.
/// Tolerates loss: only asserts what must survive it.
fn full_call(h: &mut Harness) -> (u64, u64) {
    let a_leg = h.dial(Some(sdp("offer")));
    assert!(
        h.run_until(secs(40), |h| h.incoming_leg(B).is_some()),
        "no Incoming"
    );
    let b_leg = h.incoming_leg(B).unwrap();
    h.command(
        B,
        UaCommand::Provisional {
            leg: b_leg,
            code: 180,
            body: None,
            headers: vec![],
        },
    );
    h.run_for(ms(500));
    h.command(
        B,
        UaCommand::Answer {
            leg: b_leg,
            body: Some(sdp("answer")),
            headers: vec![],
        },
    );
    assert!(
        h.run_until(secs(40), |h| h.has(A, is_answered)),
        "no Answered"
    );
    h.run_for(secs(1));
    h.command(
        A,
        UaCommand::Hangup {
            leg: a_leg,
            headers: vec![("Reason".into(), "Q.850;cause=16".into())],
        },
    );
    assert!(
        h.run_until(secs(70), |h| h.has(A, is_terminated)
            && h.has(B, is_terminated)),
        "no Terminated"
    );
    h.run_to_idle(secs(200));
    h.assert_idle();
    assert_eq!(h.count(A, is_answered), 1);
    assert_eq!(h.count(A, is_terminated), 1);
    assert_eq!(h.count(B, is_terminated), 1);
    assert_eq!(h.count(B, |e| matches!(e, UaEvent::Incoming { .. })), 1);
    assert!(h.count(B, is_acked) <= 1);
    assert!(h.count(A, |e| matches!(e, UaEvent::Provisional { .. })) <= 1);
    (a_leg, b_leg)
}

#[test]
fn clean_udp_call() {
    let mut h = Harness::new(Transport::Udp, NetConfig::clean(), 1);
    let (a_leg, b_leg) = full_call(&mut h);

    let incoming = h.events(B).next().unwrap().clone();
    let UaEvent::Incoming {
        leg,
        source,
        request_uri,
        destination,
        from_uri,
        from_user,
        from_display,
        to_uri,
        headers,
        body,
    } = incoming
    else {
        panic!("first event is not Incoming: {incoming:?}");
    };
    assert_eq!(leg, b_leg);
    assert_eq!(source, h.peer_of(A));
    assert_eq!(request_uri, "sip:bob@127.0.0.1:5070");
    assert_eq!(destination, "bob");
    assert_eq!(from_uri, "sip:alice@127.0.0.1:5060");
    assert_eq!(from_user, "alice");
    assert_eq!(from_display.as_deref(), Some("Alice"));
    assert_eq!(to_uri, "sip:bob@127.0.0.1:5070");
    assert!(headers.contains(&("X-Test".into(), "1".into())));
    assert_eq!(body, Some(sdp("offer")));

    let a_events: Vec<_> = h.events(A).cloned().collect();
    assert!(matches!(
        &a_events[0],
        UaEvent::Provisional { leg, code: 180, reason, .. } if *leg == a_leg && reason == "Ringing"
    ));
    assert!(matches!(
        &a_events[1],
        UaEvent::Answered { leg, body: Some(b), .. } if *leg == a_leg && *b == sdp("answer")
    ));
    assert!(matches!(
        &a_events[2],
        UaEvent::Terminated {
            by_remote: false,
            code: 200,
            ..
        }
    ));
    let b_events: Vec<_> = h.events(B).cloned().collect();
    assert_eq!(
        b_events[1],
        UaEvent::Acked {
            leg: b_leg,
            body: None
        }
    );
    assert!(matches!(
        &b_events[2],
        UaEvent::Terminated { by_remote: true, code: 200, reason, headers, .. }
            if reason == "BYE" && headers.contains(&("Reason".into(), "Q.850;cause=16".into()))
    ));

    // On a clean network nothing is retransmitted.
    let lines: Vec<_> = h
        .log
        .iter()
        .map(|s| (s.from, s.first_line.as_str()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (A, "INVITE sip:bob@127.0.0.1:5070 SIP/2.0"),
            (B, "SIP/2.0 100 Trying"),
            (B, "SIP/2.0 180 Ringing"),
            (B, "SIP/2.0 200 OK"),
            (A, "ACK sip:dialtone@127.0.0.1:5070 SIP/2.0"),
            (A, "BYE sip:dialtone@127.0.0.1:5070 SIP/2.0"),
            (B, "SIP/2.0 200 OK"),
        ]
    );
    let ok = h.sent(B, "SIP/2.0 200")[0].msg();
    assert_eq!(
        ok.headers.get("Contact"),
        Some("<sip:dialtone@127.0.0.1:5070>")
    );
    assert_eq!(
        ok.headers.get("Allow"),
        Some("INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, MESSAGE, REFER, NOTIFY")
    );
    assert_eq!(ok.headers.get("User-Agent"), Some("dialtone-test"));
    assert_eq!(ok.headers.get("Content-Type"), Some("application/sdp"));
    assert!(ok.to_tag().is_some());
    let via = ok.top_via().unwrap();
    assert_eq!(via.rport(), Some(Some(5060)));
    assert_eq!(via.received(), Some("127.0.0.1"));
    let invite = h.sent(A, "INVITE")[0].msg();
    assert!(invite
        .top_via()
        .unwrap()
        .branch()
        .unwrap()
        .starts_with("z9hG4bK"));
    assert_eq!(invite.headers.get("Max-Forwards"), Some("70"));
    assert_eq!(invite.headers.get("CSeq"), Some("1 INVITE"));
    assert!(invite
        .headers
        .get("From")
        .unwrap()
        .starts_with("\"Alice\" <sip:alice@"));
    assert!(invite.call_id().unwrap().ends_with("@127.0.0.1"));
    let ack = h.sent(A, "ACK")[0].msg();
    assert_ne!(
        ack.top_via().unwrap().branch(),
        invite.top_via().unwrap().branch()
    );
    assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
    assert_eq!(h.sides[A].ua.pending_timer_count(), 0);
    assert_eq!(h.sides[B].ua.pending_timer_count(), 0);
}

#[test]
fn tcp_call_has_no_retransmissions() {
    let mut h = Harness::new(Transport::Tcp, NetConfig::clean(), 2);
    full_call(&mut h);
    assert_eq!(h.sent(A, "INVITE").len(), 1);
    assert_eq!(h.sent(B, "SIP/2.0 200").len(), 2);
    let invite = h.sent(A, "INVITE")[0].msg();
    assert_eq!(
        invite.headers.get("Contact"),
        Some("<sip:dialtone@127.0.0.1:5060;transport=tcp>")
    );
    assert!(invite.top_via().unwrap().transport == "TCP");
}

#[test]
fn slow_tcp_does_not_retransmit_either() {
    let mut net = NetConfig::clean();
    net.min_delay = secs(3);
    net.max_delay = secs(3);
    let mut h = Harness::new(Transport::Tcp, net, 3);
    full_call(&mut h);
    assert_eq!(h.sent(A, "INVITE").len(), 1);
    assert_eq!(h.sent(A, "BYE").len(), 1);
}

#[test]
fn calls_complete_with_30_percent_loss() {
    let mut net = NetConfig::clean();
    net.loss = 0.3;
    let mut dropped = 0;
    let mut sent = 0;
    for seed in 0..100 {
        let mut h = Harness::new(Transport::Udp, net, seed);
        full_call(&mut h);
        dropped += h.log.iter().filter(|s| s.dropped).count();
        sent += h.log.len();
    }
    // The network really lost about 30 %.
    assert!(dropped * 100 / sent >= 25, "{dropped} of {sent} lost");
}

#[test]
fn calls_complete_with_duplication() {
    let mut net = NetConfig::clean();
    net.duplicate = 0.5;
    for seed in 0..20 {
        let mut h = Harness::new(Transport::Udp, net, seed);
        full_call(&mut h);
    }
}

#[test]
fn calls_complete_with_reordering() {
    let mut net = NetConfig::clean();
    net.min_delay = ms(0);
    net.max_delay = ms(800);
    for seed in 0..20 {
        let mut h = Harness::new(Transport::Udp, net, seed);
        full_call(&mut h);
    }
}

#[test]
fn calls_complete_with_loss_duplication_and_reordering() {
    let net = NetConfig {
        loss: 0.2,
        duplicate: 0.3,
        min_delay: ms(0),
        max_delay: ms(1200),
    };
    for seed in 0..40 {
        let mut h = Harness::new(Transport::Udp, net, seed);
        full_call(&mut h);
    }
}

#[test]
fn info_reaches_the_peer_in_both_directions_and_only_when_established() {
    for transport in [Transport::Udp, Transport::Tcp] {
        let mut h = Harness::new(transport, NetConfig::clean(), 11);
        let a_leg = h.dial(Some(sdp("offer")));
        assert!(h.run_until(secs(5), |h| h.incoming_leg(B).is_some()));
        let b_leg = h.incoming_leg(B).unwrap();
        let dtmf = |digit: &str| Body {
            content_type: "application/dtmf-relay".into(),
            data: format!("Signal={digit}\r\nDuration=160\r\n").into_bytes(),
        };
        // Not established yet: nothing goes out.
        h.command(
            B,
            UaCommand::Info {
                leg: b_leg,
                body: dtmf("9"),
                headers: vec![],
            },
        );
        assert!(h.sent(B, "INFO").is_empty());
        h.command(
            B,
            UaCommand::Answer {
                leg: b_leg,
                body: Some(sdp("answer")),
                headers: vec![],
            },
        );
        assert!(h.run_until(secs(5), |h| h.has(A, is_answered) && h.has(B, is_acked)));
        h.command(
            A,
            UaCommand::Info {
                leg: a_leg,
                body: dtmf("5"),
                headers: vec![],
            },
        );
        h.command(
            B,
            UaCommand::Info {
                leg: b_leg,
                body: dtmf("#"),
                headers: vec![],
            },
        );
        let got = |h: &Harness, side: usize, want: &str| {
            h.has(side, |e| {
                matches!(e, UaEvent::Info { content_type, body, .. }
                    if content_type == "application/dtmf-relay" && String::from_utf8_lossy(body).contains(want))
            })
        };
        assert!(h.run_until(secs(5), |h| got(h, B, "Signal=5") && got(h, A, "Signal=#")));
        h.command(
            A,
            UaCommand::Hangup {
                leg: a_leg,
                headers: vec![],
            },
        );
        assert!(h.run_until(secs(40), |h| h.has(A, is_terminated)
            && h.has(B, is_terminated)));
        h.run_to_idle(secs(100));
        h.assert_idle();
    }
}
