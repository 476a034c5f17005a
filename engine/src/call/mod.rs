//! The call layer: turns SIP leg events into VoxEngine call events for
//! sessions, and session commands into SIP and media actions. It runs inside
//! the signalling task and owns the table of calls and live sessions.

pub mod control;
mod headers;
mod media;
mod net;
mod state;
pub mod target;
mod units;

use crate::history::Direction;
use crate::routing::{InboundInfo, InboundRouter, Route, RouteOwner};
use control::{Control, ControlError, LiveCall, LiveSession, StartRequest, StartedSession};
use dialtone_core::messages::{
    CallEvent, CallState, Headers, IncomingCall, OutboundCall, SessionCommand, SessionEnd,
    SessionEvent,
};
use dialtone_core::{CallId, SessionId, UnitId};
use dialtone_media::{MediaEngine, MediaEvent};
use dialtone_script::{ScriptHost, SessionSpec};
use dialtone_sip::{Body, LegId, Peer, UaCommand, UaCore, UaEvent};
use state::{Call, Phase};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;
use target::Target;
use tokio::sync::mpsc;

pub use headers::{custom_only, sanitize};
pub use units::UnitsEnv;

/// Results of work the call layer started off the signalling task (DNS,
/// loading audio, paced SIP INFO digits), fed back into it in order.
pub enum Internal {
    Resolved {
        call: CallId,
        result: Result<SocketAddr, String>,
    },
    Loaded {
        unit: UnitId,
        result: Result<dialtone_media::PlayerMedia, String>,
    },
    InfoDigit {
        call: CallId,
        digit: char,
    },
}

struct SessionEntry {
    events: dialtone_core::messages::EventSender,
    calls: Vec<CallId>,
    owner: Option<RouteOwner>,
    scenario: String,
    /// Milliseconds since the epoch.
    started_at: i64,
    /// The secret part of the session's `accessURL`.
    access_token: String,
    terminating: bool,
}

pub struct CallLayer {
    media: MediaEngine,
    media_workers: usize,
    host: ScriptHost,
    router: Arc<dyn InboundRouter>,
    /// The address we put in SDP and use for RTP.
    media_ip: IpAddr,
    calls: HashMap<CallId, Call>,
    legs: HashMap<LegId, CallId>,
    sessions: HashMap<SessionId, SessionEntry>,
    /// Outbound calls waiting for their target to resolve.
    pending: HashMap<CallId, (Box<OutboundCall>, Target)>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    env: UnitsEnv,
    /// Players and recorders, by unit (calls are in `calls`).
    units: HashMap<UnitId, units::Unit>,
    /// Shutting down: no new calls or sessions.
    closed: bool,
    /// Live sessions at most (`None`: no limit).
    max_sessions: Option<usize>,
}

impl CallLayer {
    pub fn new(
        media: MediaEngine,
        media_workers: usize,
        host: ScriptHost,
        router: Arc<dyn InboundRouter>,
        media_ip: IpAddr,
        internal_tx: mpsc::UnboundedSender<Internal>,
        env: UnitsEnv,
    ) -> CallLayer {
        CallLayer {
            media,
            media_workers,
            host,
            router,
            media_ip,
            calls: HashMap::new(),
            legs: HashMap::new(),
            sessions: HashMap::new(),
            pending: HashMap::new(),
            internal_tx,
            env,
            units: HashMap::new(),
            closed: false,
            max_sessions: None,
        }
    }

    /// Past `max` live sessions, new INVITEs and REST sessions get 503.
    pub fn with_session_limit(mut self, max: Option<usize>) -> CallLayer {
        self.max_sessions = max;
        self
    }

    pub fn live_calls(&self) -> usize {
        self.calls.len()
    }

    pub fn live_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Asks every live session to end (process shutdown).
    pub fn terminate_all(&mut self, reason: &str) {
        self.closed = true;
        for s in self.sessions.values_mut() {
            s.terminating = true;
            let _ = s.events.send(SessionEvent::Terminate {
                reason: reason.to_string(),
            });
        }
    }

    // ---- SIP side -------------------------------------------------------

