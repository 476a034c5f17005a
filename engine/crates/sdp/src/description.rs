//! The session description itself (RFC 8866): a lenient parser and a printer
//! whose output parses back to the same value.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::payload::{parse_digits, parse_payload_type, static_payload, RtpMap};
use crate::{Direction, SdpError};

/// A parsed SDP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin: Origin,
    pub session_name: String,
    pub connection: Option<Connection>,
    /// Session-level lines carried without interpretation (`i= u= e= p= b= t= r= z= k=`),
    /// kept in the order RFC 8866 prescribes.
    pub fields: Vec<Field>,
    pub attributes: Vec<Attribute>,
    pub media: Vec<MediaDescription>,
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`.
///
/// Kept as text: only the peer compares these, and some stacks put host names
/// or numbers wider than 64 bits here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: String,
    pub session_version: String,
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// `c=IN IP4 <address>` or `c=IN IP6 <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub addr: IpAddr,
    /// The `/<ttl>[/<count>]` of a multicast address, without the first slash.
    pub multicast: Option<String>,
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, `application` …
    pub media: String,
    pub port: u16,
    /// The `/<count>` of layered encodings.
    pub port_count: Option<u16>,
    pub protocol: String,
    /// Payload type numbers for RTP protocols, opaque tokens otherwise.
    pub formats: Vec<String>,
    pub connection: Option<Connection>,
    /// Media-level `i= b= k=` lines, in that order.
    pub fields: Vec<Field>,
    pub attributes: Vec<Attribute>,
}

/// A line whose value is carried as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub kind: char,
    pub value: String,
}

/// `a=<name>` or `a=<name>:<value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

/// Session-level line kinds we carry, in print order; one group per rank.
const SESSION_FIELD_ORDER: &[&[char]] = &[&['i', 'u', 'e', 'p'], &['b'], &['t', 'r'], &['z', 'k']];
/// Media-level line kinds we carry, in print order; `c=` sits between `i=` and `b=`.
const MEDIA_FIELD_ORDER: &[&[char]] = &[&['i'], &['b'], &['k']];

fn rank(order: &[&[char]], kind: char) -> Option<usize> {
    order.iter().position(|group| group.contains(&kind))
}

fn error(line: usize, what: &str) -> SdpError {
    SdpError::Parse(format!("line {line}: {what}"))
}

