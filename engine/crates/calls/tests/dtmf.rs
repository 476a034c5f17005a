//! DTMF both ways, on the core's virtual clock: digits heard only after
//! `handleTones(true)`, digits sent as RFC 4733 or as paced SIP INFO.

mod harness;

use std::time::Duration;

use dialtone_calls::MediaCommand;
use dialtone_core::messages::SessionCommand;
use dialtone_core::{CallId, SessionId};
use dialtone_media::MediaEvent;
use dialtone_sip::{UaCommand, UaEvent};
use harness::*;

fn tones(
    h: &mut Harness,
    session: SessionId,
    call: CallId,
    enable: bool,
) -> Vec<dialtone_calls::Output> {
    h.cmd(session, SessionCommand::HandleTones { call, enable })
}

fn digits(
    h: &mut Harness,
    session: SessionId,
    call: CallId,
    digits: &str,
) -> Vec<dialtone_calls::Output> {
    h.cmd(
        session,
        SessionCommand::SendDigits {
            call,
            digits: digits.into(),
        },
    )
}

/// The digits of the INFO requests in `out`.
fn info_digits(out: &[dialtone_calls::Output]) -> String {
    ua_cmds(out)
        .into_iter()
        .filter_map(|c| match c {
            UaCommand::Info { body, .. } => {
                let text = String::from_utf8(body.data).ok()?;
                text.lines()
                    .find_map(|l| l.strip_prefix("Signal="))
                    .map(|s| s.trim().to_string())
            }
            _ => None,
        })
        .collect()
}

/// An outbound call whose peer did not negotiate telephone-event.
fn info_call(h: &mut Harness) -> (SessionId, CallId) {
    let session = h.session();
    let (call, leg, offer) = h.dialing(session);
    h.ua(UaEvent::Answered {
        leg,
        body: Some(answer_without_events(&offer)),
        headers: Vec::new(),
    });
    (session, call)
}

#[test]
fn tones_are_not_reported_until_asked_for() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let tone = MediaEvent::Tone {
        unit: media_unit(inbound.call),
        tone: '5',
    };
    assert!(h.media(tone.clone()).is_empty());
    let out = tones(&mut h, inbound.session, inbound.call, true);
    assert!(matches!(
        media_cmds(&out)[0],
        MediaCommand::ToneDetection { enabled: true, .. }
    ));
    assert_eq!(
        call_events(&h.media(tone.clone()), inbound.call),
        ["ToneReceived 5"]
    );
    tones(&mut h, inbound.session, inbound.call, false);
    assert!(h.media(tone).is_empty());
}

#[test]
fn detection_asked_before_media_exists_starts_with_the_endpoint() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = tones(&mut h, inbound.session, inbound.call, true);
    assert!(media_cmds(&out).is_empty(), "no endpoint yet");
    let out = h.cmd(
        inbound.session,
        SessionCommand::Answer {
            call: inbound.call,
            headers: Vec::new(),
        },
    );
    assert!(media_cmds(&out)
        .iter()
        .any(|c| matches!(c, MediaCommand::ToneDetection { enabled: true, .. })));
}

#[test]
fn a_dtmf_info_is_a_tone_once_asked_for() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let info = |d: char| UaEvent::Info {
        leg: inbound.leg,
        content_type: "application/dtmf-relay".into(),
        body: format!("Signal={d}\r\nDuration=160\r\n").into_bytes(),
        headers: Vec::new(),
    };
    assert!(h.ua(info('1')).is_empty());
    tones(&mut h, inbound.session, inbound.call, true);
    assert_eq!(
        call_events(&h.ua(info('#')), inbound.call),
        ["ToneReceived #"]
    );
    let other = UaEvent::Info {
        leg: inbound.leg,
        content_type: "application/json".into(),
        body: b"{}".to_vec(),
        headers: Vec::new(),
    };
    // Any other INFO is the scenario's to read.
    assert_eq!(
        call_events(&h.ua(other), inbound.call),
        ["InfoReceived application/json {}"]
    );
}

#[test]
fn digits_go_as_rfc4733_when_negotiated() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = digits(&mut h, inbound.session, inbound.call, "12#");
    assert!(matches!(
        media_cmds(&out)[0],
        MediaCommand::SendDigits { digits, .. } if digits == "12#"
    ));
    assert!(ua_cmds(&out).is_empty());
}

#[test]
fn digits_go_as_sip_info_250_ms_apart_otherwise() {
    let mut h = Harness::default();
    let (session, call) = info_call(&mut h);
    let out = digits(&mut h, session, call, "123");
    assert_eq!(info_digits(&out), "1");
    assert_eq!(
        h.core.poll_timeout(),
        Some(h.now + Duration::from_millis(250))
    );
    assert_eq!(info_digits(&h.advance(Duration::from_millis(249))), "");
    assert_eq!(info_digits(&h.advance(Duration::from_millis(1))), "2");
    assert_eq!(info_digits(&h.advance(Duration::from_millis(250))), "3");
    assert!(h.advance(Duration::from_secs(5)).is_empty());
}

#[test]
fn a_p_in_digits_pauses_half_a_second() {
    let mut h = Harness::default();
    let (session, call) = info_call(&mut h);
    let out = digits(&mut h, session, call, "1p2");
    assert_eq!(info_digits(&out), "1");
    // The 'p' comes after the usual gap, then waits 500 ms itself.
    assert_eq!(info_digits(&h.advance(Duration::from_millis(250))), "");
    assert_eq!(info_digits(&h.advance(Duration::from_millis(499))), "");
    assert_eq!(info_digits(&h.advance(Duration::from_millis(1))), "2");
}

#[test]
fn more_digits_queue_behind_those_still_going() {
    let mut h = Harness::default();
    let (session, call) = info_call(&mut h);
    digits(&mut h, session, call, "12");
    let out = digits(&mut h, session, call, "34");
    assert_eq!(info_digits(&out), "", "queued, not sent at once");
    let mut sent = String::new();
    for _ in 0..4 {
        sent += &info_digits(&h.advance(Duration::from_millis(250)));
    }
    assert_eq!(sent, "234");
}

#[test]
fn digits_still_queued_stop_with_the_call() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, leg, offer) = h.dialing(session);
    h.ua(UaEvent::Answered {
        leg,
        body: Some(answer_without_events(&offer)),
        headers: Vec::new(),
    });
    digits(&mut h, session, call, "123456");
    h.ua(UaEvent::Terminated {
        leg,
        by_remote: true,
        code: 200,
        reason: "BYE".into(),
        headers: Vec::new(),
    });
    assert!(h.advance(Duration::from_secs(10)).is_empty());
}

#[test]
fn characters_that_are_not_digits_are_skipped_but_keep_their_slot() {
    let mut h = Harness::default();
    let (session, call) = info_call(&mut h);
    let out = digits(&mut h, session, call, "x 9");
    assert_eq!(info_digits(&out), "");
    assert_eq!(info_digits(&h.advance(Duration::from_millis(250))), "9");
}

#[test]
fn digits_for_a_call_of_another_session_are_not_sent() {
    let mut h = Harness::default();
    let theirs = h.connected();
    let mine = h.session();
    assert!(digits(&mut h, mine, theirs.call, "1").is_empty());
    assert!(tones(&mut h, mine, theirs.call, true).is_empty());
}
