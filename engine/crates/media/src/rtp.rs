//! RTP fixed header (RFC 3550 §5.1): a borrowed, validated view for parsing and a
//! header description that writes itself into a caller's buffer.
//!
//! Parsing never allocates and never panics on peer-controlled bytes: every
//! offset is checked once in [`RtpPacket::parse`], after which the accessors
//! only read ranges that validation proved to exist.

use thiserror::Error;

/// Size of the fixed part of every RTP header.
pub const RTP_HEADER_LEN: usize = 12;
const VERSION: u8 = 2;
const MAX_CSRC: usize = 15;

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum RtpError {
    #[error("packet shorter than its header ({0} bytes)")]
    TooShort(usize),
    #[error("unsupported RTP version {0}")]
    BadVersion(u8),
    #[error("padding count {pad} does not fit a {payload}-byte body")]
    BadPadding { pad: u8, payload: usize },
    #[error("output buffer too small: need {need} bytes, have {have}")]
    BufferTooSmall { need: usize, have: usize },
    #[error("payload type {0} is outside 0..=127")]
    BadPayloadType(u8),
    #[error("{0} CSRCs exceed the limit of 15")]
    TooManyCsrcs(usize),
    #[error("extension data must be a multiple of 4 bytes and under 256 KiB, got {0}")]
    BadExtension(usize),
}

/// A header extension: the profile-defined 16 bits and its data words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    pub profile: u16,
    pub data: &'a [u8],
}

/// A validated RTP packet borrowed from a receive buffer.
#[derive(Debug, Clone, Copy)]
pub struct RtpPacket<'a> {
    buf: &'a [u8],
    csrc_count: usize,
    /// Start of the extension header, when the X bit is set.
    ext_at: Option<usize>,
    payload_start: usize,
    payload_end: usize,
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, b2, c, d]) => u32::from_be_bytes([a, b2, c, d]),
        _ => 0,
    }
}

impl<'a> RtpPacket<'a> {
    pub fn parse(buf: &'a [u8]) -> Result<RtpPacket<'a>, RtpError> {
        let first = *buf.first().ok_or(RtpError::TooShort(0))?;
        if buf.len() < RTP_HEADER_LEN {
            return Err(RtpError::TooShort(buf.len()));
        }
        let version = first >> 6;
        if version != VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let csrc_count = usize::from(first & 0x0f);
        let mut at = RTP_HEADER_LEN + 4 * csrc_count;
        if buf.len() < at {
            return Err(RtpError::TooShort(buf.len()));
        }
        let mut ext_at = None;
        if first & 0x10 != 0 {
            if buf.len() < at + 4 {
                return Err(RtpError::TooShort(buf.len()));
            }
            let words = usize::from(be16(buf, at + 2));
            ext_at = Some(at);
            at += 4 + 4 * words;
            if buf.len() < at {
                return Err(RtpError::TooShort(buf.len()));
            }
        }
        let mut end = buf.len();
        if first & 0x20 != 0 {
            // The last octet counts the padding octets, itself included.
            let pad = buf.last().copied().unwrap_or(0);
            let body = end - at;
            if pad == 0 || usize::from(pad) > body {
                return Err(RtpError::BadPadding { pad, payload: body });
            }
            end -= usize::from(pad);
        }
        Ok(RtpPacket {
            buf,
            csrc_count,
            ext_at,
            payload_start: at,
            payload_end: end,
        })
    }

    pub fn padding(&self) -> bool {
        self.first() & 0x20 != 0
    }
    pub fn marker(&self) -> bool {
        self.second() & 0x80 != 0
    }
    pub fn payload_type(&self) -> u8 {
        self.second() & 0x7f
    }
    pub fn sequence(&self) -> u16 {
        be16(self.buf, 2)
    }
    pub fn timestamp(&self) -> u32 {
        be32(self.buf, 4)
    }
    pub fn ssrc(&self) -> u32 {
        be32(self.buf, 8)
    }
    pub fn csrc_count(&self) -> usize {
        self.csrc_count
    }
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        let buf = self.buf;
        (0..self.csrc_count).map(move |i| be32(buf, RTP_HEADER_LEN + 4 * i))
    }
    pub fn extension(&self) -> Option<RtpExtension<'a>> {
        let at = self.ext_at?;
        let profile = be16(self.buf, at);
        let data = self.buf.get(at + 4..self.payload_start)?;
        Some(RtpExtension { profile, data })
    }
    pub fn payload(&self) -> &'a [u8] {
        self.buf
            .get(self.payload_start..self.payload_end)
            .unwrap_or(&[])
    }
    /// Header length including CSRCs and extension.
    pub fn header_len(&self) -> usize {
        self.payload_start
    }
    fn first(&self) -> u8 {
        self.buf.first().copied().unwrap_or(0)
    }
    fn second(&self) -> u8 {
        self.buf.get(1).copied().unwrap_or(0)
    }
}

