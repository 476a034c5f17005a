//! Conferences in the call core: a mixer per conference on the session's
//! worker, members only from the session's own calls and players, and the
//! mixer gone with the session.

mod harness;

use dialtone_calls::{MediaCommand, Output};
use dialtone_core::messages::{OutboundCall, SessionCommand, SessionEnd, SessionEvent};
use dialtone_core::{CallId, SessionId, UnitId};
use harness::*;

fn member(conference: UnitId, member: UnitId, deaf_to: Vec<UnitId>) -> SessionCommand {
    SessionCommand::ConferenceMember {
        conference,
        member,
        send: true,
        forward: false,
        deaf_to,
    }
}

#[test]
fn a_conference_is_a_mixer_with_the_sessions_own_members() {
    let mut h = Harness::new(None);
    let a = h.connected();
    let conf = UnitId(dialtone_core::CallId::next().0);
    let out = h.cmd(a.session, SessionCommand::CreateConference { unit: conf });
    assert!(matches!(
        media_cmds(&out)[..],
        [MediaCommand::AddMixer { unit, .. }] if *unit == conf
    ));
    let me = UnitId(a.call.0);
    let out = h.cmd(a.session, member(conf, me, Vec::new()));
    match &media_cmds(&out)[..] {
        [MediaCommand::SetMember { mixer, spec }] => {
            assert_eq!(*mixer, conf);
            assert_eq!(spec.unit, me);
            assert!(spec.send && !spec.forward);
        }
        other => panic!("{other:?}"),
    }
    // Another session's call can neither join nor be named as deaf-to.
    let b = h.connected();
    let theirs = UnitId(b.call.0);
    assert!(media_cmds(&h.cmd(a.session, member(conf, theirs, Vec::new()))).is_empty());
    let out = h.cmd(a.session, member(conf, me, vec![theirs]));
    match &media_cmds(&out)[..] {
        [MediaCommand::SetMember { spec, .. }] => assert!(spec.deaf_to.is_empty()),
        other => panic!("{other:?}"),
    }
    // Nor may that session touch this conference.
    assert!(media_cmds(&h.cmd(b.session, member(conf, theirs, Vec::new()))).is_empty());
    assert!(
        media_cmds(&h.cmd(b.session, SessionCommand::StopConference { unit: conf })).is_empty()
    );
    // A conference is no member of itself.
    assert!(media_cmds(&h.cmd(a.session, member(conf, conf, Vec::new()))).is_empty());
    // The mixer goes with its session.
    let out = h.end_session(a.session, SessionEnd::Normal);
    assert!(media_cmds(&out)
        .iter()
        .any(|c| matches!(c, MediaCommand::Release(u) if *u == conf)));
}

#[test]
fn stopping_a_conference_releases_its_mixer_once() {
    let mut h = Harness::new(None);
    let a = h.connected();
    let conf = UnitId(dialtone_core::CallId::next().0);
    h.cmd(a.session, SessionCommand::CreateConference { unit: conf });
    // A second create with the same unit is ignored.
    assert!(
        media_cmds(&h.cmd(a.session, SessionCommand::CreateConference { unit: conf })).is_empty()
    );
    let out = h.cmd(a.session, SessionCommand::StopConference { unit: conf });
    assert!(matches!(media_cmds(&out)[..], [MediaCommand::Release(u)] if *u == conf));
    assert!(
        media_cmds(&h.cmd(a.session, SessionCommand::StopConference { unit: conf })).is_empty()
    );
}

fn call_conference(h: &mut Harness, session: SessionId, room: &str) -> (CallId, Vec<Output>) {
    let call = CallId::next();
    let out = h.cmd(
        session,
        SessionCommand::CallConference(Box::new(OutboundCall {
            call,
            to: room.into(),
            callerid: Some("alice".into()),
            display_name: None,
            headers: vec![("X-Room".into(), "1".into())],
            auth_user: None,
            password: None,
        })),
    );
    (call, out)
}

