//! A shadow cell: the compact record of one earlier access to part of an 8-byte granule.
//!
//! Layout (16 bytes, four `u32`, 16-aligned so a granule's two inline cells fill exactly
//! half a cache line and never straddle one):
//!
//! | field   | bits                                                         |
//! |---------|--------------------------------------------------------------|
//! | `clock` | the accessing thread's own clock entry (its epoch is `clock@tid`) |
//! | `meta`  | 0..22 thread id, 22 write, 23 atomic, 24..32 byte mask in the granule |
//! | `site`  | code location id, reported back                              |
//! | `stack` | call-stack id, reported back                                 |
//!
//! Why 16 bytes rather than ThreadSanitizer's 8: TSan recovers the earlier access's
//! location by replaying a per-thread trace; we have no such trace, so the site and stack
//! live in the cell. A byte mask (rather than offset + size) makes the byte-precise
//! overlap test one AND. Mask 0 marks an empty cell, so zeroed memory is all-empty.

use super::access::ThreadId;

/// Largest thread id a cell can hold (22 bits: four million threads).
pub(crate) const MAX_CELL_TID: ThreadId = (1 << 22) - 1;

const WRITE_BIT: u32 = 1 << 22;
const ATOMIC_BIT: u32 = 1 << 23;
const MASK_SHIFT: u32 = 24;

/// One recorded access (see the module docs for the layout).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
#[repr(C, align(16))]
pub(crate) struct Cell {
    clock: u32,
    meta: u32,
    site: u32,
    stack: u32,
}

impl Cell {
    /// The empty cell (all zero).
    pub(crate) const EMPTY: Cell = Cell {
        clock: 0,
        meta: 0,
        site: 0,
        stack: 0,
    };

    /// The marker standing in a detached granule's first inline slot (see `shadow`):
    /// the address of the granule's record in `site` and `stack`. Its mask is 0 but its
    /// clock is not, so no empty cell (all zero) looks like it; code that scans cells
    /// never sees it, because the chunk hands out the record instead.
    pub(crate) fn detached_marker(record: *const ()) -> Cell {
        let addr = record.expose_provenance() as u64;
        Cell {
            clock: u32::MAX,
            meta: 0,
            site: addr as u32,
            stack: (addr >> 32) as u32,
        }
    }

    /// The record address of a [`Self::detached_marker`], `None` for any other cell.
    #[inline]
    pub(crate) fn detached_record(self) -> Option<*const ()> {
        (self.meta == 0 && self.clock == u32::MAX).then(|| {
            let addr = (u64::from(self.stack) << 32) | u64::from(self.site);
            std::ptr::with_exposed_provenance(addr as usize)
        })
    }

    /// A cell for an access by `tid` (≤ [`MAX_CELL_TID`]) at its clock `clock` covering
    /// the granule bytes in `mask` (non-zero).
    #[inline]
    pub(crate) fn new(
        tid: ThreadId,
        clock: u32,
        mask: u8,
        write: bool,
        atomic: bool,
        site: u32,
        stack: u32,
    ) -> Self {
        debug_assert!(tid <= MAX_CELL_TID && mask != 0);
        let meta = tid
            | if write { WRITE_BIT } else { 0 }
            | if atomic { ATOMIC_BIT } else { 0 }
            | (u32::from(mask) << MASK_SHIFT);
        Cell {
            clock,
            meta,
            site,
            stack,
        }
    }

    /// The same access restricted to the bytes in `mask`.
    #[inline]
    pub(crate) fn with_mask(self, mask: u8) -> Self {
        Cell {
            meta: (self.meta & !(0xFF << MASK_SHIFT)) | (u32::from(mask) << MASK_SHIFT),
            ..self
        }
    }

    /// True for a slot holding no access.
    #[inline]
    pub(crate) fn is_empty(self) -> bool {
        self.mask() == 0
    }

    /// The accessing thread.
    #[inline]
    pub(crate) fn tid(self) -> ThreadId {
        self.meta & MAX_CELL_TID
    }

