//! Per-thread vector clocks, lifecycle and counters, each thread behind its own lock.
//!
//! Clock discipline (shared with [`check`](super::check)): a thread's own entry starts at
//! 1 and is incremented after *every* synchronization step that changes what the thread
//! knows or publishes (acquire, release, fork, join). Hence two accesses of one thread
//! with the same own entry (epoch) have identical vector clocks, which is what makes the
//! same-epoch fast path and cell replacement sound.
//!
//! Concurrency: a thread's state is locked by that thread for its events, either per
//! event or once for its whole life through its [`ThreadHandle`] (which spares a locked
//! instruction per event). Another thread touches it only at fork (the parent writes the
//! child's clock before the child runs, so before the child can hold it), at join (the
//! joiner reads the joined thread's final clock: the joined thread has exited, which
//! released its handle) and for statistics (which skip a state a handle holds). No code
//! takes a thread lock while it holds another (fork and join work in two halves); only
//! a handle's lock, held for good, may be held meanwhile. The lock is a [`SpinMutex`]
//! (one atomic instruction per lock and unlock pair instead of two, as it is nearly
//! never contended); the table itself is lock-free ([`ThreadTable`]).

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::clock::VectorClock;
use crate::thread_table::ThreadTable;
use wasmgrind_spin::{ArcSpinMutexGuard, SpinMutex, SpinMutexGuard};

use super::access::ThreadId;
use super::cell::MAX_CELL_TID;
use super::check::Step;
use super::detached::DetachedRef;

/// Lifecycle of a thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    Running,
    Exited,
    /// Exited and joined: its clock was merged into the joiner and freed.
    Joined,
}

/// Work counters kept per thread (summed by `Detector::stats`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counters {
    pub(crate) granule_checks: u64,
    pub(crate) fast_path_hits: u64,
    pub(crate) evictions: u64,
}

impl Counters {
    /// Counts one granule check that ended in `step`.
    #[inline]
    pub(crate) fn count(&mut self, step: Step) {
        self.granule_checks += 1;
        match step {
            Step::Skipped => self.fast_path_hits += 1,
            Step::Evicted => self.evictions += 1,
            Step::Stored => {}
        }
    }
}

/// One thread's state, on cache lines of its own (with its lock and its `Arc`'s counts,
/// which nobody else writes): the thread writes it on every event, and a neighbour
/// sharing a line would bounce it between cores.
#[repr(align(128))]
pub struct ThreadState {
    /// The thread's vector clock.
    pub(crate) clock: VectorClock,
    life: Life,
    /// The thread's work counters.
    pub(crate) counters: Counters,
    /// xorshift32 state for random eviction by this thread; never 0.
    pub(crate) rng: u32,
    /// The detached granules of the atomic words this thread used lately, by word
    /// address: its next atomic on one of them goes to the record directly, without
    /// looking up the word's sync object (see `Detector::atomic_after`).
    pub(crate) words: WordCache,
}

/// A thread's map of atomic word address → detached granule, emptied when it reaches
/// [`WordCache::MAX`] entries so a program touching many words keeps it small.
#[derive(Default)]
pub(crate) struct WordCache(FxHashMap<u64, DetachedRef>);

impl WordCache {
    /// Most entries kept (16 bytes each, plus the map's overhead).
    const MAX: usize = 4096;

    /// The record of the word at `addr`, if cached.
    #[inline]
    pub(crate) fn get(&self, addr: u64) -> Option<&DetachedRef> {
        self.0.get(&addr)
    }

    /// Remembers that the word at `addr` lives in `record`.
    pub(crate) fn insert(&mut self, addr: u64, record: &DetachedRef) {
        if self.0.len() >= Self::MAX {
            self.0.clear();
        }
        self.0.insert(addr, record.clone());
    }

    /// Entries held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// What an atomic on a cached word changes of its thread's state, borrowed beside the
/// cache that holds the word's record.
pub(crate) struct Parts<'a> {
    pub(crate) clock: &'a mut VectorClock,
    pub(crate) counters: &'a mut Counters,
    pub(crate) rng: &'a mut u32,
}

impl ThreadState {
    /// The mutable parts and the word cache, borrowed apart.
    #[inline]
    pub(crate) fn parts(&mut self) -> (Parts<'_>, &WordCache) {
        let parts = Parts {
            clock: &mut self.clock,
            counters: &mut self.counters,
            rng: &mut self.rng,
        };
        (parts, &self.words)
    }

    fn new(t: ThreadId) -> Self {
        let mut clock = VectorClock::new();
        clock.set(t, 1);
        ThreadState {
            clock,
            life: Life::Running,
            counters: Counters::default(),
            rng: (0x9E37_79B9 ^ t.wrapping_mul(0x85EB_CA6B)) | 1,
            words: WordCache::default(),
        }
    }
}

/// All threads, indexed by id (dense spawn indices, at most [`MAX_CELL_TID`]); each state
/// behind an `Arc` so that a [`ThreadHandle`] can hold its lock without borrowing the
/// detector.
pub struct Threads {
    table: ThreadTable<Arc<SpinMutex<ThreadState>>>,
}

