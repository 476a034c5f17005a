//! The simulated media engine: it takes the call core's [`MediaCommand`]s
//! and reports what the media workers would, on virtual time. Players last
//! as long as the spec says (no audio is decoded), recorders record nothing
//! but their length, and a peer's first RTP packet arrives one packet time
//! after its call's media is set up.

use std::collections::HashMap;
use std::time::Duration;

use dialtone_calls::MediaCommand;
use dialtone_core::UnitId;
use dialtone_media::MediaEvent;
use tokio::time::Instant;

use crate::spec::Playback;

/// One RTP packet time.
const PTIME: Duration = Duration::from_millis(20);

#[derive(Default)]
struct Endpoint {
    tones: bool,
    media_set: bool,
}

struct Player {
    length: Duration,
    looped: bool,
    /// Played before the current run (pauses stop the count).
    played: Duration,
    /// Playing since, `None` while paused.
    running_since: Option<Instant>,
    /// Bumped on every pause, so timers set before it find nothing to do.
    generation: u32,
    markers: Vec<i64>,
}

impl Player {
    fn played(&self, now: Instant) -> Duration {
        self.played
            + self
                .running_since
                .map(|since| now.saturating_duration_since(since))
                .unwrap_or_default()
    }

    /// Where a marker falls in the clip, if it does.
    fn marker_at(&self, offset_ms: i64) -> Option<Duration> {
        let length = i64::try_from(self.length.as_millis()).unwrap_or(i64::MAX);
        let at = if offset_ms < 0 {
            length + offset_ms
        } else {
            offset_ms
        };
        (0..=length)
            .contains(&at)
            .then(|| Duration::from_millis(at.unsigned_abs()))
    }
}

/// A media event due later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MediaDue {
    FirstPacket(UnitId),
    Finished(UnitId, u32),
    Marker(UnitId, u32, i64),
}

/// What the media did: events now, events later, notes for the timeline.
#[derive(Default)]
pub(super) struct MediaReaction {
    pub events: Vec<MediaEvent>,
    pub later: Vec<(Duration, MediaDue)>,
    pub notes: Vec<String>,
}

#[derive(Default)]
pub(super) struct SimMedia {
    endpoints: HashMap<UnitId, Endpoint>,
    players: HashMap<UnitId, Player>,
    recorders: HashMap<UnitId, Instant>,
    /// What each player plays (URL, text, tone script, country), as the
    /// session asked for it: the key of its length in the spec.
    sources: HashMap<UnitId, Source>,
}

/// What a player plays, as far as its length goes.
pub(super) struct Source {
    /// The spec's key for its length.
    pub key: String,
    /// Its own length when it has one (a tone script): used when the spec
    /// gives none. `Some(None)`: it never ends.
    pub natural: Option<Option<Duration>>,
}

fn media_unit(unit: UnitId) -> dialtone_media::UnitId {
    dialtone_media::UnitId(unit.0)
}

impl SimMedia {
    /// The session created a player of `source`.
    pub fn player_source(&mut self, unit: UnitId, source: Source) {
        self.sources.insert(unit, source);
    }

