//! Everything ends, on the core's virtual clock: unanswered INVITEs, silent
//! peers, calls past their maximum length, forwarding loops.

mod harness;

use std::time::Duration;

use dialtone_calls::{CallLimits, Output, Phase};
use dialtone_core::messages::{OutboundCall, SessionCommand};
use dialtone_core::CallId;
use dialtone_media::MediaEvent;
use dialtone_sip::{UaCommand, UaEvent};
use harness::*;

const MINUTE: Duration = Duration::from_secs(60);

fn reason_header(out: &[Output]) -> Option<String> {
    ua_cmds(out).into_iter().find_map(|c| match c {
        UaCommand::Hangup { headers, .. } | UaCommand::Reject { headers, .. } => headers
            .into_iter()
            .find(|(n, _)| n == "Reason")
            .map(|(_, v)| v),
        _ => None,
    })
}

fn bye_answered(h: &mut Harness, leg: u64) -> Vec<Output> {
    h.ua(UaEvent::Terminated {
        leg,
        by_remote: false,
        code: 200,
        reason: "OK".into(),
        headers: Vec::new(),
    })
}

#[test]
fn an_invite_nobody_answers_gets_480_after_three_minutes() {
    let mut h = Harness::default();
    let inbound = h.invite();
    assert!(h.advance(3 * MINUTE - Duration::from_millis(1)).is_empty());
    let out = h.advance(Duration::from_millis(1));
    assert_eq!(ua_names(&out), ["Reject 480"]);
    assert!(matches!(
        &ua_cmds(&out)[0],
        UaCommand::Reject { reason: Some(r), .. } if r == "No Answer"
    ));
    assert_eq!(
        reason_header(&out).as_deref(),
        Some("SIP;cause=408;text=\"No Answer\"")
    );
    assert_eq!(
        call_events(&out, inbound.call),
        [
            "Disconnected 480 No Answer",
            "StateChanged ALERTING->TERMINATED"
        ]
    );
    assert_clean(&h);
}

#[test]
fn an_answered_or_rejected_call_is_left_alone_by_the_no_answer_timer() {
    let mut h = Harness::default();
    let answered = h.connected();
    let rejected = h.invite();
    h.cmd(
        rejected.session,
        SessionCommand::Reject {
            call: rejected.call,
            code: 486,
            headers: Vec::new(),
        },
    );
    assert!(h.advance(10 * MINUTE).is_empty());
    assert_eq!(
        h.core.call_status(answered.call).map(|(p, _)| p),
        Some(Phase::Confirmed)
    );
}

#[test]
fn the_no_answer_time_is_configurable_and_can_be_off() {
    let mut h = Harness::with_limits(CallLimits {
        no_answer: Some(Duration::from_secs(5)),
        ..CallLimits::default()
    });
    h.invite();
    assert_eq!(ua_names(&h.advance(Duration::from_secs(5))), ["Reject 480"]);
    let mut h = Harness::with_limits(CallLimits {
        no_answer: None,
        ..CallLimits::default()
    });
    h.invite();
    assert!(h.advance(60 * MINUTE).is_empty());
    assert_eq!(h.core.live_calls(), 1);
}

#[test]
fn early_media_does_not_stop_the_no_answer_timer() {
    let mut h = Harness::default();
    let inbound = h.invite();
    h.cmd(
        inbound.session,
        SessionCommand::StartEarlyMedia {
            call: inbound.call,
            headers: Vec::new(),
        },
    );
    let out = h.advance(3 * MINUTE);
    assert_eq!(
        call_events(&out, inbound.call)[0],
        "Disconnected 480 No Answer"
    );
}

