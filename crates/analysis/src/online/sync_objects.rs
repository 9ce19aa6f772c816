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
//! atomics per second in `cargo bench -p wasmgrind-analysis --bench online`). An atomic
//! word's object hands its clock to the word's detached granule (`detached`) on the
//! word's first atomic; the shard then only leads there, and repeated atomics bypass it.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use crate::clock::VectorClock;
use wasmgrind_spin::SpinMutex;

use super::detached::DetachedRef;
use super::granule::GRANULE_SHIFT;
use super::sync_clock::SyncClock;
use super::sync_id::SyncId;

/// Number of shards (a power of two).
const SHARDS: usize = 64;

/// One synchronization object: where its clock (everything released onto it so far)
/// is.
pub(crate) enum SyncObject {
    /// Here.
    Own(SyncClock),
    /// An atomic word's object once an atomic attached it to the word's detached
    /// granule (see `detached`): the clock is the record's for the word at `offset`, so
    /// an atomic finds it with the word's cells.
    Attached { record: DetachedRef, offset: u8 },
}

impl Default for SyncObject {
    fn default() -> Self {
        SyncObject::Own(SyncClock::default())
    }
}

impl SyncObject {
    /// The detached granule the object is attached to, if it is.
    #[inline]
    pub(crate) fn record(&self) -> Option<&DetachedRef> {
        match self {
            SyncObject::Attached { record, .. } => Some(record),
            SyncObject::Own(_) => None,
        }
    }

    /// Runs `f` on the object's clock: its own, or once attached, the one in the
    /// record, locked meanwhile (lock order shard → detached granule).
    #[inline]
    pub(crate) fn with_clock<R>(&mut self, f: impl FnOnce(&mut SyncClock) -> R) -> R {
        match self {
            SyncObject::Own(clock) => f(clock),
            SyncObject::Attached { record, offset } => f(record.lock().word_clock(*offset)),
        }
    }

    /// Attaches the object of the word at `addr` to its detached granule `record`,
    /// moving its clock there.
    pub(crate) fn attach(&mut self, addr: u64, record: DetachedRef) {
        let offset = word_offset(addr);
        if let SyncObject::Own(clock) = self {
            record.lock().word_clock(offset).absorb_taken(clock);
        }
        *self = SyncObject::Attached { record, offset };
    }
}

/// The byte offset of `addr` in its granule, which keys its word's clock in a detached
/// granule.
#[inline]
pub(crate) fn word_offset(addr: u64) -> u8 {
    (addr & ((1 << GRANULE_SHIFT) - 1)) as u8
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
        if let Some(l) = self.shard(sync).lock().get_mut(&sync) {
            l.with_clock(|c| c.join_into(clock));
        }
    }

    /// `L_sync := L_sync ⊔ clock`.
    #[inline]
    pub(crate) fn release(&self, sync: SyncId, clock: &VectorClock) {
        self.shard(sync)
            .lock()
            .entry(sync)
            .or_default()
            .with_clock(|c| c.absorb(clock));
    }

    /// Runs `f` on the object `sync` (created empty if new) under its shard's lock.
    #[inline]
    pub(crate) fn with<R>(&self, sync: SyncId, f: impl FnOnce(&mut SyncObject) -> R) -> R {
        f(self.shard(sync).lock().entry(sync).or_default())
    }

    /// Runs `f` under the lock that orders the atomics on `sync`'s word (its detached
    /// granule's once attached, else its shard's), creating no object.
    pub(crate) fn serialized<R>(&self, sync: SyncId, f: impl FnOnce() -> R) -> R {
        let shard = self.shard(sync).lock();
        match shard.get(&sync).and_then(SyncObject::record) {
            Some(record) => {
                let _word = record.lock();
                f()
            }
            None => f(),
        }
    }

    /// Total clock entries held (memory accounting).
    pub(crate) fn clock_entries(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let mut shard = s.0.lock();
                shard
                    .values_mut()
                    .map(|o| o.with_clock(|c| c.len()))
                    .sum::<usize>()
            })
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

    #[test]
    fn an_attached_word_keeps_its_clock_and_its_order_in_the_record() {
        let objects = SyncObjects::default();
        let (w, other) = (SyncId::Addr(0x44), SyncId::Addr(0x40));
        let mut released = VectorClock::new();
        released.set(2, 5);
        objects.release(w, &released);
        assert!(objects.serialized(w, || objects.shard(w).is_locked()));
        let record = DetachedRef::default();
        objects.with(w, |o| o.attach(0x44, record.clone()));
        objects.with(other, |o| o.attach(0x40, record.clone()));
        // The clock moved, under the word's offset: the other word's is its own.
        assert_eq!(record.lock().word_clock(4).len(), 3);
        let mut c = VectorClock::new();
        objects.acquire_into(other, &mut c);
        assert_eq!(c.get(2), 0);
        objects.acquire_into(w, &mut c);
        assert_eq!(c.get(2), 5);
        // Releases go there too, and the record's lock now orders the word's atomics.
        released.set(3, 1);
        objects.release(w, &released);
        assert_eq!(record.lock().word_clock(4).len(), 4);
        assert!(objects.serialized(w, || record.is_locked()));
        assert_eq!(objects.clock_entries(), 4);
    }
}
