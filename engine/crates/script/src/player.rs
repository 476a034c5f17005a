//! `Player` (a standalone player unit), `PlayerEvents`, and
//! `VoxEngine.createURLPlayer`, `createTTSPlayer`, `createToneScriptPlayer`.
//!
//! A player is created with one `CreatePlayer` command without an owner; one
//! player can feed many units. The engine sends no `Created`: the host
//! queues it and dispatches it as the session's next event.

use std::cell::Cell;
use std::rc::Rc;

use dialtone_core::messages::{PlayerEvent, PlayerOp, PlayerSource, SessionCommand};
use dialtone_core::UnitId;
use rquickjs::class::{Trace, Tracer};
use rquickjs::function::Opt;
use rquickjs::{Class, Ctx, Exception, Function, JsLifetime, Object, Value};

use crate::listeners::{Listener, Listeners};
use crate::media::{self, loop_option, media_sink, text_arg, MAX_SOURCE_TEXT};
use crate::registry::{registry, SessionCore};

/// `PlayerEvents` names (VoxEngine's string values).
pub(crate) mod names {
    pub(crate) const CREATED: &str = "Player.Created";
    pub(crate) const PLAYBACK_READY: &str = "Player.PlaybackReady";
    pub(crate) const STARTED: &str = "Player.Started";
    pub(crate) const STOPPED: &str = "Player.Stopped";
    pub(crate) const PLAYBACK_FINISHED: &str = "Player.PlaybackFinished";
    pub(crate) const MARKER_REACHED: &str = "Player.PlaybackMarkerReached";
    pub(crate) const ERROR: &str = "Player.Error";
}

/// Every documented constant, emitted or not, so VoxEngine scripts load.
pub(crate) const PLAYER_EVENTS: &[(&str, &str)] = &[
    (
        "AudioChunksPlaybackFinished",
        "Player.AudioChunksPlaybackFinished",
    ),
    ("Created", names::CREATED),
    ("Error", names::ERROR),
    ("PlaybackBuffering", "Player.PlaybackBuffering"),
    ("PlaybackFinished", names::PLAYBACK_FINISHED),
    ("PlaybackMarkerReached", names::MARKER_REACHED),
    ("PlaybackReady", names::PLAYBACK_READY),
    ("Started", names::STARTED),
    ("Stopped", names::STOPPED),
];

/// Markers one player may hold; each becomes engine state.
const MAX_MARKERS: usize = 100;

#[rquickjs::class(frozen)]
pub(crate) struct Player<'js> {
    unit: UnitId,
    core: Rc<SessionCore>,
    stopped: Cell<bool>,
    markers: Cell<usize>,
    listeners: Listeners<'js>,
}

// SAFETY: `Changed` is the same type with only the `'js` lifetime replaced.
unsafe impl<'js> JsLifetime<'js> for Player<'js> {
    type Changed<'to> = Player<'to>;
}

impl<'js> Trace<'js> for Player<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        self.listeners.trace(tracer);
    }
}

impl<'js> Player<'js> {
    pub(crate) fn unit(&self) -> UnitId {
        self.unit
    }

