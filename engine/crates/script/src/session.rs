//! One session: its QuickJS runtime, the scenario, and the event loop that
//! feeds it events and timers one at a time.
//!
//! Every entry into JS is a "callback" (`Session::callback`): it runs under
//! the CPU budget, then drains promise jobs. The first uncaught exception,
//! budget overrun or out-of-memory ends the session without running more JS.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use dialtone_core::messages::{CallEvent, IncomingCall, SessionEnd, SessionEvent};
use dialtone_core::{CallId, SessionId};
use rquickjs::function::Args;
use rquickjs::{Context, Ctx, Runtime, Value};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::call::{Call, CallInfo};
use crate::events::{self, names};
use crate::host::{SessionSpec, Worker};
use crate::limits::{self, CpuBudget, MemoryMeter};
use crate::listeners::Listener;
use crate::registry::{registry, Registry, SessionCore};
use crate::voxengine;
use crate::{access, bytecode, conference, quickjs};
use crate::{globals, modules};
use crate::{logger, net, player, recorder, timers, Scenario};

/// Runs one session to its end and reports how it ended.
pub(crate) async fn run(
    worker: Rc<Worker>,
    spec: SessionSpec,
    mut events: mpsc::UnboundedReceiver<SessionEvent>,
) {
    let guard = EndGuard {
        worker: worker.clone(),
        spec_id: spec.id,
        done: false,
    };
    let end = match Session::create(&worker, &spec) {
        Ok(session) => {
            let shutdown = worker.shutdown.clone();
            session.drive(spec.first_event, &mut events, shutdown).await
        }
        Err(end) => end,
    };
    guard.finish(end);
}

/// Reports the end of a session exactly once, even if its task unwinds.
struct EndGuard {
    worker: Rc<Worker>,
    spec_id: SessionId,
    done: bool,
}

impl EndGuard {
    fn finish(mut self, reason: SessionEnd) {
        self.done = true;
        self.worker.session_ended(self.spec_id, reason);
    }
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        if !self.done {
            let reason = SessionEnd::ScriptError("internal error in the script host".into());
            self.worker.session_ended(self.spec_id, reason);
        }
    }
}

/// Promise rejections nobody handled yet, by promise identity.
#[derive(Default)]
struct Rejections {
    pending: RefCell<Vec<(usize, String)>>,
}

struct Session {
    core: Rc<SessionCore>,
    budget: Rc<CpuBudget>,
    memory: Rc<MemoryMeter>,
    rejections: Rc<Rejections>,
    idle_timeout: Duration,
    memory_limit: usize,
    access_url: String,
    // Field order is drop order: the context goes before the runtime.
    context: Context,
    _runtime: Runtime,
}

impl Drop for Session {
    fn drop(&mut self) {
        // Every JS value the bindings keep lives in the registry; release
        // them while the runtime is still alive.
        self.context.with(|ctx| {
            if let Ok(Some(registry)) = ctx.remove_userdata::<Registry>() {
                registry.clear();
            }
        });
    }
}

impl Session {
    fn create(worker: &Worker, spec: &SessionSpec) -> Result<Session, SessionEnd> {
        let cfg = &worker.cfg;
        let core = SessionCore::new(
            spec.id,
            spec.scenario.name.clone(),
            worker.commands.clone(),
            spec.custom_data.clone(),
            cfg.voices.clone(),
        );
        let budget = CpuBudget::new(cfg.cpu_budget);
        let (runtime, memory) =
            limits::runtime(cfg, &budget).map_err(|e| host_failure(&core, "no JS runtime", e))?;
        let rejections = Rc::new(Rejections::default());
        track_rejections(&runtime, &rejections);
        let context =
            Context::full(&runtime).map_err(|e| host_failure(&core, "no JS context", e))?;
        let session = Session {
            core: core.clone(),
            budget,
            memory,
            rejections,
            idle_timeout: cfg.idle_timeout,
            memory_limit: cfg.memory_limit,
            access_url: spec.access_url.clone(),
            context,
            _runtime: runtime,
        };
        session
            .context
            .with(|ctx| install(&ctx, core.clone()))
            .map_err(|e| host_failure(&core, "cannot install the JS API", e))?;
        session.load(worker, &spec.scenario)?;
        Ok(session)
    }

