//! An inbound INVITE with `Replaces` (RFC 3891): the new dialog takes the
//! place of the one it names. The call keeps its id, session, media
//! endpoint and bridges; only its SIP peer changes, and the old dialog is
//! ended with BYE. This is the far end of an attended transfer done by a
//! phone (its REFER with Replaces sends the transferee here).

use std::time::Instant;

use dialtone_sip::{Body, LegId, UaCommand};

use crate::call::Phase;
use crate::sdp::{local_media, sdp_body, sdp_error_status, sdp_text};
use crate::CallCore;

impl CallCore {
    pub(crate) fn on_replacing(
        &mut self,
        _now: Instant,
        leg: LegId,
        old: LegId,
        body: Option<Body>,
    ) {
        let call = self.call_of_leg(old).and_then(|id| self.calls.get_mut(&id));
        let Some(call) = call.filter(|c| c.phase == Phase::Confirmed && c.local_rtp.is_some())
        else {
            self.refuse_leg(leg, 481);
            return;
        };
        let Some(offer) = sdp_text(body) else {
            // The new peer must say where its media goes: a Replaces INVITE
            // without an offer is refused rather than half-connected.
            tracing::info!(call = %call.id, "Replaces INVITE without an SDP offer refused");
            self.refuse_leg(leg, 488);
            return;
        };
        call.sdp_version += 1;
        let local = local_media(call);
        let (answer, n) = match dialtone_sdp::answer_offer_directed(&offer, &local, call.wish) {
            Ok(ok) => ok,
            Err(e) => {
                tracing::info!(call = %call.id, error = %e, "Replaces INVITE offer refused");
                let code = sdp_error_status(&e).0;
                self.refuse_leg(leg, code);
                return;
            }
        };
        let id = call.id;
        call.leg = leg;
        // Everything pending on the old dialog dies with it.
        call.reinvite_offer = None;
        call.our_reinvite = None;
        call.glare_retries = 0;
        call.reoffer = false;
        call.refer_pending = false;
        call.transferring = false;
        call.held_by_peer = !n.direction.sends();
        self.legs.remove(&old);
        self.legs.insert(leg, id);
        tracing::info!(call = %id, "call taken over by a Replaces INVITE");
        self.apply_negotiated(id, n);
        self.ua(UaCommand::Answer {
            leg,
            body: Some(sdp_body(answer)),
            headers: Vec::new(),
        });
        self.ua(UaCommand::Hangup {
            leg: old,
            headers: Vec::new(),
        });
    }

    fn refuse_leg(&mut self, leg: LegId, code: u16) {
        self.ua(UaCommand::Reject {
            leg,
            code,
            reason: None,
            headers: Vec::new(),
        });
    }
}
