//! The user-agent core's public vocabulary: what the call layer sends and receives.

use std::net::SocketAddr;
use std::time::Duration;

/// One call leg, inbound or outbound.
pub type LegId = u64;

/// Leg ids with this bit set are never handed out by [`UaCore::new_leg_id`]
/// (inbound legs count up from 1 below it): a caller may number its
/// outbound legs in this range itself, e.g. after its own call ids.
///
/// [`UaCore::new_leg_id`]: crate::UaCore::new_leg_id
pub const OUTBOUND_LEGS: LegId = 1 << 63;

/// One outbound registration (a trunk's REGISTER to its provider), numbered
/// by the caller.
pub type RegistrationId = u64;

/// A REGISTER of ours (RFC 3261 §10.2). `Debug` hides the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRegister {
    pub id: RegistrationId,
    /// Where it goes.
    pub target: Peer,
    /// The Request-URI: the registrar (`sip:provider.example`).
    pub registrar_uri: String,
    /// The address of record (From and To).
    pub aor: String,
    /// The user part of our Contact: requests for the binding come back
    /// addressed to it.
    pub contact_user: String,
    /// Seconds asked for; 0 removes the binding.
    pub expires: u32,
    /// For the provider's digest challenges.
    pub auth: Option<crate::auth::Credentials>,
}

/// Extra headers for a request or response we send, in order. Headers the core
/// owns (Via, From, To, Call-ID, CSeq, Contact, Max-Forwards, Content-Type,
/// Content-Length) and values containing line breaks are dropped.
pub type ExtraHeaders = Vec<(String, String)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    /// SIP over WebSocket (RFC 7118): one message per frame, on a
    /// connection the peer opened to the HTTP listener. Requests to the peer
    /// can only go down that connection.
    Ws,
}

impl Transport {
    pub fn is_reliable(self) -> bool {
        self != Transport::Udp
    }

    pub fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Ws => "WS",
        }
    }

    /// The `;transport=` URI parameter for a Contact on this transport.
    pub fn uri_param(self) -> &'static str {
        match self {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
            Transport::Ws => ";transport=ws",
        }
    }
}

/// The far end of a message: for TCP the driver maps it to its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: Transport,
    pub addr: SocketAddr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    pub content_type: String,
    pub data: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct UaConfig {
    /// UDP and TCP listen on this address; it goes into Via and Contact.
    pub local_addr: SocketAddr,
    /// User-Agent header value; empty to leave the header out.
    pub user_agent: String,
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
    /// Server transactions one source address may hold at once; past it its
    /// new INVITEs get a stateless 503.
    pub max_server_tx_per_source: usize,
    /// Take REGISTER (reported as [`UaEvent::Register`]); without a
    /// registrar it gets 405.
    pub registrar: bool,
}

impl UaConfig {
    /// RFC 3261 default timers: T1 500 ms, T2 4 s, T4 5 s.
    pub fn new(local_addr: SocketAddr, user_agent: impl Into<String>) -> UaConfig {
        UaConfig {
            local_addr,
            user_agent: user_agent.into(),
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            max_server_tx_per_source: super::inbound::MAX_SERVER_TX_PER_SOURCE,
            registrar: false,
        }
    }
}

// Events are consumed right away; boxing them would add an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum UaOutput {
    Transmit { to: Peer, data: Vec<u8> },
    Event(UaEvent),
}

