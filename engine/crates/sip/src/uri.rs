//! SIP URIs (RFC 3261 §19.1), tel URIs (RFC 3966, as far as routing needs) and the
//! name-addr form of From, To, Contact, Route and Record-Route.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use crate::error::ParseError;
use crate::headers::is_token;

/// `;name[=value]` parameters in written order. Quoted values keep their quotes.
pub type Params = Vec<(String, Option<String>)>;

const LWS: [char; 2] = [' ', '\t'];
const BAD_URI: ParseError = ParseError::Invalid("URI");
const BAD_ADDR: ParseError = ParseError::Invalid("address");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Sip,
    Sips,
    Tel,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
        }
    }
}

/// A sip:, sips: or tel: URI. For tel: the number is in `user` and `host` is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipUri {
    pub scheme: Scheme,
    pub user: Option<String>,
    pub password: Option<String>,
    /// As written; an IPv6 reference keeps its brackets.
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
    pub headers: Vec<(String, String)>,
}

impl SipUri {
    pub fn parse(s: &str) -> Result<SipUri, ParseError> {
        let s = s.trim_matches(LWS);
        let (scheme, rest) = s.split_once(':').ok_or(BAD_URI)?;
        let scheme = if scheme.eq_ignore_ascii_case("sip") {
            Scheme::Sip
        } else if scheme.eq_ignore_ascii_case("sips") {
            Scheme::Sips
        } else if scheme.eq_ignore_ascii_case("tel") {
            return parse_tel(rest);
        } else if !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(ParseError::UnsupportedScheme);
        } else {
            return Err(BAD_URI);
        };
        let (userinfo, hostpart) = match rest.split_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                if user.is_empty() || !user.bytes().all(is_user_byte) {
                    return Err(BAD_URI);
                }
                if password.is_some_and(|p| !p.bytes().all(is_password_byte)) {
                    return Err(BAD_URI);
                }
                (Some(user.to_string()), password.map(str::to_string))
            }
        };
        let (host, after) = split_host(hostpart)?;
        let (port, after) = match after.strip_prefix(':') {
            Some(p) => {
                let end = p.find([';', '?']).unwrap_or(p.len());
                let (digits, rest) = p.split_at(end);
                (Some(parse_port(digits)?), rest)
            }
            None => (None, after),
        };
        let (param_text, header_text) = match after.split_once('?') {
            Some((p, h)) => (p, Some(h)),
            None => (after, None),
        };
        let params = if param_text.is_empty() {
            Vec::new()
        } else {
            parse_uri_params(param_text.strip_prefix(';').ok_or(BAD_URI)?)?
        };
        let headers = match header_text {
            Some(h) => parse_uri_headers(h)?,
            None => Vec::new(),
        };
        Ok(SipUri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// `Some(None)` for a parameter without a value, like `lr`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    pub fn transport(&self) -> Option<&str> {
        self.param("transport").flatten()
    }

    pub fn is_loose_route(&self) -> bool {
        self.param("lr").is_some()
    }

    pub fn user_str(&self) -> &str {
        self.user.as_deref().unwrap_or("")
    }

    /// The host as an IP address, when it is a literal.
    pub fn ip(&self) -> Option<IpAddr> {
        let host = self
            .host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(&self.host);
        host.parse().ok()
    }

    /// Where to send to, when the host is an IP literal (the core does no DNS).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        let default_port = if self.scheme == Scheme::Sips {
            5061
        } else {
            5060
        };
        Some(SocketAddr::new(
            self.ip()?,
            self.port.unwrap_or(default_port),
        ))
    }
}

impl FromStr for SipUri {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SipUri::parse(s)
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.as_str())?;
        if self.scheme == Scheme::Tel {
            f.write_str(self.user_str())?;
        } else {
            if let Some(user) = &self.user {
                f.write_str(user)?;
                if let Some(password) = &self.password {
                    write!(f, ":{password}")?;
                }
                f.write_str("@")?;
            }
            f.write_str(&self.host)?;
            if let Some(port) = self.port {
                write!(f, ":{port}")?;
            }
        }
        write_params(f, &self.params)?;
        for (i, (name, value)) in self.headers.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(f, "{sep}{name}={value}")?;
        }
        Ok(())
    }
}

fn write_params(f: &mut fmt::Formatter<'_>, params: &Params) -> fmt::Result {
    for (name, value) in params {
        match value {
            Some(v) => write!(f, ";{name}={v}")?,
            None => write!(f, ";{name}")?,
        }
    }
    Ok(())
}

fn parse_tel(rest: &str) -> Result<SipUri, ParseError> {
    let (number, params) = match rest.split_once(';') {
        Some((n, p)) => (n, Some(p)),
        None => (rest, None),
    };
    if number.is_empty()
        || !number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.()*#".contains(&b))
    {
        return Err(BAD_URI);
    }
    Ok(SipUri {
        scheme: Scheme::Tel,
        user: Some(number.to_string()),
        password: None,
        host: String::new(),
        port: None,
        params: match params {
            Some(p) => parse_uri_params(p)?,
            None => Vec::new(),
        },
        headers: Vec::new(),
    })
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()%".contains(&b)
}

