//! The `VoxEngine` namespace: application listeners, outbound calls, media
//! wiring between calls, `easyProcess`, custom data and `terminate`.

use dialtone_core::messages::{CallEvent, CallState, OutboundCall, SessionCommand};
use dialtone_core::{CallId, UnitId};
use rquickjs::class::{Trace, Tracer};
use rquickjs::function::{Opt, Rest};
use rquickjs::{Class, Ctx, Exception, Function, Object, Value};

use crate::call::{expect_call, Call, CallInfo};
use crate::events::names;
use crate::headers;
use crate::limits::{truncate, MAX_CUSTOM_DATA, MAX_OUTBOUND_CALLS};
use crate::listeners::{event_name, parse_listener, Listener};
use crate::media::call_unit;
use crate::registry::registry;

pub(crate) fn install<'js>(ctx: &Ctx<'js>, globals: &Object<'js>) -> rquickjs::Result<()> {
    let vox = Object::new(ctx.clone())?;
    let f = |name: &str, function: Function<'js>| -> rquickjs::Result<()> {
        vox.set(name, function.with_name(name)?)
    };
    f(
        "addEventListener",
        Function::new(ctx.clone(), add_event_listener)?,
    )?;
    f(
        "removeEventListener",
        Function::new(ctx.clone(), remove_event_listener)?,
    )?;
    f("callSIP", Function::new(ctx.clone(), call_sip)?)?;
    f(
        "callConference",
        Function::new(ctx.clone(), call_conference)?,
    )?;
    f(
        "destroyConference",
        Function::new(ctx.clone(), destroy_conference)?,
    )?;
    f("easyProcess", Function::new(ctx.clone(), easy_process)?)?;
    f(
        "sendMediaBetween",
        Function::new(ctx.clone(), send_media_between)?,
    )?;
    f(
        "stopMediaBetween",
        Function::new(ctx.clone(), stop_media_between)?,
    )?;
    f("terminate", Function::new(ctx.clone(), terminate)?)?;
    f("customData", Function::new(ctx.clone(), custom_data)?)?;
    crate::player::install(ctx, &vox)?;
    crate::acd::install(ctx, &vox)?;
    crate::recorder::install(ctx, &vox)?;
    crate::conference::install(ctx, &vox)?;
    crate::users::install(ctx, &vox)?;
    crate::pstn::install(ctx, &vox)?;
    globals.set("VoxEngine", vox)
}

fn add_event_listener<'js>(
    ctx: Ctx<'js>,
    event: Value<'js>,
    callback: Value<'js>,
) -> rquickjs::Result<()> {
    let (name, function) = parse_listener(&ctx, "VoxEngine.addEventListener()", &event, &callback)?;
    registry(&ctx)?
        .app_listeners
        .add(&ctx, name, Listener::Script(function))
}

fn remove_event_listener<'js>(
    ctx: Ctx<'js>,
    event: Value<'js>,
    callback: Opt<Value<'js>>,
) -> rquickjs::Result<()> {
    let name = event_name(&ctx, "VoxEngine.removeEventListener()", &event)?;
    registry(&ctx)?
        .app_listeners
        .remove(&name, callback.0.as_ref());
    Ok(())
}

fn terminate(ctx: Ctx<'_>) -> rquickjs::Result<()> {
    registry(&ctx)?.core.request_terminate();
    Ok(())
}

fn custom_data<'js>(ctx: Ctx<'js>, value: Opt<Value<'js>>) -> rquickjs::Result<String> {
    let registry = registry(&ctx)?;
    if let Some(value) = value.0.filter(|v| !v.is_undefined()) {
        let Some(text) = value.as_string() else {
            return Err(Exception::throw_type(
                &ctx,
                &format!(
                    "VoxEngine.customData(): expected a string, not {}",
                    value.type_name()
                ),
            ));
        };
        let mut text = text.to_string()?;
        truncate(&mut text, MAX_CUSTOM_DATA);
        registry.core.set_custom_data(text);
    }
    Ok(registry.core.custom_data())
}

