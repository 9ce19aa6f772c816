//! The clock of a synchronization object, with its first entries stored inline.
//!
//! An atomic joins its object's clock into the thread's and back. On a contended word
//! the object was last written by another core, so each cache line it spans is a miss;
//! a clock on the heap is one line more than the object's map entry, which the lookup
//! has just brought in. Up to [`INLINE`] threads (the main thread and a few workers,
//! most programs) the entries live in the entry itself.

use smallvec::SmallVec;

use crate::clock::VectorClock;

/// Entries kept inline; more spill to the heap.
const INLINE: usize = 8;

/// A vector clock (entries indexed by thread id, missing ones 0) that only ever
/// absorbs thread clocks and is joined into them.
#[derive(Default, Debug)]
pub(crate) struct SyncClock {
    entries: SmallVec<[u32; INLINE]>,
}

impl SyncClock {
    /// `clock := clock ⊔ self`.
    #[inline]
    pub(crate) fn join_into(&self, clock: &mut VectorClock) {
        clock.join_slice(&self.entries);
    }

    /// `self := self ⊔ clock`.
    #[inline]
    pub(crate) fn absorb(&mut self, clock: &VectorClock) {
        self.absorb_slice(clock.as_slice());
    }

    /// `self := self ⊔ other`, emptying `other` (an object's clock moving to its word's
    /// detached granule).
    pub(crate) fn absorb_taken(&mut self, other: &mut SyncClock) {
        self.absorb_slice(&std::mem::take(other).entries);
    }

    #[inline]
    fn absorb_slice(&mut self, src: &[u32]) {
        if src.len() > self.entries.len() {
            self.entries.resize(src.len(), 0);
        }
        for (d, &s) in self.entries.iter_mut().zip(src) {
            *d = (*d).max(s);
        }
    }

    /// Entries held (memory accounting).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absorbs_pointwise_maxima_inline_and_spilled() {
        let mut s = SyncClock::default();
        s.absorb(&VectorClock::from_entries(&[3, 0, 5]));
        s.absorb(&VectorClock::from_entries(&[1, 4]));
        let mut out = VectorClock::from_entries(&[0, 0, 0, 9]);
        s.join_into(&mut out);
        assert_eq!(out, VectorClock::from_entries(&[3, 4, 5, 9]));
        assert!(!s.entries.spilled());
        // Past the inline capacity: same answers from the heap.
        let wide: Vec<u32> = (1..=3 * INLINE as u32).collect();
        s.absorb(&VectorClock::from_entries(&wide));
        assert!(s.entries.spilled());
        assert_eq!(s.len(), wide.len());
        let mut moved = SyncClock::default();
        moved.absorb(&VectorClock::from_entries(&[0, 0, 7]));
        s.absorb_taken(&mut moved);
        assert_eq!(moved.len(), 0, "taken");
        let mut out = VectorClock::new();
        s.join_into(&mut out);
        let mut want = wide.clone();
        want[..3].copy_from_slice(&[3, 4, 7]);
        assert_eq!(out, VectorClock::from_entries(&want));
    }
}
