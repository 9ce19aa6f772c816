//! Shadow memory: the cells of every 8-byte granule, in lazily allocated 64 KiB chunks,
//! each granule locked on its own cache line.
//!
//! Layout and its invariants:
//! - Application memory is cut into chunks of 64 KiB (8192 granules). A chunk's shadow is
//!   one array of `INLINE_CELLS` (4) cells per granule: 64 bytes, one aligned cache line
//!   ([`Line`]) per 8 application bytes, so a touched chunk costs 8× its size. The common
//!   check reads exactly one line and never hashes.
//! - A granule's lock is [`LOCK_BIT`] of its first cell's `meta` word, a bit no cell
//!   sets. Checking an access therefore costs one locked instruction on the line it reads
//!   anyway, and threads on different granules never share a lock line (a chunk-wide
//!   lock was bounced between cores on every batch of threads sharing a heap chunk).
//!   Under the lock the words are read and written with relaxed atomics, which compile
//!   to plain moves; the unlocking release store of `meta` publishes them to the next
//!   holder. ThreadSanitizer goes further and updates its 8-byte cells with no lock at
//!   all, accepting lost and torn cells; ours are 16 bytes (site and stack live in the
//!   cell), so a torn one could pair a report with the wrong code location.
//! - A thread holds one granule at a time (and, under it, maybe its chunk's spill
//!   table, a leaf lock), so no thread waits in a lock-order cycle.
//! - Chunks below 4 GiB (all of wasm32) are found through a flat, lock-free table indexed
//!   by `addr >> 16` (65536 entries, filled on first touch); higher addresses (memory64)
//!   through a locked hash map.
//! - Only when `Config::max_cells_per_granule` exceeds the inline cells does a granule
//!   spill the rest into its chunk's side table; its bit in the chunk's bitset is set
//!   exactly when the side table has an entry for it, and changes only under the
//!   granule's lock. With the default (4) nothing spills.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, MutexGuard};
use rustc_hash::FxHashMap;

use super::cell::{Cell, LOCK_BIT, META_WORD};
use super::granule::GRANULE_SHIFT;
use crate::spin_lock::Backoff;

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

/// The inline cells of one granule, as words (cell `i` is words `4i..4i + 4`, in
/// [`Cell::words`] order): one cache line, holding the granule's lock too.
#[derive(Default)]
#[repr(C, align(64))]
pub(crate) struct Line([AtomicU32; 4 * INLINE_CELLS]);

impl Line {
    /// Waits for the granule's lock and takes it; returns cell 0's `meta` as it was.
    #[inline]
    fn lock(&self) -> u32 {
        let meta = &self.0[META_WORD];
        let mut backoff = Backoff::default();
        loop {
            let before = meta.fetch_or(LOCK_BIT, Ordering::Acquire);
            if before & LOCK_BIT == 0 {
                return before;
            }
            // Wait on a plain load, not by retrying, which would steal the line.
            while meta.load(Ordering::Relaxed) & LOCK_BIT != 0 {
                backoff.snooze();
            }
        }
    }

    /// Cell `i` (the lock held; cell 0's `meta` comes from [`Line::lock`]).
    #[inline]
    fn load(&self, i: usize) -> Cell {
        let w = &self.0[4 * i..4 * i + 4];
        Cell::from_words(std::array::from_fn(|k| w[k].load(Ordering::Relaxed)))
    }

    /// Stores cell `i` (the lock held), except cell 0's `meta`, which unlocking stores.
    #[inline]
    fn store(&self, i: usize, cell: Cell) {
        for (k, word) in cell.words().into_iter().enumerate() {
            if i != 0 || k != META_WORD {
                self.0[4 * i + k].store(word, Ordering::Relaxed);
            }
        }
    }

    /// Releases the lock, making `meta` cell 0's `meta` word and publishing every store
    /// made under the lock.
    #[inline]
    fn unlock(&self, meta: u32) {
        debug_assert_eq!(meta & LOCK_BIT, 0);
        self.0[META_WORD].store(meta, Ordering::Release);
    }
}

/// Shadow of one 64 KiB chunk of application memory.
pub(crate) struct Chunk {
    /// `GRANULES_PER_CHUNK` entries.
    lines: Box<[Line]>,
    /// Bit `i` set ⇔ granule `i` of the chunk has cells in `spill`.
    spilled: Box<[AtomicU64]>,
    /// Cells past the inline ones, by granule index within the chunk.
    spill: Mutex<FxHashMap<u32, Vec<Cell>>>,
}

