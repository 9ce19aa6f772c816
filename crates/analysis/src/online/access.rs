//! A plain or atomic memory access as the runtime reports it.

/// A wasm thread id: dense, in spawn order, the main thread is 0.
pub type ThreadId = u32;

/// One memory access of a thread.
///
/// `size` is 1..=16 for instructions and anything for bulk operations (`memory.copy`,
/// `memory.fill`, `memory.init`); a size of 0 touches nothing and is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// First byte accessed (linear-memory address).
    pub addr: u64,
    /// Number of bytes accessed.
    pub size: u32,
    /// True for a store (or the write half of a read-modify-write).
    pub write: bool,
    /// True for a wasm atomic instruction.
    pub atomic: bool,
    /// Code location id (an original code offset or an index the runtime maps back).
    pub site: u32,
    /// Interned call-stack id, opaque to the detector and reported back as is.
    pub stack: u32,
}

impl Access {
    /// A non-atomic read of `size` bytes at `addr` from code location `site`.
    pub const fn read(addr: u64, size: u32, site: u32) -> Self {
        Access {
            addr,
            size,
            write: false,
            atomic: false,
            site,
            stack: 0,
        }
    }

    /// A non-atomic write of `size` bytes at `addr` from code location `site`.
    pub const fn write(addr: u64, size: u32, site: u32) -> Self {
        Access {
            write: true,
            ..Access::read(addr, size, site)
        }
    }

    /// The same access marked atomic.
    pub const fn as_atomic(self) -> Self {
        Access {
            atomic: true,
            ..self
        }
    }

    /// The same access with call stack `stack`.
    pub const fn with_stack(self, stack: u32) -> Self {
        Access { stack, ..self }
    }
}