#[test]
fn a_silent_peer_is_hung_up_after_the_grace_time() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let unit = media_unit(inbound.call);
    let out = h.media(MediaEvent::RtpStopped(unit));
    assert_eq!(call_events(&out, inbound.call), ["RtpStopped"]);
    assert!(h.advance(Duration::from_secs(19)).is_empty());
    let out = h.advance(Duration::from_secs(1));
    assert_eq!(ua_names(&out), ["Hangup"]);
    assert_eq!(
        reason_header(&out).as_deref(),
        Some("SIP;cause=408;text=\"RTP Timeout\"")
    );
    let out = bye_answered(&mut h, inbound.leg);
    assert_eq!(
        call_events(&out, inbound.call)[0],
        "Disconnected 200 RTP Timeout"
    );
    assert_clean(&h);
}

#[test]
fn rtp_coming_back_in_time_keeps_the_call() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let unit = media_unit(inbound.call);
    h.media(MediaEvent::RtpStopped(unit));
    h.advance(Duration::from_secs(10));
    let out = h.media(MediaEvent::RtpResumed(unit));
    assert_eq!(call_events(&out, inbound.call), ["RtpResumed"]);
    assert!(h.advance(MINUTE).is_empty());
    // It stops again: a fresh grace time.
    h.media(MediaEvent::RtpStopped(unit));
    assert!(h.advance(Duration::from_secs(19)).is_empty());
    assert_eq!(ua_names(&h.advance(Duration::from_secs(1))), ["Hangup"]);
}

#[test]
fn a_scenario_can_keep_a_silent_call() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let keep = |enable| SessionCommand::RtpTimeoutHangup {
        call: inbound.call,
        enable,
    };
    h.cmd(inbound.session, keep(false));
    h.media(MediaEvent::RtpStopped(media_unit(inbound.call)));
    assert!(h.advance(10 * MINUTE).is_empty());
    // Turning it back on counts from the next RtpStopped.
    h.cmd(inbound.session, keep(true));
    assert!(h.advance(MINUTE).is_empty());
    h.media(MediaEvent::RtpResumed(media_unit(inbound.call)));
    h.media(MediaEvent::RtpStopped(media_unit(inbound.call)));
    assert_eq!(ua_names(&h.advance(Duration::from_secs(20))), ["Hangup"]);
}

#[test]
fn turning_it_off_while_the_grace_time_runs_stops_the_hang_up() {
    let mut h = Harness::default();
    let inbound = h.connected();
    h.media(MediaEvent::RtpStopped(media_unit(inbound.call)));
    h.advance(Duration::from_secs(5));
    h.cmd(
        inbound.session,
        SessionCommand::RtpTimeoutHangup {
            call: inbound.call,
            enable: false,
        },
    );
    assert!(h.advance(MINUTE).is_empty());
}

#[test]
fn a_peer_on_hold_is_never_hung_up_for_silence() {
    let mut h = Harness::default();
    let inbound = h.connected();
    // The peer puts us on hold: it sends nothing by agreement.
    let hold = dialtone_sdp::make_offer(&dialtone_sdp::LocalMedia {
        session_version: 2,
        ..peer_media(4000)
    })
    .replace("a=sendrecv", "a=inactive");
    h.ua(UaEvent::ReInvite {
        leg: inbound.leg,
        body: Some(sdp(hold)),
        headers: Vec::new(),
    });
    h.media(MediaEvent::RtpStopped(media_unit(inbound.call)));
    assert!(h.advance(10 * MINUTE).is_empty());
}

#[test]
fn a_call_still_ringing_is_not_hung_up_for_silence() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, _, _) = h.dialing(session);
    h.media(MediaEvent::RtpStopped(media_unit(call)));
    assert!(h.advance(10 * MINUTE).is_empty());
}

#[test]
fn a_connected_call_ends_at_its_maximum_length() {
    let mut h = Harness::with_limits(CallLimits {
        max_duration: Some(2 * MINUTE),
        ..CallLimits::default()
    });
    let inbound = h.connected();
    let session = inbound.session;
    let (outbound, out_leg) = h.outbound_connected(session);
    let out = h.advance(2 * MINUTE);
    let mut hangups = ua_names(&out);
    hangups.sort();
    assert_eq!(hangups, ["Hangup", "Hangup"]);
    assert_eq!(
        reason_header(&out).as_deref(),
        Some("SIP;cause=200;text=\"Maximum Call Duration\"")
    );
    let out = bye_answered(&mut h, out_leg);
    assert_eq!(
        call_events(&out, outbound)[0],
        "Disconnected 200 Maximum Call Duration"
    );
    let out = bye_answered(&mut h, inbound.leg);
    assert_eq!(
        call_events(&out, inbound.call)[0],
        "Disconnected 200 Maximum Call Duration"
    );
}

