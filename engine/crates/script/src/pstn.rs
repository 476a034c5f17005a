//! Calls through the account's trunks: `VoxEngine.callPSTN`, and the
//! `forwardCallToPSTN` / `forwardCallToSIP` helpers that forward every
//! inbound call's destination number that way.

use dialtone_core::messages::SessionCommand;
use rquickjs::function::Opt;
use rquickjs::{Class, Ctx, Exception, Function, Object, Value};

use crate::call::Call;
use crate::users::{forward, headers_option, optional_function, ForwardTo};
use crate::voxengine::{optional_string, place_outbound};

pub(crate) fn install<'js>(ctx: &Ctx<'js>, vox: &Object<'js>) -> rquickjs::Result<()> {
    let f = |name: &str, function: Function<'js>| -> rquickjs::Result<()> {
        vox.set(name, function.with_name(name)?)
    };
    f("callPSTN", Function::new(ctx.clone(), call_pstn)?)?;
    f(
        "forwardCallToPSTN",
        Function::new(ctx.clone(), forward_to_pstn)?,
    )?;
    f(
        "forwardCallToSIP",
        Function::new(ctx.clone(), forward_to_sip)?,
    )
}

/// Characters a number may have: digits and `+*#` (separators are dropped).
fn clean_number(ctx: &Ctx<'_>, what: &str, number: &str) -> rquickjs::Result<String> {
    let digits: String = number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    if digits.is_empty()
        || digits.len() > 64
        || !digits
            .chars()
            .all(|c| c.is_ascii_digit() || "+*#".contains(c))
    {
        return Err(Exception::throw_type(
            ctx,
            &format!("{what}: {number:?} is not a phone number"),
        ));
    }
    Ok(digits)
}

pub(crate) fn dial_pstn<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    number: String,
    callerid: Option<String>,
    display_name: Option<String>,
    headers: Option<Value<'js>>,
) -> rquickjs::Result<Class<'js, Call<'js>>> {
    let number = clean_number(ctx, what, &number)?;
    place_outbound(
        ctx,
        what,
        number,
        callerid,
        display_name,
        headers.as_ref(),
        SessionCommand::CallPstn,
    )
}

/// `callPSTN(number, callerid, parameters?)`: `parameters` may give
/// `displayName` and `headers` (or `extraHeaders`).
fn call_pstn<'js>(
    ctx: Ctx<'js>,
    number: Value<'js>,
    callerid: Opt<Value<'js>>,
    parameters: Opt<Value<'js>>,
) -> rquickjs::Result<Class<'js, Call<'js>>> {
    const WHAT: &str = "VoxEngine.callPSTN()";
    let number = optional_string(&ctx, "the number", Some(number))?.unwrap_or_default();
    let callerid = optional_string(&ctx, "callerid", callerid.0)?;
    let (display_name, headers) = match parameters.0.as_ref().and_then(|p| p.as_object()) {
        Some(o) => {
            let display =
                optional_string(&ctx, "displayName", Some(o.get::<_, Value>("displayName")?))?;
            (display, Some(headers_option(o)?))
        }
        None => (None, None),
    };
    dial_pstn(&ctx, WHAT, number, callerid, display_name, headers)
}

/// `forwardCallToPSTN(numberTransform?, onEstablishedCallback?)`: every
/// inbound call calls its destination number (through `numberTransform`
/// when given) via the trunks, joined as `easyProcess` joins calls.
fn forward_to_pstn<'js>(
    ctx: Ctx<'js>,
    transform: Opt<Value<'js>>,
    on_established: Opt<Value<'js>>,
) -> rquickjs::Result<()> {
    const WHAT: &str = "VoxEngine.forwardCallToPSTN()";
    let transform = optional_function(&ctx, WHAT, "numberTransform", transform.0)?;
    forward(ctx, WHAT, ForwardTo::Pstn(transform), on_established)
}

/// `forwardCallToSIP(onEstablishedCallback?, video?)`: every inbound call
/// calls its destination through the trunks (a trunk is a SIP peer), joined
/// as `easyProcess` joins calls.
fn forward_to_sip<'js>(
    ctx: Ctx<'js>,
    on_established: Opt<Value<'js>>,
    _video: Opt<Value<'js>>,
) -> rquickjs::Result<()> {
    forward(
        ctx,
        "VoxEngine.forwardCallToSIP()",
        ForwardTo::Pstn(None),
        on_established,
    )
}
