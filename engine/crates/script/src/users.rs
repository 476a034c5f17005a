//! Calls to users of the session's application: `VoxEngine.callUser`,
//! `callUserDirect`, and the `forwardCallToUser` helpers that answer every
//! inbound call by calling the user its number names.
//!
//! Every phone the user has registered rings; the first to answer takes
//! the call. "Direct" (peer-to-peer media in VoxEngine) is a hint here:
//! media is always relayed, and the session log says so once.

use dialtone_core::messages::SessionCommand;
use rquickjs::class::{Trace, Tracer};
use rquickjs::function::{Opt, Rest};
use rquickjs::{Class, Ctx, Exception, Function, Object, Value};

use crate::call::{expect_call, Call};
use crate::events::names;
use crate::listeners::Listener;
use crate::registry::registry;
use crate::voxengine::{easy_process_calls, optional_string, place_outbound};

pub(crate) fn install<'js>(ctx: &Ctx<'js>, vox: &Object<'js>) -> rquickjs::Result<()> {
    let f = |name: &str, function: Function<'js>| -> rquickjs::Result<()> {
        vox.set(name, function.with_name(name)?)
    };
    f("callUser", Function::new(ctx.clone(), call_user)?)?;
    f(
        "callUserDirect",
        Function::new(ctx.clone(), call_user_direct)?,
    )?;
    f(
        "forwardCallToUser",
        Function::new(ctx.clone(), forward_to_user)?,
    )?;
    f(
        "forwardCallToUserDirect",
        Function::new(ctx.clone(), forward_to_user_direct)?,
    )
}

/// What a call to a user carries besides the user name.
#[derive(Default)]
struct UserCallOptions<'js> {
    callerid: Option<String>,
    display_name: Option<String>,
    headers: Option<Value<'js>>,
}

fn user_name<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    value: Option<Value<'js>>,
) -> rquickjs::Result<String> {
    let name = optional_string(ctx, "username", value)?.unwrap_or_default();
    let name = name.trim().to_string();
    if name.is_empty() || name.len() > 64 {
        return Err(Exception::throw_type(
            ctx,
            &format!("{what}: the user name must be 1 to 64 characters"),
        ));
    }
    Ok(name)
}

/// `{callerid, displayName, extraHeaders}` (CallUserParameters); `headers`
/// is taken as well, as `callSIP` takes it.
fn options_from_object<'js>(
    ctx: &Ctx<'js>,
    o: &Object<'js>,
) -> rquickjs::Result<UserCallOptions<'js>> {
    let field = |name: &str| -> rquickjs::Result<Option<String>> {
        optional_string(ctx, name, Some(o.get::<_, Value>(name)?))
    };
    Ok(UserCallOptions {
        callerid: field("callerid")?,
        display_name: field("displayName")?,
        headers: Some(headers_option(o)?),
    })
}

/// `extraHeaders` (VoxEngine's name), or `headers` as `callSIP` takes it.
pub(crate) fn headers_option<'js>(o: &Object<'js>) -> rquickjs::Result<Value<'js>> {
    let extra: Value = o.get("extraHeaders")?;
    if extra.is_undefined() || extra.is_null() {
        o.get("headers")
    } else {
        Ok(extra)
    }
}

fn dial_user<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    user: String,
    options: UserCallOptions<'js>,
) -> rquickjs::Result<Class<'js, Call<'js>>> {
    place_outbound(
        ctx,
        what,
        user,
        options.callerid,
        options.display_name,
        options.headers.as_ref(),
        SessionCommand::CallUser,
    )
}

/// `callUser(parameters)` with `parameters.username`, or the positional
/// `callUser(username, callerid, displayName?, headers?, video?, scheme?)`.
fn call_user<'js>(
    ctx: Ctx<'js>,
    first: Value<'js>,
    rest: Rest<Value<'js>>,
) -> rquickjs::Result<Class<'js, Call<'js>>> {
    const WHAT: &str = "VoxEngine.callUser()";
    if let Some(o) = first.as_object().filter(|_| !first.is_string()) {
        let user = user_name(&ctx, WHAT, Some(o.get::<_, Value>("username")?))?;
        let options = options_from_object(&ctx, o)?;
        return dial_user(&ctx, WHAT, user, options);
    }
    let user = user_name(&ctx, WHAT, Some(first))?;
    let mut positional = rest.0.into_iter();
    let options = UserCallOptions {
        callerid: optional_string(&ctx, "callerid", positional.next())?,
        display_name: optional_string(&ctx, "displayName", positional.next())?,
        headers: positional.next(),
    };
    dial_user(&ctx, WHAT, user, options)
}

fn note_direct(ctx: &Ctx<'_>, what: &str) -> rquickjs::Result<()> {
    registry(ctx)?.core.note(&format!(
        "{what}: direct (peer-to-peer) media is not supported; media is relayed"
    ));
    Ok(())
}