#[test]
fn the_maximum_length_counts_from_the_answer_and_can_be_off() {
    let mut h = Harness::with_limits(CallLimits {
        max_duration: Some(MINUTE),
        no_answer: None,
        ..CallLimits::default()
    });
    let inbound = h.invite();
    h.advance(10 * MINUTE);
    h.cmd(
        inbound.session,
        SessionCommand::Answer {
            call: inbound.call,
            headers: Vec::new(),
        },
    );
    h.ua(UaEvent::Acked {
        leg: inbound.leg,
        body: None,
    });
    assert!(h.advance(MINUTE - Duration::from_millis(1)).is_empty());
    assert_eq!(ua_names(&h.advance(Duration::from_millis(1))), ["Hangup"]);
    let mut h = Harness::with_limits(CallLimits {
        max_duration: None,
        ..CallLimits::default()
    });
    h.connected();
    assert!(h.advance(48 * 60 * MINUTE).is_empty());
}

fn invite_with_max_forwards(h: &mut Harness, value: &str) -> Inbound {
    let (leg, mut event) = h.invite_event(Some(peer_offer()));
    if let UaEvent::Incoming { headers, .. } = &mut event {
        headers.push(("Max-Forwards".into(), value.into()));
    }
    let out = h.ua(event);
    let start = starts(&out).pop().expect("a session");
    let Some(dialtone_core::messages::SessionEvent::CallAlerting(incoming)) = start.first_event
    else {
        panic!("no CallAlerting");
    };
    Inbound {
        leg,
        session: start.id,
        call: incoming.call,
    }
}

fn dial_max_forwards(out: &[Output]) -> Option<u8> {
    ua_cmds(out).into_iter().find_map(|c| match c {
        UaCommand::Dial { max_forwards, .. } => Some(max_forwards),
        _ => None,
    })
}

#[test]
fn legs_a_call_forwards_carry_its_max_forwards_less_one() {
    let mut h = Harness::default();
    let inbound = invite_with_max_forwards(&mut h, "12");
    let (_, out) = h.call_sip(inbound.session, "sip:bob@192.0.2.20");
    assert_eq!(dial_max_forwards(&out), Some(11));
    // A session without an inbound call starts at 70.
    let session = h.session();
    let (_, out) = h.call_sip(session, "sip:bob@192.0.2.20");
    assert_eq!(dial_max_forwards(&out), Some(70));
    // So does one whose INVITE had none.
    let plain = h.invite();
    let (_, out) = h.call_sip(plain.session, "sip:bob@192.0.2.20");
    assert_eq!(dial_max_forwards(&out), Some(69));
}

#[test]
fn a_forwarding_loop_ends_with_483() {
    let mut h = Harness::default();
    let inbound = invite_with_max_forwards(&mut h, "1");
    let call = CallId::next();
    let out = h.cmd(
        inbound.session,
        SessionCommand::CallSip(Box::new(OutboundCall {
            call,
            to: "sip:loop@192.0.2.20".into(),
            callerid: None,
            display_name: None,
            headers: Vec::new(),
            auth_user: None,
            password: None,
        })),
    );
    assert!(ua_cmds(&out).is_empty(), "no INVITE goes out");
    assert_eq!(call_events(&out, call)[0], "Failed 483 Too Many Hops");
    // The resolve path checks the same.
    let (call, out) = h.call_sip(inbound.session, "sip:loop@pbx.example.com");
    assert!(jobs(&out).is_empty());
    assert_eq!(call_events(&out, call)[0], "Failed 483 Too Many Hops");
}
