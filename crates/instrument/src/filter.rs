//! The in-module repeat filter ([`crate::Options::filter_repeats`]): a direct-mapped table of
//! `(record, generation)` slots after the record buffer in the events memory, and the
//! generation global that synchronization bumps.
//!
//! Invariant the emitted code keeps: a slot whose generation equals the current generation
//! holds a record this instance logged in the current generation. Slots start zeroed and the
//! generation starts at 1 and only grows (an i64 never wraps in practice), so no slot is live
//! before it is written.

use wasm_encoder::{Instruction as I, MemArg};

/// Bytes per slot: the i64 record, then the i64 generation it was logged in.
pub const SLOT_BYTES: u32 = 16;

/// Multiplier spreading site ids over the table (golden-ratio hashing), so sites sweeping
/// the same array start at unrelated slots.
const SITE_HASH: u32 = 0x9e37_79b1;

/// Where the filter lives in the instrumented module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FilterLayout {
    /// Index of the mutable i64 generation global ([`crate::GENERATION_EXPORT`]).
    pub generation_global: u32,
    /// Byte offset of the table in the events memory (16-aligned, after the record buffer).
    pub table_offset: u32,
    /// Number of slots (a power of two).
    pub slots: u32,
}

impl FilterLayout {
    /// The table follows the record buffer of `capacity` bytes.
    pub(crate) fn new(generation_global: u32, capacity: u32, slots: u32) -> Self {
        FilterLayout {
            generation_global,
            table_offset: capacity.next_multiple_of(SLOT_BYTES),
            slots,
        }
    }

    /// Bytes of the events memory the buffer and the table need together.
    pub fn end(&self) -> u64 {
        u64::from(self.table_offset) + u64::from(self.slots) * u64::from(SLOT_BYTES)
    }

    /// `[]` → `[slot byte offset: i32]` for the access at `addr_local + offset` of `site`:
    /// `(((addr + offset) >> 2) + site * SITE_HASH) mod slots`, times 16, computed as
    /// `((addr << 2) + K) & M`. (The two low address bits land in bits 2–3, below the slot
    /// bits, and adding a multiple of 16 never carries out of them, so masking drops them.)
    pub(crate) fn slot_of(
        &self,
        put: &mut impl FnMut(I<'_>),
        addr_local: u32,
        offset: u32,
        site: u32,
    ) {
        let k = (offset << 2).wrapping_add(site.wrapping_mul(SITE_HASH) << 4);
        let mask = (self.slots - 1) * SLOT_BYTES;
        put(I::LocalGet(addr_local));
        put(I::I32Const(2));
        put(I::I32Shl);
        put(I::I32Const(k as i32));
        put(I::I32Add);
        put(I::I32Const(mask as i32));
        put(I::I32And);
    }

    /// The memarg of a slot's record (`field` 0) or generation (`field` 8).
    pub(crate) fn memarg(&self, memory: u32, field: u32) -> MemArg {
        MemArg {
            offset: u64::from(self.table_offset + field),
            align: 3,
            memory_index: memory,
        }
    }

    /// Starts a new generation: every slot written so far is dead.
    pub(crate) fn bump(&self, put: &mut impl FnMut(I<'_>)) {
        put(I::GlobalGet(self.generation_global));
        put(I::I64Const(1));
        put(I::I64Add);
        put(I::GlobalSet(self.generation_global));
    }
}
