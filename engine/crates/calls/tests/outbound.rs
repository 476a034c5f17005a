//! Outbound calls: `callSIP` targets, resolving, the INVITE we send, and
//! the responses that come back.

mod harness;

use std::net::SocketAddr;

use dialtone_calls::{Fact, Job, JobResult, MediaCommand};
use dialtone_core::messages::{OutboundCall, SessionCommand};
use dialtone_core::CallId;
use dialtone_sip::{UaCommand, UaEvent, OUTBOUND_LEGS};
use harness::*;

#[test]
fn call_sip_to_an_address_dials_at_once_with_our_offer() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, out) = h.call_sip(session, "sip:bob@192.0.2.20:5062;transport=tcp");
    let Some(UaCommand::Dial {
        leg,
        target,
        request_uri,
        from_uri,
        from_display,
        headers,
        body,
        auth,
        ..
    }) = ua_cmds(&out).into_iter().next()
    else {
        panic!("no Dial: {out:?}");
    };
    assert_eq!(leg, OUTBOUND_LEGS | call.0);
    assert_eq!(
        target.addr,
        "192.0.2.20:5062".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(target.transport, dialtone_sip::Transport::Tcp);
    assert_eq!(request_uri, "sip:bob@192.0.2.20:5062;transport=tcp");
    assert_eq!(from_uri, "sip:alice@127.0.0.1");
    assert_eq!(from_display.as_deref(), Some("Alice"));
    assert_eq!(headers, vec![("X-Trace".to_string(), "1".to_string())]);
    assert!(auth.is_none());
    let offer = String::from_utf8(body.expect("offer").data).unwrap();
    assert!(offer.contains("RTP/AVP 0 8 101"), "{offer}");
    let facts = facts(&out);
    assert!(facts.contains(&Fact::CallAttempt(dialtone_calls::Direction::Outbound)));
}

#[test]
fn a_host_name_is_resolved_by_a_job_first() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, out) = h.call_sip(session, "sip:bob@pbx.example.com:5070");
    assert!(ua_cmds(&out).is_empty());
    let jobs = jobs(&out);
    assert!(matches!(&jobs[0], Job::Resolve { host, port: 5070, .. } if host == "pbx.example.com"));
    let out = h.job(JobResult::Resolved {
        call,
        result: Ok("192.0.2.30:5070".parse().unwrap()),
    });
    assert!(matches!(
        &ua_cmds(&out)[0],
        UaCommand::Dial { target, .. } if target.addr.port() == 5070
    ));
}

#[test]
fn a_name_that_does_not_resolve_fails_with_404() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, _) = h.call_sip(session, "sip:bob@nowhere.invalid");
    let out = h.job(JobResult::Resolved {
        call,
        result: Err("nowhere.invalid: no address".into()),
    });
    assert_eq!(
        call_events(&out, call),
        [
            "Failed 404 nowhere.invalid: no address",
            "StateChanged PROGRESSING->TERMINATED"
        ]
    );
    assert_clean(&h);
}

#[test]
fn a_literal_address_the_egress_policy_denies_fails_with_403_before_anything_is_sent() {
    let mut h = Harness::default();
    let session = h.session();
    let denied: SocketAddr = "169.254.169.254:5060".parse().unwrap();
    let why = "169.254.169.254:5060 is link-local (169.254.0.0/16)";
    h.knobs().egress_denied.push((denied, why.into()));
    let (call, out) = h.call_sip(session, "sip:bob@169.254.169.254");
    assert_eq!(
        call_events(&out, call),
        [
            format!("Failed 403 Forbidden (egress policy): {why}").as_str(),
            "StateChanged PROGRESSING->TERMINATED"
        ]
    );
    assert!(ua_cmds(&out).is_empty(), "no INVITE: {out:?}");
    assert!(h.knobs().bound.is_empty(), "no RTP port taken");
    assert_eq!(h.knobs().egress_asked, [denied]);
    assert_clean(&h);

    // `localhost` is checked as the address it stands for.
    let own: SocketAddr = "127.0.0.1:5060".parse().unwrap();
    h.knobs().egress_denied.push((
        own,
        "127.0.0.1:5060 is one of Dialtone's own listeners".into(),
    ));
    let (call, out) = h.call_sip(session, "sip:loop@localhost");
    assert!(call_events(&out, call)[0].starts_with("Failed 403 Forbidden (egress policy)"));
    assert!(ua_cmds(&out).is_empty());
    assert_clean(&h);
}

