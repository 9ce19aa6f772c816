//! The model of what wasmgrind reports.

use serde::{Deserialize, Serialize};

use crate::frame::Frame;
use crate::globals::GlobalSymbol;
use crate::hang::Hang;
use crate::lock_misuse::LockMisuse;
use crate::lock_order::LockOrderInversion;

/// One problem found in a run. Each kind is a variant; more kinds (deadlock,
/// lock-order inversion, lock misuse) are added as variants.
///
/// JSON form: an object whose `kind` field is [`Finding::kind`], plus the variant's
/// fields (see the crate docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Finding {
    /// Two conflicting accesses not ordered by happens-before.
    DataRace(Race),
    /// A cycle in the lock-order graph: a potential deadlock.
    LockOrderInversion(LockOrderInversion),
    /// A lock released, kept or re-acquired by the wrong thread.
    LockMisuse(LockMisuse),
    /// A program stopped because it hung (deadlock, all threads blocked, timeout).
    Hang(Hang),
}

impl Finding {
    /// Stable machine-readable kind, also the JSON `kind` field and SARIF rule id.
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::DataRace(_) => "data_race",
            Finding::LockOrderInversion(_) => "lock_order_inversion",
            Finding::LockMisuse(_) => "lock_misuse",
            Finding::Hang(_) => "hang",
        }
    }

    /// Human-readable kind as reports print it (`data race`).
    pub fn title(&self) -> &'static str {
        match self {
            Finding::DataRace(_) => "data race",
            Finding::LockOrderInversion(_) => "lock-order inversion (potential deadlock)",
            Finding::LockMisuse(m) => m.misuse.title(),
            Finding::Hang(h) => h.title(),
        }
    }

    /// Plural of [`Finding::title`], for counts.
    pub fn title_plural(&self) -> &'static str {
        match self {
            Finding::DataRace(_) => "data races",
            Finding::LockOrderInversion(_) => "lock-order inversions (potential deadlocks)",
            Finding::LockMisuse(m) => m.misuse.title_plural(),
            Finding::Hang(h) => h.title_plural(),
        }
    }

    /// The frame a one-line summary points at: in the stack of the access that
    /// revealed the problem, the innermost frame outside Rust's standard library and
    /// wasi-libc ([`Frame::is_system`]; `write_volatile` inlined into `racy::bump` is
    /// summarized as `racy::bump`), or the innermost frame when all of them are
    /// system code.
    pub fn primary_frame(&self) -> Option<&Frame> {
        let stack = match self {
            Finding::DataRace(race) => &race.current.stack,
            Finding::LockOrderInversion(inversion) => inversion.primary_stack(),
            Finding::LockMisuse(misuse) => &misuse.stack,
            Finding::Hang(hang) => hang.primary_stack(),
        };
        stack
            .iter()
            .find(|f| !f.is_system())
            .or_else(|| stack.first())
    }

    /// Every frame of every stack in the finding, for suppression matching.
    pub fn frames(&self) -> Box<dyn Iterator<Item = &Frame> + '_> {
        match self {
            Finding::DataRace(race) => {
                Box::new(race.current.stack.iter().chain(race.previous.stack.iter()))
            }
            Finding::LockOrderInversion(inversion) => Box::new(inversion.frames()),
            Finding::LockMisuse(misuse) => {
                Box::new(misuse.stack.iter().chain(misuse.acquired_stack.iter()))
            }
            Finding::Hang(hang) => Box::new(hang.frames()),
        }
    }

    /// `TITLE at FILE:LINE:COL in FUNCTION`-style one-liner without the tool prefix:
    /// `data race src/main.rs:14:9 in racy::bump`.
    pub fn summary(&self) -> String {
        let mut s = self.title().to_string();
        if let Some(frame) = self.primary_frame() {
            match frame.source_display() {
                Some(src) => {
                    s.push(' ');
                    s.push_str(&src);
                    s.push_str(" in ");
                    s.push_str(&frame.function_display());
                }
                None => {
                    s.push_str(" in ");
                    s.push_str(&frame.to_string());
                }
            }
        }
        s
    }
}

/// A data race: the access that was just made (`current`) conflicts with an earlier
/// one (`previous`) of another thread that does not happen before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Race {
    /// The later access, which revealed the race.
    pub current: Access,
    /// The earlier conflicting access.
    pub previous: Access,
    /// What the raced-on memory is, if known.
    pub location: Option<AddressDescription>,
}

/// One memory access of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// Read, write, or their atomic forms.
    pub kind: AccessKind,
    /// Size in bytes.
    pub size: u32,
    /// Linear-memory address of the first byte.
    pub addr: u32,
    /// wasmgrind thread id (spawn order, main thread 0).
    pub thread: u32,
    /// Call stack, innermost first.
    pub stack: Vec<Frame>,
}

/// The kind of a memory access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    /// A plain load.
    Read,
    /// A plain store.
    Write,
    /// An atomic load (or the read half of an atomic read-modify-write).
    AtomicRead,
    /// An atomic store or read-modify-write.
    AtomicWrite,
}

impl AccessKind {
    /// Capitalized noun phrase as reports begin an access with (`Atomic write`).
    pub fn capitalized(self) -> &'static str {
        match self {
            AccessKind::Read => "Read",
            AccessKind::Write => "Write",
            AccessKind::AtomicRead => "Atomic read",
            AccessKind::AtomicWrite => "Atomic write",
        }
    }

    /// Lower-case form, as in `Previous atomic read`.
    pub fn lower(self) -> &'static str {
        match self {
            AccessKind::Read => "read",
            AccessKind::Write => "write",
            AccessKind::AtomicRead => "atomic read",
            AccessKind::AtomicWrite => "atomic write",
        }
    }

    /// Whether the access modifies memory.
    pub fn is_write(self) -> bool {
        matches!(self, AccessKind::Write | AccessKind::AtomicWrite)
    }

    /// Whether the access is atomic.
    pub fn is_atomic(self) -> bool {
        matches!(self, AccessKind::AtomicRead | AccessKind::AtomicWrite)
    }
}

/// What a raced-on address is.
///
/// JSON form: an object with a `type` field (`global`, `heap`, `stack`, `unknown`)
/// and the variant's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AddressDescription {
    /// A global variable known from DWARF.
    Global(GlobalSymbol),
    /// Memory from the heap allocator.
    Heap,
    /// The shadow stack of a thread.
    Stack {
        /// The thread owning the stack.
        thread: u32,
    },
    /// Nothing known.
    Unknown,
}