// The variants mirror the call layer's needs one to one; boxing Dial would only
// move the allocation. `Debug` is written out below: `Dial` carries a password.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub enum UaCommand {
    /// Inbound leg: 101–199 (180 or 183 in practice).
    Provisional {
        leg: LegId,
        code: u16,
        body: Option<Body>,
        headers: ExtraHeaders,
    },
    /// Inbound leg: 200 OK. For a late-offer INVITE the body is our offer and the
    /// answer arrives in the ACK (`Acked`).
    Answer {
        leg: LegId,
        body: Option<Body>,
        headers: ExtraHeaders,
    },
    /// Inbound leg: a final 300–699 response. No event follows.
    Reject {
        leg: LegId,
        code: u16,
        reason: Option<String>,
        headers: ExtraHeaders,
    },
    /// Ends a leg in whatever state it is: BYE when confirmed; CANCEL for an
    /// unanswered outbound leg (once a provisional has arrived); 480 for an
    /// unanswered inbound leg. Exactly one `Terminated` or `Failed` follows.
    Hangup { leg: LegId, headers: ExtraHeaders },
    /// Outbound leg with an id from `UaCore::new_leg_id` or from the
    /// [`OUTBOUND_LEGS`] range; it must not be in use.
    Dial {
        leg: LegId,
        target: Peer,
        request_uri: String,
        from_uri: String,
        from_display: Option<String>,
        to_uri: String,
        body: Option<Body>,
        headers: ExtraHeaders,
        /// (username, password) for one digest retry per challenge. `Debug`
        /// shows the password as `***`.
        auth: Option<(String, String)>,
        /// The INVITE's Max-Forwards: 70 for a new call; one less than the
        /// inbound INVITE's for a leg a call forwards, so loops end (483).
        max_forwards: u8,
    },
    /// Answer to a `ReInvite` event: 2xx with `body`, or an error code.
    AnswerReInvite {
        leg: LegId,
        code: u16,
        body: Option<Body>,
        /// Extra headers for the response (the scenario's custom headers).
        headers: ExtraHeaders,
    },
    /// An in-dialog INFO (e.g. DTMF as `application/dtmf-relay`) on an
    /// established leg. Its response is not reported; nothing is sent when the
    /// leg is not established.
    Info {
        leg: LegId,
        body: Body,
        headers: ExtraHeaders,
    },
    /// An in-dialog MESSAGE (RFC 3428) on an established leg; as `Info`.
    Message {
        leg: LegId,
        body: Body,
        headers: ExtraHeaders,
    },
    /// Answer to a `Refer` event: 202 to accept the transfer (NOTIFYs
    /// follow with `Notify`, unless the REFER said `Refer-Sub: false`), or
    /// an error code.
    AnswerRefer { leg: LegId, code: u16 },
    /// A NOTIFY of the transfer the peer asked for (RFC 3515): `sipfrag` is
    /// the status line of the new call (`SIP/2.0 200 OK`); `terminated`
    /// ends the subscription.
    Notify {
        leg: LegId,
        sipfrag: String,
        terminated: bool,
    },
    /// Our REFER on an established leg (a blind transfer to `refer_to`, a
    /// URI). Exactly one `ReferAnswered` follows; then the peer's NOTIFYs
    /// arrive as `Notify` events.
    Refer {
        leg: LegId,
        refer_to: String,
        headers: ExtraHeaders,
    },
    /// Our REFER asking the peer of `leg` to call the peer of `target`
    /// with `Replaces` naming `target`'s dialog (RFC 3891): an attended
    /// transfer. As `Refer`.
    ReferReplacing {
        leg: LegId,
        target: LegId,
        headers: ExtraHeaders,
    },
    /// Our re-INVITE on an established leg (hold, unhold, a relayed media
    /// change). Exactly one `ReInviteAnswered` follows: the final response,
    /// 408 when none came, 491 at once when an INVITE is already open on
    /// the dialog either way.
    ReInvite {
        leg: LegId,
        body: Option<Body>,
        headers: ExtraHeaders,
    },
    /// The final response to a request reported with a [`Reply`] (a
    /// REGISTER), sent without a transaction: a retransmitted request is
    /// reported again and answered again.
    Respond {
        reply: Reply,
        code: u16,
        /// Contact header values (a registrar's current bindings).
        contacts: Vec<String>,
        headers: ExtraHeaders,
    },
    /// Our REGISTER (a refresh when the id is known: same Call-ID, next
    /// CSeq). Exactly one `RegisterAnswered` follows.
    Register(ClientRegister),
}

/// Where the answer to a reported out-of-dialog request goes, and what it
/// copies from the request (Via with `received`/`rport`, From, To with our
/// tag, Call-ID, CSeq). Opaque: only the UA core reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub(crate) to: Peer,
    pub(crate) skeleton: crate::message::SipMessage,
}

/// A REGISTER (RFC 3261 §10) as the registrar needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterRequest {
    /// Where it came from: bindings are reached there (NAT: the address
    /// seen, not the one in Contact).
    pub source: Peer,
    pub request_uri: String,
    /// The address of record.
    pub to_uri: String,
    pub call_id: String,
    pub cseq: u32,
    /// Each Contact entry (`<sip:…>;expires=N`, or `*`), lists split.
    pub contacts: Vec<String>,
    /// The Expires header.
    pub expires: Option<u32>,
    /// Authorization header values.
    pub authorization: Vec<String>,
    pub user_agent: Option<String>,
}

