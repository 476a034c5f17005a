//! Inbound legs: an INVITE becomes a call and a session, and the script
//! rings, answers, rejects or starts early media on it.

use std::net::SocketAddr;
use std::time::Instant;

use dialtone_core::messages::{CallEvent, CallState, Headers, IncomingCall, SessionEvent};
use dialtone_core::{CallId, SessionId};
use dialtone_sip::{Body, LegId, UaCommand};

use crate::admission::AdmissionError;
use crate::call::{Call, Phase};
use crate::codes;
use crate::headers::custom_only;
use crate::io::{Direction, Fact};
use crate::register::AuthOutcome;
use crate::sdp::{is_sdp, local_media, sdp_body, sdp_error_status, sdp_text};
use crate::services::{InboundInfo, Route};
use crate::CallCore;

/// What an INVITE carries that the call core uses.
pub(crate) struct IncomingSip {
    pub source: SocketAddr,
    pub transport: dialtone_sip::Transport,
    pub request_uri: String,
    pub destination: String,
    pub from_uri: String,
    pub from_user: String,
    pub from_display: Option<String>,
    pub to_uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
}

impl CallCore {
    pub(crate) fn on_incoming(&mut self, now: Instant, leg: LegId, mut sip: IncomingSip) {
        self.fact(Fact::CallAttempt(Direction::Inbound));
        if let Some(did) = self.registered_trunk_did(&sip) {
            sip.destination = did;
        }
        if let Err(e) = self.admit_counted(now) {
            return self.refuse_unavailable(leg, &e);
        }
        let offer = match &sip.body {
            Some(b) if is_sdp(b) => match std::str::from_utf8(&b.data) {
                Ok(s) => Some(s.to_string()),
                Err(_) => return self.refuse(leg, codes::BAD_REQUEST, "SDP Is Not UTF-8"),
            },
            Some(b) if b.data.is_empty() => None,
            Some(_) => {
                let code = codes::UNSUPPORTED_MEDIA_TYPE;
                return self.refuse(leg, code, codes::reason(code));
            }
            None => None,
        };
        if let Some(offer) = &offer {
            // Refuse what we could never answer before a session is spent on it.
            // A browser's offer is answered by the WebRTC stack at answer time.
            let probe = if dialtone_sdp::is_webrtc(offer) {
                dialtone_sdp::check_webrtc_offer(offer)
            } else {
                dialtone_sdp::answer_offer(offer, &self.probe_media()).map(|_| ())
            };
            if let Err(e) = probe {
                let (code, reason) = sdp_error_status(&e);
                tracing::info!(leg, source = %sip.source, error = %e, "INVITE offer refused");
                return self.refuse(leg, code, reason);
            }
        }
        let info = InboundInfo {
            request_uri: &sip.request_uri,
            destination: &sip.destination,
            from_user: &sip.from_user,
            from_uri: &sip.from_uri,
            to_uri: &sip.to_uri,
            headers: &sip.headers,
            source: sip.source,
        };
        let route = match self.caller_user(&sip) {
            // A call from one of our users: only with its password, and
            // then by its application's rules.
            Some(user) => {
                let credentials: Vec<String> = sip
                    .headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case("Proxy-Authorization"))
                    .map(|(_, v)| v.clone())
                    .collect();
                let outcome = self.authenticate(
                    now,
                    sip.source.ip(),
                    "INVITE",
                    &credentials,
                    &user.name,
                    Some(&user),
                    &user.realm,
                );
                match outcome {
                    AuthOutcome::Authorized => self.services.route_user(&user, &info),
                    AuthOutcome::Challenge { stale } => {
                        let headers = self
                            .challenges(now, &user.realm, stale, sip.transport)
                            .into_iter()
                            .map(|c| ("Proxy-Authenticate".to_string(), c))
                            .collect();
                        self.ua(UaCommand::Reject {
                            leg,
                            code: 407,
                            reason: None,
                            headers,
                        });
                        self.fact(Fact::InviteRefused { code: 407 });
                        return;
                    }
                    AuthOutcome::Forbidden => {
                        tracing::info!(leg, source = %sip.source, user = %user.name, "INVITE refused: wrong credentials");
                        return self.refuse(leg, 403, "Forbidden");
                    }
                }
            }
            None => self.services.route(&info),
        };
        let (scenario, custom_data, owner) = match route {
            Route::Session {
                scenario,
                custom_data,
                owner,
            } => (scenario, custom_data, owner),
            Route::Reject { code, reason } => return self.refuse(leg, code, &reason),
        };
        if let Err(e) = self.admit_owner_counted(owner.as_ref().map(|o| o.account.as_str())) {
            return self.refuse_unavailable(leg, &e);
        }
        let session = SessionId::new();
        let id = CallId::next();
        let mut call = Call::new(id, leg, session, true);
        call.remote_offer = offer;
        tracing::debug!(%session, call = %id, leg, source = %sip.source, destination = %sip.destination, "inbound call");
        let first = SessionEvent::CallAlerting(IncomingCall {
            call: id,
            callerid: sip.from_user.clone(),
            destination: sip.destination.clone(),
            display_name: sip.from_display.unwrap_or_default(),
            from_uri: sip.from_uri,
            to_uri: sip.to_uri,
            headers: custom_only(&sip.headers),
        });
        self.calls.insert(id, call);
        self.legs.insert(leg, id);
        let max_forwards = crate::limits::max_forwards_of(&sip.headers);
        self.spawn(session, scenario, custom_data, owner, Some(first), vec![id]);
        if let Some(entry) = self.sessions.get_mut(&session) {
            // Legs this session dials count as hops of this INVITE.
            entry.max_forwards = max_forwards.saturating_sub(1);
        }
        self.arm_no_answer(now, id);
        self.fact(Fact::CallStarted {
            session,
            call: id,
            direction: Direction::Inbound,
            from: sip.from_user,
            to: sip.destination,
        });
    }

    /// The user of ours the INVITE's From names, if any.
    fn caller_user(&self, sip: &IncomingSip) -> Option<std::sync::Arc<crate::UserAuth>> {
        let (user, domain) = crate::register::address_of_record(&sip.from_uri)?;
        self.services.user(&domain, &user)
    }

    /// A final response to an INVITE that never became a call.
    /// 503 with the Retry-After the refusal asks for.
    fn refuse_unavailable(&mut self, leg: LegId, why: &AdmissionError) {
        tracing::debug!(leg, reason = %why, "INVITE refused with 503");
        let code = codes::UNAVAILABLE;
        self.ua(UaCommand::Reject {
            leg,
            code,
            reason: Some(codes::reason(code).to_string()),
            headers: vec![("Retry-After".to_string(), why.retry_after().to_string())],
        });
        self.fact(Fact::InviteRefused { code });
    }

    fn refuse(&mut self, leg: LegId, code: u16, reason: &str) {
        self.ua(UaCommand::Reject {
            leg,
            code,
            reason: Some(reason.to_string()),
            headers: Vec::new(),
        });
        self.fact(Fact::InviteRefused { code });
    }

    pub(crate) fn answer(
        &mut self,
        now: Instant,
        session: SessionId,
        id: CallId,
        headers: Headers,
    ) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        if !call.is_unanswered_inbound() {
            tracing::warn!(%session, call = %id, "answer ignored: the call is not an unanswered inbound call");
            return;
        }
        let leg = call.leg;
        if let Err(e) = self.ensure_rtp(id) {
            tracing::error!(call = %id, error = %e, "no media port for the call");
            let code = codes::UNAVAILABLE;
            self.refuse_call(now, id, code, Some("No Media Port"), Vec::new());
            return;
        }
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let body = match (call.early_answer.clone(), call.remote_offer.clone()) {
            (Some(answer), _) => answer,
            (None, Some(offer)) => {
                match self.answer_sdp(id, &offer, dialtone_sdp::Direction::SendRecv) {
                    Ok((answer, n)) => {
                        self.apply_negotiated(id, n);
                        answer
                    }
                    Err((code, reason)) => {
                        self.refuse_call(now, id, code, Some(reason), Vec::new());
                        return;
                    }
                }
            }
            // A late offer: ours goes in the 200, the answer comes in the ACK.
            (None, None) => dialtone_sdp::make_offer(&local_media(call)),
        };
        if let Some(call) = self.calls.get_mut(&id) {
            call.phase = Phase::Answering;
        }
        self.ua(UaCommand::Answer {
            leg,
            body: Some(sdp_body(body)),
            headers,
        });
    }

    pub(crate) fn reject(
        &mut self,
        now: Instant,
        session: SessionId,
        id: CallId,
        code: u16,
        headers: Headers,
    ) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        if !call.is_unanswered_inbound() {
            tracing::warn!(%session, call = %id, "reject ignored: the call is not an unanswered inbound call");
            return;
        }
        self.refuse_call(now, id, codes::reject_code(code), None, headers);
    }

    /// 180 Ringing to an unanswered inbound call.
    pub(crate) fn ring(&mut self, session: SessionId, id: CallId, headers: Headers) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        if call.is_unanswered_inbound() {
            let leg = call.leg;
            self.ua(UaCommand::Provisional {
                leg,
                code: 180,
                body: None,
                headers,
            });
        }
    }

    /// 183 with our SDP answer: media flows before the call is answered.
    pub(crate) fn early_media(&mut self, session: SessionId, id: CallId, headers: Headers) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        if !call.is_unanswered_inbound() || call.early_answer.is_some() {
            return;
        }
        let Some(offer) = call.remote_offer.clone() else {
            tracing::warn!(call = %id, "startEarlyMedia needs an SDP offer in the INVITE");
            return;
        };
        let leg = call.leg;
        if let Err(e) = self.ensure_rtp(id) {
            tracing::error!(call = %id, error = %e, "no media port for early media");
            return;
        }
        match self.answer_sdp(id, &offer, dialtone_sdp::Direction::SendRecv) {
            Ok((answer, n)) => {
                self.apply_negotiated(id, n);
                if let Some(call) = self.calls.get_mut(&id) {
                    call.early_answer = Some(answer.clone());
                }
                self.ua(UaCommand::Provisional {
                    leg,
                    code: 183,
                    body: Some(sdp_body(answer)),
                    headers,
                });
                self.set_state(id, CallState::Progressing);
                self.audio_started(id, Vec::new());
            }
            Err((code, _)) => tracing::warn!(call = %id, code, "early media refused"),
        }
    }

    /// The ACK for our 200: the call is connected (with the answer to a late
    /// offer, if we made one).
    pub(crate) fn on_acked(&mut self, now: Instant, leg: LegId, body: Option<Body>) {
        let Some(id) = self.call_of_leg(leg) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.phase != Phase::Answering {
            return;
        }
        if call.negotiated.is_none() {
            // Late offer: our offer went in the 200, the answer comes in the ACK.
            let local = local_media(call);
            let negotiated = sdp_text(body)
                .ok_or_else(|| "no SDP answer in ACK".to_string())
                .and_then(|a| dialtone_sdp::accept_answer(&a, &local).map_err(|e| e.to_string()));
            match negotiated {
                Ok(n) => self.apply_negotiated(id, n),
                Err(e) => {
                    tracing::warn!(call = %id, error = %e, "late-offer answer unusable; hanging up");
                    call.phase = Phase::Ending;
                    self.ua(UaCommand::Hangup {
                        leg,
                        headers: Vec::new(),
                    });
                    return;
                }
            }
        }
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.phase = Phase::Confirmed;
        call.connected_at = Some(now);
        let session = call.session;
        self.fact(Fact::CallAnswered { call: id });
        self.arm_max_duration(now, id);
        self.emit(
            session,
            id,
            CallEvent::Connected {
                headers: Vec::new(),
            },
        );
        self.set_state(id, CallState::Connected);
        self.audio_started(id, Vec::new());
    }
}
