//! Length fields symphonia 0.5 trusts before it has the bytes: a Vorbis
//! comment (in FLAC, Ogg Vorbis, Ogg Opus and Ogg FLAC) or a FLAC picture
//! block claims up to 4 GiB, and symphonia allocates that much before reading
//! past the end of the block, so a few hundred crafted bytes make a
//! multi-gigabyte allocation (which aborts the process where memory is not
//! overcommitted). This pass finds those structures the way symphonia's
//! readers will and refuses a file whose lengths overrun their block or
//! packet, before symphonia sees it.

use std::collections::{HashMap, HashSet};

/// How far symphonia's probe looks for a container marker.
const PROBE_LIMIT: usize = 1024 * 1024;
const FLAC_COMMENT: u8 = 4;
const FLAC_PICTURE: u8 = 6;

/// `Err` names the structure whose length overruns it.
pub(super) fn check(bytes: &[u8]) -> Result<(), &'static str> {
    check_flac(bytes)?;
    check_ogg(bytes)
}

fn be32(b: &[u8], at: usize) -> Option<usize> {
    let w = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([w[0], w[1], w[2], w[3]]) as usize)
}

fn le32(b: &[u8], at: usize) -> Option<usize> {
    let w = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize)
}

/// A Vorbis comment without framing, as `read_comment_no_framing` reads it:
/// each comment's length must fit in what is left of `data`. (A vendor
/// string too long is skipped without allocating, and fails there.)
fn comment_fits(data: &[u8]) -> bool {
    let Some(vendor) = le32(data, 0) else {
        return true;
    };
    let mut at = 4usize.saturating_add(vendor);
    let Some(count) = le32(data, at) else {
        return true;
    };
    at += 4;
    for _ in 0..count {
        let Some(len) = le32(data, at) else {
            return true;
        };
        at += 4;
        if len > data.len() - at {
            return false;
        }
        at += len;
    }
    true
}

/// A FLAC PICTURE block body: media type, description and data lengths.
fn picture_fits(data: &[u8]) -> bool {
    let mut at = 4;
    for field in 0..3 {
        if field == 2 {
            // Width, height, depth and colours come before the data length.
            at += 16;
        }
        let Some(len) = be32(data, at) else {
            return true;
        };
        at += 4;
        if len > data.len().saturating_sub(at) {
            return false;
        }
        at += len;
    }
    true
}

fn block_fits(kind: u8, body: &[u8]) -> Result<(), &'static str> {
    match kind {
        FLAC_COMMENT if !comment_fits(body) => Err("a FLAC comment overruns its block"),
        FLAC_PICTURE if !picture_fits(body) => Err("a FLAC picture overruns its block"),
        _ => Ok(()),
    }
}

/// Native FLAC: the metadata blocks after every `fLaC` the probe could stop at.
fn check_flac(bytes: &[u8]) -> Result<(), &'static str> {
    let window = &bytes[..bytes.len().min(PROBE_LIMIT + 4)];
    let mut seen = HashSet::new();
    let mut from = 0;
    while let Some(i) = window[from..].windows(4).position(|w| w == b"fLaC") {
        let mut at = from + i + 4;
        from += i + 1;
        while seen.insert(at) {
            let Some(&[head, a, b, c]) = bytes.get(at..at + 4) else {
                break;
            };
            let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            let start = at + 4;
            let end = start.saturating_add(len).min(bytes.len());
            block_fits(head & 0x7f, &bytes[start..end])?;
            if head & 0x80 != 0 {
                break;
            }
            at = start + len;
        }
    }
    Ok(())
}

#[derive(Default)]
struct OggStream {
    packet: Vec<u8>,
    flac: Option<bool>,
}

impl OggStream {
    fn packet_done(&mut self) -> Result<(), &'static str> {
        let p = std::mem::take(&mut self.packet);
        let flac = *self.flac.get_or_insert_with(|| p.starts_with(b"\x7fFLAC"));
        if let Some(comment) = p.strip_prefix(b"\x03vorbis") {
            if !comment_fits(comment) {
                return Err("a Vorbis comment overruns its packet");
            }
        } else if let Some(comment) = p.strip_prefix(b"OpusTags") {
            if !comment_fits(comment) {
                return Err("an Opus comment overruns its packet");
            }
        } else if flac && p.len() >= 4 {
            block_fits(p[0] & 0x7f, &p[4..])?;
        }
        Ok(())
    }
}

