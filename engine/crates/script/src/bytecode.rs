//! Scenario compilation: the syntax check, QuickJS bytecode made once per
//! worker, and running that bytecode in a session's context.
//!
//! rquickjs only exposes bytecode for ES modules, while scenarios are classic
//! scripts (sloppy mode, top-level `var` on the global object, as VoxEngine
//! runs them), so the few QuickJS calls needed for scripts are made here.

use std::collections::HashMap;
use std::ffi::CString;
use std::rc::Rc;
use std::sync::{Arc, Weak};

use rquickjs::{qjs, Context, Ctx, Runtime, Value};

use crate::Scenario;

/// A scenario that does not compile, with the position QuickJS reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct CompileError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl CompileError {
    fn at_start(file: &str, message: impl Into<String>) -> CompileError {
        CompileError {
            file: file.to_string(),
            line: 1,
            column: 1,
            message: message.into(),
        }
    }
}

/// Syntax-checks a scenario: compiles it without running anything.
pub fn check(scenario: &Scenario) -> Result<(), CompileError> {
    let runtime = Runtime::new()
        .map_err(|e| CompileError::at_start(&scenario.name, format!("no JS runtime: {e}")))?;
    let context = Context::full(&runtime)
        .map_err(|e| CompileError::at_start(&scenario.name, format!("no JS context: {e}")))?;
    context.with(|ctx| compile(&ctx, scenario).map(|_| ()))
}