    pub(crate) fn listeners(&self) -> &Listeners<'js> {
        &self.listeners
    }

    fn control(&self, ctx: &Ctx<'js>, what: &str, op: PlayerOp) -> rquickjs::Result<()> {
        if self.stopped.get() {
            self.core.note(&format!(
                "player.{what}(): player {} was stopped",
                self.unit.0
            ));
            return Ok(());
        }
        self.core.send(
            ctx,
            SessionCommand::PlayerControl {
                unit: self.unit,
                op,
            },
        )
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> Player<'js> {
    pub fn id(&self) -> String {
        self.unit.0.to_string()
    }

    /// Feeds this player's audio to a Call or a Recorder (replacing its input).
    pub fn send_media_to(
        &self,
        ctx: Ctx<'js>,
        target: Value<'js>,
        _options: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        if let Some(conf) = crate::conference::as_conference(&target) {
            if let Some(me) = registry(&ctx)?.player(self.unit) {
                conf.borrow().join(
                    &ctx,
                    "player.sendMediaTo()",
                    &me.into_value(),
                    crate::conference::Direction::Send,
                    None,
                    None,
                )?;
            }
            return Ok(());
        }
        let to = media_sink(&ctx, "player.sendMediaTo()", &target)?;
        self.core.send(
            &ctx,
            SessionCommand::SendMedia {
                from: self.unit,
                to,
            },
        )
    }

    pub fn stop_media_to(&self, ctx: Ctx<'js>, target: Value<'js>) -> rquickjs::Result<()> {
        if let Some(conf) = crate::conference::as_conference(&target) {
            return conf.borrow().stop_sending(&ctx, self.unit);
        }
        let to = media_sink(&ctx, "player.stopMediaTo()", &target)?;
        self.core.send(
            &ctx,
            SessionCommand::StopMedia {
                from: self.unit,
                to,
            },
        )
    }

    pub fn pause(&self, ctx: Ctx<'js>) -> rquickjs::Result<()> {
        self.control(&ctx, "pause", PlayerOp::Pause)
    }

    pub fn resume(&self, ctx: Ctx<'js>) -> rquickjs::Result<()> {
        self.control(&ctx, "resume", PlayerOp::Resume)
    }

    pub fn stop(&self, ctx: Ctx<'js>) -> rquickjs::Result<()> {
        self.control(&ctx, "stop", PlayerOp::Stop)?;
        self.stopped.set(true);
        Ok(())
    }

    /// A marker `offset` ms from the start (from the end when negative).
    pub fn add_marker(&self, ctx: Ctx<'js>, offset: Value<'js>) -> rquickjs::Result<()> {
        let ms = match offset.as_number() {
            Some(n) if n.is_finite() && n.abs() < 1e12 => n.round() as i64,
            _ => {
                return Err(Exception::throw_type(
                    &ctx,
                    &format!(
                        "player.addMarker(): the offset must be a number of milliseconds, not {}",
                        offset.type_name()
                    ),
                ))
            }
        };
        if self.markers.get() >= MAX_MARKERS {
            return Err(Exception::throw_range(
                &ctx,
                &format!("player.addMarker(): more than {MAX_MARKERS} markers"),
            ));
        }
        self.markers.set(self.markers.get() + 1);
        self.control(&ctx, "addMarker", PlayerOp::AddMarker(ms))
    }

    pub fn add_event_listener(
        &self,
        ctx: Ctx<'js>,
        event: Value<'js>,
        callback: Value<'js>,
    ) -> rquickjs::Result<()> {
        self.listeners.add_script(&ctx, "player", &event, &callback)
    }

    pub fn remove_event_listener(
        &self,
        ctx: Ctx<'js>,
        event: Value<'js>,
        callback: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        self.listeners
            .remove_script(&ctx, "player", &event, callback.0.as_ref())
    }

    #[qjs(rename = "toString")]
    pub fn describe(&self) -> String {
        format!("Player(id={})", self.unit.0)
    }
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, vox: &Object<'js>) -> rquickjs::Result<()> {
    let f = |name: &str, function: Function<'js>| -> rquickjs::Result<()> {
        vox.set(name, function.with_name(name)?)
    };
    f(
        "createURLPlayer",
        Function::new(ctx.clone(), create_url_player)?,
    )?;
    f(
        "createTTSPlayer",
        Function::new(ctx.clone(), create_tts_player)?,
    )?;
    f(
        "createToneScriptPlayer",
        Function::new(ctx.clone(), create_tone_script_player)?,
    )
}

/// Creates the player unit and queues its `Created` event.
fn create<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    source: PlayerSource,
    looped: bool,
) -> rquickjs::Result<Class<'js, Player<'js>>> {
    registry(ctx)?.check_media_units(ctx, what)?;
    let core = registry(ctx)?.core.clone();
    let unit = media::new_unit();
    core.send(
        ctx,
        SessionCommand::CreatePlayer {
            unit,
            source,
            looped,
            owner: None,
        },
    )?;
    let player = Class::instance(
        ctx.clone(),
        Player {
            unit,
            core: core.clone(),
            stopped: Cell::new(false),
            markers: Cell::new(0),
            listeners: Listeners::default(),
        },
    )?;
    registry(ctx)?.add_player(unit, player.clone());
    core.queue_player_created(unit);
    Ok(player)
}