/// Options of `callSIP`, from either its object or its positional form.
#[derive(Default)]
struct CallSipOptions<'js> {
    callerid: Option<String>,
    display_name: Option<String>,
    password: Option<String>,
    auth_user: Option<String>,
    headers: Option<Value<'js>>,
}

/// `callSIP(to, parameters)` or the older positional
/// `callSIP(to, callerid, displayName, password, authUser, extraHeaders)`.
fn call_sip<'js>(
    ctx: Ctx<'js>,
    to: Value<'js>,
    parameters: Opt<Value<'js>>,
    rest: Rest<Value<'js>>,
) -> rquickjs::Result<Class<'js, Call<'js>>> {
    const WHAT: &str = "VoxEngine.callSIP()";
    let to = sip_uri(&ctx, &to)?;
    let options = match parameters.0 {
        Some(p) if p.is_object() => options_from_object(&ctx, &p)?,
        first => {
            let mut positional = first.into_iter().chain(rest.0);
            CallSipOptions {
                callerid: optional_string(&ctx, "callerid", positional.next())?,
                display_name: optional_string(&ctx, "displayName", positional.next())?,
                password: optional_string(&ctx, "password", positional.next())?,
                auth_user: optional_string(&ctx, "authUser", positional.next())?,
                headers: positional.next(),
            }
        }
    };
    let core = registry(&ctx)?.core.clone();
    // Reading the headers object may run script getters; no registry borrow
    // is held meanwhile.
    let headers = headers::from_js(&ctx, &core, WHAT, options.headers.as_ref())?;
    let out = OutboundCall {
        call: CallId::next(),
        to,
        callerid: options.callerid,
        display_name: options.display_name,
        headers,
        auth_user: options.auth_user,
        password: options.password,
    };
    place_call(&ctx, WHAT, out, SessionCommand::CallSip)
}

/// An outbound call to `to` with the usual options, asked for with
/// `command` (`CallUser`, `CallPstn`, `CallConference`): reads the headers
/// (only `X-` ones go) and places the call.
pub(crate) fn place_outbound<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    to: String,
    callerid: Option<String>,
    display_name: Option<String>,
    headers: Option<&Value<'js>>,
    command: fn(Box<OutboundCall>) -> SessionCommand,
) -> rquickjs::Result<Class<'js, Call<'js>>> {
    let core = registry(ctx)?.core.clone();
    let headers = headers::from_js(ctx, &core, what, headers)?;
    let out = OutboundCall {
        call: CallId::next(),
        to,
        callerid,
        display_name,
        headers,
        auth_user: None,
        password: None,
    };
    place_call(ctx, what, out, command)
}

/// Creates the `Call` of an outbound call and asks the engine for it with
/// `command` (`CallSip` or `CallConference`), within the session's limit.
pub(crate) fn place_call<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    out: OutboundCall,
    command: fn(Box<OutboundCall>) -> SessionCommand,
) -> rquickjs::Result<Class<'js, Call<'js>>> {
    let core = registry(ctx)?.core.clone();
    if core.outbound_calls() >= MAX_OUTBOUND_CALLS {
        return Err(Exception::throw_range(
            ctx,
            &format!("{what}: more than {MAX_OUTBOUND_CALLS} calls in one session"),
        ));
    }
    let id = out.call;
    let call = Call::create(
        ctx,
        core.clone(),
        id,
        CallInfo {
            incoming: false,
            callerid: out.callerid.clone().unwrap_or_default(),
            display_name: out.display_name.clone().unwrap_or_default(),
            number: out.to.clone(),
        },
    )?;
    core.send(ctx, command(Box::new(out)))?;
    core.count_outbound_call();
    core.call_started(id);
    registry(ctx)?.add_call(id, call.clone());
    Ok(call)
}

