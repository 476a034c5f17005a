//! [`CallCore`]: its state, its inputs and outputs, and the dispatch of
//! every input to the module that handles it. Dispatch is exhaustive: a new
//! SIP event, session command or media event does not compile until it is
//! handled here.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Instant;

use dialtone_core::messages::SessionEvent;
use dialtone_core::messages::{CallEvent, CallState, Headers, OutboundCall, SessionCommand};
use dialtone_core::{CallId, SessionId, UnitId};
use dialtone_media::MediaEvent;
use dialtone_sip::{LegId, UaCommand, UaEvent};

use crate::call::Call;
use crate::headers::sanitize;
use crate::io::{Fact, JobResult, MediaCommand, Output};
use crate::services::Services;
use crate::sessions::SessionEntry;
use crate::target::Target;
use crate::timers::{Timer, Timers};
use crate::units::Unit;

/// How the core is set up.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The address written into SDP; RTP is received there.
    pub media_ip: IpAddr,
    /// Media workers: every unit of a session goes to worker
    /// `session.shard(media_workers)`, so bridging stays on one thread.
    pub media_workers: usize,
    /// Live sessions at most (`None`: no limit).
    pub max_sessions: Option<usize>,
    /// New sessions per second at most (`None`: no limit); see
    /// [`setup_rate`](crate::setup_rate).
    pub max_setups_per_second: Option<u32>,
    /// Recordings are written here.
    pub recordings_dir: PathBuf,
    /// Recording URLs are this prefix, `/` and the file name.
    pub recordings_url: String,
    /// `accessURL`s are this prefix and `/SESSION/TOKEN`.
    pub access_base: String,
    /// How long calls may go on in each way they can get stuck.
    pub limits: crate::CallLimits,
    /// Binding lifetimes and limits, and the nonce key.
    pub registrar: crate::RegistrarConfig,
}

/// The call core. See the crate documentation.
pub struct CallCore {
    pub(crate) cfg: CoreConfig,
    pub(crate) services: Box<dyn Services>,
    pub(crate) calls: HashMap<CallId, Call>,
    pub(crate) legs: HashMap<LegId, CallId>,
    pub(crate) sessions: HashMap<SessionId, SessionEntry>,
    /// Outbound calls waiting for their target to resolve.
    pub(crate) resolving: HashMap<CallId, (Box<OutboundCall>, Target)>,
    /// Players and recorders (calls are in `calls`).
    pub(crate) units: HashMap<UnitId, Unit>,
    /// Shutting down: no new sessions.
    pub(crate) closed: bool,
    pub(crate) timers: Timers,
    pub(crate) setup_rate: Option<crate::setup_rate::SetupRate>,
    /// Calls between sessions (`callConference`).
    pub(crate) links: crate::link::Links,
    /// Users' bindings (REGISTER).
    pub(crate) registrar: crate::registrar::Registrar,
    pub(crate) nonces: dialtone_sip::digest_server::Nonces,
    /// What nonce times count from.
    pub(crate) nonce_epoch: Option<Instant>,
    /// Addresses that guess passwords.
    pub(crate) auth_guard: crate::auth_guard::AuthGuard,
    /// Trunks kept registered with their providers.
    pub(crate) trunk_regs: crate::trunk_registration::TrunkRegistrations,
    /// Agents, queues and ACD requests.
    pub(crate) acd: crate::acd::Acd,
    out: VecDeque<Output>,
}

impl CallCore {
    pub fn new(cfg: CoreConfig, services: Box<dyn Services>) -> CallCore {
        let nonces = dialtone_sip::digest_server::Nonces::new(cfg.registrar.nonce_key);
        CallCore {
            setup_rate: cfg
                .max_setups_per_second
                .map(crate::setup_rate::SetupRate::new),
            cfg,
            services,
            calls: HashMap::new(),
            legs: HashMap::new(),
            sessions: HashMap::new(),
            resolving: HashMap::new(),
            units: HashMap::new(),
            closed: false,
            timers: Timers::default(),
            links: crate::link::Links::default(),
            registrar: Default::default(),
            nonces,
            nonce_epoch: None,
            auth_guard: Default::default(),
            trunk_regs: Default::default(),
            acd: Default::default(),
            out: VecDeque::new(),
        }
    }

    // ---- inputs ---------------------------------------------------------

