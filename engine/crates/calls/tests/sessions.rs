//! The session table: sessions without calls, ends for every reason and
//! with calls in every phase, termination, listing, `accessURL` requests.

mod harness;

use std::time::Instant;

use dialtone_calls::{AdmissionError, Fact, Output, Overload, RouteOwner, StartRequest};
use dialtone_core::messages::{
    AccessReplySlot, AccessRequest, SessionCommand, SessionEnd, SessionEvent,
};
use dialtone_core::SessionId;
use dialtone_sip::UaEvent;
use harness::*;

fn ended(out: &[Output], session: SessionId) -> bool {
    out.iter()
        .any(|o| matches!(o, Output::Ended(s) if *s == session))
}

fn access_request() -> (
    AccessRequest,
    tokio::sync::oneshot::Receiver<dialtone_core::messages::AccessResponse>,
) {
    let (reply, rx) = AccessReplySlot::new();
    (
        AccessRequest {
            method: "GET".into(),
            path: "/x".into(),
            content: String::new(),
            headers: Vec::new(),
            reply,
        },
        rx,
    )
}

#[test]
fn a_session_without_a_call_starts_with_no_first_event() {
    let mut h = Harness::default();
    let started = h
        .core
        .start_session(
            Instant::now(),
            StartRequest {
                scenario: h.scenario.clone(),
                custom_data: "cd".into(),
                owner: None,
            },
        )
        .expect("admitted");
    let out = h.take();
    let start = starts(&out).pop().expect("a start");
    assert_eq!(start.id, started.id);
    assert!(start.first_event.is_none());
    assert_eq!(start.custom_data, "cd");
    assert_eq!(start.access_url, started.access_url);
    assert_eq!(started.started_at, 1_700_000_000_000);
}

#[test]
fn sessions_without_calls_are_admitted_like_invites() {
    let mut h = Harness::new(Some(1));
    h.session();
    let request = || StartRequest {
        scenario: std::sync::Arc::new(dialtone_core::Scenario {
            name: "x".into(),
            source: String::new(),
        }),
        custom_data: String::new(),
        owner: None,
    };
    assert_eq!(
        h.core.start_session(Instant::now(), request()).unwrap_err(),
        AdmissionError::SessionLimit(1)
    );
    let mut h = Harness::default();
    h.knobs().congested = true;
    assert_eq!(
        h.core.start_session(Instant::now(), request()).unwrap_err(),
        AdmissionError::Overloaded
    );
    h.knobs().congested = false;
    h.knobs().overload = Some(Overload::Signalling);
    let busy = h.core.start_session(Instant::now(), request()).unwrap_err();
    assert_eq!(busy, AdmissionError::Busy(Overload::Signalling));
    assert_eq!(busy.retry_after(), 2);
    h.core.terminate_all("bye");
    assert_eq!(
        h.core.start_session(Instant::now(), request()).unwrap_err(),
        AdmissionError::ShuttingDown
    );
}

#[test]
fn a_normal_end_rejects_an_unanswered_call_with_480() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = h.end_session(inbound.session, SessionEnd::Normal);
    assert!(ended(&out, inbound.session));
    assert_eq!(ua_names(&out), ["Reject 480"]);
    // The session is gone: no event reaches it.
    assert!(events(&out).is_empty());
    assert!(facts(&out).contains(&Fact::SessionEnded {
        session: inbound.session,
        reason: SessionEnd::Normal
    }));
    assert!(facts(&out).iter().any(|f| matches!(
        f,
        Fact::CallEnded {
            code: Some(480),
            ..
        }
    )));
    assert_clean(&h);
    assert_eq!(h.core.live_sessions(), 0);
}

#[test]
fn a_script_error_rejects_an_unanswered_call_with_500() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = h.end_session(inbound.session, SessionEnd::ScriptError("boom".into()));
    assert_eq!(ua_names(&out), ["Reject 500"]);
    let inbound = h.invite();
    let out = h.end_session(inbound.session, SessionEnd::CompileError("syntax".into()));
    assert_eq!(ua_names(&out), ["Reject 500"]);
}

#[test]
fn the_end_hangs_up_answered_calls_and_cleans_up_when_they_end() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = h.end_session(inbound.session, SessionEnd::Normal);
    assert_eq!(ua_names(&out), ["Hangup"]);
    assert_eq!(h.core.live_calls(), 1);
    let out = h.ua(UaEvent::Terminated {
        leg: inbound.leg,
        by_remote: false,
        code: 200,
        reason: "OK".into(),
        headers: Vec::new(),
    });
    assert!(events(&out).is_empty(), "nobody to tell");
    assert_clean(&h);
}

#[test]
fn the_end_with_calls_in_every_phase() {
    let mut h = Harness::default();
    let inbound = h.invite(); // Offered
    let session = inbound.session;
    let (resolving, _) = h.call_sip(session, "sip:bob@pbx.example.com"); // Resolving
    let (dialing, _, _) = h.dialing(session); // Dialing
    let (confirmed, _) = h.outbound_connected(session); // Confirmed
    let (ending, ending_leg) = h.outbound_connected(session);
    h.cmd(
        session,
        SessionCommand::Hangup {
            call: ending,
            headers: Vec::new(),
        },
    ); // Ending
    assert_eq!(h.core.live_calls(), 5);
    let out = h.end_session(session, SessionEnd::Normal);
    // Reject for the INVITE, BYE/CANCEL for the dialogs, nothing for the
    // resolving and ending calls.
    let mut names = ua_names(&out);
    names.sort();
    assert_eq!(names, ["Hangup", "Hangup", "Reject 480"]);
    assert_eq!(h.core.call_status(resolving), None);
    assert_eq!(h.core.call_status(inbound.call), None);
    assert!(h.core.call_status(dialing).is_some());
    assert!(h.core.call_status(confirmed).is_some());
    let out = h.ua(UaEvent::Terminated {
        leg: ending_leg,
        by_remote: false,
        code: 200,
        reason: "OK".into(),
        headers: Vec::new(),
    });
    assert!(events(&out).is_empty());
    assert_eq!(h.core.call_status(ending), None);
}

