//! What one session's bindings share.
//!
//! `SessionCore` is plain Rust state (ids, the command channel, flags).
//! `Registry` holds the JS values the session keeps alive between callbacks
//! (listeners, calls, timer callbacks). It is stored as the runtime's userdata
//! so native functions can reach it, and the session removes it before the
//! runtime is freed: QuickJS aborts if a value outlives its runtime. Native
//! functions capture no JS values, so every reference is visible to the GC.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::rc::Rc;

use dialtone_core::messages::{CommandSender, SessionCommand};
use dialtone_core::{CallId, SessionId, UnitId};
use rquickjs::runtime::UserDataGuard;
use rquickjs::{Class, Ctx, Exception, JsLifetime};

use crate::call::Call;
use crate::conference::{Conference, Note};
use crate::limits::{MAX_COMMANDS_PER_CALLBACK, MAX_MEDIA_UNITS};
use crate::listeners::Listeners;
use crate::net::Requests;
use crate::player::Player;
use crate::recorder::Recorder;
use crate::timers::Timers;

pub(crate) struct SessionCore {
    pub(crate) id: SessionId,
    /// Scenario file name, for messages.
    pub(crate) file: String,
    commands: CommandSender,
    custom_data: RefCell<String>,
    live_calls: RefCell<BTreeSet<CallId>>,
    outbound_calls: Cell<usize>,
    terminate: Cell<bool>,
    sent_this_callback: Cell<u32>,
    /// Players whose `Created` the host still has to dispatch.
    created_players: RefCell<VecDeque<UnitId>>,
    /// Players made by `createSequencePlayer`: their events are
    /// `SequencePlayerEvents`.
    sequence_players: RefCell<std::collections::HashSet<UnitId>>,
    /// Conference events the host still has to dispatch.
    conference_notes: RefCell<VecDeque<Note>>,
    /// `Logger.write` lines and bytes per second.
    log_budget: RefCell<crate::log_budget::LogBudget>,
    /// What `Language` and `VoiceList` voices become for the TTS engine.
    pub(crate) voices: std::sync::Arc<dialtone_core::voices::VoiceCatalogue>,
}

impl SessionCore {
    pub(crate) fn new(
        id: SessionId,
        file: String,
        commands: CommandSender,
        custom_data: String,
        voices: std::sync::Arc<dialtone_core::voices::VoiceCatalogue>,
    ) -> Rc<SessionCore> {
        Rc::new(SessionCore {
            voices,
            id,
            file,
            commands,
            custom_data: RefCell::new(custom_data),
            live_calls: RefCell::new(BTreeSet::new()),
            outbound_calls: Cell::new(0),
            terminate: Cell::new(false),
            sent_this_callback: Cell::new(0),
            created_players: RefCell::new(VecDeque::new()),
            sequence_players: RefCell::new(std::collections::HashSet::new()),
            conference_notes: RefCell::new(VecDeque::new()),
            log_budget: RefCell::new(crate::log_budget::LogBudget::new(
                tokio::time::Instant::now().into_std(),
            )),
        })
    }

    /// Sends a command on behalf of the script, within the per-callback cap.
    pub(crate) fn send(&self, ctx: &Ctx<'_>, command: SessionCommand) -> rquickjs::Result<()> {
        let sent = self.sent_this_callback.get();
        if sent >= MAX_COMMANDS_PER_CALLBACK {
            return Err(Exception::throw_range(
                ctx,
                &format!("more than {MAX_COMMANDS_PER_CALLBACK} call actions in one callback"),
            ));
        }
        self.sent_this_callback.set(sent + 1);
        self.send_unchecked(command);
        Ok(())
    }

    /// Sends a command of the host itself (not counted against the script).
    pub(crate) fn send_unchecked(&self, command: SessionCommand) {
        if self.commands.send((self.id, command)).is_err() {
            tracing::debug!(target: "dialtone::script", session = %self.id, "engine gone; command dropped");
        }
    }

    pub(crate) fn begin_callback(&self) {
        self.sent_this_callback.set(0);
    }

    pub(crate) fn custom_data(&self) -> String {
        self.custom_data.borrow().clone()
    }