impl Default for Threads {
    fn default() -> Self {
        Threads {
            table: ThreadTable::new(MAX_CELL_TID),
        }
    }
}

impl Threads {
    /// Thread `t`'s slot, created (own entry 1, knowing nothing else) on first sight.
    /// The caller has checked `t <= MAX_CELL_TID`.
    #[inline]
    fn slot(&self, t: ThreadId) -> &Arc<SpinMutex<ThreadState>> {
        self.table
            .get_or_init(t, || Arc::new(SpinMutex::new(ThreadState::new(t))))
            .expect("thread ids are checked against MAX_CELL_TID")
    }

    /// Thread `t`'s state, locked (see [`Threads::slot`] for the id).
    #[inline]
    pub(crate) fn lock(&self, t: ThreadId) -> SpinMutexGuard<'_, ThreadState> {
        self.slot(t).lock()
    }

    /// Thread `t`'s state, locked until the returned guard is dropped, however long.
    fn hold(&self, t: ThreadId) -> ArcSpinMutexGuard<ThreadState> {
        self.slot(t).lock_arc()
    }

    /// Fork, the parent's half: returns what the child starts knowing (everything the
    /// parent `parent`, whose state is `p`, did), and the parent moves on. The caller
    /// lets the parent's state go before [`Threads::start`], so that no thread lock is
    /// taken while another is held (a handle's is held anyway).
    pub(crate) fn forking(p: &mut ThreadState, parent: ThreadId) -> VectorClock {
        let parent_clock = p.clock.clone();
        p.clock.inc(parent);
        parent_clock
    }

    /// Fork, the child's half: `child` starts knowing `parent_clock` and moves on. The
    /// child holds no handle yet (it has not run).
    pub(crate) fn start(&self, child: ThreadId, parent_clock: &VectorClock) {
        let mut c = self.lock(child);
        c.clock.join(parent_clock);
        c.clock.inc(child);
        c.life = Life::Running;
    }

    /// Join, the joined thread's half: everything `joined` did, for its joiner to learn
    /// ([`Threads::learn`]). If `joined` has exited, its clock is freed (a thread is
    /// joined at most once), keeping 1000s of short-lived threads cheap; a later join of
    /// the same thread adds no ordering. `joined` holds no handle (it exited, or never
    /// took one).
    pub(crate) fn joined(&self, joined: ThreadId) -> VectorClock {
        let mut d = self.lock(joined);
        match d.life {
            Life::Exited => {
                d.life = Life::Joined;
                std::mem::take(&mut d.clock)
            }
            Life::Running => {
                let c = d.clock.clone();
                d.clock.inc(joined);
                c
            }
            Life::Joined => VectorClock::new(),
        }
    }

    /// Join, the joiner's half: `joiner`, whose state is `j`, learns `learned` and moves
    /// on.
    pub(crate) fn learn(j: &mut ThreadState, joiner: ThreadId, learned: &VectorClock) {
        j.clock.join(learned);
        j.clock.inc(joiner);
    }

    /// The thread whose state is `s` finished: it keeps its final clock until joined.
    pub(crate) fn exit(s: &mut ThreadState) {
        if s.life == Life::Running {
            s.life = Life::Exited;
        }
        // It makes no more atomics: free the records it kept alive.
        s.words = WordCache::default();
    }

    /// Visits every thread seen so far (locking each in turn), but those whose state a
    /// live [`ThreadHandle`] holds.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&ThreadState)) {
        self.table.for_each(|state| {
            if let Some(s) = state.try_lock() {
                f(&s);
            }
        });
    }
}

/// A thread's state for one event: locked for it, or held by the thread's handle.
pub enum StateRef<'a> {
    Locked(SpinMutexGuard<'a, ThreadState>),
    Held(&'a mut ThreadState),
}

impl Deref for StateRef<'_> {
    type Target = ThreadState;

    #[inline]
    fn deref(&self) -> &ThreadState {
        match self {
            StateRef::Locked(g) => g,
            StateRef::Held(s) => s,
        }
    }
}

impl DerefMut for StateRef<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut ThreadState {
        match self {
            StateRef::Locked(g) => g,
            StateRef::Held(s) => s,
        }
    }
}

/// One thread's hold on its own detector state, kept by the thread (its runtime monitor)
/// and passed to the [`Detector`](super::Detector)'s methods in place of its id: the
/// state is locked on the thread's first event and stays locked until it exits
/// ([`Detector::thread_exit`](super::Detector::thread_exit)), so its events take no
/// lock of their own. Use a handle with one detector only, from its own thread's
/// events, and take it no earlier than the thread's fork (the parent writes the
/// child's state then); joining the thread must wait for its exit.
pub struct ThreadHandle {
    tid: ThreadId,
    hold: Hold,
}

