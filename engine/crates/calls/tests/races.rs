//! Things that cross: the peer and the script acting at the same time, in
//! either order. Each ends with one last event per call and nothing left.

mod harness;

use dialtone_calls::{JobResult, MediaCommand};
use dialtone_core::messages::{PlayerSource, SessionCommand, SessionEnd};
use dialtone_core::UnitId;
use dialtone_sip::UaEvent;
use harness::*;

fn terminated(leg: u64, by_remote: bool) -> UaEvent {
    UaEvent::Terminated {
        leg,
        by_remote,
        code: 200,
        reason: "BYE".into(),
        headers: Vec::new(),
    }
}

fn last_events(all: &[dialtone_calls::Output], call: dialtone_core::CallId) -> usize {
    call_events(all, call)
        .iter()
        .filter(|e| e.starts_with("Disconnected") || e.starts_with("Failed"))
        .count()
}

#[test]
fn hangup_during_answer_then_the_ack_then_the_bye() {
    let mut h = Harness::default();
    let (inbound, mut all) = h.answering();
    all.extend(h.cmd(
        inbound.session,
        SessionCommand::Hangup {
            call: inbound.call,
            headers: Vec::new(),
        },
    ));
    all.extend(h.ua(UaEvent::Acked {
        leg: inbound.leg,
        body: None,
    }));
    all.extend(h.ua(terminated(inbound.leg, false)));
    assert!(!call_events(&all, inbound.call).contains(&"Connected".to_string()));
    assert_eq!(last_events(&all, inbound.call), 1);
    assert_clean(&h);
}

#[test]
fn the_caller_hangs_up_while_the_answer_is_on_its_way() {
    let mut h = Harness::default();
    let (inbound, _) = h.answering();
    // BYE before our 200 was ACKed: the SIP layer ends the leg.
    let out = h.ua(terminated(inbound.leg, true));
    assert_eq!(
        call_events(&out, inbound.call),
        ["Disconnected 200 BYE", "StateChanged ALERTING->TERMINATED"]
    );
    assert!(h
        .ua(UaEvent::Acked {
            leg: inbound.leg,
            body: None
        })
        .is_empty());
    assert_clean(&h);
}

#[test]
fn cancel_crossing_the_answer_command() {
    // CANCEL is processed first; the answer finds the call gone.
    let mut h = Harness::default();
    let inbound = h.invite();
    let mut all = h.ua(UaEvent::Cancelled { leg: inbound.leg });
    all.extend(h.cmd(
        inbound.session,
        SessionCommand::Answer {
            call: inbound.call,
            headers: Vec::new(),
        },
    ));
    assert!(!ua_names(&all).contains(&"Answer".to_string()));
    assert_eq!(last_events(&all, inbound.call), 1);
    assert_clean(&h);
}

#[test]
fn cancel_crossing_our_200() {
    // Our 200 went out first; a CANCEL the SIP layer still reports ends the call once.
    let mut h = Harness::default();
    let (inbound, mut all) = h.answering();
    all.extend(h.ua(UaEvent::Cancelled { leg: inbound.leg }));
    all.extend(h.ua(UaEvent::Acked {
        leg: inbound.leg,
        body: None,
    }));
    all.extend(h.ua(terminated(inbound.leg, false)));
    assert_eq!(last_events(&all, inbound.call), 1);
    assert_clean(&h);
}

#[test]
fn bye_while_a_prompt_loads() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let unit = UnitId(dialtone_core::CallId::next().0);
    let out = h.cmd(
        inbound.session,
        SessionCommand::CreatePlayer {
            unit,
            source: PlayerSource::Url("http://x/prompt.wav".into()),
            looped: false,
            owner: Some(inbound.call),
        },
    );
    assert_eq!(jobs(&out).len(), 1);
    let out = h.ua(terminated(inbound.leg, true));
    assert_eq!(call_events(&out, inbound.call)[0], "Disconnected 200 BYE");
    let out = h.job(JobResult::Loaded {
        unit,
        result: Ok(dialtone_media::PlayerMedia::Clip(std::sync::Arc::from(
            vec![0i16; 8],
        ))),
    });
    assert!(
        out.is_empty(),
        "nothing plays to a call that is gone: {out:?}"
    );
    assert_clean(&h);
}

