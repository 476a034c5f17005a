//! How calls end: `hangup()` in every phase, BYE and CANCEL from the peer,
//! durations on the virtual clock, and what is released.

mod harness;

use std::time::Duration;

use dialtone_calls::{Fact, MediaCommand, Phase};
use dialtone_core::messages::{CallEvent, CallState, SessionCommand, SessionEvent};
use dialtone_sip::{UaCommand, UaEvent};
use harness::*;

fn hangup(
    h: &mut Harness,
    session: dialtone_core::SessionId,
    call: dialtone_core::CallId,
) -> Vec<dialtone_calls::Output> {
    h.cmd(
        session,
        SessionCommand::Hangup {
            call,
            headers: vec![("X-Reason".into(), "done".into())],
        },
    )
}

fn bye(leg: u64, by_remote: bool) -> UaEvent {
    UaEvent::Terminated {
        leg,
        by_remote,
        code: 200,
        reason: if by_remote { "BYE" } else { "OK" }.into(),
        headers: vec![("X-From".into(), "peer".into())],
    }
}

#[test]
fn hangup_of_an_unanswered_inbound_call_sends_480_and_reports_480() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = hangup(&mut h, inbound.session, inbound.call);
    let cmds = ua_cmds(&out);
    assert!(matches!(
        &cmds[0],
        UaCommand::Reject { code: 480, headers, .. } if headers == &vec![("X-Reason".to_string(), "done".to_string())]
    ));
    assert_eq!(
        call_events(&out, inbound.call),
        [
            "Disconnected 480 Temporarily Unavailable",
            "StateChanged ALERTING->TERMINATED"
        ]
    );
    assert_clean(&h);
}

#[test]
fn hangup_of_a_connected_call_sends_bye_and_waits_for_its_end() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = hangup(&mut h, inbound.session, inbound.call);
    assert_eq!(ua_names(&out), ["Hangup"]);
    assert!(call_events(&out, inbound.call).is_empty());
    assert_eq!(
        h.core.call_status(inbound.call),
        Some((Phase::Ending, CallState::Connected))
    );
    // A second hangup while ending does nothing.
    assert!(hangup(&mut h, inbound.session, inbound.call).is_empty());
    h.now += Duration::from_millis(30);
    let out = h.ua(bye(inbound.leg, false));
    assert_eq!(
        call_events(&out, inbound.call),
        ["Disconnected 200 OK", "StateChanged CONNECTED->TERMINATED"]
    );
    assert_clean(&h);
}

#[test]
fn hangup_while_answering_waits_for_the_sip_layer() {
    let mut h = Harness::default();
    let (inbound, _) = h.answering();
    let out = hangup(&mut h, inbound.session, inbound.call);
    assert_eq!(ua_names(&out), ["Hangup"]);
    // The ACK that arrives now does not connect the call.
    let out = h.ua(UaEvent::Acked {
        leg: inbound.leg,
        body: None,
    });
    assert!(out.is_empty());
    let out = h.ua(bye(inbound.leg, false));
    assert_eq!(call_events(&out, inbound.call)[0], "Disconnected 200 OK");
}

#[test]
fn hangup_of_a_ringing_outbound_call_cancels_it() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, leg, _) = h.dialing(session);
    let out = hangup(&mut h, session, call);
    assert_eq!(ua_names(&out), ["Hangup"]);
    let out = h.ua(UaEvent::Failed {
        leg,
        code: 487,
        reason: "Request Terminated".into(),
        headers: Vec::new(),
    });
    assert_eq!(
        call_events(&out, call),
        [
            "Failed 487 Request Terminated",
            "StateChanged PROGRESSING->TERMINATED"
        ]
    );
}

#[test]
fn hangup_while_resolving_fails_the_call_with_487_at_once() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, _) = h.call_sip(session, "sip:bob@pbx.example.com");
    let out = hangup(&mut h, session, call);
    assert!(ua_cmds(&out).is_empty());
    assert_eq!(call_events(&out, call)[0], "Failed 487 Request Terminated");
    assert_clean(&h);
}

#[test]
fn a_bye_from_the_peer_reports_the_connected_time_on_the_virtual_clock() {
    let mut h = Harness::default();
    let inbound = h.connected();
    h.now += Duration::from_secs(95);
    let out = h.ua(bye(inbound.leg, true));
    let disconnected = events(&out).into_iter().find_map(|e| match e {
        SessionEvent::Call {
            event:
                CallEvent::Disconnected {
                    code,
                    reason,
                    duration,
                    headers,
                },
            ..
        } => Some((code, reason, duration, headers)),
        _ => None,
    });
    let (code, reason, duration, headers) = disconnected.expect("Disconnected");
    assert_eq!((code, reason.as_str()), (200, "BYE"));
    assert_eq!(duration, Duration::from_secs(95));
    assert_eq!(headers, vec![("X-From".to_string(), "peer".to_string())]);
    assert!(facts(&out).iter().any(|f| matches!(
        f,
        Fact::CallEnded {
            connected: true,
            code: Some(200),
            ..
        }
    )));
}

#[test]
fn an_unanswered_call_ended_by_cancel_reports_487() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = h.ua(UaEvent::Cancelled { leg: inbound.leg });
    assert_eq!(
        call_events(&out, inbound.call),
        [
            "Disconnected 487 Request Terminated",
            "StateChanged ALERTING->TERMINATED"
        ]
    );
    assert!(
        ua_cmds(&out).is_empty(),
        "the SIP layer answered the CANCEL"
    );
    assert_clean(&h);
}

#[test]
fn an_ack_timeout_ends_the_call_with_408() {
    let mut h = Harness::default();
    let (inbound, _) = h.answering();
    let out = h.ua(UaEvent::Terminated {
        leg: inbound.leg,
        by_remote: false,
        code: 408,
        reason: "ACK timeout".into(),
        headers: Vec::new(),
    });
    assert_eq!(
        call_events(&out, inbound.call),
        [
            "Disconnected 408 ACK timeout",
            "StateChanged ALERTING->TERMINATED"
        ]
    );
}

#[test]
fn the_end_releases_the_rtp_endpoint_once() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = h.ua(bye(inbound.leg, true));
    let releases = media_cmds(&out)
        .iter()
        .filter(|c| matches!(c, MediaCommand::Release(u) if u.0 == inbound.call.0))
        .count();
    assert_eq!(releases, 1);
    // A duplicate end event finds nothing.
    assert!(h.ua(bye(inbound.leg, true)).is_empty());
}

#[test]
fn a_call_never_bound_to_media_releases_no_endpoint() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = h.ua(UaEvent::Cancelled { leg: inbound.leg });
    assert!(media_cmds(&out).is_empty());
}

#[test]
fn hangup_of_an_ended_call_does_nothing() {
    let mut h = Harness::default();
    let inbound = h.connected();
    h.ua(bye(inbound.leg, true));
    assert!(hangup(&mut h, inbound.session, inbound.call).is_empty());
}

#[test]
fn every_call_ends_with_exactly_one_call_ended_fact() {
    let mut h = Harness::default();
    let a = h.invite();
    let b = h.connected();
    let mut all = hangup(&mut h, a.session, a.call);
    all.extend(h.ua(bye(b.leg, true)));
    all.extend(h.ua(bye(b.leg, true)));
    let ended: Vec<_> = facts(&all)
        .into_iter()
        .filter_map(|f| match f {
            Fact::CallEnded { call, .. } => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(ended, vec![a.call, b.call]);
}
