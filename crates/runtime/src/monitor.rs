//! The seam between execution and analysis: the runtime reports what each thread
//! does, in that thread's program order, to the thread's [`ThreadMonitor`], created
//! by the program's [`Monitor`]. `run` needs none (the [`NullMonitor`]).
//!
//! Ordering contract: before any synchronization event of a thread (an atomic, a
//! wait or notify, a fence, a bulk operation, a spawn, a join, a lock hook, the
//! thread's end) is delivered, the thread's pending buffered accesses are delivered
//! with [`ThreadMonitor::records`]. So a consumer sees each thread's accesses between
//! two synchronization events before the later event, as happens-before needs.

/// Thread ids: spawn order, the main thread (first instance) is 0.
pub type ThreadId = u32;

/// The four lock-tracing hooks of the wasm_threadlink ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockHook {
    StartLock,
    FinishLock,
    StartUnlock,
    FinishUnlock,
}

/// Creates the per-thread receivers of a program's events.
pub trait Monitor: Send + Sync + 'static {
    /// Called on the new thread itself before it runs any wasm.
    fn thread(&self, tid: ThreadId) -> Box<dyn ThreadMonitor>;
}

/// Receives one thread's events, on that thread, in its program order.
#[allow(unused_variables)]
pub trait ThreadMonitor: Send {
    /// A drained batch of the instrumentation's event buffer: 8-byte little-endian
    /// records, each `u32 addr` then `u32 site` (see `wasmgrind_instrument`).
    fn records(&mut self, records: &[u8]) {}
    /// The records logged right before an atomic access: [`Self::perform_atomic`] or
    /// [`Self::atomic`] for it is this thread's next call (unless the instruction traps).
    /// A monitor may hold them back and handle them with the atomic, in one step; it
    /// must then handle them first in any other call that comes instead.
    fn records_before_atomic(&mut self, records: &[u8]) {
        self.records(records);
    }
    /// Offers the monitor to order an atomic access (site kind `Atomic`) on `addr`
    /// itself: it either calls `perform` exactly once, inside a critical section of its
    /// own that every other thread's atomic on `addr` goes through too, and returns
    /// `Some` of what `perform` returned (the instruction's result); or it leaves
    /// `perform` alone and returns `None` (the default), and the runtime performs the
    /// atomic under its own per-address lock and calls [`Self::atomic`]. A monitor
    /// that analyzes atomics under a per-address lock anyway saves the runtime's.
    /// `operand` and `expected` are as for [`Self::atomic`].
    fn perform_atomic(
        &mut self,
        site: u32,
        addr: u64,
        operand: u64,
        expected: u64,
        perform: &mut dyn FnMut() -> u64,
    ) -> Option<u64> {
        None
    }
    /// An atomic access (site kind `Atomic`). When the runtime performed it, called while
    /// the runtime holds the address's serialization lock, so calls for one address come
    /// in the atomics' real modification order; when the module executed it itself (no
    /// shared memory, or `Scope::Blocking`), called after it, unordered. `result` is what
    /// the instruction returned (0 for a store), `operand` the stored value / rmw operand
    /// / cmpxchg replacement, `expected` cmpxchg's expected value; i32 values
    /// zero-extended.
    fn atomic(&mut self, site: u32, addr: u64, result: u64, operand: u64, expected: u64) {}
    /// Before `memory.atomic.wait{32,64}` on `addr` (timeout in ns, negative: none).
    fn wait_begin(&mut self, site: u32, addr: u64, timeout: i64) {}
    /// After the wait returned `result` (0 woken, 1 not-equal, 2 timed out).
    fn wait_end(&mut self, site: u32, addr: u64, result: u32) {}
    /// Before `memory.atomic.notify` on `addr`.
    fn notify(&mut self, site: u32, addr: u64, count: u32) {}
    /// Before `atomic.fence`.
    fn fence(&mut self, site: u32) {}
    /// Before `memory.copy`/`fill`/`init` (the site kind says which; `src` is the
    /// source address for copy, the fill value or segment offset otherwise).
    fn bulk(&mut self, site: u32, dst: u64, src: u64, len: u64) {}
    /// This thread created `child` (reported before the child runs).
    fn fork(&mut self, child: ThreadId) {}
    /// This thread returned from threadlink `thread_join(joined)`.
    fn join(&mut self, joined: ThreadId) {}
    /// A threadlink lock-tracing hook on the mutex at `addr`.
    fn lock_hook(&mut self, hook: LockHook, addr: u32) {}
    /// The thread's entry function returned or trapped: nothing more comes from it.
    /// `ends_program` when its end is the program's (the main thread's return, or a
    /// wasi-threads thread's trap or `proc_exit`): what it still holds then is left
    /// behind by the program, not by a thread that others outlive.
    fn exit(&mut self, ends_program: bool) {}
}

/// The monitor of a plain `run`: observes nothing.
pub struct NullMonitor;

struct NullThread;

impl ThreadMonitor for NullThread {}

impl Monitor for NullMonitor {
    fn thread(&self, _tid: ThreadId) -> Box<dyn ThreadMonitor> {
        Box::new(NullThread)
    }
}