    pub fn on_ua_event(&mut self, ua: &mut UaCore, now: Instant, ev: UaEvent) {
        match ev {
            UaEvent::Incoming {
                leg,
                request_uri: _,
                destination,
                from_uri,
                from_user,
                from_display,
                to_uri,
                headers,
                body,
                source,
            } => {
                self.on_incoming(
                    ua,
                    leg,
                    source,
                    IncomingSip {
                        destination,
                        from_uri,
                        from_user,
                        from_display,
                        to_uri,
                        headers,
                        body,
                    },
                );
            }
            UaEvent::Cancelled { leg } => {
                if let Some(id) = self.legs.get(&leg).copied() {
                    self.finish(
                        id,
                        now,
                        CallEvent::Disconnected {
                            code: 487,
                            reason: "Request Terminated".into(),
                            duration: Default::default(),
                            headers: Vec::new(),
                        },
                    );
                }
            }
            UaEvent::Acked { leg, body } => self.on_acked(ua, now, leg, body),
            UaEvent::Provisional {
                leg,
                code,
                reason: _,
                body,
                headers,
            } => self.on_provisional(ua, leg, code, body, headers),
            UaEvent::Answered { leg, body, headers } => {
                self.on_answered(ua, now, leg, body, headers)
            }
            UaEvent::Failed {
                leg,
                code,
                reason,
                headers,
            } => {
                if let Some(id) = self.legs.get(&leg).copied() {
                    let headers = custom_only(&headers);
                    self.finish(
                        id,
                        now,
                        CallEvent::Failed {
                            code,
                            reason,
                            headers,
                        },
                    );
                }
            }
            UaEvent::ReInvite { leg, body } => self.on_reinvite(ua, leg, body),
            UaEvent::Info {
                leg,
                content_type,
                body,
                ..
            } => self.on_info(leg, &content_type, &body),
            UaEvent::Terminated {
                leg,
                by_remote: _,
                code,
                reason,
                headers,
            } => {
                if let Some(id) = self.legs.get(&leg).copied() {
                    let duration = self
                        .calls
                        .get(&id)
                        .map(|c| c.duration(now))
                        .unwrap_or_default();
                    let headers = custom_only(&headers);
                    self.finish(
                        id,
                        now,
                        CallEvent::Disconnected {
                            code,
                            reason,
                            duration,
                            headers,
                        },
                    );
                }
            }
        }
    }

    fn on_incoming(&mut self, ua: &mut UaCore, leg: LegId, source: Peer, sip: IncomingSip) {
        self.env.metrics.call_started(Direction::Inbound);
        let reject = |ua: &mut UaCore, code: u16, reason: &str| {
            ua_reject(ua, leg, code, reason);
            self.env.metrics.call_failed(code);
        };
        if let Err(e) = self.admit() {
            tracing::debug!(leg, reason = %e, "INVITE refused with 503");
            return reject(ua, 503, "Service Unavailable");
        }
        let offer = match &sip.body {
            Some(b) if is_sdp(b) => match std::str::from_utf8(&b.data) {
                Ok(s) => Some(s.to_string()),
                Err(_) => return reject(ua, 400, "SDP Is Not UTF-8"),
            },
            Some(b) if b.data.is_empty() => None,
            Some(_) => return reject(ua, 415, "Unsupported Media Type"),
            None => None,
        };
        if let Some(offer) = &offer {
            // Refuse what we could never answer before a session is spent on it.
            if let Err(e) = dialtone_sdp::answer_offer(offer, &self.probe_media()) {
                let (code, reason) = media::sdp_error_status(&e);
                tracing::info!(leg, source = %source.addr, error = %e, "INVITE offer refused");
                return reject(ua, code, reason);
            }
        }
        let info = InboundInfo {
            destination: &sip.destination,
            from_user: &sip.from_user,
            from_uri: &sip.from_uri,
            to_uri: &sip.to_uri,
            headers: &sip.headers,
        };
        let (scenario, custom_data, owner) = match self.router.route(&info) {
            Route::Session {
                scenario,
                custom_data,
                owner,
            } => (scenario, custom_data, owner),
            Route::Reject { code, reason } => return reject(ua, code, &reason),
        };
        let session = SessionId::new();
        let id = CallId::next();
        let mut call = Call::new(id, leg, session, true);
        call.remote_offer = offer;
        tracing::debug!(%session, call = %id, leg, source = %source.addr, destination = %sip.destination, "inbound call");
        if let Some(owner) = &owner {
            self.env.history.session_started(session, owner);
            self.env.history.call_started(
                session,
                id,
                Direction::Inbound,
                &sip.from_user,
                &sip.destination,
            );
        }
        let first = SessionEvent::CallAlerting(IncomingCall {
            call: id,
            callerid: sip.from_user,
            destination: sip.destination,
            display_name: sip.from_display.unwrap_or_default(),
            from_uri: sip.from_uri,
            to_uri: sip.to_uri,
            headers: custom_only(&sip.headers),
        });
        self.calls.insert(id, call);
        self.env.metrics.set_live_calls(self.calls.len());
        self.legs.insert(leg, id);
        self.spawn(session, scenario, custom_data, owner, Some(first), vec![id]);
    }

