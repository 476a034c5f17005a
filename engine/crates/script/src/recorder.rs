//! `Recorder` (a standalone recorder unit fed with `sendMediaTo`),
//! `RecorderEvents`, and `VoxEngine.createRecorder`.

use std::cell::Cell;
use std::rc::Rc;

use dialtone_core::messages::{RecorderEvent, RecorderOp, SessionCommand};
use dialtone_core::UnitId;
use rquickjs::class::{Trace, Tracer};
use rquickjs::function::Opt;
use rquickjs::{Class, Ctx, Function, JsLifetime, Object, Value};

use crate::listeners::{Listener, Listeners};
use crate::media::{self, record_options, truthy};
use crate::registry::{registry, SessionCore};

/// `RecorderEvents` names (VoxEngine's string values).
pub(crate) mod names {
    pub(crate) const STARTED: &str = "Recorder.Started";
    pub(crate) const STOPPED: &str = "Recorder.Stopped";
    pub(crate) const ERROR: &str = "Recorder.Error";
}

pub(crate) const RECORDER_EVENTS: &[(&str, &str)] = &[
    ("RecorderError", names::ERROR),
    ("Started", names::STARTED),
    ("Stopped", names::STOPPED),
];

#[rquickjs::class(frozen)]
pub(crate) struct Recorder<'js> {
    unit: UnitId,
    core: Rc<SessionCore>,
    stopped: Cell<bool>,
    listeners: Listeners<'js>,
}

// SAFETY: `Changed` is the same type with only the `'js` lifetime replaced.
unsafe impl<'js> JsLifetime<'js> for Recorder<'js> {
    type Changed<'to> = Recorder<'to>;
}

impl<'js> Trace<'js> for Recorder<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        self.listeners.trace(tracer);
    }
}

impl<'js> Recorder<'js> {
    pub(crate) fn unit(&self) -> UnitId {
        self.unit
    }

    pub(crate) fn listeners(&self) -> &Listeners<'js> {
        &self.listeners
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> Recorder<'js> {
    pub fn id(&self) -> String {
        self.unit.0.to_string()
    }

    /// Ends the recording; `Stopped` {url, duration} follows.
    pub fn stop(&self, ctx: Ctx<'js>) -> rquickjs::Result<()> {
        if self.stopped.replace(true) {
            self.core.note(&format!(
                "recorder.stop(): recorder {} was already stopped",
                self.unit.0
            ));
            return Ok(());
        }
        self.core.send(
            &ctx,
            SessionCommand::RecorderControl {
                unit: self.unit,
                op: RecorderOp::Stop,
            },
        )
    }

    /// Records silence instead of the input while muted; sources stay attached.
    pub fn mute(&self, ctx: Ctx<'js>, do_mute: Opt<Value<'js>>) -> rquickjs::Result<()> {
        let mute = do_mute.0.as_ref().is_none_or(truthy);
        if self.stopped.get() {
            self.core.note(&format!(
                "recorder.mute(): recorder {} was stopped",
                self.unit.0
            ));
            return Ok(());
        }
        self.core.send(
            &ctx,
            SessionCommand::RecorderControl {
                unit: self.unit,
                op: RecorderOp::Mute(mute),
            },
        )
    }

    pub fn add_event_listener(
        &self,
        ctx: Ctx<'js>,
        event: Value<'js>,
        callback: Value<'js>,
    ) -> rquickjs::Result<()> {
        self.listeners
            .add_script(&ctx, "recorder", &event, &callback)
    }

    pub fn remove_event_listener(
        &self,
        ctx: Ctx<'js>,
        event: Value<'js>,
        callback: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        self.listeners
            .remove_script(&ctx, "recorder", &event, callback.0.as_ref())
    }

    #[qjs(rename = "toString")]
    pub fn describe(&self) -> String {
        format!("Recorder(id={})", self.unit.0)
    }
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, vox: &Object<'js>) -> rquickjs::Result<()> {
    vox.set(
        "createRecorder",
        Function::new(ctx.clone(), create_recorder)?.with_name("createRecorder")?,
    )
}

/// `createRecorder(parameters?)`: `{stereo, format: "wav" | "mp3"}`; other
/// VoxEngine parameters are ignored.
fn create_recorder<'js>(
    ctx: Ctx<'js>,
    options: Opt<Value<'js>>,
) -> rquickjs::Result<Class<'js, Recorder<'js>>> {
    const WHAT: &str = "VoxEngine.createRecorder()";
    let options = record_options(&ctx, WHAT, options.0.as_ref())?;
    registry(&ctx)?.check_media_units(&ctx, WHAT)?;
    let core = registry(&ctx)?.core.clone();
    let unit = media::new_unit();
    core.send(
        &ctx,
        SessionCommand::CreateRecorder {
            unit,
            call: None,
            stereo: options.stereo,
            format: options.format,
        },
    )?;
    let recorder = Class::instance(
        ctx.clone(),
        Recorder {
            unit,
            core,
            stopped: Cell::new(false),
            listeners: Listeners::default(),
        },
    )?;
    registry(&ctx)?.add_recorder(unit, recorder.clone());
    Ok(recorder)
}

pub(crate) fn event_name_of(event: &RecorderEvent) -> &'static str {
    match event {
        RecorderEvent::Started { .. } => names::STARTED,
        RecorderEvent::Stopped { .. } => names::STOPPED,
        RecorderEvent::Error { .. } => names::ERROR,
    }
}

/// Runs the recorder's listeners with `{name, recorder, ...}`.
pub(crate) fn dispatch<'js>(
    ctx: &Ctx<'js>,
    unit: UnitId,
    event: &RecorderEvent,
) -> rquickjs::Result<()> {
    let name = event_name_of(event);
    let Some(recorder) = registry(ctx)?.recorder(unit) else {
        registry(ctx)?.core.note(&format!(
            "{name} for recorder {}, which this session does not own",
            unit.0
        ));
        return Ok(());
    };
    if matches!(event, RecorderEvent::Stopped { .. }) {
        recorder.borrow().stopped.set(true);
    }
    let listeners = recorder.borrow().listeners().snapshot(name);
    if listeners.is_empty() {
        return Ok(());
    }
    let object = Object::new(ctx.clone())?;
    object.set("name", name)?;
    object.set("recorder", recorder.clone())?;
    match event {
        RecorderEvent::Started { url } => object.set("url", url.as_str())?,
        RecorderEvent::Stopped { url, duration } => {
            object.set("url", url.as_str())?;
            object.set("duration", duration.as_secs_f64())?;
        }
        RecorderEvent::Error { error } => object.set("error", error.as_str())?,
    }
    for listener in listeners {
        if let Listener::Script(f) = listener {
            f.call::<_, ()>((object.clone(),))?;
        }
    }
    Ok(())
}

pub(crate) fn describe_event(unit: UnitId, event: &RecorderEvent) -> String {
    let name = event_name_of(event);
    match event {
        RecorderEvent::Started { url } => format!("{name} recorder={} url={url}", unit.0),
        RecorderEvent::Stopped { url, duration } => format!(
            "{name} recorder={} url={url} duration={:.3}s",
            unit.0,
            duration.as_secs_f64()
        ),
        RecorderEvent::Error { error } => format!("{name} recorder={} error={error:?}", unit.0),
    }
}
