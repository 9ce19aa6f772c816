//! The lock-order graph of a checked run, over [`wasmgrind_analysis::lock_graph`]:
//! an edge `L1 → L2` each time a thread acquires `L2` while holding `L1`, with both
//! acquisitions' code sites and call stacks.
//!
//! A cycle is a potential deadlock only if its edges can be taken by instances that
//! could all be in progress at once ([`EdgeRecord::compatible`]):
//!
//! - by distinct threads (both orders in one thread cannot deadlock);
//! - holding disjoint sets of locks (a common *gate* lock held across both
//!   acquisitions serializes them, unless both hold it to read);
//! - each waiting for the next: a request for a lock the next instance holds must
//!   conflict with that hold ([`Mode::waits_for`]: a reader need not wait for a
//!   reader, except behind a waiting writer of a writer-preferring lock);
//! - not ordered by happens-before *without lock edges* ([`crate::lock_clocks`]):
//!   for instances `i` (holding `a_i`, acquiring `b_i`) and `j`, if `b_i` happens
//!   before `a_j` (thread `j` started its section after learning, through a join,
//!   a spawn or an atomic flag, that `i` was done) they can never overlap.

use wasmgrind_analysis::clock::VectorClock;
use wasmgrind_analysis::lock_graph::{ordered, share, EdgeInstance, LockGraph};
use wasmgrind_runtime::ThreadId;

/// How a lock is held or asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A mutex (its only mode).
    Exclusive,
    /// A reader-writer lock, to write.
    Write,
    /// A reader-writer lock, to read. `writer_preferring` when a new reader waits
    /// while a writer waits (Rust std's futex `RwLock`), so that readers can be part
    /// of a deadlock through a third thread's write request; musl's
    /// `pthread_rwlock_t` lets readers in regardless.
    Read { writer_preferring: bool },
}

impl Mode {
    /// Whether a request in this mode can wait while another thread holds the lock in
    /// `held` (two readers only behind a waiting writer of a writer-preferring lock).
    pub fn waits_for(self, held: Mode) -> bool {
        match (self, held) {
            (Mode::Read { writer_preferring }, Mode::Read { .. }) => writer_preferring,
            _ => true,
        }
    }

    /// The mode as reports show it: `None` for a mutex.
    pub fn rw_mode(self) -> Option<wasmgrind_report::RwMode> {
        match self {
            Mode::Exclusive => None,
            Mode::Write => Some(wasmgrind_report::RwMode::Write),
            Mode::Read { .. } => Some(wasmgrind_report::RwMode::Read),
        }
    }

    /// Whether holds in `self` and `other` by two threads exclude each other.
    fn excludes(self, other: Mode) -> bool {
        !matches!((self, other), (Mode::Read { .. }, Mode::Read { .. }))
    }
}

/// A lock held across an acquisition: its id and mode. Gates are sorted by id.
pub type GateLock = (u64, Mode);

/// Whether two sorted gates hold a common lock in modes that exclude each other, so
/// the two acquisitions they guard can never be in progress at once.
fn serialized(a: &[GateLock], b: &[GateLock]) -> bool {
    share(a, b, |g| g.0, |x, y| x.1.excludes(y.1))
}

/// Where a lock was acquired: the atomic's site (none for a threadlink hook, whose
/// caller's call site is the innermost frame of `stack`) and the call stack id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub site: Option<u32>,
    pub stack: u32,
}

/// One instance of an edge.
#[derive(Debug, Clone)]
pub struct EdgeRecord {
    pub thread: ThreadId,
    /// Every lock the thread held, sorted.
    pub gate: Vec<GateLock>,
    /// Where the held lock was acquired.
    pub held_at: Place,
    /// Where the new lock was acquired.
    pub acquired_at: Place,
    /// How the thread held the one lock and asked for the other.
    pub modes: (Mode, Mode),
    /// The thread's lock-free clock when it acquired the held lock.
    pub held_clock: VectorClock,
    /// The thread's own lock-free time when it acquired the new lock.
    pub acquired_time: u32,
    /// The new lock is an inferred one the thread took and has not released itself
    /// (yet): such an instance is in no cycle. A word taken by one thread and reset by
    /// another, or never reset, is a handshake or a claimed flag (crossbeam's select
    /// state), not a lock held; only its own release shows the thread held a lock.
    /// A blocking request that was never granted (a deadlock) counts at once.
    pub unreleased: bool,
}