    /// Starts a session and enters it in the table.
    fn spawn(
        &mut self,
        session: SessionId,
        scenario: Arc<dialtone_script::Scenario>,
        custom_data: String,
        owner: Option<RouteOwner>,
        first_event: Option<SessionEvent>,
        calls: Vec<CallId>,
    ) -> StartedSession {
        let access_token = control::new_access_token();
        let access_url = self.access_url(session, &access_token);
        let name = scenario.name.clone();
        let events = self.host.spawn_session(SessionSpec {
            id: session,
            scenario,
            custom_data,
            first_event,
            access_url: access_url.clone(),
        });
        let started_at = dialtone_store::now_ms();
        self.sessions.insert(
            session,
            SessionEntry {
                events,
                calls,
                owner,
                scenario: name,
                started_at,
                access_token,
                terminating: false,
            },
        );
        self.env.metrics.session_started();
        StartedSession {
            id: session,
            access_url,
            started_at,
        }
    }

    /// Whether a new session (an INVITE's or a REST one) may start: not
    /// while shutting down, while history is behind, or at the session limit.
    fn admit(&self) -> Result<(), ControlError> {
        if self.closed {
            return Err(ControlError::ShuttingDown);
        }
        if self.env.history.congested() {
            return Err(ControlError::Overloaded);
        }
        match self.max_sessions {
            Some(max) if self.sessions.len() >= max => Err(ControlError::SessionLimit(max)),
            _ => Ok(()),
        }
    }

    fn access_url(&self, session: SessionId, token: &str) -> String {
        format!("{}/{session}/{token}", self.env.access_base)
    }

    // ---- control (REST, accessURL) --------------------------------------

    pub fn on_control(&mut self, msg: Control) {
        match msg {
            Control::Start { request, reply } => {
                let _ = reply.send(self.start_session(request));
            }
            Control::List { account, reply } => {
                let list = self
                    .sessions
                    .iter()
                    .filter(|(_, s)| owned_by(s, account.as_deref()))
                    .map(|(id, s)| self.live_view(*id, s))
                    .collect();
                let _ = reply.send(list);
            }
            Control::Get { session, reply } => {
                let view = self
                    .sessions
                    .get(&session)
                    .map(|s| self.live_view(session, s));
                let _ = reply.send(view);
            }
            Control::Terminate {
                session,
                account,
                reply,
            } => {
                let found = match self.sessions.get_mut(&session) {
                    Some(s) if owned_by(s, account.as_deref()) => {
                        s.terminating = true;
                        let _ = s.events.send(SessionEvent::Terminate {
                            reason: "terminated through the REST API".into(),
                        });
                        true
                    }
                    _ => false,
                };
                let _ = reply.send(found);
            }
            Control::Access {
                session,
                token,
                request,
            } => match self.sessions.get(&session) {
                Some(s) if control::token_matches(&s.access_token, &token) => {
                    // A session that is gone drops the request: the client
                    // learns it ended.
                    let _ = s.events.send(SessionEvent::Access(request));
                }
                _ => {
                    request.reply.send(control::not_found());
                }
            },
        }
    }

    fn start_session(&mut self, request: StartRequest) -> Result<StartedSession, ControlError> {
        self.admit()?;
        let session = SessionId::new();
        if let Some(owner) = &request.owner {
            self.env.history.session_started(session, owner);
        }
        tracing::debug!(%session, scenario = %request.scenario.name, "session started without a call");
        Ok(self.spawn(
            session,
            request.scenario,
            request.custom_data,
            request.owner,
            None,
            Vec::new(),
        ))
    }

    fn live_view(&self, id: SessionId, s: &SessionEntry) -> LiveSession {
        LiveSession {
            id,
            owner: s.owner.clone(),
            scenario: s.scenario.clone(),
            started_at: s.started_at,
            terminating: s.terminating,
            access_url: self.access_url(id, &s.access_token),
            calls: s
                .calls
                .iter()
                .filter_map(|c| self.calls.get(c))
                .map(|c| LiveCall {
                    id: c.id,
                    incoming: c.incoming,
                    state: c.state,
                })
                .collect(),
        }
    }

