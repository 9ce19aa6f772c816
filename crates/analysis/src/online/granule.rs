//! Splitting an access into the 8-byte granules it touches, with per-granule byte masks.

/// log2 of the granule size: shadow state is kept per 8 bytes of application memory.
pub(crate) const GRANULE_SHIFT: u32 = 3;

/// The granules `[addr, addr + size)` touches, as `(granule index, byte mask)` in address
/// order. The range is clipped at the top of the 64-bit space; size 0 yields nothing.
#[inline]
pub(crate) fn granules(addr: u64, size: u32) -> Granules {
    let end = addr.saturating_add(u64::from(size)); // exclusive
    Granules { next: addr, end }
}

/// Iterator returned by [`granules`]. Invariant: `next` is the first byte not yet yielded.
#[derive(Clone, Debug)]
pub(crate) struct Granules {
    next: u64,
    end: u64,
}

impl Iterator for Granules {
    type Item = (u64, u8);

    #[inline]
    fn next(&mut self) -> Option<(u64, u8)> {
        if self.next >= self.end {
            return None;
        }
        let granule = self.next >> GRANULE_SHIFT;
        let lo = (self.next & 7) as u32;
        let granule_end = (granule << GRANULE_SHIFT).saturating_add(8);
        let stop = self.end.min(granule_end); // exclusive, within this granule
        let hi = ((stop - 1) & 7) as u32; // inclusive
        let mask = (0xFFu32 << lo) & (0xFFu32 >> (7 - hi));
        self.next = stop;
        Some((granule, mask as u8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(addr: u64, size: u32) -> Vec<(u64, u8)> {
        granules(addr, size).collect()
    }

    #[test]
    fn aligned_accesses_touch_one_granule() {
        assert_eq!(all(16, 8), vec![(2, 0xFF)]);
        assert_eq!(all(20, 4), vec![(2, 0xF0)]);
        assert_eq!(all(17, 1), vec![(2, 0x02)]);
    }

    #[test]
    fn unaligned_and_wide_accesses_split() {
        assert_eq!(all(6, 4), vec![(0, 0xC0), (1, 0x03)]);
        assert_eq!(all(4, 16), vec![(0, 0xF0), (1, 0xFF), (2, 0x0F)]);
        assert_eq!(all(0, 16), vec![(0, 0xFF), (1, 0xFF)]);
    }

    #[test]
    fn empty_and_top_of_space() {
        assert!(all(5, 0).is_empty());
        let top = all(u64::MAX - 3, 16);
        assert_eq!(top, vec![(u64::MAX >> 3, 0x70)]);
    }
}
