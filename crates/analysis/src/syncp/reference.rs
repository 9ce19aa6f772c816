//! The test oracle for [`super::SyncPEngine`]: an exact, whole-trace, worst-case
//! quadratic computation of the same verdicts, kept because it is simple enough to
//! check by reading. Not for production traces.
//!
//! A conflicting pair `e1 <tr e2` from two threads is a sync-preserving race when some
//! correct reordering of the trace that keeps every critical section on each lock in
//! its original order executes `e1` and `e2` next to each other. Equivalently: `e1`
//! is not in `SPClosure({pred(e1), pred(e2)})`, the smallest set containing the two
//! thread-order predecessors that is closed under thread order (with fork/join),
//! reads-from (a read needs its last write), and the lock rule (if two acquires of a
//! lock are in the set, the earlier one's release is too). Every event of such a
//! closure lies before `e2` in the trace, so `e2` itself is never in it.
//!
//! Algorithm (exact; *not* the paper's linear-time one): the whole trace is buffered;
//! a closure is a vector of per-thread prefix lengths, grown to a fixpoint from
//! per-event thread-order+reads-from timestamps and per-lock acquire lists. For an
//! access `e2` and another thread `u`, the candidates `e1` of `u` are swept in order
//! starting from `S0 = SPClosure(pred(e2))`: a candidate is racy exactly when adding
//! `u`'s events before it leaves it outside the closure, and any candidate a closure
//! swallows is not racy, which lets the sweep skip past it. Worst case quadratic in
//! the trace length (times threads and locks), so use it for small and medium traces;
//! memory is the trace plus one timestamp vector per event.

use wasmgrind_trace::{Event, Op};

use crate::engine::Engine;
use crate::id_map::IdMap;
use crate::race_collector::RaceCollector;
use crate::report::{EventRef, Report};

/// No release (an acquire never released in the trace).
const NONE: u32 = u32::MAX;

/// One acquire of a lock by one thread.
#[derive(Debug, Clone, Copy)]
struct Acq {
    /// Position of the acquire in its thread.
    pos: u32,
    /// Trace index of the acquire.
    index: u32,
    /// Trace index of its release, or [`NONE`].
    release: u32,
}

/// The sync-preserving race engine (buffers the trace; analysis runs in `finish`).
#[derive(Debug, Default)]
pub struct ReferenceSyncP {
    events: Vec<Event>,
}

impl ReferenceSyncP {
    /// A fresh engine.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Engine for ReferenceSyncP {
    fn process(&mut self, e: &Event) {
        self.events.push(*e);
    }

    fn finish(self) -> Report {
        Analysis::new(&self.events).run()
    }
}

/// The buffered trace with the indexes the closure needs.
struct Analysis<'a> {
    events: &'a [Event],
    threads: usize,
    /// Position of each event within its thread.
    pos: Vec<u32>,
    /// Trace indices of each thread's events.
    by_thread: Vec<Vec<u32>>,
    /// `trf[i * threads + v]`: events of `v` in the thread-order+reads-from(+fork/join)
    /// closure of event `i` (a prefix length).
    trf: Vec<u32>,
    /// Per lock, per thread, its acquires in order.
    locks: Vec<Vec<Vec<Acq>>>,
    /// Per thread, (position in thread, lock index) of its acquires.
    acquires: Vec<Vec<(u32, u32)>>,
    /// Per variable, per thread, (position in thread, trace index) of its accesses.
    accesses: IdMap<Vec<Vec<(u32, u32)>>>,
    /// Per thread, the trace index of its fork, or [`NONE`].
    fork_of: Vec<u32>,
}

/// Reusable buffers of [`Analysis::close`].
#[derive(Default)]
struct Scratch {
    /// Per thread, the prefix whose timestamp is already joined.
    joined: Vec<u32>,
    /// Per thread, the prefix already scanned for acquires.
    scanned: Vec<u32>,
    /// Locks whose rule must be re-checked.
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
    /// The closed set a sweep step starts from.
    prev: Vec<u32>,
}

impl<'a> Analysis<'a> {
    fn new(events: &'a [Event]) -> Self {
        let threads = events
            .iter()
            .map(|e| {
                let d = if e.op.is_thread_op() {
                    e.decor as usize
                } else {
                    0
                };
                (e.thread as usize).max(d) + 1
            })
            .max()
            .unwrap_or(0);
        let mut a = Analysis {
            events,
            threads,
            pos: Vec::with_capacity(events.len()),
            by_thread: vec![Vec::new(); threads],
            trf: vec![0; events.len() * threads],
            locks: Vec::new(),
            acquires: vec![Vec::new(); threads],
            accesses: IdMap::default(),
            fork_of: vec![NONE; threads],
        };
        a.index();
        a
    }

