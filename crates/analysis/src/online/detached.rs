//! Detached granules: the cells of a granule that holds an atomic word, and the sync
//! clocks of its atomic words, kept outside their chunk under a lock of their own.
//!
//! Why: an atomic needs its word's cells and its word's clock. In the chunk, the cells
//! sit under the chunk lock, which covers 64 KiB and is taken by every thread's plain
//! accesses there (the data a lock guards, the allocator's blocks next to its lock
//! word), so atomics queued behind whole batches; the clock sits in a hashed shard of
//! sync objects, one more lock and a map lookup on lines other words' atomics write too.
//! Here both are under one lock, and each thread keeps the records of the words it used
//! lately (`threads::WordCache`), so a repeated atomic takes its thread's lock and the
//! record's, nothing else (`cargo bench -p wasmgrind-bench`'s bench_alloc and
//! bench_atomics).
//!
//! Invariants:
//! - A granule is detached at most once and for good, by the first atomic on a word in
//!   it (under its object's shard lock and its chunk's lock): its cells move here and its
//!   chunk slot holds a marker pointing here ([`Cell::detached_marker`]).
//! - A word's object is *attached* to the record by the first atomic on that word after
//!   the granule is detached, under the shard lock: its clock moves here
//!   (`SyncObject::attach`) and from then on every acquire and release on the object
//!   uses the clock here, under this lock.
//! - Lock order: shard → chunk → detached granule. Plain accesses find the record
//!   through the chunk; atomics through their object's shard or their thread's cache;
//!   acquires and releases on the object through its shard. All see the same cells and
//!   clocks under the same lock, so the detector's ordering argument is unchanged; and
//!   every atomic on an attached word holds this lock while it is performed, which is
//!   what orders the atomics on one word (the shard lock did it before the attach, and
//!   the attaching atomic holds both).
//! - Several atomic words of one granule (an `Arc`'s two counts) share its record, each
//!   with its own clock.
//! - At most [`MAX_DETACHED`] granules are detached; past that, atomics take the chunk
//!   path as plain accesses do (a program with millions of atomic words would otherwise
//!   pay a heap record for each).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use smallvec::SmallVec;
use wasmgrind_spin::{SpinMutex, SpinMutexGuard};

use super::cell::Cell;
use super::shadow::{GranuleMut, INLINE_CELLS};
use super::sync_clock::SyncClock;

/// Most granules detached in one run (176 bytes each with one word's clock, 11 MiB
/// in all).
pub(crate) const MAX_DETACHED: u64 = 1 << 16;

/// The cells of one detached granule, as a chunk would hold them, and its words' clocks.
/// Not aligned to a cache line like a chunk's slots, which would take more lines.
#[derive(Default)]
pub(crate) struct DetachedCells {
    inline: [Cell; INLINE_CELLS],
    extra: Vec<Cell>,
    /// The sync clocks of the atomic words in the granule, by byte offset in it: once
    /// a word's granule is detached its object's clock lives here (see [`SyncObject`]),
    /// so an atomic finds its clock and its cells under one lock.
    ///
    /// [`SyncObject`]: super::sync_objects::SyncObject
    words: SmallVec<[(u8, SyncClock); 1]>,
}

impl DetachedCells {
    /// The index in `words` of the word at byte `offset` of the granule (created with
    /// an empty clock).
    #[inline]
    fn word(&mut self, offset: u8) -> usize {
        match self.words.iter().position(|(o, _)| *o == offset) {
            Some(i) => i,
            None => {
                self.words.push((offset, SyncClock::default()));
                self.words.len() - 1
            }
        }
    }

    /// The clock of the word at byte `offset` of the granule.
    #[inline]
    pub(crate) fn word_clock(&mut self, offset: u8) -> &mut SyncClock {
        let i = self.word(offset);
        &mut self.words[i].1
    }

    /// The cells and the clock of the word at `offset`, both borrowed at once.
    #[inline]
    pub(crate) fn granule_and_clock(&mut self, offset: u8) -> (GranuleMut<'_>, &mut SyncClock) {
        let i = self.word(offset);
        (
            GranuleMut::detached(&mut self.inline, &mut self.extra),
            &mut self.words[i].1,
        )
    }

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
        Detached(SpinMutex::new(DetachedCells {
            inline,
            extra,
            words: SmallVec::new(),
        }))
    }

    /// Locks the cells.
    #[inline]
    pub(crate) fn lock(&self) -> SpinMutexGuard<'_, DetachedCells> {
        self.0.lock()
    }

    /// Whether someone holds the lock.
    #[cfg(test)]
    pub(crate) fn is_locked(&self) -> bool {
        self.0.is_locked()
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
    fn a_record_with_one_word_clock_takes_three_cache_lines() {
        // With the reference counts in front (Arc), 176 bytes in all.
        assert_eq!(std::mem::size_of::<Detached>(), 160);
    }

    #[test]
    fn the_budget_bounds_detached_granules() {
        let budget = DetachBudget::default();
        assert!((0..MAX_DETACHED).all(|_| budget.take()));
        assert!(!budget.take());
        assert_eq!(budget.used(), MAX_DETACHED);
    }
}
