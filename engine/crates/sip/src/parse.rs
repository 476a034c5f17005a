//! Bytes to `SipMessage`, strictly: anything a peer sends is checked before use.

use crate::error::ParseError;
use crate::headers::{expand_compact, is_token, Headers};
use crate::message::{Method, SipMessage, StartLine};

/// Largest message accepted on any transport.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// Most header lines accepted in one message.
pub const MAX_HEADERS: usize = 256;

/// Start line and headers, with where the body begins.
#[derive(Debug, Clone)]
pub struct Head {
    pub start: StartLine,
    pub headers: Headers,
    pub body_offset: usize,
    pub content_length: Option<usize>,
}

/// Parses one whole message. For a datagram the body is `Content-Length` bytes
/// (extra bytes are ignored, fewer is an error) or, without the header, the rest.
pub fn parse_message(data: &[u8]) -> Result<SipMessage, ParseError> {
    let head = parse_head(data)?;
    let rest = data.get(head.body_offset..).unwrap_or_default();
    let body = match head.content_length {
        Some(n) => rest.get(..n).ok_or(ParseError::BadContentLength)?,
        None => rest,
    };
    Ok(SipMessage {
        start: head.start,
        headers: head.headers,
        body: body.to_vec(),
    })
}

/// Parses the start line and headers up to the empty line.
pub fn parse_head(data: &[u8]) -> Result<Head, ParseError> {
    parse_head_with(data, true)
}

/// Like `parse_head`, but a malformed Content-Length is left out instead of
/// failing, and a request line that names a method and a SIP version but is
/// otherwise broken is taken as it is, so such a request can still be answered
/// (400, or 505 for another version).
pub fn parse_head_lenient(data: &[u8]) -> Result<Head, ParseError> {
    parse_head_with(data, false)
}

fn parse_head_with(data: &[u8], strict_length: bool) -> Result<Head, ParseError> {
    if data.len() > MAX_MESSAGE_SIZE {
        return Err(ParseError::TooLarge);
    }
    // RFC 3261 §7.5: CRLFs before the start line are ignored.
    let skip = data
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    let mut lines = Lines { data, pos: skip };
    let line = lines.next_line()?;
    if has_bare_control(line.as_bytes()) {
        return Err(ParseError::ControlCharacter);
    }
    let start = match parse_start_line(line) {
        Ok(start) => start,
        // Lenient: a request line with a bad or missing Request-URI still names a
        // method and a version, which is enough to answer it with 400.
        Err(e) if !strict_length => damaged_request_line(line).ok_or(e)?,
        Err(e) => return Err(e),
    };
    let mut headers = Headers::with_capacity(16);
    let mut content_length = None;
    let mut current: Option<(&str, String)> = None;
    loop {
        let line = lines.next_line()?;
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            // Folded continuation: joins the previous header with one space.
            let (_, value) = current.as_mut().ok_or(ParseError::BadHeaderLine)?;
            let more = line.trim_matches([' ', '\t']);
            if !more.is_empty() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(more);
            }
            continue;
        }
        if let Some((name, value)) = current.take() {
            add_header(
                &mut headers,
                name,
                value,
                &mut content_length,
                strict_length,
            )?;
        }
        let (name, value) = split_header_line(line)?;
        current = Some((name, value.to_string()));
    }
    if let Some((name, value)) = current.take() {
        add_header(
            &mut headers,
            name,
            value,
            &mut content_length,
            strict_length,
        )?;
    }
    Ok(Head {
        start,
        headers,
        body_offset: lines.pos,
        content_length,
    })
}

struct Lines<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    /// Next line without its terminator (CRLF, or a bare LF from lax peers).
    fn next_line(&mut self) -> Result<&'a str, ParseError> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(ParseError::Truncated)?;
        let (line, _) = rest.split_at(nl);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.pos += nl + 1;
        std::str::from_utf8(line).map_err(|_| ParseError::BadEncoding)
    }
}

