//! A player unit: a graph source with no input, playing a shared decoded
//! clip or a tone script, one 20 ms frame per media tick.
//!
//! Position is counted in samples, not time, so a paused player simply does
//! not advance and a late worker's skipped ticks do not skip audio. Each tick
//! the frame is rendered once as PCM; each codec's encoding is made on first
//! use in that tick and shared by every output speaking that codec.

use std::sync::Arc;
use std::time::Duration;

use crate::codec::{Codec, EncodedFrame, EncodedOnce, PcmFrame, FRAME_SAMPLES};
use crate::tones::{ToneGenerator, ToneScript};
use crate::{MediaEvent, UnitId};

/// 8 kHz mono PCM shared by every player of the same source (decoded once elsewhere).
pub type Clip = Arc<[i16]>;

const RATE: u64 = 8000;

pub enum PlayerMedia {
    Clip(Clip),
    Tones(ToneScript),
}

enum Source {
    Clip { clip: Clip, pos: usize },
    Tones(Box<ToneGenerator>),
}

struct Marker {
    /// Samples played (loops included) at which it fires.
    at: u64,
    offset_ms: i64,
}

pub struct Player {
    unit: UnitId,
    source: Source,
    looped: bool,
    paused: bool,
    started: bool,
    finished: bool,
    duration: Duration,
    /// Samples output since the start.
    played: u64,
    markers: Vec<Marker>,
    pcm: PcmFrame,
    has_frame: bool,
    encoded: EncodedOnce,
}

impl Player {
    pub fn new(unit: UnitId, media: PlayerMedia, looped: bool) -> Player {
        let (source, duration) = match media {
            PlayerMedia::Clip(clip) => {
                let d = Duration::from_micros(clip.len() as u64 * 1_000_000 / RATE);
                (Source::Clip { clip, pos: 0 }, d)
            }
            PlayerMedia::Tones(script) => {
                // An endless script reports zero: there is no length to give.
                let d = script.duration().unwrap_or(Duration::ZERO);
                (
                    Source::Tones(Box::new(ToneGenerator::new(script, looped))),
                    d,
                )
            }
        };
        Player {
            unit,
            source,
            looped,
            paused: false,
            started: false,
            finished: false,
            duration,
            played: 0,
            markers: Vec::new(),
            pcm: [0; FRAME_SAMPLES],
            has_frame: false,
            encoded: EncodedOnce::default(),
        }
    }

    pub fn unit(&self) -> UnitId {
        self.unit
    }

    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Samples played so far.
    pub fn played(&self) -> u64 {
        self.played
    }

    /// A marker `offset_ms` into the media; negative counts back from the
    /// end of a clip (ignored for tone scripts, whose end may not exist).
    pub fn add_marker(&mut self, offset_ms: i64) {
        let samples = offset_ms.unsigned_abs().saturating_mul(RATE) / 1000;
        let at = if offset_ms >= 0 {
            samples
        } else {
            match &self.source {
                // Further back than the start: the start.
                Source::Clip { clip, .. } => (clip.len() as u64).saturating_sub(samples),
                Source::Tones(_) => return,
            }
        };
        self.markers.push(Marker { at, offset_ms });
    }

    /// Produces this tick's frame and the events it causes.
    pub fn tick(&mut self, events: &mut Vec<MediaEvent>) {
        self.encoded.clear();
        self.has_frame = false;
        if self.paused || self.finished {
            return;
        }
        if !self.started {
            self.started = true;
            events.push(MediaEvent::PlayerStarted {
                unit: self.unit,
                duration: self.duration,
            });
        }
        let (produced, ended) = match &mut self.source {
            Source::Clip { clip, pos } => fill_from_clip(clip, pos, self.looped, &mut self.pcm),
            Source::Tones(gen) => {
                let produced = gen.fill(&mut self.pcm);
                // A script ending part-way through this frame is already over.
                (if produced { FRAME_SAMPLES } else { 0 }, gen.is_finished())
            }
        };
        let before = self.played;
        self.played += produced as u64;
        self.has_frame = produced > 0;
        let played = self.played;
        self.markers.retain(|m| {
            let reached = m.at >= before && (m.at < played || (ended && m.at <= played));
            if reached {
                events.push(MediaEvent::PlayerMarker {
                    unit: self.unit,
                    offset_ms: m.offset_ms,
                });
            }
            // Markers left behind (added after their moment) can never fire.
            !reached && m.at >= before
        });
        if ended {
            self.finished = true;
            events.push(MediaEvent::PlayerFinished(self.unit));
        }
    }

    /// This tick's audio, if the player produced any.
    pub fn pcm(&self) -> Option<&PcmFrame> {
        self.has_frame.then_some(&self.pcm)
    }

    /// This tick's audio encoded as `dst`; false when there is none.
    pub fn render(&mut self, dst: Codec, out: &mut EncodedFrame) -> bool {
        if !self.has_frame {
            return false;
        }
        let pcm = &self.pcm;
        self.encoded
            .copy_into(dst, out, |enc| dst.encode_frame(pcm, enc));
        true
    }
}

/// Copies the next frame of `clip` from `pos`, wrapping when looped and
/// padding the last frame with silence otherwise. Returns (samples of the
/// clip used, whether the clip is over).
fn fill_from_clip(
    clip: &[i16],
    pos: &mut usize,
    looped: bool,
    out: &mut PcmFrame,
) -> (usize, bool) {
    if clip.is_empty() {
        out.fill(0);
        return (0, true);
    }
    let mut filled = 0;
    while filled < FRAME_SAMPLES {
        if *pos >= clip.len() {
            if !looped {
                break;
            }
            *pos = 0;
        }
        let n = (FRAME_SAMPLES - filled).min(clip.len() - *pos);
        let (Some(dst), Some(src)) = (out.get_mut(filled..filled + n), clip.get(*pos..*pos + n))
        else {
            break;
        };
        dst.copy_from_slice(src);
        filled += n;
        *pos += n;
    }
    if let Some(rest) = out.get_mut(filled..) {
        rest.fill(0);
    }
    let ended = !looped && *pos >= clip.len();
    (filled, ended)
}

#[cfg(test)]
#[path = "player_tests.rs"]
mod tests;
