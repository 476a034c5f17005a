//! Players and recorders a session creates. A call's playback (`say`,
//! `startPlayback`, `playProgressTone`) and `record()` are units owned by
//! the call: their events arrive as the call's events, and they go when the
//! call goes. Loading audio is a job; tones are made here at once.

use std::time::Duration;

use dialtone_core::messages::{
    CallEvent, PlayerEvent, PlayerOp, PlayerSource, RecordFormat, RecorderEvent, RecorderOp,
    SessionEvent,
};
use dialtone_core::{CallId, SessionId, UnitId};
use dialtone_media::{PlayerMedia, RecorderSpec};

use crate::call::Call;
use crate::io::{Fact, Job, MediaCommand, Output};
use crate::CallCore;

pub(crate) struct Unit {
    pub session: SessionId,
    /// A call's playback or `record()`: events go to that call.
    pub owner: Option<CallId>,
    pub kind: Kind,
}

impl Unit {
    pub fn is_player(&self) -> bool {
        matches!(self.kind, Kind::Player { .. })
    }
}

pub(crate) enum Kind {
    /// `pending`: controls a script sent while the source was loading,
    /// applied once the player exists in the media engine (`None` once it does).
    Player {
        looped: bool,
        pending: Option<Vec<PlayerOp>>,
        /// A sequence player's segment lengths (8 kHz samples), once loaded.
        segments: Vec<u64>,
        /// Its segment markers: where the media was told to mark (ms into
        /// the whole clip) and the offset the script gave, to report.
        segment_markers: Vec<(i64, i64)>,
    },
    Recorder {
        url: String,
    },
    /// A conference's mixer.
    Conference,
}

impl CallCore {
    pub(crate) fn create_player(
        &mut self,
        session: SessionId,
        unit: UnitId,
        source: PlayerSource,
        looped: bool,
        owner: Option<CallId>,
    ) {
        if !self.sessions.contains_key(&session) || self.units.contains_key(&unit) {
            return;
        }
        if let Some(call) = owner {
            let Some(c) = self.owned_mut(session, call) else {
                return;
            };
            // A new playback replaces the old one, as in VoxEngine.
            if let Some(old) = c.playback.replace(unit) {
                self.drop_unit(old);
            }
        }
        self.units.insert(
            unit,
            Unit {
                session,
                owner,
                kind: Kind::Player {
                    looped,
                    pending: Some(Vec::new()),
                    segments: Vec::new(),
                    segment_markers: Vec::new(),
                },
            },
        );
        match source {
            PlayerSource::ToneScript(script) => {
                let media = dialtone_media::tones::ToneScript::parse(&script)
                    .map(PlayerMedia::Tones)
                    .map_err(|e| format!("bad tone script: {e}"));
                self.on_loaded(unit, media);
            }
            PlayerSource::ProgressTone(country) => {
                let media = dialtone_media::tones::progress_tone(&country)
                    .map(PlayerMedia::Tones)
                    .ok_or_else(|| format!("no progress tone for country {country:?}"));
                self.on_loaded(unit, media);
            }
            source @ (PlayerSource::Url(_)
            | PlayerSource::Tts { .. }
            | PlayerSource::Sequence(_)) => self.output(Output::Job(Job::Load { unit, source })),
        }
    }

    /// A player's audio is ready (or could not be had).
    pub(crate) fn on_loaded(&mut self, unit: UnitId, result: Result<PlayerMedia, String>) {
        // Stopped, replaced or its session ended while loading: nothing to do.
        let Some(u) = self.units.get_mut(&unit) else {
            return;
        };
        let (session, owner) = (u.session, u.owner);
        let Kind::Player {
            looped, pending, ..
        } = &mut u.kind
        else {
            return;
        };
        let (looped, pending) = (*looped, pending.take().unwrap_or_default());
        let media = match result {
            Ok(media) => media,
            Err(error) => return self.player_failed(unit, error),
        };
        let shard = self.shard(session);
        self.media(MediaCommand::AddPlayer {
            unit,
            shard,
            media,
            looped,
        });
        for op in pending {
            self.apply_player_op(session, unit, op);
        }
        match owner {
            Some(call) => {
                self.emit(session, call, CallEvent::PlaybackReady);
                self.media(MediaCommand::Connect {
                    from: unit,
                    to: UnitId(call.0),
                });
            }
            None => self.player_event(session, unit, PlayerEvent::PlaybackReady),
        }
    }

