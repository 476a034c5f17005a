//! Globals built on first use. A session pays for `Modules`, `Language`,
//! `VoiceList`, `Crypto` and `ApplicationStorage` (a few hundred properties
//! between them) only if its scenario reads them: the first read builds the value
//! and replaces the accessor with it, and an assignment replaces it too.

use rquickjs::object::{Accessor, Property};
use rquickjs::{Ctx, Object, Value};

/// What builds a lazy global.
pub(crate) type Build = for<'js> fn(&Ctx<'js>) -> rquickjs::Result<Value<'js>>;

pub(crate) fn define<'js>(
    _ctx: &Ctx<'js>,
    globals: &Object<'js>,
    name: &'static str,
    build: Build,
) -> rquickjs::Result<()> {
    let get = move |ctx: Ctx<'js>| -> rquickjs::Result<Value<'js>> {
        let value = build(&ctx)?;
        settle(&ctx, name, value.clone())?;
        Ok(value)
    };
    let set = move |ctx: Ctx<'js>, value: Value<'js>| -> rquickjs::Result<()> {
        settle(&ctx, name, value)
    };
    globals.prop(name, Accessor::new(get, set).configurable())
}

/// Makes `name` a plain writable global holding `value`.
fn settle<'js>(ctx: &Ctx<'js>, name: &'static str, value: Value<'js>) -> rquickjs::Result<()> {
    ctx.globals()
        .prop(name, Property::from(value).writable().configurable())
}
