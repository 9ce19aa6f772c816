//! `syncp`: sync-preserving races (Mathur, Pavlogiannis, Viswanathan, POPL'21), in one
//! streaming pass.
//!
//! A conflicting pair `e1 <tr e2` from two threads is a sync-preserving race when some
//! correct reordering of the trace that keeps every critical section on each lock in
//! its original order executes `e1` and `e2` next to each other. Equivalently: `e1`
//! is not in `I(e1, e2) = SPClosure({pred(e1), pred(e2)})`, the smallest set holding
//! the thread-order predecessors (for a thread's first event, its fork) that is closed
//! under thread order with fork/join, reads-from, and the lock rule (see
//! `closure.rs`). An access counts as racy (RAPID) when it races with some earlier one.
//!
//! The algorithm is the paper's monotone sweep. Name events of thread `t1` by their
//! position `i` and those of `t2` by `j`; `I(i, j)` grows with both. So once a
//! candidate `e1` of `t1` lies in `I(e1, e2)` it lies in `I(e1, e2')` for every later
//! `e2'` of `t2`: it is dead for `t2` for good, and each (variable, `t1`, `t2`) with
//! more than `SHORT_TAIL` candidates outside `K` keeps a pointer past its dead ones.
//! For `e2`, the live candidates are swept in order from `K = SPClosure(pred(e2))`,
//! which is itself grown incrementally along `t2`; the sweep's closure only grows, and
//! every candidate it passes is dead, so each candidate is passed at most once per `t2`
//! (plus at most `SHORT_TAIL` rechecks per access) and each `e2` stops at its first
//! racy one. In front of the sweep sits a schedulable-happens-before check (SHB races
//! are sync-preserving: an SHB downset is closed under the lock rule), which decides
//! most racy accesses with vector clocks alone; only accesses without an SHB race, and
//! with a candidate outside both the previous `K` and the TRF timestamp of `pred(e2)`,
//! are swept.
//!
//! Cost: per `t2`, `K` grows once across the trace: every TRF delta item and every
//! acquire is handled once per thread, plus `O(nesting depth)` per growth of a
//! thread's cut, i.e. `O(T·(N + D))` for `D` delta items (`D ≤ N·T`). A sweep costs the
//! growth from `K` to the first racy (or last) candidate's closure, which is not
//! amortized across accesses, plus the dead candidates it skips. Memory: the TRF
//! deltas and acquires (see `history.rs`), per variable the last write's timestamp, per
//! (variable, thread) its accesses, per swept (variable, `t1`, `t2`) a pointer — linear
//! in the trace, as the paper's `Ω(N / log² N)` space lower bound requires in general
//! — plus per thread `K` (`T + 2L` words) and the SHB clocks and access history.

mod closure;
mod history;
pub mod reference;

use rustc_hash::FxHashMap;
use wasmgrind_trace::{Event, Op};

use crate::access_history::AccessHistory;
use crate::clock::VectorClock;
use crate::engine::Engine;
use crate::id_map::{prefetch, IdMap};
use crate::race_collector::RaceCollector;
use crate::report::{EventRef, Report};
use crate::run::Prefetch;
use crate::sync_clocks::SyncClocks;

use closure::{Closure, Scratch};
use history::History;

/// One access kept as a candidate first event: 16 bytes (the candidates are the bulk
/// of the engine's memory on traces of many variables).
#[derive(Debug, Clone, Copy)]
struct Cand {
    /// Position in its thread.
    pos: u32,
    loc: u32,
    /// Trace index, with [`WRITE_BIT`] set for a write (trace indices stay far below).
    index_w: u64,
}

/// [`Cand::index_w`]: the access is a write.
const WRITE_BIT: u64 = 1 << 63;

impl Cand {
    #[inline]
    fn write(&self) -> bool {
        self.index_w & WRITE_BIT != 0
    }

    #[inline]
    fn index(&self) -> u64 {
        self.index_w & !WRITE_BIT
    }
}

/// One thread's accesses to one variable, in order (all are candidates of a later
/// write, the writes among them of a later read).
#[derive(Debug)]
struct ThreadCands {
    thread: u32,
    /// 1 + the position of the thread's last access and last write (0: none).
    end: [u32; 2],
    list: Vec<Cand>,
}

