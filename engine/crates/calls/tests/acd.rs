//! The ACD on virtual time: longest-idle agent first, skills and
//! priorities, atomic reservation, ring-no-answer putting the caller back
//! at its place and the agent in not ready, after-call work, Offline,
//! QueueFull, cancel and abandoned sessions, queue statistics.

mod harness;

use std::collections::BTreeMap;
use std::time::Duration;

use dialtone_calls::{
    AgentCommand, AgentConfig, AgentError, AgentState, AgentStatus, Fact, MediaCommand,
    MonitorMode, Output, QueueConfig, RouteOwner, StartRequest, UserKey,
};
use dialtone_core::acd::{AcdEnqueue, AcdEvent};
use dialtone_core::messages::{SessionCommand, SessionEnd, SessionEvent};
use dialtone_core::{CallId, SessionId};
use dialtone_sip::{LegId, Peer, Transport, UaCommand, UaEvent};
use harness::*;

const ACCOUNT: &str = "acc";

fn agent(id: &str, skills: &[(&str, u8)]) -> AgentConfig {
    AgentConfig {
        account: ACCOUNT.into(),
        id: id.into(),
        name: id.to_uppercase(),
        application: "centre".into(),
        user: format!("{id}-phone"),
        supervisor: false,
        skills: skills.iter().map(|(s, l)| (s.to_string(), *l)).collect(),
        queues: vec!["sales".into()],
    }
}

fn queue(skills: &[(&str, u8)]) -> QueueConfig {
    QueueConfig {
        account: ACCOUNT.into(),
        name: "sales".into(),
        skills: skills
            .iter()
            .map(|(s, l)| (s.to_string(), *l))
            .collect::<BTreeMap<_, _>>(),
        max_waiting: 3,
        ring_timeout: Duration::from_secs(15),
        after_call_work: Duration::from_secs(10),
        service_level: Duration::from_secs(20),
    }
}

struct Centre {
    h: Harness,
    /// Agent id → the phone's address (one binding each).
    phones: Vec<(String, String)>,
}

impl Centre {
    fn new(agents: Vec<AgentConfig>, q: QueueConfig) -> Centre {
        let mut h = Harness::new(None);
        let mut phones = Vec::new();
        for (i, a) in agents.iter().enumerate() {
            let key = UserKey {
                account: ACCOUNT.into(),
                application: a.application.clone(),
                user: a.user.clone(),
            };
            let addr = format!("10.1.0.{}:5060", i + 1);
            let now = h.now;
            h.core.bind(
                now,
                &key,
                &format!("sip:{}@10.1.0.{}", a.user, i + 1),
                Peer {
                    transport: Transport::Udp,
                    addr: addr.parse().unwrap(),
                },
                Duration::from_secs(36_000),
            );
            phones.push((a.id.clone(), addr));
        }
        let now = h.now;
        h.core.set_contact_centre(now, ACCOUNT, agents, vec![q]);
        h.take();
        Centre { h, phones }
    }

    fn session(&mut self) -> SessionId {
        let started = self
            .h
            .core
            .start_session(
                self.h.now,
                StartRequest {
                    scenario: self.h.scenario.clone(),
                    custom_data: String::new(),
                    owner: Some(RouteOwner {
                        account: ACCOUNT.into(),
                        application: "ivr".into(),
                        rule: None,
                    }),
                },
            )
            .expect("admitted");
        self.h.take();
        started.id
    }

    /// A command for agent `id`, now.
    fn act(&mut self, id: &str, command: AgentCommand) -> Result<AgentStatus, AgentError> {
        let now = self.h.now;
        self.h.core.agent_command(now, ACCOUNT, id, command)
    }

    fn ready(&mut self, id: &str) -> Vec<Output> {
        let now = self.h.now;
        let _ = self
            .h
            .core
            .agent_command(now, ACCOUNT, id, AgentCommand::Login);
        self.h
            .core
            .agent_command(now, ACCOUNT, id, AgentCommand::Ready)
            .expect("ready");
        self.h.take()
    }

    fn state(&self, id: &str) -> AgentState {
        self.h
            .core
            .agent_statuses(self.h.now, ACCOUNT)
            .into_iter()
            .find(|a| a.id == id)
            .map(|a| a.state)
            .expect("agent")
    }

    fn enqueue(&mut self, session: SessionId, request: u64, priority: u8) -> Vec<Output> {
        self.h.cmd(
            session,
            SessionCommand::AcdEnqueue(Box::new(AcdEnqueue {
                request,
                queue: "sales".into(),
                callerid: "15550001".into(),
                priority,
                custom_data: String::new(),
                headers: vec![],
                agent: None,
            })),
        )
    }

    /// Which agent (by phone address) a Dial in `out` rings, and its leg.
    fn rung(&self, out: &[Output]) -> Vec<(String, LegId, dialtone_sip::Body)> {
        ua_cmds(out)
            .into_iter()
            .filter_map(|c| match c {
                UaCommand::Dial {
                    leg, target, body, ..
                } => {
                    let addr = target.addr.to_string();
                    let agent = self
                        .phones
                        .iter()
                        .find(|(_, a)| *a == addr)
                        .map(|(id, _)| id.clone())?;
                    Some((agent, leg, body.expect("offer")))
                }
                _ => None,
            })
            .collect()
    }
}

fn acd_events(out: &[Output]) -> Vec<(u64, AcdEvent)> {
    events(out)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Acd { request, event } => Some((request, event)),
            _ => None,
        })
        .collect()
}

/// The far end of `leg` hangs up.
fn bye(c: &mut Centre, leg: LegId) -> Vec<Output> {
    c.h.ua(UaEvent::Terminated {
        leg,
        by_remote: true,
        code: 200,
        reason: "BYE".into(),
        headers: vec![],
    })
}

/// ann (the only agent) ready, a request of a new session rung to her
/// phone and answered: the session and her call's leg.
fn ann_talking(c: &mut Centre) -> (SessionId, LegId) {
    c.ready("ann");
    let s = c.session();
    let out = c.enqueue(s, 1, 50);
    let rung = c.rung(&out);
    answer(c, rung[0].1, &rung[0].2);
    (s, rung[0].1)
}

