//! The per-granule step of the hot path: check a new access against a granule's cells,
//! report the conflicting unordered ones, and store it.
//!
//! Soundness rests on two facts: accesses arrive in a linearization consistent with
//! happens-before (a cell stored earlier is never ordered *after* a later access), and
//! same own-clock entry ⇒ same vector clock for one thread (see `threads`). From them:
//! - **Skip** (fast path): a cell of the same thread, same epoch and site that
//!   [covers](Cell::covers) the new access makes it redundant. Every cell the new access
//!   could race with was already checked against that cell, with the same verdict and
//!   the same site pair, and every later access racing the new one races that cell.
//! - **Replace** (lossless): a cell with the same site, ordered before the new access
//!   (always so for the same thread; via the clock for others, e.g. readers taking turns
//!   under a lock) and covered by it: any later access racing the old cell races the new
//!   one with the same site pair, so the new one takes its slot.
//! - **Evict** (lossy, only when all `max_cells` are used): prefer a cell ordered before
//!   the new access and covered by it (later races with it still show up, maybe under the
//!   new access's site); otherwise a pseudo-random cell, like ThreadSanitizer. Evicting can
//!   only miss races, never invent one: a race is only reported against a stored cell.

use crate::clock::VectorClock;

use super::cell::Cell;
use super::shadow::{GranuleMut, INLINE_CELLS};

/// What the step did with the new access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Redundant: an equivalent cell exists (fast path).
    Skipped,
    /// Stored in a free slot or over a cell it makes redundant.
    Stored,
    /// Stored over a cell holding other information.
    Evicted,
}

/// Slots found while scanning, as unified indices (inline first, then spilled).
#[derive(Default)]
struct Scan {
    free: Option<usize>,
    replace: Option<usize>,
    victim: Option<usize>,
}

/// Scans `cells` (unified indices from `base`); true when the new access is redundant.
///
/// Invariant on entry: `new` is non-empty and `clock` is its thread's current clock.
#[inline(always)]
fn scan(
    cells: &mut [Cell],
    base: usize,
    new: Cell,
    clock: &VectorClock,
    scan: &mut Scan,
    on_race: &mut impl FnMut(Cell),
) -> bool {
    let t = new.tid();
    for (i, c) in cells.iter_mut().enumerate() {
        let cell = *c;
        if cell.is_empty() {
            scan.free.get_or_insert(base + i);
            continue;
        }
        if cell.tid() == t {
            // Same thread: ordered by program order, never a race.
            if cell.site() == new.site() && cell.clock() == new.clock() && cell.covers(new) {
                return true;
            }
        } else if cell.clock() > clock.get(cell.tid()) {
            // Another thread's access not ordered before the new one.
            if cell.conflicts(new) {
                on_race(cell);
            }
            continue;
        }
        // `cell` happens before `new`.
        if new.covers(cell) {
            if cell.site() == new.site() {
                if scan.replace.is_none() {
                    scan.replace = Some(base + i);
                } else {
                    // A second cell the new one subsumes: free it.
                    *c = Cell::EMPTY;
                    scan.free.get_or_insert(base + i);
                }
            } else {
                scan.victim.get_or_insert(base + i);
            }
        }
    }
    false
}

