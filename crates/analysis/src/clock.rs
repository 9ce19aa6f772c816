//! Vector clocks and epochs, the logical time every happens-before style engine uses.
//!
//! Invariants shared by both types:
//! - Thread ids are dense small integers (`0..threads`), so a clock is a plain
//!   `Vec<u32>` indexed by thread id; entries past the end are implicitly 0.
//! - Clock value 0 means "nothing of that thread yet"; engines start each thread's own
//!   entry at 1 so that [`Epoch::BOTTOM`] (clock 0) is ordered before every event.

use std::cmp::Ordering;
use std::fmt;

/// A thread id as used in clocks (dense, starting at 0).
pub type Tid = u32;

/// `dst := dst ⊔ src` over their common length, calling `grew(i, value)` for each
/// entry `i` that grew, in ascending order.
///
/// A join of wide clocks typically moves a few entries of many, and reporting each one
/// makes a per-entry loop branchy and serial; so which entries grow is found for a
/// block of 16 at a time without branches (vectorized), and only those are visited.
#[inline]
pub fn join_reporting(dst: &mut [u32], src: &[u32], mut grew: impl FnMut(usize, u32)) {
    const B: usize = 16;
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    let mut visit = |base: usize, d: &mut [u32], s: &[u32], mut mask: u32| {
        while mask != 0 {
            let j = mask.trailing_zeros() as usize;
            d[j] = s[j];
            grew(base + j, s[j]);
            mask &= mask - 1;
        }
    };
    let full = n - n % B;
    for (b, (d, s)) in dst[..full]
        .chunks_exact_mut(B)
        .zip(src[..full].chunks_exact(B))
        .enumerate()
    {
        let mask = grown_mask(d, s);
        if mask != 0 {
            visit(b * B, d, s, mask);
        }
    }
    let mask = grown_mask(&dst[full..], &src[full..]);
    visit(full, &mut dst[full..], &src[full..], mask);
}

/// Bit `j` set where `s[j] > d[j]` (at most 32 entries; branch-free, so vectorized
/// when the length is known).
#[inline]
pub(crate) fn grown_mask(d: &[u32], s: &[u32]) -> u32 {
    debug_assert!(d.len() <= 32);
    d.iter()
        .zip(s)
        .enumerate()
        .fold(0, |m, (j, (&d, &s))| m | u32::from(s > d) << j)
}

/// A vector clock: for every thread, the latest of its events known to be ordered before.
///
/// Backed by a `Vec<u32>` that grows on demand; missing entries read as 0, so two clocks
/// of different lengths compare and join as if padded with zeros.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct VectorClock {
    entries: Vec<u32>,
}

impl VectorClock {
    /// The zero clock (ordered before everything).
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// The clock whose entry for thread `i` is `entries[i]` (tests spell clocks so).
    #[cfg(test)]
    pub(crate) fn from_entries(entries: &[u32]) -> Self {
        let mut v = VectorClock::new();
        for (i, &e) in entries.iter().enumerate() {
            v.set(i as Tid, e);
        }
        v
    }

    /// A zero clock with room for `threads` entries without reallocating.
    pub fn with_threads(threads: usize) -> Self {
        Self {
            entries: Vec::with_capacity(threads),
        }
    }

    /// The entry of thread `t` (0 when never set).
    #[inline]
    pub fn get(&self, t: Tid) -> u32 {
        self.entries.get(t as usize).copied().unwrap_or(0)
    }

    /// Sets the entry of thread `t`, growing the clock if needed.
    #[inline]
    pub fn set(&mut self, t: Tid, value: u32) {
        let i = t as usize;
        if i >= self.entries.len() {
            if value == 0 {
                return;
            }
            self.entries.resize(i + 1, 0);
        }
        self.entries[i] = value;
    }

    /// Increments the entry of thread `t` by one (saturating: 2^32 events of one thread
    /// are beyond any trace format we read).
    #[inline]
    pub fn inc(&mut self, t: Tid) {
        let v = self.get(t).saturating_add(1);
        self.set(t, v);
    }

    /// Pointwise maximum: `self := self ⊔ other`.
    #[inline]
    pub fn join(&mut self, other: &VectorClock) {
        self.join_slice(&other.entries);
    }

