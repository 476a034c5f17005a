//! A call core on a virtual clock, with knobs for what its driver answers
//! (routes, RTP ports, congestion) and readers for what it outputs.
// Each test file uses a part of this.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use dialtone_calls::{
    CallCore, CoreConfig, Fact, InboundInfo, Job, JobResult, MediaCommand, Output, Overload, Route,
    RouteOwner, Services, SessionStart,
};
use dialtone_core::messages::{CallEvent, OutboundCall, SessionCommand, SessionEnd, SessionEvent};
use dialtone_core::{CallId, Scenario, SessionId, UnitId};
use dialtone_media::MediaEvent;
use dialtone_sdp::{Codec, LocalMedia};
use dialtone_sip::{Body, LegId, Peer, Transport, UaCommand, UaEvent};

/// What the test's services answer; shared with the core.
#[derive(Default)]
pub struct Knobs {
    /// `None`: route every INVITE to the test scenario.
    pub route: Option<Route>,
    pub owner: Option<RouteOwner>,
    pub congested: bool,
    /// Overload control's verdict.
    pub overload: Option<Overload>,
    /// The share of the set-up rate lent, ‰ (`None`: all of it).
    pub setup_share: Option<u64>,
    /// History is behind with these accounts' records only.
    pub congested_accounts: Vec<String>,
    /// Binding RTP fails with this.
    pub no_ports: Option<String>,
    pub next_port: u16,
    /// Units bound, in order.
    pub bound: Vec<UnitId>,
    /// Addresses the egress policy denies to `callSIP`, with the reason.
    pub egress_denied: Vec<(SocketAddr, String)>,
    /// Every address the core asked the egress policy about.
    pub egress_asked: Vec<SocketAddr>,
    /// Recordings are refused with this (the account's quota is spent).
    pub recording_refused: Option<String>,
    /// The budget recordings get.
    pub recording_budget: Option<dialtone_media::RecordingBudget>,
    /// Every account the core asked for a recording budget.
    pub recording_asked: Vec<String>,
    /// Users by (domain, name).
    pub users: Vec<(String, std::sync::Arc<dialtone_calls::UserAuth>)>,
}

struct TestServices {
    knobs: Arc<Mutex<Knobs>>,
    scenario: Arc<Scenario>,
}