    /// Builds positions, timestamps, lock and access lists in one pass.
    fn index(&mut self) {
        let n = self.threads;
        let mut last_write: IdMap<u32> = IdMap::default();
        let mut fork_of = std::mem::take(&mut self.fork_of);
        let mut lock_ids: IdMap<u32> = IdMap::default();
        let mut open: Vec<Vec<(u32, usize)>> = vec![Vec::new(); n];
        for (i, e) in self.events.iter().enumerate() {
            let t = e.thread as usize;
            let p = self.by_thread[t].len() as u32;
            self.pos.push(p);
            // Timestamp: thread predecessor (or the fork), reads-from, join.
            let (head, cur) = self.trf.split_at_mut(i * n);
            let cur = &mut cur[..n];
            let mut join_from = |j: u32| {
                let src = &head[j as usize * n..j as usize * n + n];
                for (c, &s) in cur.iter_mut().zip(src) {
                    *c = (*c).max(s);
                }
            };
            if let Some(&prev) = self.by_thread[t].last() {
                join_from(prev);
            } else if fork_of[t] != NONE {
                join_from(fork_of[t]);
            }
            match e.op {
                Op::Read => {
                    if let Some(&w) = last_write.get(e.decor) {
                        if w != NONE {
                            join_from(w);
                        }
                    }
                }
                Op::Join => {
                    let u = e.decor as usize;
                    // The child's last event; a child without events started at its fork.
                    match self.by_thread.get(u).and_then(|v| v.last()) {
                        Some(&last) => join_from(last),
                        None => {
                            if let Some(&f) = fork_of.get(u).filter(|&&f| f != NONE) {
                                join_from(f);
                            }
                        }
                    }
                }
                _ => {}
            }
            cur[t] = p + 1;
            self.by_thread[t].push(i as u32);
            match e.op {
                Op::Write => {
                    *last_write.entry(e.decor) = i as u32;
                }
                Op::Fork => {
                    if let Some(f) = fork_of.get_mut(e.decor as usize) {
                        *f = i as u32;
                    }
                }
                Op::Acquire => {
                    let next = self.locks.len() as u32;
                    let id = lock_ids.entry(e.decor);
                    if *id == 0 {
                        *id = next + 1;
                        self.locks.push(vec![Vec::new(); n]);
                    }
                    let l = (*id - 1) as usize;
                    self.locks[l][t].push(Acq {
                        pos: p,
                        index: i as u32,
                        release: NONE,
                    });
                    open[t].push((l as u32, self.locks[l][t].len() - 1));
                    self.acquires[t].push((p, l as u32));
                }
                Op::Release => {
                    let l = lock_ids.get(e.decor).copied().unwrap_or(0);
                    if l != 0 {
                        let l = l - 1;
                        if let Some(k) = open[t].iter().rposition(|&(x, _)| x == l) {
                            let (_, a) = open[t].remove(k);
                            self.locks[l as usize][t][a].release = i as u32;
                        }
                    }
                }
                _ => {}
            }
            if let Op::Read | Op::Write = e.op {
                let per_thread = self.accesses.entry(e.decor);
                if per_thread.len() < n {
                    per_thread.resize(n, Vec::new());
                }
                per_thread[t].push((p, i as u32));
            }
        }
        self.fork_of = fork_of;
    }

    /// Adds the thread-order predecessors of position `p` of thread `t` to `c`: the
    /// thread's first `p` events, or for its first event, its fork.
    fn seed(&self, c: &mut [u32], t: usize, p: u32) {
        if p > 0 {
            c[t] = c[t].max(p);
        } else if let Some(&f) = self.fork_of.get(t).filter(|&&f| f != NONE) {
            let parent = self.events[f as usize].thread as usize;
            c[parent] = c[parent].max(self.pos[f as usize] + 1);
        }
    }

    #[inline]
    fn join_trf(&self, c: &mut [u32], i: u32) -> bool {
        let src = &self.trf[i as usize * self.threads..][..self.threads];
        let mut changed = false;
        for (a, &b) in c.iter_mut().zip(src) {
            if b > *a {
                *a = b;
                changed = true;
            }
        }
        changed
    }

    /// Grows `c` (per-thread prefix lengths, a superset of the closed set `base`) to its
    /// sync-preserving closure. Work is proportional to what is added beyond `base`:
    /// timestamps are joined only for prefixes that grew, and the lock rule is
    /// re-checked only for locks with an acquire among the added events (the rule's
    /// obligations change only when a lock's set of acquires in the closure does).
    fn close(&self, c: &mut [u32], base: &[u32], s: &mut Scratch) {
        s.joined.clear();
        s.joined.extend_from_slice(base);
        s.scanned.clear();
        s.scanned.extend_from_slice(base);
        loop {
            // Thread order, reads-from, fork/join: the timestamp of each grown prefix's
            // last event covers the whole prefix.
            loop {
                let mut any = false;
                for v in 0..self.threads {
                    if c[v] > s.joined[v] {
                        any = true;
                        s.joined[v] = c[v];
                        self.join_trf(c, self.by_thread[v][c[v] as usize - 1]);
                    }
                }
                if !any {
                    break;
                }
            }
            // Locks acquired among the events added since the last scan.
            for ((scanned, &now), acqs) in s.scanned.iter_mut().zip(c.iter()).zip(&self.acquires) {
                if now > *scanned {
                    let lo = acqs.partition_point(|&(p, _)| p < *scanned);
                    let hi = acqs.partition_point(|&(p, _)| p < now);
                    for &(_, l) in &acqs[lo..hi] {
                        if !s.is_dirty[l as usize] {
                            s.is_dirty[l as usize] = true;
                            s.dirty.push(l);
                        }
                    }
                    *scanned = now;
                }
            }
            if s.dirty.is_empty() {
                return;
            }
            // Lock rule: every acquire in the set but the trace-last one has its release in.
            while let Some(l) = s.dirty.pop() {
                s.is_dirty[l as usize] = false;
                self.lock_rule(&self.locks[l as usize], c);
            }
        }
    }

