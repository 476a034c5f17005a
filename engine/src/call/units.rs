//! Players, recorders and DTMF: the call layer's side of the media units a
//! session creates. Loading (download, decode, speech) runs off the signalling
//! task and comes back as `Internal::Loaded`; the media workers report
//! playback and recording progress as `MediaEvent`s.

use super::{CallLayer, Internal};
use dialtone_audio::{AudioLibrary, TtsRequest};
use dialtone_core::messages::{
    CallEvent, PlayerEvent, PlayerOp, PlayerSource, RecordFormat, RecorderEvent, RecorderOp,
    SessionCommand, SessionEvent,
};
use dialtone_core::{CallId, SessionId, UnitId};
use dialtone_media::{MediaEvent, PlayerMedia, RecorderSpec};
use dialtone_sip::{Body, LegId, UaCommand, UaCore};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What the call layer needs for media units.
pub struct UnitsEnv {
    pub audio: AudioLibrary,
    /// Recordings are written here.
    pub recordings_dir: PathBuf,
    /// Recording URLs are this prefix plus the file name, e.g.
    /// `http://host:port/recordings`.
    pub recordings_url: String,
    /// Sessions, calls and recordings are reported here.
    pub history: std::sync::Arc<dyn crate::history::HistorySink>,
    /// Calls and sessions are counted here for `GET /metrics`.
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// Sessions' `accessURL`s are this prefix plus `/SESSION/TOKEN`, e.g.
    /// `http://host:port/access`.
    pub access_base: String,
}

pub struct Unit {
    pub session: SessionId,
    /// A call's playback or `record()`: events go to that call.
    pub owner: Option<CallId>,
    pub kind: Kind,
}

pub enum Kind {
    /// `pending`: controls a script sent while the source was loading, applied
    /// once the player exists in the media engine (`None` once it does).
    Player {
        looped: bool,
        pending: Option<Vec<PlayerOp>>,
    },
    Recorder {
        url: String,
    },
}

/// Gap between SIP INFO digits, and the length of a `p` pause.
const INFO_DIGIT_GAP: Duration = Duration::from_millis(250);
const PAUSE: Duration = Duration::from_millis(500);

impl CallLayer {
    pub(super) fn on_unit_command(
        &mut self,
        ua: &mut UaCore,
        now: Instant,
        session: SessionId,
        cmd: SessionCommand,
    ) {
        match cmd {
            SessionCommand::CreatePlayer {
                unit,
                source,
                looped,
                owner,
            } => self.create_player(session, unit, source, looped, owner),
            SessionCommand::PlayerControl { unit, op } => self.player_control(session, unit, op),
            SessionCommand::StopPlayback { call } => {
                if let Some(c) = self.owned_mut(session, call) {
                    if let Some(old) = c.playback.take() {
                        self.drop_unit(old);
                    }
                }
            }
            SessionCommand::HandleTones { call, enable } => {
                let media = self.media.clone();
                if let Some(c) = self.owned_mut(session, call) {
                    c.handle_tones = enable;
                    if c.local_rtp.is_some() {
                        media.set_tone_detection(dialtone_media::UnitId(call.0), enable);
                    }
                }
            }
            SessionCommand::SendDigits { call, digits } => {
                self.send_digits(ua, now, session, call, digits)
            }
            SessionCommand::CreateRecorder {
                unit,
                call,
                stereo,
                format,
            } => self.create_recorder(session, unit, call, stereo, format),
            SessionCommand::RecorderControl { unit, op } => {
                if !self.units.get(&unit).is_some_and(|u| u.session == session) {
                    return;
                }
                match op {
                    RecorderOp::Stop => self.media.release(media_unit(unit)),
                    RecorderOp::Mute(m) => self.media.mute_recorder(media_unit(unit), m),
                }
            }
            other => tracing::warn!(%session, command = ?other, "unexpected command"),
        }
    }

