//! One call leg as the call layer sees it: its SIP phase, its media, its
//! VoxEngine state.

use dialtone_core::messages::CallState;
use dialtone_core::{CallId, SessionId, UnitId};
use dialtone_sdp::Negotiated;
use dialtone_sip::LegId;
use std::net::SocketAddr;
use std::time::Instant;

/// Where the SIP side of a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Inbound INVITE received, no final response sent.
    Offered,
    /// Inbound: 200 sent, waiting for the ACK.
    Answering,
    /// Outbound INVITE sent, no final response yet.
    Dialing,
    /// Resolving the target host before the INVITE can go.
    Resolving,
    /// Dialog confirmed.
    Confirmed,
    /// BYE/CANCEL/final error sent; waiting for the SIP layer to finish.
    Ending,
}

#[derive(Debug)]
pub struct Call {
    pub id: CallId,
    pub leg: LegId,
    pub session: SessionId,
    pub incoming: bool,
    pub state: CallState,
    pub phase: Phase,
    /// The peer's SDP offer from the INVITE (inbound, early offer).
    pub remote_offer: Option<String>,
    /// Local RTP address, once media is allocated.
    pub local_rtp: Option<SocketAddr>,
    pub negotiated: Option<Negotiated>,
    /// SDP o= session id and version we use for this leg.
    pub sdp_session: u64,
    pub sdp_version: u64,
    pub connected_at: Option<Instant>,
    pub audio_started: bool,
    /// An early-offer answer already went out in a 183 (inbound).
    pub early_answer: Option<String>,
    /// The player unit of the call's current playback (`startPlayback`, `say`…).
    pub playback: Option<UnitId>,
    /// Recorders tapping this call (`record()`).
    pub recorders: Vec<UnitId>,
    /// `handleTones(true)`: DTMF becomes `ToneReceived`.
    pub handle_tones: bool,
}

impl Call {
    pub fn new(id: CallId, leg: LegId, session: SessionId, incoming: bool) -> Call {
        Call {
            id,
            leg,
            session,
            incoming,
            state: if incoming {
                CallState::Alerting
            } else {
                CallState::Progressing
            },
            phase: if incoming {
                Phase::Offered
            } else {
                Phase::Resolving
            },
            remote_offer: None,
            local_rtp: None,
            negotiated: None,
            sdp_session: rand::random::<u32>() as u64,
            sdp_version: 1,
            connected_at: None,
            audio_started: false,
            early_answer: None,
            playback: None,
            recorders: Vec::new(),
            handle_tones: false,
        }
    }

    pub fn duration(&self, now: Instant) -> std::time::Duration {
        self.connected_at
            .map(|t| now.saturating_duration_since(t))
            .unwrap_or_default()
    }
}
