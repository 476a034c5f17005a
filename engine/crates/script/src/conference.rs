//! `Conference`, `Endpoint`, `ConferenceEvents` and
//! `VoxEngine.createConference`.
//!
//! A conference is a mixer unit in the media engine. Its endpoints are the
//! session's calls and players: an endpoint that sends speaks into the mix,
//! one that receives hears the mix (everyone but itself). The host keeps
//! the endpoints (ids, modes, directions, whom each hears) and sends the
//! engine the member each one amounts to; events are queued and dispatched
//! as the session's next events, as VoxEngine raises them asynchronously.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

use dialtone_core::messages::SessionCommand;
use dialtone_core::{CallId, UnitId};
use rquickjs::class::{Trace, Tracer};
use rquickjs::function::Opt;
use rquickjs::{Class, Ctx, Exception, Function, JsLifetime, Object, Value};

use crate::call::Call;
use crate::listeners::{Listener, Listeners};
use crate::media::{self, text_arg};
use crate::player::Player;
use crate::recorder::Recorder;
use crate::registry::{registry, SessionCore};

/// `ConferenceEvents` names.
pub(crate) mod names {
    pub(crate) const STARTED: &str = "Conference.Started";
    pub(crate) const STOPPED: &str = "Conference.Stopped";
    pub(crate) const ENDPOINT_ADDED: &str = "Conference.EndpointAdded";
    pub(crate) const ENDPOINT_REMOVED: &str = "Conference.EndpointRemoved";
    pub(crate) const ENDPOINT_UPDATED: &str = "Conference.EndpointUpdated";
    pub(crate) const ENDPOINT_MANAGED: &str = "Conference.EndpointManaged";
    pub(crate) const ERROR: &str = "Conference.Error";
}

pub(crate) const CONFERENCE_EVENTS: &[(&str, &str)] = &[
    ("ConferenceError", names::ERROR),
    ("EndpointAdded", names::ENDPOINT_ADDED),
    ("EndpointManaged", names::ENDPOINT_MANAGED),
    ("EndpointRemoved", names::ENDPOINT_REMOVED),
    ("EndpointUpdated", names::ENDPOINT_UPDATED),
    ("Error", names::ERROR),
    ("Started", names::STARTED),
    ("Stopped", names::STOPPED),
];

/// Endpoints one conference may hold.
pub(crate) const MAX_ENDPOINTS: usize = 1_000;
/// Conferences one session may create.
pub(crate) const MAX_CONFERENCES: usize = 100;

/// A conference event waiting to be dispatched.
#[derive(Debug, Clone)]
pub(crate) struct Note {
    pub conference: UnitId,
    pub name: &'static str,
    pub endpoint: Option<String>,
    /// `Error`'s code and text.
    pub error: Option<(u16, String)>,
    /// The endpoint's mode and direction when the event happened.
    pub state: Option<(&'static str, &'static str)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Send,
    Receive,
    Both,
}

impl Direction {
    fn parse(text: &str) -> Option<Direction> {
        match text.to_ascii_uppercase().as_str() {
            "SEND" => Some(Direction::Send),
            "RECEIVE" => Some(Direction::Receive),
            "BOTH" => Some(Direction::Both),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Direction::Send => "SEND",
            Direction::Receive => "RECEIVE",
            Direction::Both => "BOTH",
        }
    }

    fn sends(self) -> bool {
        self != Direction::Receive
    }

    fn receives(self) -> bool {
        self != Direction::Send
    }

    /// Both ways once a unit that did one also does the other.
    fn with(self, other: Direction) -> Direction {
        if self == other {
            self
        } else {
            Direction::Both
        }
    }
}

fn parse_mode(text: &str) -> Option<bool> {
    match text.to_ascii_uppercase().as_str() {
        "MIX" => Some(false),
        "FORWARD" => Some(true),
        _ => None,
    }
}

#[rquickjs::class(frozen)]
pub(crate) struct Endpoint<'js> {
    id: String,
    conference: UnitId,
    /// The call or player this endpoint is.
    unit: UnitId,
    call: Option<Class<'js, Call<'js>>>,
    forward: Cell<bool>,
    direction: Cell<Direction>,
    display_name: RefCell<String>,
    /// Endpoints (by unit) this one does not hear.
    deaf_to: RefCell<BTreeSet<UnitId>>,
    /// Whether it hears endpoints added later (`{new: {audio: false}}`).
    hears_new: Cell<bool>,
}

