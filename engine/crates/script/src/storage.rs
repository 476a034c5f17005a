//! `ApplicationStorage`: `get`, `put`, `delete` and `keys` on the key-value
//! store of the session's application, each a promise. The engine runs them
//! (on `dialtone serve`'s database, so pairs outlive restarts and are shared
//! by every session of the application); the session gets the answer as
//! `SessionEvent::StorageResult`. Bad arguments throw at once; a store
//! failure rejects the promise with an `Error`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use dialtone_core::messages::SessionCommand;
use dialtone_core::storage::{
    check_key, check_value, StorageItem, StorageOp, StorageReply, DEFAULT_TTL_SECS, MAX_KEYS_PAGE,
    MAX_TTL_SECS,
};
use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Function, Object, Promise, Value};

use crate::registry::registry;

/// Requests one session may have in flight; more throw a RangeError.
const MAX_IN_FLIGHT: usize = 100;

/// Requests in flight, each with its promise's resolve and reject.
#[derive(Default)]
pub(crate) struct Pending<'js> {
    next_id: Cell<u64>,
    waiting: RefCell<HashMap<u64, (Function<'js>, Function<'js>)>>,
}

impl<'js> Pending<'js> {
    fn add(&self, resolve: Function<'js>, reject: Function<'js>) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        self.waiting.borrow_mut().insert(id, (resolve, reject));
        id
    }

    fn take(&self, id: u64) -> Option<(Function<'js>, Function<'js>)> {
        self.waiting.borrow_mut().remove(&id)
    }

    fn len(&self) -> usize {
        self.waiting.borrow().len()
    }

    pub(crate) fn clear(&self) {
        let dropped: Vec<_> = self.waiting.borrow_mut().drain().collect();
        drop(dropped);
    }
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, globals: &Object<'js>) -> rquickjs::Result<()> {
    crate::lazy::define(ctx, globals, "ApplicationStorage", namespace)
}

fn namespace<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Value<'js>> {
    let storage = Object::new(ctx.clone())?;
    let f = |name: &str, function: Function<'js>| -> rquickjs::Result<()> {
        storage.set(name, function.with_name(name)?)
    };
    f("get", Function::new(ctx.clone(), get)?)?;
    f("put", Function::new(ctx.clone(), put)?)?;
    f("delete", Function::new(ctx.clone(), delete)?)?;
    f("keys", Function::new(ctx.clone(), keys)?)?;
    Ok(storage.into_value())
}

fn string_arg(
    ctx: &Ctx<'_>,
    what: &str,
    name: &str,
    value: &Value<'_>,
) -> rquickjs::Result<String> {
    if let Some(s) = value.as_string() {
        return s.to_string();
    }
    if let Some(n) = value.as_number() {
        return Ok(n.to_string());
    }
    Err(Exception::throw_type(
        ctx,
        &format!("{what}: {name} must be a string, not {}", value.type_name()),
    ))
}

fn key_arg(ctx: &Ctx<'_>, what: &str, value: &Value<'_>) -> rquickjs::Result<String> {
    let key = string_arg(ctx, what, "the key", value)?;
    check_key(&key).map_err(|e| Exception::throw_range(ctx, &format!("{what}: {e}")))?;
    Ok(key)
}

fn start<'js>(ctx: &Ctx<'js>, what: &str, op: StorageOp) -> rquickjs::Result<Promise<'js>> {
    let registry = registry(ctx)?;
    if registry.storage.len() >= MAX_IN_FLIGHT {
        return Err(Exception::throw_range(
            ctx,
            &format!("{what}: more than {MAX_IN_FLIGHT} storage requests in flight"),
        ));
    }
    let (promise, resolve, reject) = ctx.promise()?;
    let id = registry.storage.add(resolve, reject);
    registry
        .core
        .send(ctx, SessionCommand::Storage { id, op })?;
    Ok(promise)
}

/// `get(key)` → `StorageKey` or `null`.
fn get<'js>(ctx: Ctx<'js>, key: Value<'js>) -> rquickjs::Result<Promise<'js>> {
    const WHAT: &str = "ApplicationStorage.get()";
    let key = key_arg(&ctx, WHAT, &key)?;
    start(&ctx, WHAT, StorageOp::Get { key })
}

