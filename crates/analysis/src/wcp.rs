//! `wcp`: weak-causally-precedes (Kini, Mathur, Viswanathan, PLDI'17), the standard
//! linear-time vector-clock algorithm.
//!
//! WCP (≺) is the smallest relation such that
//! (a) a release `r1` of lock ℓ precedes an event `e2` inside a later critical section
//!     of ℓ when `e2` conflicts with an access inside `r1`'s critical section;
//! (b) `r1 ≺ r2` for releases of ℓ by two different threads whose critical sections are
//!     in that order when the acquire of the first precedes (≺) the second release (the
//!     paper's algorithm and RAPID queue only the other threads' acquires; within one
//!     thread, applying (b) would order away races that a reordering shows are real);
//! (c) ≺ is closed under composition with happens-before on both sides.
//! Fork and join extend program order (they order events in every reordering, but,
//! like program order, they are not ≺ facts themselves). A race is a conflicting pair
//! from two threads with the earlier access neither ≺ nor program-ordered before the
//! later one.
//!
//! Per thread the engine keeps `H` (its happens-before clock, own entry = its local
//! time `N`) and `P` (for each other thread, the latest of its events ≺ the current
//! point). Rule (a) uses, per (lock, variable), the join of the `H` clocks at the
//! releases of critical sections that read / wrote the variable; rule (b) uses, per
//! lock, a log of critical sections (owner, local time of the acquire, `H` at the
//! release) scanned with one cursor per thread — the per-thread acquire/release queues
//! of the paper, shared. Local time advances after each release and fork, so "the
//! acquire at time `a` of thread `u` precedes" is exactly `a <= P[u]`. A third clock,
//! `PO`, tracks program order through forks and joins for the race check.
//!
//! Rule (a) uses that release clocks of one lock grow along its releases (each
//! acquire joins the previous release's `H`, and each release clock is joined with its
//! predecessor to keep that so on ill-formed traces): the join of the `H` clocks at
//! the releases that accessed a variable is just the latest one's. So each (lock,
//! variable) keeps a shared pointer to the latest release (its clock and sequence
//! number), a release allocates one clock shared by all its variables and its log
//! entry, and an open critical section remembers the newest release of its lock it
//! joined into `P`, so an access joins a clock only when it is newer.
//!
//! Memory: the log keeps a critical section until every thread seen so far has scanned
//! past it (threads that never take the lock hold it back); a thread first seen later
//! starts scanning at the oldest entry kept. Pass the thread count (RapidBin header)
//! to [`WcpEngine::with_threads`] to make that exact.

mod var_locks;

use std::collections::VecDeque;
use std::rc::Rc;

use wasmgrind_trace::{Event, Op};

use crate::access_history::AccessHistory;
use crate::clock::{Tid, VectorClock};
use crate::engine::Engine;
use crate::id_map::IdMap;
use crate::race_collector::RaceCollector;
use crate::report::Report;
use crate::run::Prefetch;

use var_locks::VarLocks;

/// One release of a lock: its sequence number among the lock's releases and `H` at it.
#[derive(Debug, Default)]
struct Release {
    seq: u64,
    h: VectorClock,
}

/// A release, shared by its lock's log and state and by its variables (`Rc`: an engine
/// runs on one thread; no atomic reference counts on the release path).
type RelClock = Rc<Release>;

/// A critical section of a thread in progress.
#[derive(Debug)]
struct OpenCs {
    lock: u64,
    reads: Vec<u64>,
    writes: Vec<u64>,
    /// Sequence number of the newest release of `lock` whose `H` is already in `P`
    /// through rule (a) (0: none); older release clocks are below it.
    joined: u64,
}

#[derive(Debug, Default)]
struct ThreadState {
    /// Happens-before clock; own entry is the local time.
    h: VectorClock,
    /// WCP predecessors.
    p: VectorClock,
    /// Program order extended by fork and join: for each other thread, its latest event
    /// before the current one by thread order through forks and joins. Kept apart from
    /// `p` because these orderings must not compose with HB (they are not ≺ facts).
    po: VectorClock,
    held: Vec<OpenCs>,
    /// Emptied variable lists of closed critical sections, reused by the next ones
    /// (spares an allocation per critical section).
    spare: Vec<Vec<u64>>,
}

