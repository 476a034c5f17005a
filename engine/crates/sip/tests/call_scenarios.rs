//! Call scenarios between two user-agent cores: CANCEL, rejection, races,
//! missing ACKs, in-dialog requests, and table hygiene over many calls.

mod common;

use common::*;
use dialtone_sip::{SipMessage, Transport, UaCommand, UaEvent};

#[test]
fn cancel_before_answer() {
    for transport in [Transport::Udp, Transport::Tcp] {
        let mut h = Harness::new(transport, NetConfig::clean(), 4);
        let a_leg = h.dial(Some(sdp("offer")));
        assert!(h.run_until(secs(5), |h| h.incoming_leg(B).is_some()));
        let b_leg = h.incoming_leg(B).unwrap();
        h.command(
            B,
            UaCommand::Provisional {
                leg: b_leg,
                code: 183,
                body: Some(sdp("early")),
                headers: vec![],
            },
        );
        h.run_for(ms(100));
        h.command(
            A,
            UaCommand::Hangup {
                leg: a_leg,
                headers: vec![],
            },
        );
        assert!(h.run_until(secs(5), |h| h.has(A, |e| is_failed(e, 487))));
        assert!(h.has(B, |e| *e == UaEvent::Cancelled { leg: b_leg }));
        assert!(h.has(A, |e| matches!(
            e,
            UaEvent::Provisional { code: 183, body: Some(b), .. } if *b == sdp("early")
        )));
        assert_eq!(h.sent(A, "CANCEL").len(), 1);
        assert_eq!(h.sent(B, "SIP/2.0 487").len(), 1);
        // The ACK for the 487 is absorbed by B's transaction.
        assert_eq!(h.sent(A, "ACK").len(), 1);
        let after_ack: Vec<_> = h
            .log
            .iter()
            .skip_while(|s| !s.is("ACK"))
            .filter(|s| s.from == B)
            .collect();
        assert!(after_ack.is_empty(), "B answered the ACK: {after_ack:?}");
        h.run_to_idle(secs(100));
        h.assert_idle();
        // The call layer's late commands for the cancelled leg are ignored.
        h.command(
            B,
            UaCommand::Answer {
                leg: b_leg,
                body: None,
                headers: vec![],
            },
        );
        assert_eq!(h.sides[B].ua.poll_output().map(|_| ()), None);
    }
}

#[test]
fn reject_busy() {
    let mut h = Harness::new(Transport::Udp, NetConfig::clean(), 5);
    let a_leg = h.dial(Some(sdp("offer")));
    assert!(h.run_until(secs(5), |h| h.incoming_leg(B).is_some()));
    let b_leg = h.incoming_leg(B).unwrap();
    h.command(
        B,
        UaCommand::Reject {
            leg: b_leg,
            code: 486,
            reason: None,
            headers: vec![("X-Why".into(), "busy".into())],
        },
    );
    assert!(h.run_until(secs(5), |h| h.has(A, |e| is_failed(e, 486))));
    let failed = h.events(A).find(|e| is_failed(e, 486)).unwrap().clone();
    let UaEvent::Failed {
        leg,
        reason,
        headers,
        ..
    } = failed
    else {
        unreachable!()
    };
    assert_eq!(leg, a_leg);
    assert_eq!(reason, "Busy Here");
    assert!(headers.contains(&("X-Why".into(), "busy".into())));
    assert_eq!(h.sides[B].ua.leg_count(), 0);
    h.run_to_idle(secs(100));
    // 486 once, no Timer G retransmission: the ACK arrived.
    assert_eq!(h.sent(B, "SIP/2.0 486").len(), 1);
    assert_eq!(h.sent(A, "ACK").len(), 1);
    h.assert_idle();
}

