//! Exact access history: per variable, per thread, the epoch, location and index of
//! that thread's last read and last write. Since a thread's accesses are ordered by
//! program order, an access races with *some* earlier access of thread `u` iff it
//! races with `u`'s last one, so this decides "races with at least one earlier
//! conflicting access" exactly for any partial order containing program order.
//! Variables of many threads keep only the slots no later access subsumes, which is
//! exact for transitive orders with downward-closed clocks (every engine's; see
//! `wide`).

mod wide;

use wasmgrind_trace::Op;

use crate::clock::Tid;
use crate::id_map::{prefetch, IdMap};
use crate::report::EventRef;

/// One thread's last accesses to one variable. Clock 0 means "none".
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    thread: Tid,
    w_clock: u32,
    r_clock: u32,
    w_loc: u32,
    r_loc: u32,
    /// False only for the inline slot of a variable no thread accessed yet.
    used: bool,
    /// Only in [`VarHistory::first`] (it fits the padding there), a fact about the
    /// variable: what the last access found, [`LAST_CLEAN_READ`] / [`LAST_CLEAN_WRITE`]
    /// when it raced with nothing as a read / as a write (0: raced, or unknown).
    last_clean: u8,
    /// Only in [`VarHistory::first`]: the slot of the last access (0: `first`, `i + 1`:
    /// `rest[i]`; once `rest` is wide, a hint: its index in the live slots).
    last_slot: u16,
    w_index: u64,
    r_index: u64,
}

/// [`Slot::last_clean`]: the last access raced with no other slot's last write.
const LAST_CLEAN_READ: u8 = 1;
/// [`Slot::last_clean`]: the last access raced with no other slot's last access.
const LAST_CLEAN_WRITE: u8 = 2;

impl Slot {
    /// The access of this slot that an access (a write when `is_write`) ordered after
    /// clock `k` of the slot's thread races with: its last write, else its last read.
    #[inline]
    fn conflict(&self, is_write: bool, k: u32) -> Option<EventRef> {
        if self.w_clock > k {
            Some(EventRef {
                thread: self.thread,
                loc: self.w_loc,
                index: self.w_index,
                op: Op::Write,
            })
        } else if is_write && self.r_clock > k {
            Some(EventRef {
                thread: self.thread,
                loc: self.r_loc,
                index: self.r_index,
                op: Op::Read,
            })
        } else {
            None
        }
    }

    /// Records access `e` at clock `own_clock` as this slot's last read or write.
    #[inline]
    fn record(&mut self, e: &EventRef, is_write: bool, own_clock: u32) {
        self.thread = e.thread;
        self.used = true;
        if is_write {
            self.w_clock = own_clock;
            self.w_loc = e.loc;
            self.w_index = e.index;
        } else {
            self.r_clock = own_clock;
            self.r_loc = e.loc;
            self.r_index = e.index;
        }
    }
}

/// One variable's history. Layout: most variables are only ever touched by one thread,
/// so the first thread's slot is inline and the whole record is one 64-byte cache line;
/// the slots of further threads (in first-access order, after `first`) live in `rest`.
#[derive(Debug, Default)]
#[repr(align(64))]
struct VarHistory {
    /// The first thread's slot; once `rest` is wide, only the facts about the variable
    /// (`used`, `last_clean`) and, in `thread`, the thread of the last access.
    first: Slot,
    rest: Rest,
}

/// The slots of a variable's further threads.
#[derive(Debug)]
enum Rest {
    /// Fewer than [`WIDE_FROM`] threads in all: whole slots, in first-access order.
    Few(Vec<Slot>),
    /// [`WIDE_FROM`] threads or more: the slots not subsumed by later accesses,
    /// `first`'s included (see `wide`).
    Wide(Box<wide::WideSlots>),
}

impl Default for Rest {
    fn default() -> Self {
        Rest::Few(Vec::new())
    }
}

/// Threads of a variable from which its slots turn wide: from there on, scanning every
/// thread's slot costs more than dropping the subsumed ones.
const WIDE_FROM: usize = 8;

