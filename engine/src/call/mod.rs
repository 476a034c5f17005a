//! The engine's side of the call core (`dialtone-calls`): it carries out
//! what the core decides — UA commands, media commands, session events and
//! starts, jobs, history and metrics — with the real user-agent core, media
//! engine, JS workers and HTTP client. It decides nothing itself.

pub mod access_gate;
pub mod control;
mod facts;
mod jobs;
mod media_commands;
mod net;
mod services;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use control::Control;
use dialtone_audio::AudioLibrary;
use dialtone_calls::{CallCore, JobResult, Output};
use dialtone_core::messages::EventSender;
use dialtone_core::SessionId;
use dialtone_media::MediaEngine;
use dialtone_script::{ScriptHost, SessionSpec};
use dialtone_sip::UaCore;
use tokio::sync::mpsc;

pub use net::CONNECT_TIMEOUT as NET_CONNECT_TIMEOUT;
pub use services::EngineServices;

use crate::history::HistorySink;
use crate::metrics::Metrics;

/// What the driver needs besides the core.
pub struct DriverParts {
    pub media: MediaEngine,
    pub host: ScriptHost,
    pub audio: AudioLibrary,
    pub history: Arc<dyn HistorySink>,
    pub metrics: Arc<Metrics>,
    /// Where job results go; the signalling task reads them back in order.
    pub job_results: mpsc::UnboundedSender<JobResult>,
    /// Clients for `Net` requests, keeping to the egress policy.
    pub http: dialtone_egress::http::HttpEgress,
    /// Live sessions' `accessURL` tokens, for the HTTP side.
    pub access_gate: access_gate::AccessGate,
    /// Where `ApplicationStorage` keeps its pairs.
    pub storage: Arc<dyn crate::app_storage::AppStorage>,
    /// Desktop events (agents' states and calls).
    pub cti: crate::cti::hub::CtiHub,
}

pub struct CallDriver {
    pub core: CallCore,
    media: MediaEngine,
    host: ScriptHost,
    /// Each live session's event channel.
    events: HashMap<SessionId, EventSender>,
    jobs: jobs::Jobs,
    sinks: facts::Sinks,
    access_gate: access_gate::AccessGate,
}

impl CallDriver {
    pub fn new(core: CallCore, parts: DriverParts) -> CallDriver {
        CallDriver {
            core,
            media: parts.media,
            host: parts.host,
            events: HashMap::new(),
            jobs: jobs::Jobs {
                audio: parts.audio,
                http: parts.http,
                results: parts.job_results,
                storage: parts.storage,
            },
            sinks: facts::Sinks {
                history: parts.history,
                metrics: parts.metrics,
                cti: parts.cti,
            },
            access_gate: parts.access_gate,
        }
    }

    /// Carries out everything the core has asked for; UA commands go to
    /// `ua`. Returns whether there was anything.
    pub fn drain(&mut self, ua: &mut UaCore, now: Instant) -> bool {
        let mut any = false;
        while let Some(output) = self.core.poll_output() {
            any = true;
            match output {
                Output::Ua(cmd) => ua.handle_command(now, cmd),
                Output::Media(cmd) => {
                    if let Err((unit, error)) = media_commands::apply(&self.media, cmd) {
                        self.core.handle_media_failure(unit, error);
                    }
                }
                Output::Event { session, event } => {
                    if let Some(events) = self.events.get(&session) {
                        // A session that has just ended no longer listens.
                        let _ = events.send(event);
                    }
                }
                Output::Start(start) => {
                    self.access_gate.open(start.id, &start.access_url);
                    let events = self.host.spawn_session(SessionSpec {
                        id: start.id,
                        scenario: start.scenario,
                        custom_data: start.custom_data,
                        first_event: start.first_event,
                        access_url: start.access_url,
                    });
                    self.events.insert(start.id, events);
                }
                Output::Ended(session) => {
                    self.events.remove(&session);
                    self.access_gate.close(session);
                }
                Output::Job(job) => self.jobs.run(job),
                Output::Fact(fact) => self.sinks.record(fact),
            }
        }
        if any {
            self.sinks.metrics.set_live_calls(self.core.live_calls());
        }
        any
    }

    /// A control message from the HTTP side (REST sessions, `accessURL`).
    pub fn on_control(&mut self, msg: Control) {
        match msg {
            Control::Start { request, reply } => {
                let started = self.core.start_session(std::time::Instant::now(), request);
                if let Ok(s) = &started {
                    // Open before the client learns the URL; the Start
                    // output opens it again (same token) when drained.
                    self.access_gate.open(s.id, &s.access_url);
                }
                let _ = reply.send(started);
            }
            Control::List { account, reply } => {
                let _ = reply.send(self.core.list_sessions(account.as_deref()));
            }
            Control::Get { session, reply } => {
                let _ = reply.send(self.core.session(session));
            }
            Control::Bindings {
                account,
                application,
                reply,
            } => {
                let now = std::time::Instant::now();
                let _ = reply.send(self.core.registered_users(
                    now,
                    &account,
                    application.as_deref(),
                ));
            }
            Control::ForgetUser { user } => self.core.forget_user(&user),
            Control::SetContactCentre {
                account,
                agents,
                queues,
            } => {
                let now = std::time::Instant::now();
                self.core.set_contact_centre(now, &account, agents, queues);
            }
            Control::AgentCommand {
                account,
                agent,
                command,
                reply,
            } => {
                let now = std::time::Instant::now();
                let _ = reply.send(self.core.agent_command(now, &account, &agent, command));
            }
            Control::ContactCentre { account, reply } => {
                let now = std::time::Instant::now();
                let _ = reply.send((
                    self.core.agent_statuses(now, &account),
                    self.core.queue_stats(now, &account),
                ));
            }
            Control::SetTrunkRegistrations(trunks) => self
                .core
                .set_trunk_registrations(std::time::Instant::now(), trunks),
            Control::TrunkRegistrations { account, reply } => {
                let now = std::time::Instant::now();
                let _ = reply.send(self.core.trunk_registrations(now, Some(&account)));
            }
            Control::Terminate {
                session,
                account,
                reply,
            } => {
                let found = self.core.terminate_session(
                    session,
                    account.as_deref(),
                    "terminated through the REST API",
                );
                let _ = reply.send(found);
            }
            Control::Access {
                session,
                token,
                request,
            } => {
                if let Err(request) = self.core.access(session, &token, request) {
                    request.reply.send(control::not_found());
                }
            }
        }
    }
}