/// Where a [`ThreadHandle`] is in its thread's life.
enum Hold {
    /// The thread has had no event yet.
    NotYet,
    /// Its state, locked since its first event.
    Held(ArcSpinMutexGuard<ThreadState>),
    /// The thread exited and let its state go.
    Released,
}

impl ThreadHandle {
    /// The handle of thread `tid`, holding nothing until its first event.
    pub fn new(tid: ThreadId) -> Self {
        ThreadHandle {
            tid,
            hold: Hold::NotYet,
        }
    }
}

/// The thread an event belongs to: its id (the detector locks the thread's state for
/// the event) or its [`ThreadHandle`] (held for the thread's life).
pub trait EventThread: sealed::Thread {}

impl EventThread for ThreadId {}
impl EventThread for &mut ThreadHandle {}

/// Kept out of reach of other crates, which pass only ids and handles: the state types
/// it names are `pub` here only so that this public trait may name them (the module
/// `threads` is private).
pub(crate) mod sealed {
    use super::{Hold, StateRef, ThreadHandle, ThreadId, Threads};

    /// What the detector needs of an [`EventThread`](super::EventThread).
    pub trait Thread {
        /// The thread's id.
        fn id(&self) -> ThreadId;
        /// The thread's state for one event. Only called for ids the detector
        /// supports.
        fn state<'a>(&'a mut self, threads: &'a Threads) -> StateRef<'a>;
        /// The thread exited: a handle lets its state go.
        fn exited(&mut self) {}
    }

    impl Thread for ThreadId {
        #[inline]
        fn id(&self) -> ThreadId {
            *self
        }

        #[inline]
        fn state<'a>(&'a mut self, threads: &'a Threads) -> StateRef<'a> {
            StateRef::Locked(threads.lock(*self))
        }
    }

    impl Thread for &mut ThreadHandle {
        #[inline]
        fn id(&self) -> ThreadId {
            self.tid
        }

        #[inline]
        fn state<'a>(&'a mut self, threads: &'a Threads) -> StateRef<'a> {
            if let Hold::NotYet = self.hold {
                self.hold = Hold::Held(threads.hold(self.tid));
            }
            match &mut self.hold {
                Hold::Held(state) => StateRef::Held(state),
                // Events after its exit (none in practice): locked one at a time.
                Hold::Released | Hold::NotYet => StateRef::Locked(threads.lock(self.tid)),
            }
        }

        fn exited(&mut self) {
            self.hold = Hold::Released;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `Detector::join` does with the halves.
    fn join(t: &Threads, joiner: ThreadId, joined: ThreadId) {
        if joiner != joined {
            let learned = t.joined(joined);
            Threads::learn(&mut t.lock(joiner), joiner, &learned);
        }
    }

    #[test]
    fn fork_and_join_transfer_knowledge() {
        let t = Threads::default();
        t.lock(0).clock.inc(0);
        let before_fork = t.lock(0).clock.get(0);
        let parent_clock = Threads::forking(&mut t.lock(0), 0);
        t.start(1, &parent_clock);
        assert_eq!(t.lock(1).clock.get(0), before_fork);
        assert!(
            t.lock(0).clock.get(0) > before_fork,
            "parent moves past the fork"
        );
        let child_end = t.lock(1).clock.get(1);
        Threads::exit(&mut t.lock(1));
        join(&t, 0, 1);
        assert_eq!(t.lock(0).clock.get(1), child_end);
        assert_eq!(
            t.lock(1).clock.len(),
            0,
            "joined exited thread's clock is freed"
        );
    }

    #[test]
    fn the_word_cache_stays_bounded_and_goes_at_exit() {
        let t = Threads::default();
        let record = DetachedRef::default();
        let newest = 8 * WordCache::MAX as u64;
        for addr in (0..=newest).step_by(8) {
            t.lock(1).words.insert(addr, &record);
        }
        assert!(t.lock(1).words.len() <= WordCache::MAX);
        assert!(t.lock(1).words.get(newest).is_some(), "the newest is kept");
        Threads::exit(&mut t.lock(1));
        assert_eq!(t.lock(1).words.len(), 0);
        assert_eq!(
            std::sync::Arc::strong_count(&record),
            1,
            "no record kept alive"
        );
    }

    #[test]
    fn join_either_index_order() {
        let t = Threads::default();
        drop(t.lock(5)); // first sight creates thread 5
        join(&t, 7, 5);
        assert_eq!(t.lock(7).clock.get(5), 1);
        join(&t, 2, 7);
        assert_eq!(t.lock(2).clock.get(5), 1);
        assert_eq!(t.lock(2).clock.get(7), 2);
        join(&t, 3, 3);
        assert_eq!(t.lock(3).clock.get(3), 1);
    }

    #[test]
    fn the_largest_supported_id_has_a_slot() {
        let t = Threads::default();
        assert_eq!(t.lock(MAX_CELL_TID).clock.get(MAX_CELL_TID), 1);
        let mut seen = 0;
        t.for_each(|_| seen += 1);
        assert_eq!(seen, 1);
    }
}