/// One critical section in a lock's log.
#[derive(Debug)]
struct CsEntry {
    owner: Tid,
    acq_time: u32,
    /// `H` of the owner at the release; `None` while still open.
    rel: Option<RelClock>,
}

#[derive(Debug, Default)]
struct LockState {
    /// The last release (`H` and sequence number: the number of releases so far).
    last: RelClock,
    p: VectorClock,
    log: VecDeque<CsEntry>,
    /// Absolute index of `log[0]`.
    base: u64,
    /// Per thread, absolute index of the next entry it has to consider.
    cursor: Vec<u64>,
}

/// The WCP engine.
#[derive(Debug, Default)]
pub struct WcpEngine {
    threads: Vec<ThreadState>,
    locks: IdMap<LockState>,
    /// Rule (a): (lock, variable) → latest releases of critical sections accessing it.
    /// Indexed by variable (dense, prefetchable), then searched by lock: a variable is
    /// protected by few locks.
    lock_vars: IdMap<VarLocks>,
    history: AccessHistory,
    races: RaceCollector,
    min_threads: usize,
}

impl WcpEngine {
    /// A fresh engine.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh engine for a trace of `threads` threads (keeps rule (b) exact for
    /// threads that start late; see the module docs).
    pub fn with_threads(threads: usize) -> Self {
        WcpEngine {
            min_threads: threads,
            ..Self::default()
        }
    }

    fn thread(&mut self, t: Tid) -> &mut ThreadState {
        let i = t as usize;
        if i >= self.threads.len() {
            self.threads.resize_with(i + 1, ThreadState::default);
        }
        let s = &mut self.threads[i];
        if s.h.get(t) == 0 {
            s.h.set(t, 1);
        }
        s
    }

    fn access(&mut self, e: &Event) {
        let r = self.races.next_event(e);
        let t = e.thread;
        let is_write = e.op == Op::Write;
        self.thread(t);
        let s = &mut self.threads[t as usize];
        // Rule (a): conflicting accesses in earlier critical sections of held locks.
        let by_lock = if s.held.is_empty() {
            None
        } else {
            self.lock_vars.get(e.decor)
        };
        for cs in &mut s.held {
            if let Some(a) = by_lock.and_then(|v| v.get(cs.lock)) {
                // The newest conflicting release; older ones are below its clock.
                let mut newest = a.write.as_ref();
                if is_write {
                    if let Some(r) = &a.read {
                        if newest.is_none_or(|w| r.seq > w.seq) {
                            newest = Some(r);
                        }
                    }
                }
                if let Some(c) = newest {
                    if c.seq > cs.joined {
                        s.p.join(&c.h);
                        cs.joined = c.seq;
                    }
                }
            }
            if is_write {
                cs.writes.push(e.decor);
            } else {
                cs.reads.push(e.decor);
            }
        }
        let own = s.h.get(t);
        let (p, po) = (&s.p, &s.po);
        let known = |u| p.get(u).max(po.get(u));
        if let Some(first) = self.history.access(e.decor, r, own, known) {
            self.races.racy(first, r);
        }
    }

    fn acquire(&mut self, t: Tid, lock: u64) {
        self.thread(t);
        let l = self.locks.entry(lock);
        let s = &mut self.threads[t as usize];
        s.h.join(&l.last.h);
        s.p.join(&l.p);
        l.log.push_back(CsEntry {
            owner: t,
            acq_time: s.h.get(t),
            rel: None,
        });
        s.held.push(OpenCs {
            lock,
            reads: s.spare.pop().unwrap_or_default(),
            writes: s.spare.pop().unwrap_or_default(),
            joined: 0,
        });
    }

