//! A per-thread filter of accesses that cannot change the verdict: the same site
//! touching the same address again, with no synchronization of this thread in
//! between (the thread is still in the same epoch).
//!
//! Such a repeat finds the shadow exactly as its first occurrence left it, as far as
//! this thread is concerned: a race with another thread's access is already found
//! between that access and the first occurrence, and the pair of sites is the same,
//! so the report is the same. Filtering before the detector's lock is what makes
//! loops over the same data cheap. (If the detector evicted the first occurrence's
//! shadow cell meanwhile, a race may be missed — never invented.)

/// Slots of the direct-mapped table (a power of two).
const SLOTS: usize = 4096;

/// Direct-mapped set of `(addr, site)` seen in the current epoch. An entry is live
/// only if its generation is the current one, so starting a new epoch is O(1).
pub struct RecentAccesses {
    keys: Box<[u64]>,
    generations: Box<[u32]>,
    generation: u32,
}

impl Default for RecentAccesses {
    fn default() -> Self {
        RecentAccesses {
            keys: vec![0; SLOTS].into_boxed_slice(),
            generations: vec![0; SLOTS].into_boxed_slice(),
            // Entries start at generation 0, so none is live.
            generation: 1,
        }
    }
}

impl RecentAccesses {
    /// True if `(addr, site)` was already seen in this epoch; records it otherwise.
    #[inline]
    pub fn seen(&mut self, addr: u32, site: u32) -> bool {
        let key = (u64::from(site) << 32) | u64::from(addr);
        let slot = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52) as usize & (SLOTS - 1);
        if self.generations[slot] == self.generation && self.keys[slot] == key {
            return true;
        }
        self.keys[slot] = key;
        self.generations[slot] = self.generation;
        false
    }

    /// The thread synchronized: everything seen so far may matter again.
    #[inline]
    pub fn new_epoch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // After 2^32 epochs old entries could look live again: wipe them.
            self.generations.fill(0);
            self.generation = 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_seen_until_the_next_epoch() {
        let mut recent = RecentAccesses::default();
        assert!(!recent.seen(0x100, 7));
        assert!(recent.seen(0x100, 7));
        assert!(!recent.seen(0x100, 8), "another site is another access");
        assert!(!recent.seen(0x104, 7), "another address is another access");
        recent.new_epoch();
        assert!(
            !recent.seen(0x100, 7),
            "after synchronization it counts again"
        );
        assert!(recent.seen(0x100, 7));
    }

    #[test]
    fn collisions_only_forget() {
        let mut recent = RecentAccesses::default();
        // Far more keys than slots: every answer must still be exact or "not seen".
        for i in 0..(SLOTS as u32 * 4) {
            assert!(!recent.seen(i * 4, 1));
        }
    }
}
