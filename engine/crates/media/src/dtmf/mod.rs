//! DTMF in and out: RFC 4733 telephone-event packets, in-band detection on
//! 8 kHz PCM, and SIP INFO bodies.
//!
//! Everything here is a pure state machine driven once per 20 ms media tick;
//! the media worker and the call layer own the sockets and the clocks.

pub mod goertzel;
pub mod info;
pub mod rfc4733;

pub use goertzel::InbandDetector;
pub use info::{info_body, parse_info};
pub use rfc4733::{
    digit_to_event, event_to_digit, DtmfError, DtmfReceiver, DtmfSender, EventPayload, SenderStep,
};

/// Samples in one 20 ms frame at 8 kHz.
pub(crate) const FRAME: usize = 160;
