//! The simulated engine: it answers a session's commands with the events a
//! real engine would send, plays the spec's outside world at its virtual
//! times, and writes down everything in a timeline.

use std::collections::HashMap;
use std::time::Duration;

use dialtone_core::messages::{
    AccessResponse, CallEvent, CallState, EventSender, RecorderOp, SessionCommand, SessionEnd,
    SessionEvent,
};
use dialtone_core::{CallId, UnitId};
use tokio::sync::oneshot;
use tokio::time::{sleep_until, Instant};

use crate::expect::Action;
use crate::inbox::{Inbox, Item};
use crate::report::{Entry, Happened};
use crate::spec::{Callee, Spec, WorldAction};

mod access;
mod http;
mod media;

pub(crate) use access::access_url;

/// How long the session gets to end after the spec's timeout told it to,
/// before its event channel is closed.
const GRACE: Duration = Duration::from_secs(60);

struct SimCall {
    label: String,
    state: CallState,
    connected_at: Option<Instant>,
    tones: bool,
    playback: Option<UnitId>,
}

struct SimPlayer {
    owner: Option<CallId>,
    /// Time left when paused.
    paused_with: Option<Duration>,
}

struct SimRecorder {
    call: Option<CallId>,
    url: String,
    started: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Due {
    Spec(usize),
    Ring(CallId),
    Answer(CallId),
    Fail(CallId, u16),
    RemoteHangup(CallId),
    PlaybackDone(UnitId),
    HttpResponse(u64),
}

pub(crate) struct World<'a> {
    spec: &'a Spec,
    start: Instant,
    events: Option<EventSender>,
    inbound: Option<CallId>,
    calls: HashMap<CallId, SimCall>,
    players: HashMap<UnitId, SimPlayer>,
    recorders: HashMap<UnitId, SimRecorder>,
    timers: Vec<(Instant, Due)>,
    recordings: u32,
    /// Answers to `Net` requests, sent when their `Due::HttpResponse` fires.
    http: HashMap<u64, http::PendingAnswer>,
    inbox: Inbox,
    /// The path of the session's `accessURL`.
    access_path: String,
    /// Requests to the `accessURL` the session has not answered yet.
    answers: HashMap<u64, oneshot::Receiver<AccessResponse>>,
    next_request: u64,
    pub(crate) timeline: Vec<Entry>,
    pub(crate) timed_out: bool,
    /// Virtual time at which the session ended.
    pub(crate) ended_at: Option<Duration>,
}

