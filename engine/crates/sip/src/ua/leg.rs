//! Per-leg state the user-agent core keeps between messages.

use std::time::Instant;

use super::session_timer::{SessionExpires, SessionTimer};
use super::tx_table::TxId;
use super::types::{ExtraHeaders, Peer};
use crate::auth::Credentials;
use crate::dialog::Dialog;
use crate::message::SipMessage;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Inbound,
    Outbound,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LegState {
    /// Inbound INVITE without a final response yet.
    Ringing,
    /// Our 2xx is sent; the ACK has not arrived.
    AwaitingAck,
    /// Outbound INVITE sent, no provisional response yet.
    Calling,
    /// Outbound INVITE has a provisional response (100 included): CANCEL allowed.
    Early,
    Confirmed,
    /// Our BYE is in flight.
    Closing,
}

/// An in-dialog INVITE from the peer that the call layer has to answer.
#[derive(Debug)]
pub(crate) struct PendingReInvite {
    pub tx: TxId,
    /// The request, body removed, to build the answer from.
    pub request: SipMessage,
    pub seq: u32,
    /// 2xx sent; waiting for its ACK.
    pub answered: bool,
    /// An UPDATE (RFC 3311): answered on its non-INVITE transaction, no ACK.
    pub update: bool,
}

#[derive(Debug)]
pub(crate) struct Leg {
    pub direction: Direction,
    pub state: LegState,
    /// Where the INVITE came from (inbound) or went to (outbound).
    pub peer: Peer,
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: Option<String>,
    /// Inbound legs have it from the start, outbound ones from the 2xx.
    pub dialog: Option<Dialog>,
    /// The current INVITE transaction: server for inbound, client for outbound.
    pub invite_tx: TxId,
    pub invite_seq: u32,
    /// Inbound: the INVITE (body removed) to build responses from, until answered.
    pub request: Option<SipMessage>,
    /// Highest CSeq the peer used in the dialog.
    pub remote_seq: Option<u32>,
    pub reinvite: Option<PendingReInvite>,
    /// Our own re-INVITE, until its final response, and when we give up
    /// on it (a peer that answered 1xx may never send a final response, and
    /// Timer B stops at the first 1xx).
    pub our_reinvite: Option<TxId>,
    pub reinvite_deadline: Option<Instant>,
    /// Inbound: the session interval the INVITE asked for, and whether its
    /// sender supports timers; applied when we answer.
    pub asked_expires: Option<(SessionExpires, bool)>,
    /// The dialog's session timer (RFC 4028), once negotiated.
    pub session_timer: Option<SessionTimer>,
    /// The peer's REFER waiting for `AnswerRefer`: its transaction and the
    /// request to answer.
    pub pending_refer: Option<(TxId, SipMessage)>,
    /// NOTIFYs of an accepted REFER go out (no `Refer-Sub: false`).
    pub refer_subscription: bool,
    /// Hangup asked for but not yet carried out: outbound, waiting for a
    /// provisional to CANCEL or a 2xx to BYE; inbound, waiting for the ACK.
    pub hangup: Option<ExtraHeaders>,
    pub cancel_sent: bool,
    /// A CANCEL was refused once (it overtook its INVITE) and was sent again.
    pub cancel_retried: bool,
    pub auth: Option<Credentials>,
    /// Nonces already answered, so a rejected answer is not retried forever.
    pub answered_nonces: Vec<String>,
    /// The INVITE went again after a 422 (once at most).
    pub min_se_retried: bool,
    /// Fingerprint of the last provisional reported, to drop repeats.
    pub last_provisional: Option<u64>,
    /// Gives up on the INVITE 64·T1 after our CANCEL (§9.1).
    pub deadline: Option<Instant>,
}

impl Leg {
    pub fn new(
        direction: Direction,
        state: LegState,
        peer: Peer,
        call_id: String,
        local_tag: String,
        invite_tx: TxId,
        invite_seq: u32,
    ) -> Leg {
        Leg {
            direction,
            state,
            peer,
            call_id,
            local_tag,
            remote_tag: None,
            dialog: None,
            invite_tx,
            invite_seq,
            request: None,
            remote_seq: None,
            reinvite: None,
            our_reinvite: None,
            reinvite_deadline: None,
            asked_expires: None,
            session_timer: None,
            pending_refer: None,
            refer_subscription: false,
            hangup: None,
            cancel_sent: false,
            cancel_retried: false,
            auth: None,
            answered_nonces: Vec::new(),
            min_se_retried: false,
            last_provisional: None,
            deadline: None,
        }
    }

    /// Whether the INVITE dialog is established from our side's point of view.
    pub fn is_established(&self) -> bool {
        matches!(
            self.state,
            LegState::AwaitingAck | LegState::Confirmed | LegState::Closing
        )
    }
}
