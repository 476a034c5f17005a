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
//! Mixing is in 32-bit sums of 16-bit PCM at the conference rate: 8 kHz,
//! the rate of every G.711 leg, in frames of [`FRAME_SAMPLES`]; and, while
//! a member is a wideband leg (a browser sending Opus), a second lane at
//! 16 kHz ([`WIDE_SAMPLES`]) that such members hear instead, into which the
//! narrowband members' frames are upsampled. Sums go through a soft limiter
//! ([`soft_limit`]) instead of being clipped.

use std::collections::HashMap;

use crate::codec::{
    Codec, EncodedFrame, EncodedOnce, PcmFrame, WidePcm, FRAME_SAMPLES, WIDE_SAMPLES,
};
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
struct Spoken<const N: usize> {
    unit: UnitId,
    pcm: [i16; N],
    /// Sum of absolute sample values: loudness for FORWARD mode.
    energy: u64,
}

/// One rate of mixing: this tick's speakers, their sum and the limited full
/// mix, in frames of `N` samples (160 at 8 kHz; 320 at 16 kHz for members
/// that are wideband).
struct Lane<const N: usize> {
    /// This tick's speakers; the frames' buffers are kept between ticks.
    spoken: Vec<Spoken<N>>,
    speakers: usize,
    sum: [i32; N],
    full: [i16; N],
}

impl<const N: usize> Lane<N> {
    fn new() -> Lane<N> {
        Lane {
            spoken: Vec::new(),
            speakers: 0,
            sum: [0; N],
            full: [0; N],
        }
    }

    fn begin(&mut self) {
        self.speakers = 0;
        self.sum.fill(0);
    }

    fn contribute(&mut self, unit: UnitId, pcm: &[i16; N]) {
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

    fn finish(&mut self) {
        for (out, s) in self.full.iter_mut().zip(&self.sum) {
            *out = soft_limit(*s);
        }
    }

    fn spoken(&self) -> &[Spoken<N>] {
        self.spoken.get(..self.speakers).unwrap_or(&[])
    }

    /// Fills `pcm` with what the member `dst` (of `spec`, `None` for a
    /// listener that is no member) hears and returns true, or returns false
    /// when that is the full mix (shared, not written).
    fn mix_for(&self, dst: UnitId, spec: Option<&MemberSpec>, pcm: &mut [i16; N]) -> bool {
        let Some(spec) = spec else {
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
}

pub struct Mixer {
    unit: UnitId,
    members: Vec<Member>,
    index: HashMap<UnitId, usize>,
    narrow: Lane<FRAME_SAMPLES>,
    /// The 16 kHz mix, while a member is a wideband (WebRTC Opus) leg:
    /// what such members hear keeps their bandwidth; narrowband members'
    /// frames are upsampled into it.
    wide: Option<Box<Lane<WIDE_SAMPLES>>>,
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
            narrow: Lane::new(),
            wide: None,
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

    /// The unit of member `k`, whether it sends or only listens.
    pub fn member_at(&self, k: usize) -> Option<UnitId> {
        self.members.get(k).map(|m| m.spec.unit)
    }

    /// The unit of sending member `k` (`None` past the end or when it only listens).
    pub fn sender_at(&self, k: usize) -> Option<UnitId> {
        self.members
            .get(k)
            .filter(|m| m.spec.send)
            .map(|m| m.spec.unit)
    }

    /// Starts a tick: no speakers yet. `wide`: some member hears in
    /// wideband this tick, so the 16 kHz mix is made too.
    pub fn begin_tick(&mut self, wide: bool) {
        self.narrow.begin();
        self.encoded.clear();
        match (wide, self.wide.as_mut()) {
            (true, Some(lane)) => lane.begin(),
            (true, None) => self.wide = Some(Box::new(Lane::new())),
            (false, _) => self.wide = None,
        }
    }

    /// A sending member's frame this tick. Silence is left out.
    pub fn contribute(&mut self, unit: UnitId, pcm: &PcmFrame) {
        self.narrow.contribute(unit, pcm);
    }

    /// A sending member's 16 kHz frame this tick, while the wideband mix is
    /// made.
    pub fn contribute_wide(&mut self, unit: UnitId, pcm: &WidePcm) {
        if let Some(lane) = self.wide.as_mut() {
            lane.contribute(unit, pcm);
        }
    }

    /// The wideband mix is made this tick.
    pub fn is_wide(&self) -> bool {
        self.wide.is_some()
    }

    /// Ends the tick's contributions: the full mix is limited once.
    pub fn finish_tick(&mut self) {
        self.narrow.finish();
        if let Some(lane) = self.wide.as_mut() {
            lane.finish();
        }
    }

    /// Who spoke this tick (frames above the floor).
    pub fn speakers(&self) -> usize {
        self.narrow.speakers
    }

    /// The full mix of this tick, for a recorder that hears the conference.
    pub fn full_pcm(&self) -> &PcmFrame {
        &self.narrow.full
    }

    /// (renders that reused the shared encoding, renders mixed on their own).
    pub fn render_counts(&self) -> (u64, u64) {
        (self.shared_renders, self.own_renders)
    }

    fn spec_of(&self, dst: UnitId) -> Option<&MemberSpec> {
        self.index
            .get(&dst)
            .and_then(|&i| self.members.get(i))
            .map(|m| &m.spec)
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
        if self.narrow.mix_for(dst, self.spec_of(dst), pcm) {
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
        if self.narrow.mix_for(dst, self.spec_of(dst), pcm) {
            self.own_renders += 1;
        } else {
            pcm.copy_from_slice(&self.narrow.full);
            self.shared_renders += 1;
        }
    }

    /// What the wideband member `dst` hears this tick at 16 kHz; false
    /// when no wideband mix is made this tick.
    pub fn render_wide(&mut self, dst: UnitId, pcm: &mut WidePcm) -> bool {
        let spec = self.spec_of(dst);
        let Some(lane) = self.wide.as_ref() else {
            return false;
        };
        if lane.mix_for(dst, spec, pcm) {
            self.own_renders += 1;
        } else {
            pcm.copy_from_slice(&lane.full);
            self.shared_renders += 1;
        }
        true
    }

    fn render_full(&mut self, codec: Codec, out: &mut EncodedFrame) {
        let (full, silent) = (&self.narrow.full, self.narrow.speakers == 0);
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
