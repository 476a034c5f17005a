//! Checks on a new request before the core acts on it (RFC 3261 §8.2).

use super::build::ALLOW;
use crate::error::ParseError;
use crate::message::{Method, SipMessage};
use crate::name_addr::NameAddr;
use crate::uri::SipUri;
use crate::via::CSeq;

/// A request that gets an error response instead of processing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub code: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
}

impl Rejection {
    fn new(code: u16, reason: impl Into<String>) -> Rejection {
        Rejection {
            code,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    fn bad(err: ParseError) -> Rejection {
        Rejection::new(400, err.reason_phrase())
    }
}

/// What the core needs from a valid request.
#[derive(Debug)]
pub(crate) struct RequestInfo {
    pub call_id: String,
    pub cseq: CSeq,
    pub from: NameAddr,
    pub to: NameAddr,
    pub request_uri: SipUri,
}

pub(crate) fn is_supported(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite
            | Method::Ack
            | Method::Bye
            | Method::Cancel
            | Method::Options
            | Method::Info
    )
}

/// Validates a request that matched no transaction. The order follows §8.2: the
/// headers needed to answer at all, then method, URI scheme, hop count, extensions.
pub(crate) fn check_request(msg: &SipMessage, method: &Method) -> Result<RequestInfo, Rejection> {
    let call_id = msg.call_id().map_err(Rejection::bad)?.to_string();
    let cseq = msg.cseq().map_err(Rejection::bad)?;
    if cseq.method != *method {
        return Err(Rejection::new(400, "CSeq method does not match request"));
    }
    let from = msg.from_addr().map_err(Rejection::bad)?;
    if from.tag().is_none() {
        return Err(Rejection::new(400, "Missing From tag"));
    }
    let to = msg.to_addr().map_err(Rejection::bad)?;
    let max_forwards = match msg.headers.get("Max-Forwards") {
        None => None,
        Some(v) if !v.is_empty() && v.len() <= 3 && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse::<u16>().ok()
        }
        Some(_) => return Err(Rejection::new(400, "Bad Max-Forwards")),
    };
    if !is_supported(method) {
        let mut rejection = Rejection::new(405, "Method Not Allowed");
        rejection.headers.push(("Allow".into(), ALLOW.into()));
        return Err(rejection);
    }
    let request_uri =
        SipUri::parse(msg.request_uri().unwrap_or_default()).map_err(|e| match e {
            ParseError::UnsupportedScheme => Rejection::new(416, "Unsupported URI Scheme"),
            _ => Rejection::new(400, "Bad Request-URI"),
        })?;
    // §16.3: OPTIONS may be answered by the element where Max-Forwards runs out.
    if max_forwards == Some(0) && *method != Method::Options {
        return Err(Rejection::new(483, "Too Many Hops"));
    }
    if *method != Method::Cancel {
        let required: Vec<&str> = msg.headers.values("Require").collect();
        if !required.is_empty() {
            let mut rejection = Rejection::new(420, "Bad Extension");
            rejection
                .headers
                .push(("Unsupported".into(), required.join(", ")));
            return Err(rejection);
        }
    }
    Ok(RequestInfo {
        call_id,
        cseq,
        from,
        to,
        request_uri,
    })
}