/// A control character other than HTAB, outside the one place the grammar allows
/// it: a quoted-pair in a quoted string (`"NUL:\<00>"`; RFC 3261 §25.1 lets it
/// escape anything but CR and LF, and RFC 4475 §3.1.1.2 sends BEL, NUL and DEL).
fn has_bare_control(line: &[u8]) -> bool {
    let mut in_quote = false;
    let mut escaped = false;
    for &b in line {
        if escaped {
            escaped = false;
            if b == b'\r' {
                return true;
            }
            continue;
        }
        match b {
            b'"' => in_quote = !in_quote,
            b'\\' if in_quote => escaped = true,
            b'\t' => {}
            b if b < 0x20 || b == 0x7f => return true,
            _ => {}
        }
    }
    false
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if line.len() >= 4 && line.as_bytes()[..4].eq_ignore_ascii_case(b"SIP/") {
        let (version, rest) = line.split_once(' ').ok_or(ParseError::BadStartLine)?;
        if !version.eq_ignore_ascii_case("SIP/2.0") {
            return Err(ParseError::BadVersion);
        }
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadStatusCode);
        }
        let code: u16 = code.parse().map_err(|_| ParseError::BadStatusCode)?;
        if !(100..=699).contains(&code) {
            return Err(ParseError::BadStatusCode);
        }
        return Ok(StartLine::Response {
            code,
            reason: reason.to_string(),
        });
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadStartLine);
    };
    if !is_token(method) || uri.is_empty() || uri.contains('\t') {
        return Err(ParseError::BadStartLine);
    }
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(ParseError::BadVersion);
    }
    Ok(StartLine::Request {
        method: Method::from_token(method),
        uri: uri.to_string(),
    })
}

/// `METHOD <anything> SIP/x.y` that failed the strict rules (spacing, the
/// Request-URI, or a version other than 2.0, which is answered with 505).
fn damaged_request_line(line: &str) -> Option<StartLine> {
    let line = line.trim_end_matches([' ', '\t']);
    let (method, rest) = line.split_once(' ')?;
    let version = rest.rsplit(' ').next()?;
    if !is_token(method) || !is_sip_version(version) {
        return None;
    }
    let uri = rest[..rest.len() - version.len()].trim();
    Some(StartLine::Request {
        method: Method::from_token(method),
        uri: uri.to_string(),
    })
}

/// `SIP/` 1*DIGIT "." 1*DIGIT, any case (RFC 3261 §25.1 SIP-Version).
pub(crate) fn is_sip_version(word: &str) -> bool {
    let Some(number) = word
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("SIP/"))
        .and_then(|_| word.get(4..))
    else {
        return false;
    };
    let Some((major, minor)) = number.split_once('.') else {
        return false;
    };
    [major, minor]
        .iter()
        .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn split_header_line(line: &str) -> Result<(&str, &str), ParseError> {
    let (name, value) = line.split_once(':').ok_or(ParseError::BadHeaderLine)?;
    let name = name.trim_end_matches([' ', '\t']);
    if !is_token(name) {
        return Err(ParseError::BadHeaderLine);
    }
    Ok((name, value.trim_matches([' ', '\t'])))
}

fn add_header(
    headers: &mut Headers,
    name: &str,
    value: String,
    content_length: &mut Option<usize>,
    strict_length: bool,
) -> Result<(), ParseError> {
    // Checked on the whole header, folded lines joined: a quoted string may
    // run over a fold, and the header is printed (and parsed again) as one
    // line.
    if has_bare_control(value.as_bytes()) {
        return Err(ParseError::ControlCharacter);
    }
    let name = expand_compact(name).unwrap_or(name);
    if name.eq_ignore_ascii_case("Content-Length") {
        let checked = parse_content_length(&value).and_then(|n| match *content_length {
            Some(prev) if prev != n => Err(ParseError::BadContentLength),
            _ => Ok(n),
        });
        match checked {
            // A repeat of the same length says nothing new and is not kept.
            Ok(_) if content_length.is_some() => return Ok(()),
            Ok(n) => *content_length = Some(n),
            Err(e) if strict_length => return Err(e),
            Err(_) => return Ok(()),
        }
    } else if headers.len() - usize::from(content_length.is_some()) >= MAX_HEADERS {
        // The limit is on headers other than Content-Length (at most one is
        // kept), so a message that parsed still parses once printed with
        // the Content-Length its body needs.
        return Err(ParseError::TooManyHeaders);
    }
    headers.push(name, value);
    Ok(())
}

pub(crate) fn parse_content_length(value: &str) -> Result<usize, ParseError> {
    let value = value.trim_matches([' ', '\t']);
    if value.is_empty() || value.len() > 9 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadContentLength);
    }
    let n: usize = value.parse().map_err(|_| ParseError::BadContentLength)?;
    if n > MAX_MESSAGE_SIZE {
        return Err(ParseError::BadContentLength);
    }
    Ok(n)
}
