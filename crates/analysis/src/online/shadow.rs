//! Shadow memory: the cells of every 8-byte granule, in lazily allocated 64 KiB chunks
//! that threads lock independently.
//!
//! Layout and its invariants:
//! - Application memory is cut into chunks of 64 KiB (8192 granules). A chunk's shadow is
//!   one array of `INLINE_CELLS` (4) cells per granule: 64 bytes, one aligned cache line
//!   per 8 application bytes, so a touched chunk costs 8× its size. The common check reads
//!   exactly one line and never hashes.
//! - Each chunk has its own lock. A thread analyzing a batch keeps the lock of the chunk it
//!   is in until an access leaves that chunk, so threads working on different memory never
//!   wait for each other, and a run of accesses within one chunk pays for one lock. The
//!   lock is a [`SpinMutex`]: most batches between two atomics are a few accesses long, so
//!   the lock and unlock are a large part of their cost, and its unlock is a plain store
//!   where parking_lot's is a second locked instruction (`cargo bench -p
//!   wasmgrind-analysis --bench online`: atomics on shared words 37 → 42M/s from one OS
//!   thread, 31 → 44M/s from two; the private walks unchanged).
//!   A thread holds at most two chunk locks, the second only ever taken with a try-lock
//!   ([`HeldChunks`]), so no thread waits while holding a chunk (no deadlock).
//! - Chunks below 4 GiB (all of wasm32) are found through a flat, lock-free table indexed
//!   by `addr >> 16` (65536 entries, filled on first touch); higher addresses (memory64)
//!   through a locked hash map.
//! - Only when `Config::max_cells_per_granule` exceeds the inline cells does a granule
//!   spill the rest into its chunk's side table; its bit in the chunk's bitset is set
//!   exactly when the side table has an entry for it. With the default (4) nothing spills.
//! - A granule holding an atomic word is *detached* ([`super::detached`]): its first
//!   inline slot holds a marker cell with the address of its record, which the chunk
//!   owns, and its cells live there (never in its slots or the side table).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;

use wasmgrind_spin::{ArcSpinMutexGuard, SpinMutex, SpinMutexGuard};

use super::cell::Cell;
use super::detached::{DetachBudget, Detached, DetachedRef};
use super::granule::GRANULE_SHIFT;

/// Cells stored inline per granule.
pub(crate) const INLINE_CELLS: usize = 4;

/// log2 of the application bytes one chunk covers.
const CHUNK_SHIFT: u32 = 16;

/// log2 of the granules per chunk.
pub(crate) const CHUNK_GRANULE_SHIFT: u32 = CHUNK_SHIFT - GRANULE_SHIFT;

/// Granules per chunk.
const GRANULES_PER_CHUNK: usize = 1 << CHUNK_GRANULE_SHIFT;

/// Chunks covering the 4 GiB wasm32 space, reached through the flat table.
const NEAR_CHUNKS: usize = 1 << (32 - CHUNK_SHIFT);

/// The inline cells of one granule: one cache line.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
pub(crate) struct Slots(pub(crate) [Cell; INLINE_CELLS]);

/// Shadow of one 64 KiB chunk of application memory.
pub(crate) struct Chunk {
    /// `GRANULES_PER_CHUNK` entries.
    slots: Box<[Slots]>,
    /// Bit `i` set ⇔ granule `i` of the chunk has cells in `spill`.
    spilled: Box<[u64]>,
    /// Cells past the inline ones, by granule index within the chunk.
    spill: FxHashMap<u32, Vec<Cell>>,
    /// The records of the chunk's detached granules, whose markers point to them
    /// (owned here, never removed: a marker's record lives as long as the chunk).
    detached: Vec<DetachedRef>,
}

/// Where the cells of one granule are.
pub(crate) enum GranuleRef<'a> {
    /// In its chunk, which the caller has locked.
    Here(GranuleMut<'a>),
    /// In a detached record, to be locked after the chunk (see [`super::detached`]).
    Detached(&'a Detached),
}

#[cfg(test)]
impl<'a> GranuleRef<'a> {
    /// The cells of a granule that is not detached.
    pub(crate) fn here(self) -> GranuleMut<'a> {
        match self {
            GranuleRef::Here(g) => g,
            GranuleRef::Detached(_) => panic!("the granule is detached"),
        }
    }
}

impl Chunk {
    /// Shadow bytes of one chunk's inline cells.
    const BYTES: usize = GRANULES_PER_CHUNK * std::mem::size_of::<Slots>();

