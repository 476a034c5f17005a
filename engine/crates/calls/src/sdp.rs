//! A call's SDP and RTP endpoint: binding its port, what we offer or answer,
//! and pointing its media at what was negotiated.

use std::net::SocketAddr;

use dialtone_core::CallId;
use dialtone_media::RtpParams;
use dialtone_sdp::{Direction, LocalMedia, Negotiated, SdpError};
use dialtone_sip::Body;

use crate::call::Call;
use crate::io::MediaCommand;
use crate::CallCore;

/// The media description every call uses: G.711 both laws and telephone-event.
pub(crate) fn local_media_at(addr: SocketAddr, session_id: u64, version: u64) -> LocalMedia {
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

/// What we offer or answer for this call (its RTP port must be bound).
pub(crate) fn local_media(call: &Call) -> LocalMedia {
    let addr = call
        .local_rtp
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 9)));
    local_media_at(addr, call.sdp_session, call.sdp_version)
}

/// The SIP status for an offer we cannot take.
pub(crate) fn sdp_error_status(e: &SdpError) -> (u16, &'static str) {
    match e {
        SdpError::Parse(_) => (400, "Bad SDP"),
        _ => (488, crate::codes::reason(488)),
    }
}

/// The text of an SDP body, if the body is SDP and valid UTF-8.
pub(crate) fn sdp_text(body: Option<Body>) -> Option<String> {
    body.filter(is_sdp)
        .and_then(|b| String::from_utf8(b.data).ok())
}

pub(crate) fn is_sdp(b: &Body) -> bool {
    b.content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/sdp"))
}

pub(crate) fn sdp_body(sdp: String) -> Body {
    Body {
        content_type: "application/sdp".into(),
        data: sdp.into_bytes(),
    }
}

impl CallCore {
    /// What an offer is checked against before a session is spent on it.
    pub(crate) fn probe_media(&self) -> LocalMedia {
        local_media_at(SocketAddr::new(self.cfg.media_ip, 9), 0, 0)
    }

    /// Binds the call's RTP port if it has none yet.
    pub(crate) fn ensure_rtp(&mut self, id: CallId) -> Result<(), String> {
        let Some(call) = self.calls.get(&id) else {
            return Err("the call is gone".into());
        };
        if call.local_rtp.is_some() {
            return Ok(());
        }
        let (unit, shard, tones) = (call.unit(), self.shard(call.session), call.handle_tones);
        let port = self.services.bind_rtp(unit, shard)?;
        if let Some(call) = self.calls.get_mut(&id) {
            call.local_rtp = Some(SocketAddr::new(self.cfg.media_ip, port));
        }
        if tones {
            self.media(MediaCommand::ToneDetection {
                unit,
                enabled: true,
            });
        }
        Ok(())
    }

    /// Our answer to `offer` for call `id` (its port bound), at most in
    /// `wish`: through the WebRTC stack for a browser's offer, else G.711
    /// RTP. `Err` carries the SIP status and reason to refuse it with.
    pub(crate) fn answer_sdp(
        &mut self,
        id: CallId,
        offer: &str,
        wish: Direction,
    ) -> Result<(String, Negotiated), (u16, &'static str)> {
        let Some(call) = self.calls.get(&id) else {
            return Err((481, crate::codes::reason(481)));
        };
        if !dialtone_sdp::is_webrtc(offer) {
            return dialtone_sdp::answer_offer_directed(offer, &local_media(call), wish)
                .map_err(|e| sdp_error_status(&e));
        }
        let (unit, local, was_webrtc) = (call.unit(), call.local_rtp, call.webrtc);
        let refused = (488, crate::codes::reason(488));
        let Some(local) = local else {
            return Err(refused);
        };
        if let Err(e) = dialtone_sdp::check_webrtc_offer(offer) {
            tracing::info!(call = %id, error = %e, "WebRTC offer refused");
            return Err(sdp_error_status(&e));
        }
        let mut n = dialtone_sdp::webrtc_negotiated(offer).ok_or(refused)?;
        let answer = self
            .services
            .webrtc_answer(unit, local, offer)
            .map_err(|e| {
                tracing::info!(call = %id, error = %e, "WebRTC offer refused");
                refused
            })?;
        if dialtone_sdp::webrtc_negotiated(&answer).is_none() {
            // The stack took the offer but could not accept its audio.
            tracing::info!(call = %id, "WebRTC answer rejects the audio: offer refused");
            if !was_webrtc {
                self.services.webrtc_release(unit);
            }
            return Err(refused);
        }
        n.direction = Direction::from_flags(
            n.direction.sends() && wish.sends(),
            n.direction.receives() && wish.receives(),
        );
        if let Some(call) = self.calls.get_mut(&id) {
            call.webrtc = true;
        }
        Ok((answer, n))
    }

    /// Our offer for call `id` in the direction `wish`.
    pub(crate) fn offer_sdp(&mut self, id: CallId, wish: Direction) -> Result<String, String> {
        let Some(call) = self.calls.get(&id) else {
            return Err("the call is gone".into());
        };
        if !call.webrtc {
            return Ok(dialtone_sdp::make_offer_directed(&local_media(call), wish));
        }
        let (unit, local) = (call.unit(), call.local_rtp);
        let local = local.ok_or("no media port")?;
        self.services
            .webrtc_offer(unit, local, wish.sends(), wish.receives())
    }

    /// Reads the peer's answer to our offer for call `id`.
    pub(crate) fn accept_answer_sdp(
        &mut self,
        id: CallId,
        answer: &str,
    ) -> Result<Negotiated, String> {
        let Some(call) = self.calls.get_mut(&id) else {
            return Err("the call is gone".into());
        };
        let unit = call.unit();
        if !dialtone_sdp::is_webrtc(answer) {
            if call.webrtc || call.webrtc_offer.is_some() {
                // A phone answered a call that also rang browsers: the
                // leg's WebRTC connection goes, its port speaks plain RTP.
                call.webrtc = false;
                call.webrtc_offer = None;
                self.services.webrtc_release(unit);
            }
            let call = self.calls.get(&id).ok_or("the call is gone")?;
            return dialtone_sdp::accept_answer(answer, &local_media(call))
                .map_err(|e| e.to_string());
        }
        if !call.webrtc && call.webrtc_offer.is_none() {
            return Err("a WebRTC answer to a plain offer".into());
        }
        call.webrtc = true;
        call.webrtc_offer = None;
        self.services.webrtc_accept_answer(unit, answer)?;
        dialtone_sdp::webrtc_negotiated(answer).ok_or_else(|| "not a WebRTC answer".into())
    }

    /// Points the call's RTP at what was negotiated.
    pub(crate) fn apply_negotiated(&mut self, id: CallId, n: Negotiated) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let codec = match n.codec {
            dialtone_sdp::Codec::Pcmu => dialtone_media::Codec::Pcmu,
            dialtone_sdp::Codec::Pcma => dialtone_media::Codec::Pcma,
        };
        let params = RtpParams {
            remote: n.remote,
            codec,
            payload_type: n.payload_type,
            telephone_event_pt: n.telephone_event_pt,
            send: n.direction.sends(),
        };
        let unit = call.unit();
        let statistics = call.statistics;
        call.negotiated = Some(n);
        self.media(MediaCommand::SetRemote { unit, params });
        if statistics {
            self.media(MediaCommand::Statistics {
                unit,
                interval: Some(crate::STATISTICS_INTERVAL),
            });
        }
    }
}