/// Per-variable access history (memory: variables × threads that touched them).
#[derive(Debug, Default)]
pub struct AccessHistory {
    vars: IdMap<VarHistory>,
}

impl AccessHistory {
    /// Empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hints that `var` will be accessed soon (see [`IdMap::prefetch`]).
    #[inline]
    pub fn prefetch(&self, var: u64) {
        self.vars.prefetch(var);
    }

    /// Bytes of the per-variable records (not counting further threads' slots).
    pub fn bytes(&self) -> usize {
        self.vars.bytes()
    }

    /// Hints the slots of further threads of `var`, once its record is in cache (see
    /// [`crate::run::Prefetch::prefetch_indirect`]).
    #[inline]
    pub fn prefetch_rest(&self, var: u64) {
        match self.vars.get(var).map(|h| &h.rest) {
            Some(Rest::Few(rest)) => {
                if let Some(s) = rest.first() {
                    prefetch(s);
                }
            }
            // The live list's header: its slots are one more load away.
            Some(Rest::Wide(w)) => prefetch(&**w),
            None => {}
        }
    }

    /// Checks access `e` (a read or write of `var` at epoch `own_clock` of its thread)
    /// against every other thread's last conflicting access, then records it.
    ///
    /// `known(u)` must give the largest clock of thread `u` ordered before `e` under the
    /// engine's partial order; along one thread's accesses it may only grow (true of any
    /// partial order containing program order), which lets a thread that re-accesses a
    /// variable nobody touched since its race-free last access skip the scan. The order
    /// must also be transitive with downward-closed clocks (knowing clock `b` of `v`
    /// implies knowing all `v`'s event at `b` knew, as with vector clocks), so that a
    /// variable of many threads can drop subsumed accesses (see `wide`).
    ///
    /// Returns an earlier access `e` races with, if any: the first conflicting slot in
    /// first-access order (on a variable of `WIDE_FROM` threads or more, among those
    /// not dropped). Whether it returns one is exact.
    #[inline]
    pub fn access(
        &mut self,
        var: u64,
        e: EventRef,
        own_clock: u32,
        known: impl Fn(Tid) -> u32,
    ) -> Option<EventRef> {
        let h = self.vars.entry(var);
        let is_write = e.op == Op::Write;
        let t = e.thread;
        if !h.first.used {
            // No access yet (so `rest` is empty too): nothing to race with.
            h.first.record(&e, is_write, own_clock);
            h.first.last_clean = LAST_CLEAN_READ | LAST_CLEAN_WRITE;
            return None;
        }
        // Fast path: the last access was this thread's and raced with nothing (as a
        // write, or as a read when this is a read). The other slots did not change
        // since, and what this thread knows only grew, so this one races with nothing.
        let need = if is_write {
            LAST_CLEAN_WRITE
        } else {
            LAST_CLEAN_READ
        };
        let rest = match &mut h.rest {
            Rest::Few(rest) => rest,
            Rest::Wide(w) => {
                // `first.last_slot`: where the last access's slot was (a hint).
                let hint = usize::from(h.first.last_slot);
                let (racing, slot) = if h.first.last_clean & need != 0 && h.first.thread == t {
                    (None, w.record_unchecked(hint, &e, is_write, own_clock))
                } else {
                    w.access(&e, is_write, own_clock, known)
                };
                h.first.last_slot = u16::try_from(slot).unwrap_or(u16::MAX);
                h.first.thread = t;
                h.first.last_clean = clean_after(racing.is_some(), is_write);
                return racing;
            }
        };
        if h.first.last_clean & need != 0 {
            let last = h.first.last_slot as usize;
            let slot = if last == 0 {
                Some(&mut h.first)
            } else {
                rest.get_mut(last - 1)
            };
            if let Some(slot) = slot.filter(|s| s.thread == t) {
                slot.record(&e, is_write, own_clock);
                return None;
            }
        }
        let mut racing = None;
        if h.first.thread != t {
            racing = h.first.conflict(is_write, known(h.first.thread));
        }
        // One pass finds both the first conflicting slot and this thread's own, and
        // stops once both are known (the own one is `first` or not yet present when
        // a scan of all others is needed anyway).
        let mut own = None;
        let own_is_first = h.first.thread == t;
        for (i, s) in rest.iter().enumerate() {
            if s.thread == t {
                own = Some(i);
                if racing.is_some() {
                    break;
                }
            } else if racing.is_none() {
                racing = s.conflict(is_write, known(s.thread));
                if racing.is_some() && own_is_first {
                    break;
                }
            }
        }
        let last = if own_is_first {
            h.first.record(&e, is_write, own_clock);
            0
        } else {
            let i = match own {
                Some(i) => i,
                None if rest.len() + 2 >= WIDE_FROM => {
                    // A new thread makes `WIDE_FROM`: every slot moves to the wide form,
                    // `first` keeps the facts about the variable.
                    let mut w =
                        wide::WideSlots::from_slots(std::iter::once(&h.first).chain(&*rest));
                    let slot = w.record_unchecked(0, &e, is_write, own_clock);
                    h.rest = Rest::Wide(Box::new(w));
                    h.first = Slot {
                        thread: t,
                        used: true,
                        last_clean: clean_after(racing.is_some(), is_write),
                        last_slot: u16::try_from(slot).unwrap_or(u16::MAX),
                        ..Slot::default()
                    };
                    return racing;
                }
                None => {
                    rest.push(Slot::default());
                    rest.len() - 1
                }
            };
            rest[i].record(&e, is_write, own_clock);
            i + 1
        };
        // The fast path needs the slot's index; past `u16` it is simply not taken.
        h.first.last_slot = u16::try_from(last).unwrap_or(0);
        h.first.last_clean = match racing {
            None if u16::try_from(last).is_err() => 0,
            _ => clean_after(racing.is_some(), is_write),
        };
        racing
    }
}

