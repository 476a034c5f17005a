//! Inbound calls: admission, the offer, routing, and what the script can do
//! to an unanswered call (answer, reject, ring, early media).

mod harness;

use dialtone_calls::{AdmissionError, Fact, Output, Overload, Route, RouteOwner};
use dialtone_core::messages::{SessionCommand, SessionEvent};
use dialtone_sip::{Body, UaCommand, UaEvent};
use harness::*;

fn answer(h: &mut Harness, inbound: Inbound) -> Vec<Output> {
    h.cmd(
        inbound.session,
        SessionCommand::Answer {
            call: inbound.call,
            headers: vec![("X-Ok".into(), "1".into()), ("Contact".into(), "x".into())],
        },
    )
}

fn refused_code(out: &[Output]) -> Option<u16> {
    ua_cmds(out).into_iter().find_map(|c| match c {
        UaCommand::Reject { code, .. } => Some(code),
        _ => None,
    })
}

#[test]
fn an_invite_starts_a_session_with_call_alerting() {
    let mut h = Harness::default();
    let (_, invite) = h.invite_event(Some(peer_offer()));
    let out = h.ua(invite);
    let start = starts(&out).pop().expect("started");
    assert_eq!(start.custom_data, "custom");
    assert!(start
        .access_url
        .starts_with(&format!("http://h/access/{}/", start.id)));
    let Some(SessionEvent::CallAlerting(incoming)) = start.first_event else {
        panic!("no CallAlerting");
    };
    assert_eq!(incoming.callerid, "alice");
    assert_eq!(incoming.destination, "100");
    assert_eq!(incoming.display_name, "Alice");
    // Only X- headers reach the script.
    assert_eq!(incoming.headers, vec![("X-Account".into(), "42".into())]);
    assert_eq!(h.core.live_calls(), 1);
    assert_eq!(h.core.live_sessions(), 1);
    // Nothing goes on the wire until the script decides.
    assert!(ua_cmds(&out).is_empty());
}

#[test]
fn history_hears_of_the_session_before_its_call() {
    let mut h = Harness::default();
    h.knobs().owner = Some(RouteOwner {
        account: "acme".into(),
        application: "app".into(),
        rule: Some("r".into()),
    });
    let (_, invite) = h.invite_event(Some(peer_offer()));
    let facts = facts(&h.ua(invite));
    assert!(matches!(facts[0], Fact::CallAttempt(_)));
    assert!(
        matches!(&facts[1], Fact::SessionStarted { owner: Some(o), .. } if o.account == "acme")
    );
    assert!(
        matches!(&facts[2], Fact::CallStarted { from, to, .. } if from == "alice" && to == "100")
    );
}

#[test]
fn a_shutting_down_engine_refuses_invites_with_503() {
    let mut h = Harness::default();
    h.core.terminate_all("shutdown");
    let (_, invite) = h.invite_event(Some(peer_offer()));
    let out = h.ua(invite);
    assert_eq!(refused_code(&out), Some(503));
    assert!(starts(&out).is_empty());
    assert!(facts(&out).contains(&Fact::InviteRefused { code: 503 }));
}

#[test]
fn an_overloaded_engine_refuses_invites_with_503_and_retry_after() {
    let mut h = Harness::default();
    h.knobs().overload = Some(Overload::Media);
    let (_, invite) = h.invite_event(Some(peer_offer()));
    let out = h.ua(invite);
    let reject = ua_cmds(&out).into_iter().find_map(|c| match c {
        UaCommand::Reject { code, headers, .. } => Some((code, headers)),
        _ => None,
    });
    let (code, headers) = reject.expect("refused");
    assert_eq!(code, 503);
    assert!(headers.iter().any(|(n, v)| n == "Retry-After" && v == "2"));
    assert!(starts(&out).is_empty());
    let refused = facts(&out);
    assert!(refused.contains(&Fact::SessionRefused(AdmissionError::Busy(Overload::Media))));
    // Calls already up are not touched; new ones are taken once it is over.
    h.knobs().overload = None;
    let (_, invite) = h.invite_event(Some(peer_offer()));
    assert_eq!(starts(&h.ua(invite)).len(), 1);
}

#[test]
fn congested_history_refuses_invites_with_503() {
    let mut h = Harness::default();
    h.knobs().congested = true;
    let (_, invite) = h.invite_event(Some(peer_offer()));
    assert_eq!(refused_code(&h.ua(invite)), Some(503));
    h.knobs().congested = false;
    let (_, invite) = h.invite_event(Some(peer_offer()));
    assert_eq!(starts(&h.ua(invite)).len(), 1);
}

#[test]
fn congestion_refuses_only_the_account_that_causes_it() {
    let mut h = Harness::default();
    let owner = |account: &str| RouteOwner {
        account: account.into(),
        application: "app".into(),
        rule: None,
    };
    h.knobs().congested_accounts = vec!["noisy".into()];
    h.knobs().owner = Some(owner("noisy"));
    let (_, invite) = h.invite_event(Some(peer_offer()));
    let out = h.ua(invite);
    assert_eq!(refused_code(&out), Some(503));
    assert!(starts(&out).is_empty());
    h.knobs().owner = Some(owner("quiet"));
    let (_, invite) = h.invite_event(Some(peer_offer()));
    assert_eq!(starts(&h.ua(invite)).len(), 1);
}

