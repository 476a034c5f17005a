//! Checks on a new request before the core acts on it (RFC 3261 §8.2).

use super::build::ALLOW;
use super::types::Transport;
use crate::error::ParseError;
use crate::message::{Method, SipMessage};
use crate::name_addr::NameAddr;
use crate::uri::SipUri;
use crate::via::{CSeq, Via};

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

pub(crate) fn is_supported(method: &Method, registrar: bool) -> bool {
    (registrar && *method == Method::Register)
        || matches!(
            method,
            Method::Invite
                | Method::Ack
                | Method::Bye
                | Method::Cancel
                | Method::Options
                | Method::Info
                | Method::Update
                | Method::Message
                | Method::Refer
                | Method::Notify
        )
}

/// Headers a request carries at most once (RFC 4475 §3.3.8).
const SINGLE: [&str; 5] = ["Call-ID", "CSeq", "From", "To", "Max-Forwards"];

/// The one body type the core takes in an INVITE, and offers in return.
const SDP: &str = "application/sdp";

/// Validates a request that matched no transaction. The order follows §8.2: the
/// headers needed to answer at all, then the method (§8.2.1), the other headers
/// (§8.2.2: URI scheme, hop count, extensions), then the body (§8.2.3).
pub(crate) fn check_request(
    msg: &SipMessage,
    method: &Method,
    transport: Transport,
    registrar: bool,
) -> Result<RequestInfo, Rejection> {
    if let Some(name) = SINGLE.iter().find(|n| msg.headers.get_all(n).count() > 1) {
        return Err(Rejection::new(400, format!("Multiple {name} headers")));
    }
    let call_id = msg.call_id().map_err(Rejection::bad)?.to_string();
    let cseq = msg.cseq().map_err(Rejection::bad)?;
    if !is_supported(method, registrar) {
        // §21.5.2: 501 for a method the core does not know at all, 405 for one it
        // knows and does not take (REGISTER, SUBSCRIBE…).
        let mut rejection = match method {
            Method::Other(_) => Rejection::new(501, "Not Implemented"),
            _ => Rejection::new(405, "Method Not Allowed"),
        };
        rejection.headers.push(("Allow".into(), ALLOW.into()));
        return Err(rejection);
    }
    if cseq.method != *method {
        return Err(Rejection::new(400, "CSeq method does not match request"));
    }
    // §18.3: on a stream the body is only delimited by Content-Length.
    if transport.is_reliable() && !msg.headers.contains("Content-Length") {
        return Err(Rejection::bad(ParseError::Missing("Content-Length")));
    }
    check_vias(msg)?;
    // No From tag is a tag of null (§12.2.2, for RFC 2543 peers).
    let from = msg.from_addr().map_err(Rejection::bad)?;
    let to = msg.to_addr().map_err(Rejection::bad)?;
    let max_forwards = match msg.headers.get("Max-Forwards") {
        None => None,
        // Leading zeros are legal (RFC 4475 §3.1.1.1); a value past 255 is taken
        // as no value (§3.1.2.4).
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            let digits = v.trim_start_matches('0');
            (digits.len() <= 3)
                .then(|| digits.parse::<u16>().unwrap_or(0))
                .filter(|&n| n <= 255)
        }
        Some(_) => return Err(Rejection::new(400, "Bad Max-Forwards")),
    };
    let request_uri =
        SipUri::parse(msg.request_uri().unwrap_or_default()).map_err(|e| match e {
            ParseError::UnsupportedScheme => Rejection::new(416, "Unsupported URI Scheme"),
            _ => Rejection::new(400, "Bad Request-URI"),
        })?;
    // §19.1.1: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
    if !request_uri.headers.is_empty() {
        return Err(Rejection::new(400, "Bad Request-URI: headers not allowed"));
    }
    // §16.3: OPTIONS may be answered by the element where Max-Forwards runs out.
    if max_forwards == Some(0) && *method != Method::Options {
        return Err(Rejection::new(483, "Too Many Hops"));
    }
    if *method != Method::Cancel {
        // The extensions we take: session timers (RFC 4028) and Replaces
        // (RFC 3891).
        let required: Vec<&str> = msg
            .headers
            .values("Require")
            .filter(|t| !t.eq_ignore_ascii_case("timer") && !t.eq_ignore_ascii_case("replaces"))
            .collect();
        if !required.is_empty() {
            let mut rejection = Rejection::new(420, "Bad Extension");
            rejection
                .headers
                .push(("Unsupported".into(), required.join(", ")));
            return Err(rejection);
        }
    }
    if *method == Method::Invite {
        check_invite_bodies(msg)?;
    }
    Ok(RequestInfo {
        call_id,
        cseq,
        from,
        to,
        request_uri,
    })
}

