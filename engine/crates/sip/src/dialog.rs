//! Dialog state (RFC 3261 §12) and in-dialog request construction.

use thiserror::Error;

use crate::error::ParseError;
use crate::message::{Method, SipMessage};
use crate::name_addr::split_name_addr;
use crate::uri::SipUri;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DialogError {
    #[error("missing {0}")]
    Missing(&'static str),
    #[error(transparent)]
    Parse(#[from] ParseError),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    /// CSeq of the last request we sent in the dialog.
    pub local_seq: u32,
    /// CSeq of the last request the peer sent, once it has sent one.
    pub remote_seq: Option<u32>,
    /// Our From value (with our tag) for requests we send.
    pub local_uri: String,
    /// Our To value (with their tag) for requests we send.
    pub remote_uri: String,
    pub remote_target: SipUri,
    /// Route values (`<sip:proxy;lr>`) in the order our requests carry them.
    pub route_set: Vec<String>,
}

impl Dialog {
    /// The dialog a UAS creates by answering `invite` with `local_tag` (§12.1.1).
    /// An RFC 2543 peer may send no From tag (the remote tag is then empty) and no
    /// Contact (its From URI is then the remote target).
    pub fn uas(invite: &SipMessage, local_tag: &str) -> Result<Dialog, DialogError> {
        let remote_tag = invite.from_tag().unwrap_or_default();
        let remote_target = match contact_uri(invite)? {
            Some(uri) => uri,
            None => invite.from_addr()?.uri,
        };
        let to = invite.headers.get("To").ok_or(ParseError::Missing("To"))?;
        Ok(Dialog {
            id: DialogId {
                call_id: invite.call_id()?.to_string(),
                local_tag: local_tag.to_string(),
                remote_tag: remote_tag.to_string(),
            },
            local_seq: 0,
            remote_seq: Some(invite.cseq()?.seq),
            local_uri: format!("{to};tag={local_tag}"),
            remote_uri: invite
                .headers
                .get("From")
                .ok_or(ParseError::Missing("From"))?
                .to_string(),
            remote_target,
            route_set: invite
                .headers
                .values("Record-Route")
                .map(str::to_string)
                .collect(),
        })
    }

    /// The dialog a UAC creates from `response` (2xx or tagged 1xx) to `invite`
    /// (§12.1.2). Without a Contact the Request-URI stays the target.
    pub fn uac(invite: &SipMessage, response: &SipMessage) -> Result<Dialog, DialogError> {
        let local_tag = invite.from_tag().ok_or(DialogError::Missing("From tag"))?;
        let remote_target = match contact_uri(response)? {
            Some(uri) => uri,
            None => SipUri::parse(invite.request_uri().unwrap_or_default())?,
        };
        let mut route_set: Vec<String> = response
            .headers
            .values("Record-Route")
            .map(str::to_string)
            .collect();
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id: invite.call_id()?.to_string(),
                local_tag: local_tag.to_string(),
                remote_tag: response.to_tag().unwrap_or_default().to_string(),
            },
            local_seq: invite.cseq()?.seq,
            remote_seq: None,
            local_uri: invite
                .headers
                .get("From")
                .ok_or(ParseError::Missing("From"))?
                .to_string(),
            remote_uri: response
                .headers
                .get("To")
                .ok_or(ParseError::Missing("To"))?
                .to_string(),
            remote_target,
            route_set,
        })
    }

    /// Target refresh from a request or response Contact (re-INVITE).
    pub fn refresh_target(&mut self, msg: &SipMessage) {
        if let Ok(Some(uri)) = contact_uri(msg) {
            self.remote_target = uri;
        }
    }

    /// Accepts a peer's CSeq; `false` when it is out of order (§12.2.2: answer 500).
    pub fn accept_remote_seq(&mut self, seq: u32) -> bool {
        if self.remote_seq.is_some_and(|r| seq < r) {
            return false;
        }
        self.remote_seq = Some(seq);
        true
    }

    /// A new in-dialog request (not ACK, not CANCEL) with the next CSeq. `via` is the
    /// full Via value. The caller adds Contact, bodies and the like.
    pub fn request(&mut self, method: Method, via: &str) -> SipMessage {
        self.local_seq = (self.local_seq + 1) % (1 << 31);
        self.build(method, self.local_seq, via)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `seq` (§13.2.2.4).
    pub fn ack(&self, seq: u32, via: &str) -> SipMessage {
        self.build(Method::Ack, seq, via)
    }

    /// The URI of the next hop: the first route, else the remote target.
    pub fn next_hop(&self) -> Option<SipUri> {
        match self.route_set.first() {
            Some(route) => route_uri(route),
            None => Some(self.remote_target.clone()),
        }
    }

    fn build(&self, method: Method, seq: u32, via: &str) -> SipMessage {
        let first_route = self.route_set.first().and_then(|r| route_uri(r));
        let strict = first_route.as_ref().is_some_and(|u| !u.is_loose_route());
        // §12.2.1.1: a strict-routing first hop takes the Request-URI, and the
        // remote target goes last in the Route set.
        let request_uri = match (&first_route, strict) {
            (Some(uri), true) => {
                let mut uri = uri.clone();
                uri.headers.clear();
                uri.to_string()
            }
            _ => self.remote_target.to_string(),
        };
        let mut msg = SipMessage::request(method.clone(), request_uri);
        msg.headers.push("Via", via);
        msg.headers.push("Max-Forwards", "70");
        msg.headers.push("From", self.local_uri.as_str());
        msg.headers.push("To", self.remote_uri.as_str());
        msg.headers.push("Call-ID", self.id.call_id.as_str());
        msg.headers.push("CSeq", format!("{seq} {method}"));
        let routes = if strict {
            self.route_set.get(1..).unwrap_or_default()
        } else {
            &self.route_set[..]
        };
        for route in routes {
            msg.headers.push("Route", route.as_str());
        }
        if strict {
            msg.headers
                .push("Route", format!("<{}>", self.remote_target));
        }
        msg
    }
}