// SAFETY: `Changed` is the same type with only the `'js` lifetime replaced.
unsafe impl<'js> JsLifetime<'js> for Endpoint<'js> {
    type Changed<'to> = Endpoint<'to>;
}

impl<'js> Trace<'js> for Endpoint<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        self.call.trace(tracer);
    }
}

#[rquickjs::class(frozen)]
pub(crate) struct Conference<'js> {
    unit: UnitId,
    name: String,
    core: Rc<SessionCore>,
    endpoints: RefCell<Vec<Class<'js, Endpoint<'js>>>>,
    /// Endpoints removed whose `EndpointRemoved` is still to be dispatched.
    departed: RefCell<Vec<Class<'js, Endpoint<'js>>>>,
    stopped: Cell<bool>,
    listeners: Listeners<'js>,
}

// SAFETY: `Changed` is the same type with only the `'js` lifetime replaced.
unsafe impl<'js> JsLifetime<'js> for Conference<'js> {
    type Changed<'to> = Conference<'to>;
}

impl<'js> Trace<'js> for Conference<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        for e in self.endpoints.borrow().iter() {
            e.trace(tracer);
        }
        for e in self.departed.borrow().iter() {
            e.trace(tracer);
        }
        self.listeners.trace(tracer);
    }
}

/// What a value passed as a conference endpoint is.
enum Source<'js> {
    Call(Class<'js, Call<'js>>),
    Player(UnitId),
}

fn source_of<'js>(value: &Value<'js>) -> Option<Source<'js>> {
    if let Ok(call) = Class::<Call>::from_value(value) {
        return Some(Source::Call(call));
    }
    if let Ok(player) = Class::<Player>::from_value(value) {
        return Some(Source::Player(player.borrow().unit()));
    }
    None
}