#[test]
fn the_session_ends_while_a_prompt_loads() {
    let mut h = Harness::default();
    let session = h.session();
    let unit = UnitId(dialtone_core::CallId::next().0);
    h.cmd(
        session,
        SessionCommand::CreatePlayer {
            unit,
            source: PlayerSource::Tts {
                text: "hello".into(),
                voice: None,
                rate: None,
                engine: None,
            },
            looped: false,
            owner: None,
        },
    );
    h.end_session(session, SessionEnd::Normal);
    let out = h.job(JobResult::Loaded {
        unit,
        result: Err("late".into()),
    });
    assert!(out.is_empty());
}

#[test]
fn a_leg_failing_while_bridged_leaves_the_other_up() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let (outbound, out_leg) = h.outbound_connected(inbound.session);
    for (from, to) in [(inbound.call, outbound), (outbound, inbound.call)] {
        let out = h.cmd(
            inbound.session,
            SessionCommand::SendMedia {
                from: from.into(),
                to: to.into(),
            },
        );
        assert_eq!(media_cmds(&out).len(), 1);
    }
    let out = h.ua(UaEvent::Terminated {
        leg: out_leg,
        by_remote: false,
        code: 408,
        reason: "Request Timeout".into(),
        headers: Vec::new(),
    });
    assert_eq!(
        call_events(&out, outbound)[0],
        "Disconnected 408 Request Timeout"
    );
    assert!(call_events(&out, inbound.call).is_empty());
    assert!(media_cmds(&out)
        .iter()
        .any(|c| matches!(c, MediaCommand::Release(u) if u.0 == outbound.0)));
    assert_eq!(h.core.live_calls(), 1);
    // Wiring to the gone leg is refused from now on.
    let out = h.cmd(
        inbound.session,
        SessionCommand::SendMedia {
            from: outbound.into(),
            to: inbound.call.into(),
        },
    );
    assert!(out.is_empty());
}

#[test]
fn an_outbound_answer_after_our_cancel_is_hung_up_by_the_sip_layer() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, leg, offer) = h.dialing(session);
    h.cmd(
        session,
        SessionCommand::Hangup {
            call,
            headers: Vec::new(),
        },
    );
    // The SIP layer reports the 2xx it got anyway: the call stays ending.
    let out = h.ua(UaEvent::Answered {
        leg,
        body: Some(answer_to(&offer)),
        headers: Vec::new(),
    });
    assert!(call_events(&out, call).is_empty());
    let out = h.ua(terminated(leg, false));
    assert_eq!(call_events(&out, call)[0], "Disconnected 200 BYE");
    assert_clean(&h);
}

#[test]
fn a_failure_after_the_session_ended_cleans_up_silently() {
    let mut h = Harness::default();
    let session = h.session();
    let (call, leg, _) = h.dialing(session);
    let out = h.end_session(session, SessionEnd::ScriptError("boom".into()));
    assert_eq!(ua_names(&out), ["Hangup"]);
    let out = h.ua(UaEvent::Failed {
        leg,
        code: 487,
        reason: "Request Terminated".into(),
        headers: Vec::new(),
    });
    assert!(events(&out).is_empty());
    assert_eq!(h.core.call_status(call), None);
}

#[test]
fn two_byes_and_a_hangup_end_the_call_once() {
    let mut h = Harness::default();
    let inbound = h.connected();
    let mut all = h.ua(terminated(inbound.leg, true));
    all.extend(h.cmd(
        inbound.session,
        SessionCommand::Hangup {
            call: inbound.call,
            headers: Vec::new(),
        },
    ));
    all.extend(h.ua(terminated(inbound.leg, true)));
    assert_eq!(last_events(&all, inbound.call), 1);
    assert!(ua_cmds(&all).is_empty());
}
