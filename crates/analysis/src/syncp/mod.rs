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
//! Cost: per `t2`, `K` grows once across the trace: every acquire is handled once per
//! thread, a TRF delta item only where the lock rule (not a TRF timestamp) grew a
//! cut (see `closure.rs`), plus `O(T)` per growth for the seed's timestamp (joined 16
//! entries at a time) and per thread whose cut grew: `O(1)`, without touching its log,
//! when the growth adds no acquire and reads-from explains it, else `O(nesting
//! depth)` plus its acquires: at most `O(T·(N + D))` for `D` delta items (`D ≤ N·T`),
//! far less when reads-from explains most of `K`. A sweep costs the growth from `K`
//! to the first racy (or last) candidate's closure, which is not amortized across
//! accesses, plus the dead candidates it skips. With many threads, each growth of `K`
//! still visits every thread that moved since, so a swept access costs `Θ(T)`; and
//! the per-access work around the sweep is `Θ(T)`-wide too: the liveness scan of the
//! variable's per-thread ends, the SHB clock and the TRF timestamp a read of a new
//! write joins, the SHB access history of a variable of many threads. On
//! many-threads (128 threads, 3M events) about 210k accesses are swept (190k racy);
//! closures are about a fifth of the run, the rest is spread over those scans and
//! joins (each 5-10%) and the candidate lists, mostly waiting for memory: what a
//! variable's access reads is prefetched in the driver's three stages (see
//! [`crate::run::Prefetch`]). Skipping the sweep altogether (wrong verdicts, as an
//! experiment) runs that trace only about 1.4× faster, and skipping the candidate
//! pushes as well another 1.6×: the lines an access touches bound it, not the
//! closures' work (a K growth visits ~44 threads, ~1 new acquire each). Memory:
//! the TRF deltas and acquires (see `history.rs`), per variable the last write's
//! timestamp, per (variable, thread) its accesses (16 bytes each, in a shared pool;
//! see `candidates.rs`), per swept (variable, `t1`, `t2`) a pointer — linear in the
//! trace, as the paper's `Ω(N / log² N)` space lower bound requires in general —
//! plus per thread `K` (`6T + 4L` 32-bit words) and the SHB clocks and access
//! history.
//! When the thread count is known ([`SyncPEngine::with_threads`]), a thread's
//! candidates on a variable that every other thread's TRF timestamp already contains
//! are dropped from time to time: no later access can race with them, so on traces
//! whose threads keep hearing from each other the candidates stay few.

mod candidates;
mod closure;
mod history;
pub mod reference;

use rustc_hash::FxHashMap;
use wasmgrind_trace::{Event, Op};

use crate::access_history::AccessHistory;
use crate::engine::Engine;
use crate::id_map::IdMap;
use crate::published_clock::{PublishedClock, Snapshots};
use crate::race_collector::RaceCollector;
use crate::report::{EventRef, Report};
use crate::run::Prefetch;
use crate::sync_clocks::SyncClocks;

use candidates::{Cand, Pool, VarCands, WRITE_BIT};
use closure::{Closure, Scratch};
use history::History;

/// Candidates beyond `K` up to which a sweep goes without its dead pointer (rechecking
/// at most this many per (access, thread) keeps the sweep linear and spares a lookup).
const SHORT_TAIL: usize = 8;

/// Candidates of one (variable, thread) kept between two checks for ones every thread
/// knows (each check costs a pass over the threads). Small in unit tests, whose traces
/// are short, so that they drop.
const DROP_EVERY: usize = if cfg!(test) { 2 } else { 32 };

/// Events of a thread after which its [`SyncPEngine::known_by_all`] is computed
/// afresh (a pass over every thread's timestamp, a cache miss each on many threads);
/// in between the last value serves, a lower bound that only drops less.
const KNOWN_REFRESH: u32 = if cfg!(test) { 4 } else { 256 };

