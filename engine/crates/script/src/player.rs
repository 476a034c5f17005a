//! `Player` (a standalone player unit), `PlayerEvents`, and
//! `VoxEngine.createURLPlayer`, `createTTSPlayer`, `createToneScriptPlayer`;
//! `SequencePlayer`, `SequencePlayerEvents` and
//! `VoxEngine.createSequencePlayer`, whose URL and TTS segments play one
//! after another (the engine joins them into one clip).
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

/// The event names of one kind of player (VoxEngine's string values):
/// `Player.*`, or `SequencePlayer.*` for a sequence player.
pub(crate) struct Names {
    pub(crate) created: &'static str,
    playback_ready: &'static str,
    started: &'static str,
    stopped: &'static str,
    playback_finished: &'static str,
    marker_reached: &'static str,
    error: &'static str,
}

const PLAYER: Names = Names {
    created: "Player.Created",
    playback_ready: "Player.PlaybackReady",
    started: "Player.Started",
    stopped: "Player.Stopped",
    playback_finished: "Player.PlaybackFinished",
    marker_reached: "Player.PlaybackMarkerReached",
    error: "Player.Error",
};

const SEQUENCE_PLAYER: Names = Names {
    created: "SequencePlayer.Created",
    playback_ready: "SequencePlayer.PlaybackReady",
    started: "SequencePlayer.Started",
    stopped: "SequencePlayer.Stopped",
    playback_finished: "SequencePlayer.PlaybackFinished",
    marker_reached: "SequencePlayer.PlaybackMarkerReached",
    error: "SequencePlayer.Error",
};

impl Names {
    /// A sequence player's names, or another player's.
    pub(crate) fn of(sequence: bool) -> &'static Names {
        if sequence {
            &SEQUENCE_PLAYER
        } else {
            &PLAYER
        }
    }

    fn event(&self, event: &PlayerEvent) -> &'static str {
        match event {
            PlayerEvent::PlaybackReady => self.playback_ready,
            PlayerEvent::Started { .. } => self.started,
            PlayerEvent::Stopped => self.stopped,
            PlayerEvent::PlaybackFinished { .. } => self.playback_finished,
            PlayerEvent::MarkerReached { .. } => self.marker_reached,
            PlayerEvent::Error { .. } => self.error,
        }
    }
}

pub(crate) const SEQUENCE_PLAYER_EVENTS: &[(&str, &str)] = &[
    ("Created", SEQUENCE_PLAYER.created),
    ("Error", SEQUENCE_PLAYER.error),
    ("PlaybackFinished", SEQUENCE_PLAYER.playback_finished),
    ("PlaybackMarkerReached", SEQUENCE_PLAYER.marker_reached),
    ("PlaybackReady", SEQUENCE_PLAYER.playback_ready),
    ("Started", SEQUENCE_PLAYER.started),
    ("Stopped", SEQUENCE_PLAYER.stopped),
];

/// Segments one sequence player may have.
const MAX_SEGMENTS: usize = 100;

/// Every documented constant, emitted or not, so VoxEngine scripts load.
pub(crate) const PLAYER_EVENTS: &[(&str, &str)] = &[
    (
        "AudioChunksPlaybackFinished",
        "Player.AudioChunksPlaybackFinished",
    ),
    ("Created", PLAYER.created),
    ("Error", PLAYER.error),
    ("PlaybackBuffering", "Player.PlaybackBuffering"),
    ("PlaybackFinished", PLAYER.playback_finished),
    ("PlaybackMarkerReached", PLAYER.marker_reached),
    ("PlaybackReady", PLAYER.playback_ready),
    ("Started", PLAYER.started),
    ("Stopped", PLAYER.stopped),
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
    /// A sequence player's segment objects, as the script gave them (a
    /// marker names its segment by one of them); `None` for other players.
    segments: Option<Vec<Value<'js>>>,
}

// SAFETY: `Changed` is the same type with only the `'js` lifetime replaced.
unsafe impl<'js> JsLifetime<'js> for Player<'js> {
    type Changed<'to> = Player<'to>;
}

impl<'js> Trace<'js> for Player<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        self.listeners.trace(tracer);
        for segment in self.segments.iter().flatten() {
            segment.trace(tracer);
        }
    }
}

impl<'js> Player<'js> {
    pub(crate) fn unit(&self) -> UnitId {
        self.unit
    }

