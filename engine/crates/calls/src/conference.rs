//! Conferences of a session: a mixer unit in the media engine, and the
//! session's calls and players as its members. The scenario's bookkeeping
//! (endpoints, their ids, modes and events) lives in the script host; here
//! each command is checked against what the session owns before it reaches
//! the mixer.

use dialtone_core::{SessionId, UnitId};

use crate::io::{MediaCommand, Member};
use crate::units::{Kind, Unit};
use crate::CallCore;

impl CallCore {
    /// `VoxEngine.createConference()`: a mixer on the session's media worker.
    pub(crate) fn create_conference(&mut self, session: SessionId, unit: UnitId) {
        if !self.sessions.contains_key(&session)
            || self.units.contains_key(&unit)
            || self.calls.contains_key(&dialtone_core::CallId(unit.0))
        {
            return;
        }
        self.units.insert(
            unit,
            Unit {
                session,
                owner: None,
                kind: Kind::Conference,
            },
        );
        let shard = self.shard(session);
        self.media(MediaCommand::AddMixer { unit, shard });
    }

    fn owns_conference(&self, session: SessionId, unit: UnitId) -> bool {
        self.units
            .get(&unit)
            .is_some_and(|u| u.session == session && matches!(u.kind, Kind::Conference))
    }

    /// Adds or changes a member: a call or a player of the session. Members
    /// it is deaf to must be the session's too (others are left out).
    pub(crate) fn conference_member(
        &mut self,
        session: SessionId,
        conference: UnitId,
        mut spec: Member,
    ) {
        if !self.owns_conference(session, conference)
            || spec.unit == conference
            || !self.owns_unit(session, spec.unit)
            || self.is_conference(spec.unit)
        {
            tracing::debug!(%session, conference = conference.0, member = spec.unit.0, "conference member refused");
            return;
        }
        spec.deaf_to.retain(|u| self.owns_unit(session, *u));
        self.media(MediaCommand::SetMember {
            mixer: conference,
            spec,
        });
    }

    pub(crate) fn conference_remove(
        &mut self,
        session: SessionId,
        conference: UnitId,
        member: UnitId,
    ) {
        if self.owns_conference(session, conference) {
            self.media(MediaCommand::RemoveMember {
                mixer: conference,
                unit: member,
            });
        }
    }

    /// `conference.stop()`: the mixer goes; whoever heard it hears nothing.
    pub(crate) fn stop_conference(&mut self, session: SessionId, unit: UnitId) {
        if self.owns_conference(session, unit) {
            self.units.remove(&unit);
            self.media(MediaCommand::Release(unit));
        }
    }

    fn is_conference(&self, unit: UnitId) -> bool {
        self.units
            .get(&unit)
            .is_some_and(|u| matches!(u.kind, Kind::Conference))
    }
}
