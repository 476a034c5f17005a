//! One call leg as the call core sees it: its SIP phase, its media, its
//! VoxEngine state.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dialtone_core::messages::CallState;
use dialtone_core::{CallId, SessionId, UnitId};
use dialtone_sdp::{Direction, Negotiated};
use dialtone_sip::LegId;

/// Where the SIP side of a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Inbound INVITE received, no final response sent.
    Offered,
    /// Inbound: 200 sent, waiting for the ACK.
    Answering,
    /// Outbound: resolving the target host before the INVITE can go.
    Resolving,
    /// Outbound INVITE sent, no final response yet.
    Dialing,
    /// Dialog confirmed.
    Confirmed,
    /// BYE or CANCEL sent; waiting for the SIP layer to report the end.
    Ending,
}

impl Phase {
    /// Every phase, for tests that walk them all.
    pub const ALL: [Phase; 6] = [
        Phase::Offered,
        Phase::Answering,
        Phase::Resolving,
        Phase::Dialing,
        Phase::Confirmed,
        Phase::Ending,
    ];
}

#[derive(Debug)]
pub(crate) struct Call {
    pub id: CallId,
    pub leg: LegId,
    pub session: SessionId,
    pub incoming: bool,
    pub state: CallState,
    pub phase: Phase,
    /// The peer's SDP offer from the INVITE (inbound, early offer).
    pub remote_offer: Option<String>,
    /// Local RTP address (advertised IP, bound port), once media is allocated.
    pub local_rtp: Option<SocketAddr>,
    /// The leg speaks WebRTC (ICE, DTLS-SRTP, Opus): its SDP is written by
    /// the media layer's WebRTC stack.
    pub webrtc: bool,
    /// Our WebRTC offer to browser bindings while the call rings them (it
    /// is sent again, unchanged, to forks rung later).
    pub webrtc_offer: Option<String>,
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
    /// Digits still to go out as SIP INFO, one per timer tick.
    pub info_digits: VecDeque<char>,
    /// Hang up when the peer stops sending RTP (`hangupOnRtpTimeout`).
    pub rtp_hangup: bool,
    /// Bumped whenever RTP stops, resumes or the setting changes: an RTP
    /// hang-up timer of another generation finds nothing to do.
    pub rtp_silence: u32,
    /// Why the engine ended the call itself; the last event says so.
    pub end_note: Option<&'static str>,
    /// The peer has the call on hold: its last offer does not take our audio.
    pub held_by_peer: bool,
    /// The direction we want on this leg, offered in our re-INVITEs and the
    /// most our answers allow: `sendonly` while we hold the peer
    /// (`call.hold()`), or what a relayed re-INVITE asked for.
    pub wish: Direction,
    /// `ReInviteReceived` has a listener: the scenario answers re-INVITEs.
    pub handle_reinvites: bool,
    /// A peer's re-INVITE waiting for the scenario's answer: its offer
    /// (`None` for an offerless one).
    pub reinvite_offer: Option<Option<String>>,
    /// Our re-INVITE in flight, and why it was sent.
    pub our_reinvite: Option<OwnReInvite>,
    /// 491s our re-INVITE has met in a row (glare, RFC 3261 §14.1).
    pub glare_retries: u8,
    /// `hold()`/`unhold()` while a re-INVITE was in flight: another goes
    /// out once it is answered.
    pub reoffer: bool,
    /// `handleBlindTransfer(true)`: REFERs are the scenario's to carry out.
    pub handle_blind_transfer: bool,
    /// A REFER we accepted still waits for its final NOTIFY.
    pub refer_pending: bool,
    /// Our REFER (`transferTo`) has not reported its outcome yet.
    pub transferring: bool,
    /// `CallEvents.Statistics` has a listener.
    pub statistics: bool,
    /// `callUser`: the other legs still ringing besides `leg`.
    pub forks: Vec<LegId>,
    /// The index the next fork's leg would take (legs are never reused).
    pub next_fork: usize,
    /// The most telling failure of the forks that failed so far.
    pub fork_failure: Option<(u16, String)>,
    /// `callPSTN`: what was asked and the trunks still to try.
    pub trunks: Option<Box<crate::trunks::TrunkPlan>>,
}

/// Why we sent a re-INVITE: the answer goes back to the scenario, or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnReInvite {
    /// `call.reInvite(...)`: `ReInviteAccepted` or `ReInviteRejected` follows.
    Script { headers: Vec<(String, String)> },
    /// `call.hold()` / `call.unhold()`, or a retry of either.
    Hold,
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
            webrtc: false,
            webrtc_offer: None,
            negotiated: None,
            sdp_session: u64::from(rand::random::<u32>()),
            sdp_version: 1,
            connected_at: None,
            audio_started: false,
            early_answer: None,
            playback: None,
            recorders: Vec::new(),
            handle_tones: false,
            info_digits: VecDeque::new(),
            rtp_hangup: true,
            rtp_silence: 0,
            end_note: None,
            held_by_peer: false,
            wish: Direction::SendRecv,
            handle_reinvites: false,
            reinvite_offer: None,
            our_reinvite: None,
            glare_retries: 0,
            reoffer: false,
            handle_blind_transfer: false,
            refer_pending: false,
            transferring: false,
            statistics: false,
            forks: Vec::new(),
            next_fork: 0,
            fork_failure: None,
            trunks: None,
        }
    }

    pub fn unit(&self) -> UnitId {
        UnitId(self.id.0)
    }

    pub fn duration(&self, now: Instant) -> Duration {
        self.connected_at
            .map(|t| now.saturating_duration_since(t))
            .unwrap_or_default()
    }

    /// On hold either way: no RTP is expected from the peer.
    pub fn on_hold(&self) -> bool {
        self.held_by_peer || !self.wish.receives()
    }

    /// The call is an inbound call with no final response yet.
    pub fn is_unanswered_inbound(&self) -> bool {
        self.incoming && self.phase == Phase::Offered
    }
}