    pub(crate) fn listeners(&self) -> &Listeners<'js> {
        &self.listeners
    }

    fn is_sequence(&self) -> bool {
        self.segments.is_some()
    }

    /// What scripts call it in messages.
    fn noun(&self) -> &'static str {
        if self.is_sequence() {
            "sequencePlayer"
        } else {
            "player"
        }
    }

    /// The index of the segment `segment` names: one of the objects given
    /// to `createSequencePlayer`, or its index.
    fn segment_index(&self, ctx: &Ctx<'js>, segment: Option<&Value<'js>>) -> rquickjs::Result<u32> {
        let segments = self.segments.as_deref().unwrap_or_default();
        let found = match segment {
            Some(v) if v.is_number() => v
                .as_number()
                .filter(|n| n.fract() == 0.0 && *n >= 0.0 && (*n as usize) < segments.len())
                .map(|n| n as usize),
            Some(v) => segments.iter().position(|s| s == v),
            None => None,
        };
        match found.and_then(|i| u32::try_from(i).ok()) {
            Some(index) => Ok(index),
            None => Err(Exception::throw_type(
                ctx,
                "sequencePlayer.addMarker(): the segment must be one of the segments given to \
                 createSequencePlayer (or its index)",
            )),
        }
    }

    fn control(&self, ctx: &Ctx<'js>, what: &str, op: PlayerOp) -> rquickjs::Result<()> {
        if self.stopped.get() {
            self.core.note(&format!(
                "{noun}.{what}(): player {} was stopped",
                self.unit.0,
                noun = self.noun()
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

    /// A marker `offset` ms from the start (from the end when negative); a
    /// sequence player's from the start (end) of the `segment` it names.
    pub fn add_marker(
        &self,
        ctx: Ctx<'js>,
        offset: Value<'js>,
        segment: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let noun = self.noun();
        let ms = match offset.as_number() {
            Some(n) if n.is_finite() && n.abs() < 1e12 => n.round() as i64,
            _ => {
                return Err(Exception::throw_type(
                    &ctx,
                    &format!(
                        "{noun}.addMarker(): the offset must be a number of milliseconds, not {}",
                        offset.type_name()
                    ),
                ))
            }
        };
        if self.markers.get() >= MAX_MARKERS {
            return Err(Exception::throw_range(
                &ctx,
                &format!("{noun}.addMarker(): more than {MAX_MARKERS} markers"),
            ));
        }
        let op = if self.is_sequence() {
            PlayerOp::AddSegmentMarker {
                segment: self.segment_index(&ctx, segment.0.as_ref())?,
                offset_ms: ms,
            }
        } else {
            PlayerOp::AddMarker(ms)
        };
        self.markers.set(self.markers.get() + 1);
        self.control(&ctx, "addMarker", op)
    }

    pub fn add_event_listener(
        &self,
        ctx: Ctx<'js>,
        event: Value<'js>,
        callback: Value<'js>,
    ) -> rquickjs::Result<()> {
        self.listeners
            .add_script(&ctx, self.noun(), &event, &callback)
    }

    pub fn remove_event_listener(
        &self,
        ctx: Ctx<'js>,
        event: Value<'js>,
        callback: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        self.listeners
            .remove_script(&ctx, self.noun(), &event, callback.0.as_ref())
    }

    #[qjs(rename = "toString")]
    pub fn describe(&self) -> String {
        if self.is_sequence() {
            format!("SequencePlayer(id={})", self.unit.0)
        } else {
            format!("Player(id={})", self.unit.0)
        }
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
    )?;
    f(
        "createSequencePlayer",
        Function::new(ctx.clone(), create_sequence_player)?,
    )
}

/// Creates the player unit and queues its `Created` event.
fn create<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    source: PlayerSource,
    looped: bool,
) -> rquickjs::Result<Class<'js, Player<'js>>> {
    create_with(ctx, what, source, looped, None)
}

fn create_with<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    source: PlayerSource,
    looped: bool,
    segments: Option<Vec<Value<'js>>>,
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
            segments,
        },
    )?;
    registry(ctx)?.add_player(unit, player.clone());
    if player.borrow().is_sequence() {
        core.mark_sequence_player(unit);
    }
    core.queue_player_created(unit);
    Ok(player)
}

/// `createSequencePlayer({segments})`: each segment `{text, parameters?}`
/// (as `createTTSPlayer`'s) or `{url, parameters?}` (a URL player's; its
/// `loop` is not for a segment).
fn create_sequence_player<'js>(
    ctx: Ctx<'js>,
    parameters: Opt<Value<'js>>,
) -> rquickjs::Result<Class<'js, Player<'js>>> {
    const WHAT: &str = "VoxEngine.createSequencePlayer()";
    let type_error = |message: &str| Exception::throw_type(&ctx, &format!("{WHAT}: {message}"));
    let Some(parameters) = parameters.0.as_ref().and_then(Value::as_object) else {
        return Err(type_error("takes {segments: [...]}"));
    };
    let list: Value = parameters.get("segments")?;
    let Some(list) = list.as_array() else {
        return Err(type_error("segments must be an array"));
    };
    if list.is_empty() || list.len() > MAX_SEGMENTS {
        return Err(Exception::throw_range(
            &ctx,
            &format!("{WHAT}: 1 to {MAX_SEGMENTS} segments, not {}", list.len()),
        ));
    }
    let mut sources = Vec::with_capacity(list.len());
    let mut objects = Vec::with_capacity(list.len());
    for (index, segment) in list.iter::<Value>().enumerate() {
        let segment = segment?;
        let Some(object) = segment.as_object() else {
            return Err(type_error(&format!(
                "segment {index} must be {{text}} or {{url}}, not {}",
                segment.type_name()
            )));
        };
        let text: Value = object.get("text")?;
        let url: Value = object.get("url")?;
        let options: Value = object.get("parameters")?;
        let what = format!("{WHAT} segment {index}");
        let source = match (media::is_set(&text), media::is_set(&url)) {
            (true, false) => media::tts_source(&ctx, &what, &text, Some(&options))?,
            (false, true) => {
                PlayerSource::Url(text_arg(&ctx, &what, "the URL", &url, MAX_SOURCE_TEXT)?)
            }
            _ => {
                return Err(type_error(&format!(
                    "segment {index} must have either text or url"
                )))
            }
        };
        sources.push(source);
        objects.push(segment);
    }
    create_with(
        &ctx,
        WHAT,
        PlayerSource::Sequence(sources),
        false,
        Some(objects),
    )
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

/// The event's name: `Player.*`, or `SequencePlayer.*` for a sequence player.
pub(crate) fn event_name_of(event: &PlayerEvent, sequence: bool) -> &'static str {
    Names::of(sequence).event(event)
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
    object.set(player.borrow().noun(), player.clone())?;
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
pub(crate) fn describe_event(unit: UnitId, event: &PlayerEvent, sequence: bool) -> String {
    let name = event_name_of(event, sequence);
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
