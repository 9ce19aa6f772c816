//! wasmgrind's instrumentation pass: rewrites a core wasm module so that every access to its
//! shared memory, every atomic and every call reaches the race detector.
//!
//! This documentation is the **host ABI**: the contract between the instrumented module and the
//! runtime/detector that executes it.
//!
//! # Overview
//!
//! Every instance of a module is one thread, so the module-defined memories and globals the pass
//! adds are naturally per thread. Plain memory accesses and calls are logged by the instrumented
//! code itself into a per-instance **event buffer** that the host drains in batches;
//! synchronization (atomics, wait/notify, fences, bulk memory) calls the host directly.
//!
//! Only accesses to the **instrumented memory** are reported: the module's single shared memory
//! (imported or defined `shared`), or, when it has none and [`Options::all_memories`] is set,
//! memory 0. Accesses to other (non-shared) memories cannot race across instances. More than one
//! shared memory, or a 64-bit instrumented memory, is rejected with
//! [`InstrumentError::Unsupported`].
//!
//! # Added imports (all always present, module `wasmgrind`)
//!
//! The hooks are the **first function imports**, in this order, so hook `h` has function index
//! `h as u32` ([`Hook`]); every input function index is shifted by [`Hook::COUNT`] = 8
//! ([`FuncMap`]). None returns a value. Addresses passed to hooks are effective addresses
//! computed as `i64.extend_i32_u(base) + memarg.offset` (no wrapping); i32 values are
//! zero-extended to i64. `site` indexes [`Instrumented::sites`].
//!
//! | index | import | signature | when |
//! |---|---|---|---|
//! | 0 | `flush` | `(len: i32)` | the event buffer holds `len` bytes of records to take: it is full, or a draining hook follows (see below) |
//! | 1 | `atomic` | `(site: i32, addr: i64, len: i32, operand: i64, expected: i64) -> (result: i64, status: i32)` | in place of every atomic load/store/rmw/cmpxchg: `len` = bytes of records in the buffer (the cursor), which the host takes first; `operand` = stored value / rmw operand / cmpxchg replacement, `expected` = cmpxchg's expected value (0 otherwise). The host performs the access and returns its result (0 for stores) with status 0, or status 1 if it did not (see below) |
//! | 2 | `atomic_end` | `(site: i32, addr: i64, result: i64, operand: i64, expected: i64)` | after an atomic the module executed itself: `result` = value returned (0 for stores), the others as for `atomic` |
//! | 3 | `wait_begin` | `(site: i32, addr: i64, timeout: i64)` | before `memory.atomic.wait32/64` |
//! | 4 | `wait_end` | `(site: i32, addr: i64, result: i32)` | after it (`result` 0 ok, 1 not-equal, 2 timed out) |
//! | 5 | `notify` | `(site: i32, addr: i64, count: i32)` | before `memory.atomic.notify` |
//! | 6 | `fence` | `(site: i32)` | before `atomic.fence` |
//! | 7 | `bulk` | `(site: i32, dst: i64, src: i64, len: i64)` | before `memory.copy/fill/init` on the instrumented memory; for fill `src` is the fill value, for init the offset in the data segment; the site's [`BulkOp`] says which |
//!
//! Right before calling `wait_begin`, `notify`, `fence` or `bulk`
//! (the **draining hooks**), the module hands a non-empty buffer over with `flush(cursor)` and
//! resets the cursor, so the host sees every record logged before the synchronization first,
//! without reading the cursor global. `atomic`, the most frequent of them, takes the
//! records itself: the module passes the cursor as `len` and resets it to 0 after the call,
//! which saves a host call per atomic.
//!
//! **Atomics are performed by the host.** `atomic` replaces the instruction: the host does
//! the access on the shared memory inside a per-address critical section (its own, or the
//! analysis's) and reports it, in one call, so no other thread's atomic on the address
//! runs between the access and its analysis. It
//! returns status 1 without doing anything when the access is misaligned or out of bounds,
//! or when it has no shared memory to work on (the instrumented memory is the instance's
//! own); the module then executes the original instruction — which traps in the first two
//! cases, exactly as the original would — and reports it with `atomic_end`. In
//! [`Scope::Blocking`] (no records, no serialization) atomics run in the module and only
//! `atomic_end` follows them.
//! Calls to functions imported from module `wasmgrind` are never logged as calls.
//!
//! # Added exports and the event buffer
//!
//! * [`EVENTS_EXPORT`] `__wasmgrind_events`: a new **non-shared** memory, appended after the
//!   input's memories (index = number of input memories, [`Instrumented::events_memory`]),
//!   sized to hold [`Instrumented::buffer_capacity`] bytes (= [`Options::buffer_bytes`], a
//!   multiple of 8, default 64 KiB).
//! * [`CURSOR_EXPORT`] `__wasmgrind_cursor`: a mutable i32 global appended after the input's
//!   globals ([`Instrumented::cursor_global`]): byte offset of the next free record, initially 0.
//! * [`GENERATION_EXPORT`] `__wasmgrind_generation`, only with the repeat filter (below).
//!
//! A **record** is 8 bytes, little-endian: `u32 addr` then `u32 site`. It is written at
//! `cursor`, the cursor is bumped by 8, and if then `cursor == capacity` the module calls
//! `flush(capacity)`. The host reads the records `[0, len)` of the events memory in `flush`;
//! the module writes 0 to the cursor after `flush` returns (so a host whose hooks do nothing
//! still runs the module correctly). Elsewhere — at synchronization through its own imports,
//! and when the thread ends — the host drains the buffer itself: records `[0, cursor)` read
//! through the exports, then the cursor set back to 0.
//!
//! Record kinds ([`SiteKind`]):
//! * `Read { size }` / `Write { size }`: logged **before** every plain load/store of the
//!   instrumented memory, of every width (i32/i64/f32/f64, 8/16/32-bit partial and
//!   sign-extending forms, v128 load/store, v128 load splat/zero/extend with `size` = bytes read,
//!   lane loads/stores with `size` = lane bytes). `addr` = `base + memarg.offset` wrapping to
//!   u32. A trapping access is logged all the same.
//! * `CallEnter` / `CallExit` (with [`Options::call_stacks`], default on): `addr` = 0, logged
//!   before and after every `call`, `call_indirect` and `call_ref`; both sites carry the call
//!   instruction's offset. Replaying them rebuilds each access's call stack. Tail calls
//!   (`return_call*`) are left plain: the callee takes over the caller's frame, which the
//!   `CallExit` of the caller's own call site pops. A call left by an exception or a trap has no
//!   `CallExit`.
//!
//! # Repeat filter (opt-in)
//!
//! With [`Options::filter_repeats`] the instrumented code drops **same-epoch repeats** itself:
//! an access of the same `(addr, site)` as one already logged since this instance's last
//! synchronization cannot change a happens-before verdict (FastTrack's same-epoch rule), so it
//! never leaves wasm. Without the option nothing below exists and every access is logged.
//!
//! * [`GENERATION_EXPORT`] `__wasmgrind_generation`: a mutable **i64** global appended after
//!   the cursor ([`FilterLayout::generation_global`]), initially 1; the current generation.
//!   The instrumented code bumps it by 1 right **after** every atomic (its `atomic` or
//!   `atomic_end` call), `wait_end`, `notify` and `fence` (not `wait_begin`, `bulk`, `flush`),
//!   after every call of a function import other than these hooks (spawn, join, lock hooks,
//!   WASI: any of them may synchronize), after every `call_indirect` and `call_ref` when
//!   an import may be reached that way (an elem segment, export or global names an imported
//!   function, a table is imported or exported, or a reference-typed global or import
//!   result could hold one; otherwise they reach only the module's own functions, whose
//!   import calls bump), and after the record of every [`PlainPolicy::Always`] site. Tail
//!   calls that may reach an import (`return_call` of an import, and then
//!   `return_call_indirect`, `return_call_ref`) become the plain call, the bump and
//!   `return`. So the host never writes the global; it may read it. An i64 never wraps.
//! * The **table**: [`FilterLayout::slots`] (= [`Options::filter_slots`], a power of two,
//!   default 2^17) direct-mapped slots of [`SLOT_BYTES`] = 16 bytes reserved in the events
//!   memory at [`FilterLayout::table_offset`] (the buffer capacity rounded up to 16; the
//!   memory grows to hold both). A slot is `i64 record` (as written to the buffer) then
//!   `i64 generation` (when it was logged), little-endian; all zero initially (generation 0
//!   is never current). Only the first `used` slots are used, `used` starting at
//!   [`INITIAL_SLOTS`] (64 KiB) or `slots` if smaller: two more mutable i32 globals follow
//!   the generation, the mask `(used - 1) * 16` and the number of live slots displaced in
//!   this generation (reset by every bump); when that count exceeds `(used - 1) / 4`, `used`
//!   doubles (up to `slots`) and the count restarts. The access at `addr` of `site` uses
//!   slot `((addr >> 2) + site * 0x9e3779b1) mod used`.
//! * Per plain site, [`Options::plain_policy`] decides ([`PlainPolicy`], missing =
//!   `Always`): `Filter` sites log only if their slot does not hold the same record with the
//!   current generation, and then fill the slot; `Always` sites log every time and bump the
//!   generation after the record (for accesses the host handles as synchronization);
//!   `Skip` sites are never logged (they still have a site id, so numbering does not
//!   depend on the policy). Call records are never filtered.
//!
//! A host that starts a new epoch of a thread only at the hooks, imports and `Always` records
//! above sees every access its own same-epoch filter would keep. A colliding access only
//! evicts a slot, costing a repeated record, never a lost one. Exceptions thrown by an import
//! skip its bump (no host import of wasmgrind throws). Measured on `bench_array` (4 threads
//! sweeping 64 KiB each with a stencil, `check`): a fixed 2^14-slot table missed on nearly
//! every access (no faster than no filter), 2^17 slots kept the sweep (check about 3×
//! faster); 2-way sets of the same size were slower on hits than direct mapping. Growing
//! from 64 KiB keeps code that synchronizes often (short generations, all misses) from
//! scattering its misses over 2 MiB.
//!
//! # Locations
//!
//! Every [`Site`] names its input function index and the input instruction's module-relative
//! code offset (and its offset within the function body), so DWARF and the name section of the
//! **input** apply. [`Instrumented::offset_map`] maps any code offset of the instrumented module
//! (e.g. from a wasmtime backtrace) back to the input instruction it belongs to, and
//! [`Instrumented::func_map`] maps function indices.
//!
//! # Output module
//!
//! Existing local indices are unchanged (scratch locals are appended). All custom sections are
//! kept except those describing code offsets of the input (`.debug_*`, `reloc.*`, `linking`,
//! `sourceMappingURL`, `external_debug_info`, `metadata.code.*`); the `name` section is kept,
//! remapped, and names the hooks `wasmgrind::<name>`.
//!
//! # Record emission: inline vs helper
//!
//! Records are emitted inline ([`RecordMode::Inline`]): one `i64.store` of `(site << 32) | addr`
//! plus the cursor bump and a rarely-taken flush branch. The alternative, a call to a generated
//! helper `(addr, site)` ([`RecordMode::Helper`], via [`instrument_with_mode`]), makes the code
//! smaller but cranelift does not inline it, and a call per access costs more than the record.
//! Measured on a loop doing 3 accesses per iteration (wasmtime 50 via its Python embedding, 2
//! cores): uninstrumented 0.67 ns/iteration, inline 6.6 ns, helper 16.8 ns, i.e. about 2 ns
//! per logged access inline against 5.4 ns through the helper.