    /// An event of the user-agent core.
    pub fn handle_ua_event(&mut self, now: Instant, ev: UaEvent) {
        self.handle_ua_event_inner(now, ev);
        // What the calls to agents brought (answers, failures, ends).
        self.acd_react(now);
    }

    fn handle_ua_event_inner(&mut self, now: Instant, ev: UaEvent) {
        self.links.now = Some(now);
        match ev {
            UaEvent::Register { request, reply } => self.on_register(now, request, reply),
            UaEvent::RegisterAnswered {
                id,
                code,
                reason,
                expires,
                min_expires,
                retry_after,
            } => self.on_register_answered(
                now,
                id,
                crate::trunk_registration::RegisterAnswer {
                    code,
                    reason,
                    expires,
                    min_expires,
                    retry_after,
                },
            ),
            UaEvent::Incoming {
                leg,
                request_uri,
                destination,
                from_uri,
                from_user,
                from_display,
                to_uri,
                headers,
                body,
                source,
            } => self.on_incoming(
                now,
                leg,
                crate::inbound::IncomingSip {
                    source: source.addr,
                    transport: source.transport,
                    request_uri,
                    destination,
                    from_uri,
                    from_user,
                    from_display,
                    to_uri,
                    headers,
                    body,
                },
            ),
            UaEvent::Replacing {
                leg,
                replaces,
                headers: _,
                body,
            } => self.on_replacing(now, leg, replaces, body),
            UaEvent::Cancelled { leg } => self.on_cancelled(now, leg),
            UaEvent::Acked { leg, body } => self.on_acked(now, leg, body),
            UaEvent::Provisional {
                leg,
                code,
                reason: _,
                body,
                headers,
            } => self.on_provisional(leg, code, body, headers),
            UaEvent::Answered { leg, body, headers } => self.on_answered(now, leg, body, headers),
            UaEvent::Failed {
                leg,
                code,
                reason,
                headers,
            } => self.on_leg_ended(now, leg, true, code, reason, headers),
            UaEvent::ReInvite { leg, body, headers } => self.on_reinvite(now, leg, body, headers),
            UaEvent::ReInviteAnswered {
                leg,
                code,
                reason: _,
                body,
                headers,
            } => self.on_reinvite_answered(now, leg, code, body, headers),
            UaEvent::Info {
                leg,
                content_type,
                body,
                headers,
            } => self.on_info(leg, &content_type, &body, &headers),
            UaEvent::Message {
                leg,
                content_type: _,
                body,
                headers,
            } => self.on_message(leg, &body, &headers),
            UaEvent::Refer {
                leg,
                refer_to,
                subscription,
                headers,
            } => self.on_refer(leg, &refer_to, subscription, &headers),
            UaEvent::ReferAnswered { leg, code, reason } => {
                self.on_refer_answered(leg, code, &reason)
            }
            UaEvent::Notify {
                leg,
                event,
                state: _,
                body,
            } => self.on_notify(leg, &event, &body),
            UaEvent::Terminated {
                leg,
                by_remote: _,
                code,
                reason,
                headers,
            } => self.on_leg_ended(now, leg, false, code, reason, headers),
        }
    }

    /// A command from `session`. Commands for calls or units the session
    /// does not own are ignored.
    pub fn handle_command(&mut self, now: Instant, session: SessionId, cmd: SessionCommand) {
        self.handle_command_inner(now, session, cmd);
        // What the calls to agents brought (answers, failures, ends).
        self.acd_react(now);
    }