/// Checks `new` against granule `g`, calls `on_race` with every conflicting cell not
/// ordered before it, then stores it (at most `max_cells` cells per granule, ≥ the
/// inline ones). `rng` is the xorshift state for random eviction (never 0).
#[inline]
pub(crate) fn check_and_store(
    g: &mut GranuleMut<'_>,
    new: Cell,
    clock: &VectorClock,
    max_cells: usize,
    rng: &mut u32,
    mut on_race: impl FnMut(Cell),
) -> Step {
    let mut s = Scan::default();
    // Below the inline capacity only the first `max_cells` slots are used; cells spill
    // only once every inline slot is in use, so spilled indices start at INLINE_CELLS.
    let inline_used = max_cells.min(INLINE_CELLS);
    let extra_len = {
        let (inline, extra) = g.cells_up_to(max_cells);
        if scan(
            &mut inline[..inline_used],
            0,
            new,
            clock,
            &mut s,
            &mut on_race,
        ) || scan(extra, INLINE_CELLS, new, clock, &mut s, &mut on_race)
        {
            return Step::Skipped;
        }
        extra.len()
    };
    let total = inline_used + extra_len;
    let (slot, step) = match s.replace.or(s.free) {
        Some(i) => (i, Step::Stored),
        None if total < max_cells => {
            g.push_extra(new);
            return Step::Stored;
        }
        None => {
            let i = s.victim.unwrap_or_else(|| {
                // xorshift32: cheap, deterministic per detector, good enough to spread
                // evictions across slots.
                let mut x = *rng;
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *rng = x;
                x as usize % total
            });
            (i, Step::Evicted)
        }
    };
    let (inline, extra) = g.cells_up_to(max_cells);
    if slot < INLINE_CELLS {
        inline[slot] = new;
    } else {
        extra[slot - INLINE_CELLS] = new;
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::shadow::Shadow;

    fn vc(entries: &[(u32, u32)]) -> VectorClock {
        let mut v = VectorClock::new();
        for &(t, c) in entries {
            v.set(t, c);
        }
        v
    }

    fn run(shadow: &Shadow, new: Cell, clock: &VectorClock, max: usize) -> (Step, Vec<Cell>) {
        let mut races = Vec::new();
        let mut rng = 1;
        let mut chunk = shadow.lock_chunk(0);
        let step = check_and_store(
            &mut chunk.granule(0).here(),
            new,
            clock,
            max,
            &mut rng,
            |c| races.push(c),
        );
        (step, races)
    }

    #[test]
    fn same_epoch_same_site_is_skipped_and_new_epoch_replaces() {
        let s = Shadow::default();
        let w = Cell::new(1, 5, 0xFF, true, false, 3, 0);
        let c1 = vc(&[(1, 5)]);
        assert_eq!(run(&s, w, &c1, 4).0, Step::Stored);
        assert_eq!(run(&s, w.with_mask(0x0F), &c1, 4).0, Step::Skipped);
        let later = Cell::new(1, 6, 0xFF, true, false, 3, 0);
        assert_eq!(run(&s, later, &vc(&[(1, 6)]), 4).0, Step::Stored);
        let mut chunk = s.lock_chunk(0);
        let mut g = chunk.granule(0).here();
        let (inline, extra) = g.cells();
        assert_eq!(inline.iter().filter(|c| !c.is_empty()).count(), 1);
        assert_eq!(inline[0], later);
        assert!(extra.is_empty());
    }

    #[test]
    fn unordered_conflicting_cell_is_reported_ordered_one_is_not() {
        let s = Shadow::default();
        let w = Cell::new(1, 5, 0x0F, true, false, 3, 0);
        run(&s, w, &vc(&[(1, 5)]), 4);
        let r = Cell::new(2, 1, 0x08, false, false, 4, 0);
        assert_eq!(run(&s, r, &vc(&[(2, 1), (1, 4)]), 4).1, vec![w]);
        let r2 = Cell::new(3, 1, 0x08, false, false, 9, 0);
        assert!(run(&s, r2, &vc(&[(3, 1), (1, 5)]), 4).1.is_empty());
    }

    #[test]
    fn below_inline_capacity_only_max_cells_are_used() {
        let s = Shadow::default();
        for t in 1..=2 {
            let r = Cell::new(t, 1, 0xFF, false, false, t, 0);
            assert_eq!(run(&s, r, &vc(&[(t, 1)]), 2).0, Step::Stored);
        }
        let r = Cell::new(3, 1, 0xFF, false, false, 3, 0);
        assert_eq!(run(&s, r, &vc(&[(3, 1)]), 2).0, Step::Evicted);
        let mut chunk = s.lock_chunk(0);
        let mut g = chunk.granule(0).here();
        let (inline, extra) = g.cells();
        assert!(inline[..2].contains(&r));
        assert!(inline[2..].iter().all(|c| c.is_empty()) && extra.is_empty());
    }

    #[test]
    fn full_granule_spills_then_evicts() {
        let s = Shadow::default();
        let max = INLINE_CELLS + 1;
        for t in 1..=max as u32 {
            let r = Cell::new(t, 1, 0xFF, false, false, t, 0);
            assert_eq!(run(&s, r, &vc(&[(t, 1)]), max).0, Step::Stored);
        }
        assert_eq!(s.lock_chunk(0).granule(0).here().extra_len(), 1);
        let r = Cell::new(99, 1, 0xFF, false, false, 99, 0);
        assert_eq!(run(&s, r, &vc(&[(99, 1)]), max).0, Step::Evicted);
        let mut chunk = s.lock_chunk(0);
        let mut g = chunk.granule(0).here();
        let (inline, extra) = g.cells();
        assert!(inline.contains(&r) || extra.contains(&r));
    }
}
