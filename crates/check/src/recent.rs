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
//!
//! `check` runs modules whose instrumented code already drops most repeats itself
//! ([`wasmgrind_instrument::Options::filter_repeats`], whose generations end at least
//! wherever this filter's epochs do); this filter still catches the repeats that the
//! module's smaller direct-mapped table forgot.

/// Slots the table starts with (a power of two).
const MIN_SLOTS: usize = 1 << 12;
/// Most slots the table grows to (a power of two): 16 bytes each, 2 MiB per thread.
const MAX_SLOTS: usize = 1 << 17;

/// One remembered access; live only if `generation` is the table's current one.
#[derive(Clone, Copy, Default)]
#[repr(C, align(16))]
struct Slot {
    addr: u32,
    site: u32,
    generation: u32,
}

/// Two-way set-associative set of `(addr, site)` seen in the current epoch: a key may
/// sit in either slot of its pair (one 32-byte half of a cache line). Starting a new
/// epoch is O(1) (a generation counter). The table starts small and doubles (up to
/// [`MAX_SLOTS`]) when, within one epoch, live entries keep being displaced: a loop whose
/// working set outgrows the table would otherwise miss on every access.
pub struct RecentAccesses {
    slots: Box<[Slot]>,
    generation: u32,
    /// Live entries overwritten by other keys since the epoch began or the table grew.
    displaced: usize,
}

impl Default for RecentAccesses {
    fn default() -> Self {
        RecentAccesses {
            slots: vec![Slot::default(); MIN_SLOTS].into_boxed_slice(),
            // Entries start at generation 0, so none is live.
            generation: 1,
            displaced: 0,
        }
    }
}

impl RecentAccesses {
    /// True if `(addr, site)` was already seen in this epoch; records it otherwise.
    #[inline]
    pub fn seen(&mut self, addr: u32, site: u32) -> bool {
        // Slots follow addresses: one site sweeping an array walks the table in order
        // (cache lines and the prefetcher help), and each site starts at its own
        // pseudo-random offset so sites sweeping the same array do not collide.
        let site_offset = site.wrapping_mul(0x9e37_79b1) as usize;
        let len = self.slots.len();
        let first = ((addr >> 2) as usize).wrapping_add(site_offset) & (len - 2);
        let generation = self.generation;
        let live = |s: &Slot| s.generation == generation;
        let (a, b) = (self.slots[first], self.slots[first + 1]);
        if [a, b]
            .iter()
            .any(|s| live(s) && s.addr == addr && s.site == site)
        {
            return true;
        }
        // A free slot of the pair, else one chosen by another bit of the hash.
        let victim = match (live(&a), live(&b)) {
            (false, _) => first,
            (true, false) => first + 1,
            (true, true) => {
                self.displaced += 1;
                if self.displaced > len / 4 && len < MAX_SLOTS {
                    self.grow();
                    return self.seen(addr, site);
                }
                first + ((addr >> 2) as usize & 1)
            }
        };
        self.slots[victim] = Slot {
            addr,
            site,
            generation,
        };
        false
    }

    /// Doubles the table, forgetting what it held (only ever costs a repeat check).
    #[cold]
    fn grow(&mut self) {
        self.slots = vec![Slot::default(); self.slots.len() * 2].into_boxed_slice();
        self.generation = 1;
        self.displaced = 0;
    }

    /// Slots in the table now.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The thread synchronized: everything seen so far may matter again.
    #[inline]
    pub fn new_epoch(&mut self) {
        self.displaced = 0;
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // After 2^32 epochs old entries could look live again: wipe them.
            self.slots.fill(Slot::default());
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
        for i in 0..(MAX_SLOTS as u32 * 4) {
            assert!(!recent.seen(i * 4, 1));
        }
    }

    #[test]
    fn a_working_set_larger_than_the_table_makes_it_grow_until_it_fits() {
        let mut recent = RecentAccesses::default();
        let keys = 3 * MIN_SLOTS as u32;
        let misses =
            |recent: &mut RecentAccesses| (0..keys).filter(|&i| !recent.seen(i * 8, 7)).count();
        assert_eq!(misses(&mut recent), keys as usize);
        // A few passes over the same set in one epoch: the table grows, then holds it.
        for _ in 0..8 {
            misses(&mut recent);
        }
        assert!(recent.capacity() > MIN_SLOTS);
        assert!(
            misses(&mut recent) < keys as usize / 4,
            "repeats are remembered"
        );
        // Synchronizing (a new epoch) forgets everything but keeps the size.
        let grown = recent.capacity();
        recent.new_epoch();
        assert_eq!(misses(&mut recent), keys as usize);
        assert_eq!(recent.capacity(), grown);
    }
}