impl TestServices {
    fn knobs(&self) -> std::sync::MutexGuard<'_, Knobs> {
        self.knobs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Services for TestServices {
    fn user(&self, domain: &str, name: &str) -> Option<std::sync::Arc<dialtone_calls::UserAuth>> {
        self.knobs()
            .users
            .iter()
            .find(|(d, u)| d == domain && u.name == name)
            .map(|(_, u)| u.clone())
    }

    fn route(&self, _info: &InboundInfo<'_>) -> Route {
        let knobs = self.knobs();
        knobs.route.clone().unwrap_or_else(|| Route::Session {
            scenario: self.scenario.clone(),
            custom_data: "custom".into(),
            owner: knobs.owner.clone(),
        })
    }

    /// A user's call runs the test scenario as the user's application.
    fn route_user(&self, user: &dialtone_calls::UserAuth, _info: &InboundInfo<'_>) -> Route {
        Route::Session {
            scenario: self.scenario.clone(),
            custom_data: format!("user {}", user.name),
            owner: Some(RouteOwner {
                account: user.account.clone(),
                application: user.application.clone(),
                rule: None,
            }),
        }
    }

    /// Every conference id but "nowhere" has a route (the same scenario).
    fn route_conference(&self, owner: Option<&RouteOwner>, name: &str) -> Route {
        if name == "nowhere" {
            return Route::Reject {
                code: 404,
                reason: "Not Found".into(),
            };
        }
        Route::Session {
            scenario: self.scenario.clone(),
            custom_data: format!("conference {name}"),
            owner: owner.cloned(),
        }
    }

    fn bind_rtp(&mut self, unit: UnitId, _shard: usize) -> Result<u16, String> {
        let mut knobs = self.knobs();
        if let Some(e) = &knobs.no_ports {
            return Err(e.clone());
        }
        knobs.next_port = knobs.next_port.max(30_000) + 2;
        knobs.bound.push(unit);
        Ok(knobs.next_port)
    }

    fn congested(&self, account: Option<&str>) -> bool {
        let knobs = self.knobs();
        knobs.congested || account.is_some_and(|a| knobs.congested_accounts.iter().any(|c| c == a))
    }

    fn overload(&self) -> Option<Overload> {
        self.knobs().overload
    }

    fn setup_share(&self) -> u64 {
        self.knobs().setup_share.unwrap_or(1000)
    }

    fn wall_ms(&self) -> i64 {
        1_700_000_000_000
    }

    fn egress(&self, peer: SocketAddr) -> Result<(), String> {
        let mut knobs = self.knobs();
        knobs.egress_asked.push(peer);
        match knobs.egress_denied.iter().find(|(addr, _)| *addr == peer) {
            Some((_, why)) => Err(why.clone()),
            None => Ok(()),
        }
    }

    fn recording_budget(
        &self,
        account: &str,
    ) -> Result<Option<dialtone_media::RecordingBudget>, String> {
        let mut knobs = self.knobs();
        knobs.recording_asked.push(account.to_owned());
        match &knobs.recording_refused {
            Some(why) => Err(why.clone()),
            None => Ok(knobs.recording_budget.clone()),
        }
    }
}

/// The peer's SDP: G.711 and telephone-event from 192.0.2.9.
pub fn peer_media(port: u16) -> LocalMedia {
    LocalMedia {
        addr: "192.0.2.9".parse().expect("address"),
        port,
        codecs: vec![Codec::Pcmu, Codec::Pcma],
        telephone_event: true,
        session_id: 7,
        session_version: 1,
        username: "peer".into(),
    }
}

pub fn sdp(text: String) -> Body {
    Body {
        content_type: "application/sdp".into(),
        data: text.into_bytes(),
    }
}

pub fn peer_offer() -> Body {
    sdp(dialtone_sdp::make_offer(&peer_media(4000)))
}

/// An offer with G.722 only: nothing in common with us.
pub fn g722_offer() -> Body {
    sdp("v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n".into())
}

/// The peer's answer to our offer in `body`.
pub fn answer_to(body: &Body) -> Body {
    let offer = std::str::from_utf8(&body.data).expect("utf-8 offer");
    let (answer, _) =
        dialtone_sdp::answer_offer(offer, &peer_media(5000)).expect("answerable offer");
    sdp(answer)
}

/// The same answer without telephone-event: digits then go as SIP INFO.
pub fn answer_without_events(body: &Body) -> Body {
    let offer = std::str::from_utf8(&body.data).expect("utf-8 offer");
    let media = LocalMedia {
        telephone_event: false,
        ..peer_media(5000)
    };
    let (answer, _) = dialtone_sdp::answer_offer(offer, &media).expect("answerable offer");
    sdp(answer)
}

pub struct Harness {
    pub core: CallCore,
    pub now: Instant,
    pub knobs: Arc<Mutex<Knobs>>,
    pub scenario: Arc<Scenario>,
    next_leg: LegId,
}

/// One inbound call as the test set it up.
#[derive(Debug, Clone, Copy)]
pub struct Inbound {
    pub leg: LegId,
    pub session: SessionId,
    pub call: CallId,
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new(None)
    }
}

impl Harness {
    pub fn new(max_sessions: Option<usize>) -> Harness {
        Harness::with(max_sessions, None, dialtone_calls::CallLimits::default())
    }

    pub fn with_limits(limits: dialtone_calls::CallLimits) -> Harness {
        Harness::with(None, None, limits)
    }

    #[allow(dead_code)]
    pub fn with_setup_rate(per_second: u32) -> Harness {
        Harness::with(
            None,
            Some(per_second),
            dialtone_calls::CallLimits::default(),
        )
    }

