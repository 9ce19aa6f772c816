//! Exact access history: per variable, per thread, the epoch, location and index of
//! that thread's last read and last write. Since a thread's accesses are ordered by
//! program order, an access races with *some* earlier access of thread `u` iff it
//! races with `u`'s last one, so this decides "races with at least one earlier
//! conflicting access" exactly for any partial order containing program order.

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
    /// `rest[i]`).
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
    first: Slot,
    rest: Vec<Slot>,
}

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
        if let Some(s) = self.vars.get(var).and_then(|h| h.rest.first()) {
            prefetch(s);
        }
    }

    /// Checks access `e` (a read or write of `var` at epoch `own_clock` of its thread)
    /// against every other thread's last conflicting access, then records it.
    ///
    /// `known(u)` must give the largest clock of thread `u` ordered before `e` under the
    /// engine's partial order; along one thread's accesses it may only grow (true of any
    /// partial order containing program order), which lets a thread that re-accesses a
    /// variable nobody touched since its race-free last access skip the scan. Returns an earlier access `e` races with, if any: the
    /// first conflicting slot in first-access order.
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
        if h.first.last_clean & need != 0 {
            let last = h.first.last_slot as usize;
            let slot = if last == 0 {
                Some(&mut h.first)
            } else {
                h.rest.get_mut(last - 1)
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
        for (i, s) in h.rest.iter().enumerate() {
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
                None => {
                    h.rest.push(Slot::default());
                    h.rest.len() - 1
                }
            };
            h.rest[i].record(&e, is_write, own_clock);
            i + 1
        };
        // The fast path needs the slot's index; past `u16` it is simply not taken.
        h.first.last_slot = u16::try_from(last).unwrap_or(0);
        h.first.last_clean = match racing {
            Some(_) => 0,
            None if u16::try_from(last).is_err() => 0,
            None if is_write => LAST_CLEAN_READ | LAST_CLEAN_WRITE,
            None => LAST_CLEAN_READ,
        };
        racing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(thread: Tid, op: Op, index: u64) -> EventRef {
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
    /// accesses of many threads in scattered id order, with random "known" clocks.
    #[test]
    fn matches_naive_model_with_many_threads() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for round in 0..100 {
            // Few threads make runs of one thread's accesses (the fast path) common.
            let threads = if round % 2 == 0 { 3 } else { 40 };
            let mut h = AccessHistory::new();
            // (var, event, clock) of every access so far.
            let mut all: Vec<(u64, EventRef, u32)> = Vec::new();
            let mut clock = [0u32; 64];
            // known[t][u]: what thread t knows of u, growing at random.
            let mut known = vec![[0u32; 64]; 64];
            for i in 0..400u64 {
                let t = (next(threads) * 37 % 64) as Tid;
                let var = next(3);
                let op = if next(3) == 0 { Op::Write } else { Op::Read };
                clock[t as usize] += 1;
                for u in 0..64 {
                    let k = &mut known[t as usize][u];
                    if next(4) == 0 {
                        *k = (*k).max(next(u64::from(clock[u]) + 1) as u32);
                    }
                }
                let known = known[t as usize];
                let e = ev(t, op, i);
                // Naive: per other thread in first-access order, its last write, else
                // (for a write) its last read, racing when beyond the known clock.
                let mut order: Vec<Tid> = Vec::new();
                for &(v, a, _) in &all {
                    if v == var && a.thread != t && !order.contains(&a.thread) {
                        order.push(a.thread);
                    }
                }
                let last = |u: Tid, op: Op| {
                    all.iter()
                        .rev()
                        .find(|(v, a, _)| *v == var && a.thread == u && a.op == op)
                        .copied()
                };
                let want = order.iter().find_map(|&u| {
                    let k = known[u as usize];
                    match (last(u, Op::Write), last(u, Op::Read)) {
                        (Some((_, w, c)), _) if c > k => Some(w),
                        (_, Some((_, r, c))) if op == Op::Write && c > k => Some(r),
                        _ => None,
                    }
                });
                let got = h.access(var, e, clock[t as usize], |u| known[u as usize]);
                assert_eq!(got, want, "access {i}");
                all.push((var, e, clock[t as usize]));
            }
        }
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