/// One variable's candidates: an entry per thread that accessed it, by thread id.
/// Sparse, because most variables are accessed by one thread (24 bytes per variable,
/// plus one entry and its list on the heap); once [`DENSE_FROM`] threads accessed it,
/// dense (`threads[u].thread == u`, empty entries for the others) so a thread finds
/// its entry without a search.
#[derive(Debug, Default)]
struct VarCands {
    threads: Vec<ThreadCands>,
}

/// Threads accessing a variable from which its [`VarCands`] turns dense.
const DENSE_FROM: usize = 8;

impl ThreadCands {
    fn new(thread: u32) -> Self {
        ThreadCands {
            thread,
            end: [0, 0],
            list: Vec::new(),
        }
    }
}

impl VarCands {
    /// The index of thread `t`'s entry, created if new.
    #[inline]
    fn slot(&mut self, t: u32) -> usize {
        let u = t as usize;
        if self.threads.get(u).is_some_and(|tc| tc.thread == t) {
            return u;
        }
        match self.threads.binary_search_by_key(&t, |tc| tc.thread) {
            Ok(i) => i,
            Err(i) => {
                let n = self.threads.len() + 1;
                // Dense only while ids are not far sparser than the threads seen.
                if n >= DENSE_FROM && u < 4 * n {
                    self.densify(u);
                    return u;
                }
                // Most variables have one accessor: no spare room for a first entry.
                if self.threads.capacity() == 0 {
                    self.threads.reserve_exact(1);
                }
                self.threads.insert(i, ThreadCands::new(t));
                i
            }
        }
    }

    /// Makes `threads` dense up to thread id `max` (and its highest id).
    #[cold]
    fn densify(&mut self, max: usize) {
        let last = self.threads.last().map_or(0, |tc| tc.thread as usize);
        let mut old = std::mem::take(&mut self.threads).into_iter().peekable();
        let mut dense = Vec::with_capacity(max.max(last) + 1);
        for id in 0..=max.max(last) as u32 {
            match old.next_if(|tc| tc.thread == id) {
                Some(tc) => dense.push(tc),
                None => dense.push(ThreadCands::new(id)),
            }
        }
        self.threads = dense;
    }
}

/// Candidates beyond `K` up to which a sweep goes without its dead pointer (rechecking
/// at most this many per (access, thread) keeps the sweep linear and spares a lookup).
const SHORT_TAIL: usize = 8;

/// Dead-candidate pointers of one (variable, `t1`, `t2`): indices into `t1`'s list, for
/// a later write and a later read of `t2`.
type DeadPtrs = [u32; 2];

/// The sync-preserving race engine (streaming).
#[derive(Debug, Default)]
pub struct SyncPEngine {
    races: RaceCollector,
    // Fast path: schedulable happens-before.
    shb: SyncClocks,
    shb_history: AccessHistory,
    shb_last_write: IdMap<VectorClock>,
    // Sweep.
    history: History,
    /// Per thread `t2`, `SPClosure(pred(e2))` of its latest swept access (closed).
    k: Vec<Closure>,
    /// Per variable, per thread, its accesses.
    cands: IdMap<VarCands>,
    /// (variable, t1, t2) → dead pointers.
    dead: FxHashMap<(u64, u32, u32), DeadPtrs>,
    scratch: Scratch,
    /// The sweep's closure.
    cl: Closure,
}

impl SyncPEngine {
    /// A fresh engine.
    pub fn new() -> Self {
        Self::default()
    }