/// The fields of a header to send.
#[derive(Debug, Clone, Copy, Default)]
pub struct RtpHeader<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrcs: &'a [u32],
    pub extension: Option<RtpExtension<'a>>,
}

impl RtpHeader<'_> {
    /// Bytes this header occupies on the wire.
    pub fn wire_len(&self) -> usize {
        RTP_HEADER_LEN + 4 * self.csrcs.len() + self.extension.map_or(0, |e| 4 + e.data.len())
    }

    /// Writes the header into `out`, returning its length.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, RtpError> {
        self.write_with_padding(out, false)
    }

    /// Writes header, payload and `padding` padding octets (0 for none).
    pub fn write_packet(
        &self,
        payload: &[u8],
        padding: u8,
        out: &mut [u8],
    ) -> Result<usize, RtpError> {
        let head = self.wire_len();
        let total = head + payload.len() + usize::from(padding);
        if out.len() < total {
            return Err(RtpError::BufferTooSmall {
                need: total,
                have: out.len(),
            });
        }
        self.write_with_padding(out, padding > 0)?;
        out[head..head + payload.len()].copy_from_slice(payload);
        if padding > 0 {
            let pad = &mut out[head + payload.len()..total];
            pad.fill(0);
            if let Some(last) = pad.last_mut() {
                *last = padding;
            }
        }
        Ok(total)
    }

    fn write_with_padding(&self, out: &mut [u8], padding: bool) -> Result<usize, RtpError> {
        if self.payload_type > 127 {
            return Err(RtpError::BadPayloadType(self.payload_type));
        }
        if self.csrcs.len() > MAX_CSRC {
            return Err(RtpError::TooManyCsrcs(self.csrcs.len()));
        }
        if let Some(ext) = self.extension {
            if ext.data.len() % 4 != 0 || ext.data.len() / 4 > usize::from(u16::MAX) {
                return Err(RtpError::BadExtension(ext.data.len()));
            }
        }
        let need = self.wire_len();
        let have = out.len();
        let out = out
            .get_mut(..need)
            .ok_or(RtpError::BufferTooSmall { need, have })?;
        let mut first = VERSION << 6 | self.csrcs.len() as u8;
        if padding {
            first |= 0x20;
        }
        if self.extension.is_some() {
            first |= 0x10;
        }
        out[0] = first;
        out[1] = u8::from(self.marker) << 7 | self.payload_type;
        out[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        out[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let mut at = RTP_HEADER_LEN;
        for csrc in self.csrcs {
            out[at..at + 4].copy_from_slice(&csrc.to_be_bytes());
            at += 4;
        }
        if let Some(ext) = self.extension {
            out[at..at + 2].copy_from_slice(&ext.profile.to_be_bytes());
            out[at + 2..at + 4].copy_from_slice(&((ext.data.len() / 4) as u16).to_be_bytes());
            out[at + 4..at + 4 + ext.data.len()].copy_from_slice(ext.data);
        }
        Ok(need)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut out = vec![0u8; 256];
        let hdr = RtpHeader {
            marker: true,
            payload_type: 8,
            sequence: 0xfffe,
            timestamp: 0xdead_beef,
            ssrc: 0x1234_5678,
            csrcs: &[1, 2],
            extension: Some(RtpExtension {
                profile: 0xbede,
                data: &[1, 2, 3, 4, 5, 6, 7, 8],
            }),
        };
        let n = hdr.write_packet(&[9; 20], 4, &mut out).unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn round_trip_with_csrc_extension_and_padding() {
        let buf = sample();
        assert_eq!(buf.len(), 12 + 8 + 4 + 8 + 20 + 4);
        let p = RtpPacket::parse(&buf).unwrap();
        assert!(p.marker() && p.padding());
        assert_eq!(p.payload_type(), 8);
        assert_eq!(p.sequence(), 0xfffe);
        assert_eq!(p.timestamp(), 0xdead_beef);
        assert_eq!(p.ssrc(), 0x1234_5678);
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![1, 2]);
        let ext = p.extension().unwrap();
        assert_eq!(ext.profile, 0xbede);
        assert_eq!(ext.data, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(p.payload(), &[9; 20]);
        assert_eq!(p.header_len(), 32);
    }

    #[test]
    fn plain_header() {
        let mut out = [0u8; 12 + 160];
        let hdr = RtpHeader {
            payload_type: 0,
            sequence: 7,
            timestamp: 160,
            ssrc: 42,
            ..Default::default()
        };
        let n = hdr.write_packet(&[0xff; 160], 0, &mut out).unwrap();
        assert_eq!(n, 172);
        assert_eq!(out[0], 0x80);
        let p = RtpPacket::parse(&out).unwrap();
        assert!(!p.marker() && !p.padding() && p.extension().is_none());
        assert_eq!(p.csrc_count(), 0);
        assert_eq!(p.payload().len(), 160);
    }

    #[test]
    fn malformed_packets_are_errors() {
        let good = sample();
        assert_eq!(RtpPacket::parse(&[]).unwrap_err(), RtpError::TooShort(0));
        // Every truncation of a valid packet either fails or (past the header)
        // yields a packet whose payload fits the buffer; none panics.
        for n in 0..good.len() {
            if let Ok(p) = RtpPacket::parse(&good[..n]) {
                assert!(p.payload().len() <= n);
            }
        }
        assert!(matches!(
            RtpPacket::parse(&good[..11]),
            Err(RtpError::TooShort(11))
        ));
        let mut v1 = good.clone();
        v1[0] = (v1[0] & 0x3f) | 0x40;
        assert_eq!(RtpPacket::parse(&v1).unwrap_err(), RtpError::BadVersion(1));
        // CSRC count promises more than the packet holds.
        let mut csrc = [0x8fu8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(RtpPacket::parse(&csrc).is_err());
        csrc[0] = 0x80;
        assert!(RtpPacket::parse(&csrc).is_ok());
        // Extension length runs past the end.
        let mut ext = [0u8; 20];
        ext[0] = 0x90;
        ext[14] = 0xff;
        ext[15] = 0xff;
        assert!(matches!(RtpPacket::parse(&ext), Err(RtpError::TooShort(_))));
        // Padding count of zero or larger than the body.
        let mut pad = [0u8; 16];
        pad[0] = 0xa0;
        assert!(matches!(
            RtpPacket::parse(&pad),
            Err(RtpError::BadPadding { .. })
        ));
        pad[15] = 5;
        assert!(matches!(
            RtpPacket::parse(&pad),
            Err(RtpError::BadPadding { pad: 5, payload: 4 })
        ));
        pad[15] = 4;
        assert_eq!(RtpPacket::parse(&pad).unwrap().payload(), &[] as &[u8]);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x9e37_79b9_u32;
        let mut buf = [0u8; 64];
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let len = (state % 64) as usize;
            for (i, b) in buf.iter_mut().enumerate() {
                *b = (state.rotate_left(i as u32) ^ i as u32) as u8;
            }
            buf[0] = (buf[0] & 0x3f) | 0x80;
            if let Ok(p) = RtpPacket::parse(&buf[..len]) {
                let _ = (p.payload(), p.extension(), p.csrcs().count());
            }
        }
    }

    #[test]
    fn writer_rejects_bad_fields() {
        let mut out = [0u8; 64];
        let bad_pt = RtpHeader {
            payload_type: 200,
            ..Default::default()
        };
        assert_eq!(bad_pt.write(&mut out), Err(RtpError::BadPayloadType(200)));
        let csrcs = [0u32; 16];
        let many = RtpHeader {
            csrcs: &csrcs,
            ..Default::default()
        };
        assert_eq!(many.write(&mut [0u8; 128]), Err(RtpError::TooManyCsrcs(16)));
        let odd = RtpHeader {
            extension: Some(RtpExtension {
                profile: 1,
                data: &[1, 2, 3],
            }),
            ..Default::default()
        };
        assert_eq!(odd.write(&mut out), Err(RtpError::BadExtension(3)));
        assert!(matches!(
            RtpHeader::default().write(&mut out[..11]),
            Err(RtpError::BufferTooSmall { need: 12, have: 11 })
        ));
        assert!(matches!(
            RtpHeader::default().write_packet(&[0; 60], 0, &mut out),
            Err(RtpError::BufferTooSmall { need: 72, .. })
        ));
    }
}
