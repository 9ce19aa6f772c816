//! A lock-free table of per-thread values indexed by thread id, for state every
//! thread touches on each of its events (its clock): finding a thread's slot takes no
//! lock and writes no shared cache line.
//!
//! Layout: two levels of `OnceLock` (a fixed root of leaves, each leaf 1024 slots,
//! allocated on the first id that falls in it), every slot on cache lines of its own so
//! two threads' values never share a line. Slots are never freed while the table
//! lives, so references handed out stay valid.

use std::sync::OnceLock;

/// log2 of the slots per leaf.
const LEAF_SHIFT: u32 = 10;

/// One thread's value, alone on its cache lines (two, for the adjacent-line
/// prefetcher).
#[repr(align(128))]
struct Slot<T>(T);

type Leaf<T> = Box<[OnceLock<Slot<T>>]>;

/// Values of type `T` for thread ids `0..=max_id`.
pub struct ThreadTable<T> {
    leaves: Box<[OnceLock<Leaf<T>>]>,
    max_id: u32,
}

impl<T> ThreadTable<T> {
    /// A table for ids up to `max_id` (the root costs 8 bytes per 1024 ids).
    pub fn new(max_id: u32) -> Self {
        let leaves = (max_id as usize >> LEAF_SHIFT) + 1;
        ThreadTable {
            leaves: (0..leaves).map(|_| OnceLock::new()).collect(),
            max_id,
        }
    }

    /// The largest id the table holds.
    pub fn max_id(&self) -> u32 {
        self.max_id
    }

    /// Thread `t`'s value, made by `init` on first sight; `None` if `t` is past
    /// [`ThreadTable::max_id`].
    #[inline]
    pub fn get_or_init(&self, t: u32, init: impl FnOnce() -> T) -> Option<&T> {
        let i = t as usize;
        let leaf = self
            .leaves
            .get(i >> LEAF_SHIFT)?
            .get_or_init(|| (0..1usize << LEAF_SHIFT).map(|_| OnceLock::new()).collect());
        Some(
            &leaf[i & ((1 << LEAF_SHIFT) - 1)]
                .get_or_init(|| Slot(init()))
                .0,
        )
    }

    /// Thread `t`'s value if it was made.
    pub fn get(&self, t: u32) -> Option<&T> {
        let i = t as usize;
        let leaf = self.leaves.get(i >> LEAF_SHIFT)?.get()?;
        leaf[i & ((1 << LEAF_SHIFT) - 1)].get().map(|s| &s.0)
    }

    /// Visits every value made so far, in id order.
    pub fn for_each(&self, mut f: impl FnMut(&T)) {
        self.for_each_id(|_, value| f(value));
    }

    /// Visits every value made so far with its thread id, in id order.
    pub fn for_each_id(&self, mut f: impl FnMut(u32, &T)) {
        for (l, leaf) in self.leaves.iter().enumerate() {
            let Some(leaf) = leaf.get() else { continue };
            for (i, slot) in leaf.iter().enumerate() {
                if let Some(slot) = slot.get() {
                    f(((l << LEAF_SHIFT) + i) as u32, &slot.0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_made_once_per_id_and_found_again() {
        let table = ThreadTable::new(5000);
        assert_eq!(table.get(3), None);
        assert_eq!(table.get_or_init(3, || 30), Some(&30));
        assert_eq!(table.get_or_init(3, || 99), Some(&30), "made once");
        assert_eq!(table.get_or_init(4097, || 41), Some(&41), "another leaf");
        assert_eq!(table.get(4097), Some(&41));
        let mut seen = Vec::new();
        table.for_each(|v| seen.push(*v));
        assert_eq!(seen, [30, 41]);
        let mut with_ids = Vec::new();
        table.for_each_id(|t, v| with_ids.push((t, *v)));
        assert_eq!(with_ids, [(3, 30), (4097, 41)]);
    }

    #[test]
    fn ids_past_the_maximum_have_no_slot() {
        let table = ThreadTable::new(1023);
        assert_eq!(table.get_or_init(1023, || 1), Some(&1));
        assert_eq!(table.get_or_init(1024, || 2), None);
        assert_eq!(table.get(u32::MAX), None);
    }

    #[test]
    fn slots_do_not_share_cache_lines() {
        let table = ThreadTable::new(10);
        let a = table.get_or_init(0, || 0u8).unwrap() as *const u8 as usize;
        let b = table.get_or_init(1, || 0u8).unwrap() as *const u8 as usize;
        assert!(b.abs_diff(a) >= 128);
    }
}