fn contact_uri(msg: &SipMessage) -> Result<Option<SipUri>, ParseError> {
    let Some(contact) = msg.headers.values("Contact").next() else {
        return Ok(None);
    };
    let parts = split_name_addr(contact).map_err(|_| ParseError::Invalid("Contact"))?;
    SipUri::parse(parts.uri)
        .map(Some)
        .map_err(|_| ParseError::Invalid("Contact"))
}

fn route_uri(route: &str) -> Option<SipUri> {
    SipUri::parse(split_name_addr(route).ok()?.uri).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> SipMessage {
        SipMessage::parse(
            b"INVITE sip:bob@b.example SIP/2.0\r\n\
Via: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\n\
Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>\r\n\
From: \"Alice\" <sip:alice@a.example>;tag=from1\r\n\
To: <sip:bob@b.example>\r\n\
Call-ID: c1\r\n\
CSeq: 7 INVITE\r\n\
Contact: <sip:alice@10.0.0.1:5070>\r\n\r\n",
        )
        .unwrap()
    }

    #[test]
    fn uas_dialog_keeps_record_route_order() {
        let mut d = Dialog::uas(&invite(), "me").unwrap();
        assert_eq!(d.id.remote_tag, "from1");
        assert_eq!(d.remote_seq, Some(7));
        assert_eq!(
            d.route_set,
            vec!["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
        );
        let bye = d.request(Method::Bye, "SIP/2.0/UDP me;branch=z9hG4bKb");
        assert_eq!(bye.request_uri(), Some("sip:alice@10.0.0.1:5070"));
        assert_eq!(bye.headers.get("From"), Some("<sip:bob@b.example>;tag=me"));
        assert_eq!(
            bye.headers.get("To"),
            Some("\"Alice\" <sip:alice@a.example>;tag=from1")
        );
        assert_eq!(bye.headers.get("CSeq"), Some("1 BYE"));
        let routes: Vec<_> = bye.headers.get_all("Route").collect();
        assert_eq!(routes, vec!["<sip:p1.example;lr>", "<sip:p2.example;lr>"]);
        assert!(!d.accept_remote_seq(6));
        assert!(d.accept_remote_seq(8));
    }

    #[test]
    fn uac_dialog_reverses_record_route_and_strict_routes() {
        let resp = SipMessage::parse(
            b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\n\
Record-Route: <sip:p1.example;lr>\r\n\
Record-Route: <sip:p2.example>\r\n\
From: \"Alice\" <sip:alice@a.example>;tag=from1\r\n\
To: <sip:bob@b.example>;tag=to1\r\n\
Call-ID: c1\r\n\
CSeq: 7 INVITE\r\n\
Contact: <sip:bob@10.0.0.2>\r\n\r\n",
        )
        .unwrap();
        let d = Dialog::uac(&invite(), &resp).unwrap();
        assert_eq!(d.id.remote_tag, "to1");
        assert_eq!(d.route_set, vec!["<sip:p2.example>", "<sip:p1.example;lr>"]);
        let ack = d.ack(7, "SIP/2.0/UDP me;branch=z9hG4bKa");
        // p2 is a strict router: it becomes the Request-URI.
        assert_eq!(ack.request_uri(), Some("sip:p2.example"));
        let routes: Vec<_> = ack.headers.get_all("Route").collect();
        assert_eq!(routes, vec!["<sip:p1.example;lr>", "<sip:bob@10.0.0.2>"]);
        assert_eq!(ack.headers.get("CSeq"), Some("7 ACK"));
        assert_eq!(d.next_hop().unwrap().host, "p2.example");
    }
}