    pub(crate) fn set_custom_data(&self, value: String) {
        *self.custom_data.borrow_mut() = value;
    }

    pub(crate) fn call_started(&self, call: CallId) {
        self.live_calls.borrow_mut().insert(call);
    }

    pub(crate) fn call_ended(&self, call: CallId) {
        self.live_calls.borrow_mut().remove(&call);
    }

    pub(crate) fn has_live_calls(&self) -> bool {
        !self.live_calls.borrow().is_empty()
    }

    pub(crate) fn outbound_calls(&self) -> usize {
        self.outbound_calls.get()
    }

    pub(crate) fn count_outbound_call(&self) {
        self.outbound_calls.set(self.outbound_calls.get() + 1);
    }

    pub(crate) fn queue_player_created(&self, unit: UnitId) {
        self.created_players.borrow_mut().push_back(unit);
    }

    pub(crate) fn take_player_created(&self) -> Option<UnitId> {
        self.created_players.borrow_mut().pop_front()
    }

    pub(crate) fn mark_sequence_player(&self, unit: UnitId) {
        self.sequence_players.borrow_mut().insert(unit);
    }

    /// Whether `unit` is a sequence player (its events are `SequencePlayer.*`).
    pub(crate) fn is_sequence_player(&self, unit: UnitId) -> bool {
        self.sequence_players.borrow().contains(&unit)
    }

    pub(crate) fn queue_conference_note(&self, note: Note) {
        self.conference_notes.borrow_mut().push_back(note);
    }

    pub(crate) fn take_conference_note(&self) -> Option<Note> {
        self.conference_notes.borrow_mut().pop_front()
    }

    pub(crate) fn request_terminate(&self) {
        self.terminate.set(true);
    }

    pub(crate) fn terminate_requested(&self) -> bool {
        self.terminate.get()
    }

    /// A `Logger.write` line, within the session's log budget: past it the
    /// line is dropped and counted, and the next line written is preceded by
    /// one summary line.
    pub(crate) fn log(&self, text: &str) {
        let now = tokio::time::Instant::now().into_std();
        let verdict = self.log_budget.borrow_mut().admit(now, text.len());
        if let crate::log_budget::Verdict::Write(dropped) = verdict {
            if let Some(dropped) = dropped {
                self.note(&dropped.summary());
            }
            tracing::info!(target: "dialtone::session", session = %self.id, kind = "log", "{text}");
        }
    }

    /// The summary of lines dropped and not summarised yet (the session's end).
    pub(crate) fn flush_log_budget(&self) {
        let dropped = self.log_budget.borrow_mut().take_dropped();
        if let Some(dropped) = dropped {
            self.note(&dropped.summary());
        }
    }

    /// A line of the session log that is not from `Logger.write`.
    pub(crate) fn note(&self, text: &str) {
        tracing::info!(target: "dialtone::session", session = %self.id, kind = "log", "{text}");
    }
}

/// The session's JS values; see the module documentation.
pub(crate) struct Registry<'js> {
    pub(crate) core: Rc<SessionCore>,
    pub(crate) app_listeners: Listeners<'js>,
    pub(crate) timers: Timers<'js>,
    /// `Net` requests in flight.
    pub(crate) http: Requests<'js>,
    /// `ApplicationStorage` requests in flight.
    pub(crate) storage: crate::storage::Pending<'js>,
    /// `require(Modules.IVR)` has defined `IVRState`.
    pub(crate) ivr_loaded: Cell<bool>,
    /// ACD requests (`VoxEngine.enqueueACDRequest`).
    pub(crate) acd: crate::acd::Requests<'js>,
    calls: RefCell<HashMap<CallId, Class<'js, Call<'js>>>>,
    players: RefCell<HashMap<UnitId, Class<'js, Player<'js>>>>,
    recorders: RefCell<HashMap<UnitId, Class<'js, Recorder<'js>>>>,
    conferences: RefCell<HashMap<UnitId, Class<'js, Conference<'js>>>>,
}

// SAFETY: `Changed` is the same type with only the `'js` lifetime replaced.
unsafe impl<'js> JsLifetime<'js> for Registry<'js> {
    type Changed<'to> = Registry<'to>;
}

