//! What the call core reads of a WebRTC description (RFC 8829 style: ICE,
//! DTLS-SRTP, `UDP/TLS/RTP/SAVPF`). The description itself is written and
//! answered by the media layer's WebRTC stack; the core only needs to know
//! that a description is one, and which direction its audio goes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::description::MediaDescription;
use crate::{Codec, Direction, Negotiated, SessionDescription};

/// A secure RTP profile as browsers offer it (`UDP/TLS/RTP/SAVPF`,
/// `RTP/SAVPF`, `UDP/TLS/RTP/SAVP`).
fn is_secure_audio(media: &MediaDescription) -> bool {
    media.media.eq_ignore_ascii_case("audio")
        && media.protocol.to_ascii_uppercase().contains("SAVP")
        && media.port != 0
}

/// The first audio section of `sdp` if it is a WebRTC one: a secure profile
/// with ICE credentials and a DTLS fingerprint (at media or session level).
fn webrtc_audio(description: &SessionDescription) -> Option<&MediaDescription> {
    let media = description.media.iter().find(|m| {
        m.media.eq_ignore_ascii_case("audio") && m.port != 0 && m.protocol != "RTP/AVP"
    })?;
    if !is_secure_audio(media) {
        return None;
    }
    let has = |name: &str| {
        media.attributes_named(name).next().is_some()
            || description.attributes.iter().any(|a| a.name == name)
    };
    (has("ice-ufrag") && has("fingerprint")).then_some(media)
}

/// True when `sdp` is a WebRTC description (a browser's offer or answer).
pub fn is_webrtc(sdp: &str) -> bool {
    SessionDescription::parse(sdp)
        .ok()
        .is_some_and(|d| webrtc_audio(&d).is_some())
}

/// The outcome of a WebRTC exchange as the call core keeps it: the audio's
/// direction as seen from us. `c=0.0.0.0` (which browsers always write,
/// RFC 8839 §4.3.1) is not hold here: ICE, not the connection line, says
/// where media goes. The codec fields describe the media layer's inner
/// format (its WebRTC endpoints give the graph G.711 frames).
pub fn webrtc_negotiated(remote: &str) -> Option<Negotiated> {
    let description = SessionDescription::parse(remote).ok()?;
    let media = webrtc_audio(&description)?;
    let theirs = description.direction_for(media);
    Some(Negotiated {
        remote: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9),
        codec: Codec::Pcmu,
        payload_type: Codec::Pcmu.payload_type(),
        telephone_event_pt: None,
        ptime_ms: 20,
        direction: theirs.reversed(),
    })
}

/// The direction of a WebRTC description's audio as its author wrote it.
pub fn webrtc_direction(sdp: &str) -> Option<Direction> {
    let description = SessionDescription::parse(sdp).ok()?;
    let media = webrtc_audio(&description)?;
    Some(description.direction_for(media))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROWSER_OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 126\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\na=ice-options:trickle\r\n\
a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00\r\n\
a=setup:actpass\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n\
a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:126 telephone-event/8000\r\n";

    #[test]
    fn a_browser_offer_is_webrtc_and_zero_address_is_not_hold() {
        assert!(is_webrtc(BROWSER_OFFER));
        let n = webrtc_negotiated(BROWSER_OFFER).expect("negotiated");
        // sendonly from the browser: we receive only, despite c=0.0.0.0 for both.
        assert_eq!(n.direction, Direction::RecvOnly);
        let sendrecv = BROWSER_OFFER.replace("a=sendonly", "a=sendrecv");
        assert_eq!(
            webrtc_negotiated(&sendrecv).map(|n| n.direction),
            Some(Direction::SendRecv)
        );
        assert_eq!(webrtc_direction(&sendrecv), Some(Direction::SendRecv));
    }

    #[test]
    fn plain_rtp_and_sdes_offers_are_not_webrtc() {
        let plain = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
        assert!(!is_webrtc(plain));
        assert!(webrtc_negotiated(plain).is_none());
        let no_fingerprint = BROWSER_OFFER
            .lines()
            .filter(|l| !l.starts_with("a=fingerprint"))
            .collect::<Vec<_>>()
            .join("\r\n");
        assert!(!is_webrtc(&no_fingerprint));
        assert!(!is_webrtc("garbage"));
    }
}