#[test]
fn the_session_limit_refuses_the_next_invite_until_one_ends() {
    let mut h = Harness::new(Some(1));
    let first = h.invite();
    let (_, invite) = h.invite_event(Some(peer_offer()));
    assert_eq!(refused_code(&h.ua(invite)), Some(503));
    h.end_session(first.session, dialtone_core::messages::SessionEnd::Normal);
    let (_, invite) = h.invite_event(Some(peer_offer()));
    assert_eq!(starts(&h.ua(invite)).len(), 1);
}

#[test]
fn a_body_that_is_not_sdp_gets_415() {
    let mut h = Harness::default();
    let body = Body {
        content_type: "text/plain".into(),
        data: b"hello".to_vec(),
    };
    let (_, invite) = h.invite_event(Some(body));
    assert_eq!(refused_code(&h.ua(invite)), Some(415));
}

#[test]
fn sdp_that_is_not_utf8_gets_400() {
    let mut h = Harness::default();
    let body = Body {
        content_type: "application/sdp".into(),
        data: vec![0xff, 0xfe],
    };
    let (_, invite) = h.invite_event(Some(body));
    assert_eq!(refused_code(&h.ua(invite)), Some(400));
}

#[test]
fn an_offer_with_no_common_codec_gets_488_before_any_session() {
    let mut h = Harness::default();
    let (_, invite) = h.invite_event(Some(g722_offer()));
    let out = h.ua(invite);
    assert_eq!(refused_code(&out), Some(488));
    assert_eq!(h.core.live_sessions(), 0);
}

#[test]
fn a_route_that_rejects_sends_its_code_and_reason() {
    let mut h = Harness::default();
    h.knobs().route = Some(Route::Reject {
        code: 404,
        reason: "No Route".into(),
    });
    let (_, invite) = h.invite_event(Some(peer_offer()));
    let out = h.ua(invite);
    assert!(matches!(
        &ua_cmds(&out)[0],
        UaCommand::Reject { code: 404, reason: Some(r), .. } if r == "No Route"
    ));
    assert_eq!(h.core.live_calls(), 0);
}

#[test]
fn answer_sends_200_with_our_answer_and_points_media() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = answer(&mut h, inbound);
    assert_eq!(ua_names(&out), ["Answer"]);
    let body = ua_body(&out).expect("an SDP answer");
    assert!(body.contains("m=audio 30002 RTP/AVP"), "{body}");
    assert!(body.contains("c=IN IP4 127.0.0.1"), "{body}");
    let UaCommand::Answer { headers, .. } = &ua_cmds(&out)[0] else {
        panic!("no answer");
    };
    // Only X- headers a script sets go out.
    assert_eq!(headers, &vec![("X-Ok".to_string(), "1".to_string())]);
    assert!(media_cmds(&out)
        .iter()
        .any(|c| matches!(c, dialtone_calls::MediaCommand::SetRemote { .. })));
    // Connected waits for the ACK.
    assert!(call_events(&out, inbound.call).is_empty());
}

#[test]
fn the_ack_connects_the_call_in_voxengine_order() {
    let mut h = Harness::default();
    let (inbound, _) = h.answering();
    let out = h.ua(UaEvent::Acked {
        leg: inbound.leg,
        body: None,
    });
    assert_eq!(
        call_events(&out, inbound.call),
        [
            "Connected",
            "StateChanged ALERTING->CONNECTED",
            "AudioStarted"
        ]
    );
    assert!(facts(&out).contains(&Fact::CallAnswered { call: inbound.call }));
}

#[test]
fn a_second_answer_is_ignored() {
    let mut h = Harness::default();
    let inbound = h.connected();
    assert!(answer(&mut h, inbound).is_empty());
}

#[test]
fn a_late_offer_goes_in_our_200_and_the_answer_comes_in_the_ack() {
    let mut h = Harness::default();
    let inbound = h.invite_with(None);
    let out = answer(&mut h, inbound);
    let offer = ua_body(&out).expect("our offer");
    assert!(offer.contains("a=sendrecv"));
    assert!(media_cmds(&out).is_empty(), "no remote yet");
    let answer_body = answer_to(&sdp(offer));
    let out = h.ua(UaEvent::Acked {
        leg: inbound.leg,
        body: Some(answer_body),
    });
    assert!(media_cmds(&out)
        .iter()
        .any(|c| matches!(c, dialtone_calls::MediaCommand::SetRemote { .. })));
    assert_eq!(call_events(&out, inbound.call)[0], "Connected");
}