    fn on_acked(&mut self, ua: &mut UaCore, now: Instant, leg: LegId, body: Option<Body>) {
        let Some((id, call)) = call_of_leg(&self.legs, &mut self.calls, leg) else {
            return;
        };
        if call.phase != Phase::Answering {
            return;
        }
        if call.negotiated.is_none() {
            // Late offer: our offer went in the 200, the answer comes in the ACK.
            let answer = sdp_text(body);
            let negotiated = answer
                .ok_or_else(|| "no SDP answer in ACK".to_string())
                .and_then(|a| {
                    dialtone_sdp::accept_answer(&a, &media::local_media(call))
                        .map_err(|e| e.to_string())
                });
            match negotiated {
                Ok(n) => media::apply(&self.media, call, n),
                Err(e) => {
                    tracing::warn!(call = %id, error = %e, "late-offer answer unusable; hanging up");
                    call.phase = Phase::Ending;
                    ua.handle_command(
                        now,
                        UaCommand::Hangup {
                            leg,
                            headers: Vec::new(),
                        },
                    );
                    return;
                }
            }
        }
        call.phase = Phase::Confirmed;
        call.connected_at = Some(now);
        self.env.history.call_answered(id);
        let session = call.session;
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

    fn on_provisional(
        &mut self,
        _ua: &mut UaCore,
        leg: LegId,
        code: u16,
        body: Option<Body>,
        headers: Vec<(String, String)>,
    ) {
        let Some((id, call)) = call_of_leg(&self.legs, &mut self.calls, leg) else {
            return;
        };
        if call.incoming || call.phase != Phase::Dialing {
            return;
        }
        let session = call.session;
        let headers = custom_only(&headers);
        let mut early = false;
        if let Some(sdp) = sdp_text(body) {
            if call.negotiated.is_none() {
                match dialtone_sdp::accept_answer(&sdp, &media::local_media(call)) {
                    Ok(n) => {
                        media::apply(&self.media, call, n);
                        early = true;
                    }
                    Err(e) => tracing::warn!(call = %id, error = %e, "early-media SDP unusable"),
                }
            }
        }
        if code == 180 || code == 183 || code == 181 || code == 182 {
            self.emit(
                session,
                id,
                CallEvent::Ringing {
                    headers: headers.clone(),
                },
            );
        }
        if early {
            self.audio_started(id, headers);
        }
    }

    fn on_answered(
        &mut self,
        ua: &mut UaCore,
        now: Instant,
        leg: LegId,
        body: Option<Body>,
        headers: Vec<(String, String)>,
    ) {
        let Some((id, call)) = call_of_leg(&self.legs, &mut self.calls, leg) else {
            return;
        };
        if call.phase != Phase::Dialing {
            return;
        }
        let headers = custom_only(&headers);
        if let Some(sdp) = sdp_text(body) {
            // A 200 may carry a different answer than the 183 did; the 200 wins.
            match dialtone_sdp::accept_answer(&sdp, &media::local_media(call)) {
                Ok(n) => media::apply(&self.media, call, n),
                Err(e) if call.negotiated.is_none() => {
                    tracing::warn!(call = %id, error = %e, "answer SDP unusable; hanging up");
                    call.phase = Phase::Ending;
                    ua.handle_command(
                        now,
                        UaCommand::Hangup {
                            leg,
                            headers: Vec::new(),
                        },
                    );
                    return;
                }
                Err(e) => {
                    tracing::warn!(call = %id, error = %e, "200 SDP unusable; keeping the early-media answer")
                }
            }
        } else if call.negotiated.is_none() {
            tracing::warn!(call = %id, "200 without SDP answer; hanging up");
            call.phase = Phase::Ending;
            ua.handle_command(
                now,
                UaCommand::Hangup {
                    leg,
                    headers: Vec::new(),
                },
            );
            return;
        }
        call.phase = Phase::Confirmed;
        call.connected_at = Some(now);
        self.env.history.call_answered(id);
        let session = call.session;
        self.audio_started(id, headers.clone());
        self.emit(session, id, CallEvent::Connected { headers });
        self.set_state(id, CallState::Connected);
    }

    fn on_reinvite(&mut self, ua: &mut UaCore, leg: LegId, body: Option<Body>) {
        let now = Instant::now();
        let Some(id) = self.legs.get(&leg).copied() else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            ua.handle_command(
                now,
                UaCommand::AnswerReInvite {
                    leg,
                    code: 481,
                    body: None,
                },
            );
            return;
        };
        if call.local_rtp.is_none() {
            ua.handle_command(
                now,
                UaCommand::AnswerReInvite {
                    leg,
                    code: 488,
                    body: None,
                },
            );
            return;
        }
        call.sdp_version += 1;
        let local = media::local_media(call);
        let offer = sdp_text(body);
        let (code, answer) = match offer {
            Some(offer) => match dialtone_sdp::answer_offer(&offer, &local) {
                Ok((answer, n)) => {
                    media::apply(&self.media, call, n);
                    (200, Some(answer))
                }
                Err(e) => {
                    tracing::info!(call = %id, error = %e, "re-INVITE offer refused");
                    (media::sdp_error_status(&e).0, None)
                }
            },
            // An offerless re-INVITE: offer what we have (the answer in the ACK is not needed
            // because nothing changed on our side).
            None => (200, Some(dialtone_sdp::make_offer(&local))),
        };
        let body = answer.map(sdp_body);
        ua.handle_command(now, UaCommand::AnswerReInvite { leg, code, body });
    }

    // ---- session side ---------------------------------------------------

