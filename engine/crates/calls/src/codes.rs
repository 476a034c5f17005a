//! SIP status codes the engine picks itself, in one place, and their reason
//! phrases from the one table the SIP stack also writes on the wire
//! ([`dialtone_sip::reason_phrase`]).
//!
//! A script's own codes (`reject(486)`) are its choice; these are the codes
//! used when the engine decides how a call ends.

/// `call.hangup()` on an unanswered inbound call, and an unanswered inbound
/// call left behind when its session ends normally (`terminate()`, idle).
pub const UNANSWERED_HANGUP: u16 = 480;
/// An unanswered inbound call whose session ended with a script error (an
/// uncaught exception, the CPU or memory limit, a compile error).
pub const SCRIPT_ERROR: u16 = 500;
/// `reject(code)` with a code outside 300–699.
pub const INVALID_REJECT: u16 = 603;
/// The engine cannot take more: shutting down, history behind, the session
/// limit, no RTP port.
pub const UNAVAILABLE: u16 = 503;
/// A `callSIP` target that cannot be used or resolved.
pub const BAD_TARGET: u16 = 404;
/// A `callSIP` target the egress policy denies (loopback, private, link-local,
/// Dialtone's own listeners, … unless the operator allows it).
pub const EGRESS_DENIED: u16 = 403;
/// A call ended by us or by CANCEL before it was answered.
pub const CANCELLED: u16 = 487;
/// An INVITE body that is neither SDP nor empty.
pub const UNSUPPORTED_MEDIA_TYPE: u16 = 415;
/// An SDP body that is not UTF-8.
pub const BAD_REQUEST: u16 = 400;

/// The reason phrase for `code`, as the SIP stack writes it on the wire.
pub fn reason(code: u16) -> &'static str {
    dialtone_sip::reason_phrase(code)
}

/// The code a script's `reject(code)` sends: its own if it is a final
/// error code, else [`INVALID_REJECT`].
pub fn reject_code(code: u16) -> u16 {
    if (300..700).contains(&code) {
        code
    } else {
        INVALID_REJECT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_come_from_the_wire_table() {
        assert_eq!(reason(410), "Gone");
        assert_eq!(reason(486), "Busy Here");
        assert_eq!(reason(UNANSWERED_HANGUP), "Temporarily Unavailable");
        assert_eq!(reason(SCRIPT_ERROR), "Server Internal Error");
        assert_eq!(reject_code(200), INVALID_REJECT);
        assert_eq!(reject_code(699), 699);
        assert_eq!(reject_code(700), INVALID_REJECT);
    }
}