#[test]
fn answer_and_cancel_cross() {
    let mut h = Harness::new(Transport::Udp, NetConfig::clean(), 6);
    let a_leg = h.dial(Some(sdp("offer")));
    assert!(h.run_until(secs(5), |h| h.incoming_leg(B).is_some()));
    h.run_for(ms(50)); // 100 Trying reaches A: CANCEL is allowed now.
    let b_leg = h.incoming_leg(B).unwrap();
    // Both act before either message arrives.
    h.command(
        B,
        UaCommand::Answer {
            leg: b_leg,
            body: Some(sdp("answer")),
            headers: vec![],
        },
    );
    h.command(
        A,
        UaCommand::Hangup {
            leg: a_leg,
            headers: vec![],
        },
    );
    assert!(h.run_until(secs(10), |h| h.has(A, is_terminated)
        && h.has(B, is_terminated)));
    assert!(
        !h.has(A, is_answered),
        "2xx after CANCEL must not report Answered"
    );
    assert!(!h.has(B, |e| matches!(e, UaEvent::Cancelled { .. })));
    assert!(h.has(B, |e| matches!(
        e,
        UaEvent::Terminated {
            by_remote: true,
            ..
        }
    )));
    assert_eq!(h.sent(A, "CANCEL").len(), 1);
    assert!(h.sent(B, "SIP/2.0 487").is_empty());
    // The 200 to the CANCEL, the 200 to the INVITE and the 200 to the BYE.
    assert_eq!(h.sent(B, "SIP/2.0 200").len(), 3);
    assert_eq!(h.sent(A, "ACK").len(), 1);
    assert_eq!(h.sent(A, "BYE").len(), 1);
    h.run_to_idle(secs(100));
    h.assert_idle();
}

#[test]
fn missing_ack_ends_the_call_after_64_t1() {
    let mut h = Harness::new(Transport::Udp, NetConfig::clean(), 7);
    h.drop_filter = Some(Box::new(|from, data| from == A && data.starts_with(b"ACK")));
    let a_leg = h.dial(Some(sdp("offer")));
    assert!(h.run_until(secs(5), |h| h.incoming_leg(B).is_some()));
    let b_leg = h.incoming_leg(B).unwrap();
    let answered_at = h.elapsed();
    h.command(
        B,
        UaCommand::Answer {
            leg: b_leg,
            body: Some(sdp("answer")),
            headers: vec![],
        },
    );
    assert!(h.run_until(secs(40), |h| h.has(B, is_terminated)));
    let event = h.events(B).find(|e| is_terminated(e)).unwrap().clone();
    assert_eq!(
        event,
        UaEvent::Terminated {
            leg: b_leg,
            by_remote: false,
            code: 408,
            reason: "ACK timeout".into(),
            headers: vec![]
        }
    );
    assert_eq!(h.sides[B].events.last().unwrap().0 - answered_at, secs(32));
    // 2xx retransmitted at T1, doubling to T2, until Timer L.
    let oks: Vec<_> = h
        .sent(B, "SIP/2.0 200")
        .iter()
        .map(|s| s.at - answered_at)
        .collect();
    let expected: Vec<_> = [
        0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]
    .into_iter()
    .map(ms)
    .collect();
    assert_eq!(oks, expected);
    // Every retransmission was answered with an ACK (all dropped), and A saw one
    // Answered only.
    assert_eq!(h.sent(A, "ACK").len(), expected.len());
    assert_eq!(h.count(A, is_answered), 1);
    assert!(h.run_until(secs(5), |h| h.has(A, is_terminated)));
    assert!(h.has(
        A,
        |e| matches!(e, UaEvent::Terminated { leg, by_remote: true, .. } if *leg == a_leg)
    ));
    h.run_to_idle(secs(100));
    h.assert_idle();
}

#[test]
fn callee_hangs_up_and_bye_is_retransmitted_until_answered() {
    let mut h = Harness::new(Transport::Udp, NetConfig::clean(), 8);
    // The first two BYEs from B are lost.
    let mut lost = 0;
    h.drop_filter = Some(Box::new(move |from, data| {
        if from == B && data.starts_with(b"BYE") && lost < 2 {
            lost += 1;
            return true;
        }
        false
    }));
    let a_leg = h.dial(None);
    assert!(h.run_until(secs(5), |h| h.incoming_leg(B).is_some()));
    let b_leg = h.incoming_leg(B).unwrap();
    h.command(
        B,
        UaCommand::Answer {
            leg: b_leg,
            body: Some(sdp("late-offer")),
            headers: vec![],
        },
    );
    assert!(h.run_until(secs(5), |h| h.has(B, is_acked)));
    h.command(
        B,
        UaCommand::Hangup {
            leg: b_leg,
            headers: vec![],
        },
    );
    assert!(h.run_until(secs(10), |h| h.has(B, is_terminated)));
    let byes: Vec<_> = h.sent(B, "BYE").iter().map(|s| s.at).collect();
    assert_eq!(byes.len(), 3);
    assert_eq!(byes[1] - byes[0], ms(500));
    assert_eq!(byes[2] - byes[1], ms(1000));
    assert!(h.has(
        A,
        |e| matches!(e, UaEvent::Terminated { leg, by_remote: true, .. } if *leg == a_leg)
    ));
    // BYE goes to where the INVITE came from and carries our dialog identifiers.
    let bye = h.sent(B, "BYE")[0].msg();
    let invite = h.sent(A, "INVITE")[0].msg();
    assert_eq!(bye.call_id().unwrap(), invite.call_id().unwrap());
    assert_eq!(bye.to_tag(), invite.from_tag());
    assert_eq!(bye.request_uri(), Some("sip:dialtone@127.0.0.1:5060"));
    h.run_to_idle(secs(100));
    h.assert_idle();
}

