//! The lock-order graph shared by the offline `deadlock` engine and the online
//! checker (`wasmgrind check`): edges `L1 → L2` ("acquired L2 while holding L1"),
//! each remembered by a bounded list of *instances* (who took the edge, holding
//! what, when), and the search for cycles whose edges can be taken by instances
//! that could all be in their critical sections at once — a potential deadlock.
//!
//! What makes two instances compatible is the caller's [`EdgeInstance`]: distinct
//! threads and disjoint held-lock sets (a common "gate" lock serializes the two
//! sections) always; the online checker adds "not ordered by happens-before".
//!
//! Each elementary cycle is enumerated once (from its smallest lock, visiting only
//! larger locks). Bounds keep this finite on any run: per edge at most
//! [`MAX_INSTANCES`] instances; the search stops after [`SEARCH_BUDGET`] steps or
//! [`MAX_CYCLES`] cycles.

use rustc_hash::FxHashMap;

use crate::clock::VectorClock;

/// Distinct instances kept per edge.
pub const MAX_INSTANCES: usize = 16;
/// Depth-first steps spent searching cycles.
pub const SEARCH_BUDGET: u64 = 2_000_000;
/// Cycles reported at most.
pub const MAX_CYCLES: usize = 1000;

/// One way an edge was taken.
pub trait EdgeInstance {
    /// Whether `self` and `other`, instances of two different edges of one cycle,
    /// can both be in progress at the same time (so the cycle can deadlock).
    fn compatible(&self, other: &Self) -> bool;

    /// Whether `self`'s acquisition waits while `next` (the cycle's following edge,
    /// whose held lock `self` acquires) holds that lock. Always, for mutexes; two
    /// readers of a reader-writer lock need not wait for each other.
    fn blocks(&self, _next: &Self) -> bool {
        true
    }
}

/// One edge of a found cycle with the instance chosen for it.
#[derive(Debug)]
pub struct CycleEdge<'a, I> {
    /// The lock held.
    pub from: u64,
    /// The lock acquired while holding `from`.
    pub to: u64,
    /// How the edge was taken.
    pub instance: &'a I,
}

/// Lock-order edges and their instances.
#[derive(Debug, Clone)]
pub struct LockGraph<I> {
    edges: FxHashMap<(u64, u64), Vec<I>>,
}

impl<I> Default for LockGraph<I> {
    fn default() -> Self {
        LockGraph {
            edges: FxHashMap::default(),
        }
    }
}

impl<I: EdgeInstance> LockGraph<I> {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `instance` of edge `from → to` unless the edge already has an instance
    /// `same` says is equivalent, or [`MAX_INSTANCES`] of them. True if recorded.
    pub fn add(&mut self, from: u64, to: u64, instance: I, same: impl Fn(&I) -> bool) -> bool {
        let list = self.edges.entry((from, to)).or_default();
        if list.len() >= MAX_INSTANCES || list.iter().any(same) {
            return false;
        }
        list.push(instance);
        true
    }

    /// Whether [`LockGraph::add`] would record an instance of `from → to` that no
    /// existing one is `same` as (lets callers skip building instances).
    pub fn wants(&self, from: u64, to: u64, same: impl Fn(&I) -> bool) -> bool {
        self.edges
            .get(&(from, to))
            .is_none_or(|list| list.len() < MAX_INSTANCES && !list.iter().any(same))
    }

    /// The instances of edge `from → to` (none if it has none), to update in place.
    pub fn instances_mut(&mut self, from: u64, to: u64) -> impl Iterator<Item = &mut I> {
        self.edges.get_mut(&(from, to)).into_iter().flatten()
    }

