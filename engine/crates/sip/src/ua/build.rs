//! Building responses and header values the user-agent core sends.

use super::types::{Body, Peer};
use crate::headers::{expand_compact, is_token, split_list};
use crate::message::{Method, SipMessage};
use crate::name_addr::{tag_of, write_quoted};
use crate::via::Via;

/// The methods the core handles; sent in Allow.
pub(crate) const ALLOW: &str =
    "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, MESSAGE, REFER, NOTIFY";

/// What a request outside any dialog may be (MESSAGE is taken in calls only).
pub(crate) const ALLOW_OUT_OF_DIALOG: &str = "INVITE, ACK, CANCEL, OPTIONS";

/// Headers the core writes itself; callers cannot add or override them.
const OWNED_HEADERS: [&str; 10] = [
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Type",
    "Content-Length",
    "Record-Route",
];

/// A response to `request` (§8.2.6.2): Via, From, To, Call-ID and CSeq copied, the
/// top Via stamped with `received`/`rport` (RFC 3581), `to_tag` added to a To that
/// has none, and Record-Route copied into dialog-creating INVITE responses.
pub(crate) fn response(
    request: &SipMessage,
    source: &Peer,
    code: u16,
    reason: &str,
    to_tag: Option<&str>,
) -> SipMessage {
    let mut resp = SipMessage::response(code, reason);
    let mut first_via = true;
    let copy_record_route = (101..300).contains(&code) && request.method() == Some(&Method::Invite);
    for (name, value) in request.headers.iter() {
        if name.eq_ignore_ascii_case("Via") {
            if first_via {
                first_via = false;
                resp.headers.push("Via", stamp_via(value, source));
            } else {
                resp.headers.push("Via", value);
            }
        } else if name.eq_ignore_ascii_case("To") {
            match to_tag {
                Some(tag) if code > 100 => resp.headers.push("To", with_tag(value, tag)),
                _ => resp.headers.push("To", value),
            }
        } else if name.eq_ignore_ascii_case("From") {
            resp.headers.push("From", value);
        } else if name.eq_ignore_ascii_case("Call-ID") {
            resp.headers.push("Call-ID", value);
        } else if name.eq_ignore_ascii_case("CSeq") {
            resp.headers.push("CSeq", value);
        } else if copy_record_route && name.eq_ignore_ascii_case("Record-Route") {
            resp.headers.push("Record-Route", value);
        }
    }
    resp
}

/// Stamps the first element of a Via value with where the request really came from.
fn stamp_via(value: &str, source: &Peer) -> String {
    let mut elements = split_list(value);
    let Some(first) = elements.next() else {
        return value.to_string();
    };
    let stamped = match Via::parse(first) {
        Ok(mut via) => {
            let wants_rport = via.rport().is_some();
            if wants_rport {
                via.set_param("rport", Some(source.addr.port().to_string()));
            }
            let host = via.host.trim_start_matches('[').trim_end_matches(']');
            let same_host = host.parse().ok() == Some(source.addr.ip());
            if wants_rport || !same_host {
                via.set_param("received", Some(source.addr.ip().to_string()));
            }
            via.to_string()
        }
        Err(_) => first.to_string(),
    };
    let mut out = stamped;
    for rest in elements {
        out.push_str(", ");
        out.push_str(rest);
    }
    out
}

/// A From/To value with `tag` added unless it already has one.
pub(crate) fn with_tag(value: &str, tag: &str) -> String {
    if tag_of(value).is_some() {
        value.to_string()
    } else {
        format!("{value};tag={tag}")
    }
}

/// `"Display" <uri>` (or `<uri>`).
pub(crate) fn name_addr(display: Option<&str>, uri: &str) -> String {
    let mut out = String::with_capacity(uri.len() + 32);
    if let Some(display) = display.filter(|d| !d.is_empty()) {
        let _ = write_quoted(&mut out, display);
        out.push(' ');
    }
    out.push('<');
    out.push_str(uri);
    out.push('>');
    out
}

/// Appends caller-supplied headers, dropping ones the core owns and anything that
/// could break the message apart.
pub(crate) fn add_extra(msg: &mut SipMessage, extra: &[(String, String)]) {
    for (name, value) in extra {
        let full = expand_compact(name).unwrap_or(name);
        if !is_token(name) || OWNED_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(full)) {
            tracing::debug!(header = %name, "extra header not allowed; dropped");
            continue;
        }
        if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            tracing::warn!(header = %name, "extra header value has control characters; dropped");
            continue;
        }
        msg.headers.push(name.as_str(), value.as_str());
    }
}

pub(crate) fn set_body(msg: &mut SipMessage, body: Option<Body>) {
    let Some(body) = body else {
        return;
    };
    if body.data.is_empty() {
        return;
    }
    let content_type = if body.content_type.is_empty()
        || body.content_type.bytes().any(|b| b < 0x20 || b == 0x7f)
    {
        "application/octet-stream".to_string()
    } else {
        body.content_type
    };
    msg.headers.push("Content-Type", content_type);
    msg.body = body.data;
}

/// The body of a received message, if any.
pub(crate) fn take_body(msg: &mut SipMessage) -> Option<Body> {
    if msg.body.is_empty() {
        return None;
    }
    Some(Body {
        content_type: msg.content_type().unwrap_or_default().to_string(),
        data: std::mem::take(&mut msg.body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ua::types::Transport;

    fn peer(addr: &str) -> Peer {
        Peer {
            transport: Transport::Udp,
            addr: addr.parse().unwrap(),
        }
    }

    #[test]
    fn via_gets_received_and_rport() {
        let v = stamp_via(
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport, SIP/2.0/UDP p;branch=z9hG4bK0",
            &peer("192.0.2.7:40000"),
        );
        assert_eq!(
            v,
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport=40000;received=192.0.2.7, SIP/2.0/UDP p;branch=z9hG4bK0"
        );
        let same = stamp_via(
            "SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1",
            &peer("192.0.2.7:5060"),
        );
        assert_eq!(same, "SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1");
    }

    #[test]
    fn extra_headers_are_filtered() {
        let mut m = SipMessage::request(Method::Bye, "sip:x");
        add_extra(
            &mut m,
            &[
                ("X-Ok".into(), "1".into()),
                ("Via".into(), "evil".into()),
                ("v".into(), "evil".into()),
                ("X-Split".into(), "a\r\nVia: evil".into()),
                ("Bad Name".into(), "x".into()),
                ("Reason".into(), "Q.850;cause=16".into()),
            ],
        );
        assert_eq!(
            m.headers.to_vec(),
            vec![
                ("X-Ok".into(), "1".into()),
                ("Reason".into(), "Q.850;cause=16".into())
            ]
        );
    }

    #[test]
    fn display_names_are_quoted() {
        assert_eq!(
            name_addr(Some("A \"B\""), "sip:a@h"),
            r#""A \"B\"" <sip:a@h>"#
        );
        assert_eq!(name_addr(None, "sip:a@h"), "<sip:a@h>");
    }
}
