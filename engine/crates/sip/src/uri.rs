//! SIP URIs (RFC 3261 §19.1) and tel URIs (RFC 3966, as far as routing needs).

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use crate::error::ParseError;

/// `;name[=value]` parameters in written order. Quoted values keep their quotes.
pub type Params = Vec<(String, Option<String>)>;

const LWS: [char; 2] = [' ', '\t'];
const BAD_URI: ParseError = ParseError::Invalid("URI");

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
/// `Debug` shows a password (`sip:user:password@host`, deprecated but parsed)
/// as `***`; `Display` writes it, as it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
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

impl fmt::Debug for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SipUri")
            .field("scheme", &self.scheme)
            .field("user", &self.user)
            .field(
                "password",
                &self.password.as_ref().map(|_| crate::auth::REDACTED),
            )
            .field("host", &self.host)
            .field("port", &self.port)
            .field("params", &self.params)
            .field("headers", &self.headers)
            .finish()
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

/// `s` with its `%HH` escapes decoded (RFC 3261 §19.1.2: `%75se%72` is `user`),
/// when that gives printable UTF-8; otherwise `s` as written, so an escaped NUL or
/// line break never reaches a caller (RFC 4475 §3.1.1.3, §3.1.1.4).
pub fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(text) if !text.chars().any(char::is_control) => Cow::Owned(text),
        _ => Cow::Borrowed(s),
    }
}

pub(crate) fn write_params(f: &mut fmt::Formatter<'_>, params: &Params) -> fmt::Result {
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
    fn debug_hides_a_uri_password() {
        let u = SipUri::parse("sip:alice:Zq8rT4v1@example.com").unwrap();
        let shown = format!("{u:?}");
        assert!(!shown.contains("Zq8rT4v1"), "{shown}");
        assert!(shown.contains("password: Some(\"***\")"), "{shown}");
        assert!(shown.contains("\"alice\""), "{shown}");
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
    fn escapes_decode_unless_they_hide_control_characters() {
        assert_eq!(unescape("%75se%72"), "user");
        assert_eq!(
            unescape("sips%3Auser%40example.com"),
            "sips:user@example.com"
        );
        assert_eq!(unescape("%2B1555%20"), "+1555 ");
        assert_eq!(unescape("%D0%B4a"), "дa");
        assert_eq!(unescape("100%"), "100%");
        assert_eq!(unescape("%zz%4"), "%zz%4");
        for kept in ["null-%00-null", "%0D%0Avia", "%FF"] {
            assert_eq!(unescape(kept), kept);
        }
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
}
