//! The site table: what each site index in a record or hook call stands for.

/// One instrumented instruction of the input module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Site {
    /// What the instruction does.
    pub kind: SiteKind,
    /// Function index in the INPUT module (imports counted, as in the name section).
    pub func: u32,
    /// Module-relative code offset of the instruction in the INPUT module (as wasmtime's
    /// `FrameInfo::module_offset` and the DWARF of the input use).
    pub offset: u32,
    /// Offset of the instruction from the start of its function body (the locals declaration,
    /// just after the body's size field) in the INPUT module.
    pub body_offset: u32,
}

/// What an instrumented instruction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum SiteKind {
    /// A plain load of `size` bytes (logged in the event buffer).
    Read {
        /// Bytes read from memory.
        size: u8,
    },
    /// A plain store of `size` bytes (logged in the event buffer).
    Write {
        /// Bytes written to memory.
        size: u8,
    },
    /// Logged before a `call`, `call_indirect` or `call_ref` (record addr 0).
    CallEnter,
    /// Logged after that call returned (record addr 0).
    CallExit,
    /// An atomic load, store, read-modify-write or compare-exchange (hook `atomic`, or `atomic_end`).
    Atomic {
        /// Which atomic operation.
        op: AtomicOp,
        /// Bytes accessed.
        size: u8,
    },
    /// `memory.atomic.wait32` (size 4) or `wait64` (size 8) (hooks `wait_begin/end`).
    Wait {
        /// Bytes of the compared value.
        size: u8,
    },
    /// `memory.atomic.notify` (hook `notify`).
    Notify,
    /// `atomic.fence` (hook `fence`).
    Fence,
    /// `memory.copy`, `memory.fill` or `memory.init` on the instrumented memory (hook `bulk`).
    Bulk {
        /// Which bulk operation.
        op: BulkOp,
    },
}

/// The operation of an atomic access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AtomicOp {
    /// `*.atomic.load*`.
    Load,
    /// `*.atomic.store*`.
    Store,
    /// `*.atomic.rmw*.add`.
    Add,
    /// `*.atomic.rmw*.sub`.
    Sub,
    /// `*.atomic.rmw*.and`.
    And,
    /// `*.atomic.rmw*.or`.
    Or,
    /// `*.atomic.rmw*.xor`.
    Xor,
    /// `*.atomic.rmw*.xchg`.
    Xchg,
    /// `*.atomic.rmw*.cmpxchg`.
    Cmpxchg,
}

/// The operation of a bulk memory instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum BulkOp {
    /// `memory.copy`: reads `[src, src+len)`, writes `[dst, dst+len)`.
    Copy,
    /// `memory.fill`: writes `[dst, dst+len)`; the hook's `src` is the fill byte.
    Fill,
    /// `memory.init`: writes `[dst, dst+len)`; the hook's `src` is the offset in the data segment.
    Init,
}

impl SiteKind {
    /// True for the kinds logged in the event buffer rather than through a host hook.
    pub fn is_buffered(self) -> bool {
        matches!(
            self,
            SiteKind::Read { .. }
                | SiteKind::Write { .. }
                | SiteKind::CallEnter
                | SiteKind::CallExit
        )
    }
}
