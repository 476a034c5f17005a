//! Hold and unhold both ways, re-INVITEs a scenario answers or sends, glare,
//! and INFO / MESSAGE inside a call, as the call core handles them.

mod harness;

use std::time::Duration;

use dialtone_calls::{MediaCommand, Output, REINVITE_ANSWER_TIMEOUT};
use dialtone_core::messages::SessionCommand;
use dialtone_media::MediaEvent;
use dialtone_sip::{Body, UaCommand, UaEvent};
use harness::*;

fn offer(direction: &str) -> Body {
    let text = dialtone_sdp::make_offer(&dialtone_sdp::LocalMedia {
        session_version: 2,
        ..peer_media(4000)
    });
    sdp(text.replace("a=sendrecv", &format!("a={direction}")))
}

fn reinvite(leg: u64, body: Option<Body>) -> UaEvent {
    UaEvent::ReInvite {
        leg,
        body,
        headers: vec![("X-Reason".into(), "hold".into())],
    }
}

fn answer(out: &[Output]) -> Option<(u16, String)> {
    ua_cmds(out).into_iter().find_map(|c| match c {
        UaCommand::AnswerReInvite { code, body, .. } => Some((
            code,
            body.map(|b| String::from_utf8(b.data).expect("utf-8"))
                .unwrap_or_default(),
        )),
        _ => None,
    })
}

/// Whether the media now sends to the peer, per the last SetRemote.
fn sends(out: &[Output]) -> Option<bool> {
    media_cmds(out).iter().rev().find_map(|c| match c {
        MediaCommand::SetRemote { params, .. } => Some(params.send),
        _ => None,
    })
}

/// Our re-INVITE in `out`: its offer.
fn our_reinvite(out: &[Output]) -> Option<String> {
    ua_cmds(out).into_iter().find_map(|c| match c {
        UaCommand::ReInvite { body, .. } => body.map(|b| String::from_utf8(b.data).expect("utf-8")),
        _ => None,
    })
}

/// The peer's answer to our re-INVITE, in `direction` (as it writes it).
fn answered(leg: u64, our_offer: &str, code: u16) -> UaEvent {
    let body = (code == 200).then(|| {
        let (text, _) =
            dialtone_sdp::answer_offer(our_offer, &peer_media(4000)).expect("answerable");
        sdp(text)
    });
    UaEvent::ReInviteAnswered {
        leg,
        code,
        reason: String::new(),
        body,
        headers: vec![("X-Peer".into(), "1".into())],
    }
}

#[test]
fn the_peer_holds_and_unholds_and_the_scenario_hears_of_it() {
    let mut h = Harness::default();
    let inbound = h.connected();
    for direction in ["sendonly", "inactive"] {
        let out = h.ua(reinvite(inbound.leg, Some(offer(direction))));
        let (code, body) = answer(&out).expect("answered");
        assert_eq!(code, 200);
        let mirrored = if direction == "sendonly" {
            "recvonly"
        } else {
            "inactive"
        };
        assert!(body.contains(&format!("a={mirrored}")), "{body}");
        assert_eq!(
            sends(&out),
            Some(false),
            "nothing goes to a peer that holds"
        );
        let expected: &[&str] = if direction == "sendonly" {
            &["OnHold"]
        } else {
            &[]
        };
        assert_eq!(call_events(&out, inbound.call), expected, "once per change");
    }
    let out = h.ua(reinvite(inbound.leg, Some(offer("sendrecv"))));
    assert!(answer(&out).expect("answered").1.contains("a=sendrecv"));
    assert_eq!(sends(&out), Some(true));
    assert_eq!(call_events(&out, inbound.call), ["OffHold"]);
}

