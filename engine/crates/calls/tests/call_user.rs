//! `callUser`: every binding of the user rings, the first answer takes the
//! call and the rest are cancelled; the call fails only when every fork
//! has, with the most telling code.

mod harness;

use std::time::Duration;

use dialtone_calls::UserKey;
use dialtone_core::messages::{OutboundCall, SessionCommand, SessionEnd};
use dialtone_core::{CallId, SessionId};
use dialtone_sip::{LegId, Peer, Transport, UaCommand, UaEvent};
use harness::*;

fn bind(h: &mut Harness, user: &str, phones: usize) {
    let key = UserKey {
        account: String::new(),
        application: String::new(),
        user: user.into(),
    };
    for i in 0..phones {
        let source = Peer {
            transport: Transport::Udp,
            addr: format!("10.0.0.{}:5060", i + 1).parse().unwrap(),
        };
        let now = h.now;
        h.core.bind(
            now,
            &key,
            &format!("sip:{user}@10.0.0.{}", i + 1),
            source,
            Duration::from_secs(3600),
        );
        h.now += Duration::from_millis(1);
    }
}

fn call_user(h: &mut Harness, session: SessionId, user: &str) -> (CallId, Vec<LegId>) {
    let call = CallId::next();
    let out = h.cmd(
        session,
        SessionCommand::CallUser(Box::new(OutboundCall {
            call,
            to: user.into(),
            callerid: Some("100".into()),
            display_name: None,
            headers: vec![],
            auth_user: None,
            password: None,
        })),
    );
    let legs: Vec<LegId> = ua_cmds(&out)
        .into_iter()
        .filter_map(|c| match c {
            UaCommand::Dial {
                leg,
                target,
                request_uri,
                to_uri,
                ..
            } => {
                assert!(target.addr.to_string().starts_with("10.0.0."), "{target:?}");
                assert!(request_uri.starts_with(&format!("sip:{user}@10.0.0.")));
                assert_eq!(
                    to_uri, request_uri,
                    "bound directly: the contact is the AOR"
                );
                Some(leg)
            }
            _ => None,
        })
        .collect();
    (call, legs)
}

fn answered(leg: LegId, body: &dialtone_sip::Body) -> UaEvent {
    UaEvent::Answered {
        leg,
        body: Some(answer_to(body)),
        headers: Vec::new(),
    }
}

fn failed(leg: LegId, code: u16) -> UaEvent {
    UaEvent::Failed {
        leg,
        code,
        reason: dialtone_sip::reason_phrase(code).into(),
        headers: Vec::new(),
    }
}

fn offer_of(
    h: &mut Harness,
    session: SessionId,
    user: &str,
) -> (CallId, Vec<LegId>, dialtone_sip::Body) {
    let call = CallId::next();
    let out = h.cmd(
        session,
        SessionCommand::CallUser(Box::new(OutboundCall {
            call,
            to: user.into(),
            callerid: None,
            display_name: None,
            headers: vec![],
            auth_user: None,
            password: None,
        })),
    );
    let mut legs = Vec::new();
    let mut body = None;
    for c in ua_cmds(&out) {
        if let UaCommand::Dial { leg, body: b, .. } = c {
            legs.push(leg);
            body = b;
        }
    }
    (call, legs, body.expect("an offer"))
}

#[test]
fn every_phone_rings_and_the_first_answer_takes_the_call() {
    let mut h = Harness::default();
    bind(&mut h, "alice", 3);
    let session = h.session();
    let (call, legs, offer) = offer_of(&mut h, session, "alice");
    assert_eq!(legs.len(), 3);
    let out = h.ua(UaEvent::Provisional {
        leg: legs[2],
        code: 180,
        reason: "Ringing".into(),
        body: None,
        headers: vec![],
    });
    assert_eq!(call_events(&out, call), ["Ringing"]);
    let out = h.ua(answered(legs[1], &offer));
    assert!(call_events(&out, call).contains(&"Connected".to_string()));
    // The two others are cancelled, with the reason.
    let hangups: Vec<LegId> = ua_cmds(&out)
        .into_iter()
        .filter_map(|c| match c {
            UaCommand::Hangup { leg, headers } => {
                assert!(headers
                    .iter()
                    .any(|(n, v)| n == "Reason" && v.contains("cause=200")));
                Some(leg)
            }
            _ => None,
        })
        .collect();
    let mut expected = vec![legs[0], legs[2]];
    expected.sort();
    let mut got = hangups.clone();
    got.sort();
    assert_eq!(got, expected);
    // What the losers report later reaches nobody.
    let out = h.ua(failed(legs[0], 487));
    assert!(call_events(&out, call).is_empty());
    let out = h.ua(answered(legs[2], &offer));
    assert!(call_events(&out, call).is_empty());
    // The winner is the call's leg: hanging up ends it there.
    let out = h.cmd(
        session,
        SessionCommand::Hangup {
            call,
            headers: vec![],
        },
    );
    assert!(matches!(&ua_cmds(&out)[..], [UaCommand::Hangup { leg, .. }] if *leg == legs[1]));
    let out = h.ua(UaEvent::Terminated {
        leg: legs[1],
        by_remote: false,
        code: 200,
        reason: "OK".into(),
        headers: vec![],
    });
    assert!(call_events(&out, call)
        .iter()
        .any(|e| e.starts_with("Disconnected")));
    assert_clean(&h);
}

#[test]
fn the_call_fails_when_every_phone_has_with_the_most_telling_code() {
    let mut h = Harness::default();
    bind(&mut h, "alice", 3);
    let session = h.session();
    let (call, legs) = call_user(&mut h, session, "alice");
    assert!(call_events(&h.ua(failed(legs[0], 480)), call).is_empty());
    assert!(call_events(&h.ua(failed(legs[1], 486)), call).is_empty());
    let out = h.ua(failed(legs[2], 408));
    assert_eq!(call_events(&out, call)[0], "Failed 486 Busy Here");
    assert_clean(&h);
}

#[test]
fn a_user_without_phones_fails_at_once_and_hangup_cancels_every_fork() {
    let mut h = Harness::default();
    let session = h.session();
    let call = CallId::next();
    let out = h.cmd(
        session,
        SessionCommand::CallUser(Box::new(OutboundCall {
            call,
            to: "nobody".into(),
            callerid: None,
            display_name: None,
            headers: vec![],
            auth_user: None,
            password: None,
        })),
    );
    assert!(ua_cmds(&out).is_empty());
    assert_eq!(call_events(&out, call)[0], "Failed 480 User Not Registered");

    bind(&mut h, "bob", 2);
    let (call, legs) = call_user(&mut h, session, "bob");
    let out = h.cmd(
        session,
        SessionCommand::Hangup {
            call,
            headers: vec![],
        },
    );
    let mut hung: Vec<LegId> = ua_cmds(&out)
        .into_iter()
        .filter_map(|c| match c {
            UaCommand::Hangup { leg, .. } => Some(leg),
            _ => None,
        })
        .collect();
    hung.sort();
    let mut want = legs.clone();
    want.sort();
    assert_eq!(hung, want);
    let out = h.ua(failed(legs[0], 487));
    assert_eq!(call_events(&out, call)[0], "Failed 487 Request Terminated");
    // The session ending while a forked call rings ends every fork.
    let (_, legs) = call_user(&mut h, session, "bob");
    let out = h.end_session(session, SessionEnd::Normal);
    let hung = ua_cmds(&out)
        .into_iter()
        .filter(|c| matches!(c, UaCommand::Hangup { leg, .. } if legs.contains(leg)))
        .count();
    assert_eq!(hung, 2);
}
