//! Parser for tone scripts, e.g. `350@-13,440@-13;10(*/0/1+2)`.
//!
//! The notation (ToneScript, as used by VoxEngine's `createToneScriptPlayer`
//! and SIP phones) is a frequency list followed by cadence sections:
//!
//! ```text
//! script    = freqs ";" section *(";" section)
//! freqs     = component *("," component)          ; at most 8
//! component = HZ "@" LEVEL                         ; 1..=3999 Hz, −63..=+3 dBm0
//! section   = DURATION "(" segment *("," segment) ")"
//! segment   = DURATION "/" DURATION "/" refs       ; on time / off time
//! refs      = "0" / INDEX *("+" INDEX)             ; 1-based into freqs
//! DURATION  = "*" / seconds                        ; "*" = forever, e.g. 2, .38, 0.5
//! ```
//!
//! Sections play in order. Within a section the segments repeat, each
//! sounding its components for the on time and then staying silent for the
//! off time, until the section's duration runs out (cutting a segment short
//! if needed). `0` as the reference list, or no reference, is silence.
//! Spaces around tokens are allowed. Frequencies are whole hertz; durations
//! are kept to the sample at 8 kHz.

use std::time::Duration;

use thiserror::Error;

use super::RATE;

/// Most frequency components in one script.
pub const MAX_COMPONENTS: usize = 8;
/// Most cadence sections, and most segments in one section.
pub const MAX_SECTIONS: usize = 8;
pub const MAX_SEGMENTS: usize = 8;
/// Longest finite duration accepted anywhere, in seconds.
pub const MAX_SECONDS: u64 = 86_400;
/// Longest script text accepted.
pub const MAX_LEN: usize = 1024;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ToneError {
    #[error("tone script is empty")]
    Empty,
    #[error("tone script is longer than {MAX_LEN} characters")]
    TooLong,
    #[error("tone script has no cadence section")]
    NoCadence,
    #[error("bad frequency component {0:?} (want HZ@LEVEL, 1-3999 Hz, -63..3 dBm0)")]
    Component(String),
    #[error("bad cadence section {0:?} (want DURATION(on/off/refs,...))")]
    Section(String),
    #[error("bad cadence segment {0:?} (want on/off/refs)")]
    Segment(String),
    #[error("bad duration {0:?} (want * or seconds up to {MAX_SECONDS})")]
    Duration(String),
    #[error("frequency reference {0:?} does not name a component")]
    Reference(String),
    #[error("too many {0} (at most 8)")]
    TooMany(&'static str),
    #[error("cadence section {0:?} never advances: its segments last no time")]
    EmptyCadence(String),
}

/// One frequency of the script.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Component {
    pub hz: u16,
    pub level_dbm0: f32,
}

/// On time, off time and the components sounding; times in samples at
/// 8 kHz, `None` = forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub on: Option<u64>,
    pub off: Option<u64>,
    /// Bit `i` set = component `i` sounds.
    pub mask: u8,
}

impl Segment {
    pub(crate) fn on_samples(&self) -> u64 {
        self.on.unwrap_or(u64::MAX)
    }

    pub(crate) fn total_samples(&self) -> u64 {
        self.on_samples()
            .saturating_add(self.off.unwrap_or(u64::MAX))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Samples at 8 kHz, `None` = forever.
    pub duration: Option<u64>,
    pub segments: Vec<Segment>,
}

/// A parsed, validated tone script.
#[derive(Debug, Clone, PartialEq)]
pub struct ToneScript {
    components: Vec<Component>,
    sections: Vec<Section>,
}

impl ToneScript {
    pub fn parse(s: &str) -> Result<ToneScript, ToneError> {
        if s.len() > MAX_LEN {
            return Err(ToneError::TooLong);
        }
        let s = s.trim();
        if s.is_empty() {
            return Err(ToneError::Empty);
        }
        let mut parts = s.split(';');
        let freqs = parts.next().unwrap_or_default();
        let components = freqs
            .split(',')
            .map(parse_component)
            .collect::<Result<Vec<_>, _>>()?;
        if components.len() > MAX_COMPONENTS {
            return Err(ToneError::TooMany("frequency components"));
        }
        let sections = parts
            .map(|p| parse_section(p, components.len()))
            .collect::<Result<Vec<_>, _>>()?;
        if sections.is_empty() {
            return Err(ToneError::NoCadence);
        }
        if sections.len() > MAX_SECTIONS {
            return Err(ToneError::TooMany("cadence sections"));
        }
        Ok(ToneScript {
            components,
            sections,
        })
    }