    /// Finds an earlier access of another thread that `e2` (at position `p2` of its
    /// thread, trace index `index`) forms a sync-preserving race with.
    fn sweep(&mut self, e2: &Event, p2: u32) -> Option<EventRef> {
        let t2 = e2.thread as usize;
        let is_write = e2.op == Op::Write;
        let var = self.cands.get(e2.decor)?;
        let kind = usize::from(!is_write);
        if self.k.len() <= t2 {
            self.k.resize_with(t2 + 1, Closure::default);
        }
        // Candidates inside the previous K of this thread (a subset of the new one)
        // are dead: when that is all of them, nothing needs computing.
        // So are those inside the TRF timestamp of pred(e2), also a subset of it.
        if !any_live(var, kind, &self.k[t2].c, self.history.trf_of(e2.thread)) {
            return None;
        }
        // K := SPClosure(pred(e2)), grown from the previous K of this thread.
        let k = &mut self.k[t2];
        self.history.seed(k, e2.thread, p2);
        self.history.close(k, &mut self.scratch);
        let k = &self.k[t2];
        for tc in &var.threads {
            let (t1, end) = (tc.thread as usize, &tc.end);
            if t1 == t2 || end[kind] <= k.c[t1] {
                // None, or all inside K: dead (the pointer may lag; it is a shortcut).
                continue;
            }
            let list = &tc.list;
            // Candidates inside K are dead; so are those before the pointer, which is
            // only kept when enough candidates lie beyond K to be worth a lookup.
            let key = (e2.decor, t1 as u32, t2 as u32);
            let mut i = list.partition_point(|c| c.pos < k.c[t1]);
            let use_ptr = list.len() - i > SHORT_TAIL;
            if use_ptr {
                i = i.max(self.dead.get(&key).map_or(0, |d| d[kind]) as usize);
            }
            let mut found = None;
            if i < list.len() {
                self.cl.copy_from(k);
                while i < list.len() {
                    if !is_write && !list[i].write() {
                        // A read races only with writes.
                        i += 1;
                        continue;
                    }
                    let p = list[i].pos;
                    if self.cl.c[t1] <= p {
                        self.history.seed(&mut self.cl, t1 as u32, p);
                        self.history.close(&mut self.cl, &mut self.scratch);
                    }
                    let reach = self.cl.c[t1];
                    if reach <= p {
                        found = Some(i);
                        break;
                    }
                    // The closure swallowed this candidate and every one up to `reach`.
                    i += list[i..].partition_point(|c| c.pos < reach);
                }
            }
            if use_ptr {
                self.dead.entry(key).or_default()[kind] = i as u32;
            }
            if let Some(i) = found {
                let c = list[i];
                return Some(EventRef {
                    thread: t1 as u32,
                    loc: c.loc,
                    index: c.index(),
                    op: if c.write() { Op::Write } else { Op::Read },
                });
            }
        }
        None
    }
}

/// Whether some thread's last candidate (`end[kind]`, 1 + its position) lies outside
/// both `k` and `trf` (per-thread prefix lengths; missing entries are 0).
///
/// The accessing thread itself never counts: its candidates precede the access, which
/// `trf` (its latest event's timestamp) covers.
#[inline]
fn any_live(var: &VarCands, kind: usize, k: &[u32], trf: &[u32]) -> bool {
    var.threads.iter().any(|tc| {
        let t1 = tc.thread as usize;
        let known = k.get(t1).copied().unwrap_or(0);
        tc.end[kind] > known.max(trf.get(t1).copied().unwrap_or(0))
    })
}

impl Prefetch for SyncPEngine {
    #[inline]
    fn prefetch(&self, e: &Event) {
        if e.op.is_access() {
            self.shb_history.prefetch(e.decor);
            self.cands.prefetch(e.decor);
        }
    }

    #[inline]
    fn prefetch_indirect(&self, e: &Event) {
        if e.op.is_access() {
            self.shb_history.prefetch_rest(e.decor);
            // The variable's per-thread entries (one level below its record, which the
            // first stage fetched).
            if let Some(tc) = self.cands.get(e.decor).and_then(|v| v.threads.first()) {
                prefetch(tc);
            }
        }
    }
}

impl Engine for SyncPEngine {
    fn process(&mut self, e: &Event) {
        let r = self.races.next_event(e);
        if !e.op.is_access() {
            self.history.record(e, r.index);
            self.shb.sync(e);
            return;
        }
        // An access is recorded after its sweep, so the history's timestamp of its
        // thread is still that of its predecessor (the sweep never needs the access).
        let p = self.history.next_pos(e.thread);
        let t = e.thread;
        let c = self.shb.thread(t);
        let own = c.get(t);
        let first = match self.shb_history.access(e.decor, r, own, |u| c.get(u)) {
            Some(first) => Some(first),
            None => self.sweep(e, p),
        };
        if let Some(first) = first {
            self.races.racy(first, r);
        }
        self.history.record(e, r.index);
        // SHB: a read joins its last write; a write publishes the writer's clock.
        let c = self.shb.thread(t);
        if e.op == Op::Read {
            if let Some(lw) = self.shb_last_write.get(e.decor) {
                c.join(lw);
            }
        } else {
            self.shb_last_write.entry(e.decor).copy_from(c);
            c.inc(t);
        }
        let var = self.cands.entry(e.decor);
        let i = var.slot(t);
        let is_write = e.op == Op::Write;
        let mine = &mut var.threads[i];
        mine.list.push(Cand {
            pos: p,
            loc: e.loc,
            index_w: r.index | if is_write { WRITE_BIT } else { 0 },
        });
        mine.end[0] = p + 1;
        if is_write {
            mine.end[1] = p + 1;
        }
    }