    /// Compiles (or takes from the worker's cache) and runs the scenario.
    fn load(&self, worker: &Worker, scenario: &std::sync::Arc<Scenario>) -> Result<(), SessionEnd> {
        let cached = worker.cache.borrow().lookup(scenario);
        let compiled = match cached {
            Some(compiled) => compiled,
            None => {
                let compiled = self
                    .context
                    .with(|ctx| bytecode::compile(&ctx, scenario))
                    .map(Rc::from);
                worker.cache.borrow_mut().insert(scenario, compiled.clone());
                compiled
            }
        };
        match compiled {
            Ok(code) => self.callback("the scenario's top-level code", |ctx| {
                bytecode::run(ctx, &code)
            }),
            Err(e) => {
                let text = e.to_string();
                tracing::error!(target: "dialtone::session", session = %self.core.id, kind = "error", "{text}");
                Err(SessionEnd::CompileError(text))
            }
        }
    }

    async fn drive(
        self,
        first_event: Option<SessionEvent>,
        events: &mut mpsc::UnboundedReceiver<SessionEvent>,
        shutdown: watch::Receiver<bool>,
    ) -> SessionEnd {
        let end = match self.run_until_done(first_event, events, shutdown).await {
            Ok(()) => self.terminate(),
            Err(end) => end,
        };
        self.core.flush_log_budget();
        drop(self);
        end
    }

