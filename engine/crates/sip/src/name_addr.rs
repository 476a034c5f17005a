//! The name-addr form of From, To, Contact, Route and Record-Route (RFC 3261
//! §20.10), and header parameters.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;
use crate::headers::is_token;
use crate::uri::{write_params, Params, SipUri};

const LWS: [char; 2] = [' ', '\t'];
const BAD_ADDR: ParseError = ParseError::Invalid("address");

/// `["display"] <uri> *(;param)` or `uri *(;param)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: SipUri,
    pub params: Params,
}

impl NameAddr {
    pub fn new(uri: SipUri) -> NameAddr {
        NameAddr {
            display: None,
            uri,
            params: Vec::new(),
        }
    }

    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        let parts = split_name_addr(s)?;
        Ok(NameAddr {
            display: parts.display.map(Cow::into_owned),
            uri: SipUri::parse(parts.uri)?,
            params: parse_params(parts.params)?,
        })
    }

    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }
}

impl FromStr for NameAddr {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NameAddr::parse(s)
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(display) = &self.display {
            write_quoted(f, display)?;
            f.write_str(" ")?;
        }
        write!(f, "<{}>", self.uri)?;
        write_params(f, &self.params)
    }
}

/// Writes `text` as a quoted-string.
pub(crate) fn write_quoted(f: &mut impl fmt::Write, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        if c == '"' || c == '\\' {
            f.write_char('\\')?;
        }
        // Line breaks would end the header: never write them.
        if c != '\r' && c != '\n' {
            f.write_char(c)?;
        }
    }
    f.write_char('"')
}

/// The pieces of a name-addr, borrowed from the header text.
pub(crate) struct NameAddrParts<'a> {
    pub display: Option<Cow<'a, str>>,
    pub uri: &'a str,
    /// Empty, or starting with ';'.
    pub params: &'a str,
}

pub(crate) fn split_name_addr(s: &str) -> Result<NameAddrParts<'_>, ParseError> {
    let s = s.trim_matches(LWS);
    let (display, rest) = if s.starts_with('"') {
        let (display, rest) = parse_quoted(s)?;
        (Some(display), rest.trim_start_matches(LWS))
    } else if let Some((before, _)) = s.split_once('<') {
        let display = before.trim_matches(LWS);
        if !display.chars().all(is_display_char) {
            return Err(BAD_ADDR);
        }
        let rest = s.get(before.len()..).unwrap_or_default();
        (
            (!display.is_empty()).then_some(Cow::Borrowed(display)),
            rest,
        )
    } else {
        (None, s)
    };
    if let Some(inner) = rest.strip_prefix('<') {
        let (uri, after) = inner.split_once('>').ok_or(BAD_ADDR)?;
        let params = after.trim_start_matches(LWS);
        if !params.is_empty() && !params.starts_with(';') {
            return Err(BAD_ADDR);
        }
        return Ok(NameAddrParts {
            display,
            uri: uri.trim_matches(LWS),
            params,
        });
    }
    if display.is_some() {
        return Err(BAD_ADDR);
    }
    let end = rest.find(';').unwrap_or(rest.len());
    let (uri, params) = rest.split_at(end);
    Ok(NameAddrParts {
        display: None,
        uri: uri.trim_matches(LWS),
        params,
    })
}

/// An unquoted display name is tokens separated by LWS (RFC 3261 §25.1). Non-ASCII
/// is let through, as UAs send it unquoted; separators (`,` `;` `@` `:` `<`…) are
/// not: "Bell, Alexander <sip:…>" has to be quoted (RFC 4475 §3.1.2.15).
fn is_display_char(c: char) -> bool {
    !c.is_ascii() || c == ' ' || c == '\t' || is_token(c.encode_utf8(&mut [0; 4]))
}

/// `s` starts with '"'. Returns the unescaped content and the text after the quote.
fn parse_quoted(s: &str) -> Result<(Cow<'_, str>, &str), ParseError> {
    let body = s.get(1..).ok_or(BAD_ADDR)?;
    let mut owned: Option<String> = None;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, next) = chars.next().ok_or(BAD_ADDR)?;
                owned
                    .get_or_insert_with(|| body.get(..i).unwrap_or_default().to_string())
                    .push(next);
            }
            '"' => {
                let rest = body.get(i + 1..).unwrap_or_default();
                let text = match owned {
                    Some(o) => Cow::Owned(o),
                    None => Cow::Borrowed(body.get(..i).unwrap_or_default()),
                };
                return Ok((text, rest));
            }
            _ => {
                if let Some(o) = owned.as_mut() {
                    o.push(c);
                }
            }
        }
    }
    Err(BAD_ADDR)
}

