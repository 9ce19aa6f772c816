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
    cache: FxHashMap<(u32, u32), u32>,
}

impl Default for ThreadStack {
    fn default() -> Self {
        ThreadStack {
            current: ROOT,
            saved: Vec::new(),
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
        let child = *self
            .cache
            .entry((parent, site))
            .or_insert_with(|| depot.child(parent, site));
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
}
