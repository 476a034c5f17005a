//! RTP payload formats: `a=rtpmap` values and the RFC 3551 static payload table.

use std::fmt;

/// An encoding as `a=rtpmap` describes it: `PCMU/8000`, `opus/48000/2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub encoding: String,
    pub clock_rate: u32,
    /// Audio channels; absent means one.
    pub channels: Option<u16>,
}

impl RtpMap {
    pub fn new(encoding: &str, clock_rate: u32) -> RtpMap {
        RtpMap {
            encoding: encoding.to_owned(),
            clock_rate,
            channels: None,
        }
    }

    /// Parses the value of an `a=rtpmap` attribute, `<pt> <encoding>/<rate>[/<channels>]`.
    /// Malformed values give `None`: the payload type then counts as unknown.
    pub fn parse_attribute(value: &str) -> Option<(u8, RtpMap)> {
        let mut tokens = value.split_whitespace();
        let pt = parse_payload_type(tokens.next()?)?;
        let spec = tokens.next()?;
        if tokens.next().is_some() {
            return None;
        }
        let mut parts = spec.split('/');
        let encoding = parts.next().filter(|e| !e.is_empty())?;
        let clock_rate = parse_digits::<u32>(parts.next()?).filter(|r| *r > 0)?;
        let channels = match parts.next() {
            Some(c) => Some(parse_digits::<u16>(c).filter(|c| *c > 0)?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some((
            pt,
            RtpMap {
                encoding: encoding.to_owned(),
                clock_rate,
                channels,
            },
        ))
    }

    /// Whether this is RFC 4733 telephone-event at `rate` Hz.
    pub fn is_telephone_event(&self, rate: u32) -> bool {
        self.clock_rate == rate && self.encoding.eq_ignore_ascii_case("telephone-event")
    }
}

impl fmt::Display for RtpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.encoding, self.clock_rate)?;
        if let Some(channels) = self.channels {
            write!(f, "/{channels}")?;
        }
        Ok(())
    }
}

/// RFC 3551 tables 4 and 5: `(payload type, encoding, clock rate, channels)`.
/// Payload types missing here are unassigned, reserved or dynamic.
const STATIC_PAYLOADS: &[(u8, &str, u32, Option<u16>)] = &[
    (0, "PCMU", 8000, None),
    (3, "GSM", 8000, None),
    (4, "G723", 8000, None),
    (5, "DVI4", 8000, None),
    (6, "DVI4", 16000, None),
    (7, "LPC", 8000, None),
    (8, "PCMA", 8000, None),
    (9, "G722", 8000, None),
    (10, "L16", 44100, Some(2)),
    (11, "L16", 44100, None),
    (12, "QCELP", 8000, None),
    (13, "CN", 8000, None),
    (14, "MPA", 90000, None),
    (15, "G728", 8000, None),
    (16, "DVI4", 11025, None),
    (17, "DVI4", 22050, None),
    (18, "G729", 8000, None),
    (25, "CelB", 90000, None),
    (26, "JPEG", 90000, None),
    (28, "nv", 90000, None),
    (31, "H261", 90000, None),
    (32, "MPV", 90000, None),
    (33, "MP2T", 90000, None),
    (34, "H263", 90000, None),
];

/// The encoding RFC 3551 assigns to a static payload type, which applies when a
/// description lists the type without an `a=rtpmap` for it.
pub fn static_payload(pt: u8) -> Option<RtpMap> {
    STATIC_PAYLOADS
        .iter()
        .find(|(number, ..)| *number == pt)
        .map(|&(_, encoding, clock_rate, channels)| RtpMap {
            encoding: encoding.to_owned(),
            clock_rate,
            channels,
        })
}

/// An RTP payload type: a decimal number up to 127 (the marker bit takes the 8th).
pub(crate) fn parse_payload_type(token: &str) -> Option<u8> {
    parse_digits::<u8>(token).filter(|pt| *pt <= 127)
}

/// Only ASCII digits: `str::parse` would also take a leading `+`.
pub(crate) fn parse_digits<T: std::str::FromStr>(token: &str) -> Option<T> {
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_table_knows_g711() {
        assert_eq!(static_payload(0), Some(RtpMap::new("PCMU", 8000)));
        assert_eq!(static_payload(8), Some(RtpMap::new("PCMA", 8000)));
        assert_eq!(static_payload(9).map(|m| m.clock_rate), Some(8000));
        assert_eq!(static_payload(96), None);
        assert_eq!(static_payload(2), None);
    }

    #[test]
    fn rtpmap_values() {
        let (pt, map) = RtpMap::parse_attribute("111 opus/48000/2").unwrap();
        assert_eq!(pt, 111);
        assert_eq!(map.channels, Some(2));
        assert_eq!(map.to_string(), "opus/48000/2");
        let (pt, map) = RtpMap::parse_attribute(" 101  telephone-event/8000 ").unwrap();
        assert_eq!(pt, 101);
        assert!(map.is_telephone_event(8000));
        for junk in [
            "",
            "0",
            "0 PCMU",
            "0 PCMU/",
            "0 /8000",
            "128 PCMU/8000",
            "+0 PCMU/8000",
            "0 PCMU/8000/1/1",
            "0 PCMU/0",
            "0 PCMU/8000 x",
            "x PCMU/8000",
            "0 PCMU/99999999999",
        ] {
            assert_eq!(RtpMap::parse_attribute(junk), None, "{junk:?}");
        }
    }
}