    fn with(
        max_sessions: Option<usize>,
        max_setups_per_second: Option<u32>,
        limits: dialtone_calls::CallLimits,
    ) -> Harness {
        let knobs = Arc::new(Mutex::new(Knobs::default()));
        let scenario = Arc::new(Scenario {
            name: "test.js".into(),
            source: String::new(),
        });
        let core = CallCore::new(
            CoreConfig {
                media_ip: "127.0.0.1".parse().expect("address"),
                media_workers: 2,
                max_sessions,
                max_setups_per_second,
                recordings_dir: "/rec".into(),
                recordings_url: "http://h/rec".into(),
                access_base: "http://h/access".into(),
                limits,
                registrar: dialtone_calls::RegistrarConfig::default(),
            },
            Box::new(TestServices {
                knobs: knobs.clone(),
                scenario: scenario.clone(),
            }),
        );
        Harness {
            core,
            now: Instant::now(),
            knobs,
            scenario,
            next_leg: 0,
        }
    }

    pub fn knobs(&self) -> std::sync::MutexGuard<'_, Knobs> {
        self.knobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn take(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.core.poll_output()).collect()
    }

    pub fn advance(&mut self, by: Duration) -> Vec<Output> {
        self.now += by;
        self.core.handle_timeout(self.now);
        self.take()
    }

    pub fn ua(&mut self, event: UaEvent) -> Vec<Output> {
        self.core.handle_ua_event(self.now, event);
        self.take()
    }

    pub fn cmd(&mut self, session: SessionId, cmd: SessionCommand) -> Vec<Output> {
        self.core.handle_command(self.now, session, cmd);
        self.take()
    }

    pub fn media(&mut self, event: MediaEvent) -> Vec<Output> {
        self.core.handle_media_event(self.now, event);
        self.take()
    }

    pub fn job(&mut self, result: JobResult) -> Vec<Output> {
        self.core.handle_job_result(self.now, result);
        self.take()
    }

    pub fn new_leg(&mut self) -> LegId {
        self.next_leg += 1;
        self.next_leg
    }

    /// An INVITE event on a new leg with `body`.
    pub fn invite_event(&mut self, body: Option<Body>) -> (LegId, UaEvent) {
        let leg = self.new_leg();
        let event = UaEvent::Incoming {
            leg,
            source: Peer {
                transport: Transport::Udp,
                addr: SocketAddr::from(([192, 0, 2, 9], 5060)),
            },
            request_uri: "sip:100@127.0.0.1".into(),
            destination: "100".into(),
            from_uri: "sip:alice@192.0.2.9".into(),
            from_user: "alice".into(),
            from_display: Some("Alice".into()),
            to_uri: "sip:100@127.0.0.1".into(),
            headers: vec![
                ("Via".into(), "SIP/2.0/UDP 192.0.2.9".into()),
                ("X-Account".into(), "42".into()),
            ],
            body,
        };
        (leg, event)
    }

    /// An INVITE with an SDP offer that starts a session.
    pub fn invite(&mut self) -> Inbound {
        self.invite_with(Some(peer_offer()))
    }

    pub fn invite_with(&mut self, body: Option<Body>) -> Inbound {
        let (leg, event) = self.invite_event(body);
        let out = self.ua(event);
        let start = starts(&out).into_iter().next().expect("a session starts");
        let call = match &start.first_event {
            Some(SessionEvent::CallAlerting(incoming)) => incoming.call,
            other => panic!("first event is not CallAlerting: {other:?}"),
        };
        Inbound {
            leg,
            session: start.id,
            call,
        }
    }

    /// An inbound call answered (200 sent), not yet ACKed.
    pub fn answering(&mut self) -> (Inbound, Vec<Output>) {
        let inbound = self.invite();
        let out = self.cmd(
            inbound.session,
            SessionCommand::Answer {
                call: inbound.call,
                headers: Vec::new(),
            },
        );
        (inbound, out)
    }

    /// An inbound call answered and ACKed.
    pub fn connected(&mut self) -> Inbound {
        let (inbound, _) = self.answering();
        self.ua(UaEvent::Acked {
            leg: inbound.leg,
            body: None,
        });
        inbound
    }

    /// A session with no call (as over REST).
    pub fn session(&mut self) -> SessionId {
        let started = self
            .core
            .start_session(
                std::time::Instant::now(),
                dialtone_calls::StartRequest {
                    scenario: self.scenario.clone(),
                    custom_data: String::new(),
                    owner: None,
                },
            )
            .expect("admitted");
        self.take();
        started.id
    }

    /// `callSIP(to)` from `session`: the new call's id and the outputs.
    pub fn call_sip(&mut self, session: SessionId, to: &str) -> (CallId, Vec<Output>) {
        let call = CallId::next();
        let out = self.cmd(
            session,
            SessionCommand::CallSip(Box::new(OutboundCall {
                call,
                to: to.into(),
                callerid: Some("alice".into()),
                display_name: Some("Alice".into()),
                headers: vec![
                    ("X-Trace".into(), "1".into()),
                    ("Via".into(), "evil".into()),
                ],
                auth_user: None,
                password: None,
            })),
        );
        (call, out)
    }

    /// An outbound call dialled to a literal address: its leg and offer.
    pub fn dialing(&mut self, session: SessionId) -> (CallId, LegId, Body) {
        let (call, out) = self.call_sip(session, "sip:bob@192.0.2.20:5062");
        let (leg, body) = out
            .iter()
            .find_map(|o| match o {
                Output::Ua(UaCommand::Dial { leg, body, .. }) => {
                    Some((*leg, body.clone().expect("an offer")))
                }
                _ => None,
            })
            .expect("a Dial");
        (call, leg, body)
    }

    /// An outbound call answered by the peer.
    pub fn outbound_connected(&mut self, session: SessionId) -> (CallId, LegId) {
        let (call, leg, offer) = self.dialing(session);
        self.ua(UaEvent::Answered {
            leg,
            body: Some(answer_to(&offer)),
            headers: Vec::new(),
        });
        (call, leg)
    }

    pub fn end_session(&mut self, session: SessionId, reason: SessionEnd) -> Vec<Output> {
        self.cmd(session, SessionCommand::Ended { reason })
    }
}