    pub fn on_command(
        &mut self,
        ua: &mut UaCore,
        now: Instant,
        session: SessionId,
        cmd: SessionCommand,
    ) {
        match cmd {
            SessionCommand::Answer { call, headers } => {
                self.answer(ua, now, session, call, sanitize(headers))
            }
            SessionCommand::Reject {
                call,
                code,
                headers,
            } => {
                if let Some(c) = self.owned(session, call) {
                    if c.incoming && c.phase == Phase::Offered {
                        let leg = c.leg;
                        let code = if (300..700).contains(&code) {
                            code
                        } else {
                            603
                        };
                        ua.handle_command(
                            now,
                            UaCommand::Reject {
                                leg,
                                code,
                                reason: None,
                                headers: sanitize(headers),
                            },
                        );
                        self.finish(
                            call,
                            now,
                            CallEvent::Disconnected {
                                code,
                                reason: reason_phrase(code).into(),
                                duration: Default::default(),
                                headers: Vec::new(),
                            },
                        );
                    } else {
                        tracing::warn!(%session, %call, "reject ignored: the call is not an unanswered inbound call");
                    }
                }
            }
            SessionCommand::Ring { call, headers } => {
                if let Some(c) = self.owned(session, call) {
                    if c.incoming && c.phase == Phase::Offered {
                        let leg = c.leg;
                        ua.handle_command(
                            now,
                            UaCommand::Provisional {
                                leg,
                                code: 180,
                                body: None,
                                headers: sanitize(headers),
                            },
                        );
                    }
                }
            }
            SessionCommand::StartEarlyMedia { call, headers } => {
                self.early_media(ua, now, session, call, sanitize(headers))
            }
            SessionCommand::Hangup { call, headers } => {
                self.hangup(ua, now, session, call, sanitize(headers), 480)
            }
            SessionCommand::CallSip(out) => self.call_sip(ua, now, session, out),
            SessionCommand::SendMedia { from, to } => {
                if self.owns_unit(session, from.0) && self.owns_unit(session, to.0) {
                    self.media
                        .connect(dialtone_media::UnitId(from.0), dialtone_media::UnitId(to.0));
                }
            }
            SessionCommand::StopMedia { from, to } => {
                if self.owns_unit(session, from.0) && self.owns_unit(session, to.0) {
                    self.media
                        .disconnect(dialtone_media::UnitId(from.0), dialtone_media::UnitId(to.0));
                }
            }
            SessionCommand::HttpRequest {
                id,
                url,
                method,
                headers,
                body,
                timeout,
            } => {
                if let Some(entry) = self.sessions.get(&session) {
                    let request = net::HttpRequest {
                        id,
                        url,
                        method,
                        headers,
                        body,
                        timeout,
                    };
                    net::start(session, entry.events.clone(), request);
                }
            }
            SessionCommand::Ended { reason } => self.session_ended(ua, now, session, reason),
            other => self.on_unit_command(ua, now, session, other),
        }
    }

    fn answer(
        &mut self,
        ua: &mut UaCore,
        now: Instant,
        session: SessionId,
        id: CallId,
        headers: Headers,
    ) {
        let shard = session.shard(self.media_workers);
        let media = self.media.clone();
        let media_ip = self.media_ip;
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        if !call.incoming || call.phase != Phase::Offered {
            tracing::warn!(%session, call = %id, "answer ignored: the call is not an unanswered inbound call");
            return;
        }
        let leg = call.leg;
        if let Err(e) = media::ensure(&media, call, shard, media_ip) {
            tracing::error!(call = %id, error = %e, "no media port for the call");
            ua.handle_command(
                now,
                UaCommand::Reject {
                    leg,
                    code: 503,
                    reason: Some("No Media Port".into()),
                    headers: Vec::new(),
                },
            );
            self.finish(id, now, disconnected(503, "No Media Port"));
            return;
        }
        let local = media::local_media(call);
        let body = match (call.early_answer.clone(), call.remote_offer.clone()) {
            (Some(answer), _) => answer,
            (None, Some(offer)) => match dialtone_sdp::answer_offer(&offer, &local) {
                Ok((answer, n)) => {
                    media::apply(&media, call, n);
                    answer
                }
                Err(e) => {
                    let (code, reason) = media::sdp_error_status(&e);
                    ua.handle_command(
                        now,
                        UaCommand::Reject {
                            leg,
                            code,
                            reason: Some(reason.into()),
                            headers: Vec::new(),
                        },
                    );
                    self.finish(id, now, disconnected(code, reason));
                    return;
                }
            },
            (None, None) => dialtone_sdp::make_offer(&local),
        };
        call.phase = Phase::Answering;
        ua.handle_command(
            now,
            UaCommand::Answer {
                leg,
                body: Some(sdp_body(body)),
                headers,
            },
        );
    }

