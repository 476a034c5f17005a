//! A WAV file (8 kHz, 16-bit PCM) whose header stays valid while it grows.
//!
//! A recording can be cut short by a crash or `kill -9`; players and sox read
//! a WAV by the sizes in its header, so `refresh_header` rewrites the RIFF and
//! data sizes for what is on disk so far. The recorder calls it about once per
//! second of audio, which bounds what a killed process loses to that second.

use std::io::{self, Seek, SeekFrom, Write};

pub const SAMPLE_RATE: u32 = 8000;
pub const HEADER_LEN: u64 = 44;

/// The canonical 44-byte header for `channels` × 16-bit PCM holding
/// `data_len` bytes of samples.
pub fn header(channels: u16, data_len: u32) -> [u8; HEADER_LEN as usize] {
    let block_align = channels * 2;
    let byte_rate = SAMPLE_RATE * u32::from(block_align);
    let mut h = [0u8; HEADER_LEN as usize];
    let mut put = |at: usize, bytes: &[u8]| {
        if let Some(dst) = h.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    };
    put(0, b"RIFF");
    put(4, &data_len.saturating_add(36).to_le_bytes());
    put(8, b"WAVE");
    put(12, b"fmt ");
    put(16, &16u32.to_le_bytes());
    put(20, &1u16.to_le_bytes()); // PCM
    put(22, &channels.to_le_bytes());
    put(24, &SAMPLE_RATE.to_le_bytes());
    put(28, &byte_rate.to_le_bytes());
    put(32, &block_align.to_le_bytes());
    put(34, &16u16.to_le_bytes());
    put(36, b"data");
    put(40, &data_len.to_le_bytes());
    h
}

/// What `parse_header` found in a file's first 44 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    pub channels: u16,
    pub sample_rate: u32,
    pub bits: u16,
    pub riff_len: u32,
    pub data_len: u32,
}

/// Reads back a canonical header (the only layout this module writes).
pub fn parse_header(bytes: &[u8]) -> Option<WavInfo> {
    let u16_at = |at: usize| -> Option<u16> {
        Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
    };
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let tag = |at: usize, want: &[u8]| bytes.get(at..at + 4) == Some(want);
    if !(tag(0, b"RIFF") && tag(8, b"WAVE") && tag(12, b"fmt ") && tag(36, b"data")) {
        return None;
    }
    Some(WavInfo {
        channels: u16_at(22)?,
        sample_rate: u32_at(24)?,
        bits: u16_at(34)?,
        riff_len: u32_at(4)?,
        data_len: u32_at(40)?,
    })
}

/// A WAV stream over any seekable writer (a file, or a cursor in tests).
pub struct WavWriter<W: Write + Seek> {
    out: W,
    channels: u16,
    data_len: u32,
    /// Bytes of samples the header on disk already accounts for.
    header_len: u32,
    scratch: [u8; 1280],
}

impl<W: Write + Seek> WavWriter<W> {
    /// Writes an empty-data header and flushes it, so an open failure (a full
    /// disk, a device that refuses writes) shows up here rather than later.
    pub fn new(mut out: W, channels: u16) -> io::Result<WavWriter<W>> {
        out.write_all(&header(channels, 0))?;
        out.flush()?;
        Ok(WavWriter {
            out,
            channels,
            data_len: 0,
            header_len: 0,
            scratch: [0; 1280],
        })
    }

    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Interleaved samples (one per channel per frame). Stops growing at the
    /// 4 GiB WAV limit rather than writing a header that lies.
    pub fn write_samples(&mut self, samples: &[i16]) -> io::Result<()> {
        for chunk in samples.chunks(self.scratch.len() / 2) {
            let bytes = chunk.len() * 2;
            let Some(new_len) = u32::try_from(bytes)
                .ok()
                .and_then(|b| self.data_len.checked_add(b))
                .filter(|n| *n <= u32::MAX - 36)
            else {
                return Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    "WAV size limit reached",
                ));
            };
            for (dst, s) in self.scratch.chunks_exact_mut(2).zip(chunk) {
                dst.copy_from_slice(&s.to_le_bytes());
            }
            self.out
                .write_all(self.scratch.get(..bytes).unwrap_or(&[]))?;
            self.data_len = new_len;
        }
        Ok(())
    }

    /// Sample frames written (per channel).
    pub fn frames(&self) -> u64 {
        u64::from(self.data_len) / (2 * u64::from(self.channels.max(1)))
    }

    /// Bytes of audio written but not yet counted in the header on disk.
    pub fn unaccounted(&self) -> u32 {
        self.data_len - self.header_len
    }

    /// Flushes the audio, then makes the header's sizes match it.
    pub fn refresh_header(&mut self) -> io::Result<()> {
        self.out.flush()?;
        let h = header(self.channels, self.data_len);
        self.out.seek(SeekFrom::Start(4))?;
        self.out.write_all(h.get(4..8).unwrap_or(&[]))?;
        self.out.seek(SeekFrom::Start(40))?;
        self.out.write_all(h.get(40..44).unwrap_or(&[]))?;
        self.out
            .seek(SeekFrom::Start(HEADER_LEN + u64::from(self.data_len)))?;
        self.out.flush()?;
        self.header_len = self.data_len;
        Ok(())
    }

    /// The final header; returns the writer for inspection.
    pub fn finish(mut self) -> io::Result<W> {
        self.refresh_header()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn header_round_trips() {
        let h = header(2, 3200);
        let info = parse_header(&h).unwrap();
        assert_eq!(
            info,
            WavInfo {
                channels: 2,
                sample_rate: 8000,
                bits: 16,
                riff_len: 3236,
                data_len: 3200
            }
        );
        assert_eq!(&h[28..32], &32_000u32.to_le_bytes());
        assert!(parse_header(&h[..40]).is_none());
        assert!(parse_header(b"RIFX").is_none());
    }

    #[test]
    fn header_is_valid_after_each_refresh_and_at_the_end() {
        let mut w = WavWriter::new(Cursor::new(Vec::new()), 1).unwrap();
        let frame: Vec<i16> = (0..160).map(|i| i * 10 - 800).collect();
        for n in 1..=120u32 {
            w.write_samples(&frame).unwrap();
            if n % 50 == 0 {
                w.refresh_header().unwrap();
                let bytes = w.out.get_ref().clone();
                let info = parse_header(&bytes).unwrap();
                assert_eq!(info.data_len, n * 320);
                assert_eq!(bytes.len() as u64, HEADER_LEN + u64::from(info.data_len));
            }
        }
        assert_eq!(w.unaccounted(), 20 * 320);
        assert_eq!(w.frames(), 120 * 160);
        let bytes = w.finish().unwrap().into_inner();
        let info = parse_header(&bytes).unwrap();
        assert_eq!(info.data_len, 120 * 320);
        assert_eq!(info.riff_len, 120 * 320 + 36);
        assert_eq!(&bytes[44..46], &(-800i16).to_le_bytes());
    }

    #[test]
    fn stereo_counts_frames_per_channel() {
        let mut w = WavWriter::new(Cursor::new(Vec::new()), 2).unwrap();
        w.write_samples(&[1; 320]).unwrap();
        assert_eq!(w.frames(), 160);
        assert_eq!(w.channels(), 2);
    }
}
