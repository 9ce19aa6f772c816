//! What the sync-preserving closure needs to know about the past, recorded while the
//! trace streams by: per thread, the *thread-order + reads-from + fork/join* (TRF)
//! timestamp of every event as a log of deltas, and its acquires with their releases
//! and the critical sections open around them.
//!
//! Events are named by (thread, position in thread); a set of events closed under
//! thread order is a vector of per-thread prefix lengths. An event's TRF timestamp is
//! the smallest such vector containing the event and closed under thread order,
//! fork/join and reads-from (a read needs the last write before it).
//!
//! Memory layout: a TRF timestamp only changes beyond the thread's own entry at a
//! read of another thread's write, a join, or a thread's first event, so only those
//! changes are logged, as (thread, new value) items in one flat vector per thread.
//! Invariant: within a thread, timestamps grow monotonically, so the timestamp of
//! position `p` is the join of all deltas at positions `<= p` plus `p + 1` for the
//! thread itself, and a closure that already holds the timestamp of `q` only needs
//! the deltas in `(q, p]` to reach that of `p`.

use wasmgrind_trace::{Event, Op};

use crate::id_map::IdMap;
use crate::published_clock::{PublishedClock, Snapshots};

/// No release (an acquire not released yet, or never).
pub(super) const NONE: u32 = u32::MAX;

/// One acquire of a lock by one thread.
#[derive(Debug, Clone, Copy)]
pub(super) struct Acq {
    /// Position of the acquire in its thread.
    pub pos: u32,
    /// Lock index.
    pub lock: u32,
    /// Position of its release in the same thread, or [`NONE`].
    pub rel: u32,
    /// End of this acquire's entries in [`ThreadLog::below`].
    pub below_end: u32,
    /// Trace index of the acquire (orders acquires of different threads).
    pub index: u64,
}

/// One thread's log.
#[derive(Debug, Default)]
pub(super) struct ThreadLog {
    /// Events of the thread so far.
    pub len: u32,
    /// TRF timestamp of the thread's latest event (or, before its first event, of its
    /// fork), indexed by thread.
    trf: Vec<u32>,
    /// Positions that carry a delta, ascending.
    pub delta_pos: Vec<u32>,
    /// End of each delta's items in `delta_items`.
    pub delta_end: Vec<u32>,
    /// (thread, new entry) items of all deltas, in order.
    pub delta_items: Vec<(u32, u32)>,
    /// The thread's acquires, ascending.
    pub acquires: Vec<Acq>,
    /// For each acquire (flat, delimited by [`Acq::below_end`]), the indices of the
    /// thread's acquires still open when it was taken: with it, every critical section
    /// that can be open at a later cut (nesting depth, not history length).
    pub below: Vec<u32>,
    /// Indices of the acquires currently open.
    open: Vec<u32>,
    /// (parent, position of the fork in the parent), when the thread was forked.
    pub fork: Option<(u32, u32)>,
}

/// The recorded past of a trace (see the module docs).
#[derive(Debug, Default)]
pub(super) struct History {
    /// Per thread.
    pub threads: Vec<ThreadLog>,
    /// Distinct locks seen.
    locks: u32,
    /// Lock id → lock index + 1.
    lock_ids: IdMap<u32>,
    /// Per variable, the TRF timestamp of its last write (shared between writes).
    last_write: IdMap<PublishedClock>,
    /// Per thread, the TRF snapshot its writes share (see [`crate::published_clock`]).
    snaps: Snapshots,
    /// Scratch: the delta being built.
    delta: Vec<(u32, u32)>,
}

/// `dst := dst ⊔ src`, pushing every entry that grew onto `changed`.
fn join_tracked(dst: &mut Vec<u32>, src: &[u32], changed: &mut Vec<(u32, u32)>) {
    if dst.len() < src.len() {
        dst.resize(src.len(), 0);
    }
    for (i, (d, &s)) in dst.iter_mut().zip(src).enumerate() {
        if s > *d {
            *d = s;
            changed.push((i as u32, s));
        }
    }
}