    /// Number of distinct edges.
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// Every cycle through locks `keep` accepts whose edges have pairwise compatible
    /// instances, each cycle once, starting from its smallest lock.
    pub fn cycles(&self, keep: impl Fn(u64) -> bool) -> Vec<Vec<CycleEdge<'_, I>>> {
        let mut adj: FxHashMap<u64, Vec<u64>> = FxHashMap::default();
        for &(a, b) in self.edges.keys() {
            if a != b && keep(a) && keep(b) {
                adj.entry(a).or_default().push(b);
            }
        }
        for v in adj.values_mut() {
            v.sort_unstable();
        }
        let mut starts: Vec<u64> = adj.keys().copied().collect();
        starts.sort_unstable();
        let mut search = Search {
            graph: self,
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
struct Search<'g, 'a, I> {
    graph: &'g LockGraph<I>,
    adj: &'a FxHashMap<u64, Vec<u64>>,
    budget: u64,
    found: Vec<Vec<CycleEdge<'g, I>>>,
    path: Vec<u64>,
}

impl<'g, I: EdgeInstance> Search<'g, '_, I> {
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
                if let Some(cycle) = self.assign() {
                    self.found.push(cycle);
                }
            } else if n > start && !self.path.contains(&n) {
                self.path.push(n);
                self.dfs(start, n);
                self.path.pop();
            }
        }
    }

    /// Picks one instance per edge of the current cycle, pairwise compatible.
    fn assign(&mut self) -> Option<Vec<CycleEdge<'g, I>>> {
        let graph = self.graph;
        let k = self.path.len();
        let edges: Vec<&'g Vec<I>> = (0..k)
            .map(|i| &graph.edges[&(self.path[i], self.path[(i + 1) % k])])
            .collect();
        let mut chosen: Vec<&'g I> = Vec::with_capacity(k);
        if !pick(&edges, &mut chosen, &mut self.budget) {
            return None;
        }
        Some(
            chosen
                .into_iter()
                .enumerate()
                .map(|(i, instance)| CycleEdge {
                    from: self.path[i],
                    to: self.path[(i + 1) % k],
                    instance,
                })
                .collect(),
        )
    }
}

/// Backtracking choice of compatible instances for `edges[chosen.len()..]`, each
/// blocked by the next one's hold ([`EdgeInstance::blocks`], around the cycle).
fn pick<'a, I: EdgeInstance>(
    edges: &[&'a Vec<I>],
    chosen: &mut Vec<&'a I>,
    budget: &mut u64,
) -> bool {
    let i = chosen.len();
    if i == edges.len() {
        return true;
    }
    let last = i + 1 == edges.len();
    for x in edges[i] {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let chained = chosen.last().is_none_or(|p| p.blocks(x))
            && (!last || chosen.first().is_none_or(|f| x.blocks(f)));
        if chained && chosen.iter().all(|c| c.compatible(x) && x.compatible(c)) {
            chosen.push(x);
            if pick(edges, chosen, budget) {
                return true;
            }
            chosen.pop();
        }
    }
    false
}

/// True when two sorted sets share no element (no common gate lock).
pub fn disjoint(a: &[u64], b: &[u64]) -> bool {
    !share(a, b, |&l| l, |_, _| true)
}

/// Whether two lists sorted by `key` hold elements of one key that `conflict`
/// accepts: a common gate lock, held in modes that exclude each other.
pub fn share<T>(
    a: &[T],
    b: &[T],
    key: impl Fn(&T) -> u64,
    conflict: impl Fn(&T, &T) -> bool,
) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match key(&a[i]).cmp(&key(&b[j])) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal if conflict(&a[i], &b[j]) => return true,
            std::cmp::Ordering::Equal => (i, j) = (i + 1, j + 1),
        }
    }
    false
}