impl SessionDescription {
    /// Parses an SDP body.
    ///
    /// Lenient about what does not matter to us: LF or CRLF line ends, blank
    /// lines, surrounding whitespace, unknown attributes and unknown line kinds,
    /// any number of `t=` or `b=` lines, a missing `s=` or `t=`. Strict about
    /// `v=0` first, `o=`, and the syntax of `m=` and `c=` lines.
    pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(index, line)| (index + 1, line.trim()))
            .filter(|(_, line)| !line.is_empty());

        match lines.next() {
            Some((_, "v=0")) => {}
            Some((number, _)) => return Err(error(number, "expected v=0")),
            None => return Err(SdpError::Parse("empty description".into())),
        }

        let mut origin = None;
        let mut session_name = None;
        let mut connection = None;
        let mut fields = Vec::new();
        let mut attributes = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();

        for (number, line) in lines {
            let (kind, value) = split_line(number, line)?;
            if let Some(section) = media.last_mut() {
                match kind {
                    'm' => media.push(MediaDescription::parse_m_line(number, value)?),
                    'c' => {
                        let parsed = Connection::parse(number, value)?;
                        // Several c= lines only occur for layered multicast; the first is the base.
                        section.connection.get_or_insert(parsed);
                    }
                    'a' => section.attributes.push(Attribute::parse(value)),
                    'v' | 'o' | 's' => {
                        return Err(error(number, "session line inside a media section"))
                    }
                    other if rank(MEDIA_FIELD_ORDER, other).is_some() => {
                        section.fields.push(Field::new(other, value))
                    }
                    _ => {}
                }
                continue;
            }
            match kind {
                'm' => media.push(MediaDescription::parse_m_line(number, value)?),
                'o' if origin.is_some() => return Err(error(number, "second o= line")),
                'o' => origin = Some(Origin::parse(number, value)?),
                's' if session_name.is_some() => return Err(error(number, "second s= line")),
                's' => session_name = Some(value.to_owned()),
                'v' => return Err(error(number, "second v= line")),
                'c' => {
                    let parsed = Connection::parse(number, value)?;
                    connection.get_or_insert(parsed);
                }
                'a' => attributes.push(Attribute::parse(value)),
                other if rank(SESSION_FIELD_ORDER, other).is_some() => {
                    fields.push(Field::new(other, value))
                }
                _ => {}
            }
        }

        let origin = origin.ok_or_else(|| SdpError::Parse("missing o= line".into()))?;
        fields.sort_by_key(|f| rank(SESSION_FIELD_ORDER, f.kind));
        for section in &mut media {
            section
                .fields
                .sort_by_key(|f| rank(MEDIA_FIELD_ORDER, f.kind));
        }
        Ok(SessionDescription {
            origin,
            session_name: session_name.unwrap_or_else(|| "-".into()),
            connection,
            fields,
            attributes,
            media,
        })
    }

    /// The address a media section's RTP goes to: its own `c=`, else the session's.
    pub fn connection_for<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }

    /// A media section's packet time: its own `a=ptime`, else one some stacks put
    /// at session level.
    pub fn ptime_for(&self, media: &MediaDescription) -> Option<u32> {
        media.ptime().or_else(|| ptime_in(&self.attributes))
    }

    /// A media section's direction: its own attribute, else the session's, else sendrecv.
    pub fn direction_for(&self, media: &MediaDescription) -> Direction {
        media
            .direction()
            .or_else(|| direction_in(&self.attributes))
            .unwrap_or(Direction::SendRecv)
    }
}

impl FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SessionDescription::parse(text)
    }
}

/// Splits `<kind>=<value>`, refusing what cannot be an SDP line at all.
fn split_line(number: usize, line: &str) -> Result<(char, &str), SdpError> {
    // RFC 8866 text never holds NUL or a bare CR; either means the body is not SDP.
    if line.contains(['\0', '\r']) {
        return Err(error(number, "control character in line"));
    }
    let (kind, value) = line
        .split_once('=')
        .ok_or_else(|| error(number, "expected <type>=<value>"))?;
    let mut chars = kind.chars();
    match (chars.next(), chars.next()) {
        (Some(kind), None) if kind.is_ascii_alphabetic() => Ok((kind, value.trim())),
        _ => Err(error(number, "expected a one-letter line type")),
    }
}

fn ptime_in(attributes: &[Attribute]) -> Option<u32> {
    attributes
        .iter()
        .filter(|a| a.name.eq_ignore_ascii_case("ptime"))
        .filter_map(|a| a.value.as_deref())
        .find_map(|v| {
            // Some stacks write fractions ("20.0"); whole milliseconds are what counts.
            let whole = v.trim().split('.').next().unwrap_or_default();
            parse_digits::<u32>(whole).filter(|ms| (1..=1000).contains(ms))
        })
}

fn direction_in(attributes: &[Attribute]) -> Option<Direction> {
    attributes
        .iter()
        .filter(|a| a.value.is_none())
        .find_map(|a| Direction::from_attribute(&a.name))
}

impl Origin {
    fn parse(number: usize, value: &str) -> Result<Origin, SdpError> {
        let tokens: Vec<&str> = value.split_whitespace().collect();
        match tokens.as_slice() {
            [username, session_id, session_version, net_type, addr_type, address] => Ok(Origin {
                username: (*username).to_owned(),
                session_id: (*session_id).to_owned(),
                session_version: (*session_version).to_owned(),
                net_type: (*net_type).to_owned(),
                addr_type: (*addr_type).to_owned(),
                address: (*address).to_owned(),
            }),
            _ => Err(error(number, "o= needs six fields")),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.net_type,
            self.addr_type,
            self.address
        )
    }
}

