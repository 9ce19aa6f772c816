//! Call stacks as a trie of call sites: a stack id is a node, pushing a call is a
//! child lookup and popping is going to the parent, so every access carries its
//! whole stack as one `u32` and the shadow memory stores just that.

use std::sync::Mutex;

use rustc_hash::FxHashMap;

/// The empty stack (the thread's entry function).
pub const ROOT: u32 = 0;

#[derive(Default)]
struct Trie {
    /// `nodes[id] = (parent, call site)`; node 0 is the root.
    nodes: Vec<(u32, u32)>,
    children: FxHashMap<(u32, u32), u32>,
}

/// Interned call stacks shared by all threads.
pub struct StackDepot {
    trie: Mutex<Trie>,
}

impl Default for StackDepot {
    fn default() -> Self {
        StackDepot {
            trie: Mutex::new(Trie {
                nodes: vec![(ROOT, u32::MAX)],
                children: FxHashMap::default(),
            }),
        }
    }
}

impl StackDepot {
    /// The stack `parent` extended by a call at `site`.
    pub fn child(&self, parent: u32, site: u32) -> u32 {
        let mut trie = self.trie.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&id) = trie.children.get(&(parent, site)) {
            return id;
        }
        let id = trie.nodes.len() as u32;
        trie.nodes.push((parent, site));
        trie.children.insert((parent, site), id);
        id
    }

    /// The call sites of stack `id`, innermost first.
    pub fn sites(&self, mut id: u32) -> Vec<u32> {
        let trie = self.trie.lock().unwrap_or_else(|p| p.into_inner());
        let mut sites = Vec::new();
        while id != ROOT {
            let Some(&(parent, site)) = trie.nodes.get(id as usize) else {
                break;
            };
            sites.push(site);
            id = parent;
        }
        sites
    }
}

/// A thread's own view of the depot: its current stack and a cache of trie edges it
/// has taken, so calls in hot loops do not touch the shared lock.
pub struct ThreadStack {
    current: u32,
    saved: Vec<u32>,
    /// The edges taken lately, direct-mapped by `(parent, site)`: a call in a loop is
    /// one compare here instead of a hash-map probe (calls are about half the records
    /// of allocation-heavy code). Empty entries have parent `u32::MAX`, never a node.
    recent: Box<[Edge; RECENT]>,
    /// Every edge taken, behind `recent`.
    cache: FxHashMap<(u32, u32), u32>,
}

/// A trie edge: `(parent, call site, child)`.
type Edge = (u32, u32, u32);

/// Entries of [`ThreadStack::recent`] (a power of two).
const RECENT: usize = 256;

impl Default for ThreadStack {
    fn default() -> Self {
        ThreadStack {
            current: ROOT,
            saved: Vec::new(),
            recent: Box::new([(u32::MAX, 0, 0); RECENT]),
            cache: FxHashMap::default(),
        }
    }
}

impl ThreadStack {
    pub fn current(&self) -> u32 {
        self.current
    }

    pub fn enter(&mut self, depot: &StackDepot, site: u32) {
        let parent = self.current;
        let slot = (parent.wrapping_mul(0x9E37_79B9) ^ site) as usize & (RECENT - 1);
        let child = match self.recent[slot] {
            (p, s, child) if p == parent && s == site => child,
            _ => {
                let child = *self
                    .cache
                    .entry((parent, site))
                    .or_insert_with(|| depot.child(parent, site));
                self.recent[slot] = (parent, site, child);
                child
            }
        };
        self.saved.push(parent);
        self.current = child;
    }

    pub fn exit(&mut self) {
        self.current = self.saved.pop().unwrap_or(ROOT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_round_trip_and_share_prefixes() {
        let depot = StackDepot::default();
        let mut t = ThreadStack::default();
        t.enter(&depot, 10);
        t.enter(&depot, 20);
        let inner = t.current();
        assert_eq!(depot.sites(inner), vec![20, 10]);
        t.exit();
        assert_eq!(depot.sites(t.current()), vec![10]);
        t.enter(&depot, 20);
        assert_eq!(t.current(), inner, "same path, same id");
        t.exit();
        t.exit();
        t.exit(); // unbalanced exit stays at the root
        assert_eq!(t.current(), ROOT);
        assert!(depot.sites(ROOT).is_empty());
    }

    #[test]
    fn the_recent_edges_agree_with_the_depot_when_they_collide() {
        // Far more edges than `recent` has entries, from two parents, in two rounds:
        // every lookup, hit or evicted, must give the depot's node.
        let depot = StackDepot::default();
        let mut t = ThreadStack::default();
        t.enter(&depot, 7);
        let inner = t.current();
        t.exit();
        for _ in 0..2 {
            for parent_site in [None, Some(7)] {
                for site in 0..4 * RECENT as u32 {
                    if let Some(s) = parent_site {
                        t.enter(&depot, s);
                    }
                    let parent = t.current();
                    t.enter(&depot, site);
                    assert_eq!(t.current(), depot.child(parent, site));
                    assert_eq!(depot.sites(t.current())[0], site);
                    t.exit();
                    if parent_site.is_some() {
                        assert_eq!(t.current(), inner);
                        t.exit();
                    }
                    assert_eq!(t.current(), ROOT);
                }
            }
        }
    }
}