/// The conference session a link started, and its call.
fn alerting(out: &[Output]) -> (SessionId, CallId) {
    let start = starts(out)
        .into_iter()
        .next()
        .expect("a conference session starts");
    match start.first_event {
        Some(SessionEvent::CallAlerting(incoming)) => {
            assert_eq!(incoming.destination, "room");
            assert!(incoming.headers.iter().any(|(n, _)| n == "X-Room"));
            (start.id, incoming.call)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn call_conference_links_two_sessions_through_the_call_states() {
    let mut h = Harness::new(None);
    let caller = h.connected();
    let (x, out) = call_conference(&mut h, caller.session, "room");
    // No SIP at all: both halves are ours, joined in the media engine.
    assert!(ua_cmds(&out).is_empty(), "{:?}", ua_cmds(&out));
    let (room, y) = alerting(&out);
    assert!(media_cmds(&out).iter().any(|c| matches!(
        c,
        MediaCommand::AddLink { a, b, .. } if *a == UnitId(x.0) && *b == UnitId(y.0)
    )));
    assert_ne!(room, caller.session);
    // A second caller reaches the same conference session while it lives.
    let other = h.connected();
    let (x2, out) = call_conference(&mut h, other.session, "room");
    assert!(starts(&out).is_empty());
    let y2 = events(&out)
        .into_iter()
        .find_map(|e| match e {
            SessionEvent::CallAlerting(i) => Some(i.call),
            _ => None,
        })
        .expect("CallAlerting in the running conference session");
    // The conference session rings and answers: the caller's half connects.
    let out = h.cmd(
        room,
        SessionCommand::Ring {
            call: y,
            headers: Vec::new(),
        },
    );
    assert!(call_events(&out, x)[0].starts_with("Ringing"), "{out:?}");
    let out = h.cmd(
        room,
        SessionCommand::Answer {
            call: y,
            headers: Vec::new(),
        },
    );
    assert!(
        call_events(&out, x).contains(&"Connected".to_string()),
        "{out:?}"
    );
    assert!(call_events(&out, y).contains(&"Connected".to_string()));
    assert!(ua_cmds(&out).is_empty());
    // Both halves have RTP pointed at each other.
    let remotes = media_cmds(&out)
        .iter()
        .filter(|c| matches!(c, MediaCommand::SetRemote { .. }))
        .count();
    assert_eq!(remotes, 2);
    // INFO crosses the link.
    let out = h.cmd(
        caller.session,
        SessionCommand::SendInfo {
            call: x,
            mime_type: "text/plain".into(),
            body: "hi".into(),
            headers: Vec::new(),
        },
    );
    assert_eq!(call_events(&out, y), ["InfoReceived text/plain hi"]);
    // The caller hangs up: both halves disconnect.
    let out = h.cmd(
        caller.session,
        SessionCommand::Hangup {
            call: x,
            headers: Vec::new(),
        },
    );
    assert!(
        call_events(&out, x)[0].starts_with("Disconnected"),
        "{out:?}"
    );
    assert!(call_events(&out, y)[0].starts_with("Disconnected"));
    // The other caller's session ends before the answer: its half is
    // cancelled and the conference session hears so.
    let out = h.end_session(other.session, SessionEnd::Normal);
    assert!(
        call_events(&out, y2)[0].starts_with("Disconnected 487"),
        "{out:?}"
    );
    let _ = x2;
    // Once the conference session ends, the next call starts a new one.
    h.end_session(room, SessionEnd::Normal);
    let third = h.connected();
    let (_, out) = call_conference(&mut h, third.session, "room");
    let (again, _) = alerting(&out);
    assert_ne!(again, room);
}

#[test]
fn a_conference_call_without_a_route_or_refused_fails() {
    let mut h = Harness::new(None);
    let caller = h.connected();
    let (x, out) = call_conference(&mut h, caller.session, "nowhere");
    assert!(call_events(&out, x)[0].starts_with("Failed 404"));
    let (x, out) = call_conference(&mut h, caller.session, "room");
    let (room, y) = alerting(&out);
    let out = h.cmd(
        room,
        SessionCommand::Reject {
            call: y,
            code: 486,
            headers: Vec::new(),
        },
    );
    assert!(call_events(&out, x)[0].starts_with("Failed 486"), "{out:?}");
}