impl Chunk {
    /// Shadow bytes of one chunk's inline cells.
    const BYTES: usize = GRANULES_PER_CHUNK * std::mem::size_of::<Line>();

    fn new() -> Chunk {
        Chunk {
            lines: (0..GRANULES_PER_CHUNK).map(|_| Line::default()).collect(),
            spilled: (0..GRANULES_PER_CHUNK / 64)
                .map(|_| AtomicU64::new(0))
                .collect(),
            spill: Mutex::default(),
        }
    }

    /// Locks granule `index` (a global granule index inside this chunk) and reads its
    /// cells; the lock is released when the returned view is dropped.
    #[inline]
    pub(crate) fn lock(&self, index: u64) -> Granule<'_> {
        let within = (index as usize) & (GRANULES_PER_CHUNK - 1);
        let line = &self.lines[within];
        let meta = line.lock();
        let mut read: [Cell; INLINE_CELLS] = std::array::from_fn(|i| line.load(i));
        let mut first = read[0].words();
        first[META_WORD] = meta;
        read[0] = Cell::from_words(first);
        Granule {
            line,
            chunk: self,
            within: within as u32,
            inline: read,
            read,
            spill: None,
        }
    }

    /// Heap bytes held by spilled cells.
    fn spill_bytes(&self) -> usize {
        let spill = self.spill.lock();
        let cells: usize = spill.values().map(Vec::capacity).sum();
        cells * std::mem::size_of::<Cell>()
            + spill.capacity() * (std::mem::size_of::<(u32, Vec<Cell>)>() + 1)
    }
}

/// One granule's cells while its lock is held: a copy of the inline cells that is
/// written back (where changed) and unlocked on drop, and the spilled ones in place.
pub(crate) struct Granule<'a> {
    line: &'a Line,
    chunk: &'a Chunk,
    within: u32,
    /// The inline cells, to read and change.
    pub(crate) inline: [Cell; INLINE_CELLS],
    /// The inline cells as read, to write back only what changed.
    read: [Cell; INLINE_CELLS],
    /// The chunk's spill table, locked on first need.
    spill: Option<MutexGuard<'a, FxHashMap<u32, Vec<Cell>>>>,
}

impl Granule<'_> {
    /// The bit of this granule in its chunk's `spilled` set, and that set's word.
    #[inline]
    fn spilled_bit(&self) -> (&AtomicU64, u64) {
        let w = self.within as usize;
        (&self.chunk.spilled[w / 64], 1 << (w % 64))
    }

    /// The inline cells and the spilled ones (empty slice when none).
    #[inline]
    pub(crate) fn cells(&mut self) -> (&mut [Cell; INLINE_CELLS], &mut [Cell]) {
        let (word, bit) = self.spilled_bit();
        // Only this granule's holder changes its bit, so a relaxed read is exact here.
        let extra: &mut [Cell] = if word.load(Ordering::Relaxed) & bit != 0 {
            let chunk = self.chunk;
            let spill = self.spill.get_or_insert_with(|| chunk.spill.lock());
            match spill.get_mut(&self.within) {
                Some(v) => v.as_mut_slice(),
                None => &mut [],
            }
        } else {
            &mut []
        };
        (&mut self.inline, extra)
    }

    /// Number of spilled cells.
    #[cfg(test)]
    pub(crate) fn extra_len(&mut self) -> usize {
        self.cells().1.len()
    }

    /// Appends a spilled cell (the caller enforces the per-granule limit).
    pub(crate) fn push_extra(&mut self, cell: Cell) {
        let (word, bit) = self.spilled_bit();
        word.fetch_or(bit, Ordering::Relaxed);
        let chunk = self.chunk;
        let spill = self.spill.get_or_insert_with(|| chunk.spill.lock());
        spill.entry(self.within).or_default().push(cell);
    }
}

impl Drop for Granule<'_> {
    fn drop(&mut self) {
        // The leaf lock first.
        self.spill = None;
        for (i, (&now, &was)) in self.inline.iter().zip(&self.read).enumerate() {
            if now != was {
                self.line.store(i, now);
            }
        }
        self.line.unlock(self.inline[0].words()[META_WORD]);
    }
}

