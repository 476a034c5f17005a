//! The call layer's use of SDP and the media engine for one call.

use super::state::Call;
use dialtone_media::{MediaEngine, MediaError, RtpParams, UnitId};
use dialtone_sdp::{LocalMedia, Negotiated, SdpError};
use std::net::SocketAddr;

/// Binds the call's RTP port if it has none yet. The call's local address
/// (what SDP offers) is `advertised` with the bound port: the socket itself
/// may be bound to every interface.
pub fn ensure(
    media: &MediaEngine,
    call: &mut Call,
    shard: usize,
    advertised: std::net::IpAddr,
) -> Result<SocketAddr, MediaError> {
    if let Some(a) = call.local_rtp {
        return Ok(a);
    }
    let bound = media.allocate(UnitId(call.id.0), shard)?;
    let addr = SocketAddr::new(advertised, bound.port());
    call.local_rtp = Some(addr);
    if call.handle_tones {
        media.set_tone_detection(UnitId(call.id.0), true);
    }
    Ok(addr)
}

pub fn local_media_at(addr: SocketAddr, session_id: u64, version: u64) -> LocalMedia {
    LocalMedia {
        addr: addr.ip(),
        port: addr.port(),
        codecs: vec![dialtone_sdp::Codec::Pcmu, dialtone_sdp::Codec::Pcma],
        telephone_event: true,
        session_id,
        session_version: version,
        username: "dialtone".into(),
    }
}

/// What we offer or answer for this call (its RTP port must be allocated).
pub fn local_media(call: &Call) -> LocalMedia {
    let addr = call
        .local_rtp
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 9)));
    local_media_at(addr, call.sdp_session, call.sdp_version)
}

/// Points the call's RTP at what was negotiated.
pub fn apply(media: &MediaEngine, call: &mut Call, n: Negotiated) {
    let codec = match n.codec {
        dialtone_sdp::Codec::Pcmu => dialtone_media::Codec::Pcmu,
        dialtone_sdp::Codec::Pcma => dialtone_media::Codec::Pcma,
    };
    media.set_remote(
        UnitId(call.id.0),
        RtpParams {
            remote: n.remote,
            codec,
            payload_type: n.payload_type,
            telephone_event_pt: n.telephone_event_pt,
        },
    );
    call.negotiated = Some(n);
}

/// The SIP status for an offer we cannot take.
pub fn sdp_error_status(e: &SdpError) -> (u16, &'static str) {
    match e {
        SdpError::Parse(_) => (400, "Bad SDP"),
        _ => (488, "Not Acceptable Here"),
    }
}