    /// A sequence player's segments are loaded (joined into one clip).
    pub(crate) fn on_sequence_loaded(
        &mut self,
        unit: UnitId,
        result: Result<(dialtone_media::Clip, Vec<u64>), String>,
    ) {
        let media = result.map(|(clip, samples)| {
            if let Some(Unit {
                kind: Kind::Player { segments, .. },
                ..
            }) = self.units.get_mut(&unit)
            {
                *segments = samples;
            }
            PlayerMedia::Clip(clip)
        });
        self.on_loaded(unit, media);
    }

    /// A player could not load or start: its playback ends with the error.
    pub(crate) fn player_failed(&mut self, unit: UnitId, error: String) {
        let Some(u) = self.units.get(&unit) else {
            return;
        };
        let (session, owner) = (u.session, u.owner);
        match owner {
            Some(call) => {
                tracing::info!(%session, %call, %error, "playback failed");
                self.forget_playback(call, unit);
                self.media(MediaCommand::Release(unit));
                let error = Some(error);
                self.emit(session, call, CallEvent::PlaybackFinished { error });
            }
            None => {
                tracing::info!(%session, unit = unit.0, %error, "player failed");
                self.units.remove(&unit);
                self.media(MediaCommand::Release(unit));
                let failed = PlayerEvent::Error {
                    error: error.clone(),
                };
                self.player_event(session, unit, failed);
                let error = Some(error);
                self.player_event(session, unit, PlayerEvent::PlaybackFinished { error });
            }
        }
    }

    pub(crate) fn player_control(&mut self, session: SessionId, unit: UnitId, op: PlayerOp) {
        let Some(u) = self.units.get_mut(&unit).filter(|u| u.session == session) else {
            return;
        };
        match &mut u.kind {
            // Still loading: markers and pause wait for the player; stop does not.
            Kind::Player {
                pending: Some(ops), ..
            } if op != PlayerOp::Stop => ops.push(op),
            Kind::Player { .. } => self.apply_player_op(session, unit, op),
            Kind::Recorder { .. } | Kind::Conference => {}
        }
    }

    fn apply_player_op(&mut self, session: SessionId, unit: UnitId, op: PlayerOp) {
        match op {
            PlayerOp::Pause => self.media(MediaCommand::PausePlayer { unit, paused: true }),
            PlayerOp::Resume => self.media(MediaCommand::PausePlayer {
                unit,
                paused: false,
            }),
            PlayerOp::AddMarker(offset_ms) => {
                self.media(MediaCommand::AddMarker { unit, offset_ms })
            }
            PlayerOp::AddSegmentMarker { segment, offset_ms } => {
                let Some(Unit {
                    kind:
                        Kind::Player {
                            segments,
                            segment_markers,
                            ..
                        },
                    ..
                }) = self.units.get_mut(&unit)
                else {
                    return;
                };
                // Past the end of its segment, or of a segment there is not: never reached.
                let Some(at) = segment_offset(segments, segment, offset_ms) else {
                    return;
                };
                segment_markers.push((at, offset_ms));
                self.media(MediaCommand::AddMarker {
                    unit,
                    offset_ms: at,
                });
            }
            PlayerOp::Stop => {
                self.drop_unit(unit);
                self.player_event(session, unit, PlayerEvent::Stopped);
            }
        }
    }

    /// `call.stopPlayback()`: no event follows, as in VoxEngine.
    pub(crate) fn stop_playback(&mut self, session: SessionId, call: CallId) {
        if let Some(c) = self.owned_mut(session, call) {
            if let Some(old) = c.playback.take() {
                self.drop_unit(old);
            }
        }
    }