    fn early_media(
        &mut self,
        ua: &mut UaCore,
        now: Instant,
        session: SessionId,
        id: CallId,
        headers: Headers,
    ) {
        let shard = session.shard(self.media_workers);
        let media = self.media.clone();
        let media_ip = self.media_ip;
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        if !call.incoming || call.phase != Phase::Offered || call.early_answer.is_some() {
            return;
        }
        let Some(offer) = call.remote_offer.clone() else {
            tracing::warn!(call = %id, "startEarlyMedia needs an SDP offer in the INVITE");
            return;
        };
        if let Err(e) = media::ensure(&media, call, shard, media_ip) {
            tracing::error!(call = %id, error = %e, "no media port for early media");
            return;
        }
        match dialtone_sdp::answer_offer(&offer, &media::local_media(call)) {
            Ok((answer, n)) => {
                media::apply(&media, call, n);
                call.early_answer = Some(answer.clone());
                let leg = call.leg;
                ua.handle_command(
                    now,
                    UaCommand::Provisional {
                        leg,
                        code: 183,
                        body: Some(sdp_body(answer)),
                        headers,
                    },
                );
                self.set_state(id, CallState::Progressing);
                self.audio_started(id, Vec::new());
            }
            Err(e) => tracing::warn!(call = %id, error = %e, "early media refused"),
        }
    }

    fn hangup(
        &mut self,
        ua: &mut UaCore,
        now: Instant,
        session: SessionId,
        id: CallId,
        headers: Headers,
        unanswered_code: u16,
    ) {
        let Some(call) = self.owned_mut(session, id) else {
            return;
        };
        let leg = call.leg;
        match call.phase {
            Phase::Offered => {
                ua.handle_command(
                    now,
                    UaCommand::Reject {
                        leg,
                        code: unanswered_code,
                        reason: None,
                        headers,
                    },
                );
                self.finish(
                    id,
                    now,
                    disconnected(unanswered_code, reason_phrase(unanswered_code)),
                );
            }
            Phase::Answering | Phase::Confirmed | Phase::Dialing => {
                call.phase = Phase::Ending;
                ua.handle_command(now, UaCommand::Hangup { leg, headers });
            }
            Phase::Resolving => {
                self.pending.remove(&id);
                self.finish(
                    id,
                    now,
                    CallEvent::Failed {
                        code: 487,
                        reason: "Request Terminated".into(),
                        headers: Vec::new(),
                    },
                );
            }
            Phase::Ending => {}
        }
    }

