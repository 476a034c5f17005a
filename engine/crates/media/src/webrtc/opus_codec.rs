//! Opus for WebRTC legs, at the media clock's 8 kHz: the encoder takes the
//! graph's 20 ms frames, the decoder gives 8 kHz samples whatever rate the
//! browser encoded at (Opus decodes to any of its rates). On the wire Opus
//! always counts 48 kHz (RFC 7587), so a frame advances the RTP clock by 960.

#[cfg(test)]
use crate::codec::FRAME_SAMPLES;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::codec::{PcmFrame, WidePcm};

/// RTP clock ticks of one 20 ms frame at Opus's 48 kHz.
pub const OPUS_FRAME_TICKS: u64 = 960;
/// The most samples one Opus packet decodes to at 8 kHz (120 ms).
pub const MAX_DECODED: usize = 960;
/// The encoders' complexity (0–10; libopus defaults to 9), set once at
/// start (`--opus-complexity`). Encoding is most of a WebRTC leg's CPU:
/// a 20 ms frame of 8 kHz audio took 79 µs at 9, 41 at 5 and 18 at 1 on
/// this project's bench machine (docs/PERFORMANCE.md). What is encoded is
/// mostly audio that came from G.711, so the default is 1.
static ENCODER_COMPLEXITY: AtomicI32 = AtomicI32::new(DEFAULT_COMPLEXITY);
pub const DEFAULT_COMPLEXITY: i32 = 1;

/// Sets the Opus encoders' complexity (clamped to 0–10) for legs made from
/// now on.
pub fn set_complexity(complexity: i32) {
    ENCODER_COMPLEXITY.store(complexity.clamp(0, 10), Ordering::Relaxed);
}

fn complexity() -> i32 {
    ENCODER_COMPLEXITY.load(Ordering::Relaxed)
}
/// Bytes one encoded 20 ms frame may take (RFC 6716 caps a frame at 1275).
const MAX_PACKET: usize = 1275;

/// Why Opus could not be set up or used.
#[derive(Debug, thiserror::Error)]
#[error("opus: {0}")]
pub struct OpusError(String);

/// A leg's Opus encoder and decoder at 16 kHz, while it is in a
/// conference that mixes in wideband.
pub struct WideOpus {
    encoder: Option<opus::Encoder>,
    decoder: opus::Decoder,
    packet: Vec<u8>,
}

impl WideOpus {
    pub fn new() -> Result<WideOpus, OpusError> {
        let decoder = opus::Decoder::new(16000, opus::Channels::Mono)
            .map_err(|e| OpusError(e.to_string()))?;
        Ok(WideOpus {
            encoder: None,
            decoder,
            packet: vec![0; MAX_PACKET],
        })
    }

    /// Encodes one 20 ms frame of 16 kHz audio.
    pub fn encode(&mut self, pcm: &WidePcm) -> Result<&[u8], OpusError> {
        let encoder = match self.encoder.as_mut() {
            Some(e) => e,
            None => {
                let mut e =
                    opus::Encoder::new(16000, opus::Channels::Mono, opus::Application::Voip)
                        .map_err(|e| OpusError(e.to_string()))?;
                let _ = e.set_inband_fec(true);
                let _ = e.set_complexity(complexity());
                self.encoder.insert(e)
            }
        };
        let n = encoder
            .encode(pcm, &mut self.packet)
            .map_err(|e| OpusError(e.to_string()))?;
        Ok(self.packet.get(..n).unwrap_or(&[]))
    }

    /// Decodes one packet at 16 kHz into `out`; returns the samples written.
    pub fn decode(&mut self, packet: &[u8], out: &mut [i16]) -> Result<usize, OpusError> {
        self.decoder
            .decode(packet, out, false)
            .map_err(|e| OpusError(e.to_string()))
    }
}

/// One leg's Opus encoder and decoder.
pub struct Opus {
    encoder: opus::Encoder,
    decoder: opus::Decoder,
    packet: Vec<u8>,
}

impl Opus {
    pub fn new() -> Result<Opus, OpusError> {
        let mut encoder = opus::Encoder::new(8000, opus::Channels::Mono, opus::Application::Voip)
            .map_err(|e| OpusError(e.to_string()))?;
        // In-band FEC lets the browser rebuild a lost packet from the next.
        let _ = encoder.set_inband_fec(true);
        let _ = encoder.set_complexity(complexity());
        let decoder =
            opus::Decoder::new(8000, opus::Channels::Mono).map_err(|e| OpusError(e.to_string()))?;
        Ok(Opus {
            encoder,
            decoder,
            packet: vec![0; MAX_PACKET],
        })
    }

    /// Encodes one 20 ms frame; the bytes live until the next call.
    pub fn encode(&mut self, pcm: &PcmFrame) -> Result<&[u8], OpusError> {
        let n = self
            .encoder
            .encode(pcm, &mut self.packet)
            .map_err(|e| OpusError(e.to_string()))?;
        Ok(self.packet.get(..n).unwrap_or(&[]))
    }

    /// Decodes one packet into `out`; returns the samples written (a
    /// multiple of 20 ms for every packet browsers send).
    pub fn decode(
        &mut self,
        packet: &[u8],
        out: &mut [i16; MAX_DECODED],
    ) -> Result<usize, OpusError> {
        self.decoder
            .decode(packet, out, false)
            .map_err(|e| OpusError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_survives_encode_and_decode() {
        let mut opus = Opus::new().expect("opus");
        let mut out = [0i16; MAX_DECODED];
        let mut energy = 0f64;
        for f in 0..25 {
            let mut pcm = [0i16; FRAME_SAMPLES];
            for (i, s) in pcm.iter_mut().enumerate() {
                let t = (f * FRAME_SAMPLES + i) as f64 / 8000.0;
                *s = (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16;
            }
            let packet = opus.encode(&pcm).expect("encode").to_vec();
            assert!(!packet.is_empty() && packet.len() < 200);
            let n = opus.decode(&packet, &mut out).expect("decode");
            assert_eq!(n, FRAME_SAMPLES);
            if f > 5 {
                energy += out[..n].iter().map(|&s| f64::from(s).powi(2)).sum::<f64>();
            }
        }
        let rms = (energy / (19.0 * FRAME_SAMPLES as f64)).sqrt();
        // 8000 peak → ~5657 RMS; a codec keeps it within a few dB.
        assert!(rms > 3000.0 && rms < 8000.0, "rms {rms}");
    }
}