/// Compiles a scenario as a global script and serialises it to bytecode.
pub(crate) fn compile(ctx: &Ctx<'_>, scenario: &Scenario) -> Result<Vec<u8>, CompileError> {
    let source = CString::new(scenario.source.as_bytes()).map_err(|e| {
        let (line, column) = position_of(&scenario.source, e.nul_position());
        CompileError {
            file: scenario.name.clone(),
            line,
            column,
            message: "the source contains a NUL character".into(),
        }
    })?;
    let file = CString::new(scenario.name.replace('\0', "?"))
        .map_err(|_| CompileError::at_start(&scenario.name, "bad file name"))?;
    let raw_ctx = ctx.as_raw().as_ptr();
    let flags = (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
    // SAFETY: `source` is NUL-terminated and its length excludes the NUL, as
    // JS_Eval requires; the context pointer comes from a live `Ctx`.
    let function = unsafe {
        qjs::JS_Eval(
            raw_ctx,
            source.as_ptr(),
            scenario.source.len() as _,
            file.as_ptr(),
            flags,
        )
    };
    // SAFETY: reading the tag of a value we own.
    if unsafe { qjs::JS_IsException(function) } {
        return Err(syntax_error(ctx, scenario));
    }
    // SAFETY: JS_Eval returned an owned value; `Value` frees it on drop.
    let function = unsafe { Value::from_raw(ctx.clone(), function) };
    let mut len = 0;
    // SAFETY: `function` is a live compiled script; QuickJS allocates the
    // returned buffer with the context's allocator, freed below.
    let buf = unsafe {
        qjs::JS_WriteObject(
            raw_ctx,
            &mut len,
            function.as_raw(),
            qjs::JS_WRITE_OBJ_BYTECODE as i32,
        )
    };
    if buf.is_null() {
        let _ = ctx.catch();
        return Err(CompileError::at_start(
            &scenario.name,
            "could not serialise the compiled script",
        ));
    }
    // SAFETY: QuickJS wrote `len` bytes at `buf`.
    let bytes = unsafe { std::slice::from_raw_parts(buf, len as usize) }.to_vec();
    // SAFETY: `buf` came from JS_WriteObject on this context.
    unsafe { qjs::js_free(raw_ctx, buf.cast()) };
    Ok(bytes)
}

/// Runs bytecode made by [`compile`]. On `Err`, the exception is pending on
/// the context (`ctx.catch()`).
pub(crate) fn run(ctx: &Ctx<'_>, bytecode: &[u8]) -> rquickjs::Result<()> {
    let raw_ctx = ctx.as_raw().as_ptr();
    // SAFETY: the bytes were produced by JS_WriteObject in this process with
    // the same QuickJS build; without JS_READ_OBJ_ROM_DATA QuickJS copies
    // what it needs, so the buffer may go away afterwards.
    let function = unsafe {
        qjs::JS_ReadObject(
            raw_ctx,
            bytecode.as_ptr(),
            bytecode.len() as _,
            qjs::JS_READ_OBJ_BYTECODE as i32,
        )
    };
    // SAFETY: tag read of an owned value.
    if unsafe { qjs::JS_IsException(function) } {
        return Err(rquickjs::Error::Exception);
    }
    // SAFETY: JS_EvalFunction takes ownership of `function`.
    let result = unsafe { qjs::JS_EvalFunction(raw_ctx, function) };
    // SAFETY: tag read of an owned value.
    if unsafe { qjs::JS_IsException(result) } {
        return Err(rquickjs::Error::Exception);
    }
    // SAFETY: owned completion value, freed on drop.
    drop(unsafe { Value::from_raw(ctx.clone(), result) });
    Ok(())
}

fn syntax_error(ctx: &Ctx<'_>, scenario: &Scenario) -> CompileError {
    let exception = ctx.catch();
    let Some(object) = exception.as_object() else {
        let message = exception
            .as_string()
            .and_then(|s| s.to_string().ok())
            .unwrap_or_else(|| "syntax error".into());
        return CompileError::at_start(&scenario.name, message);
    };
    let name: Option<String> = object.get("name").ok();
    let message: String = object
        .get::<_, Option<String>>("message")
        .ok()
        .flatten()
        .unwrap_or_else(|| "syntax error".into());
    let line: Option<u32> = object.get::<_, Option<u32>>("lineNumber").ok().flatten();
    let column: Option<u32> = object.get::<_, Option<u32>>("columnNumber").ok().flatten();
    let stack: Option<String> = object.get::<_, Option<String>>("stack").ok().flatten();
    let (line, column) = match (line, column) {
        (Some(l), Some(c)) => (l, c),
        _ => stack
            .as_deref()
            .and_then(|s| first_frame_in(s, &scenario.name))
            .unwrap_or((1, 1)),
    };
    let message = match name {
        Some(name) if !name.is_empty() => format!("{name}: {message}"),
        _ => message,
    };
    CompileError {
        file: scenario.name.clone(),
        line,
        column,
        message,
    }
}

/// Finds the first `file:line:col` of `file` in a QuickJS stack text.
pub(crate) fn first_frame_in(stack: &str, file: &str) -> Option<(u32, u32)> {
    stack.lines().find_map(|frame| {
        let start = frame.find(file)? + file.len();
        let rest = frame[start..].strip_prefix(':')?;
        let rest = rest.trim_end_matches(')');
        let mut parts = rest.split(':');
        let line = parts.next()?.parse().ok()?;
        let column = parts.next().and_then(|c| c.parse().ok()).unwrap_or(1);
        Some((line, column))
    })
}

fn position_of(source: &str, byte: usize) -> (u32, u32) {
    let before = &source.as_bytes()[..byte.min(source.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() as u32 + 1;
    (line, column)
}

/// Most scenarios a worker keeps bytecode for before it forgets old ones.
const CACHE_CAPACITY: usize = 1024;

/// Bytecode per scenario, kept by one worker thread. Keyed by the address of
/// the `Arc<Scenario>`; the weak reference tells a live entry from an address
/// reused by a newer scenario.
#[derive(Default)]
pub(crate) struct BytecodeCache {
    entries: HashMap<usize, CacheEntry>,
}

struct CacheEntry {
    scenario: Weak<Scenario>,
    compiled: Result<Rc<[u8]>, CompileError>,
}

impl BytecodeCache {
    pub(crate) fn lookup(
        &self,
        scenario: &Arc<Scenario>,
    ) -> Option<Result<Rc<[u8]>, CompileError>> {
        let entry = self.entries.get(&key(scenario))?;
        let live = entry.scenario.upgrade()?;
        Arc::ptr_eq(&live, scenario).then(|| entry.compiled.clone())
    }

    pub(crate) fn insert(
        &mut self,
        scenario: &Arc<Scenario>,
        compiled: Result<Rc<[u8]>, CompileError>,
    ) {
        if self.entries.len() >= CACHE_CAPACITY {
            self.entries.retain(|_, e| e.scenario.strong_count() > 0);
            if self.entries.len() >= CACHE_CAPACITY {
                self.entries.clear();
            }
        }
        self.entries.insert(
            key(scenario),
            CacheEntry {
                scenario: Arc::downgrade(scenario),
                compiled,
            },
        );
    }
}

fn key(scenario: &Arc<Scenario>) -> usize {
    Arc::as_ptr(scenario) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_found_by_file_name() {
        let stack = "    at f (echo.js:12:5)\n    at <eval> (echo.js:20:1)\n";
        assert_eq!(first_frame_in(stack, "echo.js"), Some((12, 5)));
        assert_eq!(first_frame_in("    at x.js:3:9\n", "x.js"), Some((3, 9)));
        assert_eq!(first_frame_in("    at native\n", "x.js"), None);
    }

    #[test]
    fn nul_position_is_line_and_column() {
        assert_eq!(position_of("ab\ncd\0", 5), (2, 3));
    }
}
