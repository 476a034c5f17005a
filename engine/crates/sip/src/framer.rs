//! Cutting a TCP byte stream into SIP messages (RFC 3261 §18.3).

use crate::error::ParseError;
use crate::headers::is_token_byte;
use crate::parse::{is_sip_version, parse_content_length, MAX_MESSAGE_SIZE};

/// Length of the first complete unit at the start of `buf`:
/// - `Ok(Some(n))` with only CR/LF bytes in `buf[..n]`: keep-alive line breaks to
///   consume (hand them to `UaCore::handle_input`, which answers a CRLFCRLF ping);
/// - `Ok(Some(n))` otherwise: one whole message;
/// - `Ok(None)`: need more bytes;
/// - `Err`: the stream is garbage or a message is too large; close the connection.
///
/// A message without Content-Length is taken to have an empty body.
pub fn frame_stream(buf: &[u8]) -> Result<Option<usize>, ParseError> {
    Ok(match frame_length(buf)? {
        Frame::Breaks(n) => Some(n),
        Frame::Message(total) => (buf.len() >= total).then_some(total),
        Frame::Head => None,
    })
}

/// What the start of a stream holds, for a reader that wants to wait for a
/// whole message without scanning its bytes again on every read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// Keep-alive line breaks: this many bytes.
    Breaks(usize),
    /// A message whose head is complete; it is this many bytes long (the
    /// buffer may not hold all of them yet).
    Message(usize),
    /// The head is not complete yet.
    Head,
}

/// Like [`frame_stream`], but once the head is complete it says how long
/// the whole message is, even before the body has arrived.
pub fn frame_length(buf: &[u8]) -> Result<Frame, ParseError> {
    let breaks = buf
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    if breaks > 0 {
        return Ok(Frame::Breaks(breaks));
    }
    check_first_line(buf)?;
    let window = &buf[..buf.len().min(MAX_MESSAGE_SIZE)];
    let Some(head_len) = head_end(window) else {
        if buf.len() >= MAX_MESSAGE_SIZE {
            return Err(ParseError::TooLarge);
        }
        return Ok(Frame::Head);
    };
    let (head, _) = window.split_at(head_len);
    let total = head_len + content_length(head)?;
    if total > MAX_MESSAGE_SIZE {
        return Err(ParseError::TooLarge);
    }
    Ok(Frame::Message(total))
}

/// Offset just past the empty line ending the head (CRLFCRLF, or LF LF).
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = buf.get(from..)?.iter().position(|&b| b == b'\n') {
        let nl = from + i;
        let next = buf.get(nl + 1..).unwrap_or_default();
        if next.starts_with(b"\r\n") {
            return Some(nl + 3);
        }
        if next.starts_with(b"\n") {
            return Some(nl + 2);
        }
        from = nl + 1;
    }
    None
}

/// Rejects a stream whose first line (even partial) cannot start a SIP message,
/// so garbage is detected before 64 KiB of it is buffered.
fn check_first_line(buf: &[u8]) -> Result<(), ParseError> {
    let line_end = buf.iter().position(|&b| b == b'\n');
    let line = &buf[..line_end.unwrap_or(buf.len())];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(ParseError::BadStartLine);
    }
    let complete = line_end.is_some();
    let first_word_end = line.iter().position(|&b| b == b' ');
    let first = &line[..first_word_end.unwrap_or(line.len())];
    let status = b"SIP/2.0";
    let is_status_prefix = first.len() <= status.len()
        && first.eq_ignore_ascii_case(&status[..first.len()])
        && (first_word_end.is_none() || first.len() == status.len());
    if !is_status_prefix && !first.iter().all(|&b| is_token_byte(b)) {
        return Err(ParseError::BadStartLine);
    }
    if first_word_end == Some(0) || (complete && first_word_end.is_none()) {
        return Err(ParseError::BadStartLine);
    }
    if complete && !is_status_prefix && !ends_with_version(line) {
        return Err(ParseError::BadStartLine);
    }
    Ok(())
}