    /// Pointwise maximum with a clock stored as entries indexed by thread id (trailing
    /// zeros allowed; they never grow `self`).
    #[inline]
    pub fn join_slice(&mut self, other: &[u32]) {
        let used = other.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        let other = &other[..used];
        if other.len() > self.entries.len() {
            self.entries.resize(other.len(), 0);
        }
        // An unconditional max (rather than a store where `b` is larger) compiles to
        // packed max instructions; the conditional store was emulated lane by lane.
        for (a, &b) in self.entries.iter_mut().zip(other.iter()) {
            *a = (*a).max(b);
        }
    }

    /// Replaces `self` by a copy of `other`, reusing the allocation.
    #[inline]
    pub fn copy_from(&mut self, other: &VectorClock) {
        self.entries.clear();
        self.entries.extend_from_slice(&other.entries);
    }

    /// Pointwise `self ⊑ other`: everything `self` knows, `other` knows too.
    #[inline]
    pub fn le(&self, other: &VectorClock) -> bool {
        self.entries
            .iter()
            .enumerate()
            .all(|(i, &a)| a <= other.get(i as Tid))
    }

    /// Resets every entry to 0, keeping the allocation.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Number of stored entries (threads up to the highest one ever set).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no entry was ever set (the zero clock).
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(|&e| e == 0)
    }

    /// The stored entries, indexed by thread id.
    pub fn as_slice(&self) -> &[u32] {
        &self.entries
    }

    /// The epoch of thread `t` in this clock.
    #[inline]
    pub fn epoch(&self, t: Tid) -> Epoch {
        Epoch::new(t, self.get(t))
    }
}

impl PartialOrd for VectorClock {
    /// The happens-before partial order on clocks (`None` when concurrent).
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self.le(other), other.le(self)) {
            (true, true) => Some(Ordering::Equal),
            (true, false) => Some(Ordering::Less),
            (false, true) => Some(Ordering::Greater),
            (false, false) => None,
        }
    }
}

impl fmt::Debug for VectorClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VC{:?}", self.entries)
    }
}

/// An epoch `c@t`: the `c`-th event of thread `t`, i.e. a vector clock that is 0
/// everywhere except at `t`. FastTrack stores these instead of full clocks.
///
/// Packed into one `u64` (thread in the high 32 bits, clock in the low 32) so shadow
/// state stays 8 bytes per slot and comparisons are a shift and a compare.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Epoch(u64);

impl Epoch {
    /// The epoch ordered before every event (`0@0`).
    pub const BOTTOM: Epoch = Epoch(0);

    /// The epoch `clock@thread`.
    #[inline]
    pub const fn new(thread: Tid, clock: u32) -> Self {
        Epoch(((thread as u64) << 32) | clock as u64)
    }

    /// Its thread.
    #[inline]
    pub const fn thread(self) -> Tid {
        (self.0 >> 32) as Tid
    }

    /// Its clock value.
    #[inline]
    pub const fn clock(self) -> u32 {
        self.0 as u32
    }

    /// `c@t ⪯ V` iff `c <= V[t]`: the event is ordered before the holder of `V`.
    #[inline]
    pub fn le_vc(self, vc: &VectorClock) -> bool {
        self.clock() <= vc.get(self.thread())
    }

    /// True for [`Epoch::BOTTOM`]-like epochs (clock 0: no event).
    #[inline]
    pub const fn is_bottom(self) -> bool {
        self.clock() == 0
    }
}

impl Default for Epoch {
    fn default() -> Self {
        Epoch::BOTTOM
    }
}