#[test]
fn an_old_style_hold_with_a_zero_address_is_a_hold() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let text = String::from_utf8(offer("sendrecv").data)
        .expect("utf-8")
        .replace("c=IN IP4 192.0.2.9", "c=IN IP4 0.0.0.0");
    let out = h.ua(reinvite(inbound.leg, Some(sdp(text))));
    assert_eq!(answer(&out).expect("answered").0, 200);
    assert_eq!(call_events(&out, inbound.call), ["OnHold"]);
    let out = h.ua(reinvite(inbound.leg, Some(offer("sendrecv"))));
    assert_eq!(call_events(&out, inbound.call), ["OffHold"]);
}

#[test]
fn an_update_offer_is_answered_like_a_reinvite() {
    // The UA reports an UPDATE with an offer as a re-INVITE; the core
    // answers it the same way (the UA puts the answer on the UPDATE).
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = h.ua(reinvite(inbound.leg, Some(offer("sendonly"))));
    assert_eq!(answer(&out).expect("answered").0, 200);
}

#[test]
fn a_held_call_is_not_hung_up_for_rtp_silence() {
    let mut h = Harness::default();
    let inbound = h.connected();
    h.ua(reinvite(inbound.leg, Some(offer("sendonly"))));
    h.media(MediaEvent::RtpStopped(media_unit(inbound.call)));
    let out = h.advance(Duration::from_secs(60));
    assert!(
        !ua_names(&out).contains(&"Hangup".to_string()),
        "{:?}",
        ua_names(&out)
    );
    assert_eq!(h.core.live_calls(), 1);
}

#[test]
fn a_scenario_that_listens_answers_the_reinvite_itself() {
    let mut h = Harness::default();
    let inbound = h.connected();
    h.cmd(
        inbound.session,
        SessionCommand::HandleReInvites {
            call: inbound.call,
            enable: true,
        },
    );
    let out = h.ua(reinvite(inbound.leg, Some(offer("sendonly"))));
    assert_eq!(answer(&out), None, "waits for the scenario");
    let got = events(&out);
    let text = format!("{got:?}");
    assert!(text.contains("ReInviteReceived"), "{text}");
    assert!(
        text.contains("application/sdp") && text.contains("X-Reason"),
        "{text}"
    );
    let out = h.cmd(
        inbound.session,
        SessionCommand::AcceptReInvite {
            call: inbound.call,
            mime_type: String::new(),
            body: String::new(),
            headers: Vec::new(),
        },
    );
    let (code, body) = answer(&out).expect("answered");
    assert_eq!(code, 200);
    assert!(body.contains("a=recvonly"));
    assert_eq!(call_events(&out, inbound.call), ["OnHold"]);

    // Rejected: 488, nothing changes.
    h.ua(reinvite(inbound.leg, Some(offer("sendrecv"))));
    let out = h.cmd(
        inbound.session,
        SessionCommand::RejectReInvite {
            call: inbound.call,
            headers: Vec::new(),
        },
    );
    assert_eq!(answer(&out), Some((488, String::new())));
    assert!(call_events(&out, inbound.call).is_empty());

    // Not answered in time: the engine answers.
    h.ua(reinvite(inbound.leg, Some(offer("sendrecv"))));
    let out = h.advance(REINVITE_ANSWER_TIMEOUT);
    assert_eq!(answer(&out).expect("answered by the engine").0, 200);
    assert_eq!(call_events(&out, inbound.call), ["OffHold"]);
}

#[test]
fn accepting_with_a_relayed_body_answers_in_its_direction() {
    let mut h = Harness::default();
    let inbound = h.connected();
    h.cmd(
        inbound.session,
        SessionCommand::HandleReInvites {
            call: inbound.call,
            enable: true,
        },
    );
    h.ua(reinvite(inbound.leg, Some(offer("sendonly"))));
    // The other leg went quiet both ways: this leg answers inactive, not
    // recvonly as it would by itself.
    let relayed = String::from_utf8(offer("inactive").data).expect("utf-8");
    let out = h.cmd(
        inbound.session,
        SessionCommand::AcceptReInvite {
            call: inbound.call,
            mime_type: "application/sdp".into(),
            body: relayed,
            headers: Vec::new(),
        },
    );
    let (_, body) = answer(&out).expect("answered");
    assert!(body.contains("a=inactive"), "{body}");
    assert!(
        body.contains("c=IN IP4 127.0.0.1"),
        "our own media, not the relayed one"
    );
}

