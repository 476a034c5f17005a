//! National call progress tones (ringback) as tone scripts, for
//! `call.playProgressTone(country)`.

use super::script::ToneScript;

/// Ringback per country code (ASCII case-insensitive). Each loops forever.
const RINGBACK: &[(&str, &str)] = &[
    // North America: 440 + 480 Hz at −19 dBm0, 2 s on, 4 s off.
    ("US", "440@-19,480@-19;*(2/4/1+2)"),
    // Russia: 425 Hz at −10 dBm0, 1 s on, 4 s off.
    ("RU", "425@-10;*(1/4/1)"),
];

/// The ringback tone for `country` ("US", "RU"), or `None` when unknown.
pub fn progress_tone(country: &str) -> Option<ToneScript> {
    let country = country.trim();
    RINGBACK
        .iter()
        .find(|(code, _)| code.eq_ignore_ascii_case(country))
        .and_then(|(_, script)| ToneScript::parse(script).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_countries_parse_and_loop_forever() {
        for code in ["US", "us", " Ru ", "RU"] {
            let script = progress_tone(code).unwrap();
            assert_eq!(script.duration(), None, "{code}");
        }
        assert!(progress_tone("XX").is_none());
        assert!(progress_tone("").is_none());
    }

    #[test]
    fn us_and_ru_shapes() {
        let us = progress_tone("US").unwrap();
        let hz: Vec<u16> = us.components().iter().map(|c| c.hz).collect();
        assert_eq!(hz, vec![440, 480]);
        let seg = us.sections()[0].segments[0];
        assert_eq!(
            (seg.on, seg.off, seg.mask),
            (Some(16_000), Some(32_000), 0b11)
        );

        let ru = progress_tone("ru").unwrap();
        assert_eq!(ru.components()[0].hz, 425);
        let seg = ru.sections()[0].segments[0];
        assert_eq!(
            (seg.on, seg.off, seg.mask),
            (Some(8_000), Some(32_000), 0b1)
        );
    }
}
