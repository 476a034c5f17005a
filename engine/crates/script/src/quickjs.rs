//! The few QuickJS calls rquickjs does not wrap the way the host needs them.

use rquickjs::{qjs, Ctx, Value};

/// Runs one pending promise job. `Ok(false)`: none was pending. On `Err`, the
/// job threw and the exception is pending on the context (each session's
/// runtime has exactly one context).
pub(crate) fn run_pending_job(ctx: &Ctx<'_>) -> rquickjs::Result<bool> {
    let mut job_ctx = std::ptr::null_mut();
    // SAFETY: the runtime pointer comes from a live context.
    let res = unsafe {
        let rt = qjs::JS_GetRuntime(ctx.as_raw().as_ptr());
        qjs::JS_ExecutePendingJob(rt, &mut job_ctx)
    };
    match res {
        0 => Ok(false),
        r if r > 0 => Ok(true),
        _ => Err(rquickjs::Error::Exception),
    }
}

/// Identity of a JS object, for matching promise-rejection notifications.
pub(crate) fn object_identity(value: &Value<'_>) -> usize {
    // SAFETY: reads the pointer bits of a value without touching what it
    // points to.
    unsafe { qjs::JS_VALUE_GET_PTR(value.as_raw()) as usize }
}
