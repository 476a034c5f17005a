//! The simulated world around the spec's session: the engine's call core,
//! driven here instead of by the signalling task, with simulated far ends
//! ([`ua::SimUa`]) and media ([`media::SimMedia`]) on virtual time. What
//! the session is told is decided by the same call core as in production;
//! this module only plays the outside world at the spec's times and writes
//! down what happened.
//!
//! Sessions the call core starts on its own (a conference session that
//! `VoxEngine.callConference` reaches, run by the same scenario as with
//! `dialtone run`) run beside the first one, through the same call core;
//! their lines in the timeline carry their name.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dialtone_calls::{
    CallCore, CoreConfig, InboundInfo, Job, JobResult, MediaCommand, Output, Route, Services,
    SessionStart, StartRequest,
};
use dialtone_core::messages::{
    AccessResponse, EventSender, PlayerSource, SessionCommand, SessionEnd, SessionEvent,
};
use dialtone_core::{CallId, Scenario, SessionId, UnitId};
use dialtone_sip::{LegId, UaEvent};
use tokio::sync::oneshot;
use tokio::time::{sleep_until, Instant};

use crate::expect::Action;
use crate::inbox::{Inbox, Item};
use crate::report::{Entry, Happened};
use crate::spec::{normalize_uri, Spec, WorldAction};

mod access;
mod http;
mod media;
mod sdp;
mod ua;

pub(crate) use access::ACCESS_BASE;

/// How long the session gets to end after the spec's timeout told it to,
/// before its event channel is closed.
const GRACE: Duration = Duration::from_secs(60);
/// The wall clock `ApplicationStorage` sees at virtual time zero, seconds
/// since the Unix epoch (2024-01-01).
const STORAGE_EPOCH: i64 = 1_704_067_200;

/// Where `callSIP` host names resolve to.
const CALLEE_IP: [u8; 4] = [192, 0, 2, 2];

/// Something due at a virtual time.
enum Due {
    Spec(usize),
    Ua(LegId, ua::Step),
    Media(media::MediaDue),
    /// A job's result, with a note for the timeline.
    Job(JobResult, Option<String>),
}

/// Starts a session the call core started on its own, and returns the
/// sender of its events.
pub(crate) type Spawner = Box<dyn FnMut(SessionStart) -> EventSender>;

/// A session of the simulation.
struct Live {
    /// How the timeline names it: `None` for the spec's own session, the
    /// conference id for a conference session.
    name: Option<String>,
    /// Its events; `None` once it has ended.
    events: Option<EventSender>,
}

/// The call core's questions, answered for the simulated sessions.
struct SimServices {
    scenario: Arc<Scenario>,
    custom_data: String,
    next_port: u16,
    trunks: Vec<dialtone_calls::TrunkConfig>,
}

impl SimServices {
    fn the_scenario(&self) -> Route {
        Route::Session {
            scenario: self.scenario.clone(),
            custom_data: self.custom_data.clone(),
            owner: None,
        }
    }
}

impl Services for SimServices {
    fn route(&self, _info: &InboundInfo<'_>) -> Route {
        self.the_scenario()
    }

    /// As with `dialtone run`: the one scenario runs conference sessions
    /// too, and tells them apart by `destination` (the conference id).
    fn route_conference(&self, _owner: Option<&dialtone_calls::RouteOwner>, _name: &str) -> Route {
        self.the_scenario()
    }

    fn trunks(
        &self,
        _owner: Option<&dialtone_calls::RouteOwner>,
        number: &str,
    ) -> Vec<dialtone_calls::TrunkRoute> {
        dialtone_calls::select_trunks(&self.trunks, number)
    }

    fn bind_rtp(&mut self, _unit: UnitId, _shard: usize) -> Result<u16, String> {
        self.next_port = self.next_port.wrapping_add(2).max(20_000);
        Ok(self.next_port)
    }

    fn wall_ms(&self) -> i64 {
        0
    }
}

/// A simulation could not start its session.
#[derive(Debug, thiserror::Error)]
#[error("the call core refused the simulated session: {0}")]
pub struct Refused(pub String);