    fn new() -> Chunk {
        Chunk {
            slots: vec![Slots::default(); GRANULES_PER_CHUNK].into_boxed_slice(),
            spilled: vec![0u64; GRANULES_PER_CHUNK / 64].into_boxed_slice(),
            spill: FxHashMap::default(),
            detached: Vec::new(),
        }
    }

    /// The cells of granule `index` (a global granule index inside this chunk).
    #[inline]
    pub(crate) fn granule(&mut self, index: u64) -> GranuleRef<'_> {
        let within = (index as usize) & (GRANULES_PER_CHUNK - 1);
        let inline = &mut self.slots[within].0;
        if let Some(record) = inline[0].detached_record() {
            // SAFETY: only `detach` writes a marker, with the address of a record that
            // `self.detached` owns; records are never removed from it, so the record
            // lives as long as this chunk, which `&mut self` borrows for the returned
            // lifetime. `Detached` is `Sync`: shared references are sound.
            return GranuleRef::Detached(unsafe { &*record.cast::<Detached>() });
        }
        GranuleRef::Here(GranuleMut {
            inline,
            spill: Spill::Chunk {
                word: &mut self.spilled[within / 64],
                bit: 1 << (within % 64),
                map: &mut self.spill,
                within: within as u32,
            },
        })
    }

    /// Detaches granule `index` (see [`super::detached`]) unless it already is, in which
    /// case its record is returned; `None` once `budget` is spent.
    pub(crate) fn detach(&mut self, index: u64, budget: &DetachBudget) -> Option<DetachedRef> {
        let within = (index as usize) & (GRANULES_PER_CHUNK - 1);
        let slot = &mut self.slots[within].0;
        if let Some(record) = slot[0].detached_record() {
            let record = record.cast::<Detached>();
            // SAFETY: the marker holds `Arc::as_ptr` of a record `self.detached` owns and
            // never removes, so the allocation is live and managed by `Arc`; the count
            // added first is the one the new handle owns.
            return Some(unsafe {
                Arc::increment_strong_count(record);
                Arc::from_raw(record)
            });
        }
        if !budget.take() {
            return None;
        }
        let inline = std::mem::replace(slot, [Cell::EMPTY; INLINE_CELLS]);
        // The side table holds an entry exactly when the bit is set: take both.
        self.spilled[within / 64] &= !(1 << (within % 64));
        let extra = self.spill.remove(&(within as u32)).unwrap_or_default();
        let d = DetachedRef::new(Detached::new(inline, extra));
        self.slots[within].0[0] = Cell::detached_marker(Arc::as_ptr(&d).cast());
        self.detached.push(d.clone());
        Some(d)
    }

    /// Heap bytes held by spilled cells.
    fn spill_bytes(&self) -> usize {
        let cells: usize = self.spill.values().map(Vec::capacity).sum();
        let detached: usize = self
            .detached
            .iter()
            .map(|d| d.lock().spill_bytes() + Detached::RECORD_BYTES)
            .sum();
        cells * std::mem::size_of::<Cell>()
            + self.spill.capacity() * (std::mem::size_of::<(u32, Vec<Cell>)>() + 1)
            + detached
            + self.detached.capacity() * std::mem::size_of::<DetachedRef>()
    }
}

/// A chunk behind its lock.
type LockedChunk = SpinMutex<Chunk>;

/// All shadow memory (`Sync`: every chunk has its own lock).
pub(crate) struct Shadow {
    near: Box<[OnceLock<Box<LockedChunk>>]>,
    far: Mutex<FxHashMap<u64, Arc<LockedChunk>>>,
    chunks: AtomicU64,
    /// Granules that may still be detached.
    pub(crate) detach_budget: DetachBudget,
}

impl Default for Shadow {
    fn default() -> Self {
        Shadow {
            near: (0..NEAR_CHUNKS).map(|_| OnceLock::new()).collect(),
            far: Mutex::default(),
            chunks: AtomicU64::new(0),
            detach_budget: DetachBudget::default(),
        }
    }
}

/// A locked chunk.
pub(crate) enum ChunkGuard<'a> {
    /// A chunk of the flat table (never freed while the shadow lives).
    Near(SpinMutexGuard<'a, Chunk>),
    /// A chunk of the far map, kept alive by the guard's reference count.
    Far(ArcSpinMutexGuard<Chunk>),
}

impl std::ops::Deref for ChunkGuard<'_> {
    type Target = Chunk;
    fn deref(&self) -> &Chunk {
        match self {
            ChunkGuard::Near(g) => g,
            ChunkGuard::Far(g) => g,
        }
    }
}

