//! Names of synchronization objects, each of which carries a vector clock.

/// A synchronization object that threads release onto and acquire from.
///
/// Each variant is its own namespace: `Addr(8)` and `Lock(8)` are different objects, so
/// a lock hook on the mutex word at 8 does not synchronize with atomics on address 8
/// (the atomics the lock implementation performs synchronize through `Addr` anyway).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SyncId {
    /// A linear-memory address used by atomics, `memory.atomic.notify` and woken waits.
    Addr(u64),
    /// A lock known from the threadlink hooks or inferred from atomics, by its address.
    Lock(u64),
    /// The single global object `atomic.fence` synchronizes through.
    Fence,
    /// Anything else the runtime wants to order (e.g. host-side channels), by its own id.
    Custom(u64),
}