/// `put(key, value, ttl?)` → `StorageKey`: up to 200 characters of key and
/// 2000 of value; `ttl` in seconds, 1 to 7,776,000 (30 days when 0 or
/// left out).
fn put<'js>(
    ctx: Ctx<'js>,
    key: Value<'js>,
    value: Value<'js>,
    ttl: Opt<Value<'js>>,
) -> rquickjs::Result<Promise<'js>> {
    const WHAT: &str = "ApplicationStorage.put()";
    let key = key_arg(&ctx, WHAT, &key)?;
    let value = string_arg(&ctx, WHAT, "the value", &value)?;
    check_value(&value).map_err(|e| Exception::throw_range(&ctx, &format!("{WHAT}: {e}")))?;
    let ttl_secs = match ttl.0.filter(|v| !v.is_undefined() && !v.is_null()) {
        None => DEFAULT_TTL_SECS,
        Some(v) => match v.as_number() {
            Some(0.0) => DEFAULT_TTL_SECS,
            Some(n) if n > 0.0 && n <= MAX_TTL_SECS as f64 => n.ceil() as u64,
            _ => {
                return Err(Exception::throw_range(
                    &ctx,
                    &format!("{WHAT}: ttl must be a number of seconds from 0 to {MAX_TTL_SECS}"),
                ))
            }
        },
    };
    start(
        &ctx,
        WHAT,
        StorageOp::Put {
            key,
            value,
            ttl_secs,
        },
    )
}

/// `delete(key)` → the `StorageKey` that was deleted, or `null`.
fn delete<'js>(ctx: Ctx<'js>, key: Value<'js>) -> rquickjs::Result<Promise<'js>> {
    const WHAT: &str = "ApplicationStorage.delete()";
    let key = key_arg(&ctx, WHAT, &key)?;
    start(&ctx, WHAT, StorageOp::Delete { key })
}

/// `keys(pattern?, count?)` → `{keys: [...]}`: keys that start with
/// `pattern` (a namespace such as `mask` finds `mask:1`), sorted, at most
/// `count` (1000).
fn keys<'js>(
    ctx: Ctx<'js>,
    pattern: Opt<Value<'js>>,
    count: Opt<Value<'js>>,
) -> rquickjs::Result<Promise<'js>> {
    const WHAT: &str = "ApplicationStorage.keys()";
    let pattern = match pattern.0.filter(|v| !v.is_undefined() && !v.is_null()) {
        None => String::new(),
        Some(v) => string_arg(&ctx, WHAT, "the pattern", &v)?,
    };
    let count = match count.0.and_then(|v| v.as_number()) {
        Some(n) if n >= 1.0 => (n as usize).min(MAX_KEYS_PAGE),
        _ => MAX_KEYS_PAGE,
    };
    start(&ctx, WHAT, StorageOp::Keys { pattern, count })
}

fn item_object<'js>(ctx: &Ctx<'js>, item: &StorageItem) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    object.set("key", item.key.as_str())?;
    object.set("value", item.value.as_str())?;
    object.set("expireAt", item.expire_at as f64)?;
    Ok(object)
}

/// A short description of a result for the session log.
pub(crate) fn describe(id: u64, result: &Result<StorageReply, String>) -> String {
    match result {
        Ok(StorageReply::Item(Some(item))) => {
            format!("StorageResult request={id} key={}", item.key)
        }
        Ok(StorageReply::Item(None)) => format!("StorageResult request={id} none"),
        Ok(StorageReply::Keys(keys)) => format!("StorageResult request={id} keys={}", keys.len()),
        Err(e) => format!("StorageResult request={id} error={e}"),
    }
}

/// Settles the promise of request `id`.
pub(crate) fn dispatch(
    ctx: &Ctx<'_>,
    id: u64,
    result: &Result<StorageReply, String>,
) -> rquickjs::Result<()> {
    let Some((resolve, reject)) = registry(ctx)?.storage.take(id) else {
        return Ok(());
    };
    match result {
        Ok(StorageReply::Item(Some(item))) => resolve.call((item_object(ctx, item)?,)),
        Ok(StorageReply::Item(None)) => resolve.call((Value::new_null(ctx.clone()),)),
        Ok(StorageReply::Keys(keys)) => {
            let page = Object::new(ctx.clone())?;
            page.set("keys", keys.clone())?;
            resolve.call((page,))
        }
        Err(e) => {
            let error = Exception::from_message(ctx.clone(), &format!("ApplicationStorage: {e}"))?;
            reject.call((error,))
        }
    }
}
