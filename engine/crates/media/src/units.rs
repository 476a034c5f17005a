//! The engine's calls for players, recorders, mixers and DTMF.

use std::sync::atomic::Ordering;

use crate::dtmf::DtmfSender;
use crate::mixer::{MemberSpec, Mixer};
use crate::player::{Player, PlayerMedia};
use crate::recorder::{ControlMsg, RecorderSpec, RecorderUnit};
use crate::worker::{Command, Unit};
use crate::{MediaEngine, MediaError, UnitId};

impl MediaEngine {
    /// A player unit on worker `shard % workers`; it starts playing at once
    /// (first frame on the next tick). Emits `PlayerStarted` on its first
    /// frame, `PlayerFinished` at the end (never when looped) and
    /// `PlayerMarker` for markers.
    pub fn add_player(
        &self,
        unit: UnitId,
        shard: usize,
        media: PlayerMedia,
        looped: bool,
    ) -> Result<(), MediaError> {
        let worker = shard % self.shared.workers.len();
        let player = Unit::Player(Box::new(Player::new(unit, media, looped)));
        self.place(unit, worker, None, player)?;
        tracing::debug!(unit = unit.0, worker, looped, "player added");
        Ok(())
    }

    /// A conference mixer on worker `shard % workers` ([`crate::mixer`]).
    /// Units hear it through the graph (`connect(mixer, unit)`); they speak
    /// into it as members ([`MediaEngine::set_member`]).
    pub fn add_mixer(&self, unit: UnitId, shard: usize) -> Result<(), MediaError> {
        let worker = shard % self.shared.workers.len();
        self.place(unit, worker, None, Unit::Mixer(Box::new(Mixer::new(unit))))?;
        tracing::debug!(unit = unit.0, worker, "mixer added");
        Ok(())
    }

    /// The two halves of a call between sessions, `a` on worker
    /// `a_shard % workers` and `b` on `b_shard`'s: what each is given to
    /// hear reaches the other ([`crate::link`]). Either goes with `release`.
    pub fn add_link(
        &self,
        a: UnitId,
        a_shard: usize,
        b: UnitId,
        b_shard: usize,
    ) -> Result<(), MediaError> {
        let n = self.shared.workers.len();
        let (ea, eb) = crate::link::pair(a, b);
        self.place(a, a_shard % n, None, Unit::Link(Box::new(ea)))?;
        if let Err(e) = self.place(b, b_shard % n, None, Unit::Link(Box::new(eb))) {
            self.release(a);
            return Err(e);
        }
        tracing::debug!(a = a.0, b = b.0, "link added");
        Ok(())
    }

    /// Adds a member to a mixer, or changes what it does. A member must be
    /// on the mixer's worker (the engine places a session's units on one
    /// worker); one elsewhere is kept but contributes nothing.
    pub fn set_member(&self, mixer: UnitId, spec: MemberSpec) {
        {
            let control = self.shared.control.lock();
            let worker = |u: &UnitId| control.placed.get(u).map(|p| p.worker);
            if let (Some(a), Some(b)) = (worker(&mixer), worker(&spec.unit)) {
                if a != b {
                    tracing::warn!(
                        mixer = mixer.0,
                        member = spec.unit.0,
                        "conference member on another media worker is not mixed"
                    );
                }
            }
        }
        self.to_worker_of(mixer, Command::SetMember { mixer, spec });
    }

    pub fn remove_member(&self, mixer: UnitId, unit: UnitId) {
        self.to_worker_of(mixer, Command::RemoveMember { mixer, unit });
    }

    /// A paused player sends nothing and does not advance.
    pub fn pause_player(&self, unit: UnitId, paused: bool) {
        self.to_worker_of(unit, Command::PausePlayer { unit, paused });
    }

    /// `offset_ms` into the media; negative counts from the end (clips only).
    pub fn add_marker(&self, unit: UnitId, offset_ms: i64) {
        self.to_worker_of(unit, Command::AddMarker { unit, offset_ms });
    }