#[test]
fn a_name_resolving_to_a_denied_address_fails_with_403_after_resolution() {
    let mut h = Harness::default();
    let session = h.session();
    let resolved: SocketAddr = "10.0.0.7:5070".parse().unwrap();
    h.knobs()
        .egress_denied
        .push((resolved, "10.0.0.7:5070 is private (10.0.0.0/8)".into()));
    let (call, out) = h.call_sip(session, "sip:bob@pbx.internal.example:5070");
    assert!(ua_cmds(&out).is_empty());
    assert!(
        h.knobs().egress_asked.is_empty(),
        "a name is checked once it has an address"
    );
    assert_eq!(jobs(&out).len(), 1);
    let out = h.job(JobResult::Resolved {
        call,
        result: Ok(resolved),
    });
    assert_eq!(
        call_events(&out, call),
        [
            "Failed 403 Forbidden (egress policy): 10.0.0.7:5070 is private (10.0.0.0/8)",
            "StateChanged PROGRESSING->TERMINATED"
        ]
    );
    assert!(ua_cmds(&out).is_empty());
    assert_clean(&h);
    // An allowed address dials as before.
    let (call, _) = h.call_sip(session, "sip:bob@pbx.example.com:5070");
    let out = h.job(JobResult::Resolved {
        call,
        result: Ok("192.0.2.30:5070".parse().unwrap()),
    });
    assert!(matches!(&ua_cmds(&out)[0], UaCommand::Dial { .. }));
}

#[test]
fn a_target_that_is_not_a_sip_uri_fails_with_404_at_once() {
    let mut h = Harness::default();
    let session = h.session();
    for to in ["tel:+15550100", "sip:", "sip:bob@host;transport=sctp"] {
        let (call, out) = h.call_sip(session, to);
        let events = call_events(&out, call);
        assert!(events[0].starts_with("Failed 404"), "{to}: {events:?}");
    }
    assert_clean(&h);
}

#[test]
fn a_late_resolution_for_a_hung_up_call_is_ignored() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, _) = h.call_sip(session, "sip:bob@pbx.example.com");
    let out = h.cmd(
        session,
        SessionCommand::Hangup {
            call,
            headers: Vec::new(),
        },
    );
    assert_eq!(call_events(&out, call)[0], "Failed 487 Request Terminated");
    let out = h.job(JobResult::Resolved {
        call,
        result: Ok("192.0.2.30:5060".parse().unwrap()),
    });
    assert!(out.is_empty());
}

#[test]
fn a_password_makes_digest_credentials_with_the_caller_id_as_user() {
    let mut h = Harness::default();
    let session = h.session();
    let call = CallId::next();
    let out = h.cmd(
        session,
        SessionCommand::CallSip(Box::new(OutboundCall {
            call,
            to: "sip:trunk@192.0.2.40".into(),
            callerid: Some("1000".into()),
            display_name: None,
            headers: Vec::new(),
            auth_user: None,
            password: Some("secret".into()),
        })),
    );
    assert!(matches!(
        &ua_cmds(&out)[0],
        UaCommand::Dial { auth: Some((user, pass)), .. } if user == "1000" && pass == "secret"
    ));
}

#[test]
fn a_caller_id_that_is_not_a_uri_user_is_cleaned() {
    let mut h = Harness::default();
    let session = h.session();
    let call = CallId::next();
    let out = h.cmd(
        session,
        SessionCommand::CallSip(Box::new(OutboundCall {
            call,
            to: "sip:x@192.0.2.40".into(),
            callerid: Some("<sip:evil>@\r\n".into()),
            display_name: None,
            headers: Vec::new(),
            auth_user: None,
            password: None,
        })),
    );
    assert!(matches!(
        &ua_cmds(&out)[0],
        UaCommand::Dial { from_uri, .. } if from_uri == "sip:sipevil@127.0.0.1"
    ));
}

#[test]
fn a_call_id_already_in_use_is_refused() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, _) = h.call_sip(session, "sip:bob@192.0.2.20");
    let out = h.cmd(
        session,
        SessionCommand::CallSip(Box::new(OutboundCall {
            call,
            to: "sip:carol@192.0.2.21".into(),
            callerid: None,
            display_name: None,
            headers: Vec::new(),
            auth_user: None,
            password: None,
        })),
    );
    assert!(out.is_empty());
    assert_eq!(h.core.live_calls(), 1);
}

#[test]
fn call_sip_from_a_session_that_is_gone_does_nothing() {
    let mut h = Harness::default();
    let session = h.session();
    h.end_session(session, dialtone_core::messages::SessionEnd::Normal);
    let (_, out) = h.call_sip(session, "sip:bob@192.0.2.20");
    assert!(out.is_empty());
}