    /// The accessing thread's own clock entry at the access.
    #[inline]
    pub(crate) fn clock(self) -> u32 {
        self.clock
    }

    /// Bytes of the granule accessed (bit i = byte i).
    #[inline]
    pub(crate) fn mask(self) -> u8 {
        (self.meta >> MASK_SHIFT) as u8
    }

    /// True for a write.
    #[inline]
    pub(crate) fn is_write(self) -> bool {
        self.meta & WRITE_BIT != 0
    }

    /// True for an atomic access.
    #[inline]
    pub(crate) fn is_atomic(self) -> bool {
        self.meta & ATOMIC_BIT != 0
    }

    /// The code location id.
    #[inline]
    pub(crate) fn site(self) -> u32 {
        self.site
    }

    /// The call-stack id.
    #[inline]
    pub(crate) fn stack(self) -> u32 {
        self.stack
    }

    /// True when `self` conflicts with at least every access `other` conflicts with, as far
    /// as the access kind goes: a superset of its bytes, a write if it is one, and
    /// non-atomic if it is (a non-atomic access conflicts with atomics too).
    #[inline]
    pub(crate) fn covers(self, other: Cell) -> bool {
        other.mask() & !self.mask() == 0
            && (self.is_write() || !other.is_write())
            && (!self.is_atomic() || other.is_atomic())
    }

    /// True when the two accesses conflict by kind and bytes: overlapping bytes, at least
    /// one write, at least one non-atomic (threads and ordering are the caller's business).
    #[inline]
    pub(crate) fn conflicts(self, other: Cell) -> bool {
        self.mask() & other.mask() != 0
            && (self.is_write() || other.is_write())
            && !(self.is_atomic() && other.is_atomic())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let c = Cell::new(MAX_CELL_TID, 7, 0b1010_0000, true, false, 11, 13);
        assert_eq!(c.tid(), MAX_CELL_TID);
        assert_eq!(c.clock(), 7);
        assert_eq!(c.mask(), 0b1010_0000);
        assert!(c.is_write() && !c.is_atomic());
        assert_eq!((c.site(), c.stack()), (11, 13));
        let d = Cell::new(3, 1, 1, false, true, 0, 0).with_mask(0x80);
        assert_eq!(
            (d.tid(), d.mask(), d.is_atomic(), d.is_write()),
            (3, 0x80, true, false)
        );
        assert!(Cell::EMPTY.is_empty() && !c.is_empty());
        assert_eq!(std::mem::size_of::<Cell>(), 16);
    }

    #[test]
    fn covers_and_conflicts_follow_the_rules() {
        let w = |m| Cell::new(1, 1, m, true, false, 0, 0);
        let r = |m| Cell::new(1, 1, m, false, false, 0, 0);
        let aw = |m| Cell::new(1, 1, m, true, true, 0, 0);
        assert!(w(0xFF).covers(r(0x0F)));
        assert!(!r(0xFF).covers(w(0x0F)));
        assert!(!w(0x0F).covers(w(0xF0)));
        assert!(w(0x0F).covers(aw(0x0F)) && !aw(0x0F).covers(w(0x0F)));
        assert!(w(0x0F).conflicts(r(0x08)));
        assert!(!w(0x0F).conflicts(r(0x10)));
        assert!(!r(0xFF).conflicts(r(0xFF)));
        assert!(!aw(0xFF).conflicts(aw(0xFF)));
        assert!(aw(0xFF).conflicts(r(0x01)));
    }

    #[test]
    fn a_detached_marker_carries_its_record_and_nothing_else_is_one() {
        let record = Box::new(7u64);
        let ptr: *const () = (&*record as *const u64).cast();
        let marker = Cell::detached_marker(ptr);
        assert_eq!(marker.detached_record(), Some(ptr));
        assert!(marker.is_empty(), "never a stored access");
        assert_eq!(Cell::EMPTY.detached_record(), None);
        let busy = Cell::new(1, u32::MAX, 0xFF, true, true, 1, 2);
        assert_eq!(busy.detached_record(), None);
    }
}
