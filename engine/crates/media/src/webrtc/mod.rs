//! WebRTC legs: ICE-lite, DTLS-SRTP, rtcp-mux and Opus through str0m.
//!
//! A WebRTC leg is an ordinary endpoint (its own UDP port from the range, on
//! its session's worker) with a [`WebRtcConn`] attached: the worker hands it
//! every datagram of the port and takes G.711 frames from it, so the graph,
//! mixers, recorders and links treat it like any other call. The signalling
//! side reaches the same connection through [`MediaEngine`]'s `webrtc_*`
//! calls to answer or make SDP, synchronously, as an RTP port is bound.

mod conn;
mod opus_codec;
pub mod stats;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use parking_lot::Mutex;
use str0m::config::DtlsCert;

pub use conn::{OpusPacket, WebRtcConn, WebRtcError};
pub use opus_codec::{
    set_complexity as set_opus_complexity, Opus, OpusError,
    DEFAULT_COMPLEXITY as DEFAULT_OPUS_COMPLEXITY,
};

use crate::worker::Command;
use crate::{MediaEngine, MediaError, UnitId};

/// A connection as the endpoint and the signalling side share it.
pub type SharedConn = Arc<Mutex<WebRtcConn>>;

/// The process's DTLS certificate, made once on first use: every leg
/// presents the same fingerprint (a key generation per call would cost
/// more than the rest of its set-up).
fn cert() -> Option<DtlsCert> {
    static CERT: OnceLock<Option<DtlsCert>> = OnceLock::new();
    CERT.get_or_init(|| {
        let provider = str0m::crypto::from_feature_flags();
        provider.dtls_provider.generate_certificate()
    })
    .clone()
}

/// What a leg does with a browser's offer, on a throwaway connection: the
/// answer, or why there is none. For fuzzing the WebRTC stack's SDP with
/// what passes `dialtone_sdp::check_webrtc_offer`.
pub fn answer_offer(offer: &str) -> Result<String, WebRtcError> {
    let cert = cert().ok_or(WebRtcError::Certificate)?;
    let local = SocketAddr::from(([127, 0, 0, 1], 40000));
    let mut conn = WebRtcConn::new(UnitId(0), local, cert, Instant::now())?;
    conn.accept_offer(offer, Instant::now())
}

/// The engine's WebRTC connections by unit.
#[derive(Default)]
pub(crate) struct Registry {
    conns: Mutex<HashMap<UnitId, SharedConn>>,
}

impl Registry {
    pub(crate) fn remove(&self, unit: UnitId) {
        self.conns.lock().remove(&unit);
    }

    pub(crate) fn len(&self) -> usize {
        self.conns.lock().len()
    }
}

impl MediaEngine {
    /// The unit's WebRTC connection, made (and attached to its endpoint)
    /// on first use. `local` is the endpoint's advertised address.
    fn webrtc_conn(&self, unit: UnitId, local: SocketAddr) -> Result<SharedConn, MediaError> {
        let registry = &self.shared.webrtc;
        if let Some(conn) = registry.conns.lock().get(&unit) {
            return Ok(conn.clone());
        }
        let cert =
            cert().ok_or_else(|| MediaError::WebRtc(WebRtcError::Certificate.to_string()))?;
        let conn = WebRtcConn::new(unit, local, cert, Instant::now())
            .map_err(|e| MediaError::WebRtc(e.to_string()))?;
        let conn = Arc::new(Mutex::new(conn));
        let worker = self.worker_of(unit).ok_or(MediaError::UnknownUnit(unit))?;
        self.send(
            worker,
            Command::AttachWebRtc {
                unit,
                conn: conn.clone(),
            },
        );
        registry.conns.lock().insert(unit, conn.clone());
        Ok(conn)
    }

    /// Answers a browser's offer for `unit` (allocated, advertised at `local`).
    pub fn webrtc_answer(
        &self,
        unit: UnitId,
        local: SocketAddr,
        offer: &str,
    ) -> Result<String, MediaError> {
        let conn = self.webrtc_conn(unit, local)?;
        let answer = conn.lock().accept_offer(offer, Instant::now());
        answer.map_err(|e| MediaError::WebRtc(e.to_string()))
    }

    /// Our offer to a browser for `unit`, in the direction given.
    pub fn webrtc_offer(
        &self,
        unit: UnitId,
        local: SocketAddr,
        sends: bool,
        receives: bool,
    ) -> Result<String, MediaError> {
        let conn = self.webrtc_conn(unit, local)?;
        let offer = conn.lock().make_offer(sends, receives, Instant::now());
        offer.map_err(|e| MediaError::WebRtc(e.to_string()))
    }

    /// The browser's answer to our last offer for `unit`.
    pub fn webrtc_accept_answer(&self, unit: UnitId, answer: &str) -> Result<(), MediaError> {
        let conn = self
            .shared
            .webrtc
            .conns
            .lock()
            .get(&unit)
            .cloned()
            .ok_or(MediaError::UnknownUnit(unit))?;
        let r = conn.lock().accept_answer(answer, Instant::now());
        r.map_err(|e| MediaError::WebRtc(e.to_string()))
    }

    /// `unit` is no WebRTC leg after all: its endpoint goes back to plain RTP.
    pub fn webrtc_release(&self, unit: UnitId) {
        self.shared.webrtc.remove(unit);
        if let Some(worker) = self.worker_of(unit) {
            self.send(worker, Command::DetachWebRtc { unit });
        }
    }

    /// The media worker `unit` is placed on.
    fn worker_of(&self, unit: UnitId) -> Option<usize> {
        self.shared
            .control
            .lock()
            .placed
            .get(&unit)
            .map(|p| p.worker)
    }

    /// WebRTC connections alive now.
    pub fn webrtc_legs(&self) -> usize {
        self.shared.webrtc.len()
    }
}