impl<'js> Registry<'js> {
    pub(crate) fn new(core: Rc<SessionCore>) -> Registry<'js> {
        Registry {
            core,
            app_listeners: Listeners::default(),
            timers: Timers::default(),
            http: Requests::default(),
            storage: Default::default(),
            ivr_loaded: Cell::new(false),
            acd: Default::default(),
            calls: RefCell::new(HashMap::new()),
            players: RefCell::new(HashMap::new()),
            recorders: RefCell::new(HashMap::new()),
            conferences: RefCell::new(HashMap::new()),
        }
    }

    pub(crate) fn add_call(&self, id: CallId, call: Class<'js, Call<'js>>) {
        self.calls.borrow_mut().insert(id, call);
    }

    pub(crate) fn call(&self, id: CallId) -> Option<Class<'js, Call<'js>>> {
        self.calls.borrow().get(&id).cloned()
    }

    /// Checks the session may create one more player or recorder.
    pub(crate) fn check_media_units(&self, ctx: &Ctx<'js>, what: &str) -> rquickjs::Result<()> {
        let units = self.players.borrow().len() + self.recorders.borrow().len();
        if units >= MAX_MEDIA_UNITS {
            return Err(Exception::throw_range(
                ctx,
                &format!(
                    "{what}: more than {MAX_MEDIA_UNITS} players and recorders in one session"
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn add_player(&self, unit: UnitId, player: Class<'js, Player<'js>>) {
        self.players.borrow_mut().insert(unit, player);
    }

    pub(crate) fn player(&self, unit: UnitId) -> Option<Class<'js, Player<'js>>> {
        self.players.borrow().get(&unit).cloned()
    }

    pub(crate) fn add_recorder(&self, unit: UnitId, recorder: Class<'js, Recorder<'js>>) {
        self.recorders.borrow_mut().insert(unit, recorder);
    }

    pub(crate) fn recorder(&self, unit: UnitId) -> Option<Class<'js, Recorder<'js>>> {
        self.recorders.borrow().get(&unit).cloned()
    }

    pub(crate) fn add_conference(&self, unit: UnitId, conference: Class<'js, Conference<'js>>) {
        self.conferences.borrow_mut().insert(unit, conference);
    }

    pub(crate) fn conference(&self, unit: UnitId) -> Option<Class<'js, Conference<'js>>> {
        self.conferences.borrow().get(&unit).cloned()
    }

    pub(crate) fn conferences(&self) -> Vec<Class<'js, Conference<'js>>> {
        self.conferences.borrow().values().cloned().collect()
    }

    pub(crate) fn conference_count(&self) -> usize {
        self.conferences.borrow().len()
    }

    /// Drops every JS value the session holds, ahead of the runtime.
    pub(crate) fn clear(&self) {
        self.app_listeners.clear();
        self.timers.clear();
        self.http.clear();
        self.storage.clear();
        let calls: Vec<_> = self.calls.borrow_mut().drain().map(|(_, c)| c).collect();
        for call in &calls {
            call.borrow().clear_listeners();
        }
        let players: Vec<_> = self.players.borrow_mut().drain().map(|(_, p)| p).collect();
        for player in &players {
            player.borrow().listeners().clear();
        }
        let recorders: Vec<_> = self
            .recorders
            .borrow_mut()
            .drain()
            .map(|(_, r)| r)
            .collect();
        for recorder in &recorders {
            recorder.borrow().listeners().clear();
        }
        let conferences: Vec<_> = self
            .conferences
            .borrow_mut()
            .drain()
            .map(|(_, c)| c)
            .collect();
        for conference in &conferences {
            conference.borrow().clear();
        }
    }
}

/// The registry of the session running in `ctx`.
pub(crate) fn registry<'a, 'js>(
    ctx: &'a Ctx<'js>,
) -> rquickjs::Result<UserDataGuard<'a, Registry<'js>>> {
    ctx.userdata::<Registry<'js>>()
        .ok_or_else(|| Exception::throw_internal(ctx, "the session has ended"))
}