    fn create_player(
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
            let old = c.playback.replace(unit);
            if let Some(old) = old {
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
                },
            },
        );
        let ready = move |media: Result<PlayerMedia, String>| Internal::Loaded {
            unit,
            result: media,
        };
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
            PlayerSource::Url(url) => {
                let audio = self.env.audio.clone();
                let tx = self.internal_tx.clone();
                tokio::spawn(async move {
                    let r = audio
                        .load(&url)
                        .await
                        .map(PlayerMedia::Clip)
                        .map_err(|e| e.to_string());
                    let _ = tx.send(ready(r));
                });
            }
            PlayerSource::Tts {
                text,
                voice,
                rate,
                engine,
            } => {
                let audio = self.env.audio.clone();
                let tx = self.internal_tx.clone();
                tokio::spawn(async move {
                    let req = TtsRequest {
                        text,
                        voice,
                        rate,
                        engine,
                    };
                    let r = audio
                        .synthesize(&req)
                        .await
                        .map(PlayerMedia::Clip)
                        .map_err(|e| e.to_string());
                    let _ = tx.send(ready(r));
                });
            }
        }
    }

    pub(super) fn on_loaded(&mut self, unit: UnitId, result: Result<PlayerMedia, String>) {
        // Stopped, replaced or its session ended while loading: nothing to do.
        let Some(u) = self.units.get_mut(&unit) else {
            return;
        };
        let (session, owner) = (u.session, u.owner);
        let Kind::Player { looped, pending } = &mut u.kind else {
            return;
        };
        let (looped, pending) = (*looped, pending.take().unwrap_or_default());
        let media = result.and_then(|m| {
            self.media
                .add_player(
                    media_unit(unit),
                    session.shard(self.media_workers),
                    m,
                    looped,
                )
                .map_err(|e| e.to_string())
        });
        if media.is_ok() {
            for op in pending {
                self.apply_player_op(session, unit, op);
            }
        }
        match (media, owner) {
            (Ok(()), Some(call)) => {
                self.emit(session, call, CallEvent::PlaybackReady);
                self.media
                    .connect(media_unit(unit), dialtone_media::UnitId(call.0));
            }
            (Ok(()), None) => self.emit_unit(
                session,
                SessionEvent::Player {
                    unit,
                    event: PlayerEvent::PlaybackReady,
                },
            ),
            (Err(error), Some(call)) => {
                tracing::info!(%session, %call, %error, "playback failed");
                self.forget_playback(call, unit);
                self.emit(
                    session,
                    call,
                    CallEvent::PlaybackFinished { error: Some(error) },
                );
            }
            (Err(error), None) => {
                tracing::info!(%session, unit = unit.0, %error, "player failed");
                self.units.remove(&unit);
                self.emit_unit(
                    session,
                    SessionEvent::Player {
                        unit,
                        event: PlayerEvent::Error {
                            error: error.clone(),
                        },
                    },
                );
                self.emit_unit(
                    session,
                    SessionEvent::Player {
                        unit,
                        event: PlayerEvent::PlaybackFinished { error: Some(error) },
                    },
                );
            }
        }
    }

    fn player_control(&mut self, session: SessionId, unit: UnitId, op: PlayerOp) {
        let Some(u) = self.units.get_mut(&unit).filter(|u| u.session == session) else {
            return;
        };
        match &mut u.kind {
            // Still loading: markers and pause wait for the player; stop does not.
            Kind::Player {
                pending: Some(ops), ..
            } if op != PlayerOp::Stop => ops.push(op),
            Kind::Player { .. } => self.apply_player_op(session, unit, op),
            Kind::Recorder { .. } => {}
        }
    }

    fn apply_player_op(&mut self, session: SessionId, unit: UnitId, op: PlayerOp) {
        match op {
            PlayerOp::Pause => self.media.pause_player(media_unit(unit), true),
            PlayerOp::Resume => self.media.pause_player(media_unit(unit), false),
            PlayerOp::AddMarker(ms) => self.media.add_marker(media_unit(unit), ms),
            PlayerOp::Stop => {
                self.drop_unit(unit);
                self.emit_unit(
                    session,
                    SessionEvent::Player {
                        unit,
                        event: PlayerEvent::Stopped,
                    },
                );
            }
        }
    }

    fn create_recorder(
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
        if let Some(c) = call {
            if self.owned(session, c).is_none() {
                return;
            }
        }
        let ext = match format {
            RecordFormat::Wav => "wav",
            RecordFormat::Mp3 => "mp3",
        };
        let file = format!("{}-{}.{ext}", session, unit.0);
        let url = format!("{}/{file}", self.env.recordings_url);
        let spec = RecorderSpec {
            path: self.env.recordings_dir.join(&file),
            stereo,
            tap: call.map(|c| dialtone_media::UnitId(c.0)),
            format: match format {
                RecordFormat::Wav => dialtone_media::RecordFormat::Wav,
                RecordFormat::Mp3 => dialtone_media::RecordFormat::Mp3,
            },
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
        self.env.history.recording(session, call, &file);
        if let Err(e) =
            self.media
                .add_recorder(media_unit(unit), session.shard(self.media_workers), spec)
        {
            self.recorder_failed(unit, e.to_string());
        }
    }

    fn recorder_failed(&mut self, unit: UnitId, error: String) {
        let Some(u) = self.units.remove(&unit) else {
            return;
        };
        tracing::warn!(session = %u.session, unit = unit.0, %error, "recording failed");
        match u.owner {
            Some(call) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.recorders.retain(|r| *r != unit);
                }
                self.emit(u.session, call, CallEvent::RecordError { error });
            }
            None => self.emit_unit(
                u.session,
                SessionEvent::Recorder {
                    unit,
                    event: RecorderEvent::Error { error },
                },
            ),
        }
    }

    pub(super) fn on_unit_media_event(&mut self, ev: MediaEvent) {
        match ev {
            MediaEvent::PlayerStarted { unit, duration } => {
                let unit = core_unit(unit);
                let Some(u) = self.units.get(&unit) else {
                    return;
                };
                match u.owner {
                    Some(call) => {
                        self.emit(u.session, call, CallEvent::PlaybackStarted { duration })
                    }
                    None => self.emit_unit(
                        u.session,
                        SessionEvent::Player {
                            unit,
                            event: PlayerEvent::Started { duration },
                        },
                    ),
                }
            }
            MediaEvent::PlayerFinished(unit) => {
                let unit = core_unit(unit);
                let Some(u) = self.units.get(&unit) else {
                    return;
                };
                let (session, owner) = (u.session, u.owner);
                match owner {
                    Some(call) => {
                        self.forget_playback(call, unit);
                        self.media.release(media_unit(unit));
                        self.emit(session, call, CallEvent::PlaybackFinished { error: None });
                    }
                    None => self.emit_unit(
                        session,
                        SessionEvent::Player {
                            unit,
                            event: PlayerEvent::PlaybackFinished { error: None },
                        },
                    ),
                }
            }
            MediaEvent::PlayerMarker { unit, offset_ms } => {
                let unit = core_unit(unit);
                if let Some(u) = self.units.get(&unit) {
                    let event = PlayerEvent::MarkerReached { offset: offset_ms };
                    self.emit_unit(u.session, SessionEvent::Player { unit, event });
                }
            }
            MediaEvent::Tone { unit, tone } => {
                let call = CallId(unit.0);
                if let Some(c) = self.calls.get(&call).filter(|c| c.handle_tones) {
                    let session = c.session;
                    self.emit(
                        session,
                        call,
                        CallEvent::ToneReceived {
                            tone: tone.to_string(),
                        },
                    );
                }
            }
            MediaEvent::RecorderStarted(unit) => {
                let unit = core_unit(unit);
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
                    None => self.emit_unit(
                        session,
                        SessionEvent::Recorder {
                            unit,
                            event: RecorderEvent::Started { url },
                        },
                    ),
                }
            }
            MediaEvent::RecorderStopped { unit, duration } => {
                let unit = core_unit(unit);
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
                    None => self.emit_unit(
                        session,
                        SessionEvent::Recorder {
                            unit,
                            event: RecorderEvent::Stopped { url, duration },
                        },
                    ),
                }
            }
            MediaEvent::RecorderError { unit, error } => {
                self.recorder_failed(core_unit(unit), error)
            }
            MediaEvent::FirstAudioPacket(_)
            | MediaEvent::RtpStopped(_)
            | MediaEvent::RtpResumed(_) => {}
        }
    }

    /// DTMF in a SIP INFO.
    pub(super) fn on_info(&mut self, leg: LegId, content_type: &str, body: &[u8]) {
        let Some(call) = self.legs.get(&leg).copied() else {
            return;
        };
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        match dialtone_media::dtmf::info::parse_info(content_type, body) {
            Some(tone) if c.handle_tones => {
                let session = c.session;
                self.emit(
                    session,
                    call,
                    CallEvent::ToneReceived {
                        tone: tone.to_string(),
                    },
                );
            }
            Some(_) => {}
            None => tracing::debug!(%call, content_type, "INFO ignored"),
        }
    }

    fn send_digits(
        &mut self,
        ua: &mut UaCore,
        now: Instant,
        session: SessionId,
        call: CallId,
        digits: String,
    ) {
        let Some(c) = self.owned(session, call) else {
            return;
        };
        let rfc4733 = c
            .negotiated
            .as_ref()
            .is_some_and(|n| n.telephone_event_pt.is_some());
        if rfc4733 {
            if let Err(e) = self
                .media
                .send_digits(dialtone_media::UnitId(call.0), &digits)
            {
                tracing::warn!(%session, %call, error = %e, "sendDigits failed");
            }
            return;
        }
        // SIP INFO, paced: one digit per INFO_DIGIT_GAP, `p` waits PAUSE.
        let mut chars = digits.chars().filter(|d| !d.is_whitespace());
        let Some(first) = chars.next() else { return };
        let rest: Vec<char> = chars.collect();
        if first != 'p' && first != 'P' {
            self.send_info_digit(ua, now, call, first);
        }
        if rest.is_empty() {
            return;
        }
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let mut last = first;
            for d in rest {
                let gap = if matches!(last, 'p' | 'P') {
                    PAUSE
                } else {
                    INFO_DIGIT_GAP
                };
                tokio::time::sleep(gap).await;
                if !matches!(d, 'p' | 'P')
                    && tx.send(Internal::InfoDigit { call, digit: d }).is_err()
                {
                    return;
                }
                last = d;
            }
        });
    }

    pub(super) fn send_info_digit(
        &mut self,
        ua: &mut UaCore,
        now: Instant,
        call: CallId,
        digit: char,
    ) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let Some((content_type, text)) = dialtone_media::dtmf::info::info_body(digit, 160) else {
            tracing::debug!(%call, %digit, "not a DTMF digit; not sent");
            return;
        };
        let body = Body {
            content_type: content_type.to_string(),
            data: text.into_bytes(),
        };
        ua.handle_command(
            now,
            UaCommand::Info {
                leg: c.leg,
                body,
                headers: Vec::new(),
            },
        );
    }

    /// A call ended: its playback stops, its recorders stop and finish their
    /// files (their `RecordStopped` follows the call's `Disconnected`).
    pub(super) fn release_call_units(&mut self, call: &super::state::Call) {
        if let Some(p) = call.playback {
            self.drop_unit(p);
        }
        for r in &call.recorders {
            self.media.release(media_unit(*r));
        }
    }

    /// The session is gone: every unit it made goes, with no events.
    pub(super) fn release_session_units(&mut self, session: SessionId) {
        let mine: Vec<UnitId> = self
            .units
            .iter()
            .filter(|(_, u)| u.session == session)
            .map(|(id, _)| *id)
            .collect();
        for unit in mine {
            self.drop_unit(unit);
        }
    }

    fn drop_unit(&mut self, unit: UnitId) {
        if self.units.remove(&unit).is_some() {
            self.media.release(media_unit(unit));
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

    fn emit_unit(&self, session: SessionId, event: SessionEvent) {
        if let Some(s) = self.sessions.get(&session) {
            let _ = s.events.send(event);
        }
    }
}

fn media_unit(u: UnitId) -> dialtone_media::UnitId {
    dialtone_media::UnitId(u.0)
}

fn core_unit(u: dialtone_media::UnitId) -> UnitId {
    UnitId(u.0)
}
