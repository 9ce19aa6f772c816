//! A lock-free, approximate set of the memory that holds lock words, so a thread's
//! plain writes can be checked against the lock state (a freed lock's memory reused
//! by a new object is first written plainly) without taking the tracker's mutex.
//!
//! Layout: one bit per 4-byte granule of the address space, folded onto
//! `2^FILTER_BITS` bits (`granule mod 2^FILTER_BITS`): 128 KiB, so a probe is one
//! relaxed load that mostly hits the cache. Bits are only ever set, never cleared:
//! a hit may be false (another granule folded onto the bit, or a word since
//! forgotten) and is then confirmed under the mutex; a miss is exact — every word the
//! tracker knows had its granules inserted before it became known.

use std::sync::atomic::{AtomicU64, Ordering};

/// log2 of the number of bits.
const FILTER_BITS: u32 = 20;

/// The set of granules that may hold a lock word.
pub(super) struct WordFilter {
    bits: Box<[AtomicU64]>,
}

impl Default for WordFilter {
    fn default() -> Self {
        WordFilter {
            bits: (0..(1usize << FILTER_BITS) / 64)
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }
}

impl WordFilter {
    /// (word index, bit mask) of the granule holding byte `addr`.
    fn slot(addr: u64) -> (usize, u64) {
        let granule = (addr >> 2) & ((1 << FILTER_BITS) - 1);
        ((granule >> 6) as usize, 1 << (granule & 63))
    }

    /// The granules overlapped by `[addr, addr + len)`, `len >= 1`.
    fn granules(addr: u64, len: u64) -> impl Iterator<Item = u64> {
        let first = addr >> 2;
        let last = addr.saturating_add(len - 1) >> 2;
        (first..=last).map(|g| g << 2)
    }

    /// Records that a word of `size` bytes at `addr` may be a lock word.
    pub(super) fn insert(&self, addr: u64, size: u8) {
        for granule in Self::granules(addr, u64::from(size.max(1))) {
            let (i, bit) = Self::slot(granule);
            // Load first: lock words are hot, and a shared fetch_or would bounce the
            // cache line between every thread taking the lock.
            if self.bits[i].load(Ordering::Relaxed) & bit == 0 {
                self.bits[i].fetch_or(bit, Ordering::Relaxed);
            }
        }
    }

    /// Whether a write of `len` bytes at `addr` may touch a lock word: one probe per
    /// granule, so a long bulk write costs a load per 4 bytes (still well below what
    /// the detector spends on its range). Relaxed is enough: the tracker inserts a
    /// word's granules before the atomic that made it a lock returns to the program,
    /// and a write that can reuse the memory happens after that atomic.
    pub(super) fn may_touch(&self, addr: u64, len: u64) -> bool {
        if len == 0 {
            return false;
        }
        Self::granules(addr, len).any(|granule| {
            let (i, bit) = Self::slot(granule);
            self.bits[i].load(Ordering::Relaxed) & bit != 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_words_are_found_by_overlapping_writes_only() {
        let f = WordFilter::default();
        assert!(!f.may_touch(0x1000, 8));
        f.insert(0x1000, 4);
        assert!(f.may_touch(0x1000, 4));
        assert!(f.may_touch(0x1003, 1));
        assert!(f.may_touch(0x0ffc, 8), "a write straddling into the word");
        assert!(!f.may_touch(0x1004, 4), "the next granule");
        assert!(!f.may_touch(0x0ff8, 4), "the previous granule");
        // An 8-byte word covers two granules.
        f.insert(0x2000, 8);
        assert!(f.may_touch(0x2004, 1));
        assert!(!f.may_touch(0x2008, 4));
        assert!(f.may_touch(0x1ff0, 0x1000), "a long write over one word");
        assert!(!f.may_touch(0x3000, 0x1000));
        assert!(!f.may_touch(0x1000, 0));
    }
}
