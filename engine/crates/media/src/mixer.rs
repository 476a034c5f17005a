//! The conference mixer: N−1 mixing in the media tick.
//!
//! A mixer is a media unit with many inputs. Its *members* are the units
//! that speak into it (calls, players; `send`); the units that hear it are
//! those whose graph input is the mixer, as for any other source. Each tick
//! the worker hands the mixer the frame of every sending member
//! ([`Mixer::contribute`]); frames at or below [`SPEECH_FLOOR`] are left out
//! (silence and comfort noise add nothing and would force per-member mixes).
//! Then every unit that hears the mixer gets:
//!
//! - a listener that is not a member (`conference.sendMediaTo(call)`, a
//!   recorder): the full mix;
//! - a member in MIX mode: the mix of everyone but itself and the members it
//!   was told not to hear (`deaf_to`, for whisper). When it neither spoke
//!   this tick nor has a deaf-to member speaking, that *is* the full mix,
//!   and the full mix is encoded once per codec and shared;
//! - a member in FORWARD mode: the loudest other speaker it hears, unmixed.
//!
//! Mixing is in 32-bit sums of 16-bit PCM at the conference rate (8 kHz:
//! the rate of every G.711 leg; a wideband leg will be resampled to the
//! conference rate at its codec, so the mixer itself only sees frames of
//! [`FRAME_SAMPLES`]). Sums go through a soft limiter ([`soft_limit`])
//! instead of being clipped.

use std::collections::HashMap;

use crate::codec::{Codec, EncodedFrame, EncodedOnce, PcmFrame, FRAME_SAMPLES};
use crate::UnitId;

/// Peak amplitude at or below which a member's frame counts as silence
/// (about −54 dBFS).
pub const SPEECH_FLOOR: i16 = 64;

/// Where the soft limiter starts to bend (0.75 of full scale).
const KNEE: i32 = 24_576;
/// Room between the knee and full scale; the curve approaches full scale
/// asymptotically and never reaches it.
const HEADROOM: i32 = i16::MAX as i32 - KNEE;

/// One sum sample into 16 bits: linear up to the knee, then compressed so
/// that no input, however loud, clips. Continuous with slope 1 at the knee.
pub fn soft_limit(x: i32) -> i16 {
    let a = x.unsigned_abs() as i64;
    if a <= KNEE as i64 {
        return x as i16;
    }
    let d = a - KNEE as i64;
    let h = HEADROOM as i64;
    let y = KNEE as i64 + h * d / (d + h);
    let y = y.min(i16::MAX as i64) as i16;
    if x < 0 {
        -y
    } else {
        y
    }
}

/// What one member does in the conference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpec {
    pub unit: UnitId,
    /// It speaks into the mix (direction SEND or BOTH).
    pub send: bool,
    /// FORWARD mode: it hears the loudest other speaker instead of the mix.
    pub forward: bool,
    /// Members it does not hear (a supervisor whispering to someone else).
    pub deaf_to: Vec<UnitId>,
}

struct Member {
    spec: MemberSpec,
}

/// One speaker's frame this tick.
struct Spoken {
    unit: UnitId,
    pcm: PcmFrame,
    /// Sum of absolute sample values: loudness for FORWARD mode.
    energy: u64,
}

pub struct Mixer {
    unit: UnitId,
    members: Vec<Member>,
    index: HashMap<UnitId, usize>,
    /// This tick's speakers; the frames' buffers are kept between ticks.
    spoken: Vec<Spoken>,
    speakers: usize,
    sum: [i32; FRAME_SAMPLES],
    full: PcmFrame,
    /// The full mix encoded, per codec, once asked for this tick.
    encoded: EncodedOnce,
    /// How many renders this tick reused the shared encoding (for tests and
    /// the benchmark's counters).
    shared_renders: u64,
    own_renders: u64,
}

impl Mixer {
    pub fn new(unit: UnitId) -> Mixer {
        Mixer {
            unit,
            members: Vec::new(),
            index: HashMap::new(),
            spoken: Vec::new(),
            speakers: 0,
            sum: [0; FRAME_SAMPLES],
            full: [0; FRAME_SAMPLES],
            encoded: EncodedOnce::default(),
            shared_renders: 0,
            own_renders: 0,
        }
    }

    pub fn unit(&self) -> UnitId {
        self.unit
    }

    /// Adds a member or changes what it does.
    pub fn set_member(&mut self, spec: MemberSpec) {
        match self.index.get(&spec.unit) {
            Some(&i) => {
                if let Some(m) = self.members.get_mut(i) {
                    m.spec = spec;
                }
            }
            None => {
                self.index.insert(spec.unit, self.members.len());
                self.members.push(Member { spec });
            }
        }
    }