    pub fn command(
        &mut self,
        now: Instant,
        playback: &Playback,
        cmd: MediaCommand,
    ) -> MediaReaction {
        let mut r = MediaReaction::default();
        match cmd {
            MediaCommand::SetRemote { unit, .. } => {
                let endpoint = self.endpoints.entry(unit).or_default();
                if !endpoint.media_set {
                    endpoint.media_set = true;
                    r.later.push((PTIME, MediaDue::FirstPacket(unit)));
                }
            }
            MediaCommand::Release(unit) => {
                self.endpoints.remove(&unit);
                self.players.remove(&unit);
                self.sources.remove(&unit);
                if let Some(started) = self.recorders.remove(&unit) {
                    let duration = now.saturating_duration_since(started);
                    r.events.push(MediaEvent::RecorderStopped {
                        unit: media_unit(unit),
                        duration,
                    });
                }
            }
            MediaCommand::Connect { .. }
            | MediaCommand::Disconnect { .. }
            | MediaCommand::AddMixer { .. }
            | MediaCommand::AddLink { .. }
            | MediaCommand::Statistics { .. }
            | MediaCommand::SetMember { .. }
            | MediaCommand::RemoveMember { .. } => {}
            MediaCommand::AddPlayer { unit, looped, .. } => {
                // The spec's length, else the media's own, else the default.
                let source = self.sources.get(&unit);
                let length = match source {
                    Some(s) if playback.by_source.contains_key(&s.key) => {
                        Some(playback.duration_of(&s.key))
                    }
                    Some(Source {
                        natural: Some(natural),
                        ..
                    }) => *natural,
                    _ => Some(playback.default),
                };
                // An endless source reports zero and never finishes.
                let (length, looped) = match length {
                    Some(length) => (length, looped),
                    None => (Duration::ZERO, true),
                };
                self.players.insert(
                    unit,
                    Player {
                        length,
                        looped,
                        played: Duration::ZERO,
                        running_since: Some(now),
                        generation: 0,
                        markers: Vec::new(),
                    },
                );
                // One pass of the media, looped or not, as the media workers report it.
                r.events.push(MediaEvent::PlayerStarted {
                    unit: media_unit(unit),
                    duration: length,
                });
                if !looped {
                    r.later.push((length, MediaDue::Finished(unit, 0)));
                }
            }
            MediaCommand::PausePlayer { unit, paused } => {
                if let Some(player) = self.players.get_mut(&unit) {
                    match (paused, player.running_since) {
                        (true, Some(_)) => {
                            player.played = player.played(now);
                            player.running_since = None;
                            player.generation += 1;
                        }
                        (false, None) => {
                            player.running_since = Some(now);
                            Self::schedule_rest(player, unit, &mut r);
                        }
                        _ => {}
                    }
                }
            }
            MediaCommand::AddMarker { unit, offset_ms } => {
                if let Some(player) = self.players.get_mut(&unit) {
                    player.markers.push(offset_ms);
                    let played = player.played(now);
                    if let (Some(at), Some(_)) = (player.marker_at(offset_ms), player.running_since)
                    {
                        if at >= played {
                            let due = MediaDue::Marker(unit, player.generation, offset_ms);
                            r.later.push((at - played, due));
                        }
                    }
                }
            }
            MediaCommand::AddRecorder { unit, .. } => {
                self.recorders.insert(unit, now);
                r.events.push(MediaEvent::RecorderStarted(media_unit(unit)));
            }
            MediaCommand::MuteRecorder { .. } | MediaCommand::MuteEndpoint { .. } => {}
            MediaCommand::ToneDetection { unit, enabled } => {
                self.endpoints.entry(unit).or_default().tones = enabled;
            }
            MediaCommand::SendDigits { unit, digits } => {
                if self.endpoints.contains_key(&unit) {
                    r.notes.push(format!("digits {digits:?} sent as RFC 4733"));
                }
            }
        }
        r
    }

    /// A resumed player's end and markers, from where it was paused.
    fn schedule_rest(player: &Player, unit: UnitId, r: &mut MediaReaction) {
        let played = player.played;
        if !player.looped && player.length >= played {
            let due = MediaDue::Finished(unit, player.generation);
            r.later.push((player.length - played, due));
        }
        for offset in &player.markers {
            if let Some(at) = player.marker_at(*offset).filter(|at| *at > played) {
                let due = MediaDue::Marker(unit, player.generation, *offset);
                r.later.push((at - played, due));
            }
        }
    }

    /// Whether `unit` is a call with an RTP endpoint.
    pub fn has_endpoint(&self, unit: UnitId) -> bool {
        self.endpoints.contains_key(&unit)
    }

    /// A timer of the simulated media fired.
    pub fn due(&mut self, due: MediaDue) -> Option<MediaEvent> {
        match due {
            MediaDue::FirstPacket(unit) => self
                .endpoints
                .contains_key(&unit)
                .then(|| MediaEvent::FirstAudioPacket(media_unit(unit))),
            MediaDue::Finished(unit, generation) => {
                let live = self
                    .players
                    .get(&unit)
                    .is_some_and(|p| p.generation == generation && p.running_since.is_some());
                live.then(|| {
                    self.players.remove(&unit);
                    MediaEvent::PlayerFinished(media_unit(unit))
                })
            }
            MediaDue::Marker(unit, generation, offset_ms) => self
                .players
                .get(&unit)
                .filter(|p| p.generation == generation && p.running_since.is_some())
                .map(|_| MediaEvent::PlayerMarker {
                    unit: media_unit(unit),
                    offset_ms,
                }),
        }
    }

    /// The far end of `unit` sends `digits` in RTP (RFC 4733): heard only
    /// while the call detects tones. `None` when the call has no media.
    pub fn digits_from_peer(&self, unit: UnitId, digits: &str) -> Option<Vec<MediaEvent>> {
        let endpoint = self.endpoints.get(&unit)?;
        if !endpoint.tones {
            return Some(Vec::new());
        }
        Some(
            digits
                .chars()
                .map(|tone| MediaEvent::Tone {
                    unit: media_unit(unit),
                    tone,
                })
                .collect(),
        )
    }
}
