//! DTMF carried in SIP INFO bodies: `application/dtmf-relay`
//! (`Signal=5` / `Duration=160` lines) and `application/dtmf` (the digit
//! alone).

use super::rfc4733::{digit_to_event, event_to_digit};

/// The content type used for INFO digits we send.
pub const DTMF_RELAY: &str = "application/dtmf-relay";

/// The digit an INFO body carries, or `None` for any other content type or a
/// body without a valid digit. Tolerant of parameters on the content type,
/// case, surrounding spaces and bare LF line ends; a signal may be the digit
/// itself or its event code (`10` for `*`, `11` for `#`, as some phones send).
pub fn parse_info(content_type: &str, body: &[u8]) -> Option<char> {
    let media_type = content_type.split(';').next()?.trim();
    let body = std::str::from_utf8(body).ok()?;
    if media_type.eq_ignore_ascii_case("application/dtmf-relay") {
        body.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            if key.trim().eq_ignore_ascii_case("signal") {
                parse_signal(value)
            } else {
                None
            }
        })
    } else if media_type.eq_ignore_ascii_case("application/dtmf") {
        parse_signal(body)
    } else {
        None
    }
}

fn parse_signal(value: &str) -> Option<char> {
    let value = value.trim();
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => digit_to_event(c).and_then(event_to_digit),
        (Some(_), Some(_)) => value.parse::<u8>().ok().and_then(event_to_digit),
        _ => None,
    }
}

/// The content type and body for sending `digit` by INFO; `None` when
/// `digit` is not a DTMF digit.
pub fn info_body(digit: char, duration_ms: u32) -> Option<(&'static str, String)> {
    let digit = digit_to_event(digit).and_then(event_to_digit)?;
    Some((
        DTMF_RELAY,
        format!("Signal={digit}\r\nDuration={duration_ms}\r\n"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_relay_bodies() {
        let ct = "application/dtmf-relay";
        assert_eq!(parse_info(ct, b"Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(parse_info(ct, b"Signal=5\r\nDuration=160"), Some('5'));
        assert_eq!(parse_info(ct, b"signal = #\nduration = 100\n"), Some('#'));
        assert_eq!(parse_info(ct, b"Duration=250\nSIGNAL= *"), Some('*'));
        assert_eq!(parse_info(ct, b"Signal=a\r\n"), Some('A'));
        assert_eq!(parse_info(ct, b"Signal=11\r\n"), Some('#'));
        assert_eq!(parse_info(ct, b"Signal=10"), Some('*'));
        assert_eq!(
            parse_info("Application/DTMF-Relay; charset=utf-8", b"Signal=9"),
            Some('9')
        );
        assert_eq!(parse_info(ct, b"Signal=\r\n"), None);
        assert_eq!(parse_info(ct, b"Signal=16"), None);
        assert_eq!(parse_info(ct, b"Signal=x"), None);
        assert_eq!(parse_info(ct, b"Duration=160"), None);
        assert_eq!(parse_info(ct, b""), None);
        assert_eq!(parse_info(ct, b"Signal=\xff\xfe"), None);
        assert_eq!(parse_info(ct, b"no equals sign here"), None);
    }

    #[test]
    fn dtmf_bodies() {
        let ct = "application/dtmf";
        assert_eq!(parse_info(ct, b"5"), Some('5'));
        assert_eq!(parse_info(ct, b" 7\r\n"), Some('7'));
        assert_eq!(parse_info(ct, b"d"), Some('D'));
        assert_eq!(parse_info(ct, b"11"), Some('#'));
        assert_eq!(parse_info(ct, b""), None);
        assert_eq!(parse_info(ct, b"55x"), None);
        assert_eq!(parse_info(ct, b"Signal=5"), None);
    }

    #[test]
    fn other_content_types_are_ignored() {
        assert_eq!(parse_info("application/sdp", b"5"), None);
        assert_eq!(parse_info("text/plain", b"Signal=5"), None);
        assert_eq!(parse_info("", b"5"), None);
        assert_eq!(parse_info("application/dtmf-relayx", b"Signal=5"), None);
    }

    #[test]
    fn outgoing_body_round_trips() {
        for c in "0123456789*#ABCD".chars() {
            let (ct, body) = info_body(c, 160).unwrap();
            assert_eq!(ct, "application/dtmf-relay");
            assert_eq!(parse_info(ct, body.as_bytes()), Some(c));
        }
        assert_eq!(
            info_body('5', 160).unwrap().1,
            "Signal=5\r\nDuration=160\r\n"
        );
        assert_eq!(
            info_body('b', 100).unwrap().1,
            "Signal=B\r\nDuration=100\r\n"
        );
        assert_eq!(info_body('p', 100), None);
        assert_eq!(info_body('x', 100), None);
    }
}
