//! The JS worker threads. Each is a current-thread tokio runtime with a
//! `LocalSet` running many sessions as local tasks; QuickJS runtimes are not
//! `Send`, so a session lives and dies on the worker its id shards to.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use dialtone_core::messages::{
    CommandSender, EventSender, SessionCommand, SessionEnd, SessionEvent,
};
use dialtone_core::SessionId;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::LocalSet;

use crate::bytecode::BytecodeCache;
use crate::{session, Scenario, ScriptConfig};

/// Native stack of a worker thread; QuickJS itself stops at
/// `limits::MAX_JS_STACK`, well inside it.
const WORKER_STACK: usize = 8 * 1024 * 1024;

/// Under steady load a worker never runs out of sessions; it still gives
/// freed memory back after this many sessions have ended.
const TRIM_EVERY: usize = 4096;
/// A worker with no sessions for this long gives freed memory back.
const TRIM_WHEN_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// What the engine needs to start a session. `Debug` leaves out the
/// `accessURL`: its last part is the session's secret.
#[derive(Clone)]
pub struct SessionSpec {
    pub id: SessionId,
    pub scenario: Arc<Scenario>,
    /// `VoxEngine.customData()` and `AppEvents.Started`'s `customData`.
    pub custom_data: String,
    /// Dispatched right after `AppEvents.Started` (an inbound call's
    /// `CallAlerting`).
    pub first_event: Option<SessionEvent>,
    /// `AppEvents.Started`'s `accessURL`: where HTTP requests reach this
    /// session as `AppEvents.HttpRequest`. Empty when there is none.
    pub access_url: String,
}

impl std::fmt::Debug for SessionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSpec")
            .field("id", &self.id)
            .field("scenario", &self.scenario)
            .field("custom_data", &self.custom_data)
            .field("first_event", &self.first_event)
            .field("access_url", &crate::access::redact_url(&self.access_url))
            .finish()
    }
}

/// The pool of JS worker threads. Cheap to clone; all clones share the pool.
#[derive(Clone)]
pub struct ScriptHost {
    inner: Arc<HostInner>,
}

struct HostInner {
    workers: Vec<mpsc::UnboundedSender<SpawnRequest>>,
    live: Arc<AtomicUsize>,
    commands: CommandSender,
    shutdown: watch::Sender<bool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

struct SpawnRequest {
    spec: SessionSpec,
    events: mpsc::UnboundedReceiver<SessionEvent>,
}

impl ScriptHost {
    /// Starts `cfg.workers` JS threads (at least one).
    pub fn start(cfg: ScriptConfig, commands: CommandSender) -> std::io::Result<ScriptHost> {
        let count = cfg.workers.max(1);
        let live = Arc::new(AtomicUsize::new(0));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut workers = Vec::with_capacity(count);
        let mut threads = Vec::with_capacity(count);
        for index in 0..count {
            let (tx, rx) = mpsc::unbounded_channel();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()?;
            let cfg = cfg.clone();
            let commands = commands.clone();
            let live = live.clone();
            let shutdown_rx = shutdown_rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("dialtone-js-{index}"))
                .stack_size(WORKER_STACK)
                .spawn(move || {
                    let worker = Rc::new(Worker {
                        cfg,
                        commands,
                        live,
                        shutdown: shutdown_rx,
                        cache: RefCell::new(BytecodeCache::default()),
                        running: Cell::new(0),
                        ended_since_trim: Cell::new(0),
                        trim_scheduled: Cell::new(false),
                        idle: Notify::new(),
                    });
                    LocalSet::new().block_on(&runtime, worker_loop(worker, rx));
                });
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(e) => {
                    shutdown.send_replace(true);
                    return Err(e);
                }
            }
            workers.push(tx);
        }
        Ok(ScriptHost {
            inner: Arc::new(HostInner {
                workers,
                live,
                commands,
                shutdown,
                threads: Mutex::new(threads),
            }),
        })
    }

    /// Starts a session on its worker and returns where to send its events.
    /// Returns at once; if the host has shut down, the session ends at once
    /// with a script error.
    pub fn spawn_session(&self, spec: SessionSpec) -> EventSender {
        let (tx, events) = mpsc::unbounded_channel();
        let id = spec.id;
        let worker = &self.inner.workers[id.shard(self.inner.workers.len())];
        self.inner.live.fetch_add(1, Ordering::SeqCst);
        let refused =
            *self.inner.shutdown.borrow() || worker.send(SpawnRequest { spec, events }).is_err();
        if refused {
            self.inner.live.fetch_sub(1, Ordering::SeqCst);
            let reason = SessionEnd::ScriptError("the script host has shut down".into());
            let _ = self
                .inner
                .commands
                .send((id, SessionCommand::Ended { reason }));
        }
        tx
    }

    /// Sessions started and not yet ended.
    pub fn live_sessions(&self) -> usize {
        self.inner.live.load(Ordering::SeqCst)
    }

    /// Ends every session (each gets `Terminating`/`Terminated`) and waits
    /// for the worker threads to exit. Later `spawn_session`s are refused.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        let threads = match self.inner.threads.lock() {
            Ok(mut threads) => std::mem::take(&mut *threads),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        let current = std::thread::current().id();
        for thread in threads {
            if thread.thread().id() != current && thread.join().is_err() {
                tracing::error!(target: "dialtone::script", "a JS worker thread panicked");
            }
        }
    }
}

