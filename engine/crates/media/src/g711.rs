//! G.711 μ-law and A-law.
//!
//! Decoding is a 256-entry table built at compile time from the ITU-T G.711
//! segment formulas, so every code maps to exactly the value sox and the Sun
//! reference implementation produce. Encoding is the same reference quantiser
//! fed as sox feeds it: 16-bit input rounded (not truncated) to 14 bits for
//! μ-law and 13 bits for A-law, so encoded output is byte-identical to
//! `sox -D`. It is computed with a leading-zero count rather than a 64 KiB
//! table, which would cost more in cache misses than the arithmetic saves.

const fn ulaw_decode_const(code: u8) -> i16 {
    let u = !code;
    let mut t = (((u & 0x0f) as i32) << 3) + 0x84;
    t <<= (u & 0x70) >> 4;
    if u & 0x80 != 0 {
        (0x84 - t) as i16
    } else {
        (t - 0x84) as i16
    }
}

const fn alaw_decode_const(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0f) as i32) << 4;
    let seg = (a & 0x70) >> 4;
    t += if seg == 0 { 8 } else { 0x108 };
    if seg > 1 {
        t <<= seg - 1;
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

const fn table(alaw: bool) -> [i16; 256] {
    let mut out = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = if alaw {
            alaw_decode_const(i as u8)
        } else {
            ulaw_decode_const(i as u8)
        };
        i += 1;
    }
    out
}

static ULAW_TO_LINEAR: [i16; 256] = table(false);
static ALAW_TO_LINEAR: [i16; 256] = table(true);

/// μ-law code for digital silence (positive zero).
pub const ULAW_SILENCE: u8 = 0xff;
/// A-law code for the smallest positive step, the conventional silence value.
pub const ALAW_SILENCE: u8 = 0xd5;

#[inline]
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_TO_LINEAR[usize::from(code)]
}

#[inline]
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_TO_LINEAR[usize::from(code)]
}

#[inline]
pub fn linear_to_ulaw(pcm: i16) -> u8 {
    const CLIP: i32 = 8159;
    const BIAS: i32 = 0x84 >> 2;
    let mut v = ((i32::from(pcm) + 2) >> 2).min(0x1fff);
    let mask: u8 = if v < 0 {
        v = -v;
        0x7f
    } else {
        0xff
    };
    v = v.min(CLIP) + BIAS;
    // Segment 0 ends at 0x3f, each later one doubles: the segment is the bit
    // length beyond six bits. Only the clipped maximum reaches segment 8.
    let bits = 32 - v.leading_zeros();
    let seg = bits.saturating_sub(6);
    if seg >= 8 {
        return 0x7f ^ mask;
    }
    let code = (seg << 4) as u8 | ((v >> (seg + 1)) & 0x0f) as u8;
    code ^ mask
}

#[inline]
pub fn linear_to_alaw(pcm: i16) -> u8 {
    let mut v = ((i32::from(pcm) + 4) >> 3).min(0x0fff);
    let mask: u8 = if v >= 0 {
        0xd5
    } else {
        v = -v - 1;
        0x55
    };
    // Segment 0 ends at 0x1f; a 13-bit magnitude never passes segment 7.
    let bits = 32 - v.leading_zeros();
    let seg = bits.saturating_sub(5).min(7);
    let quant = if seg < 2 { v >> 1 } else { v >> seg };
    let code = (seg << 4) as u8 | (quant & 0x0f) as u8;
    code ^ mask
}

pub fn decode_ulaw(input: &[u8], out: &mut [i16]) -> usize {
    for (o, &c) in out.iter_mut().zip(input) {
        *o = ulaw_to_linear(c);
    }
    input.len().min(out.len())
}

pub fn decode_alaw(input: &[u8], out: &mut [i16]) -> usize {
    for (o, &c) in out.iter_mut().zip(input) {
        *o = alaw_to_linear(c);
    }
    input.len().min(out.len())
}

pub fn encode_ulaw(input: &[i16], out: &mut [u8]) -> usize {
    for (o, &s) in out.iter_mut().zip(input) {
        *o = linear_to_ulaw(s);
    }
    input.len().min(out.len())
}