/// A chunk, found (allocated on first touch) and kept by reference.
pub(crate) enum ChunkRef<'a> {
    /// A chunk of the flat table (never freed while the shadow lives).
    Near(&'a Chunk),
    /// A chunk of the far map, kept alive by the reference count.
    Far(Arc<Chunk>),
}

impl std::ops::Deref for ChunkRef<'_> {
    type Target = Chunk;
    fn deref(&self) -> &Chunk {
        match self {
            ChunkRef::Near(c) => c,
            ChunkRef::Far(c) => c,
        }
    }
}

/// The chunk a thread used last, so a run of accesses within one chunk finds it once.
pub(crate) struct Chunks<'a> {
    shadow: &'a Shadow,
    last: Option<(u64, ChunkRef<'a>)>,
}

impl<'a> Chunks<'a> {
    /// Knows no chunk yet.
    pub(crate) fn new(shadow: &'a Shadow) -> Self {
        Chunks { shadow, last: None }
    }

    /// Locks granule `g` (see [`Chunk::lock`]).
    #[inline]
    pub(crate) fn lock(&mut self, g: u64) -> Granule<'_> {
        let index = chunk_of(g);
        if self.last.as_ref().is_some_and(|(i, _)| *i != index) {
            self.last = None;
        }
        let shadow = self.shadow;
        let (_, chunk) = self
            .last
            .get_or_insert_with(|| (index, shadow.chunk(index)));
        chunk.lock(g)
    }
}

/// Index of the chunk holding granule `granule`.
#[inline]
pub(crate) fn chunk_of(granule: u64) -> u64 {
    granule >> CHUNK_GRANULE_SHIFT
}

/// All shadow memory (`Sync`: every granule has its own lock).
pub(crate) struct Shadow {
    near: Box<[OnceLock<Box<Chunk>>]>,
    far: Mutex<FxHashMap<u64, Arc<Chunk>>>,
    chunks: AtomicU64,
}

impl Default for Shadow {
    fn default() -> Self {
        Shadow {
            near: (0..NEAR_CHUNKS).map(|_| OnceLock::new()).collect(),
            far: Mutex::default(),
            chunks: AtomicU64::new(0),
        }
    }
}

