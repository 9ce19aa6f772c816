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
//! Bounds keep this finite on any trace: per edge at most [`MAX_INSTANCES`] distinct
//! (thread, held set) instances; cycle search stops after [`SEARCH_BUDGET`] steps or
//! [`MAX_CYCLES`] reported cycles.

use rustc_hash::FxHashMap;
use wasmgrind_trace::{Event, Op};

use crate::clock::Tid;
use crate::engine::Engine;
use crate::race_collector::RaceCollector;
use crate::report::{Deadlock, DeadlockEdge, EventRef, Report};

/// Distinct (thread, held set) instances kept per edge.
pub const MAX_INSTANCES: usize = 16;
/// Depth-first steps spent searching cycles.
pub const SEARCH_BUDGET: u64 = 2_000_000;
/// Cycles reported at most.
pub const MAX_CYCLES: usize = 1000;

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

/// The deadlock engine.
#[derive(Debug, Default)]
pub struct DeadlockEngine {
    held: Vec<Vec<Held>>,
    edges: FxHashMap<(u64, u64), Vec<Instance>>,
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
                let list = self.edges.entry((h.lock, lock)).or_default();
                if list.len() < MAX_INSTANCES
                    && !list.iter().any(|x| x.thread == t && x.gate == gate)
                {
                    list.push(Instance {
                        thread: t,
                        gate: gate.clone(),
                        from: h.at,
                        to: at,
                    });
                }
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
        let mut adj: FxHashMap<u64, Vec<u64>> = FxHashMap::default();
        for &(a, b) in self.edges.keys() {
            adj.entry(a).or_default().push(b);
        }
        for v in adj.values_mut() {
            v.sort_unstable();
        }
        let mut starts: Vec<u64> = adj.keys().copied().collect();
        starts.sort_unstable();
        let mut search = Search {
            engine: self,
            adj: &adj,
            budget: SEARCH_BUDGET,
            found: Vec::new(),
            path: Vec::new(),
        };
        for s in starts {
            search.path.clear();
            search.path.push(s);
            search.dfs(s, s);
            if search.budget == 0 || search.found.len() >= MAX_CYCLES {
                break;
            }
        }
        search.found
    }
}

/// Depth-first enumeration of elementary cycles through their smallest lock.
struct Search<'a> {
    engine: &'a DeadlockEngine,
    adj: &'a FxHashMap<u64, Vec<u64>>,
    budget: u64,
    found: Vec<Deadlock>,
    path: Vec<u64>,
}

impl Search<'_> {
    fn dfs(&mut self, start: u64, node: u64) {
        let Some(next) = self.adj.get(&node) else {
            return;
        };
        for &n in next {
            if self.budget == 0 || self.found.len() >= MAX_CYCLES {
                return;
            }
            self.budget -= 1;
            if n == start {
                if let Some(d) = self.assign() {
                    self.found.push(d);
                }
            } else if n > start && !self.path.contains(&n) {
                self.path.push(n);
                self.dfs(start, n);
                self.path.pop();
            }
        }
    }

    /// Picks one instance per edge of the current cycle meeting the module's conditions.
    fn assign(&mut self) -> Option<Deadlock> {
        let k = self.path.len();
        let edges: Vec<&Vec<Instance>> = (0..k)
            .map(|i| &self.engine.edges[&(self.path[i], self.path[(i + 1) % k])])
            .collect();
        let mut chosen: Vec<&Instance> = Vec::with_capacity(k);
        if !pick(&edges, &mut chosen, &mut self.budget) {
            return None;
        }
        Some(Deadlock {
            edges: chosen
                .iter()
                .enumerate()
                .map(|(i, x)| DeadlockEdge {
                    from_lock: self.path[i],
                    to_lock: self.path[(i + 1) % k],
                    from: x.from,
                    to: x.to,
                })
                .collect(),
        })
    }
}

/// Backtracking choice of compatible instances for `edges[chosen.len()..]`.
fn pick<'a>(edges: &[&'a Vec<Instance>], chosen: &mut Vec<&'a Instance>, budget: &mut u64) -> bool {
    let i = chosen.len();
    if i == edges.len() {
        return true;
    }
    for x in edges[i] {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let ok = chosen
            .iter()
            .all(|c| c.thread != x.thread && disjoint(&c.gate, &x.gate));
        if ok {
            chosen.push(x);
            if pick(edges, chosen, budget) {
                return true;
            }
            chosen.pop();
        }
    }
    false
}

/// True when two sorted sets share no element.
fn disjoint(a: &[u64], b: &[u64]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return false,
        }
    }
    true
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
