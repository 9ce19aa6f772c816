//! Vector clocks of synchronization objects (addresses, locks, the fence, custom ids),
//! with the online detector's own clock discipline (unlike `crate::sync_clocks`, which
//! replays trace events: here release joins and acquire starts a new epoch).
//!
//! Release *joins* the thread's clock into the object rather than copying it: for locks
//! the holder already knows the object's clock (it acquired it), so join equals copy; for
//! atomic addresses and notify it keeps every earlier release visible to later acquirers,
//! matching "each wasm atomic is acquire + release on its address" with sequentially
//! consistent atomics.

use rustc_hash::FxHashMap;

use crate::clock::VectorClock;

use super::sync_id::SyncId;

/// The clock of every synchronization object released onto so far.
#[derive(Default)]
pub(crate) struct SyncObjects {
    clocks: FxHashMap<SyncId, VectorClock>,
}

impl SyncObjects {
    /// The clock of `sync`, if anything was released onto it.
    #[inline]
    pub(crate) fn get(&self, sync: SyncId) -> Option<&VectorClock> {
        self.clocks.get(&sync)
    }

    /// `L_sync := L_sync ⊔ clock`.
    #[inline]
    pub(crate) fn release(&mut self, sync: SyncId, clock: &VectorClock) {
        self.clocks.entry(sync).or_default().join(clock);
    }

    /// Total clock entries held (memory accounting).
    pub(crate) fn clock_entries(&self) -> usize {
        self.clocks.values().map(VectorClock::len).sum()
    }
}
