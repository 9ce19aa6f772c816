//! `deadlock`: potential deadlocks from the lock-order graph (GoodLock style).
//!
//! An edge `L1 → L2` is recorded each time a thread acquires `L2` while holding `L1`,
//! with both acquisition events and the full set of locks the thread held then. Each
//! elementary cycle of the graph is enumerated once (from its smallest lock, visiting
//! only larger locks) and reported when its edges can be taken from instances that
//!
//! - belong to pairwise distinct threads (a cycle within one thread cannot deadlock), and
//! - hold pairwise disjoint lock sets: if two threads both held a common "gate" lock
//!   while taking their edges, they cannot be inside those sections at once.
//!
//! The graph and its cycle search are [`crate::lock_graph`], shared with the online
//! checker; its bounds apply.

use wasmgrind_trace::{Event, Op};

use crate::clock::Tid;
use crate::engine::Engine;
use crate::lock_graph::{disjoint, EdgeInstance, LockGraph};
use crate::race_collector::RaceCollector;
use crate::report::{Deadlock, DeadlockEdge, EventRef, Report};

pub use crate::lock_graph::{MAX_CYCLES, MAX_INSTANCES, SEARCH_BUDGET};

#[derive(Debug, Clone)]
struct Held {
    lock: u64,
    at: EventRef,
}

#[derive(Debug, Clone)]
struct Instance {
    thread: Tid,
    /// Every lock held when the edge was taken, sorted, deduplicated.
    gate: Vec<u64>,
    from: EventRef,
    to: EventRef,
}

impl EdgeInstance for Instance {
    fn compatible(&self, other: &Self) -> bool {
        self.thread != other.thread && disjoint(&self.gate, &other.gate)
    }
}

/// The deadlock engine.
#[derive(Debug, Default)]
pub struct DeadlockEngine {
    held: Vec<Vec<Held>>,
    graph: LockGraph<Instance>,
    races: RaceCollector,
}

impl DeadlockEngine {
    /// A fresh engine.
    pub fn new() -> Self {
        Self::default()
    }

    fn acquire(&mut self, t: Tid, lock: u64, at: EventRef) {
        let i = t as usize;
        if i >= self.held.len() {
            self.held.resize_with(i + 1, Vec::new);
        }
        let held = &self.held[i];
        let reentrant = held.iter().any(|h| h.lock == lock);
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
                };
                self.graph
                    .add(h.lock, lock, instance, |x| x.thread == t && x.gate == gate);
            }
        }
        self.held[i].push(Held { lock, at });
    }

    fn release(&mut self, t: Tid, lock: u64) {
        if let Some(held) = self.held.get_mut(t as usize) {
            if let Some(pos) = held.iter().rposition(|h| h.lock == lock) {
                held.remove(pos);
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