fn answer(c: &mut Centre, leg: LegId, offer: &dialtone_sip::Body) -> Vec<Output> {
    c.h.ua(UaEvent::Answered {
        leg,
        body: Some(answer_to(offer)),
        headers: Vec::new(),
    })
}

#[test]
fn the_longest_idle_agent_takes_the_call_then_wraps_up() {
    let mut c = Centre::new(vec![agent("ann", &[]), agent("bob", &[])], queue(&[]));
    c.ready("bob");
    c.h.now += Duration::from_secs(5);
    c.ready("ann");
    let s = c.session();
    let out = c.enqueue(s, 1, 50);
    let ev = acd_events(&out);
    assert!(matches!(ev[0], (1, AcdEvent::Queued)), "{ev:?}");
    let (call, agent) = match &ev[1] {
        (
            1,
            AcdEvent::OperatorCallAttempt {
                call,
                agent,
                callerid,
                ..
            },
        ) => {
            assert_eq!(callerid, "15550001");
            (*call, agent.clone())
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(agent, "bob-phone", "bob has been ready longest");
    let rung = c.rung(&out);
    assert_eq!(rung.len(), 1);
    assert_eq!(rung[0].0, "bob");
    assert_eq!(c.state("bob"), AgentState::Reserved);
    let out = answer(&mut c, rung[0].1, &rung[0].2);
    assert!(acd_events(&out).iter().any(|(r, e)| *r == 1
        && *e
            == AcdEvent::OperatorReached {
                call,
                agent: "bob-phone".into()
            }));
    assert_eq!(c.state("bob"), AgentState::Talking);
    // The agent's call ends: after-call work for the queue's 10 s.
    bye(&mut c, rung[0].1);
    assert_eq!(c.state("bob"), AgentState::AfterCallWork);
    c.h.advance(Duration::from_secs(9));
    assert_eq!(c.state("bob"), AgentState::AfterCallWork);
    c.h.advance(Duration::from_secs(2));
    assert_eq!(c.state("bob"), AgentState::Ready);
    let stats = c.h.core.queue_stats(c.h.now, ACCOUNT);
    assert_eq!((stats[0].answered, stats[0].abandoned), (1, 0));
    assert_eq!(stats[0].service_level_pct, Some(100.0));
}

#[test]
fn no_answer_puts_the_caller_back_at_its_place_and_the_agent_in_not_ready() {
    let mut c = Centre::new(vec![agent("ann", &[]), agent("bob", &[])], queue(&[]));
    c.ready("ann");
    let s = c.session();
    let first = c.enqueue(s, 1, 50);
    let (ann_leg, _) = {
        let r = c.rung(&first);
        (r[0].1, r[0].2.clone())
    };
    c.h.ua(UaEvent::Provisional {
        leg: ann_leg,
        code: 180,
        reason: "Ringing".into(),
        body: None,
        headers: vec![],
    });
    // A second caller arrives while ann's phone rings.
    let s2 = c.session();
    let out = c.enqueue(s2, 7, 50);
    assert!(c.rung(&out).is_empty(), "no agent is offered two calls");
    c.ready("bob");
    // bob is free, but the first caller is still ringing ann: bob takes
    // the second one.
    // 15 s of ringing: CANCEL; the failure is a no-answer.
    let out = c.h.advance(Duration::from_secs(15));
    assert!(ua_cmds(&out)
        .iter()
        .any(|c| matches!(c, UaCommand::Hangup { leg, .. } if *leg == ann_leg)));
    let out = c.h.ua(UaEvent::Failed {
        leg: ann_leg,
        code: 487,
        reason: "Request Terminated".into(),
        headers: vec![],
    });
    assert!(acd_events(&out).contains(&(
        1,
        AcdEvent::OperatorFailed {
            agent: "ann-phone".into(),
            code: 408
        }
    )));
    assert_eq!(c.state("ann"), AgentState::NotReady);
    let status =
        c.h.core
            .agent_statuses(c.h.now, ACCOUNT)
            .into_iter()
            .find(|a| a.id == "ann")
            .unwrap();
    assert_eq!((status.reason.as_str(), status.missed), ("no answer", 1));
}

#[test]
fn requests_go_by_priority_then_arrival_to_agents_with_the_skills() {
    let mut c = Centre::new(
        vec![
            agent("ann", &[("english", 2)]),
            agent("bob", &[("english", 4)]),
        ],
        queue(&[("english", 3)]),
    );
    let _ =
        c.h.core
            .agent_command(c.h.now, ACCOUNT, "ann", AgentCommand::Login);
    let _ =
        c.h.core
            .agent_command(c.h.now, ACCOUNT, "bob", AgentCommand::Login);
    let s = c.session();
    for (request, priority) in [(1, 50), (2, 50), (3, 10)] {
        let out = c.enqueue(s, request, priority);
        assert_eq!(acd_events(&out), vec![(request, AcdEvent::Queued)]);
    }
    // Full at 3 (the queue's maximum).
    let out = c.enqueue(s, 4, 50);
    assert_eq!(acd_events(&out), vec![(4, AcdEvent::QueueFull)]);
    // ann lacks the level: nothing for her.
    let out = c.ready("ann");
    assert!(c.rung(&out).is_empty());
    let out = c.ready("bob");
    let ev = acd_events(&out);
    assert!(
        matches!(&ev[..], [(3, AcdEvent::OperatorCallAttempt { .. })]),
        "the priority-10 request first: {ev:?}"
    );
    // Its place: request 1 is next, then 2.
    let out = c.h.cmd(s, SessionCommand::AcdStatus { request: 2 });
    assert!(matches!(
        acd_events(&out)[..],
        [(2, AcdEvent::Waiting { position: 2, .. })]
    ));
}

#[test]
fn offline_unknown_queue_and_supervisors() {
    let mut boss = agent("boss", &[]);
    boss.supervisor = true;
    let mut c = Centre::new(vec![agent("ann", &[]), boss], queue(&[]));
    let s = c.session();
    let out = c.enqueue(s, 1, 50);
    assert_eq!(
        acd_events(&out),
        vec![(1, AcdEvent::Offline)],
        "nobody logged in"
    );
    let now = c.h.now;
    let _ =
        c.h.core
            .agent_command(now, ACCOUNT, "boss", AgentCommand::Login);
    assert_eq!(
        c.h.core
            .agent_command(now, ACCOUNT, "boss", AgentCommand::Ready),
        Err(AgentError::Supervisor)
    );
    let out = c.enqueue(s, 2, 50);
    assert_eq!(
        acd_events(&out),
        vec![(2, AcdEvent::Offline)],
        "a supervisor takes no calls"
    );
    let out = c.h.cmd(
        s,
        SessionCommand::AcdEnqueue(Box::new(AcdEnqueue {
            request: 3,
            queue: "nowhere".into(),
            callerid: String::new(),
            priority: 50,
            custom_data: String::new(),
            headers: vec![],
            agent: None,
        })),
    );
    assert!(matches!(&acd_events(&out)[..], [(3, AcdEvent::Error(_))]));
    // States refuse what does not apply.
    assert!(matches!(
        c.h.core
            .agent_command(now, ACCOUNT, "ann", AgentCommand::CompleteAfterCallWork),
        Err(AgentError::InvalidState { .. })
    ));
    assert!(matches!(
        c.h.core
            .agent_command(now, "other", "ann", AgentCommand::Login),
        Err(AgentError::NotFound(_))
    ));
}

#[test]
fn cancel_and_ended_sessions_free_the_agent_and_count_as_abandoned() {
    let mut c = Centre::new(vec![agent("ann", &[])], queue(&[]));
    c.ready("ann");
    let s = c.session();
    let out = c.enqueue(s, 1, 50);
    let leg = c.rung(&out)[0].1;
    c.h.ua(UaEvent::Provisional {
        leg,
        code: 180,
        reason: "Ringing".into(),
        body: None,
        headers: vec![],
    });
    let out = c.h.cmd(s, SessionCommand::AcdCancel { request: 1 });
    assert!(ua_cmds(&out)
        .iter()
        .any(|cmd| matches!(cmd, UaCommand::Hangup { leg: l, .. } if *l == leg)));
    assert_eq!(c.state("ann"), AgentState::Ready, "not penalized");
    c.h.ua(UaEvent::Failed {
        leg,
        code: 487,
        reason: "Request Terminated".into(),
        headers: vec![],
    });
    assert_eq!(c.state("ann"), AgentState::Ready);
    // A waiting caller whose session ends.
    let now = c.h.now;
    c.h.core
        .agent_command(
            now,
            ACCOUNT,
            "ann",
            AgentCommand::NotReady {
                reason: "lunch".into(),
            },
        )
        .unwrap();
    let s2 = c.session();
    c.enqueue(s2, 1, 50);
    c.h.end_session(s2, SessionEnd::Normal);
    let stats = c.h.core.queue_stats(c.h.now, ACCOUNT);
    assert_eq!(
        (stats[0].waiting, stats[0].abandoned, stats[0].answered),
        (0, 2, 0)
    );
    assert_eq!(stats[0].agents.get("notReady"), Some(&1));
    assert_eq!(stats[0].service_level_pct, Some(0.0));
}

#[test]
fn a_phone_that_is_not_registered_fails_at_once_and_the_next_agent_rings() {
    let mut c = Centre::new(vec![agent("ann", &[]), agent("bob", &[])], queue(&[]));
    let mut ghost = agent("cy", &[]);
    ghost.user = "nobody".into();
    let now = c.h.now;
    c.h.core.set_contact_centre(
        now,
        ACCOUNT,
        vec![agent("ann", &[]), agent("bob", &[]), ghost],
        vec![queue(&[])],
    );
    c.ready("cy");
    c.h.now += Duration::from_secs(1);
    c.ready("ann");
    let s = c.session();
    let out = c.enqueue(s, 1, 50);
    let ev = acd_events(&out);
    assert!(
        ev.contains(&(
            1,
            AcdEvent::OperatorFailed {
                agent: "nobody".into(),
                code: 480
            }
        )),
        "{ev:?}"
    );
    assert_eq!(c.rung(&out)[0].0, "ann");
    assert_eq!(c.state("cy"), AgentState::NotReady);
    let _ = CallId::next();
}

#[test]
fn a_talking_agent_mutes_and_unmutes_its_call() {
    let mut c = Centre::new(vec![agent("ann", &[])], queue(&[]));
    c.ready("ann");
    let s = c.session();
    let out = c.enqueue(s, 1, 50);
    let rung = c.rung(&out);
    let now = c.h.now;
    // Ringing: nothing to mute yet.
    assert!(matches!(
        c.h.core
            .agent_command(now, ACCOUNT, "ann", AgentCommand::Mute),
        Err(AgentError::InvalidState { .. })
    ));
    answer(&mut c, rung[0].1, &rung[0].2);
    for (command, muted) in [(AgentCommand::Mute, true), (AgentCommand::Unmute, false)] {
        let now = c.h.now;
        c.h.core
            .agent_command(now, ACCOUNT, "ann", command)
            .expect("talking");
        let out = c.h.take();
        assert!(
            media_cmds(&out)
                .iter()
                .any(|m| matches!(m, MediaCommand::MuteEndpoint { muted: m, .. } if *m == muted)),
            "{out:?}"
        );
        assert!(facts(&out).iter().any(|f| matches!(
            f,
            Fact::AgentCall { state: "active", muted: m, .. } if *m == muted
        )));
        assert_eq!(c.state("ann"), AgentState::Talking);
    }
}

/// The media commands of `out` that touch mixers or wiring, as text.
fn wiring(out: &[Output]) -> Vec<String> {
    media_cmds(out)
        .into_iter()
        .filter(|m| {
            matches!(
                m,
                MediaCommand::AddMixer { .. }
                    | MediaCommand::SetMember { .. }
                    | MediaCommand::RemoveMember { .. }
                    | MediaCommand::Connect { .. }
                    | MediaCommand::Release(_)
            )
        })
        .map(|m| format!("{m:?}"))
        .collect()
}

fn monitor_states(out: &[Output]) -> Vec<(&'static str, &'static str)> {
    facts(out)
        .into_iter()
        .filter_map(|f| match f {
            Fact::Monitor { mode, state, .. } => Some((mode, state)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_supervisor_listens_whispers_and_barges_without_reinvites() {
    let mut sup = agent("sup", &[]);
    sup.supervisor = true;
    let Consulting {
        mut c,
        customer,
        customer_leg,
        ann_call,
        ..
    } = ann_talking_beside(sup);
    let monitor = |mode| AgentCommand::Monitor {
        agent: "ann".into(),
        mode,
    };
    let now = c.h.now;
    // Only a supervisor monitors, and only a call that is up.
    assert_eq!(
        c.h.core
            .agent_command(now, ACCOUNT, "ann", monitor(MonitorMode::Listen)),
        Err(AgentError::NotSupervisor)
    );
    c.h.core
        .agent_command(now, ACCOUNT, "sup", monitor(MonitorMode::Listen))
        .expect("listen");
    let out = c.h.take();
    assert_eq!(monitor_states(&out), [("listen", "alerting")]);
    let dial = c.rung(&out);
    assert_eq!(dial.len(), 1, "{out:?}");
    assert_eq!(dial[0].0, "sup");
    let out = answer(&mut c, dial[0].1, &dial[0].2);
    assert_eq!(monitor_states(&out), [("listen", "active")]);
    // The session hears nothing of the supervisor's call.
    assert!(events(&out).is_empty(), "{out:?}");
    let w = wiring(&out);
    let (cu, an) = (customer.0, ann_call.0);
    assert!(w[0].starts_with("AddMixer("), "{w:?}");
    let mixer = w[0]
        .trim_start_matches("AddMixer(")
        .trim_end_matches(')')
        .to_string();
    let has = |w: &[String], text: String| assert!(w.contains(&text), "{text} in {w:?}");
    has(
        &w,
        format!("SetMember({mixer} <- {an}, send true, forward false, deaf to 0)"),
    );
    has(
        &w,
        format!("SetMember({mixer} <- {cu}, send true, forward false, deaf to 0)"),
    );
    has(&w, format!("Connect({mixer} -> {cu})"));
    has(&w, format!("Connect({mixer} -> {an})"));
    let sup_call = w
        .iter()
        .find_map(|x| x.strip_prefix(&format!("RemoveMember({mixer} <- ")))
        .map(|x| x.trim_end_matches(')').to_string())
        .expect("listening: the supervisor is no member");
    has(&w, format!("Connect({mixer} -> {sup_call})"));

    // Whisper: the customer is deaf to the supervisor; barge: nobody is.
    for (mode, deaf) in [(MonitorMode::Whisper, 1), (MonitorMode::Barge, 0)] {
        let now = c.h.now;
        c.h.core
            .agent_command(now, ACCOUNT, "sup", monitor(mode))
            .expect("switch");
        let out = c.h.take();
        assert!(ua_cmds(&out).is_empty(), "no re-INVITE: {out:?}");
        let w = wiring(&out);
        has(
            &w,
            format!("SetMember({mixer} <- {cu}, send true, forward false, deaf to {deaf})"),
        );
        has(
            &w,
            format!("SetMember({mixer} <- {sup_call}, send true, forward false, deaf to 0)"),
        );
        assert_eq!(monitor_states(&out), [(mode.as_str(), "active")]);
    }

    // The supervisor hangs up: the mixer goes, the two hear each other.
    let out = bye(&mut c, dial[0].1);
    assert!(events(&out).is_empty(), "{out:?}");
    let w = wiring(&out);
    has(&w, format!("Release({mixer})"));
    has(&w, format!("Connect({an} -> {cu})"));
    has(&w, format!("Connect({cu} -> {an})"));
    assert_eq!(monitor_states(&out), [("barge", "dropped")]);
    assert_eq!(c.state("ann"), AgentState::Talking);

    // Again; this time the customer hangs up, and the supervisor's call ends.
    let now = c.h.now;
    c.h.core
        .agent_command(now, ACCOUNT, "sup", monitor(MonitorMode::Listen))
        .expect("listen");
    let out = c.h.take();
    let dial = c.rung(&out);
    answer(&mut c, dial[0].1, &dial[0].2);
    let out = bye(&mut c, customer_leg);
    assert!(
        ua_cmds(&out)
            .iter()
            .any(|u| matches!(u, UaCommand::Hangup { leg, .. } if *leg == dial[0].1)),
        "{out:?}"
    );
    assert_eq!(monitor_states(&out), [("listen", "dropped")]);
    let now = c.h.now;
    assert!(matches!(
        c.h.core
            .agent_command(now, ACCOUNT, "sup", AgentCommand::StopMonitor),
        Err(AgentError::InvalidState { .. })
    ));
}

#[test]
fn after_call_work_is_delayed_from_now_and_the_call_shows_in_the_status() {
    let mut c = Centre::new(vec![agent("ann", &[])], queue(&[]));
    c.ready("ann");
    let s = c.session();
    let out = c.enqueue(s, 1, 50);
    let rung = c.rung(&out);
    let status = |c: &Centre| c.h.core.agent_statuses(c.h.now, ACCOUNT)[0].clone();
    assert_eq!(status(&c).call_info.expect("ringing").state, "alerting");
    answer(&mut c, rung[0].1, &rung[0].2);
    let now = c.h.now;
    c.h.core
        .agent_command(now, ACCOUNT, "ann", AgentCommand::Mute)
        .expect("mute");
    let info = status(&c).call_info.expect("talking");
    assert_eq!(
        (info.state, info.muted, info.queue.as_str()),
        ("active", true, "sales")
    );
    let delay = AgentCommand::DelayAfterCallWork { seconds: 30 };
    assert!(matches!(
        c.h.core.agent_command(now, ACCOUNT, "ann", delay.clone()),
        Err(AgentError::InvalidState { .. })
    ));
    bye(&mut c, rung[0].1);
    assert_eq!(c.state("ann"), AgentState::AfterCallWork);
    c.h.advance(Duration::from_secs(5));
    let now = c.h.now;
    c.h.core
        .agent_command(now, ACCOUNT, "ann", delay)
        .expect("in after-call work");
    // The queue's 10 s pass: still wrapping up, until 30 s from the delay.
    c.h.advance(Duration::from_secs(25));
    assert_eq!(c.state("ann"), AgentState::AfterCallWork);
    c.h.advance(Duration::from_secs(6));
    assert_eq!(c.state("ann"), AgentState::Ready);
    assert!(status(&c).call_info.is_none());
}

#[test]
fn a_transfer_from_the_desktop_reaches_the_scenario_as_a_refer_would() {
    let mut c = Centre::new(vec![agent("ann", &[])], queue(&[]));
    let (s, _) = ann_talking(&mut c);
    let call = c.h.core.agent_statuses(c.h.now, ACCOUNT)[0]
        .call
        .expect("ann's call");
    let transfer = AgentCommand::Transfer {
        to: "queue:billing".into(),
    };
    let now = c.h.now;
    // The scenario has not said it takes transfers of the call.
    assert_eq!(
        c.h.core
            .agent_command(now, ACCOUNT, "ann", transfer.clone()),
        Err(AgentError::TransferNotTaken)
    );
    let out = c.h.cmd(
        s,
        SessionCommand::HandleBlindTransfer { call, enable: true },
    );
    // Desktops learn that the call can be transferred now.
    assert!(facts(&out).iter().any(|f| matches!(
        f,
        Fact::AgentCall {
            transferable: true,
            state: "active",
            ..
        }
    )));
    c.h.core
        .agent_command(now, ACCOUNT, "ann", transfer)
        .expect("taken");
    let out = c.h.take();
    let got = events(&out);
    assert!(
        got.iter().any(|e| matches!(e,
            SessionEvent::Call {
                call: x,
                event: dialtone_core::messages::CallEvent::BlindTransferRequested { transfer_to, headers, .. },
            } if *x == call && transfer_to == "queue:billing"
                && headers.iter().any(|(n, v)| n == "X-Agent" && v == "ann"))),
        "{got:?}"
    );
    // No SIP: the agent's phone sent nothing to answer.
    assert!(ua_cmds(&out).is_empty(), "{out:?}");
}

#[test]
fn a_request_for_a_named_agent_waits_for_that_agent_only() {
    // ann serves "sales"; bob serves another queue.
    let mut bob = agent("bob", &[]);
    bob.queues = vec!["billing".into()];
    let mut c = Centre::new(vec![agent("ann", &[]), bob], queue(&[]));
    let now = c.h.now;
    for id in ["ann", "bob"] {
        c.h.core
            .agent_command(now, ACCOUNT, id, AgentCommand::Login)
            .expect("login");
    }
    c.h.take();
    let s = c.session();
    // An ordinary request first: nobody ready for it.
    c.enqueue(s, 1, 50);
    let named = |request, agent: &str| {
        SessionCommand::AcdEnqueue(Box::new(AcdEnqueue {
            request,
            queue: "sales".into(),
            callerid: "15550002".into(),
            priority: 50,
            custom_data: String::new(),
            headers: vec![],
            agent: Some(agent.into()),
        }))
    };
    // A named agent who is not logged in: Offline.
    let out = c.h.cmd(s, named(9, "nobody"));
    assert_eq!(acd_events(&out), vec![(9, AcdEvent::Offline)]);
    let out = c.h.cmd(s, named(2, "bob"));
    assert_eq!(acd_events(&out), vec![(2, AcdEvent::Queued)]);
    // ann is ready: she takes the head, not bob's request.
    let out = c.ready("ann");
    let rung = c.rung(&out);
    assert_eq!(
        rung.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["ann"]
    );
    assert!(acd_events(&out)
        .iter()
        .all(|(r, e)| *r == 1 || !matches!(e, AcdEvent::OperatorCallAttempt { .. })));
    // bob is ready: his request rings him, though he does not serve "sales".
    let out = c.ready("bob");
    let rung = c.rung(&out);
    assert_eq!(
        rung.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["bob"]
    );
    assert!(acd_events(&out)
        .iter()
        .any(|(r, e)| *r == 2 && matches!(e, AcdEvent::OperatorCallAttempt { .. })));
}

fn consult_states(out: &[Output]) -> Vec<&'static str> {
    facts(out)
        .into_iter()
        .filter_map(|f| match f {
            Fact::Consult { state, .. } => Some(state),
            _ => None,
        })
        .collect()
}

fn all_media(out: &[Output]) -> Vec<String> {
    media_cmds(out).iter().map(|m| format!("{m:?}")).collect()
}

/// ann talks to a customer of session `s` (bridged by nobody: the test
/// looks at the wiring the consult makes); bob is logged in, not ready.
struct Consulting {
    c: Centre,
    s: SessionId,
    customer: CallId,
    customer_leg: LegId,
    ann_leg: LegId,
    ann_call: CallId,
}

fn ann_talking_to_a_customer() -> Consulting {
    let mut c = ann_talking_beside(agent("bob", &[]));
    c.c.act("bob", AgentCommand::Login).expect("login");
    c
}

/// ann (ready) takes a queue call of a new session whose customer is
/// connected; `other` is configured beside her, logged out.
fn ann_talking_beside(other: AgentConfig) -> Consulting {
    let mut c = Centre::new(vec![agent("ann", &[]), other], queue(&[]));
    c.ready("ann");
    let s = c.session();
    let (customer, customer_leg) = c.h.outbound_connected(s);
    let out = c.enqueue(s, 1, 50);
    let rung = c.rung(&out);
    answer(&mut c, rung[0].1, &rung[0].2);
    let ann_call = c.h.core.agent_statuses(c.h.now, ACCOUNT)[0]
        .call
        .expect("ann's call");
    c.h.take();
    Consulting {
        c,
        s,
        customer,
        customer_leg,
        ann_leg: rung[0].1,
        ann_call,
    }
}

#[test]
fn a_consulted_agent_takes_over_the_call_on_consult_transfer() {
    let Consulting {
        mut c,
        s,
        customer,
        ann_leg,
        ann_call,
        customer_leg: _,
    } = ann_talking_to_a_customer();
    // Nothing to transfer or cancel yet.
    assert!(matches!(
        c.act("ann", AgentCommand::ConsultTransfer),
        Err(AgentError::InvalidState { .. })
    ));
    c.act(
        "ann",
        AgentCommand::Consult {
            to: "agent:bob".into(),
        },
    )
    .expect("consult");
    let out = c.h.take();
    assert_eq!(consult_states(&out), ["alerting"]);
    assert_eq!(c.state("ann"), AgentState::Held);
    assert_eq!(c.state("bob"), AgentState::Reserved);
    let m = all_media(&out);
    let player = m
        .iter()
        .find_map(|x| x.strip_prefix("AddPlayer("))
        .and_then(|x| x.split(',').next())
        .expect("hold music")
        .to_string();
    let (cu, an) = (customer.0, ann_call.0);
    assert!(m.contains(&format!("Connect({player} -> {cu})")), "{m:?}");
    assert!(m.contains(&format!("Disconnect({cu} -> {an})")), "{m:?}");
    let dial = c.rung(&out);
    assert_eq!(dial.len(), 1);
    assert_eq!(dial[0].0, "bob");
    // The scenario never hears of the consult call.
    assert!(events(&out).is_empty(), "{out:?}");

    let out = answer(&mut c, dial[0].1, &dial[0].2);
    assert!(events(&out).is_empty(), "{out:?}");
    assert_eq!(consult_states(&out), ["active"]);
    assert_eq!(c.state("bob"), AgentState::Talking);
    let m = all_media(&out);
    let k = m
        .iter()
        .find_map(|x| {
            x.strip_prefix("Connect(")
                .and_then(|x| x.strip_suffix(&format!(" -> {an})")))
        })
        .expect("ann hears the consulted party")
        .to_string();
    assert!(m.contains(&format!("Connect({an} -> {k})")), "{m:?}");

    let st = c
        .act("ann", AgentCommand::ConsultTransfer)
        .expect("transfer");
    assert_eq!(st.state, AgentState::AfterCallWork);
    assert!(st.call.is_none());
    let out = c.h.take();
    assert_eq!(consult_states(&out), ["transferred"]);
    // ann's phone gets BYE, bob's phone a re-INVITE to the call's port; the
    // scenario sees nothing.
    let ua = ua_cmds(&out);
    assert!(
        ua.iter()
            .any(|u| matches!(u, UaCommand::Hangup { leg, .. } if *leg == ann_leg)),
        "{ua:?}"
    );
    assert!(
        ua.iter()
            .any(|u| matches!(u, UaCommand::ReInvite { leg, .. } if *leg == dial[0].1)),
        "{ua:?}"
    );
    assert!(events(&out).is_empty(), "{out:?}");
    let m = all_media(&out);
    for want in [
        format!("Release({k})"),
        format!("Release({player})"),
        format!("Connect({an} -> {cu})"),
        format!("Connect({cu} -> {an})"),
    ] {
        assert!(m.contains(&want), "{want} in {m:?}");
    }
    let bob =
        c.h.core
            .agent_statuses(c.h.now, ACCOUNT)
            .into_iter()
            .find(|a| a.id == "bob")
            .expect("bob");
    assert_eq!(bob.state, AgentState::Talking);
    assert_eq!(bob.call, Some(ann_call), "the queue call is bob's now");
    // bob's phone answers the re-INVITE, and later hangs up: the scenario's
    // call ends then, and bob wraps up.
    let reinvite_answer = c.h.ua(UaEvent::ReInviteAnswered {
        leg: dial[0].1,
        code: 200,
        reason: "OK".into(),
        body: Some(answer_to(&dial[0].2)),
        headers: vec![],
    });
    assert!(events(&reinvite_answer).is_empty());
    // ann's old leg ending is nobody's business now.
    let out = bye(&mut c, ann_leg);
    assert!(events(&out).is_empty(), "{out:?}");
    let out = bye(&mut c, dial[0].1);
    assert!(
        call_events(&out, ann_call)
            .iter()
            .any(|e| e.starts_with("Disconnected")),
        "{out:?}"
    );
    assert_eq!(c.state("bob"), AgentState::AfterCallWork);
    let _ = s;
}

#[test]
fn a_consult_is_cancelled_conferenced_and_left_by_the_agent() {
    let Consulting {
        mut c,
        s: _,
        customer,
        ann_leg,
        ann_call,
        customer_leg: _,
    } = ann_talking_to_a_customer();
    let consult = |c: &mut Centre| {
        c.act(
            "ann",
            AgentCommand::Consult {
                to: "agent:bob".into(),
            },
        )
        .expect("consult");
        let out = c.h.take();
        c.rung(&out).remove(0)
    };
    // Cancelled while it rings: bob's phone stops, bob is not ready again
    // (as he was), ann talks to the customer.
    let dial = consult(&mut c);
    c.act("ann", AgentCommand::CancelConsult).expect("cancel");
    let out = c.h.take();
    assert_eq!(consult_states(&out), ["dropped"]);
    assert!(ua_cmds(&out)
        .iter()
        .any(|u| matches!(u, UaCommand::Hangup { leg, .. } if *leg == dial.1)));
    assert_eq!(c.state("ann"), AgentState::Talking);
    assert_eq!(c.state("bob"), AgentState::NotReady);
    let (cu, an) = (customer.0, ann_call.0);
    assert!(all_media(&out).contains(&format!("Connect({an} -> {cu})")));

    // Again, answered, then a conference of three.
    let dial = consult(&mut c);
    answer(&mut c, dial.1, &dial.2);
    c.act("ann", AgentCommand::ConsultConference)
        .expect("conference");
    let out = c.h.take();
    assert_eq!(consult_states(&out), ["conference"]);
    assert_eq!(c.state("ann"), AgentState::Talking);
    let w = wiring(&out);
    assert!(w.iter().any(|x| x.starts_with("AddMixer(")), "{w:?}");
    assert_eq!(w.iter().filter(|x| x.starts_with("SetMember(")).count(), 3);

    // ann's phone hangs up: bob stays with the customer, the scenario sees
    // no hang-up.
    let out = bye(&mut c, ann_leg);
    assert!(events(&out).is_empty(), "{out:?}");
    assert_eq!(consult_states(&out), ["transferred"]);
    assert!(ua_cmds(&out)
        .iter()
        .any(|u| matches!(u, UaCommand::ReInvite { leg, .. } if *leg == dial.1)));
    assert_eq!(c.state("ann"), AgentState::AfterCallWork);
    assert_eq!(c.state("bob"), AgentState::Talking);
}

#[test]
fn a_consult_that_fails_leaves_the_customer_on_hold_until_retrieved() {
    let Consulting {
        mut c,
        s: _,
        customer,
        ann_leg: _,
        ann_call,
        customer_leg: _,
    } = ann_talking_to_a_customer();
    // A queue with nobody ready, a logged-out agent, oneself: refused.
    for to in ["queue:sales", "agent:ann", "agent:nobody"] {
        let r = c.act("ann", AgentCommand::Consult { to: to.into() });
        assert!(r.is_err(), "{to}: {r:?}");
    }
    assert_eq!(
        c.act(
            "ann",
            AgentCommand::Consult {
                to: "queue:sales".into()
            }
        ),
        Err(AgentError::NoneReady("sales".into()))
    );
    c.act(
        "ann",
        AgentCommand::Consult {
            to: "agent:bob".into(),
        },
    )
    .expect("consult");
    let out = c.h.take();
    let dial = c.rung(&out).remove(0);
    let out = c.h.ua(UaEvent::Failed {
        leg: dial.1,
        code: 486,
        reason: "Busy Here".into(),
        headers: vec![],
    });
    assert_eq!(consult_states(&out), ["failed"]);
    assert!(events(&out).is_empty(), "{out:?}");
    assert_eq!(c.state("ann"), AgentState::Held);
    assert_eq!(c.state("bob"), AgentState::NotReady);
    c.act("ann", AgentCommand::Retrieve).expect("retrieve");
    let out = c.h.take();
    assert_eq!(c.state("ann"), AgentState::Talking);
    let m = all_media(&out);
    let (cu, an) = (customer.0, ann_call.0);
    assert!(m.contains(&format!("Connect({an} -> {cu})")), "{m:?}");
    assert!(
        m.iter().any(|x| x.starts_with("Release(")),
        "music stops: {m:?}"
    );
}

fn outbound_states(out: &[Output]) -> Vec<(&'static str, Option<u16>)> {
    facts(out)
        .into_iter()
        .filter_map(|f| match f {
            Fact::OutboundDialing { state, code, .. } => Some((state, code)),
            _ => None,
        })
        .collect()
}

fn dialog_states(out: &[Output], agent: &str) -> Vec<&'static str> {
    facts(out)
        .into_iter()
        .filter_map(|f| match f {
            Fact::AgentCall {
                agent: a, state, ..
            } if a == agent => Some(state),
            _ => None,
        })
        .collect()
}

#[test]
fn an_agent_makes_a_call_its_phone_first_then_the_far_end() {
    let mut c = Centre::new(vec![agent("ann", &[]), agent("bob", &[])], queue(&[]));
    let now = c.h.now;
    for id in ["ann", "bob"] {
        c.h.core
            .agent_command(now, ACCOUNT, id, AgentCommand::Login)
            .expect("login");
    }
    c.act(
        "ann",
        AgentCommand::NotReady {
            reason: "paperwork".into(),
        },
    )
    .expect("not ready");
    c.h.take();
    let make = |to: &str| AgentCommand::MakeCall {
        to: to.into(),
        callerid: None,
    };
    assert!(matches!(
        c.act("ann", make("queue:sales")),
        Err(AgentError::BadTarget(_))
    ));
    let st =
        c.h.core
            .agent_command(now, ACCOUNT, "ann", make("agent:bob"))
            .expect("makeCall");
    assert_eq!(st.state, AgentState::Reserved);
    let out = c.h.take();
    let started = starts(&out);
    assert_eq!(started.len(), 1, "a session of its own");
    let session = started[0].id;
    assert_eq!(outbound_states(&out), [("initiating", None)]);
    assert_eq!(dialog_states(&out, "ann"), ["initiating"]);
    let ring = c.rung(&out);
    assert_eq!(ring.len(), 1);
    assert_eq!(ring[0].0, "ann", "the agent's phone rings first");
    // A second call while this one is up: refused.
    assert!(matches!(
        c.act("ann", make("agent:bob")),
        Err(AgentError::InvalidState { .. })
    ));
    c.h.take();

    let out = answer(&mut c, ring[0].1, &ring[0].2);
    assert_eq!(outbound_states(&out), [("initiated", None)]);
    assert_eq!(c.state("ann"), AgentState::Talking);
    let far = c.rung(&out);
    assert_eq!(far.len(), 1);
    assert_eq!(far[0].0, "bob");
    // The session's (empty) scenario hears of neither call.
    assert!(events(&out).is_empty(), "{out:?}");

    let out = answer(&mut c, far[0].1, &far[0].2);
    assert_eq!(outbound_states(&out), [("active", None)]);
    assert_eq!(dialog_states(&out, "ann"), ["active"]);
    let ann_call = c.h.core.agent_statuses(c.h.now, ACCOUNT)[0]
        .call
        .expect("ann's call");
    let m = all_media(&out);
    assert!(
        m.iter()
            .any(|x| x.starts_with(&format!("Connect({} -> ", ann_call.0))),
        "{m:?}"
    );

    // The far end hangs up: ann's phone gets BYE and the session ends.
    let out = bye(&mut c, far[0].1);
    assert!(ua_cmds(&out)
        .iter()
        .any(|u| matches!(u, UaCommand::Hangup { leg, .. } if *leg == ring[0].1)));
    let out = bye(&mut c, ring[0].1);
    assert_eq!(dialog_states(&out, "ann"), ["dropped"]);
    assert!(events(&out)
        .iter()
        .any(|e| matches!(e, SessionEvent::Terminate { .. })));
    let ann = c.h.core.agent_statuses(c.h.now, ACCOUNT)[0].clone();
    assert_eq!(
        (ann.state, ann.reason.as_str()),
        (AgentState::NotReady, "paperwork"),
        "back to what she was"
    );
    c.h.end_session(session, SessionEnd::Normal);
    assert_clean(&c.h);
}

#[test]
fn a_call_the_agent_does_not_pick_up_fails_and_ends_its_session() {
    let mut c = Centre::new(vec![agent("ann", &[])], queue(&[]));
    c.ready("ann");
    c.act(
        "ann",
        AgentCommand::MakeCall {
            to: "+15550002".into(),
            callerid: Some("15550100".into()),
        },
    )
    .expect("makeCall");
    let out = c.h.take();
    let session = starts(&out)[0].id;
    let ring = c.rung(&out);
    let out = c.h.advance(Duration::from_secs(31));
    assert!(ua_cmds(&out)
        .iter()
        .any(|u| matches!(u, UaCommand::Hangup { leg, .. } if *leg == ring[0].1)));
    let out = c.h.ua(UaEvent::Failed {
        leg: ring[0].1,
        code: 487,
        reason: "Request Terminated".into(),
        headers: vec![],
    });
    assert_eq!(outbound_states(&out), [("failed", Some(408))]);
    assert!(events(&out)
        .iter()
        .any(|e| matches!(e, SessionEvent::Terminate { .. })));
    assert_eq!(c.state("ann"), AgentState::Ready);
    c.h.end_session(session, SessionEnd::Normal);
    assert_clean(&c.h);
}

#[test]
fn answer_from_the_desktop_asks_the_phone_to_answer_by_itself() {
    let mut c = Centre::new(vec![agent("ann", &[])], queue(&[]));
    c.act("ann", AgentCommand::Login).expect("login");
    assert!(matches!(
        c.act("ann", AgentCommand::Answer),
        Err(AgentError::InvalidState { .. })
    ));
    c.ready("ann");
    let s = c.session();
    let out = c.enqueue(s, 1, 50);
    let first = c.rung(&out).remove(0);
    let call = c.h.core.agent_statuses(c.h.now, ACCOUNT)[0]
        .call
        .expect("ann's call");
    c.act("ann", AgentCommand::Answer).expect("answer");
    let out = c.h.take();
    let again = c.rung(&out);
    assert_eq!(again.len(), 1, "{out:?}");
    assert_ne!(again[0].1, first.1, "a new INVITE");
    let headers = ua_cmds(&out)
        .into_iter()
        .find_map(|u| match u {
            UaCommand::Dial { headers, .. } => Some(headers),
            _ => None,
        })
        .expect("dial");
    assert!(
        headers
            .iter()
            .any(|(n, v)| n == "Call-Info" && v.ends_with(";answer-after=0")),
        "{headers:?}"
    );
    assert!(ua_cmds(&out)
        .iter()
        .any(|u| matches!(u, UaCommand::Hangup { leg, .. } if *leg == first.1)));
    // The old INVITE's end is nobody's business; the new one answers.
    let out = c.h.ua(UaEvent::Failed {
        leg: first.1,
        code: 487,
        reason: "Request Terminated".into(),
        headers: vec![],
    });
    assert!(events(&out).is_empty(), "{out:?}");
    assert_eq!(c.state("ann"), AgentState::Reserved);
    let out = answer(&mut c, again[0].1, &again[0].2);
    assert!(acd_events(&out).iter().any(|(r, e)| *r == 1
        && *e
            == AcdEvent::OperatorReached {
                call,
                agent: "ann-phone".into()
            }));
    assert_eq!(c.state("ann"), AgentState::Talking);
}

#[test]
fn a_consult_ends_cleanly_when_the_customer_or_the_session_goes() {
    let Consulting {
        mut c,
        s,
        customer: _,
        customer_leg,
        ann_leg: _,
        ann_call: _,
    } = ann_talking_to_a_customer();
    let consult = AgentCommand::Consult {
        to: "agent:bob".into(),
    };
    c.act("ann", consult.clone()).expect("consult");
    let out = c.h.take();
    let dial = c.rung(&out).remove(0);
    answer(&mut c, dial.1, &dial.2);
    assert_eq!(c.state("bob"), AgentState::Talking);
    // The customer hangs up while on hold: the consulted call ends, the
    // music stops, bob is not ready again (as he was).
    let out = bye(&mut c, customer_leg);
    assert!(ua_cmds(&out)
        .iter()
        .any(|u| matches!(u, UaCommand::Hangup { leg, .. } if *leg == dial.1)));
    assert_eq!(consult_states(&out), ["dropped"]);
    assert!(all_media(&out).iter().any(|m| m.starts_with("Release(")));
    assert_eq!(c.state("bob"), AgentState::NotReady);

    // A consult still ringing when the session ends: bob is freed too.
    let mut c2 = ann_talking_to_a_customer();
    c2.c.act("ann", consult.clone()).expect("consult");
    c2.c.h.take();
    assert_eq!(c2.c.state("bob"), AgentState::Reserved);
    let out = c2.c.h.end_session(c2.s, SessionEnd::Normal);
    assert_eq!(consult_states(&out), ["dropped"]);
    assert_eq!(c2.c.state("bob"), AgentState::NotReady);

    // release while the consult rings: the consult and the call end.
    let mut c3 = ann_talking_to_a_customer();
    c3.c.act("ann", consult).expect("consult");
    let out = c3.c.h.take();
    let dial = c3.c.rung(&out).remove(0);
    c3.c.act("ann", AgentCommand::Release).expect("release");
    let out = c3.c.h.take();
    let hung: Vec<LegId> = ua_cmds(&out)
        .into_iter()
        .filter_map(|u| match u {
            UaCommand::Hangup { leg, .. } => Some(leg),
            _ => None,
        })
        .collect();
    assert!(
        hung.contains(&dial.1) && hung.contains(&c3.ann_leg),
        "{hung:?}"
    );
    assert_eq!(consult_states(&out), ["dropped"]);
    let _ = s;
}