#[test]
fn a_reinvite_that_changes_no_hold_is_answered_without_asking_the_scenario() {
    // A refresh, or a phone locking its codec after the answer: nothing for
    // the scenario to decide, even when it listens.
    let mut h = Harness::default();
    let inbound = h.connected();
    h.cmd(
        inbound.session,
        SessionCommand::HandleReInvites {
            call: inbound.call,
            enable: true,
        },
    );
    let out = h.ua(reinvite(inbound.leg, Some(offer("sendrecv"))));
    assert_eq!(answer(&out).expect("answered at once").0, 200);
    assert!(events(&out).is_empty(), "{:?}", events(&out));
    let out = h.ua(reinvite(inbound.leg, None));
    assert_eq!(answer(&out).expect("answered at once").0, 200);
}

#[test]
fn hold_and_unhold_send_our_offers() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = h.cmd(
        inbound.session,
        SessionCommand::Hold {
            call: inbound.call,
            hold: true,
        },
    );
    let ours = our_reinvite(&out).expect("a re-INVITE");
    assert!(ours.contains("a=sendonly"), "{ours}");
    let out = h.ua(answered(inbound.leg, &ours, 200));
    assert_eq!(sends(&out), Some(true), "music on hold still goes out");
    assert!(
        call_events(&out, inbound.call).is_empty(),
        "no event for our own hold"
    );
    // While we hold, a peer's refresh is answered sendonly at most.
    let out = h.ua(reinvite(inbound.leg, Some(offer("sendrecv"))));
    assert!(answer(&out).expect("answered").1.contains("a=sendonly"));
    // Silence while held hangs nothing up.
    h.media(MediaEvent::RtpStopped(media_unit(inbound.call)));
    assert!(!ua_names(&h.advance(Duration::from_secs(60))).contains(&"Hangup".to_string()));
    let out = h.cmd(
        inbound.session,
        SessionCommand::Hold {
            call: inbound.call,
            hold: false,
        },
    );
    assert!(our_reinvite(&out)
        .expect("a re-INVITE")
        .contains("a=sendrecv"));
}

#[test]
fn hold_while_a_reinvite_is_in_flight_goes_out_after_it() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let hold = |h: &mut Harness, on: bool| {
        h.cmd(
            inbound.session,
            SessionCommand::Hold {
                call: inbound.call,
                hold: on,
            },
        )
    };
    let first = our_reinvite(&hold(&mut h, true)).expect("sent");
    assert_eq!(our_reinvite(&hold(&mut h, false)), None, "one at a time");
    let out = h.ua(answered(inbound.leg, &first, 200));
    assert!(our_reinvite(&out)
        .expect("the next one")
        .contains("a=sendrecv"));
}

#[test]
fn a_scenario_reinvite_reports_its_outcome() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let send = |h: &mut Harness, body: &str| {
        h.cmd(
            inbound.session,
            SessionCommand::ReInvite {
                call: inbound.call,
                mime_type: "application/sdp".into(),
                body: body.into(),
                headers: vec![("X-Hop".into(), "1".into())],
            },
        )
    };
    let held = String::from_utf8(offer("sendonly").data).expect("utf-8");
    let out = send(&mut h, &held);
    let ours = our_reinvite(&out).expect("sent");
    assert!(ours.contains("a=sendonly"), "the relayed direction: {ours}");
    assert!(ours.contains("c=IN IP4 127.0.0.1"), "our own media");
    let out = h.ua(answered(inbound.leg, &ours, 200));
    assert_eq!(
        call_events(&out, inbound.call),
        ["ReInviteAccepted application/sdp"]
    );
    let text = format!("{:?}", events(&out));
    assert!(
        text.contains("a=recvonly") && text.contains("X-Peer"),
        "{text}"
    );

    let ours = our_reinvite(&send(&mut h, "")).expect("sent");
    let out = h.ua(answered(inbound.leg, &ours, 486));
    assert_eq!(call_events(&out, inbound.call), ["ReInviteRejected 486"]);
    assert_eq!(h.core.live_calls(), 1, "the call goes on");
}

