//! Growing a set of events to its sync-preserving closure: the smallest superset
//! closed under thread order (with fork/join), reads-from, and the lock rule (when two
//! acquires of a lock are in the set, the earlier one's release is too).
//!
//! A set is per-thread prefix lengths (`c[v]` events of thread `v`), a *cut*. Closing
//! is incremental: each thread's prefix beyond what was already processed is handled
//! once per growth — its new acquires noted and, where needed, its TRF deltas joined
//! (see [`super::history`]) — so the work is proportional to what is added.
//!
//! TRF timestamps are downward closed (an event's timestamp holds the timestamps of
//! all events in it), so most of a growth needs no deltas: when a delta item `(u, val)`
//! of thread `v` is joined, `u`'s first `val` events come with their timestamps, which
//! `v`'s does hold. So only growths not explained by a TRF timestamp — the seed, and
//! releases the lock rule adds — have their deltas joined, from where the thread's
//! implied prefix (`tdone`) ends; and a seed at a thread's latest event joins its
//! whole current timestamp (`T` words) instead. Without this, every closure would
//! re-join the deltas of every event it holds: `O(T)` per delta item and closure.
//!
//! The lock rule without searching: in a closed set, of the critical sections on a
//! lock that are open at their thread's cut (acquire in, release out) only the one
//! with the trace-latest acquire in the set can remain. So a closure keeps, per lock,
//! the latest acquire in it and its *holder* (the thread open on it at its cut, if
//! that acquire's), and enforces: when a later acquire joins, the holder releases;
//! when a thread's cut grows into a critical section, it releases unless it holds the
//! latest acquire, in which case any older holder releases. The critical sections open
//! at a cut are found from the cut's last acquire and those open around it.

use super::history::{History, NONE};
use crate::clock::join_reporting;

/// A set of events under closure, with the per-lock facts of the lock rule.
#[derive(Debug, Clone, Default)]
pub(super) struct Closure {
    /// Per thread, the prefix length in the set.
    pub c: Vec<u32>,
    /// Per thread, the prefix already processed (equal to `c` after a close).
    done: Vec<u32>,
    /// Per thread `v`, a prefix whose TRF timestamp the set already holds (or will
    /// once the close ends): `TRF(v, tdone[v] - 1) ⊆ c`. Equal to `c` after a close.
    tdone: Vec<u32>,
    /// Per thread `v`, where the processed prefix ends in its log: a number of its
    /// TRF deltas at positions below `tdone[v]` (a lower bound: a growth gallops from
    /// it to `tdone[v]`) and the number of its acquires at positions below `done[v]`.
    /// Both only grow, so a growth resumes there instead of searching the (trace-long)
    /// logs.
    cursor: Vec<[u32; 2]>,
    /// Per thread `v`, a position below which `v` has no acquire beyond the processed
    /// ones (its next acquire's, or its length when it had none left: later acquires
    /// lie beyond). A growth of `v` that stays below it and needs no deltas has
    /// nothing to do, which is found here without touching `v`'s (cold) log; on many
    /// threads most growths are such.
    next_acq: Vec<u32>,
    /// Per lock, 1 + trace index of the latest acquire in the set (0: none).
    latest: Vec<u64>,
    /// Per lock, (thread + 1, index in the thread's acquires) of the last thread seen
    /// open on it at its cut with the latest acquire (0: none). Stale once that
    /// thread's cut passes the release; checked on use.
    holder: Vec<(u32, u32)>,
}

impl Closure {
    /// Replaces `self` by a copy of `other`, reusing allocations.
    pub fn copy_from(&mut self, other: &Closure) {
        self.c.clone_from(&other.c);
        self.done.clone_from(&other.done);
        self.tdone.clone_from(&other.tdone);
        self.cursor.clone_from(&other.cursor);
        self.next_acq.clone_from(&other.next_acq);
        self.latest.clone_from(&other.latest);
        self.holder.clone_from(&other.holder);
    }
}

/// Reusable buffers of [`History::seed_and_close`].
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// Threads whose prefix grew beyond `done` (each at most once: `queued`).
    work: Vec<u32>,
    queued: Vec<bool>,
}

impl Scratch {
    #[inline]
    fn grew(&mut self, v: usize) {
        if !self.queued[v] {
            self.queued[v] = true;
            self.work.push(v as u32);
        }
    }
}