/// [`Slot::last_clean`] after an access (a write when `is_write`) that raced or not.
#[inline]
fn clean_after(raced: bool, is_write: bool) -> u8 {
    match (raced, is_write) {
        (true, _) => 0,
        (false, true) => LAST_CLEAN_READ | LAST_CLEAN_WRITE,
        (false, false) => LAST_CLEAN_READ,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    /// Event `index` of `thread` (its location derived from the index).
    pub(super) fn ev(thread: Tid, op: Op, index: u64) -> EventRef {
        EventRef {
            thread,
            loc: 100 + index as u32,
            index,
            op,
        }
    }

    #[test]
    fn var_history_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<VarHistory>(), 64);
    }

    #[test]
    fn reports_first_conflicting_thread_in_access_order() {
        let mut h = AccessHistory::new();
        // Nothing is ordered: known clock 0 for everyone.
        let none = |_| 0;
        assert_eq!(h.access(7, ev(0, Op::Read, 0), 1, none), None);
        assert_eq!(
            h.access(7, ev(1, Op::Read, 1), 1, none),
            None,
            "reads share"
        );
        assert_eq!(
            h.access(7, ev(2, Op::Write, 2), 1, none),
            Some(ev(0, Op::Read, 0))
        );
        // Thread 0 now conflicts with thread 2's write (thread 1 only read).
        assert_eq!(
            h.access(7, ev(0, Op::Read, 3), 1, none),
            Some(ev(2, Op::Write, 2))
        );
        // Another variable is independent.
        assert_eq!(h.access(8, ev(1, Op::Write, 4), 1, none), None);
    }

    /// The history against a naive model (every access kept, in trace order) on random
    /// accesses of many threads in scattered id order, ordered by random vector-clock
    /// synchronization (a transitive order, as every engine's is): the same accesses
    /// race, and each with an access it races with in the model; with few threads (no
    /// wide slots) the very first conflict in first-access order.
    #[test]
    fn matches_naive_model_with_many_threads() {
        let mut rng = XorShift::new(0x2545_f491_4f6c_dd1d);
        let mut next = move |n: u64| rng.below(n);
        let mut races = 0;
        for round in 0..200 {
            // Few threads make runs of one thread's accesses (the fast path) common.
            let threads = if round % 2 == 0 { 3 } else { 40 };
            let mut h = AccessHistory::new();
            // (var, event, clock) of every access so far.
            let mut all: Vec<(u64, EventRef, u32)> = Vec::new();
            // vc[t]: thread t's vector clock; its own entry is its current epoch.
            let mut vc = vec![[0u32; 64]; 64];
            for (t, c) in vc.iter_mut().enumerate() {
                c[t] = 1;
            }
            for i in 0..400u64 {
                let t = (next(threads) * 37 % 64) as usize;
                // Sometimes acquire from another thread, which then starts a new epoch
                // (its published clock stays below its later accesses).
                if next(3) == 0 {
                    let u = (next(threads) * 37 % 64) as usize;
                    if u != t {
                        let from = vc[u];
                        for (a, b) in vc[t].iter_mut().zip(from) {
                            *a = (*a).max(b);
                        }
                        vc[u][u] += 1;
                    }
                }
                let var = next(3);
                let op = if next(3) == 0 { Op::Write } else { Op::Read };
                let known = vc[t];
                let own = known[t];
                let e = ev(t as Tid, op, i);
                // Naive: per other thread in first-access order, its last write, else
                // (for a write) its last read, racing when beyond the known clock.
                let mut order: Vec<Tid> = Vec::new();
                for &(v, a, _) in &all {
                    if v == var && a.thread != t as Tid && !order.contains(&a.thread) {
                        order.push(a.thread);
                    }
                }
                let last = |u: Tid, op: Op| {
                    all.iter()
                        .rev()
                        .find(|(v, a, _)| *v == var && a.thread == u && a.op == op)
                        .copied()
                };
                let conflict = |u: Tid| {
                    let k = known[u as usize];
                    match (last(u, Op::Write), last(u, Op::Read)) {
                        (Some((_, w, c)), _) if c > k => Some(w),
                        (_, Some((_, r, c))) if op == Op::Write && c > k => Some(r),
                        _ => None,
                    }
                };
                let want = order.iter().find_map(|&u| conflict(u));
                let got = h.access(var, e, own, |u| known[u as usize]);
                if threads == 3 {
                    assert_eq!(got, want, "access {i}");
                } else {
                    assert_eq!(got.is_some(), want.is_some(), "access {i}");
                    // The reported access is the other thread's last write or (for
                    // a write) last read, not ordered before this access.
                    if let Some(g) = got {
                        let races_with = |op: Op| {
                            last(g.thread, op)
                                .is_some_and(|(_, a, c)| a == g && c > known[g.thread as usize])
                        };
                        assert!(
                            races_with(Op::Write) || (op == Op::Write && races_with(Op::Read)),
                            "access {i}: {g:?}"
                        );
                    }
                }
                races += usize::from(got.is_some());
                all.push((var, e, own));
            }
        }
        assert!(races > 1000, "{races} races");
    }

    #[test]
    fn ordered_accesses_do_not_race_and_own_slot_is_updated() {
        let mut h = AccessHistory::new();
        assert_eq!(h.access(1, ev(0, Op::Write, 0), 1, |_| 0), None);
        assert_eq!(
            h.access(1, ev(0, Op::Write, 1), 2, |_| 0),
            None,
            "same thread"
        );
        // Thread 1 knows thread 0 up to clock 1 only: the write at clock 2 races.
        assert_eq!(
            h.access(1, ev(1, Op::Read, 2), 1, |u| u32::from(u == 0)),
            Some(ev(0, Op::Write, 1))
        );
        // Knowing clock 2 of thread 0 orders it.
        assert_eq!(
            h.access(1, ev(1, Op::Write, 3), 2, |u| if u == 0 { 2 } else { 0 }),
            None
        );
        // Thread 2 knows thread 0 but not thread 1's write at clock 2 (its read at 1 is known).
        assert_eq!(
            h.access(1, ev(2, Op::Write, 4), 1, |u| if u == 0 { 2 } else { 1 }),
            Some(ev(1, Op::Write, 3))
        );
    }
}