/// `createURLPlayer(url, parameters?)`; `parameters` is `{loop}` or the
/// older positional `loop` boolean.
fn create_url_player<'js>(
    ctx: Ctx<'js>,
    url: Value<'js>,
    options: Opt<Value<'js>>,
) -> rquickjs::Result<Class<'js, Player<'js>>> {
    const WHAT: &str = "VoxEngine.createURLPlayer()";
    let url = text_arg(&ctx, WHAT, "the URL", &url, MAX_SOURCE_TEXT)?;
    let looped = loop_option(options.0.as_ref())?;
    create(&ctx, WHAT, PlayerSource::Url(url), looped)
}

/// `createTTSPlayer(text, parameters?)`: `{voice | language, rate,
/// ttsOptions, engine}` or a voice name.
fn create_tts_player<'js>(
    ctx: Ctx<'js>,
    text: Value<'js>,
    options: Opt<Value<'js>>,
) -> rquickjs::Result<Class<'js, Player<'js>>> {
    const WHAT: &str = "VoxEngine.createTTSPlayer()";
    let source = media::tts_source(&ctx, WHAT, &text, options.0.as_ref())?;
    create(&ctx, WHAT, source, false)
}

/// `createToneScriptPlayer(script, loop?)`, or `(script, {loop})`.
fn create_tone_script_player<'js>(
    ctx: Ctx<'js>,
    script: Value<'js>,
    options: Opt<Value<'js>>,
) -> rquickjs::Result<Class<'js, Player<'js>>> {
    const WHAT: &str = "VoxEngine.createToneScriptPlayer()";
    let script = text_arg(&ctx, WHAT, "the tone script", &script, MAX_SOURCE_TEXT)?;
    if script.trim().is_empty() {
        return Err(Exception::throw_range(
            &ctx,
            &format!("{WHAT}: empty tone script"),
        ));
    }
    let looped = loop_option(options.0.as_ref())?;
    create(&ctx, WHAT, PlayerSource::ToneScript(script), looped)
}

pub(crate) fn event_name_of(event: &PlayerEvent) -> &'static str {
    match event {
        PlayerEvent::PlaybackReady => names::PLAYBACK_READY,
        PlayerEvent::Started { .. } => names::STARTED,
        PlayerEvent::Stopped => names::STOPPED,
        PlayerEvent::PlaybackFinished { .. } => names::PLAYBACK_FINISHED,
        PlayerEvent::MarkerReached { .. } => names::MARKER_REACHED,
        PlayerEvent::Error { .. } => names::ERROR,
    }
}

/// Runs the listeners of `name` on the player `unit` with `{name, player, ...}`.
/// `event` is `None` for the host's own `Created`.
pub(crate) fn dispatch<'js>(
    ctx: &Ctx<'js>,
    unit: UnitId,
    name: &str,
    event: Option<&PlayerEvent>,
) -> rquickjs::Result<()> {
    let Some(player) = registry(ctx)?.player(unit) else {
        registry(ctx)?.core.note(&format!(
            "{name} for player {}, which this session does not own",
            unit.0
        ));
        return Ok(());
    };
    let listeners = player.borrow().listeners().snapshot(name);
    if listeners.is_empty() {
        return Ok(());
    }
    let object = Object::new(ctx.clone())?;
    object.set("name", name)?;
    object.set("player", player.clone())?;
    match event {
        Some(PlayerEvent::Started { duration }) => {
            object.set("duration", duration.as_secs_f64())?
        }
        Some(PlayerEvent::PlaybackFinished { error: Some(e) })
        | Some(PlayerEvent::Error { error: e }) => object.set("error", e.as_str())?,
        Some(PlayerEvent::MarkerReached { offset }) => object.set("offset", *offset as f64)?,
        _ => {}
    }
    for listener in listeners {
        if let Listener::Script(f) = listener {
            f.call::<_, ()>((object.clone(),))?;
        }
    }
    Ok(())
}

/// The session-log text of a player event.
pub(crate) fn describe_event(unit: UnitId, event: &PlayerEvent) -> String {
    let name = event_name_of(event);
    match event {
        PlayerEvent::Started { duration } => {
            format!(
                "{name} player={} duration={:.3}s",
                unit.0,
                duration.as_secs_f64()
            )
        }
        PlayerEvent::PlaybackFinished { error: Some(e) } | PlayerEvent::Error { error: e } => {
            format!("{name} player={} error={e:?}", unit.0)
        }
        PlayerEvent::MarkerReached { offset } => {
            format!("{name} player={} offset={offset}", unit.0)
        }
        _ => format!("{name} player={}", unit.0),
    }
}