impl<'js> Conference<'js> {
    pub(crate) fn listeners(&self) -> &Listeners<'js> {
        &self.listeners
    }

    /// Drops the JS values it holds (the session is ending).
    pub(crate) fn clear(&self) {
        self.listeners.clear();
        self.endpoints.borrow_mut().clear();
        self.departed.borrow_mut().clear();
    }

    fn find_by_unit(&self, unit: UnitId) -> Option<Class<'js, Endpoint<'js>>> {
        self.endpoints
            .borrow()
            .iter()
            .find(|e| e.borrow().unit == unit)
            .cloned()
    }

    fn find_by_id(&self, id: &str) -> Option<Class<'js, Endpoint<'js>>> {
        self.endpoints
            .borrow()
            .iter()
            .find(|e| e.borrow().id == id)
            .cloned()
    }

    fn queue(&self, name: &'static str, endpoint: Option<&Endpoint<'js>>) {
        self.core.queue_conference_note(Note {
            conference: self.unit,
            name,
            endpoint: endpoint.map(|e| e.id.clone()),
            error: None,
            state: endpoint.map(|e| (e.get_mode(), e.get_direction())),
        });
    }

    /// Tells the engine what `endpoint` amounts to now: its member (what it
    /// says, whom it does not hear) and whether it hears the mix.
    fn sync(&self, ctx: &Ctx<'js>, endpoint: &Endpoint<'js>) -> rquickjs::Result<()> {
        let direction = endpoint.direction.get();
        let deaf_to = endpoint.deaf_to.borrow().iter().copied().collect();
        self.core.send(
            ctx,
            SessionCommand::ConferenceMember {
                conference: self.unit,
                member: endpoint.unit,
                send: direction.sends(),
                forward: endpoint.forward.get(),
                deaf_to,
            },
        )?;
        // Only calls hear; a player has no input.
        if endpoint.call.is_some() {
            let (from, to) = (self.unit, endpoint.unit);
            let cmd = if direction.receives() {
                SessionCommand::SendMedia { from, to }
            } else {
                SessionCommand::StopMedia { from, to }
            };
            self.core.send(ctx, cmd)?;
        }
        Ok(())
    }

    /// Adds `source` as an endpoint or, when it is one already, widens its
    /// direction; returns the endpoint.
    pub(crate) fn join(
        &self,
        ctx: &Ctx<'js>,
        what: &str,
        source: &Value<'js>,
        direction: Direction,
        forward: Option<bool>,
        display_name: Option<String>,
    ) -> rquickjs::Result<Class<'js, Endpoint<'js>>> {
        if self.stopped.get() {
            return Err(Exception::throw_type(
                ctx,
                &format!("{what}: the conference was stopped"),
            ));
        }
        let (unit, call) = match source_of(source) {
            Some(Source::Call(call)) => {
                let unit = UnitId::from(call.borrow().call_id());
                (unit, Some(call))
            }
            Some(Source::Player(unit)) if direction == Direction::Send => (unit, None),
            Some(Source::Player(_)) => {
                return Err(Exception::throw_type(
                    ctx,
                    &format!("{what}: a Player only sends; its direction must be SEND"),
                ))
            }
            None => {
                return Err(Exception::throw_type(
                    ctx,
                    &format!(
                        "{what}: expected a Call or a Player, not {}",
                        source.type_name()
                    ),
                ))
            }
        };
        if let Some(existing) = self.find_by_unit(unit) {
            {
                let e = existing.borrow();
                e.direction.set(e.direction.get().with(direction));
                if let Some(f) = forward {
                    e.forward.set(f);
                }
                if let Some(name) = display_name {
                    *e.display_name.borrow_mut() = name;
                }
                self.sync(ctx, &e)?;
            }
            self.queue(names::ENDPOINT_UPDATED, Some(&existing.borrow()));
            return Ok(existing);
        }
        let ended = call.as_ref().is_some_and(|c| !c.borrow().is_up());
        if !ended && self.endpoints.borrow().len() >= MAX_ENDPOINTS {
            return Err(Exception::throw_range(
                ctx,
                &format!("{what}: more than {MAX_ENDPOINTS} endpoints in one conference"),
            ));
        }
        // Those that said they hear no newcomers do not hear this one.
        for other in self.endpoints.borrow().iter().filter(|_| !ended) {
            let o = other.borrow();
            if !o.hears_new.get() {
                o.deaf_to.borrow_mut().insert(unit);
                self.sync(ctx, &o)?;
            }
        }
        let endpoint = Class::instance(
            ctx.clone(),
            Endpoint {
                id: media::new_unit().0.to_string(),
                conference: self.unit,
                unit,
                call,
                forward: Cell::new(forward.unwrap_or(false)),
                direction: Cell::new(direction),
                display_name: RefCell::new(display_name.unwrap_or_default()),
                deaf_to: RefCell::new(BTreeSet::new()),
                hears_new: Cell::new(true),
            },
        )?;
        if ended {
            // The call ended (or is being hung up) before it could join: the
            // endpoint is made but never joins, and the conference says why.
            self.core.queue_conference_note(Note {
                conference: self.unit,
                name: names::ERROR,
                endpoint: Some(endpoint.borrow().id.clone()),
                error: Some((404, "the call has ended".into())),
                state: None,
            });
            return Ok(endpoint);
        }
        self.sync(ctx, &endpoint.borrow())?;
        self.endpoints.borrow_mut().push(endpoint.clone());
        self.queue(names::ENDPOINT_ADDED, Some(&endpoint.borrow()));
        Ok(endpoint)
    }

    /// Takes the endpoint of `unit` out (its call ended, or the script said
    /// so); `EndpointRemoved` follows.
    pub(crate) fn leave(&self, unit: UnitId) {
        let Some(pos) = self
            .endpoints
            .borrow()
            .iter()
            .position(|e| e.borrow().unit == unit)
        else {
            return;
        };
        let endpoint = self.endpoints.borrow_mut().remove(pos);
        for other in self.endpoints.borrow().iter() {
            other.borrow().deaf_to.borrow_mut().remove(&unit);
        }
        let conference = self.unit;
        self.core.send_unchecked(SessionCommand::ConferenceRemove {
            conference,
            member: unit,
        });
        if endpoint.borrow().call.is_some() {
            self.core.send_unchecked(SessionCommand::StopMedia {
                from: conference,
                to: unit,
            });
        }
        self.queue(names::ENDPOINT_REMOVED, Some(&endpoint.borrow()));
        self.departed.borrow_mut().push(endpoint);
    }

    /// `call.stopMediaTo(conference)`: the unit no longer speaks into it.
    pub(crate) fn stop_sending(&self, ctx: &Ctx<'js>, unit: UnitId) -> rquickjs::Result<()> {
        self.narrow(ctx, unit, Direction::Send)
    }

    /// `stopMediaBetween(conference, x)`: `x` leaves it.
    pub(crate) fn leave_value(&self, value: &Value<'js>) {
        let unit = match source_of(value) {
            Some(Source::Call(call)) => UnitId::from(call.borrow().call_id()),
            Some(Source::Player(unit)) => unit,
            None => return,
        };
        self.leave(unit);
    }

    /// Drops the direction `gone` from `unit`'s endpoint: it leaves when
    /// nothing is left.
    fn narrow(&self, ctx: &Ctx<'js>, unit: UnitId, gone: Direction) -> rquickjs::Result<()> {
        let Some(endpoint) = self.find_by_unit(unit) else {
            return Ok(());
        };
        let left = match (endpoint.borrow().direction.get(), gone) {
            (Direction::Both, Direction::Send) => Some(Direction::Receive),
            (Direction::Both, Direction::Receive) => Some(Direction::Send),
            (d, g) if d == g || g == Direction::Both => None,
            (d, _) => Some(d),
        };
        match left {
            None => {
                self.leave(unit);
            }
            Some(d) => {
                endpoint.borrow().direction.set(d);
                self.sync(ctx, &endpoint.borrow())?;
                self.queue(names::ENDPOINT_UPDATED, Some(&endpoint.borrow()));
            }
        }
        Ok(())
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> Conference<'js> {
    pub fn id(&self) -> String {
        self.name.clone()
    }

    /// `add({call, mode, direction, displayName})` → `Endpoint`. A Player
    /// may be given as `call` (or `player`) with direction SEND.
    pub fn add(
        &self,
        ctx: Ctx<'js>,
        params: Value<'js>,
    ) -> rquickjs::Result<Class<'js, Endpoint<'js>>> {
        const WHAT: &str = "conference.add()";
        let Some(params) = params.as_object() else {
            return Err(Exception::throw_type(
                &ctx,
                &format!(
                    "{WHAT}: expected {{call, mode, direction}}, not {}",
                    params.type_name()
                ),
            ));
        };
        let mut source: Value = params.get("call")?;
        if source.is_undefined() || source.is_null() {
            source = params.get("player")?;
        }
        let direction = match string_field(&ctx, WHAT, params, "direction")? {
            None => Direction::Both,
            Some(d) => Direction::parse(&d).ok_or_else(|| {
                Exception::throw_type(
                    &ctx,
                    &format!("{WHAT}: direction must be SEND, RECEIVE or BOTH, not {d:?}"),
                )
            })?,
        };
        let forward = match string_field(&ctx, WHAT, params, "mode")? {
            None => None,
            Some(m) => Some(parse_mode(&m).ok_or_else(|| {
                Exception::throw_type(
                    &ctx,
                    &format!("{WHAT}: mode must be MIX or FORWARD, not {m:?}"),
                )
            })?),
        };
        let display_name = string_field(&ctx, WHAT, params, "displayName")?;
        self.join(&ctx, WHAT, &source, direction, forward, display_name)
    }

    /// The endpoint with this id, or null.
    pub fn get(&self, id: Value<'js>) -> Option<Class<'js, Endpoint<'js>>> {
        let id = id.as_string().and_then(|s| s.to_string().ok())?;
        self.find_by_id(&id)
    }

    pub fn get_list(&self) -> Vec<Class<'js, Endpoint<'js>>> {
        self.endpoints.borrow().clone()
    }

    /// `conference.sendMediaTo(call | recorder)`: the target hears the
    /// conference (a call that is an endpoint hears everyone but itself).
    pub fn send_media_to(
        &self,
        ctx: Ctx<'js>,
        target: Value<'js>,
        _options: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        const WHAT: &str = "conference.sendMediaTo()";
        if Class::<Call>::from_value(&target).is_ok() {
            self.join(&ctx, WHAT, &target, Direction::Receive, None, None)?;
            return Ok(());
        }
        let to = recorder_of(&ctx, WHAT, &target)?;
        self.core.send(
            &ctx,
            SessionCommand::SendMedia {
                from: self.unit,
                to,
            },
        )
    }

    pub fn stop_media_to(&self, ctx: Ctx<'js>, target: Value<'js>) -> rquickjs::Result<()> {
        const WHAT: &str = "conference.stopMediaTo()";
        if let Ok(call) = Class::<Call>::from_value(&target) {
            let unit = UnitId::from(call.borrow().call_id());
            return self.narrow(&ctx, unit, Direction::Receive);
        }
        let to = recorder_of(&ctx, WHAT, &target)?;
        self.core.send(
            &ctx,
            SessionCommand::StopMedia {
                from: self.unit,
                to,
            },
        )
    }

    /// Ends the conference: every endpoint leaves, `Stopped` follows.
    pub fn stop(&self, ctx: Ctx<'js>) -> rquickjs::Result<()> {
        if self.stopped.replace(true) {
            return Ok(());
        }
        let units: Vec<UnitId> = self
            .endpoints
            .borrow()
            .iter()
            .map(|e| e.borrow().unit)
            .collect();
        for unit in units {
            self.leave(unit);
        }
        self.core
            .send(&ctx, SessionCommand::StopConference { unit: self.unit })?;
        self.queue(names::STOPPED, None);
        Ok(())
    }

    pub fn add_event_listener(
        &self,
        ctx: Ctx<'js>,
        event: Value<'js>,
        callback: Value<'js>,
    ) -> rquickjs::Result<()> {
        self.listeners
            .add_script(&ctx, "conference", &event, &callback)
    }

    pub fn remove_event_listener(
        &self,
        ctx: Ctx<'js>,
        event: Value<'js>,
        callback: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        self.listeners
            .remove_script(&ctx, "conference", &event, callback.0.as_ref())
    }

    #[qjs(rename = "toString")]
    pub fn describe(&self) -> String {
        format!("Conference(id={})", self.name)
    }
}

