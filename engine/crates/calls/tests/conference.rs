//! Conferences in the call core: a mixer per conference on the session's
//! worker, members only from the session's own calls and players, and the
//! mixer gone with the session.

mod harness;

use dialtone_calls::MediaCommand;
use dialtone_core::messages::{SessionCommand, SessionEnd};
use dialtone_core::UnitId;
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