/// Threads from which the third prefetch stage runs (see
/// [`SyncPEngine::prefetch_deep`]): a clock of 32 threads spans two cache lines.
const WIDE_PREFETCH_FROM: usize = 32;

/// Dead-candidate pointers of one (variable, `t1`, `t2`): indices into `t1`'s list, for
/// a later write and a later read of `t2`.
type DeadPtrs = [u32; 2];

/// What the engine keeps per variable, in one cache line: an access needs both.
#[derive(Debug, Default)]
#[repr(align(64))]
struct VarState {
    /// Per thread, its accesses.
    cands: VarCands,
    /// The SHB clock of the last write (shared between writes).
    shb_last_write: PublishedClock,
}

// One line per variable: a larger record would double the memory of many variables.
const _: () = assert!(std::mem::size_of::<VarState>() == 64);

/// The sync-preserving race engine (streaming).
#[derive(Debug, Default)]
pub struct SyncPEngine {
    races: RaceCollector,
    // Fast path: schedulable happens-before.
    shb: SyncClocks,
    shb_history: AccessHistory,
    shb_snaps: Snapshots,
    // Sweep.
    history: History,
    /// Per thread `t2`, `SPClosure(pred(e2))` of its latest swept access (closed).
    k: Vec<Closure>,
    /// Per variable, its candidates and the SHB clock of its last write.
    vars: IdMap<VarState>,
    /// The storage of the candidate lists.
    pool: Pool,
    /// (variable, t1, t2) → dead pointers.
    dead: FxHashMap<(u64, u32, u32), DeadPtrs>,
    scratch: Scratch,
    /// The sweep's closure.
    cl: Closure,
    /// Threads of the trace (the RapidBin header), when known: then candidates every
    /// thread's TRF timestamp contains are dropped (0: unknown, nothing dropped).
    expected_threads: usize,
    /// Per thread, its last [`Self::known_by_all`] and its position then.
    known: Vec<[u32; 2]>,
}

impl SyncPEngine {
    /// A fresh engine.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh engine for a trace of `threads` threads (ids `0..threads`), which lets
    /// it drop candidates no later access can race with (see `Self::known_by_all`).
    pub fn with_threads(threads: usize) -> Self {
        SyncPEngine {
            expected_threads: threads,
            ..Self::default()
        }
    }

    /// The prefix of thread `t` every other thread's TRF timestamp contains: a
    /// candidate of `t` below it lies in `TRF(pred(e2))` for every later access `e2` of
    /// another thread (timestamps only grow; a thread not started yet inherits its
    /// fork's, which is later than its parent's now), so it is dead for good. 0 unless
    /// the thread count is known; a thread not seen yet, or started without a fork,
    /// contains nothing.
    fn known_by_all(&self, t: u32) -> u32 {
        if self.expected_threads == 0 {
            return 0;
        }
        let n = self.expected_threads.max(self.history.thread_count());
        (0..n as u32)
            .filter(|&u| u != t)
            .map(|u| self.history.trf_of(u).get(t as usize).copied().unwrap_or(0))
            .min()
            .unwrap_or(0)
    }

    /// [`Self::known_by_all`] of thread `t`, now at position `p`, as of at most
    /// [`KNOWN_REFRESH`] events of `t` ago: still a prefix every thread knows, since
    /// timestamps only grow and a thread that starts later knows at least its parent.
    fn known_by_all_cached(&mut self, t: u32, p: u32) -> u32 {
        let t = t as usize;
        if self.known.len() <= t {
            self.known.resize(t + 1, [0, 0]);
        }
        let [known, at] = self.known[t];
        if known > 0 && p - at < KNOWN_REFRESH {
            return known;
        }
        let known = self.known_by_all(t as u32);
        self.known[t] = [known, p];
        known
    }