impl History {
    /// Adds the thread-order predecessors of the event at position `p` of thread `t`
    /// to `cl` (its thread's first `p` events, or for a first event its fork) and grows
    /// `cl` to its closure. `cl` must be closed (as after a previous call, or a copy of
    /// a closed closure, or new).
    ///
    /// Only the seeded thread can lie beyond what is processed, so the work starts
    /// there instead of at a scan of every thread; `s.queued` is all false between
    /// calls (each queued thread is unmarked when taken), so it is not reset either.
    pub fn seed_and_close(&self, cl: &mut Closure, t: u32, p: u32, s: &mut Scratch) {
        let n = self.thread_count();
        cl.c.resize(n, 0);
        cl.done.resize(n, 0);
        cl.tdone.resize(n, 0);
        cl.cursor.resize(n, [0, 0]);
        cl.next_acq.resize(n, 0);
        cl.latest.resize(self.lock_count(), 0);
        cl.holder.resize(self.lock_count(), (0, 0));
        if s.queued.len() < n {
            s.queued.resize(n, false);
        }
        debug_assert!(s.work.is_empty() && s.queued.iter().all(|&q| !q));
        debug_assert!(cl.c == cl.done && cl.c == cl.tdone, "not closed");
        let log = self.threads.get(t as usize);
        if p > 0 && log.is_some_and(|l| l.len == p) {
            // pred(e) is the thread's latest event, whose TRF timestamp is at hand
            // whole: joining it spares joining the deltas of every thread it reaches.
            let trf = self.trf_of(t);
            join_trf(&mut cl.c, &mut cl.tdone, trf, s);
        } else {
            let seed = if p > 0 {
                Some((t, p))
            } else {
                log.and_then(|l| l.fork)
                    .map(|(parent, fork)| (parent, fork + 1))
            };
            if let Some((v, len)) = seed {
                let e = &mut cl.c[v as usize];
                if len > *e {
                    *e = len;
                    s.grew(v as usize);
                }
            }
        }
        while let Some(v) = s.work.pop() {
            let v = v as usize;
            s.queued[v] = false;
            let (from, to) = (cl.done[v], cl.c[v]);
            if to <= from {
                continue;
            }
            cl.done[v] = to;
            if to <= cl.next_acq[v] && to <= cl.tdone[v] {
                // No new acquire, and reads-from already explains the growth.
                continue;
            }
            let [deltas, lo] = cl.cursor[v];
            // Thread order, reads-from, fork/join: only the part of the growth whose
            // TRF timestamp is not implied by another's joined already.
            let td = cl.tdone[v];
            if td < to {
                let log = &self.threads[v];
                let k = skip_below(&log.delta_pos, deltas as usize, td, log.len);
                let k = self.join_deltas(&mut cl.c, &mut cl.tdone, v, k, to, s);
                cl.cursor[v][0] = k as u32;
                cl.tdone[v] = cl.tdone[v].max(to);
            }
            // Acquires added: a later latest acquire makes the holder release.
            let acqs = &self.threads[v].acquires;
            let mut hi = lo as usize;
            while hi < acqs.len() && acqs[hi].pos < to {
                let a = &acqs[hi];
                let l = a.lock as usize;
                if a.index + 1 > cl.latest[l] {
                    cl.latest[l] = a.index + 1;
                    self.release_stale_holder(cl, l, s);
                }
                hi += 1;
            }
            cl.cursor[v][1] = hi as u32;
            cl.next_acq[v] = acqs.get(hi).map_or(self.threads[v].len, |a| a.pos);
            // Critical sections open at the new cut: the cut's last acquire and those
            // open around it. Without a new acquire they are those open at the old cut
            // still open, which that growth already settled (each released, or the
            // holder of the latest acquire of its lock, released since when a later
            // one joined): nothing to do.
            if hi > lo as usize {
                let last = hi - 1;
                let start = if last == 0 {
                    0
                } else {
                    acqs[last - 1].below_end as usize
                };
                let around = &self.threads[v].below[start..acqs[last].below_end as usize];
                for k in std::iter::once(last as u32).chain(around.iter().copied()) {
                    let a = &acqs[k as usize];
                    if a.rel != NONE && a.rel < to {
                        continue;
                    }
                    let l = a.lock as usize;
                    if a.index + 1 < cl.latest[l] {
                        // Not the latest: its release joins.
                        if a.rel != NONE && a.rel >= cl.c[v] {
                            cl.c[v] = a.rel + 1;
                            s.grew(v);
                        }
                    } else {
                        self.release_stale_holder(cl, l, s);
                        cl.holder[l] = (v as u32 + 1, k);
                    }
                }
            }
        }
    }

