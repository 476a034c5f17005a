//! Sans-IO SIP: message codec, RFC 3261 transactions, dialogs and the user-agent core
//!
//! Nothing here touches a socket or a clock. Drivers feed bytes, commands and the
//! current `Instant` into [`UaCore`] and carry out what it returns:
//!
//! ```
//! use std::time::Instant;
//! use dialtone_sip::{Peer, Transport, UaCommand, UaConfig, UaCore, UaOutput};
//!
//! let mut ua = UaCore::new(UaConfig::new("127.0.0.1:5060".parse().unwrap(), "dialtone"));
//! let now = Instant::now();
//! let leg = ua.new_leg_id();
//! ua.handle_command(now, UaCommand::Dial {
//!     leg,
//!     target: Peer { transport: Transport::Udp, addr: "127.0.0.1:5070".parse().unwrap() },
//!     request_uri: "sip:bob@127.0.0.1:5070".into(),
//!     from_uri: "sip:alice@127.0.0.1".into(),
//!     from_display: None,
//!     to_uri: "sip:bob@127.0.0.1".into(),
//!     body: None,
//!     headers: vec![],
//!     auth: None,
//!     max_forwards: 70,
//! });
//! while let Some(out) = ua.poll_output() {
//!     match out {
//!         UaOutput::Transmit { to, data } => { /* send `data` to `to.addr` */ }
//!         UaOutput::Event(event) => { /* hand to the call layer */ }
//!     }
//! }
//! // Incoming bytes: ua.handle_input(now, from, &datagram). TCP streams are cut with
//! // `frame_stream` first. Wake at `ua.poll_timeout()` and call `ua.handle_timeout`.
//! assert!(ua.poll_timeout().is_some());
//! ```

pub mod auth;
pub mod dialog;
pub mod digest_server;
mod error;
pub mod framer;
pub mod headers;
pub mod message;
pub mod name_addr;
pub mod parse;
pub mod transaction;
pub mod ua;
pub mod uri;
pub mod via;

pub use error::ParseError;
pub use framer::{frame_length, frame_stream, Frame};
pub use headers::Headers;
pub use message::{reason_phrase, Method, SipMessage, StartLine};
pub use name_addr::NameAddr;
pub use parse::{parse_message, MAX_HEADERS, MAX_MESSAGE_SIZE};
pub use ua::{
    Body, ClientRegister, ExtraHeaders, LegId, Peer, RegisterRequest, RegistrationId, Reply,
    Transport, UaCommand, UaConfig, UaCore, UaEvent, UaOutput, MAX_CONTACTS, MAX_MESSAGE_BODY,
    OUTBOUND_LEGS,
};
pub use uri::{Scheme, SipUri};
pub use via::{CSeq, Via};
