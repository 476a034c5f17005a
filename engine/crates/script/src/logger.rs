//! `Logger.write(text)`: one line of the session log, within the session's
//! log budget (`log_budget`).

use rquickjs::function::Opt;
use rquickjs::{Coerced, Ctx, FromJs, Function, Object, Value};

use crate::limits::{truncate, MAX_LOG_LINE};
use crate::registry::registry;

pub(crate) fn install<'js>(ctx: &Ctx<'js>, globals: &Object<'js>) -> rquickjs::Result<()> {
    let logger = Object::new(ctx.clone())?;
    logger.set(
        "write",
        Function::new(ctx.clone(), write)?.with_name("write")?,
    )?;
    globals.set("Logger", logger)
}

fn write<'js>(ctx: Ctx<'js>, text: Opt<Value<'js>>) -> rquickjs::Result<()> {
    let mut text = match text.0 {
        Some(v) => Coerced::<String>::from_js(&ctx, v)?.0,
        None => String::new(),
    };
    truncate(&mut text, MAX_LOG_LINE);
    registry(&ctx)?.core.log(&text);
    Ok(())
}