impl<'a> World<'a> {
    pub(crate) fn new(
        spec: &'a Spec,
        events: EventSender,
        inbound: Option<CallId>,
        inbox: Inbox,
        access_path: String,
    ) -> World<'a> {
        let start = Instant::now();
        let mut calls = HashMap::new();
        if let Some(call) = inbound {
            calls.insert(
                call,
                SimCall {
                    label: "caller".into(),
                    state: CallState::Alerting,
                    connected_at: None,
                    tones: false,
                    playback: None,
                },
            );
        }
        let timers = (0..spec.events.len())
            .map(|index| (start + spec.events[index].at, Due::Spec(index)))
            .collect();
        World {
            spec,
            start,
            events: Some(events),
            inbound,
            calls,
            players: HashMap::new(),
            recorders: HashMap::new(),
            timers,
            recordings: 0,
            http: HashMap::new(),
            inbox,
            access_path,
            answers: HashMap::new(),
            next_request: 0,
            timeline: Vec::new(),
            timed_out: false,
            ended_at: None,
        }
    }

    /// Plays the world until the session reports its end, then the spec's
    /// requests to its `accessURL` still to come (they get no answer).
    pub(crate) async fn run(&mut self) {
        let inbox = self.inbox.clone();
        let mut deadline = self.start + self.spec.timeout;
        loop {
            let over = self.ended_at.is_some();
            let next_timer = self.timers.iter().map(|(at, _)| *at).min();
            let wake = match next_timer {
                Some(at) if over => at,
                None if over => break,
                at => at.map_or(deadline, |at| at.min(deadline)),
            };
            tokio::select! {
                biased;
                item = inbox.next(), if !over => match item {
                    Some(Item::Command(SessionCommand::Ended { reason })) => self.ended(reason),
                    Some(Item::Command(command)) => self.command(command),
                    Some(Item::Log(line)) => self.act(Action::Log(line)),
                    Some(Item::Error(text)) => self.act(Action::Error(text)),
                    Some(Item::Answer(id)) => self.answer_ready(id),
                    None => break,
                },
                () = sleep_until(wake) => {
                    let now = Instant::now();
                    if !over && now >= deadline {
                        if self.timed_out {
                            // The session ignored Terminate: closing its
                            // event channel ends it, and its `Ended` follows;
                            // there is nothing left to wake up for.
                            self.events = None;
                            deadline = now + Duration::from_secs(86_400);
                        } else {
                            self.timed_out = true;
                            self.timers.clear();
                            self.world("timeout: the engine ends the session".into());
                            self.send(SessionEvent::Terminate { reason: "test timeout".into() });
                            deadline = now + GRACE;
                        }
                    } else {
                        self.fire_due(now);
                    }
                }
            }
        }
        self.settle_answers();
    }

    fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(self.start)
    }

    fn act(&mut self, action: Action) {
        let at = self.elapsed();
        self.timeline.push(Entry {
            at,
            what: Happened::Action(action),
        });
    }

    fn world(&mut self, what: String) {
        let at = self.elapsed();
        self.timeline.push(Entry {
            at,
            what: Happened::World(what),
        });
    }

    fn send(&self, event: SessionEvent) {
        if let Some(events) = &self.events {
            // A session that has ended drops its receiver; nothing to tell.
            let _ = events.send(event);
        }
    }

    fn call_event(&self, call: CallId, event: CallEvent) {
        self.send(SessionEvent::Call { call, event });
    }

    fn label(&self, unit: UnitId) -> String {
        if let Some(call) = self.calls.get(&CallId(unit.0)) {
            call.label.clone()
        } else if self.players.contains_key(&unit) {
            format!("player#{}", unit.0)
        } else if self.recorders.contains_key(&unit) {
            format!("recorder#{}", unit.0)
        } else {
            format!("unit#{}", unit.0)
        }
    }

    fn live(&self, call: CallId) -> bool {
        self.calls
            .get(&call)
            .is_some_and(|c| c.state != CallState::Terminated)
    }

    fn schedule(&mut self, after: Duration, due: Due) {
        self.timers.push((Instant::now() + after, due));
    }

    fn fire_due(&mut self, now: Instant) {
        // In deadline order; same-time timers keep their scheduling order.
        while let Some(index) = self
            .timers
            .iter()
            .enumerate()
            .filter(|(_, (at, _))| *at <= now)
            .min_by_key(|(_, (at, _))| *at)
            .map(|(index, _)| index)
        {
            let (_, due) = self.timers.remove(index);
            self.fire(due);
        }
    }

    fn fire(&mut self, due: Due) {
        match due {
            Due::Spec(index) => self.spec_event(index),
            Due::Ring(call) if self.live(call) => {
                self.world(format!("{} rings", self.label(call.into())));
                self.call_event(
                    call,
                    CallEvent::Ringing {
                        headers: Vec::new(),
                    },
                );
            }
            Due::Answer(call) if self.live(call) => {
                self.world(format!("{} answers", self.label(call.into())));
                self.connect(call);
                let hangup_after = self.callee_of(call).and_then(|c| c.hangup_after);
                if let Some(after) = hangup_after {
                    self.schedule(after, Due::RemoteHangup(call));
                }
            }
            Due::Fail(call, code) if self.live(call) => {
                self.world(format!("{} fails with {code}", self.label(call.into())));
                let event = CallEvent::Failed {
                    code,
                    reason: reason_phrase(code).into(),
                    headers: Vec::new(),
                };
                self.end_call(call, event);
            }
            Due::RemoteHangup(call) if self.live(call) => {
                self.world(format!("{} hangs up", self.label(call.into())));
                let event = self.disconnected(call, 200, "Normal Call Clearing");
                self.end_call(call, event);
            }
            Due::PlaybackDone(unit) => self.playback_done(unit),
            Due::HttpResponse(id) => self.http_response(id),
            _ => {}
        }
    }

    fn callee_of(&self, call: CallId) -> Option<Callee> {
        let label = &self.calls.get(&call)?.label;
        Some(
            self.spec
                .callees
                .get(label)
                .cloned()
                .unwrap_or_else(Callee::unlisted),
        )
    }

    fn call_by_label(&self, label: Option<&str>) -> Option<CallId> {
        match label {
            None => self.inbound,
            Some(label) => self
                .calls
                .iter()
                .find(|(_, c)| c.label == label)
                .map(|(id, _)| *id),
        }
    }

    fn spec_event(&mut self, index: usize) {
        let event = &self.spec.events[index];
        let target = self.call_by_label(event.call.as_deref());
        let who = event.call.clone().unwrap_or_else(|| "caller".into());
        match &event.action {
            WorldAction::Dtmf(digits) => match target {
                Some(call) if self.live(call) => {
                    let tones = self.calls.get(&call).is_some_and(|c| c.tones);
                    if tones {
                        self.world(format!("{who} presses {digits}"));
                        for tone in digits.chars() {
                            let tone = tone.to_string();
                            self.call_event(call, CallEvent::ToneReceived { tone });
                        }
                    } else {
                        self.world(format!(
                            "{who} presses {digits} (not heard: handleTones is off)"
                        ));
                    }
                }
                _ => self.world(format!("{who} presses {digits} (no live call)")),
            },
            WorldAction::Hangup => match target {
                Some(call) if self.live(call) => {
                    self.world(format!("{who} hangs up"));
                    let answered = self
                        .calls
                        .get(&call)
                        .is_some_and(|c| c.connected_at.is_some());
                    let event = if answered {
                        self.disconnected(call, 200, "Normal Call Clearing")
                    } else if Some(call) == self.inbound {
                        self.disconnected(call, 487, "Request Terminated")
                    } else {
                        CallEvent::Failed {
                            code: 487,
                            reason: "Request Terminated".into(),
                            headers: Vec::new(),
                        }
                    };
                    self.end_call(call, event);
                }
                _ => self.world(format!("{who} hangs up (no live call)")),
            },
            WorldAction::Terminate(reason) => {
                self.world(format!("the engine ends the session: {reason}"));
                let reason = reason.clone();
                self.send(SessionEvent::Terminate { reason });
            }
            WorldAction::Request(request) => self.access_request(request),
        }
    }

    fn disconnected(&self, call: CallId, code: u16, reason: &str) -> CallEvent {
        let duration = self
            .calls
            .get(&call)
            .and_then(|c| c.connected_at)
            .map(|at| Instant::now().saturating_duration_since(at))
            .unwrap_or_default();
        CallEvent::Disconnected {
            code,
            reason: reason.into(),
            duration,
            headers: Vec::new(),
        }
    }

    fn connect(&mut self, call: CallId) {
        let Some(sim) = self.calls.get_mut(&call) else {
            return;
        };
        let old = sim.state;
        sim.state = CallState::Connected;
        sim.connected_at = Some(Instant::now());
        let headers = Vec::new;
        self.call_event(call, CallEvent::Connected { headers: headers() });
        self.call_event(
            call,
            CallEvent::StateChanged {
                old,
                new: CallState::Connected,
            },
        );
        self.call_event(call, CallEvent::AudioStarted { headers: headers() });
    }

    /// Ends a call with `event`, then stops what depended on it.
    fn end_call(&mut self, call: CallId, event: CallEvent) {
        let Some(sim) = self.calls.get_mut(&call) else {
            return;
        };
        sim.state = CallState::Terminated;
        let playback = sim.playback.take();
        self.timers
            .retain(|(_, due)| !matches!(due, Due::Ring(c) | Due::Answer(c) | Due::Fail(c, _) | Due::RemoteHangup(c) if *c == call));
        if let Some(unit) = playback {
            self.cancel_playback(unit);
        }
        self.call_event(call, event);
        let recorders: Vec<UnitId> = self
            .recorders
            .iter()
            .filter(|(_, r)| r.call == Some(call))
            .map(|(unit, _)| *unit)
            .collect();
        for unit in recorders {
            self.stop_recorder(unit);
        }
    }

    fn ended(&mut self, reason: SessionEnd) {
        match reason {
            SessionEnd::Normal => {}
            SessionEnd::ScriptError(text) | SessionEnd::CompileError(text) => {
                // The session log already carries the error line; add the
                // reason only when it says something new.
                let logged = self.timeline.iter().any(
                    |e| matches!(&e.what, Happened::Action(Action::Error(t)) if t.contains(&text)),
                );
                if !logged {
                    self.act(Action::Error(text));
                }
            }
        }
        self.act(Action::Terminated);
        self.ended_at = Some(self.elapsed());
        // Nothing reaches the session any more; only requests to its
        // `accessURL` still happen, to be told it is gone.
        self.events = None;
        let spec = self.spec;
        self.timers.retain(|(_, due)| match due {
            Due::Spec(index) => matches!(spec.events[*index].action, WorldAction::Request(_)),
            _ => false,
        });
    }

    fn command(&mut self, command: SessionCommand) {
        match command {
            SessionCommand::Answer { call, .. } => {
                self.act(Action::Answered);
                let unanswered = self.calls.get(&call).is_some_and(|c| {
                    Some(call) == self.inbound
                        && matches!(c.state, CallState::Alerting | CallState::Progressing)
                });
                if unanswered {
                    self.connect(call);
                }
            }
            SessionCommand::Reject { call, code, .. } => {
                self.act(Action::Rejected(code));
                let unanswered = self
                    .calls
                    .get(&call)
                    .is_some_and(|c| c.connected_at.is_none());
                if unanswered && self.live(call) {
                    let event = self.disconnected(call, code, reason_phrase(code));
                    self.end_call(call, event);
                }
            }
            SessionCommand::Ring { .. } => self.act(Action::Ring),
            SessionCommand::StartEarlyMedia { call, .. } => {
                self.act(Action::EarlyMedia);
                if self.live(call) {
                    let headers = Vec::new();
                    self.call_event(call, CallEvent::AudioStarted { headers });
                }
            }
            SessionCommand::Hangup { call, .. } => {
                let label = self.label(call.into());
                self.act(Action::Hangup(label));
                if self.live(call) {
                    let answered = self
                        .calls
                        .get(&call)
                        .is_some_and(|c| c.connected_at.is_some());
                    let event = if answered {
                        self.disconnected(call, 200, "Normal Call Clearing")
                    } else if Some(call) == self.inbound {
                        self.disconnected(call, 603, reason_phrase(603))
                    } else {
                        CallEvent::Failed {
                            code: 487,
                            reason: "Request Terminated".into(),
                            headers: Vec::new(),
                        }
                    };
                    self.end_call(call, event);
                }
            }
            SessionCommand::CallSip(out) => self.call_sip(out.call, out.to),
            SessionCommand::SendMedia { from, to } => {
                let (from, to) = (self.label(from), self.label(to));
                self.act(Action::Media { from, to });
            }
            SessionCommand::StopMedia { .. } => {}
            SessionCommand::CreatePlayer {
                unit,
                source,
                looped,
                owner,
            } => self.create_player(unit, source, looped, owner),
            SessionCommand::PlayerControl { unit, op } => self.player_control(unit, op),
            SessionCommand::StopPlayback { call } => {
                self.act(Action::StopPlayback);
                let playback = self.calls.get_mut(&call).and_then(|c| c.playback.take());
                if let Some(unit) = playback {
                    self.cancel_playback(unit);
                }
            }
            SessionCommand::HandleTones { call, enable } => {
                if let Some(sim) = self.calls.get_mut(&call) {
                    sim.tones = enable;
                }
            }
            SessionCommand::SendDigits { digits, .. } => self.act(Action::Digits(digits)),
            SessionCommand::CreateRecorder { unit, call, .. } => self.create_recorder(unit, call),
            SessionCommand::RecorderControl { unit, op } => {
                if op == RecorderOp::Stop {
                    self.stop_recorder(unit);
                }
            }
            SessionCommand::HttpRequest {
                id,
                url,
                method,
                body,
                timeout,
                ..
            } => self.http_request(http::NetRequest {
                id,
                url,
                method,
                body,
                timeout,
            }),
            SessionCommand::Ended { reason } => self.ended(reason),
        }
    }

    fn call_sip(&mut self, call: CallId, to: String) {
        self.act(Action::CallSip(to.clone()));
        let callee = self
            .spec
            .callees
            .get(&to)
            .cloned()
            .unwrap_or_else(Callee::unlisted);
        self.calls.insert(
            call,
            SimCall {
                label: to,
                state: CallState::Progressing,
                connected_at: None,
                tones: false,
                playback: None,
            },
        );
        if let Some(at) = callee.ring {
            self.schedule(at, Due::Ring(call));
        }
        if let Some(at) = callee.answer {
            self.schedule(at, Due::Answer(call));
        }
        if let Some((code, at)) = callee.fail {
            self.schedule(at, Due::Fail(call, code));
        }
    }
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        404 => "Not Found",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        486 => "Busy Here",
        487 => "Request Terminated",
        500 => "Server Internal Error",
        503 => "Service Unavailable",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "Call Failed",
    }
}