    fn handle_command_inner(&mut self, now: Instant, session: SessionId, cmd: SessionCommand) {
        self.links.now = Some(now);
        match cmd {
            SessionCommand::Answer { call, headers } => {
                self.answer(now, session, call, sanitize(headers))
            }
            SessionCommand::Reject {
                call,
                code,
                headers,
            } => self.reject(now, session, call, code, sanitize(headers)),
            SessionCommand::Ring { call, headers } => self.ring(session, call, sanitize(headers)),
            SessionCommand::StartEarlyMedia { call, headers } => {
                self.early_media(session, call, sanitize(headers))
            }
            SessionCommand::Hangup { call, headers } => {
                self.hangup(now, session, call, sanitize(headers))
            }
            SessionCommand::CallSip(out) => self.call_sip(now, session, out),
            SessionCommand::CallUser(out) => self.call_user(now, session, out),
            SessionCommand::CallPstn(out) => self.call_pstn(now, session, out),
            SessionCommand::CallConference(out) => self.call_conference(now, session, *out),
            SessionCommand::SendMedia { from, to } => self.send_media(session, from, to),
            SessionCommand::StopMedia { from, to } => self.stop_media(session, from, to),
            SessionCommand::CreateConference { unit } => self.create_conference(session, unit),
            SessionCommand::ConferenceMember {
                conference,
                member,
                send,
                forward,
                deaf_to,
            } => self.conference_member(
                session,
                conference,
                crate::io::Member {
                    unit: member,
                    send,
                    forward,
                    deaf_to,
                },
            ),
            SessionCommand::ConferenceRemove { conference, member } => {
                self.conference_remove(session, conference, member)
            }
            SessionCommand::StopConference { unit } => self.stop_conference(session, unit),
            SessionCommand::CreatePlayer {
                unit,
                source,
                looped,
                owner,
            } => self.create_player(session, unit, source, looped, owner),
            SessionCommand::PlayerControl { unit, op } => self.player_control(session, unit, op),
            SessionCommand::StopPlayback { call } => self.stop_playback(session, call),
            SessionCommand::HandleTones { call, enable } => {
                self.handle_tones(session, call, enable)
            }
            SessionCommand::SendDigits { call, digits } => {
                self.send_digits(now, session, call, &digits)
            }
            SessionCommand::RtpTimeoutHangup { call, enable } => {
                self.rtp_timeout_hangup(session, call, enable)
            }
            SessionCommand::CreateRecorder {
                unit,
                call,
                stereo,
                format,
            } => self.create_recorder(session, unit, call, stereo, format),
            SessionCommand::RecorderControl { unit, op } => {
                self.recorder_control(session, unit, op)
            }
            SessionCommand::Storage { id, op } => self.storage(session, id, op),
            SessionCommand::HttpRequest {
                id,
                url,
                method,
                headers,
                body,
                timeout,
            } => self.http_request(
                session,
                crate::io::HttpJob {
                    session,
                    id,
                    url,
                    method,
                    headers,
                    body,
                    timeout,
                },
            ),
            SessionCommand::SendInfo {
                call,
                mime_type,
                body,
                headers,
            } => self.send_info(session, call, mime_type, body, sanitize(headers)),
            SessionCommand::SendMessage {
                call,
                text,
                headers,
            } => self.send_message(session, call, text, sanitize(headers)),
            SessionCommand::HandleReInvites { call, enable } => {
                self.handle_reinvites(session, call, enable)
            }
            SessionCommand::AcceptReInvite {
                call,
                mime_type,
                body,
                headers,
            } => self.accept_reinvite(session, call, &mime_type, &body, sanitize(headers)),
            SessionCommand::RejectReInvite { call, headers } => {
                self.reject_reinvite(session, call, sanitize(headers))
            }
            SessionCommand::ReInvite {
                call,
                mime_type,
                body,
                headers,
            } => self.script_reinvite(session, call, &mime_type, &body, sanitize(headers)),
            SessionCommand::Hold { call, hold } => self.hold(session, call, hold),
            SessionCommand::CallStatistics { call, enable } => {
                self.call_statistics(session, call, enable)
            }
            SessionCommand::HandleBlindTransfer { call, enable } => {
                self.handle_blind_transfer(session, call, enable)
            }
            SessionCommand::NotifyBlindTransfer { call, code, reason } => {
                self.notify_blind_transfer(session, call, code, &reason)
            }
            SessionCommand::TransferTo {
                call,
                target,
                headers,
            } => self.transfer_to(session, call, target, sanitize(headers)),
            SessionCommand::TransferToCall {
                call,
                other,
                headers,
            } => self.transfer_to_call(session, call, other, sanitize(headers)),
            SessionCommand::Ended { reason } => {
                self.acd_session_ended(now, session);
                self.session_ended(now, session, reason)
            }
            SessionCommand::AcdEnqueue(req) => self.acd_enqueue(now, session, *req),
            SessionCommand::AcdCancel { request } => self.acd_cancel(now, session, request),
            SessionCommand::AcdStatus { request } => self.acd_status(session, request),
        }
    }

    /// An event of the media engine.
    pub fn handle_media_event(&mut self, now: Instant, ev: MediaEvent) {
        self.handle_media_event_inner(now, ev);
        // What the calls to agents brought (answers, failures, ends).
        self.acd_react(now);
    }