#[test]
fn an_end_reported_twice_is_handled_once() {
    let mut h = Harness::default();
    let inbound = h.invite();
    h.end_session(inbound.session, SessionEnd::Normal);
    assert!(h
        .end_session(inbound.session, SessionEnd::Normal)
        .is_empty());
}

#[test]
fn terminate_asks_the_session_to_end() {
    let mut h = Harness::default();
    let session = h.session();
    assert!(h.core.terminate_session(session, None, "because"));
    let out = h.take();
    assert!(matches!(
        &events(&out)[0],
        SessionEvent::Terminate { reason } if reason == "because"
    ));
    assert!(h.core.session(session).is_some_and(|s| s.terminating));
    assert!(!h.core.terminate_session(SessionId::new(), None, "x"));
}

#[test]
fn terminate_all_reaches_every_session_and_refuses_new_ones() {
    let mut h = Harness::default();
    let a = h.session();
    let b = h.invite();
    h.core.terminate_all("engine shutdown");
    let out = h.take();
    let told: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Event {
                session,
                event: SessionEvent::Terminate { .. },
            } => Some(*session),
            _ => None,
        })
        .collect();
    assert_eq!(told.len(), 2);
    assert!(told.contains(&a) && told.contains(&b.session));
    let (_, invite) = h.invite_event(Some(peer_offer()));
    assert_eq!(ua_names(&h.ua(invite)), ["Reject 503"]);
}

#[test]
fn accounts_see_and_end_only_their_own_sessions() {
    let mut h = Harness::default();
    let owner = |account: &str| RouteOwner {
        account: account.into(),
        application: "app".into(),
        rule: None,
    };
    h.knobs().owner = Some(owner("acme"));
    let acme = h.invite();
    h.knobs().owner = Some(owner("globex"));
    let globex = h.invite();
    let listed = h.core.list_sessions(Some("acme"));
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, acme.session);
    assert_eq!(listed[0].calls.len(), 1);
    assert_eq!(h.core.list_sessions(None).len(), 2);
    assert!(!h.core.terminate_session(globex.session, Some("acme"), "x"));
    assert!(h
        .core
        .terminate_session(globex.session, Some("globex"), "x"));
}

#[test]
fn an_access_request_with_the_right_token_reaches_the_session() {
    let mut h = Harness::default();
    let session = h.session();
    let url = h.core.session(session).expect("live").access_url;
    let token = url.rsplit('/').next().expect("token").to_string();
    let (request, _rx) = access_request();
    assert!(h.core.access(session, &token, request).is_ok());
    assert!(matches!(&events(&h.take())[0], SessionEvent::Access(r) if r.path == "/x"));
}

#[test]
fn a_wrong_token_or_session_comes_back_for_a_404() {
    let mut h = Harness::default();
    let session = h.session();
    let (request, _rx) = access_request();
    let back = h.core.access(session, "0123", request).unwrap_err();
    let (request, _rx) = access_request();
    assert!(h.core.access(SessionId::new(), "0123", request).is_err());
    assert!(h.take().is_empty());
    back.reply.send(dialtone_calls::access_not_found());
}

#[test]
fn commands_from_a_session_that_ended_are_ignored() {
    let mut h = Harness::default();
    let inbound = h.invite();
    h.end_session(inbound.session, SessionEnd::Normal);
    let out = h.cmd(
        inbound.session,
        SessionCommand::Answer {
            call: inbound.call,
            headers: Vec::new(),
        },
    );
    assert!(out.is_empty());
}

#[test]
fn past_the_setup_rate_new_sessions_get_retry_after_one_second() {
    let mut h = Harness::with_setup_rate(8);
    let request = || StartRequest {
        scenario: std::sync::Arc::new(dialtone_core::Scenario {
            name: "x".into(),
            source: String::new(),
        }),
        custom_data: String::new(),
        owner: None,
    };
    let t0 = Instant::now();
    // A burst may spend a quarter of a second's tokens.
    assert!(h.core.start_session(t0, request()).is_ok());
    assert!(h.core.start_session(t0, request()).is_ok());
    let refused = h.core.start_session(t0, request()).unwrap_err();
    assert_eq!(refused, AdmissionError::SetupRate(8));
    assert_eq!(refused.retry_after(), 1);
    // An eighth of a second later there is a token again.
    let later = t0 + std::time::Duration::from_millis(125);
    assert!(h.core.start_session(later, request()).is_ok());
    // While overload control lends half the rate, the next token takes
    // twice as long, and the refusal names the rate lent.
    h.knobs().setup_share = Some(500);
    let sooner = later + std::time::Duration::from_millis(125);
    let refused = h.core.start_session(sooner, request()).unwrap_err();
    assert_eq!(refused, AdmissionError::SetupRate(4));
    let later = later + std::time::Duration::from_millis(250);
    assert!(h.core.start_session(later, request()).is_ok());
}