    /// Length of one pass, `None` if a section lasts forever.
    pub fn duration(&self) -> Option<Duration> {
        self.samples().map(samples_to_duration)
    }

    /// Length of one pass in samples at 8 kHz, `None` if infinite.
    pub fn samples(&self) -> Option<u64> {
        self.sections
            .iter()
            .try_fold(0u64, |acc, s| s.duration.map(|d| acc.saturating_add(d)))
    }

    pub fn components(&self) -> &[Component] {
        &self.components
    }

    pub fn sections(&self) -> &[Section] {
        &self.sections
    }
}

pub(crate) fn samples_to_duration(samples: u64) -> Duration {
    Duration::from_nanos(samples.saturating_mul(1_000_000_000 / u64::from(RATE)))
}

fn parse_component(text: &str) -> Result<Component, ToneError> {
    let bad = || ToneError::Component(text.trim().to_owned());
    let (hz, level) = text.split_once('@').ok_or_else(bad)?;
    let hz = hz.trim();
    if hz.is_empty() || !hz.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let hz: u16 = hz.parse().map_err(|_| bad())?;
    let level = level.trim();
    let numeric = level
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.'));
    if !numeric {
        return Err(bad());
    }
    let level_dbm0: f32 = level.parse().map_err(|_| bad())?;
    if !(1..RATE as u16 / 2).contains(&hz) || !(-63.0..=3.0).contains(&level_dbm0) {
        return Err(bad());
    }
    Ok(Component { hz, level_dbm0 })
}

fn parse_section(text: &str, components: usize) -> Result<Section, ToneError> {
    let bad = || ToneError::Section(text.trim().to_owned());
    let (duration, rest) = text.split_once('(').ok_or_else(bad)?;
    let body = rest.trim_end().strip_suffix(')').ok_or_else(bad)?;
    if body.contains(['(', ')']) {
        return Err(bad());
    }
    let duration = parse_duration(duration)?;
    let segments = body
        .split(',')
        .map(|s| parse_segment(s, components))
        .collect::<Result<Vec<_>, _>>()?;
    if segments.len() > MAX_SEGMENTS {
        return Err(ToneError::TooMany("segments in a section"));
    }
    if segments.iter().all(|s| s.total_samples() == 0) {
        return Err(ToneError::EmptyCadence(text.trim().to_owned()));
    }
    Ok(Section { duration, segments })
}

fn parse_segment(text: &str, components: usize) -> Result<Segment, ToneError> {
    let mut fields = text.split('/');
    let (Some(on), Some(off), refs, None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(ToneError::Segment(text.trim().to_owned()));
    };
    let on = parse_duration(on)?;
    let off = parse_duration(off)?;
    let mask = parse_refs(refs.unwrap_or("0"), components)?;
    Ok(Segment { on, off, mask })
}

fn parse_refs(text: &str, components: usize) -> Result<u8, ToneError> {
    let text = text.trim();
    if text.is_empty() || text == "0" {
        return Ok(0);
    }
    let mut mask = 0u8;
    for r in text.split('+') {
        let bad = || ToneError::Reference(r.trim().to_owned());
        let r = r.trim();
        if r.is_empty() || !r.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let i: usize = r.parse().map_err(|_| bad())?;
        if i == 0 || i > components {
            return Err(bad());
        }
        mask |= 1 << (i - 1);
    }
    Ok(mask)
}

/// `*` → `None`; seconds with up to 6 decimals → samples at 8 kHz, rounded.
fn parse_duration(text: &str) -> Result<Option<u64>, ToneError> {
    let t = text.trim();
    let bad = || ToneError::Duration(t.to_owned());
    if t == "*" {
        return Ok(None);
    }
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || frac.len() > 6 {
        return Err(bad());
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    if secs > MAX_SECONDS {
        return Err(bad());
    }
    let mut micros = 0u64;
    for (i, b) in frac.bytes().enumerate() {
        let place = 10u64.pow(5 - i as u32);
        micros += u64::from(b - b'0') * place;
    }
    let total_us = secs * 1_000_000 + micros;
    if total_us > MAX_SECONDS * 1_000_000 {
        return Err(bad());
    }
    let rate = u64::from(RATE);
    Ok(Some((total_us * rate + 500_000) / 1_000_000))
}

#[cfg(test)]
#[path = "script_tests.rs"]
mod tests;