#[test]
fn ringing_is_reported_for_180_to_183_only() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, leg, _) = h.dialing(session);
    for (code, ringing) in [
        (100, false),
        (180, true),
        (181, true),
        (182, true),
        (199, false),
    ] {
        let out = h.ua(UaEvent::Provisional {
            leg,
            code,
            reason: String::new(),
            body: None,
            headers: vec![("X-Ring".into(), "y".into())],
        });
        assert_eq!(call_events(&out, call) == ["Ringing"], ringing, "{code}");
    }
}

#[test]
fn a_183_with_sdp_starts_early_media() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, leg, offer) = h.dialing(session);
    let out = h.ua(UaEvent::Provisional {
        leg,
        code: 183,
        reason: "Session Progress".into(),
        body: Some(answer_to(&offer)),
        headers: Vec::new(),
    });
    assert_eq!(call_events(&out, call), ["Ringing", "AudioStarted"]);
    assert!(matches!(
        media_cmds(&out)[0],
        MediaCommand::SetRemote { .. }
    ));
    // The 200 without SDP keeps the early answer; AudioStarted is not repeated.
    let out = h.ua(UaEvent::Answered {
        leg,
        body: None,
        headers: Vec::new(),
    });
    assert_eq!(
        call_events(&out, call),
        ["Connected", "StateChanged PROGRESSING->CONNECTED"]
    );
}

#[test]
fn an_answer_connects_after_audio_started() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, leg, offer) = h.dialing(session);
    let out = h.ua(UaEvent::Answered {
        leg,
        body: Some(answer_to(&offer)),
        headers: vec![
            ("X-Answered".into(), "1".into()),
            ("Via".into(), "x".into()),
        ],
    });
    assert_eq!(
        call_events(&out, call),
        [
            "AudioStarted",
            "Connected",
            "StateChanged PROGRESSING->CONNECTED"
        ]
    );
    assert!(facts(&out).contains(&Fact::CallAnswered { call }));
}

#[test]
fn an_answer_without_usable_sdp_is_hung_up() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, leg, _) = h.dialing(session);
    let out = h.ua(UaEvent::Answered {
        leg,
        body: Some(g722_offer()),
        headers: Vec::new(),
    });
    assert_eq!(ua_names(&out), ["Hangup"]);
    assert!(call_events(&out, call).is_empty());
    let (call, leg, _) = h.dialing(session);
    let out = h.ua(UaEvent::Answered {
        leg,
        body: None,
        headers: Vec::new(),
    });
    assert_eq!(ua_names(&out), ["Hangup"]);
    assert!(call_events(&out, call).is_empty());
}

#[test]
fn a_failure_reaches_the_script_with_the_peers_code_and_reason() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, leg, _) = h.dialing(session);
    let out = h.ua(UaEvent::Failed {
        leg,
        code: 486,
        reason: "Busy Here".into(),
        headers: vec![("X-Why".into(), "busy".into())],
    });
    assert_eq!(
        call_events(&out, call),
        [
            "Failed 486 Busy Here",
            "StateChanged PROGRESSING->TERMINATED"
        ]
    );
    assert!(facts(&out).iter().any(|f| matches!(
        f,
        Fact::CallEnded {
            code: Some(486),
            connected: false,
            ..
        }
    )));
    assert!(media_cmds(&out)
        .iter()
        .any(|c| matches!(c, MediaCommand::Release(u) if u.0 == call.0)));
    assert_clean(&h);
}

#[test]
fn no_rtp_port_fails_the_call_with_503() {
    let mut h = Harness::default();
    let session = h.session();
    h.knobs().no_ports = Some("exhausted".into());
    let (call, out) = h.call_sip(session, "sip:bob@192.0.2.20");
    assert_eq!(call_events(&out, call)[0], "Failed 503 No Media Port");
    assert!(ua_cmds(&out).is_empty());
}

#[test]
fn responses_on_a_leg_nobody_knows_are_ignored() {
    let mut h = Harness::default();
    for event in [
        UaEvent::Answered {
            leg: 999,
            body: None,
            headers: Vec::new(),
        },
        UaEvent::Failed {
            leg: 999,
            code: 500,
            reason: String::new(),
            headers: Vec::new(),
        },
        UaEvent::Provisional {
            leg: 999,
            code: 180,
            reason: String::new(),
            body: None,
            headers: Vec::new(),
        },
    ] {
        assert!(h.ua(event).is_empty());
    }
}
