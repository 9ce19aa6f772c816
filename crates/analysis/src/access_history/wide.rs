//! The slots of a variable many threads touched, kept short by dropping accesses a
//! later one subsumes.
//!
//! Every engine using [`super::AccessHistory`] orders events by a transitive relation
//! containing program order, whose `known` clocks are downward closed (knowing clock
//! `b` of thread `v` means knowing everything `v`'s event at `b` knew). So when an
//! access `y` finds an earlier access `x` of another thread ordered before it, `x`
//! can be dropped if every later access that conflicts with `x` conflicts with `y`
//! (a write `x` needs a write `y`; a read `x` any `y`): a later `e` is either ordered
//! after `y`, hence after `x`, or races with `y` (which stays until it is subsumed in
//! turn), so whether `e` races with *something* is unchanged. The racy accesses are
//! exactly those of the full history; only which earlier access a race is reported
//! with may differ (the first conflicting live slot, in an order that dropping
//! reshuffles).

use super::Slot;
use crate::clock::Tid;
use crate::report::EventRef;

/// The live slots of one variable. Invariant: each thread at most once, every slot
/// with a non-zero clock (0: dropped or none).
#[derive(Debug, Default)]
pub(super) struct WideSlots {
    live: Vec<Slot>,
}

impl WideSlots {
    /// The slots `slots` (in first-access order, each thread once) in wide form.
    pub fn from_slots<'a>(slots: impl IntoIterator<Item = &'a Slot>) -> Self {
        WideSlots {
            live: slots
                .into_iter()
                .filter(|s| s.w_clock != 0 || s.r_clock != 0)
                .copied()
                .collect(),
        }
    }

    /// Number of live slots.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Checks access `e` (a write when `is_write`, at clock `own_clock` of its thread)
    /// against every other live slot, drops what it subsumes (see the module docs), and
    /// records it. `known(u)`: the largest clock of `u` ordered before `e`. Returns the
    /// first conflicting slot's access, as [`Slot::conflict`] gives it, and the index of
    /// the slot the access went to.
    #[inline]
    pub fn access(
        &mut self,
        e: &EventRef,
        is_write: bool,
        own_clock: u32,
        known: impl Fn(Tid) -> u32,
    ) -> (Option<EventRef>, usize) {
        let t = e.thread;
        let mut racing = None;
        let mut own = None;
        // One pass finds the first conflict and this thread's own slot, dropping what
        // the access subsumes among the slots it checks; it stops once both are found
        // (dropping is optional: a racy access leaves the rest for a later one).
        let mut i = 0;
        while i < self.live.len() {
            let s = &mut self.live[i];
            if s.thread == t {
                // This thread's earlier read precedes a write of it in program order.
                if is_write {
                    s.r_clock = 0;
                }
                own = Some(i);
                if racing.is_some() {
                    break;
                }
            } else if racing.is_none() {
                let k = known(s.thread);
                racing = s.conflict(is_write, k);
                if racing.is_none() {
                    if is_write && s.w_clock <= k {
                        s.w_clock = 0;
                    }
                    if s.r_clock <= k {
                        s.r_clock = 0;
                    }
                    if s.w_clock == 0 && s.r_clock == 0 {
                        // The last slot moves here and is looked at next.
                        self.live.swap_remove(i);
                        continue;
                    }
                } else if own.is_some() {
                    break;
                }
            }
            i += 1;
        }
        (racing, self.record(own, e, is_write, own_clock))
    }

    /// Records access `e` without a check (its thread's last access raced with
    /// nothing and nobody accessed the variable since); `hint`: where its thread's
    /// slot was last (checked). Returns the slot's index.
    #[inline]
    pub fn record_unchecked(
        &mut self,
        hint: usize,
        e: &EventRef,
        is_write: bool,
        own_clock: u32,
    ) -> usize {
        let own = match self.live.get(hint) {
            Some(s) if s.thread == e.thread => Some(hint),
            _ => self.live.iter().position(|s| s.thread == e.thread),
        };
        self.record(own, e, is_write, own_clock)
    }

    #[inline]
    fn record(
        &mut self,
        own: Option<usize>,
        e: &EventRef,
        is_write: bool,
        own_clock: u32,
    ) -> usize {
        let i = own.unwrap_or_else(|| {
            self.live.push(Slot::default());
            self.live.len() - 1
        });
        self.live[i].record(e, is_write, own_clock);
        i
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ev;
    use super::*;
    use wasmgrind_trace::Op;

    #[test]
    fn ordered_accesses_are_dropped_by_what_subsumes_them() {
        let mut w = WideSlots::default();
        let none = |_| 0;
        assert_eq!(w.access(&ev(1, Op::Write, 0), true, 1, none).0, None);
        assert_eq!(
            w.access(&ev(2, Op::Read, 1), false, 1, none).0,
            Some(ev(1, Op::Write, 0))
        );
        assert_eq!(w.len(), 2);
        // A read ordered after both drops thread 2's read but not thread 1's write.
        assert_eq!(w.access(&ev(3, Op::Read, 2), false, 1, |_| 1).0, None);
        assert_eq!(w.live.iter().map(|s| s.thread).collect::<Vec<_>>(), [1, 3]);
        // A write ordered after everything leaves only itself.
        assert_eq!(w.access(&ev(4, Op::Write, 3), true, 1, |_| 1).0, None);
        assert_eq!(w.live.iter().map(|s| s.thread).collect::<Vec<_>>(), [4]);
        // A racy write keeps what it does not order, and reports the first of it.
        w.record_unchecked(0, &ev(5, Op::Read, 4), false, 1);
        assert_eq!(
            w.access(&ev(6, Op::Write, 5), true, 1, |_| 0).0,
            Some(ev(4, Op::Write, 3))
        );
        assert_eq!(w.len(), 3);
        // Own slots: a thread's write drops its own earlier read, keeps its place.
        assert_eq!(w.access(&ev(5, Op::Write, 6), true, 2, |_| 1).0, None);
        let own = w.live.iter().find(|s| s.thread == 5).unwrap();
        assert_eq!((own.w_clock, own.r_clock), (2, 0));
    }

    #[test]
    fn unchecked_records_find_their_slot_whatever_the_hint() {
        let mut w = WideSlots::default();
        for (i, t) in [3, 1, 2].into_iter().enumerate() {
            assert_eq!(
                w.record_unchecked(0, &ev(t, Op::Write, i as u64), true, 1),
                i
            );
        }
        // Right, stale and out-of-range hints all land in thread 2's slot.
        for hint in [2, 0, 7] {
            assert_eq!(w.record_unchecked(hint, &ev(2, Op::Read, 9), false, 4), 2);
        }
        assert_eq!(w.len(), 3);
        let s = &w.live[2];
        assert_eq!((s.thread, s.w_clock, s.r_clock), (2, 1, 4));
    }

    #[test]
    fn from_slots_keeps_every_live_field() {
        let mut s = Slot::default();
        s.record(&ev(4, Op::Write, 10), true, 3);
        s.record(&ev(4, Op::Read, 11), false, 5);
        let empty = Slot::default();
        let mut w = WideSlots::from_slots([&empty, &s]);
        assert_eq!(w.len(), 1);
        assert_eq!(
            w.access(&ev(0, Op::Write, 12), true, 1, |_| 4).0,
            Some(ev(4, Op::Read, 11))
        );
    }
}