/// Whether an edge instance taken by `thread` at its own time `acquired_time` happens
/// before the section of one whose thread took its held lock knowing `held_clock`
/// (it had learned, by a join, a fork or a flag, that the first was past its
/// acquisition): the two can never be in progress at once.
pub fn ordered(thread: u32, acquired_time: u32, held_clock: &VectorClock) -> bool {
    held_clock.get(thread) >= acquired_time
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thread and gate only, like the offline engine.
    #[derive(Debug, PartialEq)]
    struct Inst {
        thread: u32,
        gate: Vec<u64>,
    }

    impl EdgeInstance for Inst {
        fn compatible(&self, other: &Self) -> bool {
            self.thread != other.thread && disjoint(&self.gate, &other.gate)
        }
    }

    fn inst(thread: u32, gate: &[u64]) -> Inst {
        Inst {
            thread,
            gate: gate.to_vec(),
        }
    }

    fn add(g: &mut LockGraph<Inst>, from: u64, to: u64, i: Inst) {
        g.add(from, to, i, |_| false);
    }

    #[test]
    fn two_thread_inversion_is_one_cycle() {
        let mut g = LockGraph::new();
        add(&mut g, 1, 2, inst(0, &[1]));
        add(&mut g, 2, 1, inst(1, &[2]));
        let cycles = g.cycles(|_| true);
        assert_eq!(cycles.len(), 1);
        let locks: Vec<(u64, u64)> = cycles[0].iter().map(|e| (e.from, e.to)).collect();
        assert_eq!(locks, vec![(1, 2), (2, 1)]);
    }

    #[test]
    fn same_thread_gate_and_filtered_locks_are_not_cycles() {
        let mut g = LockGraph::new();
        add(&mut g, 1, 2, inst(0, &[1]));
        add(&mut g, 2, 1, inst(0, &[2]));
        assert!(g.cycles(|_| true).is_empty(), "one thread");
        let mut g = LockGraph::new();
        add(&mut g, 1, 2, inst(0, &[1, 9]));
        add(&mut g, 2, 1, inst(1, &[2, 9]));
        assert!(g.cycles(|_| true).is_empty(), "gate lock 9");
        let mut g = LockGraph::new();
        add(&mut g, 1, 2, inst(0, &[1]));
        add(&mut g, 2, 1, inst(1, &[2]));
        assert!(g.cycles(|l| l != 2).is_empty(), "lock 2 filtered out");
    }

    /// An instance that holds its lock and asks for the next one in a mode.
    #[derive(Debug)]
    struct Moded {
        thread: u32,
        held_shared: bool,
        asks_shared: bool,
    }

    impl EdgeInstance for Moded {
        fn compatible(&self, other: &Self) -> bool {
            self.thread != other.thread
        }
        fn blocks(&self, next: &Self) -> bool {
            !(self.asks_shared && next.held_shared)
        }
    }

    #[test]
    fn a_cycle_needs_every_request_blocked_by_the_next_hold() {
        let moded = |thread, held_shared, asks_shared| Moded {
            thread,
            held_shared,
            asks_shared,
        };
        let cycles = |a: Moded, b: Moded| {
            let mut g = LockGraph::new();
            g.add(1, 2, a, |_| false);
            g.add(2, 1, b, |_| false);
            g.cycles(|_| true).len()
        };
        assert_eq!(cycles(moded(0, false, false), moded(1, false, false)), 1);
        // Thread 1 asks for lock 1 exclusively, which thread 0 holds shared: it waits.
        assert_eq!(cycles(moded(0, true, false), moded(1, false, false)), 1);
        assert_eq!(cycles(moded(0, true, true), moded(1, false, false)), 1);
        // Thread 1 asks for lock 1 shared, which thread 0 holds shared: it goes on.
        assert_eq!(cycles(moded(0, true, false), moded(1, false, true)), 0);
        // The wrap-around pair: thread 0 asks for lock 2 shared, thread 1 holds it so.
        assert_eq!(cycles(moded(0, false, true), moded(1, true, false)), 0);
    }

    #[test]
    fn three_lock_cycle_and_instance_bound() {
        let mut g = LockGraph::new();
        add(&mut g, 1, 2, inst(0, &[1]));
        add(&mut g, 2, 3, inst(1, &[2]));
        add(&mut g, 3, 1, inst(2, &[3]));
        let cycles = g.cycles(|_| true);
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].len(), 3);
        let mut g = LockGraph::new();
        for t in 0..(MAX_INSTANCES as u32 + 5) {
            add(&mut g, 1, 2, inst(t, &[1]));
        }
        assert!(!g.add(1, 2, inst(99, &[1]), |_| false));
        assert!(!{
            let mut h = LockGraph::new();
            h.add(1, 2, inst(0, &[1]), |_| false);
            h.add(1, 2, inst(0, &[1]), |x| x.thread == 0)
        });
    }
}
