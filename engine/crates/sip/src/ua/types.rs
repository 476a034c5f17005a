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

/// Extra headers for a request or response we send, in order. Headers the core
/// owns (Via, From, To, Call-ID, CSeq, Contact, Max-Forwards, Content-Type,
/// Content-Length) and values containing line breaks are dropped.
pub type ExtraHeaders = Vec<(String, String)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn is_reliable(self) -> bool {
        self == Transport::Tcp
    }

    pub fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
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
// move the allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
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
        /// (username, password) for one digest retry per challenge.
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
    },
    /// An in-dialog INFO (e.g. DTMF as `application/dtmf-relay`) on an
    /// established leg. Its response is not reported; nothing is sent when the
    /// leg is not established.
    Info {
        leg: LegId,
        body: Body,
        headers: ExtraHeaders,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UaEvent {
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
    /// In-dialog INVITE; answer with `AnswerReInvite`.
    ReInvite { leg: LegId, body: Option<Body> },
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