/// Iterates `;name[=value]` header parameters, splitting outside quoted strings.
/// Yields `Err` on a malformed parameter.
pub(crate) fn param_iter(
    s: &str,
) -> impl Iterator<Item = Result<(&str, Option<&str>), ParseError>> {
    let mut rest = s.trim_matches(LWS);
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(after) = rest.strip_prefix(';') else {
            rest = "";
            return Some(Err(BAD_ADDR));
        };
        let mut in_quote = false;
        let mut escaped = false;
        let mut end = after.len();
        for (i, b) in after.bytes().enumerate() {
            if escaped {
                escaped = false;
            } else if in_quote && b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quote = !in_quote;
            } else if b == b';' && !in_quote {
                end = i;
                break;
            }
        }
        if in_quote {
            rest = "";
            return Some(Err(BAD_ADDR));
        }
        let (piece, next) = after.split_at(end);
        rest = next;
        let piece = piece.trim_matches(LWS);
        if piece.is_empty() {
            // `;;` or a trailing `;`: a parameter without a name (RFC 4475 §3.1.2.1).
            rest = "";
            return Some(Err(BAD_ADDR));
        }
        let (name, value) = match piece.split_once('=') {
            Some((n, v)) => (n.trim_matches(LWS), Some(v.trim_matches(LWS))),
            None => (piece, None),
        };
        let value_ok = match value {
            None => true,
            Some(v) if v.starts_with('"') => v.len() >= 2 && v.ends_with('"'),
            Some(v) => !v.is_empty() && !v.contains([' ', '\t', '"', '<', '>', ',']),
        };
        if !is_token(name) || !value_ok {
            rest = "";
            return Some(Err(BAD_ADDR));
        }
        Some(Ok((name, value)))
    })
}

pub(crate) fn parse_params(s: &str) -> Result<Params, ParseError> {
    param_iter(s)
        .map(|p| p.map(|(n, v)| (n.to_string(), v.map(str::to_string))))
        .collect()
}

/// Looks up a header parameter without allocating.
pub(crate) fn find_param<'a>(params: &'a str, name: &str) -> Option<Option<&'a str>> {
    param_iter(params)
        .map_while(Result::ok)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The `tag` parameter of a From or To header value.
pub fn tag_of(raw: &str) -> Option<&str> {
    let parts = split_name_addr(raw).ok()?;
    find_param(parts.params, "tag").flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uri::Scheme;

    #[test]
    fn name_addr_forms() {
        let a =
            NameAddr::parse(r#""Bob \"B\"" <sip:bob@host;transport=tcp>;tag=x;foo="a;b""#).unwrap();
        assert_eq!(a.display.as_deref(), Some(r#"Bob "B""#));
        assert_eq!(a.uri.transport(), Some("tcp"));
        assert_eq!(a.tag(), Some("x"));
        assert_eq!(a.param("foo"), Some(Some("\"a;b\"")));

        let b = NameAddr::parse("sip:bob@host;tag=y").unwrap();
        assert_eq!(b.display, None);
        assert_eq!(b.uri.params, vec![]);
        assert_eq!(b.tag(), Some("y"));

        let c = NameAddr::parse("Bob Smith <sip:bob@host>").unwrap();
        assert_eq!(c.display.as_deref(), Some("Bob Smith"));
        assert_eq!(c.to_string(), r#""Bob Smith" <sip:bob@host>"#);

        let d = NameAddr::parse("<tel:+123>;tag=1").unwrap();
        assert_eq!(d.uri.scheme, Scheme::Tel);
    }

    #[test]
    fn bad_name_addrs() {
        for bad in [
            r#""unterminated <sip:a@b>"#,
            "<sip:a@b",
            "<sip:a@b> junk",
            r#""x" sip:a@b"#,
            "<sip:a@b>;=v",
            "<sip:a@b>;tag=\"open",
            "<sip:a@b>;t ag=1",
            "<sip:a@b>;;tag=1",
            "<sip:a@b>;tag=1;",
            "Bell, Alexander <sip:a@b>",
            "a@b <sip:a@b>",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn tag_lookup_is_cheap_and_quote_aware() {
        assert_eq!(tag_of("<sip:a@b>;tag=123"), Some("123"));
        assert_eq!(tag_of(r#""x;tag=no" <sip:a@b>"#), None);
        assert_eq!(tag_of("sip:a@b;TAG=5"), Some("5"));
        assert_eq!(tag_of("sip:a@b"), None);
    }
}
