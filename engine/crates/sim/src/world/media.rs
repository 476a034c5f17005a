//! The world's side of players and recorders: playbacks that finish after
//! the spec's duration, and recordings that get a `sim://` URL.

use std::time::Duration;

use dialtone_core::messages::{
    CallEvent, PlayerEvent, PlayerOp, PlayerSource, RecorderEvent, SessionEvent,
};
use dialtone_core::{CallId, UnitId};
use tokio::time::Instant;

use super::{Due, SimPlayer, SimRecorder, World};
use crate::expect::Action;

impl World<'_> {
    pub(super) fn cancel_playback(&mut self, unit: UnitId) {
        self.timers
            .retain(|(_, due)| *due != Due::PlaybackDone(unit));
    }

    pub(super) fn playback_done(&mut self, unit: UnitId) {
        let Some(player) = self.players.get(&unit) else {
            return;
        };
        let finished = PlayerEvent::PlaybackFinished { error: None };
        match player.owner {
            Some(call) => {
                let current = self
                    .calls
                    .get_mut(&call)
                    .filter(|c| c.playback == Some(unit));
                if let Some(sim) = current {
                    sim.playback = None;
                    self.call_event(call, CallEvent::PlaybackFinished { error: None });
                }
            }
            None => self.send(SessionEvent::Player {
                unit,
                event: finished,
            }),
        }
    }

    pub(super) fn stop_recorder(&mut self, unit: UnitId) {
        let Some(recorder) = self.recorders.remove(&unit) else {
            return;
        };
        let url = recorder.url;
        let duration = Instant::now().saturating_duration_since(recorder.started);
        match recorder.call {
            Some(call) => self.call_event(call, CallEvent::RecordStopped { url, duration }),
            None => self.send(SessionEvent::Recorder {
                unit,
                event: RecorderEvent::Stopped { url, duration },
            }),
        }
    }

    pub(super) fn create_player(
        &mut self,
        unit: UnitId,
        source: PlayerSource,
        looped: bool,
        owner: Option<CallId>,
    ) {
        let key = match &source {
            PlayerSource::Url(url) => url.clone(),
            PlayerSource::Tts { text, .. } => text.clone(),
            PlayerSource::ToneScript(script) => script.clone(),
            PlayerSource::ProgressTone(country) => country.clone(),
        };
        self.act(match source {
            PlayerSource::Url(url) => Action::Play(url),
            PlayerSource::Tts { text, .. } => Action::Say(text),
            PlayerSource::ToneScript(script) => Action::ToneScript(script),
            PlayerSource::ProgressTone(country) => Action::ProgressTone(country),
        });
        let length = self.spec.playback.duration_of(&key);
        let reported = if looped { Duration::ZERO } else { length };
        self.players.insert(
            unit,
            SimPlayer {
                owner,
                paused_with: None,
            },
        );
        match owner {
            Some(call) => {
                if !self.live(call) {
                    return;
                }
                let previous = self
                    .calls
                    .get_mut(&call)
                    .and_then(|c| c.playback.replace(unit));
                if let Some(previous) = previous {
                    self.cancel_playback(previous);
                }
                self.call_event(call, CallEvent::PlaybackReady);
                let event = CallEvent::PlaybackStarted { duration: reported };
                self.call_event(call, event);
            }
            None => {
                let ready = PlayerEvent::PlaybackReady;
                self.send(SessionEvent::Player { unit, event: ready });
                let started = PlayerEvent::Started { duration: reported };
                self.send(SessionEvent::Player {
                    unit,
                    event: started,
                });
            }
        }
        if !looped {
            self.schedule(length, Due::PlaybackDone(unit));
        }
    }

    pub(super) fn player_control(&mut self, unit: UnitId, op: PlayerOp) {
        let now = Instant::now();
        let finish_at = self
            .timers
            .iter()
            .find(|(_, due)| *due == Due::PlaybackDone(unit))
            .map(|(at, _)| *at);
        let Some(player) = self.players.get_mut(&unit) else {
            return;
        };
        match op {
            PlayerOp::Stop => {
                let standalone = player.owner.is_none();
                self.cancel_playback(unit);
                if standalone {
                    let event = PlayerEvent::Stopped;
                    self.send(SessionEvent::Player { unit, event });
                }
            }
            PlayerOp::Pause => {
                if let Some(at) = finish_at {
                    player.paused_with = Some(at.saturating_duration_since(now));
                    self.cancel_playback(unit);
                }
            }
            PlayerOp::Resume => {
                if let Some(left) = player.paused_with.take() {
                    self.schedule(left, Due::PlaybackDone(unit));
                }
            }
            PlayerOp::AddMarker(_) => {}
        }
    }

    pub(super) fn create_recorder(&mut self, unit: UnitId, call: Option<CallId>) {
        let what = match call {
            Some(call) => self.label(call.into()),
            None => "recorder".into(),
        };
        self.act(Action::Record(what));
        if call.is_some_and(|c| !self.live(c)) {
            return;
        }
        self.recordings += 1;
        let url = format!("sim://recording/{}", self.recordings);
        self.recorders.insert(
            unit,
            SimRecorder {
                call,
                url: url.clone(),
                started: Instant::now(),
            },
        );
        match call {
            Some(call) => self.call_event(call, CallEvent::RecordStarted { url }),
            None => self.send(SessionEvent::Recorder {
                unit,
                event: RecorderEvent::Started { url },
            }),
        }
    }
}