    async fn run_until_done(
        &self,
        first_event: Option<SessionEvent>,
        events: &mut mpsc::UnboundedReceiver<SessionEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), SessionEnd> {
        self.dispatch_started()?;
        if let Some(event) = first_event {
            while self.dispatch_created()? {}
            self.handle(event)?;
        }
        let mut idle_since: Option<Instant> = None;
        loop {
            if self.core.terminate_requested() {
                return Ok(());
            }
            if self.dispatch_created()? {
                continue;
            }
            if *shutdown.borrow() {
                self.core.note("the engine is shutting down");
                return Ok(());
            }
            // A request in flight keeps the session, as a call does: its
            // answer is bounded by the request's timeout.
            if self.core.has_live_calls() || self.http_in_flight() {
                idle_since = None;
            } else if idle_since.is_none() {
                idle_since = Some(Instant::now());
            }
            let idle_deadline = idle_since.map(|since| since + self.idle_timeout);
            let wake = match (idle_deadline, self.next_timer()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            tokio::select! {
                biased;
                _ = shutdown.changed() => {
                    self.core.note("the engine is shutting down");
                    return Ok(());
                }
                event = events.recv() => match event {
                    Some(event) => self.handle(event)?,
                    None => {
                        self.core.note("the engine closed the session's event channel");
                        return Ok(());
                    }
                },
                _ = sleep_until(wake), if wake.is_some() => {
                    let now = Instant::now();
                    if idle_deadline.is_some_and(|d| d <= now) {
                        self.core.note(&format!(
                            "no live calls for {} s: ending the session",
                            self.idle_timeout.as_secs_f64()
                        ));
                        return Ok(());
                    }
                    self.fire_timers(now)?;
                }
            }
        }
    }

    fn handle(&self, event: SessionEvent) -> Result<(), SessionEnd> {
        match event {
            SessionEvent::CallAlerting(incoming) => self.dispatch_alerting(&incoming),
            SessionEvent::Call { call, event } => self.dispatch_call_event(call, &event),
            SessionEvent::Player { unit, event } => {
                let sequence = self.core.is_sequence_player(unit);
                self.log_event(&player::describe_event(unit, &event, sequence));
                let name = player::event_name_of(&event, sequence);
                self.callback(name, |ctx| player::dispatch(ctx, unit, name, Some(&event)))
            }
            SessionEvent::Recorder { unit, event } => {
                self.log_event(&recorder::describe_event(unit, &event));
                let name = recorder::event_name_of(&event);
                self.callback(name, |ctx| recorder::dispatch(ctx, unit, &event))
            }
            SessionEvent::Access(request) => {
                self.log_event(&access::describe(&request));
                let result =
                    self.callback(access::HTTP_REQUEST, |ctx| access::dispatch(ctx, &request));
                if let Err(end) = &result {
                    // Answered already unless the handler itself failed.
                    let why = match end {
                        SessionEnd::ScriptError(text) | SessionEnd::CompileError(text) => text,
                        SessionEnd::Normal => "the session ended",
                    };
                    request.reply.send(access::failed(why));
                }
                result
            }
            SessionEvent::HttpResponse { id, result } => {
                self.log_event(&net::describe_response(id, &result));
                self.callback("an HTTP response", |ctx| net::dispatch(ctx, id, &result))
            }
            SessionEvent::StorageResult { id, result } => {
                self.log_event(&crate::storage::describe(id, &result));
                self.callback("a storage result", |ctx| {
                    crate::storage::dispatch(ctx, id, &result)
                })
            }
            SessionEvent::Acd { request, event } => {
                self.log_event(&crate::acd::describe(request, &event));
                let name = crate::acd::event_name(&event);
                self.callback(name, |ctx| crate::acd::dispatch(ctx, request, &event))
            }
            SessionEvent::Terminate { reason } => {
                self.core
                    .note(&format!("the engine ends the session: {reason}"));
                self.core.request_terminate();
                Ok(())
            }
        }
    }

    /// Dispatches one queued `PlayerEvents.Created` or conference event,
    /// if any; true if it did.
    fn dispatch_created(&self) -> Result<bool, SessionEnd> {
        let Some(unit) = self.core.take_player_created() else {
            let Some(note) = self.core.take_conference_note() else {
                return Ok(false);
            };
            self.log_event(&conference::describe_note(&note));
            self.callback(note.name, |ctx| conference::dispatch(ctx, &note))?;
            return Ok(true);
        };
        let name = player::Names::of(self.core.is_sequence_player(unit)).created;
        self.log_event(&format!("{name} player={}", unit.0));
        self.callback(name, |ctx| player::dispatch(ctx, unit, name, None))?;
        Ok(true)
    }

    fn log_event(&self, text: &str) {
        tracing::info!(target: "dialtone::session", session = %self.core.id, kind = "event", "{text}");
    }

    fn dispatch_started(&self) -> Result<(), SessionEnd> {
        self.log_event(names::STARTED);
        let custom_data = self.core.custom_data();
        let session_id = self.core.id.to_string();
        let access_url = self.access_url.as_str();
        self.callback(names::STARTED, |ctx| {
            let event = events::app_event_object(ctx, names::STARTED)?;
            event.set("customData", custom_data.as_str())?;
            event.set("sessionId", session_id.as_str())?;
            event.set("accessURL", access_url)?;
            // Dialtone's HTTP listener has one scheme; both names are given
            // so VoxEngine scenarios find the one they read.
            event.set("accessSecureURL", access_url)?;
            run_app_listeners(ctx, names::STARTED, event.into_value())
        })
    }

    fn dispatch_alerting(&self, incoming: &IncomingCall) -> Result<(), SessionEnd> {
        self.log_event(&events::describe_alerting(incoming));
        self.core.call_started(incoming.call);
        self.callback(names::CALL_ALERTING, |ctx| {
            let call = Call::create(
                ctx,
                self.core.clone(),
                incoming.call,
                CallInfo {
                    incoming: true,
                    callerid: incoming.callerid.clone(),
                    display_name: incoming.display_name.clone(),
                    number: incoming.destination.clone(),
                },
            )?;
            registry(ctx)?.add_call(incoming.call, call.clone());
            let event = events::alerting_object(ctx, &call, incoming)?;
            run_app_listeners(ctx, names::CALL_ALERTING, event.into_value())
        })
    }

    fn dispatch_call_event(&self, id: CallId, event: &CallEvent) -> Result<(), SessionEnd> {
        self.log_event(&events::describe_call_event(id, event));
        if matches!(
            event,
            CallEvent::Disconnected { .. } | CallEvent::Failed { .. }
        ) {
            self.core.call_ended(id);
        }
        let name = events::call_event_name(event);
        self.callback(name, |ctx| {
            let Some(call) = registry(ctx)?.call(id) else {
                self.core.note(&format!(
                    "{name} for call {id}, which this session does not own"
                ));
                return Ok(());
            };
            let listeners = {
                let c = call.borrow();
                c.apply_event(event);
                c.listeners().snapshot(name)
            };
            let object = events::call_event_object(ctx, &call, id, event)?;
            for listener in listeners {
                match listener {
                    Listener::Script(f) => f.call::<_, ()>((object.clone(),))?,
                    Listener::Bridge(b) => voxengine::run_bridge(ctx, &b, &call, event)?,
                    Listener::Forward(_) => {}
                }
            }
            if matches!(
                event,
                CallEvent::Disconnected { .. } | CallEvent::Failed { .. }
            ) {
                conference::call_gone(ctx, id)?;
            }
            Ok(())
        })
    }

    fn http_in_flight(&self) -> bool {
        self.context.with(|ctx| {
            registry(&ctx)
                .map(|r| r.http.in_flight() > 0)
                .unwrap_or(false)
        })
    }

    fn next_timer(&self) -> Option<Instant> {
        self.context
            .with(|ctx| registry(&ctx).ok().and_then(|r| r.timers.next_deadline()))
    }

    /// Runs the timers due at `now`, each as its own callback.
    fn fire_timers(&self, now: Instant) -> Result<(), SessionEnd> {
        while !self.core.terminate_requested() {
            let fired = self.callback("a timer", |ctx| {
                let Some(due) = registry(ctx)?.timers.take_due(now) else {
                    return Ok(false);
                };
                let mut args = Args::new_unsized(ctx.clone());
                args.push_args(due.args)?;
                due.callback.call_arg::<Value>(args)?;
                Ok(true)
            })?;
            if !fired {
                break;
            }
        }
        Ok(())
    }

    /// `Terminating`, then `Terminated`: the graceful end.
    fn terminate(&self) -> SessionEnd {
        self.context.with(|ctx| {
            if let Ok(registry) = registry(&ctx) {
                registry.timers.clear();
            }
        });
        for name in [names::TERMINATING, names::TERMINATED] {
            self.log_event(name);
            let result = self.callback(name, |ctx| {
                let event = events::app_event_object(ctx, name)?;
                run_app_listeners(ctx, name, event.into_value())
            });
            if let Err(end) = result {
                return end;
            }
        }
        SessionEnd::Normal
    }

    /// One entry into JS: `f`, then the promise jobs it queued, all under the
    /// CPU budget. Any uncaught error becomes the session's end.
    fn callback<R>(
        &self,
        what: &str,
        f: impl for<'js> FnOnce(&Ctx<'js>) -> rquickjs::Result<R>,
    ) -> Result<R, SessionEnd> {
        self.context.with(|ctx| {
            self.core.begin_callback();
            self.memory.reset();
            self.budget.begin();
            let result = f(&ctx).and_then(|r| drain_jobs(&ctx).map(|()| r));
            self.budget.end();
            match result {
                Ok(r) => match self.rejections.pending.borrow_mut().drain(..).next() {
                    None => Ok(r),
                    Some((_, reason)) => Err(self
                        .script_error(format!("unhandled promise rejection in {what}: {reason}"))),
                },
                Err(e) => Err(self.failure(&ctx, what, e)),
            }
        })
    }

