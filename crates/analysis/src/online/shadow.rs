//! Shadow memory: the cells of every 8-byte granule, allocated lazily in 64 KiB chunks.
//!
//! Layout and its invariants:
//! - Application memory is cut into chunks of 64 KiB (8192 granules). A chunk's shadow is
//!   one array of `INLINE_CELLS` (2) cells per granule, 32 bytes per 8 application bytes,
//!   so a touched chunk costs 4× its size (plus a 1 KiB "spilled" bitset). A granule's
//!   inline cells are one aligned half cache line: the common check reads one line.
//! - Chunks below 4 GiB (all of wasm32) are found through a flat table indexed by
//!   `addr >> 16` (at most 65536 pointers, grown on demand); higher addresses (memory64)
//!   through a hash map.
//! - A granule that needs more than the inline cells (reads by several threads, several
//!   sites of one thread) spills the rest into a side table keyed by granule index; its
//!   bit in the chunk's bitset is set exactly when the side table has an entry for it.
//!   The side table holds at most `Config::max_cells_per_granule - 2` cells per granule.

use rustc_hash::FxHashMap;

use super::cell::Cell;
use super::granule::GRANULE_SHIFT;

/// Cells stored inline per granule.
pub(crate) const INLINE_CELLS: usize = 2;

/// log2 of the application bytes one chunk covers.
const CHUNK_SHIFT: u32 = 16;
/// Granules per chunk.
const GRANULES_PER_CHUNK: usize = 1 << (CHUNK_SHIFT - GRANULE_SHIFT);
/// Chunks covering the 4 GiB wasm32 space, reached through the flat table.
const NEAR_CHUNKS: u64 = 1 << (32 - CHUNK_SHIFT);

/// The inline cells of one granule.
pub(crate) type Slots = [Cell; INLINE_CELLS];

/// Shadow of one 64 KiB chunk of application memory.
struct Chunk {
    /// `GRANULES_PER_CHUNK` entries.
    slots: Box<[Slots]>,
    /// Bit `i` set ⇔ granule `i` of the chunk has cells in the spill table.
    spilled: Box<[u64]>,
}

impl Chunk {
    fn new() -> Box<Chunk> {
        Box::new(Chunk {
            slots: vec![[Cell::EMPTY; INLINE_CELLS]; GRANULES_PER_CHUNK].into_boxed_slice(),
            spilled: vec![0u64; GRANULES_PER_CHUNK / 64].into_boxed_slice(),
        })
    }

    /// Shadow bytes one chunk occupies.
    const BYTES: usize = GRANULES_PER_CHUNK * std::mem::size_of::<Slots>() + GRANULES_PER_CHUNK / 8;
}

/// All shadow state of the application memory.
#[derive(Default)]
pub(crate) struct Shadow {
    near: Vec<Option<Box<Chunk>>>,
    far: FxHashMap<u64, Box<Chunk>>,
    spill: FxHashMap<u64, Vec<Cell>>,
    chunks: u64,
}

/// Mutable view of one granule's cells.
pub(crate) struct GranuleMut<'a> {
    /// The inline cells.
    pub(crate) inline: &'a mut Slots,
    spilled_word: &'a mut u64,
    bit: u64,
    spill: &'a mut FxHashMap<u64, Vec<Cell>>,
    index: u64,
}

impl GranuleMut<'_> {
    /// The inline cells and the spilled ones (empty slice when none).
    #[inline]
    pub(crate) fn cells(&mut self) -> (&mut Slots, &mut [Cell]) {
        let extra: &mut [Cell] = if *self.spilled_word & self.bit != 0 {
            match self.spill.get_mut(&self.index) {
                Some(v) => v.as_mut_slice(),
                None => &mut [],
            }
        } else {
            &mut []
        };
        (self.inline, extra)
    }

    /// Number of spilled cells.
    #[cfg(test)]
    pub(crate) fn extra_len(&self) -> usize {
        if *self.spilled_word & self.bit != 0 {
            self.spill.get(&self.index).map_or(0, Vec::len)
        } else {
            0
        }
    }

    /// Appends a spilled cell (the caller enforces the per-granule limit).
    pub(crate) fn push_extra(&mut self, cell: Cell) {
        *self.spilled_word |= self.bit;
        self.spill.entry(self.index).or_default().push(cell);
    }
}

