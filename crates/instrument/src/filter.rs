//! The in-module repeat filter ([`crate::Options::filter_repeats`]): a direct-mapped table of
//! `(record, generation)` slots after the record buffer in the events memory, and the
//! generation global that synchronization bumps.
//!
//! The table is reserved at its largest size but used from [`INITIAL_SLOTS`] up: code that
//! synchronizes often misses anyway and then touches only a cache-friendly 64 KiB, while a
//! loop whose working set outgrows the table (more than a quarter of its slots displaced
//! within one generation) doubles it. Growing only changes the mask: entries left at other
//! places are merely not found, and a hit still needs the exact record and generation.
//!
//! Invariant the emitted code keeps: a slot whose generation equals the current generation
//! holds a record this instance logged in the current generation. Slots start zeroed and the
//! generation starts at 1 and only grows (an i64 never wraps in practice), so no slot is live
//! before it is written.

use wasm_encoder::{BlockType, Instruction as I, MemArg};

/// Bytes per slot: the i64 record, then the i64 generation it was logged in.
pub const SLOT_BYTES: u32 = 16;

/// Slots the table starts with (a power of two): 64 KiB.
pub const INITIAL_SLOTS: u32 = 1 << 12;

/// Multiplier spreading site ids over the table (golden-ratio hashing), so sites sweeping
/// the same array start at unrelated slots.
const SITE_HASH: u32 = 0x9e37_79b1;

/// Where the filter lives in the instrumented module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FilterLayout {
    /// Index of the mutable i64 generation global ([`crate::GENERATION_EXPORT`]).
    pub generation_global: u32,
    /// Index of the mutable i32 global holding the slot mask in bytes, `(used slots - 1) * 16`.
    pub mask_global: u32,
    /// Index of the mutable i32 global counting live slots displaced in this generation.
    pub displaced_global: u32,
    /// Byte offset of the table in the events memory (16-aligned, after the record buffer).
    pub table_offset: u32,
    /// Number of slots reserved, the most the table grows to (a power of two).
    pub slots: u32,
    /// Number of slots used at first (a power of two).
    pub initial_slots: u32,
}

impl FilterLayout {
    /// The table follows the record buffer of `capacity` bytes; the three globals are
    /// `first_global` and the next two.
    pub(crate) fn new(first_global: u32, capacity: u32, slots: u32) -> Self {
        FilterLayout {
            generation_global: first_global,
            mask_global: first_global + 1,
            displaced_global: first_global + 2,
            table_offset: capacity.next_multiple_of(SLOT_BYTES),
            slots,
            initial_slots: slots.min(INITIAL_SLOTS),
        }
    }

    /// Initial value of the mask global.
    pub(crate) fn initial_mask(&self) -> u32 {
        (self.initial_slots - 1) * SLOT_BYTES
    }

    /// Bytes of the events memory the buffer and the table need together.
    pub fn end(&self) -> u64 {
        u64::from(self.table_offset) + u64::from(self.slots) * u64::from(SLOT_BYTES)
    }

    /// `[]` → `[slot byte offset: i32]` for the access at `addr_local + offset` of `site`:
    /// `(((addr + offset) >> 2) + site * SITE_HASH) mod used slots`, times 16, computed as
    /// `((addr << 2) + K) & mask`. (The two low address bits land in bits 2–3, below the slot
    /// bits, and adding a multiple of 16 never carries out of them, so masking drops them.)
    pub(crate) fn slot_of(
        &self,
        put: &mut impl FnMut(I<'_>),
        addr_local: u32,
        offset: u32,
        site: u32,
    ) {
        let k = (offset << 2).wrapping_add(site.wrapping_mul(SITE_HASH) << 4);
        put(I::LocalGet(addr_local));
        put(I::I32Const(2));
        put(I::I32Shl);
        put(I::I32Const(k as i32));
        put(I::I32Add);
        put(I::GlobalGet(self.mask_global));
        put(I::I32And);
    }

    /// On a miss, before slot `slot_local` is overwritten: counts it if it was live, and
    /// doubles the used table (up to [`FilterLayout::slots`]) once more than a quarter of its
    /// slots were displaced in this generation.
    pub(crate) fn count_displacement(
        &self,
        put: &mut impl FnMut(I<'_>),
        memory: u32,
        slot_local: u32,
    ) {
        let (mask, displaced) = (self.mask_global, self.displaced_global);
        put(I::LocalGet(slot_local));
        put(I::I64Load(self.memarg(memory, 8)));
        put(I::GlobalGet(self.generation_global));
        put(I::I64Eq);
        put(I::If(BlockType::Empty));
        put(I::GlobalGet(displaced));
        put(I::I32Const(1));
        put(I::I32Add);
        put(I::GlobalSet(displaced));
        // mask >> 6 = (used slots - 1) / 4.
        put(I::GlobalGet(displaced));
        put(I::GlobalGet(mask));
        put(I::I32Const(6));
        put(I::I32ShrU);
        put(I::I32GtU);
        put(I::If(BlockType::Empty));
        put(I::GlobalGet(mask));
        put(I::I32Const(((self.slots - 1) * SLOT_BYTES) as i32));
        put(I::I32LtU);
        put(I::If(BlockType::Empty));
        put(I::GlobalGet(mask));
        put(I::I32Const(1));
        put(I::I32Shl);
        put(I::I32Const(SLOT_BYTES as i32));
        put(I::I32Or);
        put(I::GlobalSet(mask));
        put(I::End);
        put(I::I32Const(0));
        put(I::GlobalSet(displaced));
        put(I::End);
        put(I::End);
    }

    /// The memarg of a slot's record (`field` 0) or generation (`field` 8).
    pub(crate) fn memarg(&self, memory: u32, field: u32) -> MemArg {
        MemArg {
            offset: u64::from(self.table_offset + field),
            align: 3,
            memory_index: memory,
        }
    }

    /// Starts a new generation: every slot written so far is dead, none displaced.
    pub(crate) fn bump(&self, put: &mut impl FnMut(I<'_>)) {
        put(I::GlobalGet(self.generation_global));
        put(I::I64Const(1));
        put(I::I64Add);
        put(I::GlobalSet(self.generation_global));
        put(I::I32Const(0));
        put(I::GlobalSet(self.displaced_global));
    }
}