impl<'js> Endpoint<'js> {
    fn conference(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Option<Class<'js, Conference<'js>>>> {
        Ok(registry(ctx)?.conference(self.conference))
    }

    /// Runs `f` and re-syncs the endpoint with the engine, then queues `event`.
    fn change(
        &self,
        ctx: &Ctx<'js>,
        event: &'static str,
        f: impl FnOnce(&Self),
    ) -> rquickjs::Result<()> {
        f(self);
        if let Some(conf) = self.conference(ctx)? {
            let conf = conf.borrow();
            if conf.find_by_id(&self.id).is_some() {
                conf.sync(ctx, self)?;
                conf.queue(event, Some(self));
            }
        }
        Ok(())
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> Endpoint<'js> {
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// The endpoint's Call, or null for a player.
    pub fn get_call(&self) -> Option<Class<'js, Call<'js>>> {
        self.call.clone()
    }

    pub fn get_mode(&self) -> &'static str {
        if self.forward.get() {
            "FORWARD"
        } else {
            "MIX"
        }
    }

    pub fn get_direction(&self) -> &'static str {
        self.direction.get().name()
    }

    pub fn get_display_name(&self) -> String {
        self.display_name.borrow().clone()
    }

    pub fn set_display_name(&self, ctx: Ctx<'js>, name: Value<'js>) -> rquickjs::Result<()> {
        let name = text_arg(&ctx, "endpoint.setDisplayName()", "the name", &name, 256)?;
        self.change(&ctx, names::ENDPOINT_UPDATED, |e| {
            *e.display_name.borrow_mut() = name;
        })
    }