    pub fn remove_member(&mut self, unit: UnitId) {
        let Some(i) = self.index.remove(&unit) else {
            return;
        };
        self.members.swap_remove(i);
        if let Some(moved) = self.members.get(i) {
            self.index.insert(moved.spec.unit, i);
        }
        // Nobody stays deaf to a unit that left.
        for m in &mut self.members {
            m.spec.deaf_to.retain(|u| *u != unit);
        }
    }

    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// The unit of sending member `k` (`None` past the end or when it only listens).
    pub fn sender_at(&self, k: usize) -> Option<UnitId> {
        self.members
            .get(k)
            .filter(|m| m.spec.send)
            .map(|m| m.spec.unit)
    }

    /// Starts a tick: no speakers yet.
    pub fn begin_tick(&mut self) {
        self.speakers = 0;
        self.sum.fill(0);
        self.encoded.clear();
    }

    /// A sending member's frame this tick. Silence is left out.
    pub fn contribute(&mut self, unit: UnitId, pcm: &PcmFrame) {
        let mut peak = 0i16;
        let mut energy = 0u64;
        for s in pcm {
            let a = s.saturating_abs();
            peak = peak.max(a);
            energy += a as u64;
        }
        if peak <= SPEECH_FLOOR {
            return;
        }
        for (acc, s) in self.sum.iter_mut().zip(pcm) {
            *acc += i32::from(*s);
        }
        if self.speakers == self.spoken.len() {
            self.spoken.push(Spoken {
                unit,
                pcm: *pcm,
                energy,
            });
        } else if let Some(slot) = self.spoken.get_mut(self.speakers) {
            slot.unit = unit;
            slot.pcm = *pcm;
            slot.energy = energy;
        }
        self.speakers += 1;
    }

    /// Ends the tick's contributions: the full mix is limited once.
    pub fn finish_tick(&mut self) {
        for (out, s) in self.full.iter_mut().zip(&self.sum) {
            *out = soft_limit(*s);
        }
    }

    /// Who spoke this tick (frames above the floor).
    pub fn speakers(&self) -> usize {
        self.speakers
    }

    /// The full mix of this tick, for a recorder that hears the conference.
    pub fn full_pcm(&self) -> &PcmFrame {
        &self.full
    }

    /// (renders that reused the shared encoding, renders mixed on their own).
    pub fn render_counts(&self) -> (u64, u64) {
        (self.shared_renders, self.own_renders)
    }

    fn spoken(&self) -> &[Spoken] {
        self.spoken.get(..self.speakers).unwrap_or(&[])
    }

    /// What `dst` hears this tick, encoded as `codec` into `out`; `pcm` is
    /// scratch. Always true: a conference keeps sending (silence when nobody
    /// speaks), so its members' streams never stall.
    pub fn render(
        &mut self,
        dst: UnitId,
        codec: Codec,
        out: &mut EncodedFrame,
        pcm: &mut PcmFrame,
    ) -> bool {
        if self.mix_for(dst, pcm) {
            codec.encode_frame(pcm, out);
            self.own_renders += 1;
        } else {
            self.render_full(codec, out);
        }
        true
    }

    /// What `dst` hears this tick as PCM (for a unit that is no RTP
    /// endpoint: the half of a call between sessions).
    pub fn render_pcm(&mut self, dst: UnitId, pcm: &mut PcmFrame) {
        if self.mix_for(dst, pcm) {
            self.own_renders += 1;
        } else {
            pcm.copy_from_slice(&self.full);
            self.shared_renders += 1;
        }
    }

    /// Fills `pcm` with what `dst` hears and returns true, or returns false
    /// when that is the full mix (shared, not written).
    fn mix_for(&self, dst: UnitId, pcm: &mut PcmFrame) -> bool {
        let member = self
            .index
            .get(&dst)
            .and_then(|&i| self.members.get(i))
            .map(|m| &m.spec);
        let Some(spec) = member else {
            return false;
        };
        let hears = |u: UnitId| u != dst && !spec.deaf_to.contains(&u);
        if spec.forward {
            let loudest = self
                .spoken()
                .iter()
                .filter(|s| hears(s.unit))
                .max_by_key(|s| s.energy);
            match loudest {
                Some(s) => pcm.copy_from_slice(&s.pcm),
                None => pcm.fill(0),
            }
            return true;
        }
        if !self.spoken().iter().any(|s| !hears(s.unit)) {
            return false;
        }
        let mut sum = self.sum;
        for s in self.spoken().iter().filter(|s| !hears(s.unit)) {
            for (acc, x) in sum.iter_mut().zip(&s.pcm) {
                *acc -= i32::from(*x);
            }
        }
        for (o, s) in pcm.iter_mut().zip(&sum) {
            *o = soft_limit(*s);
        }
        true
    }

    fn render_full(&mut self, codec: Codec, out: &mut EncodedFrame) {
        let (full, silent) = (&self.full, self.speakers == 0);
        self.encoded.copy_into(codec, out, |enc| {
            if silent {
                enc.fill(codec.silence_byte());
            } else {
                codec.encode_frame(full, enc);
            }
        });
        self.shared_renders += 1;
    }
}

#[cfg(test)]
#[path = "mixer_tests.rs"]
mod tests;