#[test]
fn glare_is_retried_after_the_rfc_back_off_then_given_up() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = h.cmd(
        inbound.session,
        SessionCommand::ReInvite {
            call: inbound.call,
            mime_type: String::new(),
            body: String::new(),
            headers: Vec::new(),
        },
    );
    let mut ours = our_reinvite(&out).expect("sent");
    for _ in 0..3 {
        let out = h.ua(answered(inbound.leg, &ours, 491));
        assert!(our_reinvite(&out).is_none() && call_events(&out, inbound.call).is_empty());
        // We did not place the call: 0–2 s (RFC 3261 §14.1).
        let out = h.advance(Duration::from_millis(2000));
        ours = our_reinvite(&out).expect("sent again within 2 s");
    }
    let out = h.ua(answered(inbound.leg, &ours, 491));
    assert_eq!(call_events(&out, inbound.call), ["ReInviteRejected 491"]);
}

#[test]
fn an_outbound_call_backs_off_longer_on_glare() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, leg) = h.outbound_connected(session);
    let out = h.cmd(session, SessionCommand::Hold { call, hold: true });
    let ours = our_reinvite(&out).expect("sent");
    h.ua(answered(leg, &ours, 491));
    assert!(our_reinvite(&h.advance(Duration::from_millis(2090))).is_none());
    assert!(our_reinvite(&h.advance(Duration::from_millis(1920))).is_some());
}

#[test]
fn a_reinvite_the_peer_no_longer_knows_ends_the_call() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = h.cmd(
        inbound.session,
        SessionCommand::Hold {
            call: inbound.call,
            hold: true,
        },
    );
    let ours = our_reinvite(&out).expect("sent");
    let out = h.ua(answered(inbound.leg, &ours, 481));
    assert!(ua_names(&out).contains(&"Hangup".to_string()));
}

#[test]
fn info_and_message_go_both_ways() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = h.cmd(
        inbound.session,
        SessionCommand::SendInfo {
            call: inbound.call,
            mime_type: "application/json".into(),
            body: "{\"a\":1}".into(),
            headers: vec![("X-Kind".into(), "x".into()), ("Via".into(), "evil".into())],
        },
    );
    match &ua_cmds(&out)[..] {
        [UaCommand::Info { body, headers, .. }] => {
            assert_eq!(body.content_type, "application/json");
            assert_eq!(body.data, b"{\"a\":1}");
            assert_eq!(headers, &[("X-Kind".to_string(), "x".to_string())]);
        }
        other => panic!("{other:?}"),
    }
    let out = h.cmd(
        inbound.session,
        SessionCommand::SendMessage {
            call: inbound.call,
            text: "hello".into(),
            headers: Vec::new(),
        },
    );
    assert_eq!(ua_names(&out), ["Message"]);
    assert_eq!(ua_body(&out).as_deref(), Some("hello"));
    // Past 8 KiB nothing goes out.
    let out = h.cmd(
        inbound.session,
        SessionCommand::SendMessage {
            call: inbound.call,
            text: "x".repeat(8193),
            headers: Vec::new(),
        },
    );
    assert!(ua_cmds(&out).is_empty());
    let out = h.ua(UaEvent::Message {
        leg: inbound.leg,
        content_type: "text/plain".into(),
        body: b"hi back".to_vec(),
        headers: vec![("X-From".into(), "peer".into())],
    });
    assert_eq!(call_events(&out, inbound.call), ["MessageReceived hi back"]);
}

#[test]
fn info_and_message_wait_for_a_connected_call() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = h.cmd(
        inbound.session,
        SessionCommand::SendMessage {
            call: inbound.call,
            text: "early".into(),
            headers: Vec::new(),
        },
    );
    assert!(ua_cmds(&out).is_empty());
}