/// `callConference(conferenceId, callerid?, displayName?, headers?)`: a
/// call to the conference session of that id (started by the account's
/// rules when none runs); it behaves as an outbound call.
fn call_conference<'js>(
    ctx: Ctx<'js>,
    id: Value<'js>,
    callerid: Opt<Value<'js>>,
    display_name: Opt<Value<'js>>,
    headers: Opt<Value<'js>>,
) -> rquickjs::Result<Class<'js, Call<'js>>> {
    const WHAT: &str = "VoxEngine.callConference()";
    let conference = crate::media::text_arg(&ctx, WHAT, "the conference id", &id, 256)?;
    if conference.trim().is_empty() {
        return Err(Exception::throw_type(
            &ctx,
            &format!("{WHAT}: the conference id is empty"),
        ));
    }
    let callerid = optional_string(&ctx, "callerid", callerid.0)?;
    let display_name = optional_string(&ctx, "displayName", display_name.0)?;
    place_outbound(
        &ctx,
        WHAT,
        conference,
        callerid,
        display_name,
        headers.0.as_ref(),
        SessionCommand::CallConference,
    )
}

/// `destroyConference(conference)`: as `conference.stop()`.
fn destroy_conference<'js>(ctx: Ctx<'js>, conference: Value<'js>) -> rquickjs::Result<()> {
    match crate::conference::as_conference(&conference) {
        Some(c) => c.borrow().stop(ctx),
        None => Err(Exception::throw_type(
            &ctx,
            &format!(
                "VoxEngine.destroyConference(): expected a Conference, not {}",
                conference.type_name()
            ),
        )),
    }
}

fn options_from_object<'js>(
    ctx: &Ctx<'js>,
    p: &Value<'js>,
) -> rquickjs::Result<CallSipOptions<'js>> {
    let Some(o) = p.as_object() else {
        return Ok(CallSipOptions::default());
    };
    let field = |name: &str| -> rquickjs::Result<Option<String>> {
        optional_string(ctx, name, Some(o.get::<_, Value>(name)?))
    };
    Ok(CallSipOptions {
        callerid: field("callerid")?,
        display_name: field("displayName")?,
        password: field("password")?,
        auth_user: field("authUser")?,
        headers: Some(o.get::<_, Value>("headers")?),
    })
}

pub(crate) fn optional_string<'js>(
    ctx: &Ctx<'js>,
    field: &str,
    value: Option<Value<'js>>,
) -> rquickjs::Result<Option<String>> {
    let Some(value) = value.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(None);
    };
    let text = if let Some(s) = value.as_string() {
        s.to_string()?
    } else if let Some(n) = value.as_number() {
        n.to_string()
    } else {
        return Err(Exception::throw_type(
            ctx,
            &format!(
                "VoxEngine.callSIP(): {field} must be a string, not {}",
                value.type_name()
            ),
        ));
    };
    if text.chars().any(|c| c.is_control()) {
        return Err(Exception::throw_type(
            ctx,
            &format!("VoxEngine.callSIP(): {field} contains control characters"),
        ));
    }
    Ok(Some(text))
}

fn sip_uri<'js>(ctx: &Ctx<'js>, to: &Value<'js>) -> rquickjs::Result<String> {
    let text = match to.as_string() {
        Some(s) => s.to_string()?,
        None => {
            return Err(Exception::throw_type(
                ctx,
                &format!(
                    "VoxEngine.callSIP(): 'to' must be a SIP URI string, not {}",
                    to.type_name()
                ),
            ))
        }
    };
    let text = text.trim();
    if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Exception::throw_type(
            ctx,
            &format!("VoxEngine.callSIP(): '{text}' is not a SIP URI"),
        ));
    }
    let lower = text.to_ascii_lowercase();
    Ok(if lower.starts_with("sip:") || lower.starts_with("sips:") {
        text.to_string()
    } else {
        format!("sip:{text}")
    })
}

fn media_pair<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    a: &Value<'js>,
    b: &Value<'js>,
) -> rquickjs::Result<(UnitId, UnitId)> {
    Ok((call_unit(ctx, what, a)?, call_unit(ctx, what, b)?))
}

fn send_media_between<'js>(ctx: Ctx<'js>, a: Value<'js>, b: Value<'js>) -> rquickjs::Result<()> {
    const WHAT: &str = "VoxEngine.sendMediaBetween()";
    // A call (or player) and a conference, either way round: it joins.
    for (conf, other) in [(&a, &b), (&b, &a)] {
        if let Some(conf) = crate::conference::as_conference(conf) {
            let direction = if Class::<crate::player::Player>::from_value(other).is_ok() {
                crate::conference::Direction::Send
            } else {
                crate::conference::Direction::Both
            };
            conf.borrow()
                .join(&ctx, WHAT, other, direction, None, None)?;
            return Ok(());
        }
    }
    let (a, b) = media_pair(&ctx, WHAT, &a, &b)?;
    connect_media(&ctx, a, b)
}