    fn failure(&self, ctx: &Ctx<'_>, what: &str, error: rquickjs::Error) -> SessionEnd {
        let allocation_failed = matches!(error, rquickjs::Error::Allocation);
        let caught = match error {
            rquickjs::Error::Exception => Some(ctx.catch()),
            _ => None,
        };
        if self.budget.tripped() {
            return self.script_error(format!(
                "{}: {what} ran longer than the CPU budget of {} ms",
                self.core.file,
                self.budget.budget().as_millis()
            ));
        }
        let (summary, stack) = match &caught {
            Some(value) => describe_exception(value, &self.core.file),
            None => (format!("{}: {error}", self.core.file), None),
        };
        if allocation_failed || self.memory.exhausted() {
            return self.script_error(format!(
                "{}: {what} ran out of memory (limit {} bytes)",
                self.core.file, self.memory_limit
            ));
        }
        let text = format!("uncaught exception in {what}: {summary}");
        // One log line per error: the stack's frames go on the same line.
        let frames: Vec<&str> = stack
            .as_deref()
            .map(|s| s.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
            .unwrap_or_default();
        if frames.is_empty() {
            tracing::error!(target: "dialtone::session", session = %self.core.id, kind = "error", "{text}");
        } else {
            tracing::error!(target: "dialtone::session", session = %self.core.id, kind = "error", "{text} | stack: {}", frames.join(" | "));
        }
        SessionEnd::ScriptError(summary)
    }

    fn script_error(&self, text: String) -> SessionEnd {
        tracing::error!(target: "dialtone::session", session = %self.core.id, kind = "error", "{text}");
        SessionEnd::ScriptError(text)
    }
}

async fn sleep_until(wake: Option<Instant>) {
    if let Some(at) = wake {
        tokio::time::sleep_until(at).await;
    }
}

fn install(ctx: &Ctx<'_>, core: Rc<SessionCore>) -> rquickjs::Result<()> {
    if ctx.store_userdata(Registry::new(core)).is_err() {
        return Err(rquickjs::Error::Unknown);
    }
    let globals = ctx.globals();
    events::install(ctx, &globals)?;
    voxengine::install(ctx, &globals)?;
    net::install(ctx, &globals)?;
    logger::install(ctx, &globals)?;
    globals::install(ctx, &globals)?;
    modules::install(ctx, &globals)?;
    crate::storage::install(ctx, &globals)?;
    crate::voices::install(ctx, &globals)?;
    timers::install(ctx, &globals)
}

fn run_app_listeners<'js>(ctx: &Ctx<'js>, name: &str, event: Value<'js>) -> rquickjs::Result<()> {
    let listeners = registry(ctx)?.app_listeners.snapshot(name);
    for listener in listeners {
        match listener {
            Listener::Script(f) => f.call::<_, ()>((event.clone(),))?,
            Listener::Forward(forward) => crate::users::run_forward(ctx, &forward, &event)?,
            Listener::Bridge(_) => {}
        }
    }
    Ok(())
}