    /// Adds the releases the lock rule requires for one lock.
    fn lock_rule(&self, lock: &[Vec<Acq>], c: &mut [u32]) {
        let mut latest = None;
        for (v, acqs) in lock.iter().enumerate() {
            let k = acqs.partition_point(|a| a.pos < c[v]);
            if k > 0 && latest.is_none_or(|(_, idx)| acqs[k - 1].index > idx) {
                latest = Some((v, acqs[k - 1].index));
            }
        }
        let Some((owner, _)) = latest else { return };
        for (v, acqs) in lock.iter().enumerate() {
            if v == owner {
                continue;
            }
            let k = acqs.partition_point(|a| a.pos < c[v]);
            if k == 0 {
                continue;
            }
            let rel = acqs[k - 1].release;
            if rel != NONE && self.pos[rel as usize] >= c[v] {
                self.join_trf(c, rel);
            }
        }
    }

    /// Sweeps the candidates of thread `u` (sorted by position) from closure `c`;
    /// returns the trace index of the first racy one.
    fn sweep(
        &self,
        c: &mut [u32],
        u: usize,
        cands: &[(u32, u32)],
        conflicting: impl Fn(&(u32, u32)) -> bool,
        s: &mut Scratch,
    ) -> Option<u32> {
        let mut k = cands.partition_point(|&(p, _)| p < c[u]);
        while k < cands.len() {
            if !conflicting(&cands[k]) {
                k += 1;
                continue;
            }
            let (p, idx) = cands[k];
            if c[u] <= p {
                // The candidate's thread-order predecessors join the set.
                let mut prev = std::mem::take(&mut s.prev);
                prev.clear();
                prev.extend_from_slice(c);
                self.seed(c, u, p);
                self.close(c, &prev, s);
                s.prev = prev;
            }
            if c[u] <= p {
                return Some(idx);
            }
            // The closure swallowed this candidate and all of u up to c[u]: skip past.
            k = cands.partition_point(|&(q, _)| q < c[u]);
        }
        None
    }

    fn run(self) -> Report {
        let mut races = RaceCollector::new();
        let mut c = vec![0u32; self.threads];
        let mut scratch = Scratch {
            is_dirty: vec![false; self.locks.len()],
            ..Scratch::default()
        };
        // Per thread t, SPClosure(pred(e2)) for its latest analyzed access e2; grows
        // monotonically along t, so each is extended rather than recomputed.
        let mut s0: Vec<Vec<u32>> = vec![vec![0u32; self.threads]; self.threads];
        let mut prev = vec![0u32; self.threads];
        // Trace index of each buffered event (the pieces of a split access share one).
        let mut trace_index: Vec<u64> = Vec::with_capacity(self.events.len());
        for (i, e) in self.events.iter().enumerate() {
            let second = races.next_event(e);
            trace_index.push(second.index);
            if !e.op.is_access() {
                continue;
            }
            let t = e.thread as usize;
            let per_thread = match self.accesses.get(e.decor) {
                Some(p) => p,
                None => continue,
            };
            let mut s0_ready = false;
            let mut found = None;
            for (u, cands) in per_thread.iter().enumerate() {
                if u == t || found.is_some() {
                    continue;
                }
                let conflicting = |&(_, idx): &(u32, u32)| {
                    e.op == Op::Write || self.events[idx as usize].op == Op::Write
                };
                // Candidates: accesses of u before e2 in the trace.
                let before = cands.partition_point(|&(_, idx)| (idx as usize) < i);
                let cands = &cands[..before];
                if !cands.iter().any(conflicting) {
                    continue;
                }
                if !s0_ready {
                    let s0 = &mut s0[t];
                    prev.copy_from_slice(s0);
                    self.seed(s0, t, self.pos[i]);
                    self.close(s0, &prev, &mut scratch);
                    s0_ready = true;
                }
                c.copy_from_slice(&s0[t]);
                found = self.sweep(&mut c, u, cands, conflicting, &mut scratch);
            }
            if let Some(idx) = found {
                races.racy(
                    EventRef::new(&self.events[idx as usize], trace_index[idx as usize]),
                    second,
                );
            }
        }
        races.into_report("syncp-reference")
    }
}