    /// Dialtone extension: SEND, RECEIVE or BOTH, without any re-INVITE
    /// (a supervisor going from listen to barge).
    pub fn set_direction(&self, ctx: Ctx<'js>, direction: Value<'js>) -> rquickjs::Result<()> {
        const WHAT: &str = "endpoint.setDirection()";
        let text = text_arg(&ctx, WHAT, "the direction", &direction, 16)?;
        let d = Direction::parse(&text).ok_or_else(|| {
            Exception::throw_type(
                &ctx,
                &format!("{WHAT}: SEND, RECEIVE or BOTH, not {text:?}"),
            )
        })?;
        if self.call.is_none() && d != Direction::Send {
            return Err(Exception::throw_type(
                &ctx,
                &format!("{WHAT}: a Player only sends"),
            ));
        }
        self.change(&ctx, names::ENDPOINT_UPDATED, |e| e.direction.set(d))
    }

    /// Dialtone extension: MIX or FORWARD.
    pub fn set_mode(&self, ctx: Ctx<'js>, mode: Value<'js>) -> rquickjs::Result<()> {
        const WHAT: &str = "endpoint.setMode()";
        let text = text_arg(&ctx, WHAT, "the mode", &mode, 16)?;
        let forward = parse_mode(&text).ok_or_else(|| {
            Exception::throw_type(&ctx, &format!("{WHAT}: MIX or FORWARD, not {text:?}"))
        })?;
        self.change(&ctx, names::ENDPOINT_UPDATED, |e| e.forward.set(forward))
    }

