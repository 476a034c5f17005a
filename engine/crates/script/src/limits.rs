//! What one session may use: heap, CPU time per callback, and caps on the
//! Rust-side state a script can grow (the QuickJS memory limit does not see
//! those allocations).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::allocator::Allocator;
use rquickjs::Runtime;

use crate::ScriptConfig;

/// Listeners one event target (VoxEngine or a call) may hold.
pub(crate) const MAX_LISTENERS: usize = 1_000;
/// Timers one session may have pending.
pub(crate) const MAX_TIMERS: usize = 10_000;
/// Calls one session may create with `VoxEngine.callSIP`.
pub(crate) const MAX_OUTBOUND_CALLS: usize = 100;
/// Players and recorders one session may create with `VoxEngine.create*`.
pub(crate) const MAX_MEDIA_UNITS: usize = 1_000;
/// Commands one callback may send; a script looping over `sendMediaTo`
/// must not flood the engine's queue.
pub(crate) const MAX_COMMANDS_PER_CALLBACK: u32 = 1_000;
/// Longest `Logger.write` line kept, in bytes.
pub(crate) const MAX_LOG_LINE: usize = 8 * 1024;
/// X- headers per SIP message and bytes per header value.
pub(crate) const MAX_HEADERS: usize = 32;
pub(crate) const MAX_HEADER_VALUE: usize = 1024;
/// Custom data, session or call.
pub(crate) const MAX_CUSTOM_DATA: usize = 64 * 1024;
/// QuickJS's own stack limit; worker threads get a much larger native stack.
pub(crate) const MAX_JS_STACK: usize = 512 * 1024;
/// Shortest `setInterval` period: a zero period would spin the worker.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// The CPU budget of the callback running now. QuickJS polls the interrupt
/// handler every few thousand bytecodes; when the callback has run longer
/// than the budget the handler makes QuickJS throw an uncatchable error.
pub(crate) struct CpuBudget {
    budget: Duration,
    started: Cell<Option<Instant>>,
    tripped: Cell<bool>,
}

impl CpuBudget {
    pub(crate) fn new(budget: Duration) -> Rc<CpuBudget> {
        Rc::new(CpuBudget {
            budget,
            started: Cell::new(None),
            tripped: Cell::new(false),
        })
    }

    pub(crate) fn begin(&self) {
        self.started.set(Some(Instant::now()));
    }

    pub(crate) fn end(&self) {
        self.started.set(None);
    }

    /// True once a callback was stopped for running over budget.
    pub(crate) fn tripped(&self) -> bool {
        self.tripped.get()
    }

    pub(crate) fn budget(&self) -> Duration {
        self.budget
    }

    fn over_budget(&self) -> bool {
        if self.tripped.get() {
            return true;
        }
        match self.started.get() {
            Some(start) if start.elapsed() > self.budget => {
                self.tripped.set(true);
                true
            }
            _ => false,
        }
    }
}

/// A runtime with the session limits: a metered heap, QuickJS's stack
/// limit, and the CPU budget's interrupt handler.
pub(crate) fn runtime(
    cfg: &ScriptConfig,
    budget: &Rc<CpuBudget>,
) -> rquickjs::Result<(Runtime, Rc<MemoryMeter>)> {
    let meter = Rc::new(MemoryMeter {
        limit: cfg.memory_limit,
        used: Cell::new(0),
        refused: Cell::new(false),
    });
    let runtime = Runtime::new_with_alloc(MeteredAllocator(meter.clone()))?;
    runtime.set_max_stack_size(MAX_JS_STACK);
    let budget = budget.clone();
    runtime.set_interrupt_handler(Some(Box::new(move || budget.over_budget())));
    Ok((runtime, meter))
}

/// The heap of one runtime. QuickJS's own limit gives no sign that it was
/// hit (when it cannot allocate the "out of memory" error either, it throws
/// `null`), so the host enforces the limit in the allocator and remembers
/// refusing.
pub(crate) struct MemoryMeter {
    limit: usize,
    used: Cell<usize>,
    refused: Cell<bool>,
}

impl MemoryMeter {
    /// Whether an allocation was refused since the last `reset`.
    pub(crate) fn exhausted(&self) -> bool {
        self.refused.get()
    }

    pub(crate) fn reset(&self) {
        self.refused.set(false);
    }

    fn admit(&self, more: usize) -> bool {
        let ok = self
            .used
            .get()
            .checked_add(more)
            .is_some_and(|total| total <= self.limit);
        if !ok {
            self.refused.set(true);
        }
        ok
    }

    fn add(&self, bytes: usize) {
        self.used.set(self.used.get() + bytes);
    }

    fn sub(&self, bytes: usize) {
        self.used.set(self.used.get().saturating_sub(bytes));
    }
}

struct MeteredAllocator(Rc<MemoryMeter>);

fn usable(ptr: *mut u8) -> usize {
    // SAFETY: callers pass only live pointers from the C allocator.
    unsafe { libc::malloc_usable_size(ptr.cast()) }
}

// SAFETY: every block comes from the C allocator, which aligns to at least
// `max_align_t`, and `usable_size` asks that same allocator.
unsafe impl Allocator for MeteredAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.0.admit(size) {
            return std::ptr::null_mut();
        }
        // SAFETY: plain malloc; a null result is passed on.
        let ptr = unsafe { libc::malloc(size.max(1)) }.cast::<u8>();
        if !ptr.is_null() {
            self.0.add(usable(ptr));
        }
        ptr
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let Some(total) = count.checked_mul(size) else {
            return std::ptr::null_mut();
        };
        if !self.0.admit(total) {
            return std::ptr::null_mut();
        }
        // SAFETY: plain calloc; a null result is passed on.
        let ptr = unsafe { libc::calloc(count.max(1), size.max(1)) }.cast::<u8>();
        if !ptr.is_null() {
            self.0.add(usable(ptr));
        }
        ptr
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        if ptr.is_null() {
            return;
        }
        self.0.sub(usable(ptr));
        // SAFETY: `ptr` came from this allocator's malloc/calloc/realloc.
        unsafe { libc::free(ptr.cast()) };
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.alloc(new_size);
        }
        if new_size == 0 {
            // SAFETY: as for `dealloc`.
            unsafe { self.dealloc(ptr) };
            return std::ptr::null_mut();
        }
        let old = usable(ptr);
        if new_size > old && !self.0.admit(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from this allocator; on failure it stays valid.
        let grown = unsafe { libc::realloc(ptr.cast(), new_size) }.cast::<u8>();
        if !grown.is_null() {
            self.0.sub(old);
            self.0.add(usable(grown));
        }
        grown
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        usable(ptr)
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

/// Largest input of the global byte helpers (`base64_encode`, `md5`…).
pub(crate) const MAX_HELPER_BYTES: usize = 4 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_trips_only_while_a_callback_runs() {
        let b = CpuBudget::new(Duration::from_millis(0));
        assert!(!b.over_budget());
        b.begin();
        // A zero budget is exceeded as soon as the monotonic clock moves.
        assert!((0..10_000_000).any(|_| b.over_budget()));
        assert!(b.tripped());
    }

    #[test]
    fn truncate_keeps_char_boundaries() {
        let mut s = "ééé".to_string();
        truncate(&mut s, 3);
        assert_eq!(s, "é…");
    }
}
