//! `deadlock`: potential deadlocks from the lock-order graph (GoodLock style).
//!
//! An edge `L1 → L2` is recorded each time a thread acquires `L2` while holding `L1`,
//! with both acquisition events and the full set of locks the thread held then. Each
//! elementary cycle of the graph is enumerated once (from its smallest lock, visiting
//! only larger locks) and reported when its edges can be taken from instances that
//!
//! - belong to pairwise distinct threads (a cycle within one thread cannot deadlock),
//! - hold pairwise disjoint lock sets: if two threads both held a common "gate" lock
//!   while taking their edges, they cannot be inside those sections at once, and
//! - acquire a lock their thread releases again: a word one thread takes and another
//!   resets (a handshake that looks like a lock in traces whose locks are inferred
//!   from atomics, as wasmgrind's are) is not held, so `L1 → word` is no wait. So an
//!   acquisition still held when the trace ends takes no edge (nor, in a trace cut
//!   short, does one whose release the trace did not reach), and
//! - are not ordered by fork and join: an edge taken before a thread was forked, or
//!   after it was joined, cannot be in progress together with that thread's.
//!
//! The graph and its cycle search are [`crate::lock_graph`], shared with the online
//! checker; its bounds apply.

use std::rc::Rc;

use wasmgrind_trace::{Event, Op};

use crate::clock::{Tid, VectorClock};
use crate::engine::Engine;
use crate::lock_graph::{disjoint, ordered, EdgeInstance, LockGraph};
use crate::race_collector::RaceCollector;
use crate::report::{Deadlock, DeadlockEdge, EventRef, Report};

pub use crate::lock_graph::{MAX_CYCLES, MAX_INSTANCES, SEARCH_BUDGET};

#[derive(Debug, Clone)]
struct Held {
    lock: u64,
    at: EventRef,
    /// The locks held when this one was taken: the edges its release confirms.
    outer: Vec<u64>,
    /// The thread's fork/join clock when it took this lock.
    clock: Rc<VectorClock>,
}

#[derive(Debug, Clone)]
struct Instance {
    thread: Tid,
    /// Every lock held when the edge was taken, sorted, deduplicated.
    gate: Vec<u64>,
    from: EventRef,
    to: EventRef,
    /// The thread has not yet released the lock it took (see the module docs).
    unreleased: bool,
    /// The thread's fork/join clock when it took the held lock.
    held_clock: Rc<VectorClock>,
    /// The thread's own fork/join time when it took the new lock.
    acquired_time: u32,
}

impl EdgeInstance for Instance {
    fn compatible(&self, other: &Self) -> bool {
        let before = |i: &Instance, j: &Instance| ordered(i.thread, i.acquired_time, &j.held_clock);
        !self.unreleased
            && !other.unreleased
            && self.thread != other.thread
            && disjoint(&self.gate, &other.gate)
            && !before(self, other)
            && !before(other, self)
    }
}

/// The deadlock engine.
#[derive(Debug, Default)]
pub struct DeadlockEngine {
    held: Vec<Vec<Held>>,
    graph: LockGraph<Instance>,
    races: RaceCollector,
    /// Per thread, happens-before through fork and join only (lock edges would order
    /// every inversion away); own entry from 1. Shared with the holds taken under it.
    clocks: Vec<Rc<VectorClock>>,
}

impl DeadlockEngine {
    /// A fresh engine.
    pub fn new() -> Self {
        Self::default()
    }

    /// Thread `t`'s fork/join clock.
    fn clock(&mut self, t: Tid) -> &mut Rc<VectorClock> {
        let i = t as usize;
        if i >= self.clocks.len() {
            self.clocks.resize_with(i + 1, Rc::default);
        }
        let clock = &mut self.clocks[i];
        if clock.get(t) == 0 {
            Rc::make_mut(clock).set(t, 1);
        }
        clock
    }

    fn fork(&mut self, parent: Tid, child: Tid) {
        if parent == child {
            return;
        }
        let p = Rc::clone(self.clock(parent));
        Rc::make_mut(self.clock(child)).join(&p);
        Rc::make_mut(self.clock(parent)).inc(parent);
    }

    fn join(&mut self, joiner: Tid, joined: Tid) {
        if joiner == joined {
            return;
        }
        let c = Rc::clone(self.clock(joined));
        Rc::make_mut(self.clock(joiner)).join(&c);
    }

    fn acquire(&mut self, t: Tid, lock: u64, at: EventRef) {
        let clock = Rc::clone(self.clock(t));
        let now = clock.get(t);
        let i = t as usize;
        if i >= self.held.len() {
            self.held.resize_with(i + 1, Vec::new);
        }
        let held = &self.held[i];
        let reentrant = held.iter().any(|h| h.lock == lock);
        let mut outer = Vec::new();
        if !reentrant && !held.is_empty() {
            let mut gate: Vec<u64> = held.iter().map(|h| h.lock).collect();
            gate.sort_unstable();
            gate.dedup();
            for h in held {
                let instance = Instance {
                    thread: t,
                    gate: gate.clone(),
                    from: h.at,
                    to: at,
                    unreleased: true,
                    held_clock: Rc::clone(&h.clock),
                    acquired_time: now,
                };
                self.graph
                    .add(h.lock, lock, instance, |x| x.thread == t && x.gate == gate);
                outer.push(h.lock);
            }
        }
        self.held[i].push(Held {
            lock,
            at,
            outer,
            clock,
        });
    }

    /// `t` releases `lock`: the edges its acquisition took count.
    fn release(&mut self, t: Tid, lock: u64) {
        let Some(held) = self.held.get_mut(t as usize) else {
            return;
        };
        let Some(pos) = held.iter().rposition(|h| h.lock == lock) else {
            return;
        };
        for from in held.remove(pos).outer {
            for instance in self.graph.instances_mut(from, lock) {
                if instance.thread == t {
                    instance.unreleased = false;
                }
            }
        }
    }

    /// Every reportable cycle.
    fn cycles(&self) -> Vec<Deadlock> {
        self.graph
            .cycles(|_| true)
            .into_iter()
            .map(|cycle| Deadlock {
                edges: cycle
                    .iter()
                    .map(|e| DeadlockEdge {
                        from_lock: e.from,
                        to_lock: e.to,
                        from: e.instance.from,
                        to: e.instance.to,
                    })
                    .collect(),
            })
            .collect()
    }
}

impl Engine for DeadlockEngine {
    fn process(&mut self, e: &Event) {
        let r = self.races.next_event(e);
        match e.op {
            Op::Acquire => self.acquire(e.thread, e.decor, r),
            Op::Release => self.release(e.thread, e.decor),
            Op::Fork => self.fork(e.thread, e.decor as Tid),
            Op::Join => self.join(e.thread, e.decor as Tid),
            _ => {}
        }
    }

    fn finish(self) -> Report {
        let deadlocks = self.cycles();
        let mut report = self.races.into_report("deadlock");
        report.deadlocks = deadlocks;
        report
    }
}