    /// `manageEndpoint(receiveParameters)`: which endpoints this one hears.
    /// Keys are endpoint ids, `all` (every current one) or `new` (those
    /// added later); values `{audio: true|false}`. Resolves once applied.
    pub fn manage_endpoint(
        &self,
        ctx: Ctx<'js>,
        params: Value<'js>,
    ) -> rquickjs::Result<Value<'js>> {
        const WHAT: &str = "endpoint.manageEndpoint()";
        let Some(object) = params.as_object() else {
            return Err(Exception::throw_type(
                &ctx,
                &format!(
                    "{WHAT}: expected {{<endpointId>|all|new: {{audio: boolean}}}}, not {}",
                    params.type_name()
                ),
            ));
        };
        let Some(conf) = self.conference(&ctx)? else {
            return Err(Exception::throw_type(
                &ctx,
                &format!("{WHAT}: the conference is gone"),
            ));
        };
        let mut changes: Vec<(String, bool)> = Vec::new();
        for key in object.keys::<String>() {
            let key = key?;
            let value: Value = object.get(key.as_str())?;
            let Some(setting) = value.as_object() else {
                continue;
            };
            let audio: Value = setting.get("audio")?;
            if audio.is_undefined() || audio.is_null() {
                continue;
            }
            changes.push((key, media::truthy(&audio)));
            if changes.len() > MAX_ENDPOINTS + 2 {
                break;
            }
        }
        {
            let conf_ref = conf.borrow();
            let mut deaf = self.deaf_to.borrow_mut();
            for (key, hear) in &changes {
                let units: Vec<UnitId> = match key.as_str() {
                    "new" => {
                        self.hears_new.set(*hear);
                        Vec::new()
                    }
                    "all" => conf_ref
                        .endpoints
                        .borrow()
                        .iter()
                        .map(|e| e.borrow().unit)
                        .filter(|u| *u != self.unit)
                        .collect(),
                    id => match conf_ref.find_by_id(id) {
                        Some(e) => vec![e.borrow().unit],
                        None => {
                            return Err(Exception::throw_range(
                                &ctx,
                                &format!("{WHAT}: no endpoint {id:?} in this conference"),
                            ))
                        }
                    },
                };
                for u in units {
                    if *hear {
                        deaf.remove(&u);
                    } else {
                        deaf.insert(u);
                    }
                }
            }
        }
        let conf_ref = conf.borrow();
        if conf_ref.find_by_id(&self.id).is_some() {
            conf_ref.sync(&ctx, self)?;
            conf_ref.queue(names::ENDPOINT_MANAGED, Some(self));
        }
        resolved(&ctx)
    }

    #[qjs(rename = "toString")]
    pub fn describe(&self) -> String {
        format!("Endpoint(id={})", self.id)
    }
}

/// The unit of the recorder `target` is; a TypeError for anything but a
/// Call (handled by the caller) or a Recorder.
fn recorder_of<'js>(ctx: &Ctx<'js>, what: &str, target: &Value<'js>) -> rquickjs::Result<UnitId> {
    match Class::<Recorder>::from_value(target) {
        Ok(recorder) => Ok(recorder.borrow().unit()),
        Err(_) => Err(Exception::throw_type(
            ctx,
            &format!(
                "{what}: expected a Call or a Recorder, not {}",
                target.type_name()
            ),
        )),
    }
}

fn resolved<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let promise: Object = ctx.globals().get("Promise")?;
    let resolve: Function = promise.get("resolve")?;
    resolve.call((rquickjs::function::This(promise),))
}

fn string_field<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    object: &Object<'js>,
    key: &str,
) -> rquickjs::Result<Option<String>> {
    let value: Value = object.get(key)?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    text_arg(ctx, what, key, &value, 256).map(Some)
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, vox: &Object<'js>) -> rquickjs::Result<()> {
    vox.set(
        "createConference",
        Function::new(ctx.clone(), create_conference)?.with_name("createConference")?,
    )
}