/// Every Via element must parse, not only the top one a response is routed by;
/// an empty element (`,,`) is malformed too (RFC 4475 §3.1.2.1).
fn check_vias(msg: &SipMessage) -> Result<(), Rejection> {
    let well_formed = msg
        .headers
        .get_all("Via")
        .all(|line| !has_empty_element(line))
        && msg.headers.values("Via").all(|v| Via::parse(v).is_ok());
    if well_formed {
        Ok(())
    } else {
        Err(Rejection::bad(ParseError::Invalid("Via")))
    }
}

/// Whether a comma-separated value has an empty element (`a,,b`, `a,`), commas
/// in quoted strings and `<>` aside (`split_list` skips empty elements).
fn has_empty_element(value: &str) -> bool {
    let (mut element_start, mut in_quote, mut escaped, mut in_angle) = (0, false, false, false);
    let blank = |s: &str| s.trim_matches([' ', '\t']).is_empty();
    for (i, b) in value.bytes().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if in_quote => escaped = true,
            b'"' => in_quote = !in_quote,
            b'<' if !in_quote => in_angle = true,
            b'>' if !in_quote => in_angle = false,
            b',' if !in_quote && !in_angle => {
                if blank(&value[element_start..i]) {
                    return true;
                }
                element_start = i + 1;
            }
            _ => {}
        }
    }
    blank(&value[element_start..])
}

/// §8.2.3: a body the core cannot read gets 415; an Accept that leaves no room
/// for SDP in the answer gets 406 (RFC 4475 §3.3.6 and §3.3.15).
fn check_invite_bodies(msg: &SipMessage) -> Result<(), Rejection> {
    let with_accept = |code, reason| {
        let mut rejection = Rejection::new(code, reason);
        rejection.headers.push(("Accept".into(), SDP.into()));
        rejection
    };
    let plain = msg
        .headers
        .values("Content-Encoding")
        .all(|e| e.eq_ignore_ascii_case("identity"));
    let readable = plain
        && msg
            .content_type()
            .is_some_and(|t| media_type(t).eq_ignore_ascii_case(SDP));
    if !msg.body.is_empty() && !readable {
        let mut rejection = with_accept(415, "Unsupported Media Type");
        if !plain {
            rejection
                .headers
                .push(("Accept-Encoding".into(), "identity".into()));
        }
        return Err(rejection);
    }
    let mut accept = msg.headers.values("Accept").peekable();
    let sdp_acceptable = |range: &str| {
        let media = media_type(range);
        [SDP, "application/*", "*/*"]
            .iter()
            .any(|r| media.eq_ignore_ascii_case(r))
    };
    if accept.peek().is_some() && !accept.any(sdp_acceptable) {
        let mut rejection = with_accept(406, "Not Acceptable");
        rejection.headers.push((
            "Warning".into(),
            "399 dialtone \"Only application/sdp bodies can be sent\"".into(),
        ));
        return Err(rejection);
    }
    Ok(())
}

/// `type/subtype` of a Content-Type value or an Accept media range.
fn media_type(value: &str) -> &str {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim_matches([' ', '\t'])
}
