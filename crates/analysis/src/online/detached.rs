//! Detached granules: the cells of a granule that holds an atomic word, kept outside
//! their chunk under a lock of their own.
//!
//! Why: an atomic is analyzed while its sync object's shard is locked anyway (its
//! acquire and release), and the object keeps a link to its word's detached granule, so
//! the atomic's own check-and-store never takes the chunk lock. That lock covers 64 KiB
//! and is taken by every thread's plain accesses there (the data a lock guards, the
//! allocator's blocks next to its lock word), so atomics queued behind whole batches
//! (`cargo bench -p wasmgrind-bench`'s bench_alloc and bench_atomics).
//!
//! Invariants:
//! - A granule is detached at most once and for good, by the first atomic on a word in
//!   it (under its chunk's lock): its cells move here and its chunk slot holds a
//!   marker pointing here ([`Cell::detached_marker`]). Plain accesses find the record through the chunk (lock order
//!   chunk → detached), atomics through their sync object (sync shard → detached); both
//!   see the same cells under the same lock, so the detector's ordering argument is
//!   unchanged.
//! - Several atomic words of one granule (an `Arc`'s two counts) share its record.
//! - At most [`MAX_DETACHED`] granules are detached; past that, atomics take the chunk
//!   path as plain accesses do (a program with millions of atomic words would otherwise
//!   pay a heap record for each).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use wasmgrind_spin::{SpinMutex, SpinMutexGuard};

use super::cell::Cell;
use super::shadow::{GranuleMut, INLINE_CELLS};

/// Most granules detached in one run (128 bytes each, 8 MiB in all).
pub(crate) const MAX_DETACHED: u64 = 1 << 16;

/// The cells of one detached granule, as a chunk would hold them. Not aligned to a
/// cache line like a chunk's slots: with its lock that would take three lines, this
/// way the lock and the cells take two, and the record half the memory.
#[derive(Default)]
pub(crate) struct DetachedCells {
    inline: [Cell; INLINE_CELLS],
    extra: Vec<Cell>,
}

impl DetachedCells {
    /// The cells, for [`check_and_store`](super::check::check_and_store).
    #[inline]
    pub(crate) fn granule(&mut self) -> GranuleMut<'_> {
        GranuleMut::detached(&mut self.inline, &mut self.extra)
    }

    /// Heap bytes of spilled cells.
    pub(crate) fn spill_bytes(&self) -> usize {
        self.extra.capacity() * std::mem::size_of::<Cell>()
    }
}

/// One detached granule: its cells behind their lock.
#[derive(Default)]
pub(crate) struct Detached(SpinMutex<DetachedCells>);

impl Detached {
    /// A record holding `inline` and `extra`, the cells moved out of a chunk.
    pub(crate) fn new(inline: [Cell; INLINE_CELLS], extra: Vec<Cell>) -> Self {
        Detached(SpinMutex::new(DetachedCells { inline, extra }))
    }

    /// Locks the cells.
    #[inline]
    pub(crate) fn lock(&self) -> SpinMutexGuard<'_, DetachedCells> {
        self.0.lock()
    }
}

/// How many granules may still be detached (shared by all chunks of one shadow).
#[derive(Default)]
pub(crate) struct DetachBudget {
    used: AtomicU64,
}

impl DetachBudget {
    /// Takes one unit of the budget; false once [`MAX_DETACHED`] were taken.
    pub(crate) fn take(&self) -> bool {
        // Relaxed: the count only bounds memory; no other data is published through it.
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < MAX_DETACHED).then_some(n + 1)
            })
            .is_ok()
    }

    /// Spends the whole budget.
    #[cfg(test)]
    pub(crate) fn exhaust(&self) {
        self.used.store(MAX_DETACHED, Ordering::Relaxed);
    }

    /// Granules detached so far.
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
}

/// A shared handle to a detached granule (held by its chunk and its words' sync objects).
pub(crate) type DetachedRef = Arc<Detached>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_takes_two_cache_lines() {
        // With the reference counts in front (Arc), 128 bytes in all.
        assert_eq!(std::mem::size_of::<Detached>(), 112);
    }

    #[test]
    fn the_budget_bounds_detached_granules() {
        let budget = DetachBudget::default();
        assert!((0..MAX_DETACHED).all(|_| budget.take()));
        assert!(!budget.take());
        assert_eq!(budget.used(), MAX_DETACHED);
    }
}