/// Ogg: every packet of every logical stream, reassembled from its pages.
fn check_ogg(bytes: &[u8]) -> Result<(), &'static str> {
    let find = |from: usize| {
        bytes
            .get(from..)?
            .windows(4)
            .position(|w| w == b"OggS")
            .map(|i| from + i)
    };
    let mut streams: HashMap<u32, OggStream> = HashMap::new();
    let mut next = find(0);
    while let Some(pos) = next {
        let Some(header) = bytes.get(pos..pos + 27) else {
            break;
        };
        let serial = u32::from_le_bytes([header[14], header[15], header[16], header[17]]);
        let segments = usize::from(header[26]);
        let Some(table) = bytes.get(pos + 27..pos + 27 + segments) else {
            break;
        };
        let stream = streams.entry(serial).or_default();
        if header[5] & 1 == 0 {
            stream.packet.clear();
        }
        let mut at = pos + 27 + segments;
        for &lace in table {
            let end = (at + usize::from(lace)).min(bytes.len());
            stream.packet.extend_from_slice(&bytes[at..end]);
            at = end;
            if lace < 255 {
                stream.packet_done()?;
            }
        }
        next = if bytes[at..].starts_with(b"OggS") {
            Some(at)
        } else {
            find(pos + 1)
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(lengths: &[u32], data: usize) -> Vec<u8> {
        let mut c = Vec::new();
        c.extend_from_slice(&0u32.to_le_bytes());
        c.extend_from_slice(&(lengths.len() as u32).to_le_bytes());
        for &len in lengths {
            c.extend_from_slice(&len.to_le_bytes());
            c.extend(std::iter::repeat_n(b'x', data));
        }
        c
    }

    fn flac_with(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut f = b"fLaC".to_vec();
        f.extend_from_slice(&[0, 0, 0, 34]);
        f.extend_from_slice(&[0; 34]);
        f.push(0x80 | kind);
        f.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        f.extend_from_slice(body);
        f
    }

    #[test]
    fn flac_comment_lengths_must_fit_their_block() {
        assert!(check(&flac_with(FLAC_COMMENT, &comment(&[3, 4], 3))).is_err());
        assert!(check(&flac_with(FLAC_COMMENT, &comment(&[3, 3], 3))).is_ok());
        assert!(check(&flac_with(FLAC_COMMENT, &comment(&[0xfe00_0000], 0))).is_err());
    }

    #[test]
    fn flac_picture_lengths_must_fit_their_block() {
        let mut pic = vec![0, 0, 0, 3];
        pic.extend_from_slice(&9u32.to_be_bytes());
        pic.extend_from_slice(b"image/png");
        pic.extend_from_slice(&0u32.to_be_bytes());
        pic.extend_from_slice(&[0; 16]);
        let mut ok = pic.clone();
        ok.extend_from_slice(&2u32.to_be_bytes());
        ok.extend_from_slice(b"ab");
        assert!(check(&flac_with(FLAC_PICTURE, &ok)).is_ok());
        pic.extend_from_slice(&0xffff_fff0u32.to_be_bytes());
        assert!(check(&flac_with(FLAC_PICTURE, &pic)).is_err());
    }

    fn ogg_page(serial: u32, continued: bool, payload: &[u8]) -> Vec<u8> {
        let mut laces: Vec<u8> = vec![255; payload.len() / 255];
        laces.push((payload.len() % 255) as u8);
        let mut p = b"OggS\0".to_vec();
        p.push(u8::from(continued));
        p.extend_from_slice(&[0; 8]);
        p.extend_from_slice(&serial.to_le_bytes());
        p.extend_from_slice(&[0; 8]);
        p.push(laces.len() as u8);
        p.extend_from_slice(&laces);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn ogg_comment_packets_are_checked_across_pages() {
        let mut good = b"\x03vorbis".to_vec();
        good.extend(comment(&[600], 600));
        assert!(check(&ogg_page(1, false, &good)).is_ok());
        let mut bad = b"\x03vorbis".to_vec();
        bad.extend(comment(&[0x7fff_ffff], 10));
        assert!(check(&ogg_page(1, false, &bad)).is_err());
        let mut opus = b"OpusTags".to_vec();
        opus.extend(comment(&[50], 10));
        assert!(check(&ogg_page(7, false, &opus)).is_err());
    }

    #[test]
    fn ordinary_bytes_pass() {
        assert!(check(b"").is_ok());
        assert!(check(b"fLaC").is_ok());
        assert!(check(b"OggS").is_ok());
        assert!(check(&[0xff; 1000]).is_ok());
    }
}
