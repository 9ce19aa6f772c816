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

use wasmgrind_spin::{SpinMutex, SpinMutexGuard};

use super::cell::Cell;
use super::shadow::{GranuleMut, INLINE_CELLS};
use super::sync_clock::SyncClock;

/// Most granules detached in one run (256 bytes each with the reference counts, 16 MiB
/// in all).
pub(crate) const MAX_DETACHED: u64 = 1 << 16;

/// The cells of one detached granule, as a chunk would hold them, and its words' clocks.
///
/// Layout (`repr(C)`, and [`Detached`] starts a cache line): the lock, the first word's
/// clock and offset share the record's first line, its inline cells fill the second,
/// the rarely used rest follows. An atomic on a contended word touches those two lines
/// only; each is a transfer from the core that used the word last.
#[derive(Default)]
#[repr(C)]
pub(crate) struct DetachedCells {
    /// The sync clock of the first atomic word of the granule to be attached (most
    /// granules hold one): once a word's granule is detached its object's clock lives
    /// here (see [`SyncObject`]), so an atomic finds its clock and its cells under one
    /// lock.
    ///
    /// [`SyncObject`]: super::sync_objects::SyncObject
    first: SyncClock,
    /// The byte offset in the granule of the word `first` belongs to.
    first_offset: Option<u8>,
    inline: [Cell; INLINE_CELLS],
    extra: Vec<Cell>,
    /// The clocks of the granule's other atomic words (an `Arc`'s second count), by
    /// offset.
    more: Vec<(u8, SyncClock)>,
}

impl DetachedCells {
    /// The clock of the word at byte `offset` of the granule (created empty).
    #[inline]
    pub(crate) fn word_clock(&mut self, offset: u8) -> &mut SyncClock {
        self.granule_and_clock(offset).1
    }

    /// The cells and the clock of the word at `offset`, both borrowed at once.
    #[inline]
    pub(crate) fn granule_and_clock(&mut self, offset: u8) -> (GranuleMut<'_>, &mut SyncClock) {
        // Split borrows: the clock is one of `first` / `more`, the cells the rest.
        let DetachedCells {
            first,
            first_offset,
            inline,
            extra,
            more,
        } = self;
        let clock = match *first_offset {
            Some(o) if o == offset => first,
            None => {
                *first_offset = Some(offset);
                first
            }
            Some(_) => {
                let i = match more.iter().position(|(o, _)| *o == offset) {
                    Some(i) => i,
                    None => {
                        more.push((offset, SyncClock::default()));
                        more.len() - 1
                    }
                };
                &mut more[i].1
            }
        };
        (GranuleMut::detached(inline, extra), clock)
    }

    /// The cells, for [`check_and_store`](super::check::check_and_store).
    #[inline]
    pub(crate) fn granule(&mut self) -> GranuleMut<'_> {
        GranuleMut::detached(&mut self.inline, &mut self.extra)
    }

    /// Heap bytes of spilled cells and of the clocks of a granule's further words.
    pub(crate) fn spill_bytes(&self) -> usize {
        self.extra.capacity() * std::mem::size_of::<Cell>()
            + self.more.capacity() * std::mem::size_of::<(u8, SyncClock)>()
    }
}

/// One detached granule: its cells behind their lock, on cache lines of its own (see
/// [`DetachedCells`] for the layout).
#[derive(Default)]
#[repr(align(64))]
pub(crate) struct Detached(SpinMutex<DetachedCells>);

impl Detached {
    /// Heap bytes of one record: the `Arc`'s two reference counts, padded to the
    /// record's alignment, then the record.
    pub(crate) const RECORD_BYTES: usize = 16usize
        .next_multiple_of(std::mem::align_of::<Detached>())
        + std::mem::size_of::<Detached>();

    /// A record holding `inline` and `extra`, the cells moved out of a chunk.
    pub(crate) fn new(inline: [Cell; INLINE_CELLS], extra: Vec<Cell>) -> Self {
        Detached(SpinMutex::new(DetachedCells {
            inline,
            extra,
            ..DetachedCells::default()
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
    use crate::clock::VectorClock;

    #[test]
    fn an_atomic_touches_two_cache_lines_of_its_record() {
        use std::mem::{offset_of, size_of};
        let d = Detached::default();
        let base = &d as *const Detached as usize;
        assert_eq!(base % 64, 0, "a record starts a line");
        let cells = {
            let guard = d.lock();
            &*guard as *const DetachedCells as usize - base
        };
        // The lock (at 0), the first word's clock and its offset: the first line.
        let clock_end = cells + offset_of!(DetachedCells, first) + size_of::<SyncClock>();
        assert!(clock_end <= 64, "clock ends at {clock_end}");
        assert!(cells + offset_of!(DetachedCells, first_offset) < 64);
        // The inline cells: the second line, exactly.
        assert_eq!(cells + offset_of!(DetachedCells, inline), 64);
        assert_eq!(size_of::<[Cell; INLINE_CELLS]>(), 64);
        // With the reference counts on a line in front (Arc), 256 bytes in all.
        assert_eq!(size_of::<Detached>(), 192);
        assert_eq!(Detached::RECORD_BYTES, 256);
    }

    #[test]
    fn each_word_of_a_granule_has_its_own_clock() {
        let mut cells = DetachedCells::default();
        let mut c = VectorClock::new();
        c.set(1, 3);
        cells.word_clock(4).absorb(&c);
        c.set(1, 9);
        cells.granule_and_clock(0).1.absorb(&c);
        cells.word_clock(6);
        assert_eq!(cells.first_offset, Some(4));
        assert_eq!(cells.more.len(), 2);
        let mut out = VectorClock::new();
        cells.word_clock(4).join_into(&mut out);
        assert_eq!(out.get(1), 3);
        cells.word_clock(0).join_into(&mut out);
        assert_eq!(out.get(1), 9);
        assert_eq!(cells.word_clock(6).len(), 0);
    }

    #[test]
    fn the_budget_bounds_detached_granules() {
        let budget = DetachBudget::default();
        assert!((0..MAX_DETACHED).all(|_| budget.take()));
        assert!(!budget.take());
        assert_eq!(budget.used(), MAX_DETACHED);
    }
}