impl Connection {
    pub fn new(addr: IpAddr) -> Connection {
        Connection {
            addr,
            multicast: None,
        }
    }

    fn parse(number: usize, value: &str) -> Result<Connection, SdpError> {
        let tokens: Vec<&str> = value.split_whitespace().collect();
        let [net_type, addr_type, address] = tokens.as_slice() else {
            return Err(error(number, "c= needs three fields"));
        };
        if !net_type.eq_ignore_ascii_case("IN") {
            return Err(error(number, "c= network type is not IN"));
        }
        let (address, multicast) = match address.split_once('/') {
            Some((address, suffix)) => (address, Some(suffix)),
            None => (*address, None),
        };
        let addr: IpAddr = address
            .parse()
            .map_err(|_| error(number, "c= address is not an IP address"))?;
        let family_matches = match addr {
            IpAddr::V4(_) => addr_type.eq_ignore_ascii_case("IP4"),
            IpAddr::V6(_) => addr_type.eq_ignore_ascii_case("IP6"),
        };
        if !family_matches {
            return Err(error(number, "c= address does not match its address type"));
        }
        if let Some(suffix) = multicast {
            if !suffix.split('/').all(|n| parse_digits::<u32>(n).is_some()) {
                return Err(error(number, "c= multicast suffix is not numeric"));
            }
        }
        Ok(Connection {
            addr,
            multicast: multicast.map(str::to_owned),
        })
    }

    /// Whether this is the unspecified address RFC 2543 used to put a call on hold.
    pub fn is_hold(&self) -> bool {
        self.addr.is_unspecified()
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = match self.addr {
            IpAddr::V4(_) => "IP4",
            IpAddr::V6(_) => "IP6",
        };
        write!(f, "IN {family} {}", self.addr)?;
        if let Some(suffix) = &self.multicast {
            write!(f, "/{suffix}")?;
        }
        Ok(())
    }
}

impl MediaDescription {
    pub fn new(media: &str, port: u16, protocol: &str, formats: Vec<String>) -> MediaDescription {
        MediaDescription {
            media: media.to_owned(),
            port,
            port_count: None,
            protocol: protocol.to_owned(),
            formats,
            connection: None,
            fields: Vec::new(),
            attributes: Vec::new(),
        }
    }

    /// `m=<media> <port>[/<count>] <proto> <fmt> ...`
    fn parse_m_line(number: usize, value: &str) -> Result<MediaDescription, SdpError> {
        let mut tokens = value.split_whitespace();
        let (Some(media), Some(port), Some(protocol)) =
            (tokens.next(), tokens.next(), tokens.next())
        else {
            return Err(error(number, "m= needs media, port, protocol and formats"));
        };
        let (port, port_count) = match port.split_once('/') {
            Some((port, count)) => {
                let count = parse_digits::<u16>(count)
                    .filter(|c| *c > 0)
                    .ok_or_else(|| error(number, "m= port count is not a number"))?;
                (port, Some(count))
            }
            None => (port, None),
        };
        let port =
            parse_digits::<u16>(port).ok_or_else(|| error(number, "m= port is not a number"))?;
        let formats: Vec<String> = tokens.map(str::to_owned).collect();
        if formats.is_empty() {
            return Err(error(number, "m= lists no formats"));
        }
        let section = MediaDescription {
            media: media.to_owned(),
            port,
            port_count,
            protocol: protocol.to_owned(),
            formats,
            connection: None,
            fields: Vec::new(),
            attributes: Vec::new(),
        };
        if section.is_rtp()
            && section
                .formats
                .iter()
                .any(|f| parse_payload_type(f).is_none())
        {
            return Err(error(number, "m= format is not an RTP payload type"));
        }
        Ok(section)
    }