    fn call_sip(
        &mut self,
        ua: &mut UaCore,
        now: Instant,
        session: SessionId,
        out: Box<OutboundCall>,
    ) {
        let id = out.call;
        let Some(entry) = self.sessions.get_mut(&session) else {
            return;
        };
        if self.calls.contains_key(&id) {
            tracing::warn!(%session, call = %id, "callSIP with a call id already in use");
            return;
        }
        entry.calls.push(id);
        let leg = ua.new_leg_id();
        self.legs.insert(leg, id);
        self.calls.insert(id, Call::new(id, leg, session, false));
        self.env.metrics.call_started(Direction::Outbound);
        self.env.metrics.set_live_calls(self.calls.len());
        let from = out.callerid.as_deref().unwrap_or_default();
        self.env
            .history
            .call_started(session, id, Direction::Outbound, from, &out.to);
        let target = match target::parse_target(&out.to) {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(%session, call = %id, error = %e, "callSIP target refused");
                self.finish(
                    id,
                    now,
                    CallEvent::Failed {
                        code: 404,
                        reason: e,
                        headers: Vec::new(),
                    },
                );
                return;
            }
        };
        match target.literal_peer() {
            Some(peer) => self.dial(ua, now, id, *out, target, peer),
            None => {
                let host = target.host.clone();
                let port = target.port;
                self.pending.insert(id, (out, target));
                let tx = self.internal_tx.clone();
                tokio::spawn(async move {
                    let result = match tokio::net::lookup_host((host.as_str(), port)).await {
                        Ok(mut addrs) => addrs.next().ok_or_else(|| format!("{host}: no address")),
                        Err(e) => Err(format!("{host}: {e}")),
                    };
                    let _ = tx.send(Internal::Resolved { call: id, result });
                });
            }
        }
    }

    pub fn on_internal(&mut self, ua: &mut UaCore, now: Instant, msg: Internal) {
        match msg {
            Internal::Resolved { call, result } => {
                self.on_resolved(ua, now, Resolved { call, result })
            }
            Internal::Loaded { unit, result } => self.on_loaded(unit, result),
            Internal::InfoDigit { call, digit } => self.send_info_digit(ua, now, call, digit),
        }
    }

    fn on_resolved(&mut self, ua: &mut UaCore, now: Instant, r: Resolved) {
        let Some((out, target)) = self.pending.remove(&r.call) else {
            return;
        };
        match r.result {
            Ok(addr) => {
                let peer = Peer {
                    transport: target.transport,
                    addr,
                };
                self.dial(ua, now, r.call, *out, target, peer);
            }
            Err(e) => self.finish(
                r.call,
                now,
                CallEvent::Failed {
                    code: 404,
                    reason: e,
                    headers: Vec::new(),
                },
            ),
        }
    }

    fn dial(
        &mut self,
        ua: &mut UaCore,
        now: Instant,
        id: CallId,
        out: OutboundCall,
        target: Target,
        peer: Peer,
    ) {
        let media_ip = self.media_ip;
        let engine = self.media.clone();
        let workers = self.media_workers;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if let Err(e) = media::ensure(&engine, call, call.session.shard(workers), media_ip) {
            tracing::error!(call = %id, error = %e, "no media port for the outbound call");
            self.finish(
                id,
                now,
                CallEvent::Failed {
                    code: 503,
                    reason: "No Media Port".into(),
                    headers: Vec::new(),
                },
            );
            return;
        }
        let offer = dialtone_sdp::make_offer(&media::local_media(call));
        call.phase = Phase::Dialing;
        let leg = call.leg;
        let user = out
            .callerid
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or("dialtone");
        let from_uri = format!("sip:{}@{}", escape_user(user), host_for_uri(media_ip));
        let auth = match (out.auth_user, out.password) {
            (Some(u), Some(p)) => Some((u, p)),
            (None, Some(p)) => Some((user.to_string(), p)),
            _ => None,
        };
        ua.handle_command(
            now,
            UaCommand::Dial {
                leg,
                target: peer,
                request_uri: target.uri.clone(),
                from_uri,
                from_display: out.display_name.filter(|d| !d.is_empty()),
                to_uri: target.uri,
                body: Some(sdp_body(offer)),
                headers: sanitize(out.headers),
                auth,
            },
        );
    }

    fn session_ended(
        &mut self,
        ua: &mut UaCore,
        now: Instant,
        session: SessionId,
        reason: SessionEnd,
    ) {
        let Some(entry) = self.sessions.remove(&session) else {
            return;
        };
        self.release_session_units(session);
        self.env.metrics.session_ended(&reason);
        let error = match &reason {
            SessionEnd::Normal => None,
            SessionEnd::ScriptError(e) | SessionEnd::CompileError(e) => Some(e.as_str()),
        };
        self.env.history.session_ended(session, error);
        let unanswered = match &reason {
            SessionEnd::Normal => 480,
            SessionEnd::ScriptError(_) | SessionEnd::CompileError(_) => 500,
        };
        tracing::debug!(%session, ?reason, calls = entry.calls.len(), "session ended");
        for id in entry.calls {
            let Some(call) = self.calls.get_mut(&id) else {
                continue;
            };
            let leg = call.leg;
            match call.phase {
                Phase::Offered => {
                    ua.handle_command(
                        now,
                        UaCommand::Reject {
                            leg,
                            code: unanswered,
                            reason: None,
                            headers: Vec::new(),
                        },
                    );
                    self.env.history.call_ended(
                        id,
                        Some(unanswered),
                        Some(reason_phrase(unanswered)),
                    );
                    self.env.metrics.call_failed(unanswered);
                    self.release(id);
                }
                Phase::Answering | Phase::Confirmed | Phase::Dialing => {
                    // The SIP layer reports the end later; the session is gone, so
                    // the call is cleaned up then without an event.
                    call.phase = Phase::Ending;
                    ua.handle_command(
                        now,
                        UaCommand::Hangup {
                            leg,
                            headers: Vec::new(),
                        },
                    );
                }
                Phase::Resolving => {
                    self.pending.remove(&id);
                    self.env.metrics.call_failed(487);
                    self.release(id);
                }
                Phase::Ending => {}
            }
        }
    }

    // ---- media side -----------------------------------------------------

    pub fn on_media_event(&mut self, ev: MediaEvent) {
        let (unit, event) = match ev {
            MediaEvent::FirstAudioPacket(u) => (u, CallEvent::FirstAudioPacketReceived),
            MediaEvent::RtpStopped(u) => (u, CallEvent::RtpStopped),
            MediaEvent::RtpResumed(u) => (u, CallEvent::RtpResumed),
            other => return self.on_unit_media_event(other),
        };
        let id = CallId(unit.0);
        if let Some(call) = self.calls.get(&id) {
            let session = call.session;
            self.emit(session, id, event);
        }
    }

    // ---- helpers --------------------------------------------------------

    fn probe_media(&self) -> dialtone_sdp::LocalMedia {
        media::local_media_at(SocketAddr::new(self.media_ip, 9), 0, 0)
    }

    fn owned(&self, session: SessionId, id: CallId) -> Option<&Call> {
        let c = self.calls.get(&id).filter(|c| c.session == session);
        if c.is_none() {
            tracing::debug!(%session, call = %id, "command for a call the session does not own (or that ended)");
        }
        c
    }

    fn owned_mut(&mut self, session: SessionId, id: CallId) -> Option<&mut Call> {
        self.calls.get_mut(&id).filter(|c| c.session == session)
    }

    /// A call, player or recorder of this session.
    fn owns_unit(&self, session: SessionId, unit: u64) -> bool {
        self.calls
            .get(&CallId(unit))
            .is_some_and(|c| c.session == session)
            || self
                .units
                .get(&UnitId(unit))
                .is_some_and(|u| u.session == session)
    }

    fn emit(&self, session: SessionId, call: CallId, event: CallEvent) {
        if let Some(s) = self.sessions.get(&session) {
            let _ = s.events.send(SessionEvent::Call { call, event });
        }
    }

    fn set_state(&mut self, id: CallId, new: CallState) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let old = call.state;
        if old == new {
            return;
        }
        call.state = new;
        let session = call.session;
        self.emit(session, id, CallEvent::StateChanged { old, new });
    }

    fn audio_started(&mut self, id: CallId, headers: Headers) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.audio_started {
            return;
        }
        call.audio_started = true;
        let session = call.session;
        self.emit(session, id, CallEvent::AudioStarted { headers });
    }

    /// Sends the call's last event, moves it to TERMINATED and forgets it.
    fn finish(&mut self, id: CallId, _now: Instant, last: CallEvent) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let session = call.session;
        self.env
            .metrics
            .call_finished(call.connected_at.is_some(), &last);
        match &last {
            CallEvent::Disconnected { code, reason, .. }
            | CallEvent::Failed { code, reason, .. } => {
                self.env.history.call_ended(id, Some(*code), Some(reason))
            }
            _ => self.env.history.call_ended(id, None, None),
        }
        self.emit(session, id, last);
        self.set_state(id, CallState::Terminated);
        self.release(id);
    }

    fn release(&mut self, id: CallId) {
        let Some(call) = self.calls.remove(&id) else {
            return;
        };
        self.env.metrics.set_live_calls(self.calls.len());
        // Calls released without `finish` (never answered, session gone).
        self.env.history.call_ended(id, None, None);
        self.release_call_units(&call);
        self.legs.remove(&call.leg);
        self.pending.remove(&id);
        if call.local_rtp.is_some() {
            self.media.release(dialtone_media::UnitId(id.0));
        }
        if let Some(s) = self.sessions.get_mut(&call.session) {
            s.calls.retain(|c| *c != id);
        }
    }
}

