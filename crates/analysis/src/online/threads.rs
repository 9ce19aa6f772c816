//! Per-thread vector clocks and lifecycle.
//!
//! Clock discipline (shared with [`check`](super::check)): a thread's own entry starts at
//! 1 and is incremented after *every* synchronization step that changes what the thread
//! knows or publishes (acquire, release, fork, join). Hence two accesses of one thread
//! with the same own entry (epoch) have identical vector clocks, which is what makes the
//! same-epoch fast path and cell replacement sound.

use crate::clock::VectorClock;

use super::access::ThreadId;

/// Lifecycle of a thread slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    Running,
    Exited,
    /// Exited and joined: its clock was merged into the joiner and freed.
    Joined,
}

/// One thread's state.
struct Slot {
    clock: VectorClock,
    life: Life,
}

/// All threads, indexed by id (ids are dense, so a `Vec` is the right map).
#[derive(Default)]
pub(crate) struct Threads {
    slots: Vec<Option<Slot>>,
}

impl Threads {
    /// Thread `t`'s slot, created (own entry 1, knowing nothing else) on first sight.
    fn slot(&mut self, t: ThreadId) -> &mut Slot {
        let i = t as usize;
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i].get_or_insert_with(|| {
            let mut clock = VectorClock::new();
            clock.set(t, 1);
            Slot {
                clock,
                life: Life::Running,
            }
        })
    }

    /// Thread `t`'s current clock (creating the thread on first sight).
    #[inline]
    pub(crate) fn clock(&mut self, t: ThreadId) -> &VectorClock {
        &self.slot(t).clock
    }

    /// Thread `t`'s clock for updating (creating the thread on first sight).
    #[inline]
    pub(crate) fn clock_mut(&mut self, t: ThreadId) -> &mut VectorClock {
        &mut self.slot(t).clock
    }

    /// Fork: the child starts knowing everything the parent did; both then move on.
    pub(crate) fn fork(&mut self, parent: ThreadId, child: ThreadId) {
        let parent_clock = self.slot(parent).clock.clone();
        let c = self.slot(child);
        c.clock.join(&parent_clock);
        c.clock.inc(child);
        c.life = Life::Running;
        self.slot(parent).clock.inc(parent);
    }

    /// Join: the joiner learns everything `joined` did. If `joined` has exited, its clock
    /// is freed (a thread is joined at most once), keeping 1000s of short-lived threads
    /// cheap; a later join of the same thread adds no ordering.
    pub(crate) fn join(&mut self, joiner: ThreadId, joined: ThreadId) {
        if joiner == joined {
            return;
        }
        self.slot(joined);
        self.slot(joiner);
        let (a, b) = (joiner as usize, joined as usize);
        // Both slots exist now; borrow them disjointly.
        let (j, d) = if a < b {
            let (lo, hi) = self.slots.split_at_mut(b);
            (&mut lo[a], &mut hi[0])
        } else {
            let (lo, hi) = self.slots.split_at_mut(a);
            (&mut hi[0], &mut lo[b])
        };
        let (Some(j), Some(d)) = (j.as_mut(), d.as_mut()) else {
            return;
        };
        j.clock.join(&d.clock);
        j.clock.inc(joiner);
        match d.life {
            Life::Exited => {
                d.clock = VectorClock::new();
                d.life = Life::Joined;
            }
            Life::Running => d.clock.inc(joined),
            Life::Joined => {}
        }
    }

    /// Thread `t` finished: it keeps its final clock until joined.
    pub(crate) fn exit(&mut self, t: ThreadId) {
        let s = self.slot(t);
        if s.life == Life::Running {
            s.life = Life::Exited;
        }
    }

    /// Total clock entries held (memory accounting).
    pub(crate) fn clock_entries(&self) -> usize {
        self.slots.iter().flatten().map(|s| s.clock.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fork_and_join_transfer_knowledge() {
        let mut t = Threads::default();
        t.clock_mut(0).inc(0);
        let before_fork = t.clock(0).get(0);
        t.fork(0, 1);
        assert_eq!(t.clock(1).get(0), before_fork);
        assert!(
            t.clock(0).get(0) > before_fork,
            "parent moves past the fork"
        );
        let child_end = t.clock(1).get(1);
        t.exit(1);
        t.join(0, 1);
        assert_eq!(t.clock(0).get(1), child_end);
        assert_eq!(t.clock(1).len(), 0, "joined exited thread's clock is freed");
    }

    #[test]
    fn join_either_index_order() {
        let mut t = Threads::default();
        t.clock(5);
        t.join(7, 5);
        assert_eq!(t.clock(7).get(5), 1);
        t.join(2, 7);
        assert_eq!(t.clock(2).get(5), 1);
        assert_eq!(t.clock(2).get(7), 2);
        t.join(3, 3);
        assert_eq!(t.clock(3).get(3), 1);
    }
}
