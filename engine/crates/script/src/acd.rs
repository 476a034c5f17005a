//! `Modules.ACD`: `VoxEngine.enqueueACDRequest`, `ACDRequest` and
//! `ACDEvents`. The call core queues the request for the session's
//! account's agents; each event arrives as `SessionEvent::Acd`. An
//! `OperatorCallAttempt` brings a call the core placed for the session:
//! its `Call` is made here, before any of its own events.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use dialtone_core::acd::{AcdEnqueue, AcdEvent, DEFAULT_PRIORITY};
use dialtone_core::messages::SessionCommand;
use rquickjs::class::{Trace, Tracer};
use rquickjs::function::Opt;
use rquickjs::{Class, Ctx, Exception, Function, JsLifetime, Object, Value};

use crate::call::{Call, CallInfo};
use crate::listeners::{Listener, Listeners};
use crate::registry::{registry, SessionCore};

/// `ACDEvents` (VoxEngine's string values).
pub(crate) const ACD_EVENTS: &[(&str, &str)] = &[
    ("Error", "ACD.Error"),
    ("Offline", "ACD.Offline"),
    ("OperatorCallAttempt", "ACD.OperatorCallAttempt"),
    ("OperatorFailed", "ACD.OperatorFailed"),
    ("OperatorReached", "ACD.OperatorReached"),
    ("QueueFull", "ACD.QueueFull"),
    ("Queued", "ACD.Queued"),
    ("Waiting", "ACD.Waiting"),
];

/// Requests one session may have queued at once.
const MAX_REQUESTS: usize = 100;
const MAX_CUSTOM_DATA: usize = 64 * 1024;

#[rquickjs::class(frozen)]
pub(crate) struct AcdRequest<'js> {
    id: u64,
    queue: String,
    core: Rc<SessionCore>,
    done: Cell<bool>,
    listeners: Listeners<'js>,
}

// SAFETY: `Changed` is the same type with only the `'js` lifetime replaced.
unsafe impl<'js> JsLifetime<'js> for AcdRequest<'js> {
    type Changed<'to> = AcdRequest<'to>;
}

impl<'js> Trace<'js> for AcdRequest<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        self.listeners.trace(tracer);
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> AcdRequest<'js> {
    /// The request's id (unique in the session).
    pub fn id(&self) -> String {
        self.id.to_string()
    }

    /// Out of the queue; a phone ringing for it stops.
    pub fn cancel(&self, ctx: Ctx<'js>) -> rquickjs::Result<()> {
        if self.done.replace(true) {
            return Ok(());
        }
        self.core
            .send(&ctx, SessionCommand::AcdCancel { request: self.id })
    }

    /// Asks for `ACDEvents.Waiting` (position and estimated wait).
    pub fn get_status(&self, ctx: Ctx<'js>) -> rquickjs::Result<()> {
        self.core
            .send(&ctx, SessionCommand::AcdStatus { request: self.id })
    }

    pub fn add_event_listener(
        &self,
        ctx: Ctx<'js>,
        event: Value<'js>,
        callback: Value<'js>,
    ) -> rquickjs::Result<()> {
        self.listeners
            .add_script(&ctx, "ACDRequest", &event, &callback)
    }

    pub fn remove_event_listener(
        &self,
        ctx: Ctx<'js>,
        event: Value<'js>,
        callback: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        self.listeners
            .remove_script(&ctx, "ACDRequest", &event, callback.0.as_ref())
    }

    #[qjs(rename = "toString")]
    pub fn describe(&self) -> String {
        format!("ACDRequest(id={}, queue={})", self.id, self.queue)
    }
}

/// The session's requests by id.
#[derive(Default)]
pub(crate) struct Requests<'js> {
    map: RefCell<HashMap<u64, Class<'js, AcdRequest<'js>>>>,
    next: Cell<u64>,
}

impl<'js> Trace<'js> for Requests<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        for r in self.map.borrow().values() {
            r.trace(tracer);
        }
    }
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, vox: &Object<'js>) -> rquickjs::Result<()> {
    vox.set(
        "enqueueACDRequest",
        Function::new(ctx.clone(), enqueue)?.with_name("enqueueACDRequest")?,
    )
}