impl Shadow {
    /// The cells of granule `index` (address `index * 8`), allocating its chunk if needed.
    #[inline]
    pub(crate) fn granule(&mut self, index: u64) -> GranuleMut<'_> {
        let chunk_index = index >> (CHUNK_SHIFT - GRANULE_SHIFT);
        let chunk: &mut Chunk = if chunk_index < NEAR_CHUNKS {
            let i = chunk_index as usize;
            if i >= self.near.len() {
                self.near.resize_with(i + 1, || None);
            }
            let slot = &mut self.near[i];
            if slot.is_none() {
                self.chunks += 1;
            }
            slot.get_or_insert_with(Chunk::new)
        } else {
            let chunks = &mut self.chunks;
            self.far.entry(chunk_index).or_insert_with(|| {
                *chunks += 1;
                Chunk::new()
            })
        };
        let within = (index as usize) & (GRANULES_PER_CHUNK - 1);
        GranuleMut {
            inline: &mut chunk.slots[within],
            spilled_word: &mut chunk.spilled[within / 64],
            bit: 1 << (within % 64),
            spill: &mut self.spill,
            index,
        }
    }

    /// Chunks allocated so far.
    pub(crate) fn chunks(&self) -> u64 {
        self.chunks
    }

    /// Granules with spilled cells.
    pub(crate) fn spilled_granules(&self) -> u64 {
        self.spill.len() as u64
    }

    /// Approximate heap bytes held by shadow memory (chunks, flat table, spill table).
    pub(crate) fn bytes(&self) -> usize {
        let spill_cells: usize = self.spill.values().map(Vec::capacity).sum();
        self.chunks as usize * (Chunk::BYTES + std::mem::size_of::<Chunk>())
            + self.near.capacity() * std::mem::size_of::<Option<Box<Chunk>>>()
            + spill_cells * std::mem::size_of::<Cell>()
            + self.spill.capacity() * (std::mem::size_of::<(u64, Vec<Cell>)>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_lazy_and_shared_by_neighbours() {
        let mut s = Shadow::default();
        assert_eq!(s.chunks(), 0);
        s.granule(0).inline[0] = Cell::new(1, 1, 1, true, false, 5, 0);
        s.granule(GRANULES_PER_CHUNK as u64 - 1);
        assert_eq!(s.chunks(), 1);
        assert_eq!(s.granule(0).inline[0].site(), 5);
        s.granule(GRANULES_PER_CHUNK as u64);
        assert_eq!(s.chunks(), 2);
        // memory64 address beyond 4 GiB goes through the far map.
        let far = (1u64 << 40) >> GRANULE_SHIFT;
        s.granule(far).inline[1] = Cell::new(2, 3, 0x80, false, false, 9, 0);
        assert_eq!(s.granule(far).inline[1].site(), 9);
        assert_eq!(s.chunks(), 3);
        assert!(s.bytes() >= 3 * Chunk::BYTES);
    }

    #[test]
    fn spill_is_per_granule() {
        let mut s = Shadow::default();
        let c = Cell::new(1, 1, 1, false, false, 7, 0);
        {
            let mut g = s.granule(10);
            assert!(g.cells().1.is_empty());
            g.push_extra(c);
            g.push_extra(c);
            assert_eq!(g.extra_len(), 2);
        }
        assert_eq!(s.granule(10).cells().1, &[c, c]);
        assert!(s.granule(11).cells().1.is_empty());
        assert_eq!(s.spilled_granules(), 1);
    }

    #[test]
    fn a_touched_chunk_costs_about_four_times_its_size() {
        let ratio = Chunk::BYTES as f64 / (1u64 << CHUNK_SHIFT) as f64;
        assert!(ratio <= 4.1, "shadow ratio {ratio}");
    }
}
