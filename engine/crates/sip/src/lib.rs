//! Sans-IO SIP: message codec, RFC 3261 transactions, dialogs and the user-agent core
//!
//! Nothing here touches a socket or a clock. Drivers feed bytes, commands and the
//! current `Instant` into [`UaCore`] and carry out what it returns.

pub mod auth;
pub mod dialog;
mod error;
pub mod framer;
pub mod headers;
pub mod message;
pub mod parse;
pub mod transaction;
pub mod uri;
pub mod via;

pub use error::ParseError;
pub use framer::frame_stream;
pub use headers::Headers;
pub use message::{reason_phrase, Method, SipMessage, StartLine};
pub use parse::{parse_message, MAX_HEADERS, MAX_MESSAGE_SIZE};
pub use uri::{NameAddr, Scheme, SipUri};
pub use via::{CSeq, Via};
pub mod ua;

pub use ua::{
    Body, ExtraHeaders, LegId, Peer, Transport, UaCommand, UaConfig, UaCore, UaEvent, UaOutput,
};