#[test]
fn info_and_reinvite_in_dialog() {
    let mut h = Harness::new(Transport::Udp, NetConfig::clean(), 9);
    let a_leg = h.dial(Some(sdp("offer")));
    assert!(h.run_until(secs(5), |h| h.incoming_leg(B).is_some()));
    let b_leg = h.incoming_leg(B).unwrap();
    h.command(
        B,
        UaCommand::Answer {
            leg: b_leg,
            body: Some(sdp("answer")),
            headers: vec![],
        },
    );
    assert!(h.run_until(secs(5), |h| h.has(B, is_acked)));

    // A re-INVITE from B, built by hand in B's dialog: use A's side as the
    // receiver of a crafted request. Easiest: take B's 200 and A's INVITE to
    // know the dialog identifiers.
    let invite = h.sent(A, "INVITE")[0].msg();
    let ok = h.sent(B, "SIP/2.0 200")[0].msg();
    let reinvite = format!(
        "INVITE sip:dialtone@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKreinv1;rport\r\n\
Max-Forwards: 70\r\n\
From: {}\r\n\
To: {}\r\n\
Call-ID: {}\r\n\
CSeq: 2 INVITE\r\n\
Contact: <sip:bob@127.0.0.1:5070>\r\n\
Content-Type: application/sdp\r\n\r\nv=0\r\n",
        ok.headers.get("To").unwrap(),
        invite.headers.get("From").unwrap(),
        invite.call_id().unwrap(),
    );
    let now = h.now;
    let from = h.peer_of(B);
    h.sides[A].ua.handle_input(now, from, reinvite.as_bytes());
    let mut replies = Vec::new();
    let mut events = Vec::new();
    while let Some(out) = h.sides[A].ua.poll_output() {
        match out {
            dialtone_sip::UaOutput::Transmit { data, .. } => {
                replies.push(SipMessage::parse(&data).unwrap())
            }
            dialtone_sip::UaOutput::Event(e) => events.push(e),
        }
    }
    assert_eq!(replies[0].code(), Some(100));
    let expected_body = Some(dialtone_sip::Body {
        content_type: "application/sdp".into(),
        data: b"v=0\r\n".to_vec(),
    });
    assert!(
        matches!(&events[..], [UaEvent::ReInvite { leg, body, .. }] if *leg == a_leg && *body == expected_body),
        "{events:?}"
    );
    h.sides[A].ua.handle_command(
        now,
        UaCommand::AnswerReInvite {
            leg: a_leg,
            code: 200,
            body: Some(sdp("re-answer")),
            headers: Vec::new(),
        },
    );
    let ok2 = match h.sides[A].ua.poll_output() {
        Some(dialtone_sip::UaOutput::Transmit { data, .. }) => SipMessage::parse(&data).unwrap(),
        other => panic!("expected 200, got {other:?}"),
    };
    assert_eq!(ok2.code(), Some(200));
    assert_eq!(ok2.headers.get("CSeq"), Some("2 INVITE"));
    assert_eq!(ok2.body, sdp("re-answer").data);
    // Without its ACK the 2xx is retransmitted...
    h.sides[A].ua.handle_timeout(now + ms(500));
    assert!(matches!(
        h.sides[A].ua.poll_output(),
        Some(dialtone_sip::UaOutput::Transmit { .. })
    ));
    // ... and the ACK stops it.
    let ack = format!(
        "ACK sip:dialtone@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKreack1\r\n\
From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 2 ACK\r\n\r\n",
        ok.headers.get("To").unwrap(),
        invite.headers.get("From").unwrap(),
        invite.call_id().unwrap(),
    );
    h.sides[A]
        .ua
        .handle_input(now + ms(600), from, ack.as_bytes());
    h.sides[A].ua.handle_timeout(now + ms(1500));
    assert!(h.sides[A].ua.poll_output().is_none());
    h.now = now + ms(1500);

    // INFO from B to A through the crafted path too.
    let info = format!(
        "INFO sip:dialtone@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKinfo1\r\n\
From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 3 INFO\r\n\
Content-Type: application/dtmf-relay\r\n\r\nSignal=5\r\nDuration=160\r\n",
        ok.headers.get("To").unwrap(),
        invite.headers.get("From").unwrap(),
        invite.call_id().unwrap(),
    );
    h.sides[A].ua.handle_input(h.now, from, info.as_bytes());
    let out: Vec<_> = std::iter::from_fn(|| h.sides[A].ua.poll_output()).collect();
    assert!(
        matches!(&out[0], dialtone_sip::UaOutput::Transmit { data, .. } if data.starts_with(b"SIP/2.0 200 OK"))
    );
    assert!(matches!(
        &out[1],
        dialtone_sip::UaOutput::Event(UaEvent::Info { leg, content_type, body, .. })
            if *leg == a_leg && content_type == "application/dtmf-relay" && body == b"Signal=5\r\nDuration=160\r\n"
    ));
    // An older CSeq is out of order.
    let stale = info.replace("3 INFO", "1 INFO").replace("info1", "info0");
    h.sides[A].ua.handle_input(h.now, from, stale.as_bytes());
    let out: Vec<_> = std::iter::from_fn(|| h.sides[A].ua.poll_output()).collect();
    assert!(
        matches!(&out[..], [dialtone_sip::UaOutput::Transmit { data, .. }] if data.starts_with(b"SIP/2.0 500"))
    );

    h.command(
        A,
        UaCommand::Hangup {
            leg: a_leg,
            headers: vec![],
        },
    );
    assert!(h.run_until(secs(5), |h| h.has(A, is_terminated)
        && h.has(B, is_terminated)));
    // A's BYE uses the CSeq after the INVITE's (its own sequence).
    assert_eq!(h.sent(A, "BYE")[0].msg().headers.get("CSeq"), Some("2 BYE"));
    h.run_to_idle(secs(100));
    h.assert_idle();
}

