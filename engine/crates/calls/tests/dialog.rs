//! Requests inside a dialog (re-INVITE), `Net` requests and media events,
//! as the call core answers them.

mod harness;

use std::time::Duration;

use dialtone_calls::{Job, JobResult, MediaCommand};
use dialtone_core::messages::{HttpResult, SessionCommand, SessionEnd, SessionEvent};
use dialtone_media::MediaEvent;
use dialtone_sdp::LocalMedia;
use dialtone_sip::{UaCommand, UaEvent};
use harness::*;

fn reinvite_answer(out: &[dialtone_calls::Output]) -> Option<(u16, Option<String>)> {
    ua_cmds(out).into_iter().find_map(|c| match c {
        UaCommand::AnswerReInvite { code, body, .. } => {
            Some((code, body.and_then(|b| String::from_utf8(b.data).ok())))
        }
        _ => None,
    })
}

#[test]
fn a_reinvite_with_a_new_offer_is_answered_and_repoints_media() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let moved = LocalMedia {
        session_version: 2,
        ..peer_media(6000)
    };
    let out = h.ua(UaEvent::ReInvite {
        leg: inbound.leg,
        body: Some(sdp(dialtone_sdp::make_offer(&moved))),
        headers: Vec::new(),
    });
    let (code, body) = reinvite_answer(&out).expect("answered");
    assert_eq!(code, 200);
    let body = body.expect("an SDP answer");
    // Our version grows with every new description.
    assert!(body.contains(" 2 IN IP4 127.0.0.1"), "{body}");
    assert!(matches!(
        media_cmds(&out)[0],
        MediaCommand::SetRemote { params, .. } if params.remote.port() == 6000
    ));
}

#[test]
fn a_hold_reinvite_is_answered_recvonly() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let hold = dialtone_sdp::make_offer(&peer_media(4000)).replace("a=sendrecv", "a=sendonly");
    let out = h.ua(UaEvent::ReInvite {
        leg: inbound.leg,
        body: Some(sdp(hold)),
        headers: Vec::new(),
    });
    let (code, body) = reinvite_answer(&out).expect("answered");
    assert_eq!(code, 200);
    assert!(body.expect("answer").contains("a=recvonly"));
}

#[test]
fn an_offerless_reinvite_gets_our_offer() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = h.ua(UaEvent::ReInvite {
        leg: inbound.leg,
        body: None,
        headers: Vec::new(),
    });
    let (code, body) = reinvite_answer(&out).expect("answered");
    assert_eq!(code, 200);
    assert!(body.expect("offer").contains("a=sendrecv"));
    assert!(media_cmds(&out).is_empty());
}

#[test]
fn a_reinvite_we_cannot_answer_gets_488() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let out = h.ua(UaEvent::ReInvite {
        leg: inbound.leg,
        body: Some(g722_offer()),
        headers: Vec::new(),
    });
    assert_eq!(reinvite_answer(&out), Some((488, None)));
    // The call goes on.
    assert_eq!(h.core.live_calls(), 1);
}

#[test]
fn a_reinvite_on_an_unknown_leg_gets_481() {
    let mut h = Harness::default();
    let out = h.ua(UaEvent::ReInvite {
        leg: 77,
        body: None,
        headers: Vec::new(),
    });
    assert_eq!(reinvite_answer(&out), Some((481, None)));
}

#[test]
fn a_reinvite_before_media_exists_gets_488() {
    let mut h = Harness::default();
    let inbound = h.invite();
    let out = h.ua(UaEvent::ReInvite {
        leg: inbound.leg,
        body: None,
        headers: Vec::new(),
    });
    assert_eq!(reinvite_answer(&out), Some((488, None)));
}

#[test]
fn a_net_request_becomes_a_job_and_its_result_an_event() {
    let mut h = Harness::default();
    let session = h.session();
    let out = h.cmd(
        session,
        SessionCommand::HttpRequest {
            id: 7,
            url: "https://api.example.com/".into(),
            method: "POST".into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some(b"{}".to_vec()),
            timeout: Duration::from_secs(3),
        },
    );
    let Job::Http(job) = &jobs(&out)[0] else {
        panic!("no HTTP job");
    };
    assert_eq!(
        (job.session, job.id, job.method.as_str()),
        (session, 7, "POST")
    );
    let result = HttpResult {
        code: 201,
        headers: Vec::new(),
        text: "made".into(),
        error: None,
    };
    let out = h.job(JobResult::Http {
        session,
        id: 7,
        result: result.clone(),
    });
    assert!(matches!(
        &events(&out)[0],
        SessionEvent::HttpResponse { id: 7, result: r } if *r == result
    ));
}

#[test]
fn a_net_result_for_a_session_that_ended_is_dropped() {
    let mut h = Harness::default();
    let session = h.session();
    h.end_session(session, SessionEnd::Normal);
    let out = h.cmd(
        session,
        SessionCommand::HttpRequest {
            id: 1,
            url: "http://x/".into(),
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            timeout: Duration::from_secs(1),
        },
    );
    assert!(out.is_empty(), "no job for a session that is gone");
    let out = h.job(JobResult::Http {
        session,
        id: 1,
        result: HttpResult::failure(-7, "late"),
    });
    assert!(out.is_empty());
}

#[test]
fn rtp_events_reach_the_call_they_belong_to() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let unit = media_unit(inbound.call);
    for (event, want) in [
        (
            MediaEvent::FirstAudioPacket(unit),
            "FirstAudioPacketReceived",
        ),
        (MediaEvent::RtpStopped(unit), "RtpStopped"),
        (MediaEvent::RtpResumed(unit), "RtpResumed"),
    ] {
        assert_eq!(call_events(&h.media(event), inbound.call), [want]);
    }
    // Events of units nobody knows are dropped.
    let stray = dialtone_media::UnitId(u64::MAX);
    assert!(h.media(MediaEvent::FirstAudioPacket(stray)).is_empty());
    assert!(h
        .media(MediaEvent::Tone {
            unit: stray,
            tone: '1'
        })
        .is_empty());
}