    fn release(&mut self, t: Tid, lock: u64) {
        self.thread(t);
        let known = self.threads.len().max(self.min_threads);
        let l = self.locks.entry(lock);
        if l.cursor.len() < known {
            l.cursor.resize(known, l.base);
        }
        let s = &mut self.threads[t as usize];
        // Rule (b): earlier critical sections whose acquire precedes this release.
        // Release clocks of one lock grow along its log (each acquire joins the previous
        // release), so of a run of satisfied entries only the last one's clock needs
        // joining; it is joined early only when an entry fails, in case it enables it.
        let mut cur = l.cursor[t as usize].max(l.base);
        let mut pending: Option<u64> = None;
        while let Some(entry) = l.log.get((cur - l.base) as usize) {
            if entry.owner == t {
                cur += 1;
                continue;
            }
            if entry.rel.is_none() {
                // Still open (only when a lock is held by two threads: ill-formed).
                break;
            }
            if entry.acq_time <= s.p.get(entry.owner) {
                pending = Some(cur);
                cur += 1;
                continue;
            }
            // Failed: join the pending clock and re-check this entry, or stop.
            let Some(k) = pending.take() else { break };
            if let Some(r) = &l.log[(k - l.base) as usize].rel {
                s.p.join(&r.h);
            }
        }
        if let Some(k) = pending {
            if let Some(r) = &l.log[(k - l.base) as usize].rel {
                s.p.join(&r.h);
            }
        }
        l.cursor[t as usize] = cur;
        // This release's clock, kept monotone along the lock's releases.
        let mut h = s.h.clone();
        h.join(&l.last.h);
        let rel: RelClock = Rc::new(Release {
            seq: l.last.seq + 1,
            h,
        });
        // Rule (a) bookkeeping: this critical section's accesses, at this release's H.
        if let Some(pos) = s.held.iter().rposition(|cs| cs.lock == lock) {
            let mut cs = s.held.remove(pos);
            cs.reads.sort_unstable();
            cs.reads.dedup();
            cs.writes.sort_unstable();
            cs.writes.dedup();
            for &x in &cs.reads {
                self.lock_vars.entry(x).entry(lock).read = Some(rel.clone());
            }
            for &x in &cs.writes {
                self.lock_vars.entry(x).entry(lock).write = Some(rel.clone());
            }
            for mut list in [cs.reads, cs.writes] {
                list.clear();
                s.spare.push(list);
            }
            if let Some(entry) = l
                .log
                .iter_mut()
                .rev()
                .find(|c| c.owner == t && c.rel.is_none())
            {
                entry.rel = Some(rel.clone());
            }
        }
        l.last = rel;
        l.p.copy_from(&s.p);
        s.h.inc(t);
        // Drop log entries every thread has scanned past.
        let min = l.cursor.iter().copied().min().unwrap_or(l.base);
        while l.base < min && l.log.front().is_some_and(|c| c.rel.is_some()) {
            l.log.pop_front();
            l.base += 1;
        }
    }

    fn fork(&mut self, t: Tid, u: Tid) {
        if t == u {
            return;
        }
        self.thread(u);
        self.thread(t);
        // Fork extends program order (`po`); what precedes the fork precedes the child.
        let parent = &self.threads[t as usize];
        let (h, p, mut po) = (parent.h.clone(), parent.p.clone(), parent.po.clone());
        po.set(t, h.get(t));
        let child = &mut self.threads[u as usize];
        child.h.join(&h);
        child.p.join(&p);
        child.po.join(&po);
        self.threads[t as usize].h.inc(t);
    }

    fn join(&mut self, t: Tid, u: Tid) {
        if t == u {
            return;
        }
        self.thread(t);
        self.thread(u);
        // Join extends program order (`po`); what precedes the child's end precedes the join.
        let child = &self.threads[u as usize];
        let (h, p, mut po) = (child.h.clone(), child.p.clone(), child.po.clone());
        po.set(u, h.get(u));
        let parent = &mut self.threads[t as usize];
        parent.h.join(&h);
        parent.p.join(&p);
        parent.po.join(&po);
        self.threads[u as usize].h.inc(u);
    }
}

impl Prefetch for WcpEngine {
    #[inline]
    fn prefetch(&self, e: &Event) {
        if e.op.is_access() {
            self.history.prefetch(e.decor);
            self.lock_vars.prefetch(e.decor);
        }
    }

    #[inline]
    fn prefetch_indirect(&self, e: &Event) {
        if e.op.is_access() {
            self.history.prefetch_rest(e.decor);
        }
    }
}

impl Engine for WcpEngine {
    fn process(&mut self, e: &Event) {
        match e.op {
            Op::Read | Op::Write => return self.access(e),
            Op::Acquire => self.acquire(e.thread, e.decor),
            Op::Release => self.release(e.thread, e.decor),
            Op::Fork => self.fork(e.thread, e.decor as Tid),
            Op::Join => self.join(e.thread, e.decor as Tid),
            Op::LockRequest => {}
        }
        self.races.next_event(e);
    }

    fn finish(self) -> Report {
        self.races.into_report("wcp")
    }
}