impl EdgeInstance for EdgeRecord {
    fn compatible(&self, other: &Self) -> bool {
        let before =
            |i: &EdgeRecord, j: &EdgeRecord| ordered(i.thread, i.acquired_time, &j.held_clock);
        !self.unreleased
            && !other.unreleased
            && self.thread != other.thread
            && !serialized(&self.gate, &other.gate)
            && !before(self, other)
            && !before(other, self)
    }

    fn blocks(&self, next: &Self) -> bool {
        self.modes.1.waits_for(next.modes.0)
    }
}

/// The run's graph.
#[derive(Default)]
pub struct LockOrder {
    graph: LockGraph<EdgeRecord>,
}

impl LockOrder {
    /// Records that `thread`, holding `held` (acquired at `held_at` with clock
    /// `held_clock`) and the locks `gate`, acquired `lock` at `acquired_at`, time `now`,
    /// in `modes` (held, acquired); `unreleased` as [`EdgeRecord::unreleased`] (until
    /// [`LockOrder::confirm`]).
    #[allow(clippy::too_many_arguments)]
    pub fn edge(
        &mut self,
        thread: ThreadId,
        (held, lock): (u64, u64),
        modes: (Mode, Mode),
        gate: &[GateLock],
        held_at: Place,
        held_clock: &VectorClock,
        acquired_at: Place,
        now: u32,
        unreleased: bool,
    ) {
        // One instance per thread, held set and pair of places: a loop taking the
        // same nesting again adds nothing (its first instance is kept).
        let same = |x: &EdgeRecord| {
            x.thread == thread
                && x.gate == gate
                && x.held_at == held_at
                && x.acquired_at == acquired_at
                && x.modes == modes
        };
        if !self.graph.wants(held, lock, same) {
            return;
        }
        let record = EdgeRecord {
            thread,
            gate: gate.to_vec(),
            held_at,
            acquired_at,
            modes,
            held_clock: held_clock.clone(),
            acquired_time: now,
            unreleased,
        };
        self.graph.add(held, lock, record, |_| false);
    }

    /// `thread` released `lock` itself: its instances of `held → lock` count.
    pub fn confirm(&mut self, thread: ThreadId, held: u64, lock: u64) {
        for instance in self.graph.instances_mut(held, lock) {
            if instance.thread == thread {
                instance.unreleased = false;
            }
        }
    }

    /// [`Self::cycles`], counting also the instances of each `(thread, held, lock)` of
    /// `waiting`, requests their threads still wait for (they can never be released).
    pub fn cycles_with(
        &self,
        waiting: &[(ThreadId, u32, u32)],
        is_lock: impl Fn(u64) -> bool,
    ) -> Vec<Vec<(u64, u64, EdgeRecord)>> {
        if waiting.is_empty() {
            return self.cycles(is_lock);
        }
        let mut order = LockOrder {
            graph: self.graph.clone(),
        };
        for &(thread, held, lock) in waiting {
            order.confirm(thread, held.into(), lock.into());
        }
        order.cycles(is_lock)
    }