    /// Makes the holder of lock `l` release when its acquire is no longer the latest.
    #[inline]
    fn release_stale_holder(&self, cl: &mut Closure, l: usize, s: &mut Scratch) {
        let (w, k) = cl.holder[l];
        if w == 0 {
            return;
        }
        let w = (w - 1) as usize;
        let a = &self.threads[w].acquires[k as usize];
        let cut = cl.c[w];
        let open = a.pos < cut && (a.rel == NONE || a.rel >= cut);
        if open && a.index + 1 < cl.latest[l] && a.rel != NONE {
            cl.c[w] = a.rel + 1;
            s.grew(w);
        }
        if !open || a.index + 1 < cl.latest[l] {
            cl.holder[l] = (0, 0);
        }
    }

    /// Joins into `c` the TRF deltas of thread `v` from its `lo`-th on, at positions
    /// below `to`; returns the index of the first delta not joined. An item `(u, val)`
    /// of a delta at position `q` says `TRF(u, val - 1) ⊆ TRF(v, q)`, which the set
    /// holds once `v`'s deltas up to `to` are joined: so `tdone[u]` rises to `val`.
    #[inline]
    fn join_deltas(
        &self,
        c: &mut [u32],
        tdone: &mut [u32],
        v: usize,
        lo: usize,
        to: u32,
        s: &mut Scratch,
    ) -> usize {
        let log = &self.threads[v];
        let mut start = if lo == 0 {
            0
        } else {
            log.delta_end[lo - 1] as usize
        };
        let mut k = lo;
        while k < log.delta_pos.len() && log.delta_pos[k] < to {
            let end = log.delta_end[k] as usize;
            for &(u, val) in &log.delta_items[start..end] {
                let u = u as usize;
                if val > tdone[u] {
                    tdone[u] = val;
                    if val > c[u] {
                        c[u] = val;
                        s.grew(u);
                    }
                }
            }
            start = end;
            k += 1;
        }
        k
    }
}

/// Joins a whole TRF timestamp `trf` into `c`, which then holds the TRF timestamp of
/// every event it reaches (`tdone` rises with it).
fn join_trf(c: &mut [u32], tdone: &mut [u32], trf: &[u32], s: &mut Scratch) {
    join_reporting(tdone, trf, |u, val| {
        if val > c[u] {
            c[u] = val;
            s.grew(u);
        }
    });
}

/// The first index at or after `from` of ascending `pos` (positions below `len`) whose
/// value is at least `x`, galloping from `from` or back from the end, whichever is
/// nearer by position: logarithmic in the distance.
///
/// A closure's cursor only moves when it joins deltas, while reads-from mostly moves
/// its cut: so the cursor often lags far behind `x`, which on many threads tends to lie
/// among a thread's recent events, and each galloping step is a cache miss.
#[inline]
fn skip_below(pos: &[u32], from: usize, x: u32, len: u32) -> usize {
    let Some(&first) = pos.get(from).filter(|&&q| q < x) else {
        return from;
    };
    if len.saturating_sub(x) < x - first {
        return gallop_back(pos, from, x);
    }
    // pos[lo] < x; find hi with pos[hi] >= x (or the end) by doubling steps.
    let (mut lo, mut step) = (from, 1);
    let hi = loop {
        let hi = lo + step;
        if hi >= pos.len() || pos[hi] >= x {
            break hi.min(pos.len());
        }
        lo = hi;
        step *= 2;
    };
    lo + 1 + pos[lo + 1..hi].partition_point(|&q| q < x)
}

/// [`skip_below`] from the end: `pos[from] < x`.
#[inline]
fn gallop_back(pos: &[u32], from: usize, x: u32) -> usize {
    // Every index from `hi` on holds at least `x`; step back doubling until one below.
    let (mut hi, mut step) = (pos.len(), 1);
    loop {
        let lo = hi.saturating_sub(step).max(from);
        if pos[lo] < x {
            return lo + 1 + pos[lo + 1..hi].partition_point(|&q| q < x);
        }
        hi = lo;
        step *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    /// `skip_below` against a plain search, from every start, with `x` near either end.
    #[test]
    fn skip_below_finds_the_first_at_least() {
        let mut rng = XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut next = move |n: u64| rng.below(n) as u32;
        for _ in 0..500 {
            let mut pos: Vec<u32> = (0..next(40)).map(|_| next(200)).collect();
            pos.sort_unstable();
            pos.dedup();
            let len = pos.last().map_or(0, |&q| q + 1) + next(5);
            for from in 0..=pos.len() {
                for x in 0..=len {
                    let want = from + pos[from..].partition_point(|&q| q < x);
                    assert_eq!(skip_below(&pos, from, x, len), want, "{pos:?} {from} {x}");
                }
            }
        }
    }
}
