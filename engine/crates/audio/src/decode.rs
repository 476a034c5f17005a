//! Any supported container/codec (WAV, MP3, Ogg/Vorbis, FLAC) to 8 kHz mono.

mod lengths;

use std::io::Cursor;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::resample::Resampler;
use crate::{AudioError, Clip};

/// Rate of every clip this crate produces.
pub const OUTPUT_RATE: u32 = 8000;
/// Longest clip accepted (one hour), so a hostile file cannot exhaust memory.
const MAX_OUTPUT_SAMPLES: usize = OUTPUT_RATE as usize * 3600;
/// Corrupt packets tolerated before the file is declared broken.
const MAX_BAD_PACKETS: usize = 64;

/// Decodes `bytes` (any supported format) to 8 kHz mono, channels mixed down.
/// `hint` is a file extension or MIME-like name (`"mp3"`, `"wav"`) that helps
/// probing; the content decides in the end.
pub fn decode(bytes: &[u8], hint: Option<&str>) -> Result<Clip, AudioError> {
    decode_owned(bytes.to_vec(), hint)
}

/// As [`decode`], taking ownership to avoid copying a large body.
pub fn decode_owned(bytes: Vec<u8>, hint: Option<&str>) -> Result<Clip, AudioError> {
    lengths::check(&bytes).map_err(|e| AudioError::Decode(e.into()))?;
    let mss = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut probe_hint = Hint::new();
    if let Some(h) = hint {
        probe_hint.with_extension(h);
    }
    let fmt_opts = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let probed = symphonia::default::get_probe()
        .format(&probe_hint, mss, &fmt_opts, &MetadataOptions::default())
        .map_err(|e| AudioError::Decode(format!("unrecognised format: {e}")))?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| AudioError::Decode("no audio track".into()))?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| AudioError::Decode(format!("unsupported codec: {e}")))?;

    let mut resampler: Option<(u32, Resampler)> = None;
    let mut interleaved: Option<SampleBuffer<f32>> = None;
    let mut mono: Vec<f32> = Vec::new();
    let mut out: Vec<f32> = Vec::new();
    let mut bad_packets = 0usize;

    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => {
                // Streams written without a final length (e.g. a WAV piped
                // from a subprocess) end with an error after valid audio.
                if out.is_empty() && mono.is_empty() {
                    return Err(AudioError::Decode(e.to_string()));
                }
                tracing::debug!(error = %e, "stopping at unreadable packet");
                break;
            }
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymError::DecodeError(e)) => {
                bad_packets += 1;
                if bad_packets > MAX_BAD_PACKETS {
                    return Err(AudioError::Decode(format!("too many corrupt packets: {e}")));
                }
                continue;
            }
            Err(SymError::IoError(_)) => break,
            Err(e) => return Err(AudioError::Decode(e.to_string())),
        };
        let spec = *decoded.spec();
        let channels = spec.channels.count().max(1);
        if decoded.frames() == 0 {
            continue;
        }
        let buf = match &mut interleaved {
            Some(b) if b.capacity() >= decoded.capacity() * channels => b,
            slot => slot.insert(SampleBuffer::<f32>::new(decoded.capacity() as u64, spec)),
        };
        buf.copy_interleaved_ref(decoded);
        mono.clear();
        mono.extend(
            buf.samples()
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() / channels as f32),
        );
        let rs = match &mut resampler {
            Some((rate, rs)) if *rate == spec.rate => rs,
            slot => {
                // A rate change mid-stream (chained Ogg) restarts the filter.
                if let Some((_, old)) = slot.as_mut() {
                    old.finish(&mut out);
                }
                &mut slot
                    .insert((spec.rate, Resampler::new(spec.rate, OUTPUT_RATE)))
                    .1
            }
        };
        rs.push(&mono, &mut out);
        if out.len() > MAX_OUTPUT_SAMPLES {
            return Err(AudioError::Decode("audio longer than one hour".into()));
        }
    }
    if let Some((_, rs)) = resampler.as_mut() {
        rs.finish(&mut out);
    }
    if out.is_empty() {
        return Err(AudioError::Decode("no audio samples".into()));
    }
    Ok(out.iter().map(|&s| to_i16(s)).collect::<Vec<i16>>().into())
}

fn to_i16(s: f32) -> i16 {
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}
