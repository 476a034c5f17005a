//! `setTimeout`, `clearTimeout`, `setInterval`, `clearInterval`.
//!
//! Timers are entries in the session's own queue, not tokio tasks: the
//! session's event loop sleeps until the earliest deadline and fires due
//! timers one at a time, in deadline order (creation order on ties), so
//! timers die with the session and never run concurrently with an event.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rquickjs::function::{Opt, Rest};
use rquickjs::{Ctx, Exception, Function, Object, Value};
use tokio::time::Instant;

use crate::limits::{MAX_TIMERS, MIN_INTERVAL};
use crate::registry::registry;

/// Longest delay honoured, as in browsers (2^31 - 1 ms); longer ones clamp.
const MAX_DELAY_MS: f64 = 2_147_483_647.0;

type Key = (Instant, u64);

struct Entry<'js> {
    callback: Function<'js>,
    args: Vec<Value<'js>>,
    period: Option<Duration>,
    key: Key,
}

/// A timer that is due: what to call, with what.
pub(crate) struct DueTimer<'js> {
    pub(crate) callback: Function<'js>,
    pub(crate) args: Vec<Value<'js>>,
}

#[derive(Default)]
pub(crate) struct Timers<'js> {
    next_id: Cell<u32>,
    next_seq: Cell<u64>,
    queue: RefCell<BTreeMap<Key, u32>>,
    entries: RefCell<HashMap<u32, Entry<'js>>>,
}

impl<'js> Timers<'js> {
    fn add(
        &self,
        ctx: &Ctx<'js>,
        callback: Function<'js>,
        args: Vec<Value<'js>>,
        delay: Duration,
        period: Option<Duration>,
    ) -> rquickjs::Result<u32> {
        if self.entries.borrow().len() >= MAX_TIMERS {
            return Err(Exception::throw_range(
                ctx,
                &format!("more than {MAX_TIMERS} pending timers"),
            ));
        }
        let id = self.next_id.get().wrapping_add(1).max(1);
        self.next_id.set(id);
        let key = self.key_at(Instant::now() + delay);
        self.queue.borrow_mut().insert(key, id);
        self.entries.borrow_mut().insert(
            id,
            Entry {
                callback,
                args,
                period,
                key,
            },
        );
        Ok(id)
    }

    fn key_at(&self, at: Instant) -> Key {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        (at, seq)
    }

    fn cancel(&self, id: u32) {
        if let Some(entry) = self.entries.borrow_mut().remove(&id) {
            self.queue.borrow_mut().remove(&entry.key);
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.queue.borrow().keys().next().map(|(at, _)| *at)
    }

    /// Takes the earliest timer due at `now`. An interval is rescheduled
    /// before its callback runs, so the callback may clear it.
    pub(crate) fn take_due(&self, now: Instant) -> Option<DueTimer<'js>> {
        let (key, id) = {
            let queue = self.queue.borrow();
            let (key, id) = queue.iter().next()?;
            if key.0 > now {
                return None;
            }
            (*key, *id)
        };
        self.queue.borrow_mut().remove(&key);
        let mut entries = self.entries.borrow_mut();
        let entry = entries.get_mut(&id)?;
        let due = DueTimer {
            callback: entry.callback.clone(),
            args: entry.args.clone(),
        };
        match entry.period {
            Some(period) => {
                let next = (key.0 + period).max(now);
                let seq = self.next_seq.get();
                self.next_seq.set(seq + 1);
                entry.key = (next, seq);
                self.queue.borrow_mut().insert(entry.key, id);
            }
            None => {
                entries.remove(&id);
            }
        }
        Some(due)
    }

    pub(crate) fn clear(&self) {
        self.queue.borrow_mut().clear();
        self.entries.borrow_mut().clear();
    }
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, globals: &Object<'js>) -> rquickjs::Result<()> {
    globals.set(
        "setTimeout",
        Function::new(ctx.clone(), set_timeout)?.with_name("setTimeout")?,
    )?;
    globals.set(
        "setInterval",
        Function::new(ctx.clone(), set_interval)?.with_name("setInterval")?,
    )?;
    globals.set(
        "clearTimeout",
        Function::new(ctx.clone(), clear_timer)?.with_name("clearTimeout")?,
    )?;
    globals.set(
        "clearInterval",
        Function::new(ctx.clone(), clear_timer)?.with_name("clearInterval")?,
    )?;
    Ok(())
}

fn set_timeout<'js>(
    ctx: Ctx<'js>,
    callback: Value<'js>,
    delay: Opt<Value<'js>>,
    args: Rest<Value<'js>>,
) -> rquickjs::Result<u32> {
    schedule(ctx, "setTimeout", callback, delay.0, args.0, false)
}

fn set_interval<'js>(
    ctx: Ctx<'js>,
    callback: Value<'js>,
    delay: Opt<Value<'js>>,
    args: Rest<Value<'js>>,
) -> rquickjs::Result<u32> {
    schedule(ctx, "setInterval", callback, delay.0, args.0, true)
}

fn schedule<'js>(
    ctx: Ctx<'js>,
    what: &str,
    callback: Value<'js>,
    delay: Option<Value<'js>>,
    args: Vec<Value<'js>>,
    repeat: bool,
) -> rquickjs::Result<u32> {
    let Some(callback) = callback.as_function().cloned() else {
        return Err(Exception::throw_type(
            &ctx,
            &format!(
                "{what}: the callback must be a function, not {}",
                callback.type_name()
            ),
        ));
    };
    let mut delay = Duration::from_secs_f64(delay_ms(&delay) / 1000.0);
    if repeat {
        delay = delay.max(MIN_INTERVAL);
    }
    let period = repeat.then_some(delay);
    let registry = registry(&ctx)?;
    registry.timers.add(&ctx, callback, args, delay, period)
}

/// The delay in milliseconds: numbers as given, anything else as 0 (like
/// browsers do for `undefined`), clamped to `[0, 2^31 - 1]`.
fn delay_ms(delay: &Option<Value<'_>>) -> f64 {
    let ms = delay.as_ref().and_then(|v| v.as_number()).unwrap_or(0.0);
    if ms.is_nan() {
        0.0
    } else {
        ms.clamp(0.0, MAX_DELAY_MS)
    }
}

fn clear_timer<'js>(ctx: Ctx<'js>, id: Opt<Value<'js>>) -> rquickjs::Result<()> {
    let Some(id) = id.0.as_ref().and_then(|v| v.as_number()) else {
        return Ok(());
    };
    if id >= 1.0 && id <= u32::MAX as f64 && id.fract() == 0.0 {
        registry(&ctx)?.timers.cancel(id as u32);
    }
    Ok(())
}
