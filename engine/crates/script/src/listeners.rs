//! Event listener lists of VoxEngine and of calls.

use std::cell::RefCell;

use rquickjs::class::{Trace, Tracer};
use rquickjs::{Ctx, Exception, Function, Value};

use crate::limits::MAX_LISTENERS;
use crate::voxengine::Bridge;

/// One listener: a script function, or the wiring `VoxEngine.easyProcess`
/// sets up between two calls (run in Rust, removable like any other listener
/// with `removeEventListener(event)`).
#[derive(Clone)]
pub(crate) enum Listener<'js> {
    Script(Function<'js>),
    Bridge(Bridge<'js>),
    /// `VoxEngine.forwardCallToUser()` and its kin, on `CallAlerting`.
    Forward(crate::users::Forward<'js>),
}

/// Listeners in registration order, each under its event name.
#[derive(Default)]
pub(crate) struct Listeners<'js> {
    entries: RefCell<Vec<(String, Listener<'js>)>>,
}

impl<'js> Listeners<'js> {
    pub(crate) fn add(
        &self,
        ctx: &Ctx<'js>,
        event: String,
        listener: Listener<'js>,
    ) -> rquickjs::Result<()> {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= MAX_LISTENERS {
            return Err(Exception::throw_range(
                ctx,
                &format!("addEventListener: more than {MAX_LISTENERS} listeners"),
            ));
        }
        entries.push((event, listener));
        Ok(())
    }

    /// `owner.addEventListener(event, callback)` of a player, recorder or
    /// conference: a script listener.
    pub(crate) fn add_script(
        &self,
        ctx: &Ctx<'js>,
        owner: &str,
        event: &Value<'js>,
        callback: &Value<'js>,
    ) -> rquickjs::Result<()> {
        let what = format!("{owner}.addEventListener()");
        let (name, function) = parse_listener(ctx, &what, event, callback)?;
        self.add(ctx, name, Listener::Script(function))
    }

    /// `owner.removeEventListener(event, callback?)`.
    pub(crate) fn remove_script(
        &self,
        ctx: &Ctx<'js>,
        owner: &str,
        event: &Value<'js>,
        callback: Option<&Value<'js>>,
    ) -> rquickjs::Result<()> {
        let name = event_name(ctx, &format!("{owner}.removeEventListener()"), event)?;
        self.remove(&name, callback);
        Ok(())
    }

    /// Removes `callback` from `event`, or every listener of `event` when no
    /// callback is given.
    pub(crate) fn remove(&self, event: &str, callback: Option<&Value<'js>>) {
        self.entries.borrow_mut().retain(|(name, listener)| {
            if name != event {
                return true;
            }
            match (callback, listener) {
                (None, _) => false,
                (Some(cb), Listener::Script(f)) => f.as_value() != cb,
                (Some(_), Listener::Bridge(_) | Listener::Forward(_)) => true,
            }
        });
    }

    /// The listeners of `event` as they are now; the caller runs them after
    /// this borrow has ended, so listeners may add or remove listeners.
    pub(crate) fn snapshot(&self, event: &str) -> Vec<Listener<'js>> {
        self.entries
            .borrow()
            .iter()
            .filter(|(name, _)| name == event)
            .map(|(_, l)| l.clone())
            .collect()
    }

    pub(crate) fn clear(&self) {
        self.entries.borrow_mut().clear();
    }
}

impl<'js> Trace<'js> for Listeners<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        // The list is only borrowed mutably for pushes and removals, which
        // never allocate on the JS heap, so a GC cannot run during one.
        if let Ok(entries) = self.entries.try_borrow() {
            for (_, listener) in entries.iter() {
                match listener {
                    Listener::Script(f) => f.trace(tracer),
                    Listener::Bridge(b) => b.trace(tracer),
                    Listener::Forward(f) => f.trace(tracer),
                }
            }
        }
    }
}

/// Checks the `(event, callback)` pair of an `addEventListener` call.
pub(crate) fn parse_listener<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    event: &Value<'js>,
    callback: &Value<'js>,
) -> rquickjs::Result<(String, Function<'js>)> {
    let name = event_name(ctx, what, event)?;
    let Some(function) = callback.as_function() else {
        return Err(Exception::throw_type(
            ctx,
            &format!(
                "{what}: the listener for {name} must be a function, not {}",
                callback.type_name()
            ),
        ));
    };
    Ok((name, function.clone()))
}

pub(crate) fn event_name<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    event: &Value<'js>,
) -> rquickjs::Result<String> {
    match event.as_string() {
        Some(s) => s.to_string(),
        None => Err(Exception::throw_type(
            ctx,
            &format!(
                "{what}: the event must be an event name such as CallEvents.Connected, not {}",
                event.type_name()
            ),
        )),
    }
}