    fn handle_media_event_inner(&mut self, now: Instant, ev: MediaEvent) {
        self.links.now = Some(now);
        match ev {
            MediaEvent::FirstAudioPacket(u) => {
                self.call_media_event(u, CallEvent::FirstAudioPacketReceived)
            }
            MediaEvent::RtpStopped(u) => self.on_rtp_stopped(now, CallId(u.0)),
            MediaEvent::RtpResumed(u) => self.on_rtp_resumed(CallId(u.0)),
            MediaEvent::Tone { unit, tone } => self.on_tone(CallId(unit.0), tone),
            MediaEvent::PlayerStarted { unit, duration } => {
                self.on_player_started(UnitId(unit.0), duration)
            }
            MediaEvent::PlayerFinished(unit) => self.on_player_finished(UnitId(unit.0)),
            MediaEvent::PlayerMarker { unit, offset_ms } => {
                self.on_player_marker(UnitId(unit.0), offset_ms)
            }
            MediaEvent::RecorderStarted(unit) => self.on_recorder_started(UnitId(unit.0)),
            MediaEvent::RecorderStopped { unit, duration } => {
                self.on_recorder_stopped(UnitId(unit.0), duration)
            }
            MediaEvent::RecorderError { unit, error } => {
                self.recorder_failed(UnitId(unit.0), error)
            }
            MediaEvent::TransportFailed { unit, reason } => {
                self.on_transport_failed(now, CallId(unit.0), &reason)
            }
            MediaEvent::Statistics { unit, stats } => {
                let s = dialtone_core::messages::CallStatistics {
                    packets_sent: stats.packets_sent,
                    packets_received: stats.packets_received,
                    packets_lost: stats.packets_lost,
                    loss_ppm: stats.loss_ppm,
                    jitter_us: stats.jitter_us,
                    rtt_us: stats.rtt_us,
                    remote_loss_ppm: stats.remote_loss_ppm,
                    remote_jitter_us: stats.remote_jitter_us,
                };
                self.call_media_event(unit, CallEvent::Statistics(s))
            }
        }
    }

    /// The driver could not carry out a [`MediaCommand`] for `unit` (adding
    /// a player or recorder, sending digits).
    pub fn handle_media_failure(&mut self, unit: UnitId, error: String) {
        match self.units.get(&unit).map(|u| u.is_player()) {
            Some(true) => self.player_failed(unit, error),
            Some(false) => self.recorder_failed(unit, error),
            None => tracing::debug!(unit = unit.0, %error, "media failure of a unit that is gone"),
        }
    }

    /// The result of a [`Job`](crate::Job).
    pub fn handle_job_result(&mut self, now: Instant, result: JobResult) {
        self.handle_job_result_inner(now, result);
        // What the calls to agents brought (answers, failures, ends).
        self.acd_react(now);
    }