impl Shadow {
    /// Chunk `index` (see [`chunk_of`]), allocated on first touch.
    #[inline]
    fn chunk(&self, index: u64) -> ChunkRef<'_> {
        if let Some(slot) = self.near.get(index as usize) {
            return ChunkRef::Near(slot.get_or_init(|| {
                self.chunks.fetch_add(1, Ordering::Relaxed);
                Box::new(Chunk::new())
            }));
        }
        ChunkRef::Far(Arc::clone(self.far.lock().entry(index).or_insert_with(
            || {
                self.chunks.fetch_add(1, Ordering::Relaxed);
                Arc::new(Chunk::new())
            },
        )))
    }

    /// Runs `f` on granule `g`, locked.
    #[cfg(test)]
    pub(crate) fn with_granule<R>(&self, g: u64, f: impl FnOnce(&mut Granule<'_>) -> R) -> R {
        f(&mut self.chunk(chunk_of(g)).lock(g))
    }

    /// Chunks allocated so far.
    pub(crate) fn chunks(&self) -> u64 {
        self.chunks.load(Ordering::Relaxed)
    }

    /// Visits every allocated chunk.
    fn for_each_chunk(&self, mut f: impl FnMut(&Chunk)) {
        for slot in self.near.iter() {
            if let Some(c) = slot.get() {
                f(c);
            }
        }
        for c in self.far.lock().values() {
            f(c);
        }
    }

    /// Granules with spilled cells.
    pub(crate) fn spilled_granules(&self) -> u64 {
        let mut n = 0;
        self.for_each_chunk(|c| n += c.spill.lock().len() as u64);
        n
    }

    /// Approximate heap bytes held by shadow memory (chunks, flat table, spill tables).
    pub(crate) fn bytes(&self) -> usize {
        let mut spill = 0;
        self.for_each_chunk(|c| spill += c.spill_bytes());
        self.chunks() as usize * (Chunk::BYTES + std::mem::size_of::<Chunk>())
            + self.near.len() * std::mem::size_of::<OnceLock<Box<Chunk>>>()
            + spill
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// True when another thread could take granule `g`'s lock right now.
    fn lockable(s: &Shadow, g: u64) -> bool {
        let chunk = s.chunk(chunk_of(g));
        let meta = &chunk.lines[(g as usize) & (GRANULES_PER_CHUNK - 1)].0[META_WORD];
        meta.load(Ordering::Relaxed) & LOCK_BIT == 0
    }

    #[test]
    fn a_view_holds_its_granule_and_only_it() {
        let s = Shadow::default();
        let mut chunks = Chunks::new(&s);
        let held = chunks.lock(5);
        assert!(!lockable(&s, 5));
        assert!(lockable(&s, 4) && lockable(&s, 6));
        drop(held);
        assert!(lockable(&s, 5));
    }

    #[test]
    fn the_lock_excludes_and_publishes_across_threads() {
        // Four threads increment a count kept in a cell's site under the granule's
        // lock; a lost update or a stale read would show in the total.
        let s = Shadow::default();
        std::thread::scope(|scope| {
            for t in 1..=4 {
                let s = &s;
                scope.spawn(move || {
                    for _ in 0..20_000 {
                        s.with_granule(3, |g| {
                            let n = g.inline[0].site();
                            g.inline[0] = Cell::new(t, 1, 0xFF, true, false, n + 1, 0);
                        });
                    }
                });
            }
        });
        assert_eq!(s.with_granule(3, |g| g.inline[0].site()), 80_000);
        assert!(lockable(&s, 3));
    }

    #[test]
    fn every_inline_cell_round_trips() {
        let s = Shadow::default();
        let cells: [Cell; INLINE_CELLS] = std::array::from_fn(|i| {
            Cell::new(
                i as u32 + 1,
                7,
                1 << i,
                i % 2 == 0,
                i == 3,
                10 + i as u32,
                20,
            )
        });
        s.with_granule(9, |g| g.inline = cells);
        assert_eq!(s.with_granule(9, |g| g.inline), cells);
        s.with_granule(9, |g| g.inline[0] = Cell::EMPTY);
        let now = s.with_granule(9, |g| g.inline);
        assert!(now[0].is_empty() && now[1..] == cells[1..]);
    }

    #[test]
    fn chunks_are_lazy_and_shared_by_neighbours() {
        let s = Shadow::default();
        assert_eq!(s.chunks(), 0);
        s.with_granule(0, |g| g.inline[0] = Cell::new(1, 1, 1, true, false, 5, 0));
        s.with_granule(GRANULES_PER_CHUNK as u64 - 1, |_| {});
        assert_eq!(s.chunks(), 1);
        assert_eq!(s.with_granule(0, |g| g.inline[0].site()), 5);
        s.with_granule(GRANULES_PER_CHUNK as u64, |_| {});
        assert_eq!(s.chunks(), 2);
        // An address beyond 4 GiB (a bulk range running past wasm32) goes through the far map.
        let far = (1u64 << 40) >> GRANULE_SHIFT;
        s.with_granule(far, |g| {
            g.inline[1] = Cell::new(2, 3, 0x80, false, false, 9, 0)
        });
        let mut chunks = Chunks::new(&s);
        assert_eq!(chunks.lock(far).inline[1].site(), 9);
        assert_eq!(chunks.lock(0).inline[0].site(), 5);
        assert_eq!(s.chunks(), 3);
        assert!(s.bytes() >= 3 * Chunk::BYTES);
    }

    #[test]
    fn spill_is_per_granule() {
        let s = Shadow::default();
        let c = Cell::new(1, 1, 1, false, false, 7, 0);
        s.with_granule(10, |g| {
            assert!(g.cells().1.is_empty());
            g.push_extra(c);
            g.push_extra(c);
            assert_eq!(g.extra_len(), 2);
        });
        s.with_granule(10, |g| assert_eq!(g.cells().1, &[c, c]));
        s.with_granule(11, |g| assert!(g.cells().1.is_empty()));
        assert_eq!(s.spilled_granules(), 1);
    }

    #[test]
    fn a_granule_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Line>(), 64);
        assert_eq!(std::mem::align_of::<Line>(), 64);
        let ratio = Chunk::BYTES as f64 / (1u64 << CHUNK_SHIFT) as f64;
        assert_eq!(ratio, 8.0, "shadow ratio");
    }
}