impl std::ops::DerefMut for ChunkGuard<'_> {
    fn deref_mut(&mut self) -> &mut Chunk {
        match self {
            ChunkGuard::Near(g) => g,
            ChunkGuard::Far(g) => g,
        }
    }
}

/// A chunk, not locked yet.
enum ChunkRef<'a> {
    Near(&'a LockedChunk),
    Far(Arc<LockedChunk>),
}

/// The chunk locks one thread holds while it analyzes a batch: up to two, so a batch
/// alternating between two chunks (its stack and the heap, say) does not lock and
/// unlock on every access.
///
/// Deadlock-free although a thread may hold two chunk locks: the second is only ever
/// *tried*; when that fails, every held lock is released before the thread waits for
/// the one it wants, so nobody waits while holding a chunk.
pub(crate) struct HeldChunks<'a> {
    shadow: &'a Shadow,
    /// Most recently used first.
    held: [Option<(u64, ChunkGuard<'a>)>; 2],
}

impl<'a> HeldChunks<'a> {
    /// Holds nothing yet.
    pub(crate) fn new(shadow: &'a Shadow) -> Self {
        HeldChunks {
            shadow,
            held: [None, None],
        }
    }

    /// Chunk `index`, locked (see [`chunk_of`]).
    #[inline]
    pub(crate) fn chunk(&mut self, index: u64) -> &mut Chunk {
        let is = |slot: &Option<(u64, ChunkGuard<'a>)>| matches!(slot, Some((i, _)) if *i == index);
        if !is(&self.held[0]) {
            if is(&self.held[1]) {
                self.held.swap(0, 1);
            } else {
                let guard = match self.held[0] {
                    None => self.shadow.lock_chunk(index),
                    Some(_) => match self.shadow.try_lock_chunk(index) {
                        Some(guard) => guard,
                        None => {
                            self.held = [None, None];
                            self.shadow.lock_chunk(index)
                        }
                    },
                };
                // The least recently used lock goes.
                self.held[1] = self.held[0].take();
                self.held[0] = Some((index, guard));
            }
        }
        match &mut self.held[0] {
            Some((_, guard)) => guard,
            None => unreachable!("slot 0 was just filled"),
        }
    }
}

/// Mutable view of one granule's cells.
pub(crate) struct GranuleMut<'a> {
    /// The inline cells.
    pub(crate) inline: &'a mut [Cell; INLINE_CELLS],
    spill: Spill<'a>,
}

/// Where a granule's cells past the inline ones go.
enum Spill<'a> {
    /// Its chunk's side table, flagged in the chunk's bitset.
    Chunk {
        word: &'a mut u64,
        bit: u64,
        map: &'a mut FxHashMap<u32, Vec<Cell>>,
        within: u32,
    },
    /// A detached granule's own list.
    Own(&'a mut Vec<Cell>),
}

impl<'a> GranuleMut<'a> {
    /// The view of a detached granule's cells.
    pub(crate) fn detached(inline: &'a mut [Cell; INLINE_CELLS], extra: &'a mut Vec<Cell>) -> Self {
        GranuleMut {
            inline,
            spill: Spill::Own(extra),
        }
    }

    /// [`Self::cells`] of a granule of at most `max_cells` cells: when those fit inline,
    /// nothing can have spilled, and the spill is not looked up (a cache line fewer on
    /// the hot path).
    #[inline]
    pub(crate) fn cells_up_to(
        &mut self,
        max_cells: usize,
    ) -> (&mut [Cell; INLINE_CELLS], &mut [Cell]) {
        if max_cells <= INLINE_CELLS {
            (self.inline, &mut [])
        } else {
            self.cells()
        }
    }

    /// The inline cells and the spilled ones (empty slice when none).
    #[inline]
    pub(crate) fn cells(&mut self) -> (&mut [Cell; INLINE_CELLS], &mut [Cell]) {
        let extra: &mut [Cell] = match &mut self.spill {
            Spill::Chunk {
                word,
                bit,
                map,
                within,
            } if **word & *bit != 0 => match map.get_mut(within) {
                Some(v) => v.as_mut_slice(),
                None => &mut [],
            },
            Spill::Chunk { .. } => &mut [],
            Spill::Own(v) => v.as_mut_slice(),
        };
        (self.inline, extra)
    }

    /// Number of spilled cells.
    #[cfg(test)]
    pub(crate) fn extra_len(&mut self) -> usize {
        self.cells().1.len()
    }

    /// Appends a spilled cell (the caller enforces the per-granule limit).
    pub(crate) fn push_extra(&mut self, cell: Cell) {
        match &mut self.spill {
            Spill::Chunk {
                word,
                bit,
                map,
                within,
            } => {
                **word |= *bit;
                map.entry(*within).or_default().push(cell);
            }
            Spill::Own(v) => v.push(cell),
        }
    }
}

/// Index of the chunk holding granule `granule`.
#[inline]
pub(crate) fn chunk_of(granule: u64) -> u64 {
    granule >> CHUNK_GRANULE_SHIFT
}

impl Shadow {
    /// Chunk `index` (see [`chunk_of`]), allocated on first touch.
    #[inline]
    fn chunk(&self, index: u64) -> ChunkRef<'_> {
        if let Some(slot) = self.near.get(index as usize) {
            return ChunkRef::Near(slot.get_or_init(|| {
                self.chunks.fetch_add(1, Ordering::Relaxed);
                Box::new(SpinMutex::new(Chunk::new()))
            }));
        }
        ChunkRef::Far(Arc::clone(self.far.lock().entry(index).or_insert_with(
            || {
                self.chunks.fetch_add(1, Ordering::Relaxed);
                Arc::new(SpinMutex::new(Chunk::new()))
            },
        )))
    }

    /// Locks chunk `index` (see [`chunk_of`]), allocating it on first touch.
    #[inline]
    pub(crate) fn lock_chunk(&self, index: u64) -> ChunkGuard<'_> {
        match self.chunk(index) {
            ChunkRef::Near(c) => ChunkGuard::Near(c.lock()),
            ChunkRef::Far(c) => ChunkGuard::Far(c.lock_arc()),
        }
    }

    /// Locks chunk `index` unless another thread holds it (never waits).
    #[inline]
    fn try_lock_chunk(&self, index: u64) -> Option<ChunkGuard<'_>> {
        match self.chunk(index) {
            ChunkRef::Near(c) => c.try_lock().map(ChunkGuard::Near),
            ChunkRef::Far(c) => c.try_lock_arc().map(ChunkGuard::Far),
        }
    }

    /// Chunks allocated so far.
    pub(crate) fn chunks(&self) -> u64 {
        self.chunks.load(Ordering::Relaxed)
    }

    /// Visits every allocated chunk (locking each in turn).
    fn for_each_chunk(&self, mut f: impl FnMut(&Chunk)) {
        for slot in self.near.iter() {
            if let Some(c) = slot.get() {
                f(&c.lock());
            }
        }
        for c in self.far.lock().values() {
            f(&c.lock());
        }
    }

    /// Granules with spilled cells.
    pub(crate) fn spilled_granules(&self) -> u64 {
        let mut n = 0;
        self.for_each_chunk(|c| n += c.spill.len() as u64);
        n
    }

    /// Granules detached so far (see [`super::detached`]).
    pub(crate) fn detached_granules(&self) -> u64 {
        self.detach_budget.used()
    }

    /// Approximate heap bytes held by shadow memory (chunks, flat table, spill tables,
    /// detached granules).
    pub(crate) fn bytes(&self) -> usize {
        let mut spill = 0;
        self.for_each_chunk(|c| spill += c.spill_bytes());
        self.chunks() as usize * (Chunk::BYTES + std::mem::size_of::<Chunk>())
            + self.near.len() * std::mem::size_of::<OnceLock<Box<LockedChunk>>>()
            + spill
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granule_of(shadow: &Shadow, g: u64, f: impl FnOnce(&mut GranuleMut<'_>)) {
        f(&mut shadow.lock_chunk(chunk_of(g)).granule(g).here());
    }

    #[test]
    fn held_chunks_keep_the_two_most_recent_locks() {
        let s = Shadow::default();
        let mut held = HeldChunks::new(&s);
        held.chunk(1);
        held.chunk(2);
        held.chunk(1);
        assert!(s.try_lock_chunk(1).is_none() && s.try_lock_chunk(2).is_none());
        held.chunk(3);
        assert!(
            s.try_lock_chunk(2).is_some(),
            "the least recently used went"
        );
        assert!(s.try_lock_chunk(1).is_none() && s.try_lock_chunk(3).is_none());
        drop(held);
        assert!(s.try_lock_chunk(1).is_some() && s.try_lock_chunk(3).is_some());
    }

    #[test]
    fn a_thread_waiting_for_a_chunk_holds_none() {
        let s = Shadow::default();
        let (locked, released) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
        std::thread::scope(|scope| {
            let other = scope.spawn(|| {
                let b = s.lock_chunk(2);
                locked.wait();
                // The main thread holds chunk 1 and now wants 2: it must let 1 go
                // before it waits, or this would never get it.
                let got_1 = (0..5000).any(|_| {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    s.try_lock_chunk(1).is_some()
                });
                drop(b);
                released.wait();
                got_1
            });
            let mut held = HeldChunks::new(&s);
            held.chunk(1);
            locked.wait();
            held.chunk(2);
            released.wait();
            assert!(other.join().unwrap(), "chunk 1 stayed locked while waiting");
        });
    }

    #[test]
    fn chunks_are_lazy_and_shared_by_neighbours() {
        let s = Shadow::default();
        assert_eq!(s.chunks(), 0);
        granule_of(&s, 0, |g| {
            g.inline[0] = Cell::new(1, 1, 1, true, false, 5, 0)
        });
        granule_of(&s, GRANULES_PER_CHUNK as u64 - 1, |_| {});
        assert_eq!(s.chunks(), 1);
        granule_of(&s, 0, |g| assert_eq!(g.inline[0].site(), 5));
        granule_of(&s, GRANULES_PER_CHUNK as u64, |_| {});
        assert_eq!(s.chunks(), 2);
        // An address beyond 4 GiB (a bulk range running past wasm32) goes through the far map.
        let far = (1u64 << 40) >> GRANULE_SHIFT;
        granule_of(&s, far, |g| {
            g.inline[1] = Cell::new(2, 3, 0x80, false, false, 9, 0)
        });
        granule_of(&s, far, |g| assert_eq!(g.inline[1].site(), 9));
        assert_eq!(s.chunks(), 3);
        assert!(s.bytes() >= 3 * Chunk::BYTES);
    }

    #[test]
    fn spill_is_per_granule() {
        let s = Shadow::default();
        let c = Cell::new(1, 1, 1, false, false, 7, 0);
        granule_of(&s, 10, |g| {
            assert!(g.cells().1.is_empty());
            g.push_extra(c);
            g.push_extra(c);
            assert_eq!(g.extra_len(), 2);
        });
        granule_of(&s, 10, |g| assert_eq!(g.cells().1, &[c, c]));
        granule_of(&s, 11, |g| assert!(g.cells().1.is_empty()));
        assert_eq!(s.spilled_granules(), 1);
    }

    #[test]
    fn detaching_moves_every_cell_and_happens_once() {
        let s = Shadow::default();
        let (a, b, c) = (
            Cell::new(1, 1, 0x0F, true, false, 1, 0),
            Cell::new(2, 1, 0xF0, false, false, 2, 0),
            Cell::new(3, 1, 0xFF, false, false, 3, 0),
        );
        granule_of(&s, 10, |g| {
            g.inline[0] = a;
            g.inline[3] = b;
            g.push_extra(c);
        });
        let mut chunk = s.lock_chunk(0);
        let d = chunk.detach(10, &s.detach_budget).expect("budget left");
        let again = chunk
            .detach(10, &s.detach_budget)
            .expect("already detached");
        assert!(Arc::ptr_eq(&d, &again), "one record per granule");
        assert_eq!(
            Arc::strong_count(&d),
            3,
            "the chunk's handle and the two returned"
        );
        drop(again);
        assert_eq!(Arc::strong_count(&d), 2);
        assert_eq!(s.detached_granules(), 1);
        assert!(chunk.spill.is_empty(), "spilled cells moved too");
        match chunk.granule(10) {
            GranuleRef::Detached(found) => assert!(std::ptr::eq(found, &*d)),
            GranuleRef::Here(_) => panic!("the chunk still hands out the granule"),
        }
        let mut cells = d.lock();
        let mut g = cells.granule();
        let (inline, extra) = g.cells();
        assert_eq!((inline[0], inline[3], extra.to_vec()), (a, b, vec![c]));
        // Its neighbours stay in the chunk.
        assert!(matches!(chunk.granule(11), GranuleRef::Here(_)));
    }

    #[test]
    fn a_granule_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Slots>(), 64);
        assert_eq!(std::mem::align_of::<Slots>(), 64);
        let ratio = Chunk::BYTES as f64 / (1u64 << CHUNK_SHIFT) as f64;
        assert_eq!(ratio, 8.0, "shadow ratio");
    }
}