pub fn encode_alaw(input: &[i16], out: &mut [u8]) -> usize {
    for (o, &s) in out.iter_mut().zip(input) {
        *o = linear_to_alaw(s);
    }
    input.len().min(out.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sox 14.4.2 decoding every code 0..=255 (`sox -D -t ul|al … -t s16`),
    /// little-endian i16. See `tests/fixtures/README.md`.
    const SOX_ULAW_DECODE: &[u8; 512] = include_bytes!("../tests/fixtures/ulaw_decode.s16");
    const SOX_ALAW_DECODE: &[u8; 512] = include_bytes!("../tests/fixtures/alaw_decode.s16");
    /// FNV-1a of sox encoding every i16 from -32768 to 32767 in order.
    const SOX_ULAW_ENCODE_FNV: u64 = include!("../tests/fixtures/ulaw_encode.fnv");
    const SOX_ALAW_ENCODE_FNV: u64 = include!("../tests/fixtures/alaw_encode.fnv");

    fn fnv(bytes: impl Iterator<Item = u8>) -> u64 {
        bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    fn fixture(raw: &[u8; 512]) -> Vec<i16> {
        raw.chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn decode_matches_sox_for_every_code() {
        let ulaw = fixture(SOX_ULAW_DECODE);
        let alaw = fixture(SOX_ALAW_DECODE);
        for code in 0..=255u8 {
            assert_eq!(
                ulaw_to_linear(code),
                ulaw[usize::from(code)],
                "ulaw {code:#x}"
            );
            assert_eq!(
                alaw_to_linear(code),
                alaw[usize::from(code)],
                "alaw {code:#x}"
            );
        }
    }

    #[test]
    fn known_table_values() {
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0xff), 0);
        assert_eq!(ulaw_to_linear(0x7f), 0);
        assert_eq!(ulaw_to_linear(0xfe), 8);
        assert_eq!(alaw_to_linear(0xd5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xaa), 32256);
        assert_eq!(alaw_to_linear(0x2a), -32256);
        assert_eq!(linear_to_ulaw(0), 0xff);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_alaw(0), 0xd5);
        assert_eq!(linear_to_alaw(i16::MAX), 0xaa);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2a);
    }

    #[test]
    fn encode_matches_sox_for_every_sample() {
        let all = || i16::MIN..=i16::MAX;
        assert_eq!(fnv(all().map(linear_to_ulaw)), SOX_ULAW_ENCODE_FNV);
        assert_eq!(fnv(all().map(linear_to_alaw)), SOX_ALAW_ENCODE_FNV);
    }

    #[test]
    fn code_round_trip_is_identity() {
        for code in 0..=255u8 {
            let u = linear_to_ulaw(ulaw_to_linear(code));
            // 0x7f is negative zero and encodes back as positive zero.
            if code != 0x7f {
                assert_eq!(u, code, "ulaw {code:#x}");
            }
            assert_eq!(linear_to_alaw(alaw_to_linear(code)), code, "alaw {code:#x}");
        }
    }

    #[test]
    fn sample_round_trip_error_is_bounded_by_segment() {
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let u = ulaw_to_linear(linear_to_ulaw(s));
            let a = alaw_to_linear(linear_to_alaw(s));
            // Half a quantisation step is about 1/32 of the magnitude.
            let tol = i32::from(s).abs() / 16 + 16;
            assert!((i32::from(u) - i32::from(s)).abs() <= tol, "u {s}");
            assert!((i32::from(a) - i32::from(s)).abs() <= tol, "a {s}");
        }
    }

    #[test]
    fn slice_helpers_stop_at_shorter_side() {
        let pcm = [0i16, 1000, -1000];
        let mut enc = [0u8; 2];
        assert_eq!(encode_ulaw(&pcm, &mut enc), 2);
        let mut dec = [0i16; 4];
        assert_eq!(decode_ulaw(&enc, &mut dec), 2);
        assert_eq!(encode_alaw(&pcm, &mut enc), 2);
        assert_eq!(decode_alaw(&enc, &mut dec), 2);
        assert_eq!(dec[0], 8);
    }
}