mod abi;
mod access;
mod body;
mod error;
mod filter;
mod func_map;
mod module_info;
mod offset_map;
mod options;
mod record;
mod remap;
mod rewrite;
mod scratch;
mod site;

pub use abi::{Hook, CURSOR_EXPORT, EVENTS_EXPORT, GENERATION_EXPORT, IMPORT_MODULE, RECORD_SIZE};
pub use error::InstrumentError;
pub use filter::{FilterLayout, INITIAL_SLOTS, SLOT_BYTES};
pub use func_map::FuncMap;
pub use offset_map::{BodyMap, OffsetMap};
pub use options::{Options, PlainPolicy, Scope};
pub use record::RecordMode;
pub use site::{AtomicOp, BulkOp, Site, SiteKind};

/// The result of instrumenting a module.
#[derive(Debug, Clone)]
pub struct Instrumented {
    /// The instrumented module.
    pub wasm: Vec<u8>,
    /// What each site index (in records and hook calls) stands for.
    pub sites: Vec<Site>,
    /// Function indices of the instrumented module ↔ of the input.
    pub func_map: FuncMap,
    /// Code offsets of the instrumented module → of the input.
    pub offset_map: OffsetMap,
    /// Capacity of the event buffer in bytes (a multiple of [`RECORD_SIZE`]).
    pub buffer_capacity: u32,
    /// Index of the event buffer memory in the instrumented module.
    pub events_memory: u32,
    /// Index of the cursor global in the instrumented module.
    pub cursor_global: u32,
    /// The repeat filter's generation global and table, with [`Options::filter_repeats`].
    pub filter: Option<FilterLayout>,
    /// The memory whose accesses are reported, if any.
    pub instrumented_memory: Option<u32>,
}

/// Instruments `wasm` (a core module) as described in the crate documentation.
///
/// The input is not validated beyond decoding; instrumenting an invalid module yields an
/// invalid module.
pub fn instrument(wasm: &[u8], opts: &Options) -> Result<Instrumented, InstrumentError> {
    instrument_with_mode(wasm, opts, RecordMode::default())
}

/// [`instrument`] with an explicit record emission strategy (for measurements).
pub fn instrument_with_mode(
    wasm: &[u8],
    opts: &Options,
    mode: RecordMode,
) -> Result<Instrumented, InstrumentError> {
    rewrite::rewrite(wasm, opts, mode)
}