pub(crate) struct World<'a> {
    spec: &'a Spec,
    scenario: Arc<Scenario>,
    start: Instant,
    core: CallCore,
    ua: ua::SimUa,
    media: media::SimMedia,
    /// The spec's session.
    session: SessionId,
    access_token: String,
    /// Every session started so far, the spec's first.
    sessions: HashMap<SessionId, Live>,
    /// The spec's session's events, until it has an id.
    first_events: Option<EventSender>,
    /// Starts the sessions the call core starts on its own; without one
    /// they are refused.
    spawner: Option<Spawner>,
    agenda: Vec<(Instant, u64, Due)>,
    seq: u64,
    /// How the timeline names calls: `caller`, or the URI `callSIP` was given.
    labels: HashMap<CallId, String>,
    /// How the timeline names players and recorders.
    unit_labels: HashMap<UnitId, String>,
    /// The inbound call's id.
    inbound: Option<CallId>,
    inbox: Inbox,
    /// Requests to the `accessURL` the session has not answered yet.
    answers: HashMap<u64, oneshot::Receiver<AccessResponse>>,
    next_request: u64,
    /// `ApplicationStorage` of the session.
    storage: dialtone_core::storage::MemoryStorage,
    pub(crate) timeline: Vec<Entry>,
    pub(crate) timed_out: bool,
    /// Virtual time at which the session ended.
    pub(crate) ended_at: Option<Duration>,
}

impl<'a> World<'a> {
    /// A world for `spec`; its session is started by [`World::start`].
    pub(crate) fn new(
        spec: &'a Spec,
        scenario: Scenario,
        events: EventSender,
        inbox: Inbox,
    ) -> Self {
        let scenario = Arc::new(scenario);
        let core = CallCore::new(
            CoreConfig {
                media_ip: std::net::IpAddr::from([127, 0, 0, 1]),
                media_workers: 1,
                max_sessions: None,
                max_setups_per_second: None,
                recordings_dir: "recordings".into(),
                recordings_url: "sim://recordings".into(),
                access_base: ACCESS_BASE.into(),
                limits: dialtone_calls::CallLimits::default(),
                registrar: dialtone_calls::RegistrarConfig::default(),
            },
            Box::new(SimServices {
                scenario: scenario.clone(),
                custom_data: spec.custom_data.clone(),
                next_port: 20_000,
                trunks: spec.trunks.clone(),
            }),
        );
        let start = Instant::now();
        let mut world = World {
            spec,
            scenario,
            start,
            core,
            ua: ua::SimUa::default(),
            media: media::SimMedia::default(),
            session: SessionId::new(),
            access_token: String::new(),
            sessions: HashMap::new(),
            first_events: Some(events),
            spawner: None,
            agenda: Vec::new(),
            seq: 0,
            labels: HashMap::new(),
            unit_labels: HashMap::new(),
            inbound: None,
            inbox,
            answers: HashMap::new(),
            next_request: 0,
            storage: Default::default(),
            timeline: Vec::new(),
            timed_out: false,
            ended_at: None,
        };
        for index in 0..spec.events.len() {
            world.schedule(spec.events[index].at, Due::Spec(index));
        }
        world
    }