/// As derived, except that `Dial`'s password shows as `***`.
impl std::fmt::Debug for UaCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UaCommand::Provisional {
                leg,
                code,
                body,
                headers,
            } => f
                .debug_struct("Provisional")
                .field("leg", leg)
                .field("code", code)
                .field("body", body)
                .field("headers", headers)
                .finish(),
            UaCommand::Answer { leg, body, headers } => f
                .debug_struct("Answer")
                .field("leg", leg)
                .field("body", body)
                .field("headers", headers)
                .finish(),
            UaCommand::Reject {
                leg,
                code,
                reason,
                headers,
            } => f
                .debug_struct("Reject")
                .field("leg", leg)
                .field("code", code)
                .field("reason", reason)
                .field("headers", headers)
                .finish(),
            UaCommand::Hangup { leg, headers } => f
                .debug_struct("Hangup")
                .field("leg", leg)
                .field("headers", headers)
                .finish(),
            UaCommand::Dial {
                leg,
                target,
                request_uri,
                from_uri,
                from_display,
                to_uri,
                body,
                headers,
                auth,
                max_forwards,
            } => f
                .debug_struct("Dial")
                .field("leg", leg)
                .field("target", target)
                .field("request_uri", request_uri)
                .field("from_uri", from_uri)
                .field("from_display", from_display)
                .field("to_uri", to_uri)
                .field("body", body)
                .field("headers", headers)
                .field(
                    "auth",
                    &auth.as_ref().map(|(user, _)| (user, crate::auth::REDACTED)),
                )
                .field("max_forwards", max_forwards)
                .finish(),
            UaCommand::AnswerReInvite {
                leg,
                code,
                body,
                headers,
            } => f
                .debug_struct("AnswerReInvite")
                .field("leg", leg)
                .field("code", code)
                .field("body", body)
                .field("headers", headers)
                .finish(),
            UaCommand::Info { leg, body, headers } => f
                .debug_struct("Info")
                .field("leg", leg)
                .field("body", body)
                .field("headers", headers)
                .finish(),
            UaCommand::Message { leg, body, headers } => f
                .debug_struct("Message")
                .field("leg", leg)
                .field("body", body)
                .field("headers", headers)
                .finish(),
            UaCommand::AnswerRefer { leg, code } => f
                .debug_struct("AnswerRefer")
                .field("leg", leg)
                .field("code", code)
                .finish(),
            UaCommand::Notify {
                leg,
                sipfrag,
                terminated,
            } => f
                .debug_struct("Notify")
                .field("leg", leg)
                .field("sipfrag", sipfrag)
                .field("terminated", terminated)
                .finish(),
            UaCommand::Refer {
                leg,
                refer_to,
                headers,
            } => f
                .debug_struct("Refer")
                .field("leg", leg)
                .field("refer_to", refer_to)
                .field("headers", headers)
                .finish(),
            UaCommand::ReferReplacing {
                leg,
                target,
                headers,
            } => f
                .debug_struct("ReferReplacing")
                .field("leg", leg)
                .field("target", target)
                .field("headers", headers)
                .finish(),
            UaCommand::ReInvite { leg, body, headers } => f
                .debug_struct("ReInvite")
                .field("leg", leg)
                .field("body", body)
                .field("headers", headers)
                .finish(),
            UaCommand::Respond {
                reply,
                code,
                contacts,
                headers,
            } => f
                .debug_struct("Respond")
                .field("to", &reply.to)
                .field("code", code)
                .field("contacts", contacts)
                .field("headers", headers)
                .finish(),
            UaCommand::Register(register) => f.debug_tuple("Register").field(register).finish(),
        }
    }
}