    /// Every potential deadlock through locks `is_lock` accepts: per cycle its
    /// edges `(held, acquired, instance)` in order.
    pub fn cycles(&self, is_lock: impl Fn(u64) -> bool) -> Vec<Vec<(u64, u64, EdgeRecord)>> {
        self.graph
            .cycles(is_lock)
            .into_iter()
            .map(|cycle| {
                cycle
                    .into_iter()
                    .map(|e| (e.from, e.to, e.instance.clone()))
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(site: u32) -> Place {
        Place {
            site: Some(site),
            stack: 0,
        }
    }

    fn clock(entries: &[(u32, u32)]) -> VectorClock {
        let mut c = VectorClock::new();
        for &(t, v) in entries {
            c.set(t, v);
        }
        c
    }

    /// `g.edge` with sites for places and a clock spelled as entries.
    #[allow(clippy::too_many_arguments)]
    fn take(
        g: &mut LockOrder,
        thread: ThreadId,
        (held, lock): (u64, u64),
        gate: &[u64],
        held_clock: &[(u32, u32)],
        (held_site, acquired_site): (u32, u32),
        now: u32,
        unreleased: bool,
    ) {
        let (held_at, acquired_at) = (place(held_site), place(acquired_site));
        let held_clock = clock(held_clock);
        let gate: Vec<GateLock> = gate.iter().map(|&l| (l, Mode::Exclusive)).collect();
        g.edge(
            thread,
            (held, lock),
            (Mode::Exclusive, Mode::Exclusive),
            &gate,
            held_at,
            &held_clock,
            acquired_at,
            now,
            unreleased,
        );
    }

    #[test]
    fn concurrent_inversion_is_a_cycle_ordered_one_is_not() {
        let mut g = LockOrder::default();
        // Thread 1 takes 1 → 2 at its time 5; thread 2 took 2 (its clock knew
        // thread 1 only up to 3) and then 1.
        take(&mut g, 1, (1, 2), &[1], &[(1, 4)], (10, 11), 5, false);
        take(
            &mut g,
            2,
            (2, 1),
            &[2],
            &[(1, 3), (2, 7)],
            (20, 21),
            8,
            false,
        );
        let cycles = g.cycles(|_| true);
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0][0].2.acquired_at, place(11));

        let mut g = LockOrder::default();
        take(&mut g, 1, (1, 2), &[1], &[(1, 4)], (10, 11), 5, false);
        // Thread 2 learned thread 1's time 5 before taking lock 2.
        take(
            &mut g,
            2,
            (2, 1),
            &[2],
            &[(1, 5), (2, 7)],
            (20, 21),
            8,
            false,
        );
        assert!(g.cycles(|_| true).is_empty());
    }

    #[test]
    fn gate_lock_and_same_thread_are_not_cycles() {
        let mut g = LockOrder::default();
        take(&mut g, 1, (1, 2), &[1, 9], &[], (10, 11), 5, false);
        take(&mut g, 2, (2, 1), &[2, 9], &[], (20, 21), 8, false);
        assert!(g.cycles(|_| true).is_empty());
        let mut g = LockOrder::default();
        take(&mut g, 1, (1, 2), &[1], &[], (10, 11), 5, false);
        take(&mut g, 1, (2, 1), &[2], &[], (20, 21), 8, false);
        assert!(g.cycles(|_| true).is_empty());
    }

    #[test]
    fn an_unreleased_instance_is_in_no_cycle_until_confirmed() {
        let mut g = LockOrder::default();
        take(&mut g, 1, (1, 2), &[1], &[], (10, 11), 5, false);
        take(&mut g, 2, (2, 1), &[2], &[], (20, 21), 8, true);
        assert!(g.cycles(|_| true).is_empty());
        // Another thread's release confirms nothing.
        g.confirm(1, 2, 1);
        assert!(g.cycles(|_| true).is_empty());
        g.confirm(2, 2, 1);
        assert_eq!(g.cycles(|_| true).len(), 1);
    }

    #[test]
    fn readers_of_a_gate_lock_do_not_serialize_writers_do() {
        const R: Mode = Mode::Read {
            writer_preferring: false,
        };
        let gate = |modes: &[(u64, Mode)]| modes.to_vec();
        assert!(!serialized(&gate(&[(9, R)]), &gate(&[(9, R)])));
        assert!(serialized(&gate(&[(9, R)]), &gate(&[(9, Mode::Write)])));
        assert!(serialized(
            &gate(&[(3, R), (9, Mode::Exclusive)]),
            &gate(&[(3, R), (9, Mode::Exclusive)])
        ));
        assert!(!serialized(&gate(&[(3, R)]), &gate(&[(4, Mode::Write)])));
    }

    #[test]
    fn readers_wait_for_readers_only_behind_a_writer() {
        let read = |writer_preferring| Mode::Read { writer_preferring };
        assert!(!read(false).waits_for(read(false)));
        assert!(read(true).waits_for(read(true)));
        assert!(read(false).waits_for(Mode::Write));
        assert!(Mode::Write.waits_for(read(false)));
        assert!(Mode::Exclusive.waits_for(Mode::Exclusive));
    }
}