#[test]
fn a_late_offer_ack_without_an_answer_hangs_up() {
    let mut h = Harness::default();
    let inbound = h.invite_with(None);
    answer(&mut h, inbound);
    let out = h.ua(UaEvent::Acked {
        leg: inbound.leg,
        body: None,
    });
    assert_eq!(ua_names(&out), ["Hangup"]);
    assert!(call_events(&out, inbound.call).is_empty());
    // The BYE's end is reported as the call's end.
    let out = h.ua(UaEvent::Terminated {
        leg: inbound.leg,
        by_remote: false,
        code: 200,
        reason: "OK".into(),
        headers: Vec::new(),
    });
    assert_eq!(call_events(&out, inbound.call)[0], "Disconnected 200 OK");
}

#[test]
fn no_rtp_port_answers_503_no_media_port() {
    let mut h = Harness::default();
    let inbound = h.invite();
    h.knobs().no_ports = Some("ports exhausted".into());
    let out = answer(&mut h, inbound);
    assert!(matches!(
        &ua_cmds(&out)[0],
        UaCommand::Reject { code: 503, reason: Some(r), .. } if r == "No Media Port"
    ));
    assert_eq!(
        call_events(&out, inbound.call),
        [
            "Disconnected 503 No Media Port",
            "StateChanged ALERTING->TERMINATED"
        ]
    );
    assert_clean(&h);
}

#[test]
fn reject_sends_the_code_and_the_wire_phrase_reaches_the_script() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = h.cmd(
        inbound.session,
        SessionCommand::Reject {
            call: inbound.call,
            code: 410,
            headers: Vec::new(),
        },
    );
    assert_eq!(ua_names(&out), ["Reject 410"]);
    // The same phrase the SIP stack writes for 410.
    assert_eq!(call_events(&out, inbound.call)[0], "Disconnected 410 Gone");
    assert_clean(&h);
}

#[test]
fn reject_with_a_code_that_is_not_final_sends_603() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = h.cmd(
        inbound.session,
        SessionCommand::Reject {
            call: inbound.call,
            code: 200,
            headers: Vec::new(),
        },
    );
    assert_eq!(ua_names(&out), ["Reject 603"]);
    assert_eq!(
        call_events(&out, inbound.call)[0],
        "Disconnected 603 Decline"
    );
}

#[test]
fn reject_after_answer_is_ignored() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = h.cmd(
        inbound.session,
        SessionCommand::Reject {
            call: inbound.call,
            code: 486,
            headers: Vec::new(),
        },
    );
    assert!(out.is_empty());
    assert_eq!(h.core.live_calls(), 1);
}

#[test]
fn ring_sends_180_only_before_an_answer() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let ring = SessionCommand::Ring {
        call: inbound.call,
        headers: Vec::new(),
    };
    assert_eq!(
        ua_names(&h.cmd(inbound.session, ring.clone())),
        ["Provisional 180"]
    );
    answer(&mut h, inbound);
    assert!(h.cmd(inbound.session, ring).is_empty());
}

#[test]
fn early_media_sends_183_with_our_answer() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = h.cmd(
        inbound.session,
        SessionCommand::StartEarlyMedia {
            call: inbound.call,
            headers: Vec::new(),
        },
    );
    assert_eq!(ua_names(&out), ["Provisional 183"]);
    let early = ua_body(&out).expect("SDP in the 183");
    assert_eq!(
        call_events(&out, inbound.call),
        ["StateChanged ALERTING->PROGRESSING", "AudioStarted"]
    );
    // The 200 repeats the answer of the 183.
    let out = answer(&mut h, inbound);
    assert_eq!(ua_body(&out).as_deref(), Some(early.as_str()));
    let out = h.ua(UaEvent::Acked {
        leg: inbound.leg,
        body: None,
    });
    // AudioStarted came with the 183 and is not repeated.
    assert_eq!(
        call_events(&out, inbound.call),
        ["Connected", "StateChanged PROGRESSING->CONNECTED"]
    );
}

#[test]
fn early_media_needs_an_offer_and_happens_once() {
    let mut h = Harness::default();
    let late = h.invite_with(None);
    let start = SessionCommand::StartEarlyMedia {
        call: late.call,
        headers: Vec::new(),
    };
    assert!(h.cmd(late.session, start).is_empty());
    let inbound = h.invite();
    let start = SessionCommand::StartEarlyMedia {
        call: inbound.call,
        headers: Vec::new(),
    };
    assert_eq!(h.cmd(inbound.session, start.clone()).len(), 4);
    assert!(h.cmd(inbound.session, start).is_empty());
}

#[test]
fn commands_for_a_call_of_another_session_are_ignored() {
    let mut h = Harness::default();
    let mine = h.invite();
    let other = h.invite();
    for cmd in [
        SessionCommand::Answer {
            call: mine.call,
            headers: Vec::new(),
        },
        SessionCommand::Reject {
            call: mine.call,
            code: 486,
            headers: Vec::new(),
        },
        SessionCommand::Ring {
            call: mine.call,
            headers: Vec::new(),
        },
        SessionCommand::Hangup {
            call: mine.call,
            headers: Vec::new(),
        },
        SessionCommand::StartEarlyMedia {
            call: mine.call,
            headers: Vec::new(),
        },
    ] {
        assert!(h.cmd(other.session, cmd).is_empty());
    }
    assert_eq!(h.core.live_calls(), 2);
}