/// `VoxEngine.createConference(parameters?)`; `Started` follows.
fn create_conference<'js>(
    ctx: Ctx<'js>,
    params: Opt<Value<'js>>,
) -> rquickjs::Result<Class<'js, Conference<'js>>> {
    const WHAT: &str = "VoxEngine.createConference()";
    let reg = registry(&ctx)?;
    if reg.conference_count() >= MAX_CONFERENCES {
        return Err(Exception::throw_range(
            &ctx,
            &format!("{WHAT}: more than {MAX_CONFERENCES} conferences in one session"),
        ));
    }
    let core = reg.core.clone();
    drop(reg);
    let unit = media::new_unit();
    // An `id` in the parameters names the conference; else its unit does.
    let name = match params.0.as_ref().and_then(|p| p.as_object()) {
        Some(p) => string_field(&ctx, WHAT, p, "id")?,
        None => None,
    }
    .unwrap_or_else(|| unit.0.to_string());
    core.send(&ctx, SessionCommand::CreateConference { unit })?;
    let conference = Class::instance(
        ctx.clone(),
        Conference {
            unit,
            name,
            core: core.clone(),
            endpoints: RefCell::new(Vec::new()),
            departed: RefCell::new(Vec::new()),
            stopped: Cell::new(false),
            listeners: Listeners::default(),
        },
    )?;
    registry(&ctx)?.add_conference(unit, conference.clone());
    conference.borrow().queue(names::STARTED, None);
    Ok(conference)
}

/// The conference `value` is, if it is one.
pub(crate) fn as_conference<'js>(value: &Value<'js>) -> Option<Class<'js, Conference<'js>>> {
    Class::<Conference>::from_value(value).ok()
}

/// A call of the session ended: it leaves every conference it was in.
pub(crate) fn call_gone(ctx: &Ctx<'_>, call: CallId) -> rquickjs::Result<()> {
    let unit = UnitId::from(call);
    for conf in registry(ctx)?.conferences() {
        conf.borrow().leave(unit);
    }
    Ok(())
}

/// Runs the listeners of a queued conference event.
pub(crate) fn dispatch(ctx: &Ctx<'_>, note: &Note) -> rquickjs::Result<()> {
    let Some(conf) = registry(ctx)?.conference(note.conference) else {
        return Ok(());
    };
    // An endpoint may have left by the time its earlier events are
    // dispatched: those still carry it. `EndpointRemoved` lets it go.
    let endpoint = match &note.endpoint {
        None => None,
        Some(id) => {
            let c = conf.borrow();
            let mut departed = c.departed.borrow_mut();
            let gone = departed.iter().position(|e| e.borrow().id == *id);
            match (note.name, gone) {
                (names::ENDPOINT_REMOVED, Some(pos)) => Some(departed.remove(pos)),
                (_, Some(pos)) if c.find_by_id(id).is_none() => departed.get(pos).cloned(),
                _ => c.find_by_id(id),
            }
        }
    };
    let listeners = conf.borrow().listeners().snapshot(note.name);
    if listeners.is_empty() {
        return Ok(());
    }
    let object = Object::new(ctx.clone())?;
    object.set("name", note.name)?;
    object.set("conference", conf.clone())?;
    if let Some(e) = &endpoint {
        let b = e.borrow();
        object.set("endpoint", e.clone())?;
        object.set("endpointId", b.id.as_str())?;
        let (mode, direction) = note.state.unwrap_or((b.get_mode(), b.get_direction()));
        object.set("mode", mode)?;
        object.set("direction", direction)?;
    }
    if let Some((code, error)) = &note.error {
        object.set("code", *code)?;
        object.set("error", error.as_str())?;
        if endpoint.is_none() {
            object.set("endpointId", note.endpoint.as_deref().unwrap_or_default())?;
        }
    }
    for listener in listeners {
        if let Listener::Script(f) = listener {
            f.call::<_, ()>((object.clone(),))?;
        }
    }
    Ok(())
}

/// The session-log text of a queued conference event.
pub(crate) fn describe_note(note: &Note) -> String {
    match &note.endpoint {
        Some(id) => format!(
            "{} conference={} endpoint={id}",
            note.name, note.conference.0
        ),
        None => format!("{} conference={}", note.name, note.conference.0),
    }
}