fn is_user_byte(b: u8) -> bool {
    is_unreserved(b) || b"&=+$,;?/".contains(&b)
}

fn is_password_byte(b: u8) -> bool {
    is_unreserved(b) || b"&=+$,".contains(&b)
}

fn is_param_byte(b: u8) -> bool {
    is_unreserved(b) || b"[]/:&+$".contains(&b)
}

fn is_uri_header_byte(b: u8) -> bool {
    is_unreserved(b) || b"[]/?:+$".contains(&b)
}

/// Host and what follows it. Host names are checked for legal characters only.
pub(crate) fn split_host(s: &str) -> Result<(String, &str), ParseError> {
    if let Some(inner) = s.strip_prefix('[') {
        let (addr, rest) = inner.split_once(']').ok_or(BAD_URI)?;
        addr.parse::<Ipv6Addr>().map_err(|_| BAD_URI)?;
        return Ok((format!("[{addr}]"), rest));
    }
    let end = s.find([':', ';', '?', ' ', '\t']).unwrap_or(s.len());
    let (host, rest) = s.split_at(end);
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(BAD_URI);
    }
    Ok((host.to_string(), rest))
}

pub(crate) fn parse_port(digits: &str) -> Result<u16, ParseError> {
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD_URI);
    }
    digits.parse().map_err(|_| BAD_URI)
}

fn parse_uri_params(s: &str) -> Result<Params, ParseError> {
    let mut params = Vec::new();
    for piece in s.split(';') {
        let (name, value) = match piece.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (piece, None),
        };
        if name.is_empty() || !name.bytes().all(is_param_byte) {
            return Err(BAD_URI);
        }
        if value.is_some_and(|v| v.is_empty() || !v.bytes().all(is_param_byte)) {
            return Err(BAD_URI);
        }
        params.push((name.to_string(), value.map(str::to_string)));
    }
    Ok(params)
}

fn parse_uri_headers(s: &str) -> Result<Vec<(String, String)>, ParseError> {
    let mut headers = Vec::new();
    for piece in s.split('&') {
        let (name, value) = piece.split_once('=').ok_or(BAD_URI)?;
        if name.is_empty()
            || !name.bytes().all(is_uri_header_byte)
            || !value.bytes().all(is_uri_header_byte)
        {
            return Err(BAD_URI);
        }
        headers.push((name.to_string(), value.to_string()));
    }
    Ok(headers)
}

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
        if display.contains(['"', '>', ';']) {
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
    std::iter::from_fn(move || loop {
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
            continue;
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
        return Some(Ok((name, value)));
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

    #[test]
    fn full_sip_uri() {
        let u = SipUri::parse("sip:alice:secret@Example.com:5070;transport=tcp;lr?subject=hi&x=1")
            .unwrap();
        assert_eq!(u.scheme, Scheme::Sip);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.host, "Example.com");
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.transport(), Some("tcp"));
        assert!(u.is_loose_route());
        assert_eq!(u.headers.len(), 2);
        assert_eq!(
            u.to_string(),
            "sip:alice:secret@Example.com:5070;transport=tcp;lr?subject=hi&x=1"
        );
    }

    #[test]
    fn ipv6_and_user_params() {
        let u = SipUri::parse("sips:+1555;npdi@[2001:db8::1]:5061").unwrap();
        assert_eq!(u.user.as_deref(), Some("+1555;npdi"));
        assert_eq!(u.host, "[2001:db8::1]");
        assert_eq!(u.socket_addr(), Some("[2001:db8::1]:5061".parse().unwrap()));
        let u = SipUri::parse("sip:10.0.0.1").unwrap();
        assert_eq!(u.socket_addr(), Some("10.0.0.1:5060".parse().unwrap()));
    }

    #[test]
    fn tel_uri() {
        let u = SipUri::parse("tel:+1-201-555-0123;phone-context=example.com").unwrap();
        assert_eq!(u.scheme, Scheme::Tel);
        assert_eq!(u.user_str(), "+1-201-555-0123");
        assert_eq!(
            u.to_string(),
            "tel:+1-201-555-0123;phone-context=example.com"
        );
    }

    #[test]
    fn bad_uris() {
        for bad in [
            "",
            "sip:",
            "sip:@host",
            "sip:a b@host",
            "sip:host:99999",
            "sip:host:",
            "sip:[::1",
            "sip:[zz]",
            "sip:host;",
            "sip:host?x",
            "sip:ho<st",
            "nocolon",
            ":x",
        ] {
            assert!(SipUri::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(
            SipUri::parse("mailto:a@b"),
            Err(ParseError::UnsupportedScheme)
        );
    }

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