/// `callUserDirect(incomingCall, username, parameters?)`, also the older
/// `callUserDirect(incomingCall, username, callerid, displayName, headers)`:
/// as `callUser`, with the incoming call's caller id and display name when
/// none are given.
fn call_user_direct<'js>(
    ctx: Ctx<'js>,
    incoming: Value<'js>,
    user: Value<'js>,
    parameters: Opt<Value<'js>>,
    rest: Rest<Value<'js>>,
) -> rquickjs::Result<Class<'js, Call<'js>>> {
    const WHAT: &str = "VoxEngine.callUserDirect()";
    let incoming = expect_call(&ctx, WHAT, &incoming)?;
    let user = user_name(&ctx, WHAT, Some(user))?;
    let mut options = match parameters.0 {
        Some(p) if p.is_object() && !p.is_string() => match p.as_object() {
            Some(o) => options_from_object(&ctx, o)?,
            None => UserCallOptions::default(),
        },
        first => {
            let mut positional = first.into_iter().chain(rest.0);
            UserCallOptions {
                callerid: optional_string(&ctx, "callerid", positional.next())?,
                display_name: optional_string(&ctx, "displayName", positional.next())?,
                headers: positional.next(),
            }
        }
    };
    {
        let call = incoming.borrow();
        if options.callerid.is_none() {
            options.callerid = Some(call.callerid());
        }
        if options.display_name.is_none() {
            options.display_name = Some(call.display_name());
        }
    }
    note_direct(&ctx, WHAT)?;
    dial_user(&ctx, WHAT, user, options)
}

/// Where a `forwardCallTo…` helper sends each inbound call.
#[derive(Clone)]
pub(crate) enum ForwardTo<'js> {
    /// The user the destination names.
    User,
    /// The destination number (through `numberTransform` if given) via the
    /// account's trunks.
    Pstn(Option<Function<'js>>),
}

/// What a `forwardCallTo…` helper does with each inbound call.
#[derive(Clone)]
pub(crate) struct Forward<'js> {
    pub(crate) what: &'static str,
    pub(crate) to: ForwardTo<'js>,
    pub(crate) on_established: Option<Function<'js>>,
}

impl<'js> Trace<'js> for Forward<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        self.on_established.trace(tracer);
        if let ForwardTo::Pstn(Some(f)) = &self.to {
            f.trace(tracer);
        }
    }
}

/// An optional function argument (`undefined` and `null` are none).
pub(crate) fn optional_function<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    name: &str,
    value: Option<Value<'js>>,
) -> rquickjs::Result<Option<Function<'js>>> {
    match value.filter(|v| !v.is_undefined() && !v.is_null()) {
        None => Ok(None),
        Some(v) => match v.as_function() {
            Some(f) => Ok(Some(f.clone())),
            None => Err(Exception::throw_type(
                ctx,
                &format!("{what}: {name} must be a function, not {}", v.type_name()),
            )),
        },
    }
}

pub(crate) fn forward<'js>(
    ctx: Ctx<'js>,
    what: &'static str,
    to: ForwardTo<'js>,
    on_established: Opt<Value<'js>>,
) -> rquickjs::Result<()> {
    let on_established = optional_function(&ctx, what, "onEstablishedCallback", on_established.0)?;
    registry(&ctx)?.app_listeners.add(
        &ctx,
        names::CALL_ALERTING.to_string(),
        Listener::Forward(Forward {
            what,
            to,
            on_established,
        }),
    )
}

/// `forwardCallToUser(onEstablishedCallback?, video?)`: every inbound call
/// calls the user its destination names, with the caller's id and name,
/// and the two are joined as `easyProcess` joins them.
fn forward_to_user<'js>(
    ctx: Ctx<'js>,
    on_established: Opt<Value<'js>>,
    _video: Opt<Value<'js>>,
) -> rquickjs::Result<()> {
    forward(
        ctx,
        "VoxEngine.forwardCallToUser()",
        ForwardTo::User,
        on_established,
    )
}

/// `forwardCallToUserDirect(onEstablishedCallback?, video?)`: as
/// `forwardCallToUser`; media is relayed.
fn forward_to_user_direct<'js>(
    ctx: Ctx<'js>,
    on_established: Opt<Value<'js>>,
    _video: Opt<Value<'js>>,
) -> rquickjs::Result<()> {
    const WHAT: &str = "VoxEngine.forwardCallToUserDirect()";
    note_direct(&ctx, WHAT)?;
    forward(ctx, WHAT, ForwardTo::User, on_established)
}

/// Runs a forwarding listener for one `AppEvents.CallAlerting`.
pub(crate) fn run_forward<'js>(
    ctx: &Ctx<'js>,
    forward: &Forward<'js>,
    event: &Value<'js>,
) -> rquickjs::Result<()> {
    let Some(event) = event.as_object() else {
        return Ok(());
    };
    let call: Value = event.get("call")?;
    let inbound = expect_call(ctx, forward.what, &call)?;
    let destination: String = event.get("destination")?;
    let callerid: Option<String> = event.get("callerid")?;
    let display_name: Option<String> = event.get("displayName")?;
    let outbound = match &forward.to {
        ForwardTo::User => {
            let options = UserCallOptions {
                callerid,
                display_name,
                headers: None,
            };
            dial_user(ctx, forward.what, destination, options)?
        }
        ForwardTo::Pstn(transform) => {
            let number = match transform {
                Some(f) => {
                    let v: Value = f.call((destination,))?;
                    crate::voxengine::optional_string(ctx, "the transformed number", Some(v))?
                        .unwrap_or_default()
                }
                None => destination,
            };
            crate::pstn::dial_pstn(ctx, forward.what, number, callerid, display_name, None)?
        }
    };
    easy_process_calls(ctx, inbound, outbound, forward.on_established.clone())
}
