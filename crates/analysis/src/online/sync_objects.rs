//! Vector clocks of synchronization objects (addresses, locks, the fence, custom ids),
//! with the online detector's own clock discipline (unlike `crate::sync_clocks`, which
//! replays trace events: here release joins and acquire starts a new epoch).
//!
//! Release *joins* the thread's clock into the object rather than copying it: for locks
//! the holder already knows the object's clock (it acquired it), so join equals copy; for
//! atomic addresses and notify it keeps every earlier release visible to later acquirers,
//! matching "each wasm atomic is acquire + release on its address" with sequentially
//! consistent atomics.
//!
//! Concurrency: the objects are spread over [`SHARDS`] independently locked maps by a hash
//! of their id, so threads synchronizing on different objects rarely meet. Each operation
//! holds one shard lock for one join (or, for an atomic, two joins and one shadow
//! check): so briefly that a [`SpinMutex`](wasmgrind_spin::SpinMutex), one locked
//! instruction per operation instead of parking_lot's two, is the better lock (4.5% more
//! atomics per second in `cargo bench -p wasmgrind-analysis --bench online`).

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use crate::clock::VectorClock;
use wasmgrind_spin::SpinMutex;

use super::detached::DetachedRef;
use super::sync_clock::SyncClock;
use super::sync_id::SyncId;

/// Number of shards (a power of two).
const SHARDS: usize = 64;

/// One synchronization object.
#[derive(Default)]
pub(crate) struct SyncObject {
    /// Everything released onto it so far.
    pub(crate) clock: SyncClock,
    /// For an atomic word's object: the detached granule holding the word's cells,
    /// once an atomic detached it (see `detached`).
    pub(crate) detached: Option<DetachedRef>,
}

type Shard = FxHashMap<SyncId, SyncObject>;

/// One shard's lock and map on cache lines of their own (no false sharing between
/// threads synchronizing through different shards).
#[derive(Default)]
#[repr(align(128))]
struct PaddedShard(SpinMutex<Shard>);

/// The clock of every synchronization object released onto so far.
pub(crate) struct SyncObjects {
    shards: Box<[PaddedShard]>,
}

impl Default for SyncObjects {
    fn default() -> Self {
        SyncObjects {
            shards: (0..SHARDS).map(|_| PaddedShard::default()).collect(),
        }
    }
}

impl SyncObjects {
    #[inline]
    fn shard(&self, sync: SyncId) -> &SpinMutex<Shard> {
        let mut h = FxHasher::default();
        sync.hash(&mut h);
        // Fx mixes into the high bits; take the shard index from there.
        &self.shards[(h.finish() >> (64 - SHARDS.trailing_zeros())) as usize].0
    }

    /// `clock := clock ⊔ L_sync` (nothing if nothing was released onto `sync` yet).
    #[inline]
    pub(crate) fn acquire_into(&self, sync: SyncId, clock: &mut VectorClock) {
        if let Some(l) = self.shard(sync).lock().get(&sync) {
            l.clock.join_into(clock);
        }
    }

    /// `L_sync := L_sync ⊔ clock`.
    #[inline]
    pub(crate) fn release(&self, sync: SyncId, clock: &VectorClock) {
        self.shard(sync)
            .lock()
            .entry(sync)
            .or_default()
            .clock
            .absorb(clock);
    }

    /// Runs `f` on the object `sync` (created empty if new) under its shard's lock.
    #[inline]
    pub(crate) fn with<R>(&self, sync: SyncId, f: impl FnOnce(&mut SyncObject) -> R) -> R {
        f(self.shard(sync).lock().entry(sync).or_default())
    }

    /// Runs `f` under the lock of `sync`'s shard, creating no object.
    pub(crate) fn with_shard_of<R>(&self, sync: SyncId, f: impl FnOnce() -> R) -> R {
        let _shard = self.shard(sync).lock();
        f()
    }

    /// Total clock entries held (memory accounting).
    pub(crate) fn clock_entries(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.0.lock().values().map(|o| o.clock.len()).sum::<usize>())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_then_acquire_transfers_and_objects_are_separate() {
        let objects = SyncObjects::default();
        let mut released = VectorClock::new();
        released.set(3, 7);
        objects.release(SyncId::Addr(8), &released);
        let mut c = VectorClock::new();
        objects.acquire_into(SyncId::Lock(8), &mut c);
        assert_eq!(c.get(3), 0, "Lock(8) is another object than Addr(8)");
        objects.acquire_into(SyncId::Addr(8), &mut c);
        assert_eq!(c.get(3), 7);
        let mut other = VectorClock::new();
        other.set(1, 2);
        objects.release(SyncId::Addr(8), &other);
        let mut d = VectorClock::new();
        objects.acquire_into(SyncId::Addr(8), &mut d);
        assert_eq!((d.get(1), d.get(3)), (2, 7), "releases accumulate");
        assert_eq!(objects.clock_entries(), 4);
    }
}