    /// A recorder unit writing to `spec.path` (created; its directory must
    /// exist). With a tap it records that call's two directions: mono mixes
    /// them, stereo puts what the peer says left and what the call sends
    /// right; the call must be on the same worker (same shard), else both
    /// sides record as silence. Without a tap it records its graph input,
    /// mono. The file is
    /// opened by the writer thread: `RecorderStarted` or `RecorderError`
    /// follows.
    pub fn add_recorder(
        &self,
        unit: UnitId,
        shard: usize,
        spec: RecorderSpec,
    ) -> Result<(), MediaError> {
        let worker = shard % self.shared.workers.len();
        if self.shared.control.lock().placed.contains_key(&unit) {
            return Err(MediaError::AlreadyAllocated(unit));
        }
        let id = self.shared.next_recording.fetch_add(1, Ordering::Relaxed);
        // A graph-input recording is mono whatever was asked: it has one source.
        let stereo = spec.stereo && spec.tap.is_some();
        // The open goes first, so the writer knows the file before the
        // worker's first frame for it.
        self.shared.writer.control(ControlMsg::Open {
            id,
            unit,
            path: spec.path,
            stereo,
            format: spec.format,
            budget: spec.budget,
        });
        let rec = Unit::Recorder(Box::new(RecorderUnit {
            unit,
            id,
            stereo,
            tap: spec.tap,
            muted: false,
        }));
        if let Err(e) = self.place(unit, worker, None, rec) {
            self.shared.writer.control(ControlMsg::Close { id });
            return Err(e);
        }
        tracing::debug!(unit = unit.0, worker, stereo, "recorder added");
        Ok(())
    }

    /// A muted recorder writes silence, keeping the file's timeline.
    pub fn mute_recorder(&self, unit: UnitId, muted: bool) {
        self.to_worker_of(unit, Command::MuteRecorder { unit, muted });
    }

    /// DTMF detection on an endpoint: `Tone` events from RFC 4733 when the
    /// peer negotiated telephone-event, else from in-band audio.
    /// A call's received audio is heard as silence by everyone (or again
    /// as it is).
    pub fn mute_endpoint(&self, unit: UnitId, muted: bool) {
        self.to_worker_of(unit, Command::MuteEndpoint { unit, muted });
    }

    pub fn set_tone_detection(&self, unit: UnitId, enabled: bool) {
        self.to_worker_of(unit, Command::ToneDetection { unit, enabled });
    }

    /// A `Statistics` event for the call's endpoint every `interval`, with
    /// RTCP to and from its peer (`None`: stop).
    pub fn set_statistics(&self, unit: UnitId, interval: Option<std::time::Duration>) {
        self.to_worker_of(unit, Command::Statistics { unit, interval });
    }

    /// Sends `digits` (`0-9 * # A-D`, `p` = pause) as RFC 4733 events. An
    /// error means nothing was queued: the unit is unknown, its peer has no
    /// telephone-event payload type (use SIP INFO instead), or a digit is
    /// invalid.
    pub fn send_digits(&self, unit: UnitId, digits: &str) -> Result<(), MediaError> {
        let control = self.shared.control.lock();
        let placement = control
            .placed
            .get(&unit)
            .filter(|p| p.port.is_some())
            .ok_or(MediaError::UnknownUnit(unit))?;
        if !placement.telephone_event {
            return Err(MediaError::NoTelephoneEvent(unit));
        }
        // Checked here so the caller hears of a bad digit; the worker's
        // queue then accepts the same string.
        DtmfSender::new().queue(digits)?;
        self.send(
            placement.worker,
            Command::SendDigits {
                unit,
                digits: digits.to_owned(),
            },
        );
        Ok(())
    }

    fn to_worker_of(&self, unit: UnitId, cmd: Command) {
        let control = self.shared.control.lock();
        match control.placed.get(&unit) {
            Some(p) => self.send(p.worker, cmd),
            None => tracing::debug!(unit = unit.0, "command for an unknown media unit ignored"),
        }
    }
}
