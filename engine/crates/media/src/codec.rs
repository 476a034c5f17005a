//! The audio codecs a media endpoint can speak, framed for the 20 ms media clock.

use crate::g711;

/// Samples in one 20 ms frame at 8 kHz: the unit every media worker tick moves.
pub const FRAME_SAMPLES: usize = 160;

/// One 20 ms frame of linear PCM.
pub type PcmFrame = [i16; FRAME_SAMPLES];
/// Samples in one 20 ms frame at 16 kHz: the wideband conference lane.
pub const WIDE_SAMPLES: usize = 2 * FRAME_SAMPLES;
/// One 20 ms frame of 16 kHz linear PCM.
pub type WidePcm = [i16; WIDE_SAMPLES];

/// An 8 kHz frame at 16 kHz, by linear interpolation (what a narrowband
/// member adds to a wideband mix: it has nothing above 4 kHz to lose).
pub fn upsample(pcm: &PcmFrame, out: &mut WidePcm) {
    for (i, pair) in out.chunks_exact_mut(2).enumerate() {
        let a = pcm.get(i).copied().unwrap_or(0);
        let b = pcm.get(i + 1).copied().unwrap_or(a);
        if let [x, y] = pair {
            *x = a;
            *y = ((i32::from(a) + i32::from(b)) / 2) as i16;
        }
    }
}
/// One 20 ms frame of G.711 codes (one byte per sample).
pub type EncodedFrame = [u8; FRAME_SAMPLES];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    /// Static payload type from RFC 3551.
    pub const fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    pub const fn clock_rate(self) -> u32 {
        8000
    }

    /// The encoding name used in SDP `a=rtpmap`.
    pub const fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    pub fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// Encoded bytes per RTP timestamp unit; both G.711 laws carry one code per sample.
    pub const fn bytes_per_sample(self) -> usize {
        1
    }

    /// The code that decodes to (near) zero, used to fill gaps in encoded audio.
    pub const fn silence_byte(self) -> u8 {
        match self {
            Codec::Pcmu => g711::ULAW_SILENCE,
            Codec::Pcma => g711::ALAW_SILENCE,
        }
    }

    pub fn encode_frame(self, pcm: &PcmFrame, out: &mut EncodedFrame) {
        self.encode(pcm, out);
    }

    pub fn decode_frame(self, data: &EncodedFrame, out: &mut PcmFrame) {
        self.decode(data, out);
    }

    /// Encodes as many samples as both slices hold; returns that count.
    pub fn encode(self, pcm: &[i16], out: &mut [u8]) -> usize {
        match self {
            Codec::Pcmu => g711::encode_ulaw(pcm, out),
            Codec::Pcma => g711::encode_alaw(pcm, out),
        }
    }

    /// Decodes as many codes as both slices hold; returns that count.
    pub fn decode(self, data: &[u8], out: &mut [i16]) -> usize {
        match self {
            Codec::Pcmu => g711::decode_ulaw(data, out),
            Codec::Pcma => g711::decode_alaw(data, out),
        }
    }
}

/// One tick's frame encoded at most once per codec, for a source that many
/// units hear (a player, a conference's full mix, a call between sessions).
#[derive(Debug, Clone)]
pub struct EncodedOnce {
    frames: [EncodedFrame; 2],
    done: [bool; 2],
}

impl Default for EncodedOnce {
    fn default() -> Self {
        EncodedOnce {
            frames: [[0; FRAME_SAMPLES]; 2],
            done: [false; 2],
        }
    }
}

impl EncodedOnce {
    /// A new tick: nothing encoded yet.
    pub fn clear(&mut self) {
        self.done = [false; 2];
    }

    /// Which codecs (PCMU, PCMA) were encoded this tick.
    pub fn done(&self) -> [bool; 2] {
        self.done
    }

    /// Copies the frame encoded as `codec` into `out`; `encode` makes it the
    /// first time it is asked for this tick.
    pub fn copy_into(
        &mut self,
        codec: Codec,
        out: &mut EncodedFrame,
        encode: impl FnOnce(&mut EncodedFrame),
    ) {
        let k = match codec {
            Codec::Pcmu => 0,
            Codec::Pcma => 1,
        };
        if let (Some(frame), Some(done)) = (self.frames.get_mut(k), self.done.get_mut(k)) {
            if !*done {
                encode(frame);
                *done = true;
            }
            out.copy_from_slice(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_types_and_names() {
        assert_eq!(Codec::Pcmu.payload_type(), 0);
        assert_eq!(Codec::Pcma.payload_type(), 8);
        assert_eq!(Codec::from_payload_type(0), Some(Codec::Pcmu));
        assert_eq!(Codec::from_payload_type(8), Some(Codec::Pcma));
        assert_eq!(Codec::from_payload_type(18), None);
        assert_eq!(Codec::Pcma.clock_rate(), 8000);
        assert_eq!(Codec::Pcmu.name(), "PCMU");
    }

    #[test]
    fn frame_round_trip_and_silence() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let mut pcm = [0i16; FRAME_SAMPLES];
            for (i, s) in pcm.iter_mut().enumerate() {
                *s = ((i as i32 * 397) % 20000 - 10000) as i16;
            }
            let mut enc = [0u8; FRAME_SAMPLES];
            codec.encode_frame(&pcm, &mut enc);
            let mut dec = [0i16; FRAME_SAMPLES];
            codec.decode_frame(&enc, &mut dec);
            for (a, b) in pcm.iter().zip(dec.iter()) {
                assert!((i32::from(*a) - i32::from(*b)).abs() <= i32::from(*a).abs() / 16 + 16);
            }
            let mut again = [0u8; FRAME_SAMPLES];
            codec.encode_frame(&dec, &mut again);
            assert_eq!(enc, again, "re-encoding decoded audio is lossless");
            let s = codec.silence_byte();
            assert!(codec.decode(&[s], &mut [0i16; 1]) == 1);
            let mut one = [0i16; 1];
            codec.decode(&[s], &mut one);
            assert!(one[0].abs() <= 8);
        }
    }
}