fn connect_media(ctx: &Ctx<'_>, a: UnitId, b: UnitId) -> rquickjs::Result<()> {
    let core = registry(ctx)?.core.clone();
    core.send(ctx, SessionCommand::SendMedia { from: a, to: b })?;
    core.send(ctx, SessionCommand::SendMedia { from: b, to: a })
}

fn stop_media_between<'js>(ctx: Ctx<'js>, a: Value<'js>, b: Value<'js>) -> rquickjs::Result<()> {
    for (conf, other) in [(&a, &b), (&b, &a)] {
        if let Some(conf) = crate::conference::as_conference(conf) {
            conf.borrow().leave_value(other);
            return Ok(());
        }
    }
    let (a, b) = media_pair(&ctx, "VoxEngine.stopMediaBetween()", &a, &b)?;
    let core = registry(&ctx)?.core.clone();
    core.send(&ctx, SessionCommand::StopMedia { from: a, to: b })?;
    core.send(&ctx, SessionCommand::StopMedia { from: b, to: a })
}

/// Which side of an `easyProcess` pair a bridge listener sits on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// On the inbound call; the peer is the outbound one.
    Inbound,
    /// On the outbound call; the peer is the inbound one.
    Outbound,
}

/// The wiring `easyProcess` adds to a call, run in Rust when the call's event
/// fires.
#[derive(Clone)]
pub(crate) struct Bridge<'js> {
    side: Side,
    peer: Class<'js, Call<'js>>,
    on_established: Option<Function<'js>>,
}

impl<'js> Trace<'js> for Bridge<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        self.peer.trace(tracer);
        self.on_established.trace(tracer);
    }
}

/// `easyProcess(inbound, outbound, onEstablished?, direct?)`: ringing of the
/// outbound call rings the inbound one; its answer answers the inbound call
/// and joins their media; its failure rejects the inbound call with the same
/// code; either call's end hangs up the other and ends the session.
fn easy_process<'js>(
    ctx: Ctx<'js>,
    inbound: Value<'js>,
    outbound: Value<'js>,
    on_established: Opt<Value<'js>>,
    direct: Opt<Value<'js>>,
) -> rquickjs::Result<()> {
    const WHAT: &str = "VoxEngine.easyProcess()";
    let inbound = expect_call(&ctx, WHAT, &inbound)?;
    let outbound = expect_call(&ctx, WHAT, &outbound)?;
    let on_established = match on_established
        .0
        .filter(|v| !v.is_undefined() && !v.is_null())
    {
        None => None,
        Some(v) => match v.as_function() {
            Some(f) => Some(f.clone()),
            None => {
                return Err(Exception::throw_type(
                    &ctx,
                    &format!(
                        "{WHAT}: onEstablished must be a function, not {}",
                        v.type_name()
                    ),
                ))
            }
        },
    };
    if direct.0.and_then(|v| v.as_bool()).unwrap_or(false) {
        registry(&ctx)?
            .core
            .note("VoxEngine.easyProcess(): direct (P2P) mode is not supported; media is relayed");
    }
    easy_process_calls(&ctx, inbound, outbound, on_established)
}

/// The wiring of `easyProcess` between two calls.
pub(crate) fn easy_process_calls<'js>(
    ctx: &Ctx<'js>,
    inbound: Class<'js, Call<'js>>,
    outbound: Class<'js, Call<'js>>,
    on_established: Option<Function<'js>>,
) -> rquickjs::Result<()> {
    let to_inbound = Bridge {
        side: Side::Outbound,
        peer: inbound.clone(),
        on_established,
    };
    {
        let out = outbound.borrow();
        for event in [
            names::RINGING,
            names::CONNECTED,
            names::FAILED,
            names::DISCONNECTED,
        ]
        .into_iter()
        .chain(RELAYED)
        {
            out.add_listener(ctx, event.to_string(), Listener::Bridge(to_inbound.clone()))?;
        }
    }
    let to_outbound = Bridge {
        side: Side::Inbound,
        peer: outbound,
        on_established: None,
    };
    let inbound = inbound.borrow();
    for event in [names::DISCONNECTED].into_iter().chain(RELAYED) {
        inbound.add_listener(
            ctx,
            event.to_string(),
            Listener::Bridge(to_outbound.clone()),
        )?;
    }
    Ok(())
}