fn drain_jobs(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    while quickjs::run_pending_job(ctx)? {}
    Ok(())
}

fn track_rejections(runtime: &Runtime, rejections: &Rc<Rejections>) {
    let rejections = rejections.clone();
    runtime.set_host_promise_rejection_tracker(Some(Box::new(
        move |_ctx, promise, reason, handled| {
            let id = quickjs::object_identity(&promise);
            let mut pending = rejections.pending.borrow_mut();
            if handled {
                pending.retain(|(p, _)| *p != id);
            } else {
                pending.push((id, describe_value(&reason)));
            }
        },
    )));
}

fn host_failure(core: &SessionCore, what: &str, error: rquickjs::Error) -> SessionEnd {
    let text = format!("{}: {what}: {error}", core.file);
    tracing::error!(target: "dialtone::session", session = %core.id, kind = "error", "{text}");
    SessionEnd::ScriptError(text)
}

/// `file:line:col: Name: message` for an exception, plus its JS stack.
/// Reads only the error's own fields; no script code runs.
fn describe_exception(value: &Value<'_>, file: &str) -> (String, Option<String>) {
    let Some(error) = value.as_object() else {
        return (format!("{file}: uncaught {}", describe_value(value)), None);
    };
    let text = |key: &str| -> Option<String> {
        error
            .get::<_, Option<rquickjs::String>>(key)
            .ok()
            .flatten()
            .and_then(|s| s.to_string().ok())
    };
    let name = text("name").unwrap_or_else(|| "Error".into());
    let message = text("message").unwrap_or_default();
    let stack = text("stack");
    let location = stack
        .as_deref()
        .and_then(|s| bytecode::first_frame_in(s, file))
        .map(|(line, column)| format!("{file}:{line}:{column}"))
        .unwrap_or_else(|| file.to_string());
    (format!("{location}: {name}: {message}"), stack)
}

/// A short text for a thrown or rejected value, without calling into JS.
fn describe_value(value: &Value<'_>) -> String {
    if let Some(s) = value.as_string().and_then(|s| s.to_string().ok()) {
        return s;
    }
    if let Some(error) = value.as_object() {
        let field = |key: &str| -> Option<String> {
            error
                .get::<_, Option<rquickjs::String>>(key)
                .ok()
                .flatten()
                .and_then(|s| s.to_string().ok())
        };
        if let Some(message) = field("message") {
            let name = field("name").unwrap_or_else(|| "Error".into());
            return format!("{name}: {message}");
        }
        return "an object".into();
    }
    if let Some(n) = value.as_number() {
        return n.to_string();
    }
    if let Some(b) = value.as_bool() {
        return b.to_string();
    }
    value.type_name().to_string()
}