/// A request line ends with a SIP version: 2.0, or another one the core answers
/// with 505; trailing blanks are left for the core to answer with 400.
fn ends_with_version(line: &[u8]) -> bool {
    let line = line.trim_ascii_end();
    let Some(space) = line.iter().rposition(|&b| b == b' ') else {
        return false;
    };
    std::str::from_utf8(&line[space + 1..]).is_ok_and(is_sip_version)
}

fn content_length(head: &[u8]) -> Result<usize, ParseError> {
    let mut found = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let name = name.trim_ascii_end();
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            let value = std::str::from_utf8(value.get(1..).unwrap_or_default())
                .map_err(|_| ParseError::BadContentLength)?;
            let n = parse_content_length(value)?;
            if found.is_some_and(|prev| prev != n) {
                return Err(ParseError::BadContentLength);
            }
            found = Some(n);
        }
    }
    Ok(found.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] =
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nContent-Length: 4\r\n\r\nabcd";

    #[test]
    fn whole_message() {
        assert_eq!(frame_stream(MSG), Ok(Some(MSG.len())));
    }

    #[test]
    fn every_split_point_needs_more_or_frames() {
        for cut in 1..MSG.len() {
            assert_eq!(frame_stream(&MSG[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn coalesced_messages_frame_one_at_a_time() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(MSG);
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(MSG);
        stream.extend_from_slice(&MSG[..10]);
        let mut pos = 0;
        let mut units = Vec::new();
        while let Some(n) = frame_stream(&stream[pos..]).unwrap() {
            units.push(stream[pos..pos + n].to_vec());
            pos += n;
        }
        assert_eq!(units.len(), 4);
        assert_eq!(units[0], b"\r\n\r\n");
        assert_eq!(units[1], MSG);
        assert_eq!(units[2], b"\r\n");
        assert_eq!(units[3], MSG);
        assert_eq!(stream.len() - pos, 10);
    }

    #[test]
    fn compact_length_and_lf_only() {
        let m = b"SIP/2.0 200 OK\nl: 2\n\nhi";
        assert_eq!(frame_stream(m), Ok(Some(m.len())));
    }

    #[test]
    fn missing_length_means_empty_body() {
        let m = b"SIP/2.0 200 OK\r\nVia: x\r\n\r\nNEXT";
        assert_eq!(frame_stream(m), Ok(Some(m.len() - 4)));
    }

    #[test]
    fn garbage_is_an_error_early() {
        assert!(frame_stream(b"\x16\x03\x01\x02\x00").is_err());
        assert!(frame_stream(b"GET / HTTP/1.1\r\n").is_err());
        assert!(frame_stream(b"INV{ITE").is_err());
        assert!(frame_stream(b" INVITE").is_err());
        assert_eq!(frame_stream(b"INVITE sip:x SI"), Ok(None));
        assert_eq!(frame_stream(b"SIP/2"), Ok(None));
        assert!(frame_stream(b"OPTIONS sip:x SIP/x.0\r\n").is_err());
    }

    #[test]
    fn request_lines_the_core_answers_are_framed() {
        // Another version (505) and trailing blanks (400) are the core's to answer.
        for m in [
            &b"OPTIONS sip:x SIP/7.0\r\nl: 0\r\n\r\n"[..],
            b"OPTIONS sip:x SIP/2.0  \r\nl: 0\r\n\r\n",
        ] {
            assert_eq!(frame_stream(m), Ok(Some(m.len())));
        }
    }

    #[test]
    fn oversize_is_an_error() {
        let mut big = b"INVITE sip:x SIP/2.0\r\nX: ".to_vec();
        big.resize(MAX_MESSAGE_SIZE + 1, b'a');
        assert_eq!(frame_stream(&big), Err(ParseError::TooLarge));
        let m = b"INVITE sip:x SIP/2.0\r\nContent-Length: 70000\r\n\r\n";
        assert!(frame_stream(m).is_err());
        let m = b"INVITE sip:x SIP/2.0\r\nContent-Length: 65530\r\n\r\n";
        assert_eq!(frame_stream(m), Err(ParseError::TooLarge));
    }

    #[test]
    fn conflicting_lengths_are_an_error() {
        let m = b"INVITE sip:x SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab";
        assert_eq!(frame_stream(m), Err(ParseError::BadContentLength));
    }
}