    pub(crate) fn create_recorder(
        &mut self,
        session: SessionId,
        unit: UnitId,
        call: Option<CallId>,
        stereo: bool,
        format: RecordFormat,
    ) {
        if !self.sessions.contains_key(&session) || self.units.contains_key(&unit) {
            return;
        }
        if call.is_some_and(|c| !self.owns_call(session, c)) {
            return;
        }
        // The account's recording quota: checked once here, then charged by
        // the writer as the file grows.
        let account = self
            .sessions
            .get(&session)
            .and_then(|s| s.owner.as_ref())
            .map(|o| o.account.clone());
        let budget = match account.map(|a| self.services.recording_budget(&a)) {
            None => None,
            Some(Ok(budget)) => budget,
            Some(Err(error)) => return self.recording_refused(session, unit, call, error),
        };
        let ext = match format {
            RecordFormat::Wav => "wav",
            RecordFormat::Mp3 => "mp3",
        };
        let file = format!("{}-{}.{ext}", session, unit.0);
        let url = format!("{}/{file}", self.cfg.recordings_url);
        let spec = RecorderSpec {
            path: self.cfg.recordings_dir.join(&file),
            stereo,
            tap: call.map(|c| dialtone_media::UnitId(c.0)),
            format: match format {
                RecordFormat::Wav => dialtone_media::RecordFormat::Wav,
                RecordFormat::Mp3 => dialtone_media::RecordFormat::Mp3,
            },
            budget,
        };
        self.units.insert(
            unit,
            Unit {
                session,
                owner: call,
                kind: Kind::Recorder { url },
            },
        );
        if let Some(c) = call.and_then(|c| self.calls.get_mut(&c)) {
            c.recorders.push(unit);
        }
        self.fact(Fact::Recording {
            session,
            call,
            file,
        });
        let shard = self.shard(session);
        self.media(MediaCommand::AddRecorder { unit, shard, spec });
    }

    /// A recording that may not start: its error event, and no file, unit
    /// or history entry.
    fn recording_refused(
        &mut self,
        session: SessionId,
        unit: UnitId,
        call: Option<CallId>,
        error: String,
    ) {
        tracing::info!(%session, unit = unit.0, %error, "recording refused");
        match call {
            Some(call) => self.emit(session, call, CallEvent::RecordError { error }),
            None => {
                let event = RecorderEvent::Error { error };
                self.event(session, SessionEvent::Recorder { unit, event });
            }
        }
    }

    pub(crate) fn recorder_control(&mut self, session: SessionId, unit: UnitId, op: RecorderOp) {
        if self.units.get(&unit).is_none_or(|u| u.session != session) {
            return;
        }
        match op {
            // The unit goes when the media engine reports the file finished.
            RecorderOp::Stop => self.media(MediaCommand::Release(unit)),
            RecorderOp::Mute(muted) => self.media(MediaCommand::MuteRecorder { unit, muted }),
        }
    }