/// `enqueueACDRequest(queueName, callerid, {priority, customData, headers,
/// agent})`; `agent` (only that agent takes it) is a Dialtone extension.
fn enqueue<'js>(
    ctx: Ctx<'js>,
    queue: Value<'js>,
    callerid: Opt<Value<'js>>,
    params: Opt<Value<'js>>,
) -> rquickjs::Result<Class<'js, AcdRequest<'js>>> {
    const WHAT: &str = "VoxEngine.enqueueACDRequest()";
    let queue = crate::media::text_arg(&ctx, WHAT, "the queue name", &queue, 64)?;
    let callerid =
        crate::voxengine::optional_string(&ctx, "callerid", callerid.0)?.unwrap_or_default();
    let mut priority = DEFAULT_PRIORITY;
    let mut custom_data = String::new();
    let mut headers_value = None;
    let mut agent = None;
    if let Some(o) = params.0.as_ref().and_then(|v| v.as_object()) {
        let a: Value = o.get("agent")?;
        if !a.is_undefined() && !a.is_null() {
            agent = Some(crate::media::text_arg(&ctx, WHAT, "agent", &a, 128)?);
        }
        let p: Value = o.get("priority")?;
        if let Some(n) = p.as_number() {
            if !(1.0..=100.0).contains(&n) {
                return Err(Exception::throw_range(
                    &ctx,
                    &format!("{WHAT}: priority must be 1 (first) to 100"),
                ));
            }
            priority = n as u8;
        }
        let c: Value = o.get("customData")?;
        if let Some(s) = c.as_string() {
            custom_data = s.to_string()?;
            if custom_data.len() > MAX_CUSTOM_DATA {
                return Err(Exception::throw_range(
                    &ctx,
                    &format!("{WHAT}: customData is over 64 KiB"),
                ));
            }
        }
        headers_value = Some(crate::users::headers_option(o)?);
    }
    let reg = registry(&ctx)?;
    let core = reg.core.clone();
    if reg.acd.map.borrow().len() >= MAX_REQUESTS {
        return Err(Exception::throw_range(
            &ctx,
            &format!("{WHAT}: more than {MAX_REQUESTS} requests in one session"),
        ));
    }
    let headers = crate::headers::from_js(&ctx, &core, WHAT, headers_value.as_ref())?;
    let id = reg.acd.next.get() + 1;
    reg.acd.next.set(id);
    let request = Class::instance(
        ctx.clone(),
        AcdRequest {
            id,
            queue: queue.clone(),
            core: core.clone(),
            done: Cell::new(false),
            listeners: Listeners::default(),
        },
    )?;
    reg.acd.map.borrow_mut().insert(id, request.clone());
    core.send(
        &ctx,
        SessionCommand::AcdEnqueue(Box::new(AcdEnqueue {
            request: id,
            queue,
            callerid,
            priority,
            custom_data,
            headers,
            agent,
        })),
    )?;
    Ok(request)
}

/// The `ACDEvents` value of an event.
pub(crate) fn event_name(event: &AcdEvent) -> &'static str {
    let name = event.name();
    ACD_EVENTS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("ACD.Error", |(_, v)| v)
}

/// The session-log text of an ACD event.
pub(crate) fn describe(request: u64, event: &AcdEvent) -> String {
    let name = event_name(event);
    match event {
        AcdEvent::Waiting {
            position,
            ewt_minutes,
        } => format!("{name} request={request} position={position} ewt={ewt_minutes}"),
        AcdEvent::OperatorCallAttempt { call, agent, .. } => {
            format!("{name} request={request} agent={agent} call={call}")
        }
        AcdEvent::OperatorReached { call, agent } => {
            format!("{name} request={request} agent={agent} call={call}")
        }
        AcdEvent::OperatorFailed { agent, code } => {
            format!("{name} request={request} agent={agent} code={code}")
        }
        AcdEvent::Error(e) => format!("{name} request={request} error={e:?}"),
        _ => format!("{name} request={request}"),
    }
}

/// Runs the request's listeners for `event` (making the agent's `Call`
/// first, for an `OperatorCallAttempt`).
pub(crate) fn dispatch<'js>(
    ctx: &Ctx<'js>,
    request: u64,
    event: &AcdEvent,
) -> rquickjs::Result<()> {
    let reg = registry(ctx)?;
    let operator_call = match event {
        AcdEvent::OperatorCallAttempt {
            call,
            agent,
            callerid,
            display_name,
        } => {
            let object = Call::create(
                ctx,
                reg.core.clone(),
                *call,
                CallInfo {
                    incoming: false,
                    callerid: callerid.clone(),
                    display_name: display_name.clone(),
                    number: agent.clone(),
                },
            )?;
            reg.core.call_started(*call);
            reg.add_call(*call, object.clone());
            Some(object)
        }
        AcdEvent::OperatorReached { call, .. } => reg.call(*call),
        _ => None,
    };
    let Some(req) = reg.acd.map.borrow().get(&request).cloned() else {
        return Ok(());
    };
    if matches!(
        event,
        AcdEvent::Offline
            | AcdEvent::QueueFull
            | AcdEvent::Error(_)
            | AcdEvent::OperatorReached { .. }
    ) {
        req.borrow().done.set(true);
    }
    let name = event_name(event);
    let listeners = req.borrow().listeners.snapshot(name);
    let object = Object::new(ctx.clone())?;
    object.set("name", name)?;
    object.set("request", req.clone())?;
    match event {
        AcdEvent::Waiting {
            position,
            ewt_minutes,
        } => {
            object.set("position", *position)?;
            object.set("ewt", *ewt_minutes)?;
        }
        AcdEvent::OperatorFailed { agent, code } => {
            object.set("operatorUserName", agent.as_str())?;
            object.set("statusCode", *code)?;
        }
        AcdEvent::Error(e) => object.set("error", e.as_str())?,
        _ => {}
    }
    if let Some(call) = operator_call {
        object.set("operatorCall", call)?;
    }
    for listener in listeners {
        if let Listener::Script(f) = listener {
            f.call::<_, ()>((object.clone(),))?;
        }
    }
    Ok(())
}