impl fmt::Debug for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.clock(), self.thread())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    /// `join_reporting` against a plain per-entry join, across block boundaries and
    /// with lengths that differ.
    #[test]
    fn join_reporting_matches_plain_join() {
        let mut rng = XorShift::new(0x2545_f491_4f6c_dd1d);
        let mut next = move |n: u64| rng.below(n) as u32;
        for _ in 0..2000 {
            let dst: Vec<u32> = (0..next(70)).map(|_| next(8)).collect();
            let src: Vec<u32> = (0..next(70)).map(|_| next(8)).collect();
            let (mut want, mut want_grew) = (dst.clone(), Vec::new());
            for (i, (d, &s)) in want.iter_mut().zip(&src).enumerate() {
                if s > *d {
                    *d = s;
                    want_grew.push((i, s));
                }
            }
            let (mut got, mut got_grew) = (dst, Vec::new());
            join_reporting(&mut got, &src, |i, v| got_grew.push((i, v)));
            assert_eq!((got, got_grew), (want, want_grew));
        }
    }

    fn vc(entries: &[u32]) -> VectorClock {
        VectorClock::from_entries(entries)
    }

    #[test]
    fn get_set_grow_on_demand() {
        let mut v = VectorClock::new();
        assert_eq!(v.get(7), 0);
        v.set(5, 3);
        assert_eq!(v.get(5), 3);
        assert_eq!(v.get(4), 0);
        assert_eq!(v.len(), 6);
        // Setting 0 past the end does not grow.
        let mut w = VectorClock::new();
        w.set(100, 0);
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn inc_increments_one_entry() {
        let mut v = vc(&[1, 2]);
        v.inc(1);
        v.inc(3);
        assert_eq!(v.as_slice(), &[1, 3, 0, 1]);
    }

    #[test]
    fn join_is_pointwise_max_across_lengths() {
        let mut a = vc(&[1, 5]);
        let b = vc(&[3, 2, 7]);
        a.join(&b);
        assert_eq!(a.as_slice(), &[3, 5, 7]);
        let mut c = vc(&[9, 9, 9, 9]);
        c.join(&vc(&[1]));
        assert_eq!(c.as_slice(), &[9, 9, 9, 9]);
    }

    #[test]
    fn le_treats_missing_as_zero() {
        assert!(vc(&[1, 2]).le(&vc(&[1, 2, 3])));
        assert!(vc(&[1, 2, 0]).le(&vc(&[1, 2])));
        assert!(!vc(&[1, 2, 1]).le(&vc(&[1, 2])));
        assert!(!vc(&[2]).le(&vc(&[1, 5])));
        assert!(VectorClock::new().le(&vc(&[0])));
    }

    #[test]
    fn partial_order() {
        assert_eq!(
            vc(&[1, 2]).partial_cmp(&vc(&[1, 2, 0])),
            Some(Ordering::Equal)
        );
        assert_eq!(vc(&[1, 1]).partial_cmp(&vc(&[1, 2])), Some(Ordering::Less));
        assert_eq!(vc(&[2, 1]).partial_cmp(&vc(&[1, 2])), None);
    }

    #[test]
    fn join_slice_ignores_trailing_zeros() {
        let mut a = vc(&[1, 5]);
        a.join_slice(&[3, 2, 0, 0]);
        assert_eq!(a.as_slice(), &[3, 5]);
        a.join_slice(&[0, 0, 4, 0]);
        assert_eq!(a.as_slice(), &[3, 5, 4]);
        a.join_slice(&[]);
        assert_eq!(a.as_slice(), &[3, 5, 4]);
    }

    #[test]
    fn copy_from_replaces() {
        let mut a = vc(&[4, 4, 4]);
        a.copy_from(&vc(&[1]));
        assert_eq!(a.as_slice(), &[1]);
        assert_eq!(a.get(2), 0);
    }

    #[test]
    fn epoch_packs_and_compares() {
        let e = Epoch::new(1023, u32::MAX);
        assert_eq!(e.thread(), 1023);
        assert_eq!(e.clock(), u32::MAX);
        let e = Epoch::new(2, 5);
        assert!(e.le_vc(&vc(&[0, 0, 5])));
        assert!(e.le_vc(&vc(&[0, 0, 6])));
        assert!(!e.le_vc(&vc(&[9, 9, 4])));
        assert!(!e.le_vc(&vc(&[9, 9])));
        assert!(Epoch::BOTTOM.le_vc(&VectorClock::new()));
        assert!(Epoch::BOTTOM.is_bottom());
        assert_eq!(vc(&[3, 8]).epoch(1), Epoch::new(1, 8));
        assert_eq!(format!("{:?}", Epoch::new(3, 7)), "7@3");
    }
}
