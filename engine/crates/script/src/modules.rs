//! `Modules` and `require(Modules.X)`. VoxEngine loads optional APIs on
//! `require`; Dialtone has the ones it provides loaded from the start, so
//! `require` of those does nothing (`Modules.IVR` defines `IVRState` and
//! `IVR` on its first `require`, as VoxEngine does). A module it does not
//! provide throws an
//! `Error` naming the module at the line of the `require` (the session log
//! shows `scenario.js:LINE:COL`), instead of failing later on the first use.

use rquickjs::{Ctx, Exception, Function, Object, Value};

/// Every VoxEngine module name, and whether Dialtone provides it.
pub(crate) const MODULES: &[(&str, bool)] = &[
    ("ACD", true),
    ("AI", false),
    ("AMD", false),
    ("ASR", false),
    ("ApplicationStorage", true),
    ("Avatar", false),
    ("CallList", false),
    ("Cartesia", false),
    ("Conference", true),
    ("Deepgram", false),
    ("ElevenLabs", false),
    ("Gemini", false),
    ("Grok", false),
    ("IVR", true),
    ("Inworld", false),
    ("MeasurementProtocol", false),
    ("OpenAI", false),
    ("Player", true),
    ("PushService", false),
    ("Recorder", true),
    ("SmartQueue", false),
    ("StreamingAgent", false),
    ("Ultravox", false),
    ("VoximplantAvatar", false),
    ("WebSocket", false),
    ("Yandex", false),
];

pub(crate) fn install<'js>(ctx: &Ctx<'js>, globals: &Object<'js>) -> rquickjs::Result<()> {
    crate::lazy::define(ctx, globals, "Modules", modules)?;
    globals.set(
        "require",
        Function::new(ctx.clone(), require)?.with_name("require")?,
    )
}

fn modules<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let modules = Object::new(ctx.clone())?;
    for (name, _) in MODULES {
        modules.set(*name, *name)?;
    }
    Ok(modules.into_value())
}

/// `IVRState` and `IVR`, defined in a session on its first
/// `require(Modules.IVR)`.
const IVR_JS: &str = include_str!("ivr.js");

fn require<'js>(ctx: Ctx<'js>, module: Value<'js>) -> rquickjs::Result<()> {
    let name = module.as_string().map(|s| s.to_string()).transpose()?;
    match name
        .as_deref()
        .and_then(|n| MODULES.iter().find(|(m, _)| *m == n))
    {
        Some(("IVR", true)) => {
            let first = !crate::registry::registry(&ctx)?.ivr_loaded.replace(true);
            if first {
                let mut options = rquickjs::context::EvalOptions::default();
                options.filename = Some("dialtone:ivr.js".into());
                ctx.eval_with_options::<(), _>(IVR_JS, options)?;
            }
            Ok(())
        }
        Some((_, true)) => Ok(()),
        Some((m, false)) => Err(Exception::throw_message(
            &ctx,
            &format!(
                "require(Modules.{m}): the {m} module is not provided by Dialtone; \
                 see docs/FEATURES.md for what is"
            ),
        )),
        None => {
            let shown = match &name {
                Some(n) => format!("{n:?}"),
                None => module.type_name().to_string(),
            };
            Err(Exception::throw_type(
                &ctx,
                &format!(
                    "require({shown}): not a VoxEngine module; use a member of Modules, \
                     such as Modules.Conference"
                ),
            ))
        }
    }
}