/// Runs one session on the calling thread's tokio runtime until it ends, and
/// returns after its `SessionCommand::Ended` has been sent on `commands`.
///
/// This is the same session code the worker threads run; only the runtime is
/// the caller's. A current-thread runtime built with `start_paused(true)`
/// therefore gives the session a virtual clock: timers and the idle limit
/// fire as soon as nothing else can run, which is what offline scenario
/// tests need. `cfg.workers` is ignored.
pub async fn run_session_local(
    cfg: ScriptConfig,
    commands: CommandSender,
    spec: SessionSpec,
    events: mpsc::UnboundedReceiver<SessionEvent>,
) {
    // The sender stays alive for the whole session: a closed channel would
    // read as "the engine is shutting down".
    let (_shutdown, shutdown_rx) = watch::channel(false);
    let worker = Rc::new(Worker {
        cfg,
        commands,
        live: Arc::new(AtomicUsize::new(1)),
        shutdown: shutdown_rx,
        cache: RefCell::new(BytecodeCache::default()),
        running: Cell::new(1),
        ended_since_trim: Cell::new(0),
        // The caller owns this thread and its allocator: never schedule a
        // trim task (which would also need a `LocalSet`).
        trim_scheduled: Cell::new(true),
        idle: Notify::new(),
    });
    session::run(worker, spec, events).await;
}

/// What the sessions of one worker thread share.
pub(crate) struct Worker {
    pub(crate) cfg: ScriptConfig,
    pub(crate) commands: CommandSender,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) cache: RefCell<BytecodeCache>,
    live: Arc<AtomicUsize>,
    running: Cell<usize>,
    ended_since_trim: Cell<usize>,
    trim_scheduled: Cell<bool>,
    idle: Notify,
}

impl Worker {
    /// Accounts for a finished session, then tells the engine.
    pub(crate) fn session_ended(self: &Rc<Self>, id: SessionId, reason: SessionEnd) {
        self.running.set(self.running.get().saturating_sub(1));
        self.live.fetch_sub(1, Ordering::SeqCst);
        let ended = self.ended_since_trim.get() + 1;
        self.ended_since_trim.set(ended);
        if ended >= TRIM_EVERY {
            self.trim();
        } else if self.running.get() == 0 && !self.trim_scheduled.get() {
            self.trim_scheduled.set(true);
            let worker = self.clone();
            tokio::task::spawn_local(async move {
                tokio::time::sleep(TRIM_WHEN_IDLE_FOR).await;
                worker.trim_scheduled.set(false);
                if worker.running.get() == 0 {
                    worker.trim();
                }
            });
        }
        self.idle.notify_one();
        tracing::debug!(target: "dialtone::script", session = %id, ?reason, "session ended");
        let _ = self.commands.send((id, SessionCommand::Ended { reason }));
    }

    fn trim(&self) {
        self.ended_since_trim.set(0);
        release_free_memory();
    }
}

/// Hands memory freed by ended sessions back to the OS. Runtimes are many
/// small allocations that glibc otherwise keeps in this thread's arena after
/// a burst of sessions; trimming once the worker has had no sessions for a
/// moment (and every `TRIM_EVERY` ended sessions) keeps resident memory near
/// idle after load.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

async fn worker_loop(worker: Rc<Worker>, mut requests: mpsc::UnboundedReceiver<SpawnRequest>) {
    let mut shutdown = worker.shutdown.clone();
    loop {
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            request = requests.recv() => match request {
                Some(SpawnRequest { spec, events }) => {
                    worker.running.set(worker.running.get() + 1);
                    tokio::task::spawn_local(session::run(worker.clone(), spec, events));
                }
                None => break,
            },
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    // Requests that raced with the shutdown never started a session.
    requests.close();
    while let Ok(SpawnRequest { spec, .. }) = requests.try_recv() {
        worker.running.set(worker.running.get() + 1);
        let reason = SessionEnd::ScriptError("the script host has shut down".into());
        worker.session_ended(spec.id, reason);
    }
    while worker.running.get() > 0 {
        worker.idle.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_can_be_shared_across_threads() {
        fn shared<T: Send + Sync + Clone>() {}
        shared::<ScriptHost>();
    }

    #[test]
    fn spec_debug_hides_the_access_token() {
        let spec = SessionSpec {
            id: SessionId::new(),
            scenario: Arc::new(Scenario {
                name: "a.js".into(),
                source: String::new(),
            }),
            custom_data: String::new(),
            first_event: None,
            access_url: "http://127.0.0.1:8080/access/s1/9f86d081884c7d65".into(),
        };
        let shown = format!("{spec:?}");
        assert!(!shown.contains("9f86d081884c7d65"), "{shown}");
        assert!(shown.contains("/access/s1/***"), "{shown}");
    }
}