#[test]
fn thousand_calls_leave_nothing_behind() {
    let mut h = Harness::new(Transport::Udp, NetConfig::clean(), 10);
    let mut finished = 0;
    for batch in 0..100 {
        let mut a_legs = Vec::new();
        for _ in 0..10 {
            a_legs.push(h.dial(Some(sdp("offer"))));
        }
        h.run_for(ms(50));
        let b_legs: Vec<_> = h.sides[B]
            .events
            .drain(..)
            .filter_map(|(_, e)| match e {
                UaEvent::Incoming { leg, .. } => Some(leg),
                _ => None,
            })
            .collect();
        assert_eq!(b_legs.len(), 10, "batch {batch}");
        for (i, leg) in b_legs.iter().enumerate() {
            let cmd = if i % 3 == 2 {
                UaCommand::Reject {
                    leg: *leg,
                    code: 486,
                    reason: None,
                    headers: vec![],
                }
            } else {
                UaCommand::Answer {
                    leg: *leg,
                    body: Some(sdp("answer")),
                    headers: vec![],
                }
            };
            h.command(B, cmd);
        }
        h.run_for(ms(100));
        for (i, leg) in a_legs.iter().enumerate() {
            let side = if i % 2 == 0 { A } else { B };
            if i % 3 == 2 {
                continue;
            }
            let leg = if side == A { *leg } else { b_legs[i] };
            h.command(
                side,
                UaCommand::Hangup {
                    leg,
                    headers: vec![],
                },
            );
        }
        h.run_for(ms(100));
        let ended_a = h.sides[A]
            .events
            .drain(..)
            .filter(|(_, e)| matches!(e, UaEvent::Terminated { .. } | UaEvent::Failed { .. }))
            .count();
        assert_eq!(ended_a, 10, "batch {batch}");
        finished += ended_a;
        h.sides[B].events.clear();
    }
    assert_eq!(finished, 1000);
    h.run_to_idle(secs(100));
    h.assert_idle();
    for side in &h.sides {
        assert_eq!(side.ua.pending_timer_count(), 0);
        assert_eq!(side.ua.poll_timeout(), None);
    }
}
