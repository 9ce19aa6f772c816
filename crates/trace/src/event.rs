//! The event model shared by every trace format and analysis engine.

use std::fmt;

/// What an event does. The discriminants are RapidBin's operation codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Op {
    /// Lock acquired (decor: lock id). Atomics are an acquire+release of their address.
    Acquire = 0,
    /// Lock released (decor: lock id).
    Release = 1,
    /// Plain read (decor: variable id).
    Read = 2,
    /// Plain write (decor: variable id).
    Write = 3,
    /// Thread creation in the parent (decor: child thread id).
    Fork = 4,
    /// Wait for a thread's end (decor: joined thread id).
    Join = 5,
    /// A thread starts waiting for a lock (decor: lock id); no synchronization effect.
    LockRequest = 8,
}

impl Op {
    /// All operations, in code order.
    pub const ALL: [Op; 7] = [
        Op::Acquire,
        Op::Release,
        Op::Read,
        Op::Write,
        Op::Fork,
        Op::Join,
        Op::LockRequest,
    ];

    /// RapidBin operation code.
    #[inline]
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The operation of a RapidBin code, `None` for unused codes.
    #[inline]
    pub const fn from_code(code: u8) -> Option<Op> {
        Some(match code {
            0 => Op::Acquire,
            1 => Op::Release,
            2 => Op::Read,
            3 => Op::Write,
            4 => Op::Fork,
            5 => Op::Join,
            8 => Op::LockRequest,
            _ => return None,
        })
    }

    /// The STD spelling (`acq`, `rel`, `r`, `w`, `fork`, `join`, `req`).
    pub const fn std_name(self) -> &'static str {
        match self {
            Op::Acquire => "acq",
            Op::Release => "rel",
            Op::Read => "r",
            Op::Write => "w",
            Op::Fork => "fork",
            Op::Join => "join",
            Op::LockRequest => "req",
        }
    }

    /// True for reads and writes.
    #[inline]
    pub const fn is_access(self) -> bool {
        matches!(self, Op::Read | Op::Write)
    }

    /// True for operations whose decor is a lock id.
    #[inline]
    pub const fn is_lock_op(self) -> bool {
        matches!(self, Op::Acquire | Op::Release | Op::LockRequest)
    }

    /// True for operations whose decor is a thread id.
    #[inline]
    pub const fn is_thread_op(self) -> bool {
        matches!(self, Op::Fork | Op::Join)
    }

    /// What the decor of this operation names.
    pub const fn decor_kind(self) -> DecorKind {
        match self {
            Op::Read | Op::Write => DecorKind::Variable,
            Op::Fork | Op::Join => DecorKind::Thread,
            Op::Acquire | Op::Release | Op::LockRequest => DecorKind::Lock,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.std_name())
    }
}

/// The id space an event's decor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecorKind {
    /// A variable (memory location) id.
    Variable,
    /// A lock id.
    Lock,
    /// A thread id.
    Thread,
}

/// One trace event: thread `thread` performs `op` on `decor` at code location `loc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    /// Thread id (dense, spawn order; 0 is the main thread).
    pub thread: u32,
    /// The operation.
    pub op: Op,
    /// Variable id, lock id or thread id, depending on `op` (see [`Op::decor_kind`]).
    pub decor: u64,
    /// Location id (resolved through [`crate::Metadata`]).
    pub loc: u32,
    /// True for the second and later pieces of one access that an analysis split by
    /// byte range (an 8-byte write over variables of 4 bytes): the event belongs to the
    /// access just before it in the stream, shares its trace index and counts with it.
    /// Trace readers never set it and writers do not store it.
    pub continues: bool,
}

impl Event {
    /// Shorthand constructor (a whole event: `continues` is false).
    pub const fn new(thread: u32, op: Op, decor: u64, loc: u32) -> Self {
        Event {
            thread,
            op,
            decor,
            loc,
            continues: false,
        }
    }
}
