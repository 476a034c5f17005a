//! SDP parsing, building and RFC 3264 offer/answer for G.711 and telephone-event.
//!
//! Two layers:
//! - [`SessionDescription`]: a lenient parser and a faithful printer of the whole
//!   description (every line we understand, in RFC 8866 order).
//! - [`make_offer`], [`answer_offer`], [`accept_answer`]: audio negotiation for the
//!   codecs Dialtone's media layer speaks (PCMU, PCMA, RFC 4733 telephone-event).
//!
//! Everything here is pure: strings in, strings and values out.

mod description;
mod negotiate;
mod payload;
mod webrtc;

use std::net::{IpAddr, SocketAddr};

pub use description::{Attribute, Connection, Field, MediaDescription, Origin, SessionDescription};
pub use negotiate::{
    accept_answer, answer_offer, answer_offer_directed, make_offer, make_offer_directed,
    stated_direction, TELEPHONE_EVENT_PT,
};
pub use payload::{static_payload, RtpMap};
pub use webrtc::{check_webrtc_offer, is_webrtc, webrtc_direction, webrtc_negotiated};

/// An audio codec the media layer can encode and decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl Codec {
    /// Every codec we support, in our default order of preference.
    pub const ALL: [Codec; 2] = [Codec::Pcmu, Codec::Pcma];

    /// The RFC 3551 static payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The encoding name as written in `a=rtpmap`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    pub fn clock_rate(self) -> u32 {
        8000
    }

    /// The codec an `a=rtpmap` encoding describes, if it is one of ours.
    pub fn from_rtpmap(map: &RtpMap) -> Option<Codec> {
        if map.clock_rate != 8000 || map.channels.is_some_and(|c| c != 1) {
            return None;
        }
        Codec::ALL
            .into_iter()
            .find(|c| map.encoding.eq_ignore_ascii_case(c.encoding_name()))
    }
}

/// The media direction of a stream (RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The attribute name, e.g. `sendonly`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// Parses a direction attribute name; other attributes give `None`.
    pub fn from_attribute(name: &str) -> Option<Direction> {
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|d| name.eq_ignore_ascii_case(d.as_str()))
    }

    pub fn from_flags(sends: bool, receives: bool) -> Direction {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other end: sendonly there is recvonly here.
    pub fn reversed(self) -> Direction {
        Direction::from_flags(self.receives(), self.sends())
    }
}

/// What we put into our own SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// The address written into `o=` and `c=`; RTP is received there.
    pub addr: IpAddr,
    /// The RTP port of the audio stream.
    pub port: u16,
    /// Codecs we accept; their order is our preference when we make the offer.
    /// An empty list means both G.711 codecs, µ-law first.
    pub codecs: Vec<Codec>,
    /// Whether we offer and accept RFC 4733 telephone-event/8000.
    pub telephone_event: bool,
    pub session_id: u64,
    /// Must grow with every new description of the same session (RFC 3264 §8).
    pub session_version: u64,
    /// The `o=` user name, e.g. `dialtone`.
    pub username: String,
}

/// The outcome of an offer/answer exchange for the audio stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Negotiated {
    /// Where to send RTP. An unspecified address (`0.0.0.0`, `::`) means the
    /// peer put the call on hold RFC 2543 style; `direction` then never sends.
    pub remote: SocketAddr,
    pub codec: Codec,
    /// The payload type the codec is carried with, as the peer numbered it.
    pub payload_type: u8,
    /// The peer's payload type for telephone-event/8000, when both sides use it.
    pub telephone_event_pt: Option<u8>,
    /// The packet time the peer asked for with `a=ptime` (default 20).
    pub ptime_ms: u32,
    /// The stream's direction as seen from us.
    pub direction: Direction,
}

/// Why a description could not be parsed or negotiated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The description is malformed where it matters.
    #[error("malformed SDP: {0}")]
    Parse(String),
    /// The audio streams offered share no codec with us.
    #[error("no audio codec in common")]
    NoCommonCodec,
    /// No RTP/AVP audio stream with a non-zero port was found.
    #[error("no usable audio stream")]
    NoAudio,
    /// The answer set the port of our audio stream to 0.
    #[error("the answer rejected the audio stream")]
    AudioRejected,
    /// A WebRTC description without what ICE and DTLS-SRTP need.
    #[error("unusable WebRTC description: {0}")]
    BadWebRtc(&'static str),
}

impl SdpError {
    /// The SIP status to reject an offer with (RFC 3261 §21.4.26, RFC 3264 §6).
    pub fn sip_status(&self) -> u16 {
        match self {
            SdpError::Parse(_) => 400,
            SdpError::NoCommonCodec
            | SdpError::NoAudio
            | SdpError::AudioRejected
            | SdpError::BadWebRtc(_) => 488,
        }
    }
}
