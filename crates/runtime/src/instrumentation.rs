//! The host side of the instrumentation ABI (`wasmgrind_instrument`'s crate docs):
//! the `wasmgrind.*` imports of an instrumented module. They drain the thread's event
//! buffer, serialize atomics per address so the monitor sees them in their real
//! modification order, and hand every event to the thread's [`crate::ThreadMonitor`].
//!
//! The imports are always linked; an uninstrumented module simply does not use them,
//! and under the [`crate::NullMonitor`] an instrumented module runs as the original.

use wasmgrind_instrument::{AtomicOp, Hook, SiteKind, CURSOR_EXPORT, EVENTS_EXPORT, IMPORT_MODULE};
use wasmgrind_spin::{shard_index, RawMutex, RawSpinLock};
use wasmtime::{AsContextMut, Caller, Global, Instance, Linker, Memory, Val, WasmBacktrace};

use crate::atomic_op::SharedBase;
use crate::program::{backtrace_frames, ThreadCtx};
use crate::RuntimeError;

/// Number of address stripes atomics are serialized on (a power of two).
const STRIPES: usize = 1024;

/// Per-address serialization of atomics, for monitors that do not order them
/// themselves ([`crate::ThreadMonitor::perform_atomic`]): the `atomic` hook holds its
/// address's stripe while it performs the instruction and reports it, so no other
/// thread's atomic on that address runs meanwhile, and the monitor hears of atomics on
/// one address in the order they modified memory.
///
/// Invariant: a stripe is held only inside one call of the `atomic` hook, which
/// releases it before it returns (the instruction it performs cannot trap).
pub(crate) struct AtomicStripes {
    locks: Box<[Stripe]>,
}

/// One stripe's lock on a cache line of its own, so threads working on different
/// stripes never bounce a line between cores.
#[repr(align(64))]
struct Stripe(RawSpinLock);

impl AtomicStripes {
    pub fn new() -> Self {
        AtomicStripes {
            locks: (0..STRIPES).map(|_| Stripe(RawSpinLock::INIT)).collect(),
        }
    }

    fn stripe_of(addr: u64) -> usize {
        shard_index(addr, STRIPES)
    }

    fn lock(&self, stripe: usize) {
        self.locks[stripe].0.lock();
    }

    /// Releases `stripe`, which the caller took with [`Self::lock`] (the invariant
    /// above says who may).
    fn unlock(&self, stripe: usize) {
        // SAFETY: the caller holds the stripe (struct invariant): the `atomic` hook
        // locked it and releases it exactly once, before it returns.
        unsafe { self.locks[stripe].0.unlock() };
    }
}

/// Handles on a thread's event buffer, looked up once per instance.
#[derive(Clone, Copy)]
pub(crate) struct EventBuffer {
    memory: Memory,
    cursor: Global,
}

/// Looks up an instance's event buffer exports, if it is instrumented.
pub(crate) fn event_buffer(
    mut store: impl AsContextMut,
    instance: &Instance,
) -> Option<EventBuffer> {
    let memory = instance.get_memory(&mut store, EVENTS_EXPORT)?;
    let cursor = instance.get_global(&mut store, CURSOR_EXPORT)?;
    Some(EventBuffer { memory, cursor })
}

/// Hands the thread's buffered records to its monitor and empties the buffer.
pub(crate) fn drain(mut cx: impl AsContextMut<Data = ThreadCtx>) {
    let mut cx = cx.as_context_mut();
    let Some(buffer) = cx.data().events else {
        return;
    };
    let len = match buffer.cursor.get(&mut cx) {
        Val::I32(len) => len as u32 as usize,
        _ => return,
    };
    if len == 0 {
        return;
    }
    let (data, ctx) = buffer.memory.data_and_store_mut(&mut cx);
    let len = len.min(data.len()) & !7;
    ctx.monitor.records(&data[..len]);
    // Cannot fail: the cursor is a mutable i32 global of this store.
    let _ = buffer.cursor.set(&mut cx, Val::I32(0));
}

/// The thread's event buffer, seen from a host function: also found while the
/// instance's start function runs (before [`event_buffer`] could be called on the
/// finished instance), so records a start routine logs keep their place before its
/// synchronization.
fn events_of(caller: &mut Caller<'_, ThreadCtx>) -> Option<EventBuffer> {
    if caller.data().events.is_none() {
        let memory = caller
            .get_export(EVENTS_EXPORT)
            .and_then(|e| e.into_memory());
        let cursor = caller
            .get_export(CURSOR_EXPORT)
            .and_then(|e| e.into_global());
        if let (Some(memory), Some(cursor)) = (memory, cursor) {
            caller.data_mut().events = Some(EventBuffer { memory, cursor });
        }
    }
    caller.data().events
}