// ---- readers ------------------------------------------------------------

pub fn starts(out: &[Output]) -> Vec<SessionStart> {
    out.iter()
        .filter_map(|o| match o {
            Output::Start(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

pub fn ua_cmds(out: &[Output]) -> Vec<UaCommand> {
    out.iter()
        .filter_map(|o| match o {
            Output::Ua(cmd) => Some(cmd.clone()),
            _ => None,
        })
        .collect()
}

pub fn media_cmds(out: &[Output]) -> Vec<&MediaCommand> {
    out.iter()
        .filter_map(|o| match o {
            Output::Media(cmd) => Some(cmd),
            _ => None,
        })
        .collect()
}

pub fn jobs(out: &[Output]) -> Vec<Job> {
    out.iter()
        .filter_map(|o| match o {
            Output::Job(job) => Some(job.clone()),
            _ => None,
        })
        .collect()
}

pub fn facts(out: &[Output]) -> Vec<Fact> {
    out.iter()
        .filter_map(|o| match o {
            Output::Fact(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

pub fn events(out: &[Output]) -> Vec<SessionEvent> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event { event, .. } => Some(event.clone()),
            _ => None,
        })
        .collect()
}

/// Events for `call`, by name with their code where they have one:
/// `Connected`, `Disconnected 480`, `StateChanged ALERTING->CONNECTED`.
pub fn call_events(out: &[Output], call: CallId) -> Vec<String> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Call { call: c, event } if c == call => Some(describe(&event)),
            _ => None,
        })
        .collect()
}

pub fn describe(event: &CallEvent) -> String {
    match event {
        CallEvent::Ringing { .. } => "Ringing".into(),
        CallEvent::AudioStarted { .. } => "AudioStarted".into(),
        CallEvent::Connected { .. } => "Connected".into(),
        CallEvent::Failed { code, reason, .. } => format!("Failed {code} {reason}"),
        CallEvent::Disconnected { code, reason, .. } => format!("Disconnected {code} {reason}"),
        CallEvent::StateChanged { old, new } => {
            format!("StateChanged {}->{}", old.as_str(), new.as_str())
        }
        CallEvent::FirstAudioPacketReceived => "FirstAudioPacketReceived".into(),
        CallEvent::RtpStopped => "RtpStopped".into(),
        CallEvent::RtpResumed => "RtpResumed".into(),
        CallEvent::PlaybackReady => "PlaybackReady".into(),
        CallEvent::PlaybackStarted { .. } => "PlaybackStarted".into(),
        CallEvent::PlaybackFinished { error: None } => "PlaybackFinished".into(),
        CallEvent::PlaybackFinished { error: Some(e) } => format!("PlaybackFinished error {e}"),
        CallEvent::ToneReceived { tone } => format!("ToneReceived {tone}"),
        CallEvent::RecordStarted { .. } => "RecordStarted".into(),
        CallEvent::RecordStopped { .. } => "RecordStopped".into(),
        CallEvent::RecordError { error } => format!("RecordError {error}"),
        CallEvent::OnHold => "OnHold".into(),
        CallEvent::OffHold => "OffHold".into(),
        CallEvent::InfoReceived {
            mime_type, body, ..
        } => format!("InfoReceived {mime_type} {body}"),
        CallEvent::MessageReceived { text, .. } => format!("MessageReceived {text}"),
        CallEvent::ReInviteReceived { mime_type, .. } => format!("ReInviteReceived {mime_type}"),
        CallEvent::ReInviteAccepted { mime_type, .. } => format!("ReInviteAccepted {mime_type}"),
        CallEvent::ReInviteRejected { code, .. } => format!("ReInviteRejected {code}"),
        CallEvent::BlindTransferRequested { refer_to, .. } => {
            format!("BlindTransferRequested {refer_to}")
        }
        CallEvent::TransferComplete { .. } => "TransferComplete".into(),
        CallEvent::TransferFailed { code, .. } => format!("TransferFailed {code}"),
        CallEvent::Statistics(s) => format!("Statistics {}", s.packets_received),
    }
}

/// The names of the UA commands, with codes: `Reject 480`, `Answer`, `Hangup`.
pub fn ua_names(out: &[Output]) -> Vec<String> {
    ua_cmds(out)
        .iter()
        .map(|c| match c {
            UaCommand::Provisional { code, .. } => format!("Provisional {code}"),
            UaCommand::Answer { .. } => "Answer".into(),
            UaCommand::Reject { code, .. } => format!("Reject {code}"),
            UaCommand::Hangup { .. } => "Hangup".into(),
            UaCommand::Dial { .. } => "Dial".into(),
            UaCommand::AnswerReInvite { code, .. } => format!("AnswerReInvite {code}"),
            UaCommand::Info { .. } => "Info".into(),
            UaCommand::Message { .. } => "Message".into(),
            UaCommand::ReInvite { .. } => "ReInvite".into(),
            UaCommand::AnswerRefer { code, .. } => format!("AnswerRefer {code}"),
            UaCommand::Notify { sipfrag, .. } => format!("Notify {sipfrag}"),
            UaCommand::Refer { .. } => "Refer".into(),
            UaCommand::ReferReplacing { .. } => "ReferReplacing".into(),
            UaCommand::Respond { code, .. } => format!("Respond {code}"),
            UaCommand::Register(r) => format!("Register {} {}", r.id, r.expires),
        })
        .collect()
}

/// The body text of the first UA command that carries one.
pub fn ua_body(out: &[Output]) -> Option<String> {
    ua_cmds(out).into_iter().find_map(|c| {
        let body = match c {
            UaCommand::Provisional { body, .. }
            | UaCommand::Answer { body, .. }
            | UaCommand::Dial { body, .. }
            | UaCommand::AnswerReInvite { body, .. }
            | UaCommand::ReInvite { body, .. } => body,
            UaCommand::Info { body, .. } | UaCommand::Message { body, .. } => Some(body),
            _ => None,
        }?;
        String::from_utf8(body.data).ok()
    })
}

pub fn media_unit(unit: CallId) -> dialtone_media::UnitId {
    dialtone_media::UnitId(unit.0)
}

/// The session's call leaves no trace: no call, unit or timer left behind
/// that is not spent.
pub fn assert_clean(h: &Harness) {
    assert_eq!(h.core.live_calls(), 0, "calls left");
    assert_eq!(h.core.live_units(), 0, "units left");
}

pub const SECOND: Duration = Duration::from_secs(1);