fn owned_by(s: &SessionEntry, account: Option<&str>) -> bool {
    match account {
        None => true,
        Some(a) => s.owner.as_ref().is_some_and(|o| o.account == a),
    }
}

struct Resolved {
    call: CallId,
    result: Result<SocketAddr, String>,
}

struct IncomingSip {
    destination: String,
    from_uri: String,
    from_user: String,
    from_display: Option<String>,
    to_uri: String,
    headers: Vec<(String, String)>,
    body: Option<Body>,
}

fn ua_reject(ua: &mut UaCore, leg: LegId, code: u16, reason: &str) {
    ua.handle_command(
        Instant::now(),
        UaCommand::Reject {
            leg,
            code,
            reason: Some(reason.to_string()),
            headers: Vec::new(),
        },
    );
}

/// The call on a SIP leg, with its id. (Takes the two maps, not `self`, so the
/// caller can still use the layer's other fields while holding the call.)
fn call_of_leg<'a>(
    legs: &HashMap<LegId, CallId>,
    calls: &'a mut HashMap<CallId, Call>,
    leg: LegId,
) -> Option<(CallId, &'a mut Call)> {
    let id = *legs.get(&leg)?;
    calls.get_mut(&id).map(|c| (id, c))
}

/// The text of an SDP body, if the body is SDP and valid UTF-8.
fn sdp_text(body: Option<Body>) -> Option<String> {
    body.filter(is_sdp)
        .and_then(|b| String::from_utf8(b.data).ok())
}

fn is_sdp(b: &Body) -> bool {
    b.content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/sdp"))
}

fn sdp_body(sdp: String) -> Body {
    Body {
        content_type: "application/sdp".into(),
        data: sdp.into_bytes(),
    }
}

fn disconnected(code: u16, reason: &str) -> CallEvent {
    CallEvent::Disconnected {
        code,
        reason: reason.into(),
        duration: Default::default(),
        headers: Vec::new(),
    }
}

fn host_for_uri(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// Keeps a caller id usable as a SIP URI user part.
fn escape_user(user: &str) -> String {
    let user: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(*c))
        .take(64)
        .collect();
    if user.is_empty() {
        "dialtone".into()
    } else {
        user
    }
}

pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        503 => "Service Unavailable",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "Rejected",
    }
}