/// [`drain`] from a host function (see [`events_of`]).
pub(crate) fn drain_caller(caller: &mut Caller<'_, ThreadCtx>) {
    if events_of(caller).is_some() {
        drain(&mut *caller);
    }
}

/// `flush(len)`: the module hands over the `len` bytes of records it logged and resets
/// the cursor itself, so this path never goes through wasmtime's global accessors. The
/// module calls it when the buffer is full and before every draining hook
/// (`wait_begin`, `notify`, `fence`, `bulk`), which therefore find the buffer empty.
fn flush(mut caller: Caller<'_, ThreadCtx>, len: i32) {
    take_records(&mut caller, len, false);
}

/// Hands the first `len` bytes of the event buffer to the monitor (the module resets the
/// cursor after the hook returns); `before_atomic` when an atomic's report follows.
fn take_records(caller: &mut Caller<'_, ThreadCtx>, len: i32, before_atomic: bool) {
    if len == 0 {
        return;
    }
    let Some(buffer) = events_of(caller) else {
        return;
    };
    let (data, ctx) = buffer.memory.data_and_store_mut(caller);
    let len = (len as u32 as usize).min(data.len()) & !7;
    if len == 0 {
        return;
    }
    if before_atomic {
        ctx.monitor.records_before_atomic(&data[..len]);
    } else {
        ctx.monitor.records(&data[..len]);
    }
}

/// Adds the `wasmgrind.*` imports.
pub(crate) fn add_to_linker(linker: &mut Linker<ThreadCtx>) -> Result<(), RuntimeError> {
    let err = |e| RuntimeError::wasmtime("adding the instrumentation hooks to the linker", e);
    let m = IMPORT_MODULE;
    linker
        .func_wrap(m, Hook::Flush.name(), flush)
        .map_err(err)?;
    linker
        .func_wrap(m, Hook::Atomic.name(), atomic)
        .map_err(err)?;
    linker
        .func_wrap(m, Hook::AtomicEnd.name(), atomic_end)
        .map_err(err)?;
    linker
        .func_wrap(
            m,
            Hook::WaitBegin.name(),
            |mut caller: Caller<'_, ThreadCtx>, site: i32, addr: i64, timeout: i64| {
                // The stack of a wait that may block for good, for the hang report; a
                // capture costs microseconds, little next to a blocking wait.
                let ctx = caller.data();
                let stack = if timeout < 0 {
                    backtrace_frames(&ctx.program, &WasmBacktrace::capture(&caller))
                } else {
                    Vec::new()
                };
                let ctx = caller.data_mut();
                ctx.program
                    .blocking
                    .wait_begin(ctx.tid, addr as u64, timeout, stack);
                ctx.monitor.wait_begin(site as u32, addr as u64, timeout);
            },
        )
        .map_err(err)?;
    linker
        .func_wrap(
            m,
            Hook::WaitEnd.name(),
            |mut caller: Caller<'_, ThreadCtx>, site: i32, addr: i64, result: i32| {
                let ctx = caller.data_mut();
                ctx.program.blocking.running(ctx.tid);
                ctx.monitor
                    .wait_end(site as u32, addr as u64, result as u32);
            },
        )
        .map_err(err)?;
    linker
        .func_wrap(
            m,
            Hook::Notify.name(),
            |mut caller: Caller<'_, ThreadCtx>, site: i32, addr: i64, count: i32| {
                let ctx = caller.data_mut();
                ctx.program.blocking.notify(addr as u64, count as u32);
                ctx.monitor.notify(site as u32, addr as u64, count as u32);
            },
        )
        .map_err(err)?;
    linker
        .func_wrap(
            m,
            Hook::Fence.name(),
            |mut caller: Caller<'_, ThreadCtx>, site: i32| {
                caller.data_mut().monitor.fence(site as u32);
            },
        )
        .map_err(err)?;
    linker
        .func_wrap(
            m,
            Hook::Bulk.name(),
            |mut caller: Caller<'_, ThreadCtx>, site: i32, dst: i64, src: i64, len: i64| {
                caller
                    .data_mut()
                    .monitor
                    .bulk(site as u32, dst as u64, src as u64, len as u64);
            },
        )
        .map_err(err)?;
    Ok(())
}

