//! Names, signatures and constants of the host ABI (see the crate documentation).

use wasm_encoder::ValType;

/// Import module of every host hook the instrumented module calls.
pub const IMPORT_MODULE: &str = "wasmgrind";
/// Export name of the per-instance event buffer memory.
pub const EVENTS_EXPORT: &str = "__wasmgrind_events";
/// Export name of the mutable i32 global holding the byte offset of the next free record.
pub const CURSOR_EXPORT: &str = "__wasmgrind_cursor";
/// Export name of the mutable i64 global holding the repeat filter's current generation
/// (only with [`crate::Options::filter_repeats`]).
pub const GENERATION_EXPORT: &str = "__wasmgrind_generation";
/// Size in bytes of one record in the event buffer: `u32 addr`, `u32 site`, little-endian.
pub const RECORD_SIZE: u32 = 8;

/// A host function imported from [`IMPORT_MODULE`].
///
/// The instrumented module imports all of them, in the order of [`Hook::ALL`], as its first
/// function imports: hook `h` has function index `h as u32` in the instrumented module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(u32)]
pub enum Hook {
    /// `flush(len: i32)`: take the buffer's first `len` bytes of records (it is full, or a
    /// draining hook follows); the module resets the cursor to 0 after the call.
    Flush = 0,
    /// `atomic(site: i32, addr: i64, len: i32, operand: i64, expected: i64) -> (i64, i32)`
    /// in place of an atomic access: the host takes the `len` bytes of records logged
    /// before it, performs the access and returns its result and 0, or returns status 1
    /// when it did not perform it (the module then executes the instruction itself).
    Atomic = 1,
    /// `atomic_end(site: i32, addr: i64, result: i64, operand: i64, expected: i64)` after an
    /// atomic access the module executed itself.
    AtomicEnd = 2,
    /// `wait_begin(site: i32, addr: i64, timeout: i64)` before `memory.atomic.wait*`.
    WaitBegin = 3,
    /// `wait_end(site: i32, addr: i64, result: i32)` after `memory.atomic.wait*`.
    WaitEnd = 4,
    /// `notify(site: i32, addr: i64, count: i32)` before `memory.atomic.notify`.
    Notify = 5,
    /// `fence(site: i32)` before `atomic.fence`.
    Fence = 6,
    /// `bulk(site: i32, dst: i64, src: i64, len: i64)` before `memory.copy/fill/init`.
    Bulk = 7,
}

impl Hook {
    /// Every hook, in import (= function index) order.
    pub const ALL: [Hook; 8] = [
        Hook::Flush,
        Hook::Atomic,
        Hook::AtomicEnd,
        Hook::WaitBegin,
        Hook::WaitEnd,
        Hook::Notify,
        Hook::Fence,
        Hook::Bulk,
    ];

    /// Number of hooks, i.e. by how much every input function index is shifted.
    pub const COUNT: u32 = Hook::ALL.len() as u32;

    /// The import field name.
    pub fn name(self) -> &'static str {
        match self {
            Hook::Flush => "flush",
            Hook::Atomic => "atomic",
            Hook::AtomicEnd => "atomic_end",
            Hook::WaitBegin => "wait_begin",
            Hook::WaitEnd => "wait_end",
            Hook::Notify => "notify",
            Hook::Fence => "fence",
            Hook::Bulk => "bulk",
        }
    }

    /// Function index of the hook in the instrumented module.
    pub fn func_index(self) -> u32 {
        self as u32
    }

    /// Parameter types.
    pub fn params(self) -> &'static [ValType] {
        use ValType::{I32, I64};
        match self {
            Hook::Flush => &[I32],
            Hook::Atomic => &[I32, I64, I32, I64, I64],
            Hook::AtomicEnd => &[I32, I64, I64, I64, I64],
            Hook::WaitBegin => &[I32, I64, I64],
            Hook::WaitEnd => &[I32, I64, I32],
            Hook::Notify => &[I32, I64, I32],
            Hook::Fence => &[I32],
            Hook::Bulk => &[I32, I64, I64, I64],
        }
    }

    /// Result types: only [`Hook::Atomic`] returns anything (the result, the status).
    pub fn results(self) -> &'static [ValType] {
        match self {
            Hook::Atomic => &[ValType::I64, ValType::I32],
            _ => &[],
        }
    }
}
