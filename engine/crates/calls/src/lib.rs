//! The call core: VoxEngine calls and sessions on top of SIP legs and media
//! units, as a state machine with no I/O of its own.
//!
//! [`CallCore`] is fed what happened — SIP leg events from the user-agent
//! core ([`UaEvent`]), commands from sessions ([`SessionCommand`]), media
//! events ([`MediaEvent`]), results of jobs it asked for ([`JobResult`]) and
//! the time — and answers with [`Output`]s: commands for the user-agent core
//! and the media engine, events for sessions, sessions to start, jobs to run
//! (DNS, loading audio, HTTP requests) and facts for history and metrics. It
//! never spawns a task or reads the clock: `now` comes with every input, and
//! its own timers are polled with [`CallCore::poll_timeout`] and fired with
//! [`CallCore::handle_timeout`].
//!
//! Two drivers run it: the engine's signalling task (real sockets, media
//! workers, JS workers) and `dialtone test` (a simulated user agent and media
//! on virtual time). What a scenario sees is decided here once, for both.
//!
//! Layout: the core and its dispatch (`core`), what goes in and out (`io`),
//! what it asks of its driver synchronously (`services`), one call
//! (`call`), inbound legs (`inbound`), outbound legs (`outbound`), the end
//! of a call (`ending`), re-INVITEs and hold (`dialog`), INFO and MESSAGE
//! (`messaging`), transfers (`transfer`), media wiring
//! (`bridge`), players and recorders (`units`), DTMF (`dtmf`), the session
//! table (`sessions`), admission (`admission`), what makes every call end
//! (`limits`), SIP codes (`codes`), SDP (`sdp`), headers (`headers`),
//! `callSIP` targets (`target`), timers (`timers`).
//!
//! [`UaEvent`]: dialtone_sip::UaEvent
//! [`SessionCommand`]: dialtone_core::messages::SessionCommand
//! [`MediaEvent`]: dialtone_media::MediaEvent

mod acd;
mod admission;
mod auth_guard;
mod bridge;
mod call;
mod call_user;
pub mod codes;
mod conference;
mod core;
mod dialog;
mod dtmf;
mod ending;
pub mod headers;
mod inbound;
mod io;
mod limits;
mod link;
mod messaging;
mod outbound;
mod register;
mod registrar;
mod replaces;
mod sdp;
mod services;
mod sessions;
pub mod setup_rate;
pub mod target;
mod timers;
mod transfer;
mod trunk_registration;
pub mod trunks;
mod units;

pub use crate::core::{CallCore, CoreConfig};
pub use admission::AdmissionError;
pub use auth_guard::MAX_FAILURES as MAX_AUTH_FAILURES;
pub use call::Phase;
pub use call_user::MAX_FORKS;
pub use dialog::REINVITE_ANSWER_TIMEOUT;
/// How often `CallEvents.Statistics` reports a call's media.
pub const STATISTICS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

pub use acd::{
    AgentCall, AgentCommand, AgentConfig, AgentError, AgentState, AgentStatus, MonitorMode,
    Monitoring, QueueConfig, QueueStats, MAX_ACW_DELAY_S,
};
pub use io::{Direction, Fact, HttpJob, Job, JobResult, MediaCommand, Output, SessionStart};
pub use limits::{CallLimits, DEFAULT_MAX_FORWARDS};
pub use messaging::MAX_BODY as MAX_MESSAGE_BODY;
pub use registrar::{Binding, RegistrarConfig, UserKey};
pub use services::{InboundInfo, Overload, Route, RouteOwner, Services, TrunkRoute, UserAuth};
pub use sessions::{
    access_not_found, new_access_token, token_matches, LiveCall, LiveSession, StartRequest,
    StartedSession,
};
pub use trunk_registration::{RegistrationState, TrunkRegistrationConfig, TrunkRegistrationStatus};
pub use trunks::{select_trunks, TrunkConfig};