impl History {
    /// Number of threads seen (as actors or as fork/join targets).
    #[inline]
    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }

    /// Number of distinct locks seen.
    #[inline]
    pub fn lock_count(&self) -> usize {
        self.locks as usize
    }

    /// Position the next event of thread `t` will have.
    #[inline]
    pub fn next_pos(&self, t: u32) -> u32 {
        self.threads.get(t as usize).map_or(0, |l| l.len)
    }

    /// The TRF timestamp of thread `t`'s latest event (before its first event: of its
    /// fork), indexed by thread; missing entries are 0.
    #[inline]
    pub fn trf_of(&self, t: u32) -> &[u32] {
        self.threads.get(t as usize).map_or(&[], |l| &l.trf)
    }

    fn ensure_thread(&mut self, t: usize) {
        if t >= self.threads.len() {
            self.threads.resize_with(t + 1, ThreadLog::default);
        }
    }

    /// Hints that variable `var` will be read or written soon.
    #[inline]
    pub fn prefetch(&self, var: u64) {
        self.last_write.prefetch(var);
    }

    /// Hints the timestamp a read `e` will join: its variable's last write's, when that
    /// is another thread's and new to `e`'s thread (the variable's record must be in
    /// cache: see [`Self::prefetch`]).
    #[inline]
    pub fn prefetch_join(&self, e: &Event) {
        if e.op != Op::Read {
            return;
        }
        if let Some(w) = self
            .last_write
            .get(e.decor)
            .filter(|w| w.thread != e.thread)
        {
            let known = self.trf_of(e.thread).get(w.thread as usize).copied();
            w.prefetch_if_new(known.unwrap_or(0));
        }
    }

    /// Records event `e` (trace index `index`) and returns its position in its thread.
    pub fn record(&mut self, e: &Event, index: u64) -> u32 {
        let t = e.thread as usize;
        self.ensure_thread(t);
        if e.op.is_thread_op() {
            self.ensure_thread(e.decor as usize);
        }
        let p = self.threads[t].len;
        let mut delta = std::mem::take(&mut self.delta);
        delta.clear();
        // Sources joined into the timestamp: the last write (read), the child (join).
        match e.op {
            Op::Read => {
                if let Some(w) = self.last_write.get(e.decor) {
                    let log = &mut self.threads[t];
                    // Already known writes (own thread, or covered) change nothing.
                    if w.thread as usize != t
                        && w.own > log.trf.get(w.thread as usize).copied().unwrap_or(0)
                    {
                        w.join_into(&mut log.trf, |u, v| delta.push((u, v)));
                    }
                }
            }
            Op::Join => {
                let u = e.decor as usize;
                if u != t {
                    let (a, b) = if u < t {
                        let (lo, hi) = self.threads.split_at_mut(t);
                        (&mut hi[0], &lo[u])
                    } else {
                        let (lo, hi) = self.threads.split_at_mut(u);
                        (&mut lo[t], &hi[0])
                    };
                    join_tracked(&mut a.trf, &b.trf, &mut delta);
                }
            }
            _ => {}
        }
        let log = &mut self.threads[t];
        if p == 0 {
            // The first event inherits the fork's timestamp (already in `trf`).
            delta.clear();
            delta.extend(
                log.trf
                    .iter()
                    .enumerate()
                    .filter(|&(u, &v)| u != t && v > 0)
                    .map(|(u, &v)| (u as u32, v)),
            );
        }
        if log.trf.len() <= t {
            log.trf.resize(t + 1, 0);
        }
        log.trf[t] = p + 1;
        if !delta.is_empty() {
            self.snaps.invalidate(e.thread);
            log.delta_pos.push(p);
            log.delta_items.extend_from_slice(&delta);
            log.delta_end.push(log.delta_items.len() as u32);
        }
        log.len = p + 1;
        self.delta = delta;
        match e.op {
            Op::Write => {
                let new = self.snaps.publish(e.thread, &self.threads[t].trf);
                let old = std::mem::replace(self.last_write.entry(e.decor), new);
                self.snaps.recycle(old);
            }
            Op::Fork => {
                let u = e.decor as usize;
                if u != t {
                    let (parent, child) = if u < t {
                        let (lo, hi) = self.threads.split_at_mut(t);
                        (&hi[0], &mut lo[u])
                    } else {
                        let (lo, hi) = self.threads.split_at_mut(u);
                        (&lo[t], &mut hi[0])
                    };
                    let mut ignored = Vec::new();
                    join_tracked(&mut child.trf, &parent.trf, &mut ignored);
                    self.snaps.invalidate(u as u32);
                    child.fork = Some((t as u32, p));
                }
            }
            Op::Acquire => {
                let id = self.lock_ids.entry(e.decor);
                if *id == 0 {
                    self.locks += 1;
                    *id = self.locks;
                }
                let lock = *id - 1;
                let log = &mut self.threads[t];
                log.below.extend_from_slice(&log.open);
                log.open.push(log.acquires.len() as u32);
                log.acquires.push(Acq {
                    pos: p,
                    lock,
                    rel: NONE,
                    below_end: log.below.len() as u32,
                    index,
                });
            }
            Op::Release => {
                if let Some(&id) = self.lock_ids.get(e.decor).filter(|&&id| id != 0) {
                    let log = &mut self.threads[t];
                    let acqs = &log.acquires;
                    let found = log
                        .open
                        .iter()
                        .rposition(|&k| acqs[k as usize].lock == id - 1);
                    if let Some(i) = found {
                        let k = log.open.remove(i);
                        log.acquires[k as usize].rel = p;
                    }
                }
            }
            _ => {}
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    /// TRF timestamps computed naively: one full vector per event.
    fn naive(events: &[Event], threads: usize) -> Vec<Vec<Vec<u32>>> {
        let mut per_thread: Vec<Vec<Vec<u32>>> = vec![Vec::new(); threads];
        let mut fork_of: Vec<Option<Vec<u32>>> = vec![None; threads];
        let mut last_write: std::collections::HashMap<u64, Vec<u32>> = Default::default();
        for e in events {
            let t = e.thread as usize;
            let mut ts = match per_thread[t].last() {
                Some(prev) => prev.clone(),
                None => fork_of[t].clone().unwrap_or_else(|| vec![0; threads]),
            };
            let join = |ts: &mut Vec<u32>, o: &[u32]| {
                for (a, &b) in ts.iter_mut().zip(o) {
                    *a = (*a).max(b);
                }
            };
            match e.op {
                Op::Read => {
                    if let Some(w) = last_write.get(&e.decor) {
                        join(&mut ts, w);
                    }
                }
                Op::Join => {
                    let u = e.decor as usize;
                    let child = per_thread[u].last().cloned().or(fork_of[u].clone());
                    if let Some(c) = child {
                        join(&mut ts, &c);
                    }
                }
                _ => {}
            }
            ts[t] = per_thread[t].len() as u32 + 1;
            match e.op {
                Op::Write => {
                    last_write.insert(e.decor, ts.clone());
                }
                Op::Fork => fork_of[e.decor as usize] = Some(ts.clone()),
                _ => {}
            }
            per_thread[t].push(ts);
        }
        per_thread
    }

    #[test]
    fn deltas_rebuild_every_timestamp() {
        let mut rng = XorShift::new(0x1234_5678_9abc_def1);
        let mut next = move || rng.next();
        for _ in 0..200 {
            let threads = 4;
            let mut events = vec![
                Event::new(0, Op::Fork, 1, 0),
                Event::new(0, Op::Fork, 2, 0),
                Event::new(1, Op::Fork, 3, 0),
            ];
            for _ in 0..60 {
                let t = (next() % threads) as u32;
                let op = if next() % 2 == 0 { Op::Read } else { Op::Write };
                events.push(Event::new(t, op, next() % 3, 0));
            }
            events.push(Event::new(0, Op::Join, 2, 0));
            events.push(Event::new(0, Op::Read, 1, 0));
            let mut h = History::default();
            for (i, e) in events.iter().enumerate() {
                h.record(e, i as u64);
            }
            let want = naive(&events, threads as usize);
            for (v, stamps) in want.iter().enumerate() {
                let log = &h.threads[v];
                assert_eq!(log.len as usize, stamps.len());
                let mut got = vec![0u32; threads as usize];
                let mut k = 0;
                for (p, stamp) in stamps.iter().enumerate() {
                    while k < log.delta_pos.len() && log.delta_pos[k] as usize <= p {
                        let start = if k == 0 {
                            0
                        } else {
                            log.delta_end[k - 1] as usize
                        };
                        for &(u, val) in &log.delta_items[start..log.delta_end[k] as usize] {
                            got[u as usize] = got[u as usize].max(val);
                        }
                        k += 1;
                    }
                    got[v] = p as u32 + 1;
                    assert_eq!(&got, stamp, "thread {v} position {p}");
                }
            }
        }
    }

    #[test]
    fn acquires_record_releases_and_enclosing_sections() {
        let mut h = History::default();
        let ev = [
            Event::new(0, Op::Acquire, 7, 0), // A
            Event::new(0, Op::Acquire, 8, 0), // B inside A
            Event::new(0, Op::Release, 7, 0), // A released first (hand over hand)
            Event::new(0, Op::Acquire, 9, 0), // C: only B open around it
            Event::new(0, Op::Release, 8, 0),
        ];
        for (i, e) in ev.iter().enumerate() {
            h.record(e, i as u64);
        }
        let log = &h.threads[0];
        let rels: Vec<u32> = log.acquires.iter().map(|a| a.rel).collect();
        assert_eq!(rels, vec![2, 4, NONE]);
        let around = |k: usize| {
            let start = if k == 0 {
                0
            } else {
                log.acquires[k - 1].below_end as usize
            };
            log.below[start..log.acquires[k].below_end as usize].to_vec()
        };
        assert_eq!(around(0), Vec::<u32>::new());
        assert_eq!(around(1), vec![0]);
        assert_eq!(around(2), vec![1]);
        assert_eq!(h.lock_count(), 3);
    }
}