    pub(crate) fn recorder_failed(&mut self, unit: UnitId, error: String) {
        let Some(u) = self.units.remove(&unit) else {
            return;
        };
        tracing::warn!(session = %u.session, unit = unit.0, %error, "recording failed");
        self.media(MediaCommand::Release(unit));
        match u.owner {
            Some(call) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.recorders.retain(|r| *r != unit);
                }
                self.emit(u.session, call, CallEvent::RecordError { error });
            }
            None => {
                let event = RecorderEvent::Error { error };
                self.event(u.session, SessionEvent::Recorder { unit, event });
            }
        }
    }

    pub(crate) fn on_player_started(&mut self, unit: UnitId, duration: Duration) {
        let Some(u) = self.units.get(&unit) else {
            return;
        };
        let session = u.session;
        match u.owner {
            Some(call) => self.emit(session, call, CallEvent::PlaybackStarted { duration }),
            None => self.player_event(session, unit, PlayerEvent::Started { duration }),
        }
    }

    pub(crate) fn on_player_finished(&mut self, unit: UnitId) {
        let Some(u) = self.units.get(&unit) else {
            return;
        };
        let (session, owner) = (u.session, u.owner);
        let finished = PlayerEvent::PlaybackFinished { error: None };
        match owner {
            Some(call) => {
                self.forget_playback(call, unit);
                self.media(MediaCommand::Release(unit));
                self.emit(session, call, CallEvent::PlaybackFinished { error: None });
            }
            None => self.player_event(session, unit, finished),
        }
    }

    pub(crate) fn on_player_marker(&mut self, unit: UnitId, offset_ms: i64) {
        let Some(u) = self.units.get_mut(&unit) else {
            return;
        };
        let session = u.session;
        // A segment marker reports the offset the script gave.
        let mut offset = offset_ms;
        if let Kind::Player {
            segment_markers, ..
        } = &mut u.kind
        {
            if let Some(i) = segment_markers.iter().position(|(at, _)| *at == offset_ms) {
                offset = segment_markers.remove(i).1;
            }
        }
        self.player_event(session, unit, PlayerEvent::MarkerReached { offset });
    }

    pub(crate) fn on_recorder_started(&mut self, unit: UnitId) {
        let Some(Unit {
            session,
            owner,
            kind: Kind::Recorder { url },
        }) = self.units.get(&unit)
        else {
            return;
        };
        let (session, owner, url) = (*session, *owner, url.clone());
        match owner {
            Some(call) => self.emit(session, call, CallEvent::RecordStarted { url }),
            None => {
                let event = RecorderEvent::Started { url };
                self.event(session, SessionEvent::Recorder { unit, event });
            }
        }
    }

    pub(crate) fn on_recorder_stopped(&mut self, unit: UnitId, duration: Duration) {
        let Some(Unit {
            session,
            owner,
            kind: Kind::Recorder { url },
        }) = self.units.remove(&unit)
        else {
            return;
        };
        match owner {
            Some(call) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.recorders.retain(|r| *r != unit);
                }
                self.emit(session, call, CallEvent::RecordStopped { url, duration });
            }
            None => {
                let event = RecorderEvent::Stopped { url, duration };
                self.event(session, SessionEvent::Recorder { unit, event });
            }
        }
    }

    /// A call ended: its playback stops, its recorders stop and finish their
    /// files (their `RecordStopped` follows the call's `Disconnected`).
    pub(crate) fn release_call_units(&mut self, call: &Call) {
        if let Some(p) = call.playback {
            self.drop_unit(p);
        }
        for r in &call.recorders {
            self.media(MediaCommand::Release(*r));
        }
    }

    /// The session is gone: every unit it made goes, with no events.
    pub(crate) fn release_session_units(&mut self, session: SessionId) {
        let mut mine: Vec<UnitId> = self
            .units
            .iter()
            .filter(|(_, u)| u.session == session)
            .map(|(id, _)| *id)
            .collect();
        mine.sort_unstable();
        for unit in mine {
            self.drop_unit(unit);
        }
    }

    fn drop_unit(&mut self, unit: UnitId) {
        if self.units.remove(&unit).is_some() {
            self.media(MediaCommand::Release(unit));
        }
    }

    fn forget_playback(&mut self, call: CallId, unit: UnitId) {
        self.units.remove(&unit);
        if let Some(c) = self.calls.get_mut(&call) {
            if c.playback == Some(unit) {
                c.playback = None;
            }
        }
    }

    fn player_event(&mut self, session: SessionId, unit: UnitId, event: PlayerEvent) {
        self.event(session, SessionEvent::Player { unit, event });
    }
}

/// Where a marker `offset_ms` into segment `segment` falls in the whole
/// clip, in ms from its start: a negative offset counts back from the
/// segment's end (no further than its start); one past its end, or a
/// segment there is not, is never reached.
fn segment_offset(segments: &[u64], segment: u32, offset_ms: i64) -> Option<i64> {
    let index = usize::try_from(segment).ok()?;
    let samples = *segments.get(index)?;
    let before: u64 = segments.get(..index)?.iter().sum();
    // 8 samples a millisecond.
    let ms = |samples: u64| i64::try_from(samples / 8).unwrap_or(i64::MAX);
    let (start, length) = (ms(before), ms(samples));
    let within = if offset_ms >= 0 {
        (offset_ms <= length).then_some(offset_ms)?
    } else {
        length.saturating_add(offset_ms).max(0)
    };
    Some(start.saturating_add(within))
}

#[cfg(test)]
mod tests {
    use super::segment_offset;

    #[test]
    fn segment_markers_fall_inside_their_segment() {
        // 1 s, 2 s and 0.5 s at 8 kHz.
        let segments = [8_000, 16_000, 4_000];
        assert_eq!(segment_offset(&segments, 0, 0), Some(0));
        assert_eq!(segment_offset(&segments, 0, 250), Some(250));
        assert_eq!(segment_offset(&segments, 1, 0), Some(1_000));
        assert_eq!(segment_offset(&segments, 1, -500), Some(2_500));
        assert_eq!(segment_offset(&segments, 2, 500), Some(3_500));
        // Further back than its start: the start.
        assert_eq!(segment_offset(&segments, 2, -9_000), Some(3_000));
        // Past its end, or no such segment: never.
        assert_eq!(segment_offset(&segments, 0, 1_001), None);
        assert_eq!(segment_offset(&segments, 3, 0), None);
        assert_eq!(segment_offset(&[], 0, 0), None);
    }
}
