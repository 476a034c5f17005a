//! Offline scenario tests: a scenario runs in the real session code
//! (`dialtone_script::run_session_local`) against the engine's own call
//! core (`dialtone_calls`), with simulated far ends and media, on a paused
//! tokio clock: minutes of call time take milliseconds, no socket is
//! opened, and what the scenario is told comes from the same code as in
//! production.
//!
//! A [`Spec`] scripts the outside world (an inbound call, key presses, how
//! each `callSIP` callee behaves, how long each playback lasts, hang-ups,
//! requests to the session's `accessURL`) and lists what the scenario must
//! do, in order. [`run`] plays it and returns a [`Report`] with the timeline
//! and a PASS/FAIL per expectation.

mod expect;
mod formats;
mod inbox;
mod report;
mod spec;
mod world;

use std::path::{Path, PathBuf};

use dialtone_script::{run_session_local, Scenario, ScriptConfig, SessionSpec};
use tokio::sync::mpsc;
use tracing_subscriber::layer::SubscriberExt;

pub use expect::{Action, Expectation, HttpExpectation, TextMatch};
pub use formats::{junit, Named};
pub use report::{Entry, Happened, Outcome, Report};
pub use spec::{Callee, InboundCall, Playback, Request, Spec, SpecError, WorldAction, WorldEvent};

/// A simulation could not run (its result, pass or fail, is a [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Spec { path: PathBuf, source: SpecError },
    #[error("cannot start the simulation runtime: {0}")]
    Runtime(std::io::Error),
    /// A spec written in JavaScript did not evaluate to a value.
    #[error("{0}")]
    SpecScript(String),
    /// The call core would not start the session.
    #[error("{0}")]
    Refused(String),
}

/// Limits of a simulated session: those of a production session.
fn session_config() -> ScriptConfig {
    ScriptConfig {
        workers: 1,
        ..ScriptConfig::default()
    }
}

/// What the session host needs of a session the call core started.
fn session_spec(start: dialtone_calls::SessionStart) -> SessionSpec {
    SessionSpec {
        id: start.id,
        scenario: start.scenario,
        custom_data: start.custom_data,
        first_event: start.first_event,
        access_url: start.access_url,
    }
}

/// Runs `scenario` against `spec` on a virtual clock, on this thread.
pub fn run(scenario: Scenario, spec: &Spec) -> Result<Report, SimError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(SimError::Runtime)?;
    let (command_tx, command_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let inbox = inbox::Inbox::new(command_rx);
    // The log layer sees only this thread's events: parallel runs on other
    // threads do not mix.
    let subscriber = tracing_subscriber::registry().with(inbox.log_layer());
    let wall = std::time::Instant::now();
    let (timeline, timed_out, virtual_time) =
        tracing::subscriber::with_default(subscriber, || {
            tokio::task::LocalSet::new().block_on(&runtime, async {
                let started = tokio::time::Instant::now();
                let mut world = world::World::new(spec, scenario, event_tx, inbox.clone());
                // Sessions the call core starts on its own (conference
                // sessions) run beside the first, on this thread.
                let commands = command_tx.clone();
                world.set_spawner(Box::new(move |start| {
                    let (events, event_rx) = mpsc::unbounded_channel();
                    tokio::task::spawn_local(run_session_local(
                        session_config(),
                        commands.clone(),
                        session_spec(start),
                        event_rx,
                    ));
                    events
                }));
                let start = world
                    .start()
                    .map_err(|e| SimError::Refused(e.to_string()))?;
                tokio::join!(
                    run_session_local(session_config(), command_tx, session_spec(start), event_rx),
                    world.run(),
                );
                let virtual_time = world.ended_at.unwrap_or_else(|| started.elapsed());
                Ok::<_, SimError>((world.timeline, world.timed_out, virtual_time))
            })
        })?;
    let wall_time = wall.elapsed();
    let outcomes = report::match_all(&spec.expect, &timeline, spec.ordered);
    Ok(Report {
        timeline,
        outcomes,
        virtual_time,
        wall_time,
        timed_out,
    })
}

/// Reads a scenario and a spec file and runs them.
pub fn run_files(scenario: &Path, spec: &Path) -> Result<Report, SimError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| SimError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let source = read(scenario)?;
    let mut spec_text = read(spec)?;
    // A spec in JavaScript (`NAME.spec.js`) is evaluated to its JSON form.
    if spec.extension().is_some_and(|e| e == "js") {
        spec_text = dialtone_script::evaluate_to_json(&spec.display().to_string(), &spec_text)
            .map_err(SimError::SpecScript)?;
    }
    let parsed = Spec::from_json(&spec_text).map_err(|source| SimError::Spec {
        path: spec.to_path_buf(),
        source,
    })?;
    let scenario = Scenario {
        name: scenario.display().to_string(),
        source,
    };
    run(scenario, &parsed)
}