    /// Starts the session as the engine would: the inbound call's INVITE
    /// through the call core, or a session with no call (as over REST).
    pub(crate) fn start(&mut self) -> Result<SessionStart, Refused> {
        let now = self.now();
        for (key, value) in &self.spec.storage {
            let op = dialtone_core::storage::StorageOp::Put {
                key: key.clone(),
                value: value.clone(),
                ttl_secs: dialtone_core::storage::DEFAULT_TTL_SECS,
            };
            let _ = self.storage.run(&Default::default(), op, STORAGE_EPOCH);
        }
        // Simulated phones are registered before the session starts. The
        // session has no owner, so its users are those of no account.
        for (user, contacts) in &self.spec.users {
            let key = dialtone_calls::UserKey {
                account: String::new(),
                application: String::new(),
                user: user.clone(),
            };
            for (i, contact) in contacts.iter().enumerate() {
                let source = dialtone_sip::Peer {
                    transport: dialtone_sip::Transport::Udp,
                    addr: std::net::SocketAddr::from(([192, 0, 2, 1], 5060 + i as u16)),
                };
                self.core
                    .bind(now, &key, contact, source, Duration::from_secs(3600));
            }
        }
        // The spec's contact centre, of no account like its users, with
        // its ready agents logged in.
        let acd = self.spec.acd.clone();
        if !acd.queues.is_empty() || !acd.agents.is_empty() {
            self.core
                .set_contact_centre(now, "", acd.agents, acd.queues);
            for agent in &acd.ready {
                for command in [
                    dialtone_calls::AgentCommand::Login,
                    dialtone_calls::AgentCommand::Ready,
                ] {
                    let _ = self.core.agent_command(now, "", agent, command);
                }
            }
        }
        let started = match &self.spec.call {
            Some(call) => {
                let invite = self.ua.incoming(call);
                self.core.handle_ua_event(now, invite);
                None
            }
            None => {
                let request = StartRequest {
                    scenario: self.scenario.clone(),
                    custom_data: self.spec.custom_data.clone(),
                    owner: None,
                };
                let started = self
                    .core
                    .start_session(now, request)
                    .map_err(|e| Refused(e.to_string()))?;
                Some(started)
            }
        };
        let mut start = None;
        while let Some(output) = self.core.poll_output() {
            match output {
                Output::Start(s) => start = Some(s),
                Output::Ua(dialtone_sip::UaCommand::Reject { code, reason, .. }) => {
                    return Err(Refused(format!("{code} {}", reason.unwrap_or_default())));
                }
                _ => {}
            }
        }
        let start = start.ok_or_else(|| Refused("no session was started".into()))?;
        debug_assert!(started.is_none_or(|s| s.id == start.id));
        self.session = start.id;
        self.sessions.insert(
            start.id,
            Live {
                name: None,
                events: self.first_events.take(),
            },
        );
        self.access_token = start
            .access_url
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        if let Some(SessionEvent::CallAlerting(incoming)) = &start.first_event {
            self.inbound = Some(incoming.call);
            self.labels.insert(incoming.call, "caller".into());
        }
        Ok(start)
    }

    /// Plays the world until the session reports its end, then the spec's
    /// requests to its `accessURL` still to come.
    pub(crate) async fn run(&mut self) {
        let inbox = self.inbox.clone();
        let mut deadline = self.start + self.spec.timeout;
        loop {
            let over = self.ended_at.is_some();
            let next = self.next_due(over);
            let wake = match next {
                Some(at) if over => at,
                None if over => break,
                at => at.map_or(deadline, |at| at.min(deadline)),
            };
            tokio::select! {
                biased;
                item = inbox.next(), if !over => match item {
                    Some(Item::Command(session, command)) => self.command(session, command),
                    Some(Item::Log(session, line)) => self.push_from(session, Happened::Action(Action::Log(line))),
                    Some(Item::Error(session, text)) => self.push_from(session, Happened::Action(Action::Error(text))),
                    Some(Item::Event(session, text)) => self.push_from(session, Happened::Event(text)),
                    Some(Item::Answer(id)) => self.answer_ready(id),
                    None => break,
                },
                () = sleep_until(wake) => {
                    let now = Instant::now();
                    if !over && now >= deadline {
                        if self.timed_out {
                            // A session that ignored Terminate: closing its
                            // event channel ends it, and its `Ended` follows.
                            for live in self.sessions.values_mut() {
                                live.events = None;
                            }
                            deadline = now + Duration::from_secs(86_400);
                        } else {
                            self.timed_out = true;
                            self.agenda.retain(|(_, _, due)| matches!(due, Due::Job(..)));
                            self.note("timeout: the engine ends the session".into());
                            let mut live: Vec<SessionId> = self
                                .sessions
                                .iter()
                                .filter(|(_, l)| l.events.is_some())
                                .map(|(id, _)| *id)
                                .collect();
                            live.sort_unstable();
                            for id in live {
                                self.core.terminate_session(id, None, "test timeout");
                            }
                            self.drain();
                            deadline = now + GRACE;
                        }
                    } else {
                        self.fire_due(now, over);
                    }
                }
            }
        }
        self.settle_answers();
    }

    fn next_due(&self, over: bool) -> Option<Instant> {
        let agenda = self.agenda.iter().map(|(at, _, _)| *at).min();
        let core = (!over)
            .then(|| self.core.poll_timeout().map(Instant::from_std))
            .flatten();
        match (agenda, core) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }

    fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(self.start)
    }

    fn push(&mut self, what: Happened) {
        self.push_as(None, what);
    }

    fn push_as(&mut self, session: Option<String>, what: Happened) {
        let at = self.elapsed();
        self.timeline.push(Entry { at, session, what });
    }

    /// What a session's log line said, under the session's name.
    fn push_from(&mut self, session: Option<SessionId>, what: Happened) {
        let name = session.and_then(|id| self.name_of(id));
        self.push_as(name, what);
    }

    /// The name of session `id` in the timeline (`None`: the spec's).
    fn name_of(&self, id: SessionId) -> Option<String> {
        self.sessions.get(&id).and_then(|live| live.name.clone())
    }

    fn act(&mut self, action: Action) {
        self.push(Happened::Action(action));
    }

    fn note(&mut self, what: String) {
        self.push(Happened::World(what));
    }

    fn schedule(&mut self, after: Duration, due: Due) {
        self.seq += 1;
        self.agenda.push((Instant::now() + after, self.seq, due));
    }

    fn fire_due(&mut self, now: Instant, over: bool) {
        if !over {
            self.core.handle_timeout(now.into_std());
            self.drain();
        }
        // In deadline order; same-time items keep their scheduling order.
        while let Some(index) = self
            .agenda
            .iter()
            .enumerate()
            .filter(|(_, (at, _, _))| *at <= now)
            .min_by_key(|(_, (at, seq, _))| (*at, *seq))
            .map(|(index, _)| index)
        {
            let (_, _, due) = self.agenda.remove(index);
            self.fire(due);
            self.drain();
        }
    }

    fn fire(&mut self, due: Due) {
        let now = self.now();
        match due {
            Due::Spec(index) => self.spec_event(index),
            Due::Ua(leg, step) => {
                let reaction = self.ua.step(leg, step);
                self.ua_reaction(reaction);
            }
            Due::Media(due) => {
                if let Some(event) = self.media.due(due) {
                    self.core.handle_media_event(self.now(), event);
                }
            }
            Due::Job(result, note) => {
                if let Some(note) = note {
                    self.note(note);
                }
                self.core.handle_job_result(now, result);
            }
        }
    }

    /// Carries out everything the call core asked for.
    fn drain(&mut self) {
        let now = Instant::now();
        while let Some(output) = self.core.poll_output() {
            match output {
                Output::Ua(cmd) => {
                    let reaction = self.ua.command(self.spec, cmd);
                    self.ua_reaction(reaction);
                }
                Output::Media(cmd) => self.media_command(now, cmd),
                Output::Event { session, event } => {
                    let live = self.sessions.get(&session);
                    if let Some(events) = live.and_then(|l| l.events.as_ref()) {
                        // A session that has ended drops its receiver.
                        let _ = events.send(event);
                    }
                }
                Output::Start(start) => self.spawn(start),
                Output::Ended(_) | Output::Fact(_) => {}
                Output::Job(job) => self.job(job),
            }
        }
    }

    fn ua_reaction(&mut self, reaction: ua::Reaction) {
        let now = self.now();
        for note in reaction.notes {
            self.note(note);
        }
        for (after, leg, step) in reaction.later {
            self.schedule(after, Due::Ua(leg, step));
        }
        for event in reaction.events {
            self.core.handle_ua_event(now, event);
        }
    }

    fn media_command(&mut self, now: Instant, cmd: MediaCommand) {
        let reaction = self.media.command(now, &self.spec.playback, cmd);
        for note in reaction.notes {
            self.note(note);
        }
        for (after, due) in reaction.later {
            self.schedule(after, Due::Media(due));
        }
        for event in reaction.events {
            self.core.handle_media_event(self.now(), event);
        }
    }

    fn job(&mut self, job: Job) {
        match job {
            Job::Resolve { call, port, .. } => {
                let addr = SocketAddr::from((CALLEE_IP, port));
                let result = JobResult::Resolved {
                    call,
                    result: Ok(addr),
                };
                self.schedule(Duration::ZERO, Due::Job(result, None));
            }
            Job::ResolveTrunk { id, port, .. } => {
                let addr = SocketAddr::from((CALLEE_IP, port));
                let result = JobResult::TrunkResolved {
                    id,
                    result: Ok(addr),
                };
                self.schedule(Duration::ZERO, Due::Job(result, None));
            }
            Job::Load {
                unit,
                source: PlayerSource::Sequence(segments),
            } => {
                // Each segment as long as the spec says; no audio is decoded.
                let samples = self
                    .segment_lengths(&segments)
                    .into_iter()
                    .map(|length| u64::try_from(length.as_millis()).unwrap_or(u64::MAX / 8) * 8)
                    .collect();
                let result = JobResult::LoadedSequence {
                    unit,
                    result: Ok((Arc::from(Vec::new()), samples)),
                };
                self.schedule(Duration::ZERO, Due::Job(result, None));
            }
            Job::Load { unit, .. } => {
                // No audio is decoded: the simulated media knows the length.
                let clip = dialtone_media::PlayerMedia::Clip(Arc::from(Vec::new()));
                let result = JobResult::Loaded {
                    unit,
                    result: Ok(clip),
                };
                self.schedule(Duration::ZERO, Due::Job(result, None));
            }
            Job::Http(request) => {
                let (result, delay, note) = http::answer(self.spec, &request);
                self.schedule(delay, Due::Job(result, Some(note)));
            }
            Job::Storage {
                session,
                id,
                scope,
                op,
            } => {
                // Virtual wall clock: the spec's epoch plus virtual time.
                let now_secs = STORAGE_EPOCH + self.start.elapsed().as_secs() as i64;
                let result = self.storage.run(&scope, op, now_secs);
                let result = JobResult::Storage {
                    session,
                    id,
                    result,
                };
                self.schedule(Duration::ZERO, Due::Job(result, None));
            }
        }
    }

    fn label(&self, unit: UnitId) -> String {
        match self.labels.get(&CallId(unit.0)) {
            Some(label) => label.clone(),
            None => format!("unit#{}", unit.0),
        }
    }

    /// The call the spec names (`None`: the inbound call).
    fn call_by_label(&self, label: Option<&str>) -> Option<CallId> {
        match label {
            None => self.inbound,
            Some(label) => {
                let want = normalize_uri(label);
                let mut found: Vec<CallId> = self
                    .labels
                    .iter()
                    .filter(|(_, l)| normalize_uri(l) == want)
                    .map(|(id, _)| *id)
                    .collect();
                found.sort_unstable();
                found.pop()
            }
        }
    }

    /// The SIP leg of the far end the spec names.
    fn leg_by_label(&self, label: Option<&str>) -> Option<LegId> {
        match label {
            None => self.ua.leg_of("caller"),
            Some(label) => self.ua.leg_of(&normalize_uri(label)),
        }
    }

    fn spec_event(&mut self, index: usize) {
        let event = &self.spec.events[index];
        let label = event.call.as_deref();
        let who = event.call.clone().unwrap_or_else(|| "caller".into());
        match &event.action {
            WorldAction::Dtmf { digits, info } => {
                let call = self.call_by_label(label);
                let leg = self.leg_by_label(label);
                self.press(&who, call, leg, digits, *info);
            }
            WorldAction::Hangup => match self.leg_by_label(label) {
                Some(leg) => {
                    let reaction = self.ua.remote_hangup(leg);
                    self.ua_reaction(reaction);
                }
                None => self.note(format!("{who} hangs up (no live call)")),
            },
            WorldAction::Terminate(reason) => {
                self.note(format!("the engine ends the session: {reason}"));
                self.core.terminate_session(self.session, None, reason);
            }
            WorldAction::Request(request) => self.access_request(request),
            WorldAction::ReInvite(direction) => match self.leg_by_label(label) {
                Some(leg) if self.ua.is_confirmed(leg) => {
                    self.note(format!("{who} sends a re-INVITE ({direction})"));
                    let offer = sdp::reinvite_offer(direction);
                    let body = Some(dialtone_sip::Body {
                        content_type: "application/sdp".into(),
                        data: offer.into_bytes(),
                    });
                    self.core.handle_ua_event(
                        self.now(),
                        UaEvent::ReInvite {
                            leg,
                            body,
                            headers: Vec::new(),
                        },
                    );
                }
                _ => self.note(format!("{who} sends a re-INVITE (no connected call)")),
            },
            WorldAction::Rtp { flowing } => match self.call_by_label(label) {
                Some(call) if self.media.has_endpoint(UnitId(call.0)) => {
                    let unit = dialtone_media::UnitId(call.0);
                    let (note, event) = if *flowing {
                        (
                            "sends RTP again",
                            dialtone_media::MediaEvent::RtpResumed(unit),
                        )
                    } else {
                        (
                            "stops sending RTP",
                            dialtone_media::MediaEvent::RtpStopped(unit),
                        )
                    };
                    self.note(format!("{who} {note}"));
                    self.core.handle_media_event(self.now(), event);
                }
                _ => self.note(format!("{who}: no media to stop or resume")),
            },
            WorldAction::Info { content_type, body } => match self.leg_by_label(label) {
                Some(leg) if self.ua.is_confirmed(leg) => {
                    self.note(format!("{who} sends INFO {content_type}"));
                    self.core.handle_ua_event(
                        self.now(),
                        UaEvent::Info {
                            leg,
                            content_type: content_type.clone(),
                            body: body.clone().into_bytes(),
                            headers: Vec::new(),
                        },
                    );
                }
                _ => self.note(format!("{who} sends INFO (no connected call)")),
            },
            WorldAction::Message(text) => match self.leg_by_label(label) {
                Some(leg) if self.ua.is_confirmed(leg) => {
                    self.note(format!("{who} sends MESSAGE {text:?}"));
                    self.core.handle_ua_event(
                        self.now(),
                        UaEvent::Message {
                            leg,
                            content_type: "text/plain".into(),
                            body: text.clone().into_bytes(),
                            headers: Vec::new(),
                        },
                    );
                }
                _ => self.note(format!("{who} sends MESSAGE (no connected call)")),
            },
            WorldAction::Refer(uri) => match self.leg_by_label(label) {
                Some(leg) if self.ua.is_confirmed(leg) => {
                    self.note(format!("{who} sends REFER to {uri}"));
                    self.core.handle_ua_event(
                        self.now(),
                        UaEvent::Refer {
                            leg,
                            refer_to: uri.clone(),
                            subscription: true,
                            headers: Vec::new(),
                        },
                    );
                }
                _ => self.note(format!("{who} sends REFER (no connected call)")),
            },
        }
    }

    /// Key presses: RFC 4733 through the call's media (heard only while it
    /// detects tones), or one SIP INFO per digit.
    fn press(
        &mut self,
        who: &str,
        call: Option<CallId>,
        leg: Option<LegId>,
        digits: &str,
        info: bool,
    ) {
        if info {
            match leg.filter(|leg| self.ua.is_confirmed(*leg)) {
                Some(leg) => {
                    self.note(format!("{who} presses {digits} (SIP INFO)"));
                    for digit in digits.chars() {
                        let body = format!("Signal={digit}\r\nDuration=160\r\n");
                        self.core.handle_ua_event(
                            self.now(),
                            UaEvent::Info {
                                leg,
                                content_type: "application/dtmf-relay".into(),
                                body: body.into_bytes(),
                                headers: Vec::new(),
                            },
                        );
                    }
                }
                None => self.note(format!("{who} presses {digits} (no live call)")),
            }
            return;
        }
        let heard = call.and_then(|call| self.media.digits_from_peer(UnitId(call.0), digits));
        match heard {
            None => self.note(format!("{who} presses {digits} (no live call)")),
            Some(events) if events.is_empty() => self.note(format!(
                "{who} presses {digits} (not heard: handleTones is off)"
            )),
            Some(events) => {
                self.note(format!("{who} presses {digits}"));
                for event in events {
                    self.core.handle_media_event(self.now(), event);
                }
            }
        }
    }

    /// A session the call core started on its own (a conference session):
    /// it runs beside the others, named by its first call's destination.
    fn spawn(&mut self, start: SessionStart) {
        let Some(spawner) = self.spawner.as_mut() else {
            self.note(format!("a second session is not simulated ({})", start.id));
            return;
        };
        let name = match &start.first_event {
            Some(SessionEvent::CallAlerting(incoming)) => {
                let name = incoming.destination.clone();
                self.labels.insert(incoming.call, format!("{name} caller"));
                name
            }
            _ => format!("session {}", self.sessions.len() + 1),
        };
        let id = start.id;
        let events = spawner(start);
        self.note(format!("session {name:?} starts"));
        self.sessions.insert(
            id,
            Live {
                name: Some(name),
                events: Some(events),
            },
        );
    }

    /// Lets the call core start sessions of its own through `spawner`.
    pub(crate) fn set_spawner(&mut self, spawner: Spawner) {
        self.spawner = Some(spawner);
    }

    /// A command from a session: written down as the action it is, then
    /// given to the call core.
    fn command(&mut self, session: SessionId, command: SessionCommand) {
        let name = self.name_of(session);
        if let SessionCommand::Ended { reason } = &command {
            self.ended(session, reason.clone());
        } else {
            for action in self.actions_of(&command) {
                self.push_as(name.clone(), Happened::Action(action));
            }
        }
        let now = self.now();
        self.core.handle_command(now, session, command);
        self.drain();
    }

    /// What the timeline shows of a command: one action, none, or one per
    /// segment of a sequence player.
    fn actions_of(&mut self, command: &SessionCommand) -> Vec<Action> {
        let SessionCommand::CreatePlayer { unit, source, .. } = command else {
            return self.action_of(command).into_iter().collect();
        };
        // How long it plays: the spec's length, else the media's own.
        let (key, natural) = match source {
            PlayerSource::ToneScript(script) => (
                playback_key(source),
                dialtone_media::tones::ToneScript::parse(script)
                    .ok()
                    .map(|s| s.duration()),
            ),
            // Progress tones repeat until stopped.
            PlayerSource::ProgressTone(_) => (playback_key(source), Some(None)),
            // Its segments one after another.
            PlayerSource::Sequence(segments) => (
                String::new(),
                Some(Some(self.segment_lengths(segments).iter().sum())),
            ),
            PlayerSource::Url(_) | PlayerSource::Tts { .. } => (playback_key(source), None),
        };
        self.media
            .player_source(*unit, media::Source { key, natural });
        self.unit_labels.insert(*unit, format!("player#{}", unit.0));
        played(source)
    }

    /// How long each segment of a sequence plays: the spec's length for its
    /// URL or text.
    fn segment_lengths(&self, segments: &[PlayerSource]) -> Vec<Duration> {
        segments
            .iter()
            .map(|segment| self.spec.playback.duration_of(&playback_key(segment)))
            .collect()
    }

    fn action_of(&mut self, command: &SessionCommand) -> Option<Action> {
        Some(match command {
            SessionCommand::Answer { .. } => Action::Answered,
            SessionCommand::Reject { code, .. } => Action::Rejected(*code),
            SessionCommand::Ring { .. } => Action::Ring,
            SessionCommand::StartEarlyMedia { .. } => Action::EarlyMedia,
            SessionCommand::Hangup { call, .. } => Action::Hangup(self.label(UnitId(call.0))),
            SessionCommand::CallSip(out) => {
                self.labels.insert(out.call, out.to.clone());
                Action::CallSip(out.to.clone())
            }
            SessionCommand::CallPstn(out) => {
                self.labels.insert(out.call, format!("pstn:{}", out.to));
                Action::CallPstn(out.to.clone())
            }
            SessionCommand::CallUser(out) => {
                self.labels.insert(out.call, format!("user:{}", out.to));
                Action::CallUser(out.to.clone())
            }
            SessionCommand::CallConference(out) => {
                let label = format!("conference:{}", out.to);
                self.labels.insert(out.call, label.clone());
                Action::CallSip(label)
            }
            SessionCommand::SendMedia { from, to } => Action::Media {
                from: self.unit_label(*from),
                to: self.unit_label(*to),
            },
            // Written down by `actions_of`.
            SessionCommand::CreatePlayer { .. } => return None,
            SessionCommand::StopPlayback { .. } => Action::StopPlayback,
            SessionCommand::SendDigits { digits, .. } => Action::Digits(digits.clone()),
            SessionCommand::CreateRecorder { unit, call, .. } => {
                self.unit_labels
                    .insert(*unit, format!("recorder#{}", unit.0));
                match call {
                    Some(call) => Action::Record(self.label(UnitId(call.0))),
                    None => Action::Record("recorder".into()),
                }
            }
            SessionCommand::Storage { .. }
            | SessionCommand::AcdEnqueue(_)
            | SessionCommand::AcdCancel { .. }
            | SessionCommand::AcdStatus { .. } => return None,
            SessionCommand::HttpRequest {
                url, method, body, ..
            } => Action::Http {
                method: method.clone(),
                url: url.clone(),
                body: body
                    .as_ref()
                    .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
                    .unwrap_or_default(),
            },
            SessionCommand::Hold { call, hold } => Action::Hold {
                call: self.label(UnitId(call.0)),
                hold: *hold,
            },
            SessionCommand::ReInvite { call, .. } => Action::ReInvite(self.label(UnitId(call.0))),
            SessionCommand::SendInfo {
                mime_type, body, ..
            } => Action::Info {
                mime_type: mime_type.clone(),
                body: body.clone(),
            },
            SessionCommand::SendMessage { text, .. } => Action::Message(text.clone()),
            SessionCommand::TransferTo { target, .. } => Action::Transfer(target.clone()),
            SessionCommand::TransferToCall { other, .. } => {
                Action::Transfer(self.label(UnitId(other.0)))
            }
            SessionCommand::NotifyBlindTransfer { code, .. } => Action::TransferNotified(*code),
            SessionCommand::CreateConference { unit } => {
                self.unit_labels
                    .insert(*unit, format!("conference#{}", unit.0));
                return None;
            }
            // A member that speaks into a conference sends it its media.
            SessionCommand::ConferenceMember {
                conference,
                member,
                send: true,
                ..
            } => Action::Media {
                from: self.unit_label(*member),
                to: self.unit_label(*conference),
            },
            SessionCommand::StopMedia { .. }
            | SessionCommand::ConferenceMember { .. }
            | SessionCommand::ConferenceRemove { .. }
            | SessionCommand::CallStatistics { .. }
            | SessionCommand::StopConference { .. }
            | SessionCommand::HandleReInvites { .. }
            | SessionCommand::HandleBlindTransfer { .. }
            | SessionCommand::AcceptReInvite { .. }
            | SessionCommand::RejectReInvite { .. }
            | SessionCommand::PlayerControl { .. }
            | SessionCommand::HandleTones { .. }
            | SessionCommand::RtpTimeoutHangup { .. }
            | SessionCommand::RecorderControl { .. }
            | SessionCommand::Ended { .. } => return None,
        })
    }

    fn unit_label(&self, unit: UnitId) -> String {
        match self.unit_labels.get(&unit) {
            Some(label) => label.clone(),
            None => self.label(unit),
        }
    }

    fn ended(&mut self, session: SessionId, reason: SessionEnd) {
        let name = self.name_of(session);
        match reason {
            SessionEnd::Normal => {}
            SessionEnd::ScriptError(text) | SessionEnd::CompileError(text) => {
                // The session log already carries the error line; add the
                // reason only when it says something new.
                let logged = self.timeline.iter().any(|e| {
                    e.session == name
                        && matches!(&e.what, Happened::Action(Action::Error(t)) if t.contains(&text))
                });
                if !logged {
                    self.push_as(name.clone(), Happened::Action(Action::Error(text)));
                }
            }
        }
        self.push_as(name, Happened::Action(Action::Terminated));
        // Nothing reaches the session any more.
        if let Some(live) = self.sessions.get_mut(&session) {
            live.events = None;
        }
        if self.sessions.values().any(|live| live.events.is_some()) {
            // The world goes on for the sessions still running.
            return;
        }
        self.ended_at = Some(self.elapsed());
        // Only requests to the spec's session's `accessURL` still happen,
        // to be told it is gone.
        let spec = self.spec;
        self.agenda.retain(|(_, _, due)| match due {
            Due::Spec(index) => matches!(spec.events[*index].action, WorldAction::Request(_)),
            _ => false,
        });
    }
}

/// The spec's `playback` key of what a player plays: its URL, text, tone
/// script or country (a sequence has none: each segment has its own).
fn playback_key(source: &PlayerSource) -> String {
    match source {
        PlayerSource::Url(text)
        | PlayerSource::Tts { text, .. }
        | PlayerSource::ToneScript(text)
        | PlayerSource::ProgressTone(text) => text.clone(),
        PlayerSource::Sequence(_) => String::new(),
    }
}

/// What the timeline shows of a player: what it plays, or says (a
/// sequence: each segment in order).
fn played(source: &PlayerSource) -> Vec<Action> {
    match source {
        PlayerSource::Url(url) => vec![Action::Play(url.clone())],
        PlayerSource::Tts { text, .. } => vec![Action::Say(text.clone())],
        PlayerSource::ToneScript(script) => vec![Action::ToneScript(script.clone())],
        PlayerSource::ProgressTone(country) => vec![Action::ProgressTone(country.clone())],
        PlayerSource::Sequence(segments) => segments.iter().flat_map(played).collect(),
    }
}