/// What `easyProcess` relays between its two calls either way, as
/// VoxEngine does: a re-INVITE (hold, unhold) goes on to the other call,
/// and its answer comes back; INFO goes across as it came.
const RELAYED: [&str; 4] = [
    names::REINVITE_RECEIVED,
    names::REINVITE_ACCEPTED,
    names::REINVITE_REJECTED,
    names::INFO_RECEIVED,
];

/// Runs a bridge listener of `call` for `event`.
pub(crate) fn run_bridge<'js>(
    ctx: &Ctx<'js>,
    bridge: &Bridge<'js>,
    call: &Class<'js, Call<'js>>,
    event: &CallEvent,
) -> rquickjs::Result<()> {
    let peer = bridge.peer.borrow();
    match (bridge.side, event) {
        (Side::Outbound, CallEvent::Ringing { .. }) if peer.is_pending_inbound() => {
            peer.send_ring(ctx, Vec::new())?;
        }
        (Side::Outbound, CallEvent::Connected { .. }) => {
            if peer.is_pending_inbound() {
                peer.send_answer(ctx, Vec::new())?;
            }
            let (a, b) = (
                UnitId::from(peer.call_id()),
                UnitId::from(call.borrow().call_id()),
            );
            drop(peer);
            connect_media(ctx, a, b)?;
            if let Some(callback) = &bridge.on_established {
                callback.call::<_, ()>((bridge.peer.clone(), call.clone()))?;
            }
        }
        (Side::Outbound, CallEvent::Failed { code, .. }) => {
            if peer.is_pending_inbound() {
                let code = if (300..=699).contains(code) {
                    *code
                } else {
                    480
                };
                peer.send_reject(ctx, "reject", code, Vec::new())?;
            }
            registry(ctx)?.core.request_terminate();
        }
        (_, CallEvent::Disconnected { .. }) => {
            peer.send_hangup(ctx, Vec::new())?;
            registry(ctx)?.core.request_terminate();
        }
        (
            _,
            CallEvent::ReInviteReceived {
                mime_type,
                body,
                headers,
            },
        ) => {
            if peer.state_now() == CallState::Connected {
                peer.send_command(
                    ctx,
                    SessionCommand::ReInvite {
                        call: peer.call_id(),
                        mime_type: mime_type.clone(),
                        body: body.clone(),
                        headers: headers.clone(),
                    },
                )?;
            } else {
                // Nobody to relay to: the call answers for itself.
                call.borrow().send_command(
                    ctx,
                    SessionCommand::AcceptReInvite {
                        call: call.borrow().call_id(),
                        mime_type: String::new(),
                        body: String::new(),
                        headers: Vec::new(),
                    },
                )?;
            }
        }
        (
            _,
            CallEvent::ReInviteAccepted {
                mime_type,
                body,
                headers,
            },
        ) => peer.send_command(
            ctx,
            SessionCommand::AcceptReInvite {
                call: peer.call_id(),
                mime_type: mime_type.clone(),
                body: body.clone(),
                headers: headers.clone(),
            },
        )?,
        (_, CallEvent::ReInviteRejected { headers, .. }) => peer.send_command(
            ctx,
            SessionCommand::RejectReInvite {
                call: peer.call_id(),
                headers: headers.clone(),
            },
        )?,
        (
            _,
            CallEvent::InfoReceived {
                mime_type,
                body,
                headers,
            },
        ) if peer.state_now() == CallState::Connected => peer.send_command(
            ctx,
            SessionCommand::SendInfo {
                call: peer.call_id(),
                mime_type: mime_type.clone(),
                body: body.clone(),
                headers: headers.clone(),
            },
        )?,
        _ => {}
    }
    Ok(())
}