    /// Finds an earlier access of another thread that `e2` (at position `p2` of its
    /// thread, trace index `index`) forms a sync-preserving race with.
    fn sweep(&mut self, e2: &Event, p2: u32) -> Option<EventRef> {
        let t2 = e2.thread as usize;
        let is_write = e2.op == Op::Write;
        let var = &self.vars.get(e2.decor)?.cands;
        let kind = usize::from(!is_write);
        // Candidates inside the previous K of this thread (a subset of the new one)
        // are dead: when that is all of them, nothing needs computing.
        // So are those inside the TRF timestamp of pred(e2), also a subset of it.
        let k_prev = self.k.get(t2).map_or(&[][..], |k| &k.c);
        if !var.any_live(e2.thread, kind, k_prev, self.history.trf_of(e2.thread)) {
            return None;
        }
        if self.k.len() <= t2 {
            self.k.resize_with(t2 + 1, Closure::default);
        }
        // K := SPClosure(pred(e2)), grown from the previous K of this thread.
        let k = &mut self.k[t2];
        self.history
            .seed_and_close(k, e2.thread, p2, &mut self.scratch);
        let k = &self.k[t2];
        // Entries with none outside K are dead (the pointer may lag; it is a shortcut).
        let mut next = var.next_outside(0, kind, &k.c);
        while let Some(n) = next {
            next = var.next_outside(n + 1, kind, &k.c);
            let tc = &var.threads()[n];
            let t1 = tc.thread as usize;
            if t1 == t2 {
                continue;
            }
            let list = tc.list(&self.pool);
            // Candidates inside K are dead; so are those before the pointer, which is
            // only kept when enough candidates lie beyond K to be worth a lookup.
            let key = (e2.decor, t1 as u32, t2 as u32);
            let mut i = list.partition_point(|c| c.pos < k.c[t1]);
            let use_ptr = list.len() - i > SHORT_TAIL;
            // Pointers are absolute candidate indices (dropped ones included).
            let dropped = tc.dropped as usize;
            if use_ptr {
                let ptr = self.dead.get(&key).map_or(0, |d| d[kind]) as usize;
                i = i.max(ptr.saturating_sub(dropped));
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
                        self.history
                            .seed_and_close(&mut self.cl, t1 as u32, p, &mut self.scratch);
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
                self.dead.entry(key).or_default()[kind] = (i + dropped) as u32;
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

impl Prefetch for SyncPEngine {
    #[inline]
    fn prefetch(&self, e: &Event) {
        if e.op.is_access() {
            self.shb_history.prefetch(e.decor);
            self.vars.prefetch(e.decor);
            self.history.prefetch(e.decor);
        }
    }

    #[inline]
    fn prefetch_indirect(&self, e: &Event) {
        if e.op.is_access() {
            self.shb_history.prefetch_rest(e.decor);
            // Where the access goes among the variable's candidates (one level below
            // its record, which the first stage fetched).
            if let Some(v) = self.vars.get(e.decor) {
                v.cands.prefetch(e.thread, &self.pool);
            }
        }
    }

    /// With many threads, what an access scans or joins spans several cache lines,
    /// mostly cold: the variable's ends of its kind, and for a read of a write new to
    /// it, that write's SHB clock and TRF timestamp. With few, those are a line each,
    /// usually cached, and asking costs more than it saves: then only this test runs
    /// (inline in the driver's loop).
    #[inline]
    fn prefetch_deep(&self, e: &Event) {
        if e.op.is_access() && self.history.thread_count() >= WIDE_PREFETCH_FROM {
            self.prefetch_wide(e);
        }
    }
}

impl SyncPEngine {
    /// [`Prefetch::prefetch_deep`] of access `e` on a trace of many threads.
    #[inline(never)]
    fn prefetch_wide(&self, e: &Event) {
        self.history.prefetch_join(e);
        if let Some(v) = self.vars.get(e.decor) {
            v.cands.prefetch_ends(usize::from(e.op != Op::Write));
            let lw = &v.shb_last_write;
            if e.op == Op::Read {
                lw.prefetch_if_new(self.shb.get(e.thread, lw.thread));
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
            // The clocks a sync event may grow beyond their own entries.
            self.shb_snaps.invalidate(e.thread);
            if e.op.is_thread_op() {
                self.shb_snaps.invalidate(e.decor as u32);
            }
            return;
        }
        // An access is recorded after its sweep, so the history's timestamp of its
        // thread is still that of its predecessor (the sweep never needs the access).
        let p = self.history.next_pos(e.thread);
        let t = e.thread;
        let c = self.shb.thread(t);
        let own = c.get(t);
        let (first, clean) = match self.shb_history.access(e.decor, r, own, |u| c.get(u)) {
            Some(first) => (Some(first), false),
            None => {
                // No race from the sweep: every candidate is dead for this thread.
                let first = self.sweep(e, p);
                (first, first.is_none())
            }
        };
        if let Some(first) = first {
            self.races.racy(first, r);
        }
        self.history.record(e, r.index);
        // SHB: a read joins its last write; a write publishes the writer's clock.
        let c = self.shb.thread(t);
        if e.op == Op::Read {
            // A write the reader already knows (its epoch is covered) adds nothing:
            // each SHB clock value of a thread is published once (see `SyncClocks`).
            if let Some(lw) = self.vars.get(e.decor).map(|v| &v.shb_last_write) {
                if lw.own > c.get(lw.thread) {
                    if let Some(snap) = &lw.snap {
                        c.join_slice(snap);
                    }
                    c.set(lw.thread, lw.own.max(c.get(lw.thread)));
                    self.shb_snaps.invalidate(t);
                }
            }
        } else {
            let new = self.shb_snaps.publish(t, c.as_slice());
            let old = std::mem::replace(&mut self.vars.entry(e.decor).shb_last_write, new);
            self.shb_snaps.recycle(old);
            c.inc(t);
        }
        let is_write = e.op == Op::Write;
        let kept = self.vars.entry(e.decor).cands.push(
            &mut self.pool,
            t,
            Cand {
                pos: p,
                loc: e.loc,
                index_w: r.index | if is_write { WRITE_BIT } else { 0 },
            },
            clean,
        );
        // Now and then, drop the candidates of `t` on this variable that every thread
        // already knows (amortized: one check per `DROP_EVERY` candidates kept).
        if self.expected_threads != 0 && kept.is_multiple_of(DROP_EVERY) {
            let known = self.known_by_all_cached(t, p);
            if known > 0 {
                self.vars
                    .entry(e.decor)
                    .cands
                    .drop_known(&mut self.pool, t, known);
            }
        }
    }

    fn finish(self) -> Report {
        self.races.into_report("syncp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::{run_engine, run_engine_prefetching};
    use crate::test_rng::XorShift;

    /// Racy events (trace indices of second accesses) of a run.
    fn racy(r: &Report) -> Vec<u64> {
        let mut v: Vec<u64> = r.races.iter().map(|p| p.second.index).collect();
        v.sort_unstable();
        assert!(!r.races_truncated);
        assert_eq!(v.len() as u64, r.racy_events, "one pair per racy event");
        v
    }

    /// A random trace of `events` steps by `threads` threads (all forked first) on
    /// `vars` variables with nested well-formed locking on 3 locks; every event at its
    /// own location (races are reported once per location pair).
    fn random_trace(
        next: &mut impl FnMut(u64) -> u64,
        threads: u32,
        events: usize,
        vars: u64,
    ) -> Vec<Event> {
        let mut ev: Vec<Event> = (1..threads)
            .map(|u| Event::new(0, Op::Fork, u.into(), 0))
            .collect();
        let mut owner = [u32::MAX; 3];
        let mut held: Vec<Vec<u64>> = vec![Vec::new(); threads as usize];
        for _ in 0..events {
            let t = next(threads.into()) as u32;
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
                    ev.push(Event::new(t, op, next(vars), loc));
                }
            }
        }
        ev
    }

    /// Runs the engine against the reference on `rounds` random traces of `events`
    /// steps by `threads.0 + (0..threads.1)` threads (all forked first) on `vars`
    /// variables with nested well-formed locking, telling the engine the thread count
    /// on every trace when `always_count`, else on every other; returns (threads
    /// swept, candidates dropped).
    fn check_random_traces(
        seed: u64,
        rounds: usize,
        threads: (u32, u64),
        (events, vars): (usize, u64),
        always_count: bool,
    ) -> (usize, usize) {
        let mut rng = XorShift::new(seed);
        let mut next = move |n: u64| rng.below(n);
        let (mut swept, mut dropped) = (0, 0);
        for _ in 0..rounds {
            let threads = threads.0 + next(threads.1) as u32;
            let ev = random_trace(&mut next, threads, events, vars);
            let mut engine = if always_count || ev.len().is_multiple_of(2) {
                SyncPEngine::with_threads(threads as usize)
            } else {
                SyncPEngine::new()
            };
            ev.iter().for_each(|e| engine.process(e));
            swept += engine.k.len();
            dropped += engine
                .vars
                .iter()
                .flat_map(|(_, v)| v.cands.threads())
                .map(|tc| tc.dropped as usize)
                .sum::<usize>();
            let got = engine.finish();
            let want = run_engine(reference::ReferenceSyncP::new(), ev.iter().copied().map(Ok))
                .expect("in-memory events");
            assert_eq!(racy(&got), racy(&want), "trace {ev:?}");
        }
        (swept, dropped)
    }

    /// The engine against the reference on random traces of more threads than
    /// [`DENSE_FROM`] (the oracle tests use few), with nested well-formed locking.
    #[test]
    fn equals_reference_with_many_threads() {
        let (swept, dropped) =
            check_random_traces(0x9e37_79b9_7f4a_7c15, 300, (9, 6), (150, 3), false);
        assert!(swept > 0, "some accesses needed the sweep");
        assert!(dropped > 100, "only {dropped} candidates dropped");
    }

    /// Dropping candidates every thread knows changes no verdict: the reference on
    /// many traces of few threads, long enough for many drops.
    #[test]
    fn dropping_known_candidates_keeps_every_race() {
        let (swept, dropped) =
            check_random_traces(0x51_7cc1_b727_220a, 3000, (2, 3), (80, 3), true);
        assert!(swept > 0, "some accesses needed the sweep");
        assert!(dropped > 1000, "only {dropped} candidates dropped");
        // Long runs on one variable: dead-candidate pointers over dropped prefixes.
        let (_, dropped) = check_random_traces(0x2545_f491_4f6c_dd1d, 300, (2, 2), (400, 1), true);
        assert!(dropped > 1000, "only {dropped} candidates dropped");
    }

    /// The prefetching driver (all three stages, the third from [`WIDE_PREFETCH_FROM`]
    /// threads on) changes no verdict: random traces of many threads, run with it and
    /// without, and against the reference on a few.
    #[test]
    fn prefetching_keeps_every_verdict_with_many_threads() {
        let mut rng = XorShift::new(0x8cb9_2ba7_2f3d_8dd7);
        let mut next = move |n: u64| rng.below(n);
        let mut racy_events = 0;
        for round in 0..40 {
            let threads = WIDE_PREFETCH_FROM as u32 + next(16) as u32;
            let ev = random_trace(&mut next, threads, 600, 4);
            let run = |prefetching: bool| {
                let engine = SyncPEngine::with_threads(threads as usize);
                let events = ev.iter().copied().map(Ok);
                let report = if prefetching {
                    run_engine_prefetching(engine, events)
                } else {
                    run_engine(engine, events)
                };
                racy(&report.expect("in-memory events"))
            };
            let got = run(true);
            assert_eq!(got, run(false), "round {round}");
            racy_events += got.len();
            if round < 4 {
                let want = run_engine(reference::ReferenceSyncP::new(), ev.iter().copied().map(Ok))
                    .expect("in-memory events");
                assert_eq!(got, racy(&want), "round {round}");
            }
        }
        assert!(racy_events > 1000, "only {racy_events} racy events");
    }
}