    fn handle_job_result_inner(&mut self, now: Instant, result: JobResult) {
        self.links.now = Some(now);
        match result {
            JobResult::Resolved { call, result } => self.on_resolved(now, call, result),
            JobResult::TrunkResolved { id, result } => self.on_trunk_resolved(now, id, result),
            JobResult::Loaded { unit, result } => self.on_loaded(unit, result),
            JobResult::LoadedSequence { unit, result } => self.on_sequence_loaded(unit, result),
            JobResult::Http {
                session,
                id,
                result,
            } => self.event(session, SessionEvent::HttpResponse { id, result }),
            JobResult::Storage {
                session,
                id,
                result,
            } => self.event(session, SessionEvent::StorageResult { id, result }),
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.handle_timeout_inner(now);
        // What the calls to agents brought (answers, failures, ends).
        self.acd_react(now);
    }

    fn handle_timeout_inner(&mut self, now: Instant) {
        self.links.now = Some(now);
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                Timer::InfoDigit(call) => self.next_info_digit(now, call),
                Timer::NoAnswer(call) => self.on_no_answer(now, call),
                Timer::RtpSilence(call, generation) => self.on_rtp_silence(now, call, generation),
                Timer::MaxDuration(call) => self.on_max_duration(now, call),
                Timer::ReInviteAnswer(call) => self.on_reinvite_answer_timeout(call),
                Timer::ReInviteRetry(call) => self.on_reinvite_retry(call),
                Timer::TrunkRegistration(id, generation) => {
                    self.on_registration_timer(now, id, generation)
                }
                Timer::AcdRing(call) => self.on_acd_ring_timeout(now, call),
                Timer::AfterCallWork(agent, generation) => {
                    self.on_after_call_work_over(now, agent, generation)
                }
            }
        }
    }

    // ---- outputs --------------------------------------------------------

    /// The earliest instant [`CallCore::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        if !self.links.looped.is_empty() {
            self.run_links();
        }
        self.out.pop_front()
    }

    // ---- reading --------------------------------------------------------

    pub fn live_calls(&self) -> usize {
        self.calls.len()
    }

    pub fn live_sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Players and recorders alive (tests check nothing leaks).
    pub fn live_units(&self) -> usize {
        self.units.len()
    }

    /// Timers queued, including spent ones not popped yet.
    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// A call's SIP phase and VoxEngine state.
    pub fn call_status(&self, call: CallId) -> Option<(crate::Phase, CallState)> {
        self.calls.get(&call).map(|c| (c.phase, c.state))
    }

    // ---- helpers for the handlers ----------------------------------------

    pub(crate) fn ua(&mut self, cmd: UaCommand) {
        if ua_leg(&cmd).is_some_and(crate::link::is_link) {
            self.link_command(cmd);
        } else {
            self.out.push_back(Output::Ua(cmd));
        }
    }

    pub(crate) fn media(&mut self, cmd: MediaCommand) {
        self.out.push_back(Output::Media(cmd));
    }

    pub(crate) fn fact(&mut self, fact: Fact) {
        self.out.push_back(Output::Fact(fact));
    }

    pub(crate) fn output(&mut self, output: Output) {
        self.out.push_back(output);
    }

    /// Delivers `event` to `session` if it is live.
    pub(crate) fn event(&mut self, session: SessionId, event: SessionEvent) {
        if self.sessions.contains_key(&session) {
            self.out.push_back(Output::Event { session, event });
        }
    }

    pub(crate) fn emit(&mut self, session: SessionId, call: CallId, event: CallEvent) {
        self.acd_observe(call, &event);
        if self.is_hidden_call(call) {
            return;
        }
        self.event(session, SessionEvent::Call { call, event });
    }

    /// The call, if `session` owns it.
    pub(crate) fn owned_mut(&mut self, session: SessionId, id: CallId) -> Option<&mut Call> {
        let c = self.calls.get_mut(&id).filter(|c| c.session == session);
        if c.is_none() {
            tracing::debug!(%session, call = %id, "command for a call the session does not own (or that ended)");
        }
        c
    }

    pub(crate) fn owns_call(&self, session: SessionId, id: CallId) -> bool {
        self.calls.get(&id).is_some_and(|c| c.session == session)
    }

    /// A call, player or recorder of this session.
    pub(crate) fn owns_unit(&self, session: SessionId, unit: UnitId) -> bool {
        self.owns_call(session, CallId(unit.0))
            || self.units.get(&unit).is_some_and(|u| u.session == session)
    }

    /// The call on a SIP leg.
    pub(crate) fn call_of_leg(&self, leg: LegId) -> Option<CallId> {
        self.legs.get(&leg).copied()
    }

    pub(crate) fn set_state(&mut self, id: CallId, new: CallState) {
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

    pub(crate) fn audio_started(&mut self, id: CallId, headers: Headers) {
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

    /// The media worker a session's units live on.
    pub(crate) fn shard(&self, session: SessionId) -> usize {
        session.shard(self.cfg.media_workers)
    }

    fn call_media_event(&mut self, unit: dialtone_media::UnitId, event: CallEvent) {
        let id = CallId(unit.0);
        if let Some(session) = self.calls.get(&id).map(|c| c.session) {
            self.emit(session, id, event);
        }
    }
}

/// The leg a SIP command is for.
pub(crate) fn ua_leg(cmd: &UaCommand) -> Option<LegId> {
    Some(match cmd {
        UaCommand::Answer { leg, .. }
        | UaCommand::Reject { leg, .. }
        | UaCommand::Provisional { leg, .. }
        | UaCommand::Hangup { leg, .. }
        | UaCommand::Info { leg, .. }
        | UaCommand::Message { leg, .. }
        | UaCommand::ReInvite { leg, .. }
        | UaCommand::AnswerReInvite { leg, .. }
        | UaCommand::Refer { leg, .. }
        | UaCommand::ReferReplacing { leg, .. }
        | UaCommand::AnswerRefer { leg, .. }
        | UaCommand::Notify { leg, .. }
        | UaCommand::Dial { leg, .. } => *leg,
        UaCommand::Respond { .. } | UaCommand::Register(_) => return None,
    })
}
