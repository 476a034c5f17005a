//! What the call core reads of a WebRTC description (RFC 8829 style: ICE,
//! DTLS-SRTP, `UDP/TLS/RTP/SAVPF`). The description itself is written and
//! answered by the media layer's WebRTC stack; the core only needs to know
//! that a description is one, and which direction its audio goes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::description::MediaDescription;
use crate::{Codec, Direction, Negotiated, SdpError, SessionDescription};

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

/// Hash functions of `a=fingerprint` a certificate can be checked with.
const FINGERPRINT_HASHES: [&str; 5] = ["sha-1", "sha-224", "sha-256", "sha-384", "sha-512"];

/// Whether a browser's offer can be answered: ICE credentials of the sizes
/// RFC 8839 §5.4 requires, a fingerprint in a hash we can check (RFC 8122),
/// and Opus or G.711 among its formats. Anything less is refused (488)
/// before a session is spent on it, rather than answered with a stream no
/// audio could ever cross.
pub fn check_webrtc_offer(sdp: &str) -> Result<(), SdpError> {
    let description = SessionDescription::parse(sdp)?;
    let media = webrtc_audio(&description).ok_or(SdpError::NoAudio)?;
    let value = |name: &str| {
        media
            .attributes_named(name)
            .next()
            .map(str::to_owned)
            .or_else(|| {
                description
                    .attributes
                    .iter()
                    .find(|a| a.name == name)
                    .and_then(|a| a.value.clone())
            })
            .unwrap_or_default()
    };
    let ice_char = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
    let ufrag = value("ice-ufrag");
    let pwd = value("ice-pwd");
    if !(4..=256).contains(&ufrag.trim().len()) || !ufrag.trim().chars().all(ice_char) {
        return Err(SdpError::BadWebRtc("ice-ufrag must be 4 to 256 ice-chars"));
    }
    if !(22..=256).contains(&pwd.trim().len()) || !pwd.trim().chars().all(ice_char) {
        return Err(SdpError::BadWebRtc("ice-pwd must be 22 to 256 ice-chars"));
    }
    let fingerprint = value("fingerprint");
    let mut parts = fingerprint.split_whitespace();
    let (hash, hex) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let hex_ok = !hex.is_empty()
        && hex
            .split(':')
            .all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit()));
    if !FINGERPRINT_HASHES
        .iter()
        .any(|h| h.eq_ignore_ascii_case(hash))
        || !hex_ok
    {
        return Err(SdpError::BadWebRtc(
            "a=fingerprint must be a SHA hash in hex pairs",
        ));
    }
    let usable = media
        .payload_types()
        .into_iter()
        .any(|pt| match media.encoding(pt) {
            Some(map) => {
                (map.encoding.eq_ignore_ascii_case("opus") && map.clock_rate == 48000)
                    || Codec::from_rtpmap(&map).is_some()
            }
            None => pt == 0 || pt == 8,
        });
    if !usable {
        return Err(SdpError::NoCommonCodec);
    }
    Ok(())
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
    fn offers_without_what_webrtc_needs_are_refused() {
        assert_eq!(check_webrtc_offer(BROWSER_OFFER), Ok(()));
        let only_pcma = BROWSER_OFFER.replace("111 0 8 126", "8");
        assert_eq!(check_webrtc_offer(&only_pcma), Ok(()));
        let g722 = BROWSER_OFFER
            .replace("111 0 8 126", "9")
            .replace("a=rtpmap:111 opus/48000/2", "a=rtpmap:9 G722/8000");
        assert_eq!(check_webrtc_offer(&g722), Err(SdpError::NoCommonCodec));
        let short_pwd = BROWSER_OFFER.replace("0123456789012345678901", "x");
        assert!(matches!(
            check_webrtc_offer(&short_pwd),
            Err(SdpError::BadWebRtc(_))
        ));
        let md9 = BROWSER_OFFER.replace("sha-256 11:22", "md9 11:22");
        assert!(matches!(
            check_webrtc_offer(&md9),
            Err(SdpError::BadWebRtc(_))
        ));
        let garbage = BROWSER_OFFER.replace("sha-256 11:22", "sha-256 zz:22");
        assert!(matches!(
            check_webrtc_offer(&garbage),
            Err(SdpError::BadWebRtc(_))
        ));
        assert_eq!(SdpError::BadWebRtc("x").sip_status(), 488);
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