#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UaEvent {
    /// An out-of-dialog REGISTER (only with `UaConfig::registrar`); answer
    /// it with `Respond`.
    Register {
        request: Box<RegisterRequest>,
        reply: Reply,
    },
    /// The outcome of our `Register`: the final response (after answering
    /// digest challenges), 408 when none came, 503 when the transport
    /// failed. `expires` is what a 2xx granted our contact.
    RegisterAnswered {
        id: RegistrationId,
        code: u16,
        reason: String,
        expires: Option<u32>,
        /// A 423's Min-Expires.
        min_expires: Option<u32>,
        /// Retry-After, in seconds.
        retry_after: Option<u32>,
    },
    /// A new inbound INVITE; 100 Trying is already sent.
    Incoming {
        leg: LegId,
        source: Peer,
        request_uri: String,
        /// Request-URI user part, `%HH` escapes decoded (`uri::unescape`).
        destination: String,
        from_uri: String,
        /// From URI user part, decoded the same way.
        from_user: String,
        from_display: Option<String>,
        to_uri: String,
        /// Every header as received.
        headers: Vec<(String, String)>,
        body: Option<Body>,
    },
    /// A new INVITE whose `Replaces` header names our confirmed leg
    /// `replaces` (RFC 3891); 100 Trying is already sent. `Answer` it to
    /// take that dialog's place (then hang the old leg up), or `Reject` it.
    Replacing {
        leg: LegId,
        replaces: LegId,
        headers: Vec<(String, String)>,
        body: Option<Body>,
    },
    /// CANCEL received: 200 to the CANCEL and 487 to the INVITE are sent.
    Cancelled { leg: LegId },
    /// The ACK for our 2xx; `body` is the answer to a late offer.
    Acked { leg: LegId, body: Option<Body> },
    /// Outbound 101–199.
    Provisional {
        leg: LegId,
        code: u16,
        reason: String,
        body: Option<Body>,
        headers: Vec<(String, String)>,
    },
    /// Outbound 2xx; the ACK is sent.
    Answered {
        leg: LegId,
        body: Option<Body>,
        headers: Vec<(String, String)>,
    },
    /// Outbound leg ended without a dialog: a final ≥300 (487 after our CANCEL),
    /// 408 on Timer B, 503 on transport failure.
    Failed {
        leg: LegId,
        code: u16,
        reason: String,
        headers: Vec<(String, String)>,
    },
    /// In-dialog INVITE, or UPDATE with a body (RFC 3311); answer with
    /// `AnswerReInvite`. An offerless UPDATE (a session refresh) is answered
    /// 200 by the UA and not reported.
    ReInvite {
        leg: LegId,
        body: Option<Body>,
        headers: Vec<(String, String)>,
    },
    /// The final outcome of our `ReInvite` command.
    ReInviteAnswered {
        leg: LegId,
        code: u16,
        reason: String,
        body: Option<Body>,
        headers: Vec<(String, String)>,
    },
    /// In-dialog REFER (RFC 3515); answer with `AnswerRefer`.
    Refer {
        leg: LegId,
        /// The Refer-To URI, without its angle brackets.
        refer_to: String,
        /// Whether the peer wants NOTIFYs (no `Refer-Sub: false`).
        subscription: bool,
        headers: Vec<(String, String)>,
    },
    /// The final response to our `Refer` (408 when none came).
    ReferAnswered {
        leg: LegId,
        code: u16,
        reason: String,
    },
    /// An in-dialog NOTIFY, already answered 200: `event` is its Event
    /// header (`refer`), `state` its Subscription-State.
    Notify {
        leg: LegId,
        event: String,
        state: String,
        body: Vec<u8>,
    },
    /// In-dialog MESSAGE, already answered 200.
    Message {
        leg: LegId,
        content_type: String,
        body: Vec<u8>,
        headers: Vec<(String, String)>,
    },
    /// In-dialog INFO, already answered 200.
    Info {
        leg: LegId,
        content_type: String,
        body: Vec<u8>,
        headers: Vec<(String, String)>,
    },
    /// The leg is over: BYE received (`by_remote`, 200 "BYE"), our BYE completed
    /// (its response code), our 2xx never ACKed (408 "ACK timeout"), or our Hangup
    /// of an unanswered inbound leg (480).
    Terminated {
        leg: LegId,
        by_remote: bool,
        code: u16,
        reason: String,
        headers: Vec<(String, String)>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_debug_hides_the_password() {
        let dial = UaCommand::Dial {
            leg: OUTBOUND_LEGS | 7,
            target: Peer {
                transport: Transport::Udp,
                addr: SocketAddr::from(([127, 0, 0, 1], 5060)),
            },
            request_uri: "sip:bob@127.0.0.1".into(),
            from_uri: "sip:alice@127.0.0.1".into(),
            from_display: None,
            to_uri: "sip:bob@127.0.0.1".into(),
            body: None,
            headers: Vec::new(),
            auth: Some(("alice".into(), "Zq8rT4v1-pw".into())),
            max_forwards: 70,
        };
        let shown = format!("{dial:?} {dial:#?}");
        assert!(!shown.contains("Zq8rT4v1-pw"), "{shown}");
        assert!(
            shown.contains("\"alice\"") && shown.contains("***"),
            "{shown}"
        );
        assert!(shown.starts_with("Dial { leg: "), "{shown}");
        let hangup = UaCommand::Hangup {
            leg: 3,
            headers: Vec::new(),
        };
        assert_eq!(format!("{hangup:?}"), "Hangup { leg: 3, headers: [] }");
    }
}
