//! The SIP message model and its serializer.

use std::fmt;
use std::io::Write;

use crate::error::ParseError;
use crate::headers::Headers;
use crate::name_addr::{tag_of, NameAddr};
use crate::via::{CSeq, Via};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Options,
    Register,
    Info,
    Update,
    Refer,
    Notify,
    Subscribe,
    Message,
    Prack,
    Publish,
    Other(String),
}

impl Method {
    /// Method names are case-sensitive (RFC 3261 §7.1), so "invite" is `Other`.
    pub fn from_token(token: &str) -> Method {
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "REFER" => Method::Refer,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "MESSAGE" => Method::Message,
            "PRACK" => Method::Prack,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Refer => "REFER",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Message => "MESSAGE",
            Method::Prack => "PRACK",
            Method::Publish => "PUBLISH",
            Method::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// `uri` is kept as written: it may be a scheme the core does not route (tel:, urn:).
    Request {
        method: Method,
        uri: String,
    },
    Response {
        code: u16,
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipMessage {
    pub start: StartLine,
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl SipMessage {
    pub fn request(method: Method, uri: impl Into<String>) -> SipMessage {
        SipMessage {
            start: StartLine::Request {
                method,
                uri: uri.into(),
            },
            headers: Headers::with_capacity(12),
            body: Vec::new(),
        }
    }

    pub fn response(code: u16, reason: impl Into<String>) -> SipMessage {
        SipMessage {
            start: StartLine::Response {
                code,
                reason: reason.into(),
            },
            headers: Headers::with_capacity(12),
            body: Vec::new(),
        }
    }

    /// Parses one whole message (a datagram, or one message cut by `frame_stream`).
    pub fn parse(data: &[u8]) -> Result<SipMessage, ParseError> {
        crate::parse::parse_message(data)
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    pub fn request_uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    pub fn code(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match &self.start {
            StartLine::Response { reason, .. } => Some(reason),
            StartLine::Request { .. } => None,
        }
    }

    pub fn call_id(&self) -> Result<&str, ParseError> {
        let value = self
            .headers
            .get("Call-ID")
            .ok_or(ParseError::Missing("Call-ID"))?;
        if value.is_empty() || value.contains([' ', '\t']) {
            return Err(ParseError::Invalid("Call-ID"));
        }
        Ok(value)
    }

    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        CSeq::parse(
            self.headers
                .get("CSeq")
                .ok_or(ParseError::Missing("CSeq"))?,
        )
    }

    pub fn top_via(&self) -> Result<Via, ParseError> {
        Via::parse(
            self.headers
                .values("Via")
                .next()
                .ok_or(ParseError::Missing("Via"))?,
        )
    }

    pub fn via_count(&self) -> usize {
        self.headers.values("Via").count()
    }

    pub fn from_addr(&self) -> Result<NameAddr, ParseError> {
        let raw = self
            .headers
            .get("From")
            .ok_or(ParseError::Missing("From"))?;
        NameAddr::parse(raw).map_err(|_| ParseError::Invalid("From"))
    }

    pub fn to_addr(&self) -> Result<NameAddr, ParseError> {
        let raw = self.headers.get("To").ok_or(ParseError::Missing("To"))?;
        NameAddr::parse(raw).map_err(|_| ParseError::Invalid("To"))
    }

    pub fn from_tag(&self) -> Option<&str> {
        tag_of(self.headers.get("From")?)
    }

    pub fn to_tag(&self) -> Option<&str> {
        tag_of(self.headers.get("To")?)
    }

    pub fn content_type(&self) -> Option<&str> {
        self.headers.get("Content-Type")
    }

    /// Serializes the message. Content-Length is always written, from the body,
    /// whatever the headers say.
    pub fn to_bytes(&self) -> Vec<u8> {
        let head: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum();
        let mut out = Vec::with_capacity(64 + head + self.body.len());
        self.write_to(&mut out);
        out
    }

    pub fn write_to(&self, out: &mut Vec<u8>) {
        match &self.start {
            StartLine::Request { method, uri } => {
                out.extend_from_slice(method.as_str().as_bytes());
                out.push(b' ');
                out.extend_from_slice(uri.as_bytes());
                out.extend_from_slice(b" SIP/2.0\r\n");
            }
            StartLine::Response { code, reason } => {
                // Writing into a Vec cannot fail.
                let _ = write!(out, "SIP/2.0 {code} {reason}\r\n");
            }
        }
        for (name, value) in self.headers.iter() {
            if name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l") {
                continue;
            }
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let _ = write!(out, "Content-Length: {}\r\n\r\n", self.body.len());
        out.extend_from_slice(&self.body);
    }
}

/// The RFC 3261 reason phrase for a status code (a generic one for unknown codes).
pub fn reason_phrase(code: u16) -> &'static str {
    known_reason(code).unwrap_or(match code {
        100..=199 => "Session Progress",
        200..=299 => "OK",
        300..=399 => "Redirection",
        400..=499 => "Client Error",
        500..=599 => "Server Error",
        _ => "Global Failure",
    })
}

fn known_reason(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        421 => "Extension Required",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        493 => "Undecipherable",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => return None,
    })
}