    /// Whether the protocol is an RTP profile, whose formats are payload types.
    pub fn is_rtp(&self) -> bool {
        self.protocol.to_ascii_uppercase().contains("RTP/")
    }

    /// The formats as RTP payload types, in listed order (empty if not RTP).
    pub fn payload_types(&self) -> Vec<u8> {
        if !self.is_rtp() {
            return Vec::new();
        }
        self.formats
            .iter()
            .filter_map(|f| parse_payload_type(f))
            .collect()
    }

    /// The encoding of a payload type: its `a=rtpmap`, else the RFC 3551 static
    /// assignment. A dynamic type without `a=rtpmap` is unknown.
    pub fn encoding(&self, pt: u8) -> Option<RtpMap> {
        self.attributes_named("rtpmap")
            .filter_map(RtpMap::parse_attribute)
            .find(|(number, _)| *number == pt)
            .map(|(_, map)| map)
            .or_else(|| static_payload(pt))
    }

    /// The values of every attribute with this name (compared without case).
    pub fn attributes_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes
            .iter()
            .filter(move |a| a.name.eq_ignore_ascii_case(name))
            .filter_map(|a| a.value.as_deref())
    }

    /// The direction attribute of this section alone.
    pub fn direction(&self) -> Option<Direction> {
        direction_in(&self.attributes)
    }

    /// `a=ptime` of this section in milliseconds, when present and sane.
    pub fn ptime(&self) -> Option<u32> {
        ptime_in(&self.attributes)
    }
}

impl Field {
    pub fn new(kind: char, value: &str) -> Field {
        Field {
            kind,
            value: value.to_owned(),
        }
    }
}

impl Attribute {
    pub fn flag(name: &str) -> Attribute {
        Attribute {
            name: name.to_owned(),
            value: None,
        }
    }

    pub fn with_value(name: &str, value: impl Into<String>) -> Attribute {
        Attribute {
            name: name.to_owned(),
            value: Some(value.into()),
        }
    }

    fn parse(value: &str) -> Attribute {
        match value.split_once(':') {
            Some((name, value)) => Attribute::with_value(name.trim(), value),
            None => Attribute::flag(value),
        }
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "a={}:{}\r\n", self.name, value),
            None => write!(f, "a={}\r\n", self.name),
        }
    }
}

fn write_fields(f: &mut fmt::Formatter<'_>, fields: &[Field], kinds: &[char]) -> fmt::Result {
    for field in fields.iter().filter(|field| kinds.contains(&field.kind)) {
        write!(f, "{}={}\r\n", field.kind, field.value)?;
    }
    Ok(())
}

impl fmt::Display for MediaDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media, self.port)?;
        if let Some(count) = self.port_count {
            write!(f, "/{count}")?;
        }
        write!(f, " {}", self.protocol)?;
        for format in &self.formats {
            write!(f, " {format}")?;
        }
        f.write_str("\r\n")?;
        write_fields(f, &self.fields, &['i'])?;
        if let Some(connection) = &self.connection {
            write!(f, "c={connection}\r\n")?;
        }
        write_fields(f, &self.fields, &['b'])?;
        write_fields(f, &self.fields, &['k'])?;
        self.attributes.iter().try_for_each(|a| write!(f, "{a}"))
    }
}

/// Prints the description with CRLF line ends in RFC 8866 order.
impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v=0\r\no={}\r\ns={}\r\n", self.origin, self.session_name)?;
        let (describing, rest) = SESSION_FIELD_ORDER.split_at(1);
        for kinds in describing {
            write_fields(f, &self.fields, kinds)?;
        }
        if let Some(connection) = &self.connection {
            write!(f, "c={connection}\r\n")?;
        }
        for kinds in rest {
            write_fields(f, &self.fields, kinds)?;
        }
        self.attributes.iter().try_for_each(|a| write!(f, "{a}"))?;
        self.media.iter().try_for_each(|m| write!(f, "{m}"))
    }
}
