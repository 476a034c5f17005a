//! An MP3 stream (8 kHz in, MPEG-2.5 layer III out, constant bit rate) that
//! a killed process leaves playable.
//!
//! LAME holds back about one MP3 frame (576 samples per channel) of audio and
//! hands out whole frames; everything it hands out goes straight to the
//! output, and `flush` pushes the output's buffer to disk. Constant bit rate
//! frames need no index or size in a header, so a file cut anywhere plays up
//! to its last whole frame. On `finish` the encoder's tail is written and the
//! first frame, which LAME reserves for its "Info" tag, is overwritten with
//! that tag: it carries the encoder delay and padding, so decoders that read
//! it trim the result to exactly the samples recorded. Until then the
//! reserved frame decodes as a frame of silence.

use std::io::{self, Seek, SeekFrom, Write};

use mp3lame_encoder::{
    max_required_buffer_size, Bitrate, Builder, Encoder, FlushGap, InterleavedPcm, Mode, MonoPcm,
    Quality,
};

use crate::codec::FRAME_SAMPLES;
use crate::wav::SAMPLE_RATE;

/// Samples handed to LAME per call: one stereo 20 ms frame, so the output
/// buffer's worst case is known.
const CHUNK: usize = 2 * FRAME_SAMPLES;
const OUT_BUFFER: usize = max_required_buffer_size(CHUNK);
/// The Info tag is one MP3 frame: a few hundred bytes at these rates.
const TAG_BUFFER: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum Mp3Error {
    #[error("mp3 encoder setup failed: {0}")]
    Setup(String),
    #[error("mp3 encoding failed: {0}")]
    Encode(mp3lame_encoder::EncodeError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl Mp3Error {
    fn setup(e: impl std::fmt::Display) -> Mp3Error {
        Mp3Error::Setup(e.to_string())
    }
}

/// Bit rate per channel count: telephone audio (3.4 kHz wide) at 8 kHz is
/// transparent well below these.
fn bitrate(channels: u16) -> Bitrate {
    if channels == 2 {
        Bitrate::Kbps48
    } else {
        Bitrate::Kbps32
    }
}

pub struct Mp3Writer<W: Write + Seek> {
    enc: Encoder,
    out: W,
    channels: u16,
    frames: u64,
    /// Where the stream began in `out`: the Info tag goes there.
    start: u64,
    buf: Vec<u8>,
    /// The first encoded bytes are pushed to disk at once, so a device that
    /// refuses writes fails the recording in its first second.
    reached_disk: bool,
}

impl<W: Write + Seek> Mp3Writer<W> {
    /// `channels` is 1 or 2; stereo input is interleaved (left, right).
    pub fn new(mut out: W, channels: u16) -> Result<Mp3Writer<W>, Mp3Error> {
        let stereo = channels == 2;
        let mut b = Builder::new().ok_or_else(|| Mp3Error::setup("out of memory"))?;
        b.set_num_channels(if stereo { 2 } else { 1 })
            .map_err(Mp3Error::setup)?;
        b.set_sample_rate(SAMPLE_RATE).map_err(Mp3Error::setup)?;
        b.set_output_sample_rate(std::num::NonZeroU32::new(SAMPLE_RATE))
            .map_err(Mp3Error::setup)?;
        b.set_brate(bitrate(channels)).map_err(Mp3Error::setup)?;
        b.set_mode(if stereo {
            Mode::JointStereo
        } else {
            Mode::Mono
        })
        .map_err(Mp3Error::setup)?;
        // Quality 7 is LAME's "fast" psychoacoustics: a fraction of the cost
        // of the default for no audible loss on narrowband speech.
        b.set_quality(Quality::Ok).map_err(Mp3Error::setup)?;
        b.set_to_write_vbr_tag(true).map_err(Mp3Error::setup)?;
        let enc = b.build().map_err(Mp3Error::setup)?;
        let start = out.stream_position()?;
        // Nothing is written yet; flushing here surfaces a refusing device at
        // open time, as for WAV.
        out.flush()?;
        Ok(Mp3Writer {
            enc,
            out,
            channels: if stereo { 2 } else { 1 },
            frames: 0,
            start,
            buf: Vec::with_capacity(OUT_BUFFER.max(TAG_BUFFER)),
            reached_disk: false,
        })
    }

    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Interleaved samples (one per channel per frame).
    pub fn write_samples(&mut self, samples: &[i16]) -> Result<(), Mp3Error> {
        let per_frame = usize::from(self.channels);
        for chunk in samples.chunks(CHUNK) {
            // A stereo stream only takes whole (left, right) pairs.
            let whole = chunk.len() - chunk.len() % per_frame;
            let chunk = chunk.get(..whole).unwrap_or(&[]);
            self.buf.clear();
            let encoded = if per_frame == 2 {
                self.enc.encode_to_vec(InterleavedPcm(chunk), &mut self.buf)
            } else {
                self.enc.encode_to_vec(MonoPcm(chunk), &mut self.buf)
            };
            encoded.map_err(Mp3Error::Encode)?;
            self.out.write_all(&self.buf)?;
            self.frames += (whole / per_frame) as u64;
            if !self.reached_disk && !self.buf.is_empty() {
                self.out.flush()?;
                self.reached_disk = true;
            }
        }
        Ok(())
    }

    /// Sample frames written (per channel).
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Pushes every MP3 frame encoded so far to the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Encodes the tail, writes the Info tag over the reserved first frame,
    /// and returns the output.
    pub fn finish(mut self) -> Result<W, Mp3Error> {
        self.buf.clear();
        self.enc
            .flush_to_vec::<FlushGap>(&mut self.buf)
            .map_err(Mp3Error::Encode)?;
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        let tag_fits = self.enc.lame_tag_size() <= self.buf.capacity();
        if tag_fits && self.enc.lame_tag_encode_to_vec(&mut self.buf).is_some() {
            let end = self.out.stream_position()?;
            self.out.seek(SeekFrom::Start(self.start))?;
            self.out.write_all(&self.buf)?;
            self.out.seek(SeekFrom::Start(end))?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
#[path = "mp3_tests.rs"]
mod tests;