/// The `atomic` hook: hands the `len` bytes of records logged before the atomic to the
/// monitor, then performs the instruction on the shared memory, in a critical section
/// per address: the monitor's own if it orders atomics itself
/// ([`crate::ThreadMonitor::perform_atomic`]), else the address's stripe, under which
/// the atomic is reported. Returns the instruction's result (zero-extended) and 0, or
/// `(0, 1)` when it did nothing: the access is misaligned or out of bounds (the module
/// then executes the real instruction, which traps), or there is no shared memory to
/// perform it on (the module then executes it and reports it with `atomic_end`; its
/// memory is the instance's own, so nothing to order).
fn atomic(
    mut caller: Caller<'_, ThreadCtx>,
    site: i32,
    addr: i64,
    len: i32,
    operand: i64,
    expected: i64,
) -> (i64, i32) {
    const NOT_PERFORMED: (i64, i32) = (0, 1);
    let performable = performable(caller.data_mut(), site, addr);
    // The atomic (or `atomic_end`, or the trap) follows: the records may wait for it.
    take_records(&mut caller, len, true);
    let Some((op, size, base, addr)) = performable else {
        return NOT_PERFORMED;
    };
    let (site, operand, expected) = (site as u32, operand as u64, expected as u64);
    // SAFETY: `performable` checked that `addr` is a multiple of `size` and `addr + size`
    // is within a length the shared memory has had (it never shrinks); `base` is that
    // memory's, which the program keeps alive for as long as its threads run.
    let mut perform = || unsafe { base.perform(op, size, addr, operand, expected) };
    let ctx = caller.data_mut();
    let result = match ctx
        .monitor
        .perform_atomic(site, addr, operand, expected, &mut perform)
    {
        Some(result) => result,
        None => {
            let stripe = AtomicStripes::stripe_of(addr);
            ctx.program.stripes.lock(stripe);
            let result = perform();
            ctx.monitor.atomic(site, addr, result, operand, expected);
            ctx.program.stripes.unlock(stripe);
            result
        }
    };
    // The owner map needs no modification order (see `lock_owners`).
    ctx.program
        .blocking
        .owners
        .atomic(ctx.tid, op, addr, result, operand, expected);
    (result as i64, 0)
}

/// The atomic at `site` on `addr` as the host can perform it (operation, size, memory,
/// address), or `None` when it is misaligned or out of bounds, or there is no shared
/// memory.
fn performable(
    ctx: &mut ThreadCtx,
    site: i32,
    addr: i64,
) -> Option<(AtomicOp, u8, SharedBase, u64)> {
    let Some(SiteKind::Atomic { op, size }) =
        ctx.program.sites.get(site as u32 as usize).map(|s| s.kind)
    else {
        return None;
    };
    let (base, memory) = (ctx.program.shared_base?, ctx.program.memory.as_ref()?);
    let addr = addr as u64;
    let end = addr.checked_add(u64::from(size))?;
    if end > ctx.known_memory_size {
        // Only past the last size seen: ask the memory (a locked read in wasmtime).
        ctx.known_memory_size = memory.data_size() as u64;
    }
    (end <= ctx.known_memory_size && addr.is_multiple_of(u64::from(size)))
        .then_some((op, size, base, addr))
}

/// After an atomic the module executed itself (no shared memory to perform it on, or
/// [`wasmgrind_instrument::Scope::Blocking`], where atomics are not serialized): report it
/// to the lock-owner map (when its site is an atomic's) and the monitor.
fn atomic_end(
    mut caller: Caller<'_, ThreadCtx>,
    site: i32,
    addr: i64,
    result: i64,
    operand: i64,
    expected: i64,
) {
    let ctx = caller.data_mut();
    let (addr, result, operand, expected) =
        (addr as u64, result as u64, operand as u64, expected as u64);
    if let Some(SiteKind::Atomic { op, .. }) =
        ctx.program.sites.get(site as u32 as usize).map(|s| s.kind)
    {
        ctx.program
            .blocking
            .owners
            .atomic(ctx.tid, op, addr, result, operand, expected);
    }
    ctx.monitor
        .atomic(site as u32, addr, result, operand, expected);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_exclude_and_spread() {
        let stripes = AtomicStripes::new();
        let s = AtomicStripes::stripe_of(0x1000);
        stripes.lock(s);
        assert!(stripes.locks[s].0.is_locked());
        stripes.unlock(s);
        assert!(!stripes.locks[s].0.is_locked());
        let distinct: std::collections::HashSet<usize> = (0..256u64)
            .map(|i| AtomicStripes::stripe_of(0x1000 + 4 * i))
            .collect();
        assert!(
            distinct.len() > 200,
            "neighbouring words should mostly land on different stripes"
        );
    }
}