    fn finish(self) -> Report {
        self.races.into_report("syncp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::run_engine;

    /// Racy events (trace indices of second accesses) of a run.
    fn racy(r: &Report) -> Vec<u64> {
        let mut v: Vec<u64> = r.races.iter().map(|p| p.second.index).collect();
        v.sort_unstable();
        assert!(!r.races_truncated);
        assert_eq!(v.len() as u64, r.racy_events, "one pair per racy event");
        v
    }

    #[test]
    fn var_cands_turn_dense_and_keep_every_thread() {
        let mut v = VarCands::default();
        let order = [9u32, 2, 30, 0, 5, 17, 3, 11, 40, 1, 2, 9, 64, 7];
        for (n, &t) in order.iter().enumerate() {
            let i = v.slot(t);
            assert_eq!(v.threads[i].thread, t);
            v.threads[i].list.push(Cand {
                pos: n as u32,
                loc: 0,
                index_w: n as u64,
            });
            // Sorted by thread id, each id once, and every access kept.
            assert!(v.threads.windows(2).all(|w| w[0].thread < w[1].thread));
            let kept: usize = v.threads.iter().map(|tc| tc.list.len()).sum();
            assert_eq!(kept, n + 1);
        }
        // Dense since DENSE_FROM threads: an entry at every id up to the highest.
        assert_eq!(v.threads.len(), 65);
        assert!(v
            .threads
            .iter()
            .enumerate()
            .all(|(i, tc)| tc.thread as usize == i));
        // A far sparser id is inserted in order, without filling the gap.
        let i = v.slot(10_000);
        assert_eq!((i, v.threads.len()), (65, 66));
    }

    /// The engine against the reference on random traces of more threads than
    /// [`DENSE_FROM`] (the oracle tests use few), with nested well-formed locking.
    #[test]
    fn equals_reference_with_many_threads() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut swept = 0;
        for _ in 0..300 {
            let threads = 9 + next(6) as u32;
            let mut ev: Vec<Event> = (1..threads)
                .map(|u| Event::new(0, Op::Fork, u.into(), 0))
                .collect();
            let mut owner = [u32::MAX; 3];
            let mut held: Vec<Vec<u64>> = vec![Vec::new(); threads as usize];
            for _ in 0..150 {
                let t = next(threads.into()) as u32;
                // Unique locations: races are reported once per location pair.
                let loc = ev.len() as u32;
                match next(10) {
                    0 | 1 => {
                        let l = next(3);
                        if owner[l as usize] == u32::MAX {
                            owner[l as usize] = t;
                            held[t as usize].push(l);
                            ev.push(Event::new(t, Op::Acquire, l, loc));
                        }
                    }
                    2 => {
                        if let Some(l) = held[t as usize].pop() {
                            owner[l as usize] = u32::MAX;
                            ev.push(Event::new(t, Op::Release, l, loc));
                        }
                    }
                    k => {
                        let op = if k < 7 { Op::Read } else { Op::Write };
                        ev.push(Event::new(t, op, next(3), loc));
                    }
                }
            }
            let mut engine = SyncPEngine::new();
            ev.iter().for_each(|e| engine.process(e));
            swept += engine.k.len();
            let got = engine.finish();
            let want = run_engine(reference::ReferenceSyncP::new(), ev.iter().copied().map(Ok))
                .expect("in-memory events");
            assert_eq!(racy(&got), racy(&want), "trace {ev:?}");
        }
        assert!(swept > 0, "some accesses needed the sweep");
    }
}
