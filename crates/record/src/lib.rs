//! `wasmgrind trace`'s engine room: a [`wasmgrind_runtime::Monitor`] that records an
//! instrumented program's events as a RAPID-compatible trace (RapidBin with a
//! metadata side file, or STD text), streaming, with bounded memory.
//!
//! # Event mapping
//!
//! - **Plain accesses** (drained records of site kind Read/Write) become `r`/`w` of a
//!   *variable*: each distinct `(address, size)` is one variable id
//!   ([`variables::VariableIds`], dense, first-use order). Overlapping ranges are
//!   different ids; the metadata's `overlaps` lists such pairs, since an offline tool
//!   comparing ids cannot see those conflicts. Call enter/exit records are ignored.
//!   Accesses made directly inside the C library's synchronization code are recorded
//!   like atomics, as `wasmgrind check` treats them ([`site_table::SiteInfo`]), and so
//!   is the C library's plain read of a word right before its own synchronization on
//!   that word takes it (a peek at a lock word, [`peeks`]).
//! - **Atomics** are `acq(atomic@addr) r|w(variable) rel(atomic@addr)`: the lock pair
//!   is their synchronization (DESIGN.md: each atomic is acquire + release on its
//!   address), and the access inside it keeps the variable visible, so a plain access
//!   unordered with an atomic one is a race while two atomics on one variable are
//!   always ordered by the lock — the DESIGN's "at least one non-atomic" rule, in
//!   terms RAPID's engines (which treat lock operations as synchronization only)
//!   understand. Loads and failed compare-exchanges are reads, the rest writes.
//! - **Wait/notify**: a notify, and a wait that was woken, are an acquire + release of
//!   the address's atomic lock (a wait is an atomic load; a lone release would
//!   overwrite the lock's clock in vector-clock engines and drop earlier releases).
//! - **Inferred locks** ([`lock_inference`]) are acquires/releases of an `inferred@addr`
//!   lock, placed inside the atomic's own synchronization (acquire after it, release
//!   before it); a contended acquiring cmpxchg is a lock request. **Threadlink lock
//!   hooks**: `start_lock` requests, `finish_lock` acquires, `start_unlock` releases the
//!   `mutex@addr` lock. `atomic.fence` is an acquire + release of one `fence` lock.
//! - **Fork** is recorded in the parent when it spawns; **join** at the return of
//!   threadlink `thread_join`. wasi-threads has no join event: its joins are built
//!   from atomics and wait/notify, which the trace records.
//! - **Bulk operations** are a read of the source range (copy) and a write of the
//!   destination range, each one variable.
//! - **Locations** are dense ids of sites in first-use order ([`locations`]); id 0
//!   stands for runtime events without a code location. The metadata maps each id to
//!   the function index and ORIGINAL code offset (`CodeMap::prepared_to_original`),
//!   which [`labeler::SymbolLabeler`] symbolizes.
//!
//! # Order
//!
//! One writer is shared by all threads behind a mutex ([`recorder::Recorder`]); a
//! thread writes its events when the runtime hands them over, each batch as one
//! uninterrupted run. The runtime drains a thread's buffered accesses before each of
//! its synchronization events, and a thread's synchronization events are written
//! while the event happens (atomics on one address while the runtime holds that
//! address's serialization lock, so in modification order; a fork before the child
//! runs). So in the file every thread's events are in program order, every release
//! precedes the acquires that observe it, and a fork precedes the child's events:
//! the file's order is a linearization consistent with happens-before.
//!
//! # Ending
//!
//! [`recorder::Recorder::finish`] closes the trace and writes the metadata; the CLI
//! calls it from the program's termination finalizer, which every end goes through
//! (exit, trap, `proc_exit` in any thread, threadlink panic, Ctrl-C through
//! [`interrupt::on_interrupt`]), so a trace is complete whatever ends the program.
//! Accesses other threads buffered but had not yet handed over when the program ended
//! are not in it. A write failure (RapidBin's 10-bit thread, 34-bit decor and 15-bit
//! location limits) closes the trace at the last event that fit and ends the program
//! with that error.

pub mod error;
pub mod interrupt;
pub mod labeler;
pub mod locations;
pub mod lock_inference;
pub mod locks;
pub mod monitor;
pub mod peeks;
pub mod recorder;
pub mod sink;
pub mod site_table;
pub mod thread;
pub mod variables;

pub use error::RecordError;
pub use labeler::SymbolLabeler;
pub use monitor::RecordMonitor;
pub use recorder::{Recorder, Summary};
pub use sink::TraceSink;
pub use site_table::SiteTable;
