//! The detector: the state behind one lock, and the API the runtime calls.
//!
//! Concurrency: one `Mutex` around all state, taken once per drained batch (thousands of
//! accesses) and once per synchronization event. Atomics reach us inside the runtime's
//! per-address critical section, so their order on one address is the modification order;
//! taking our lock inside it is fine because we never call back into the runtime.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::clock::VectorClock;

use super::access::{Access, ThreadId};
use super::cell::{Cell, MAX_CELL_TID};
use super::check::{check_and_store, Step};
use super::config::{Config, Stats};
use super::granule::{granules, GRANULE_SHIFT};
use super::race::{Race, RaceAccess};
use super::race_set::{RaceSet, Verdict};
use super::shadow::Shadow;
use super::sync_id::SyncId;
use super::sync_objects::SyncObjects;
use super::threads::Threads;

/// Online happens-before race detector, shared by all threads (`Send + Sync`).
pub struct Detector {
    state: Mutex<State>,
    /// Set (under the lock) whenever `State::pending` gained a race, so `take_races`,
    /// which the runtime calls after every batch and atomic, only takes the lock when
    /// there is something to take. Invariant: pending non-empty ⇒ flag set, or a
    /// `take_races` that cleared it is about to take the lock and empty `pending`.
    has_pending: AtomicBool,
}

/// Everything the detector knows.
struct State {
    max_cells: usize,
    threads: Threads,
    sync: SyncObjects,
    shadow: Shadow,
    races: RaceSet,
    pending: Vec<Race>,
    stats: Stats,
    /// xorshift32 state for random eviction; never 0.
    rng: u32,
}

impl Default for Detector {
    fn default() -> Self {
        Detector::new(Config::default())
    }
}

impl Detector {
    /// A detector with no threads, no shadow memory and no races yet.
    pub fn new(config: Config) -> Self {
        Detector {
            state: Mutex::new(State {
                max_cells: config.cells_per_granule(),
                threads: Threads::default(),
                sync: SyncObjects::default(),
                shadow: Shadow::default(),
                races: RaceSet::new(config.max_race_pairs),
                pending: Vec::new(),
                stats: Stats::default(),
                rng: 0x9E37_79B9,
            }),
            has_pending: AtomicBool::new(false),
        }
    }

    /// Raises `has_pending` if the locked state has races to hand out.
    fn note_pending(&self, st: &State) {
        if !st.pending.is_empty() {
            self.has_pending.store(true, Ordering::Release);
        }
    }

    /// The state; a panic in another thread while holding the lock leaves the state
    /// consistent enough to keep reporting (every step is a few plain writes), so a
    /// poisoned lock is entered anyway rather than panicking the runtime.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state if every thread id in `ids` is in the supported range; otherwise counts
    /// the event as ignored (dense clocks would make absurd ids exhaust memory).
    fn state_for(&self, ids: &[ThreadId]) -> Option<MutexGuard<'_, State>> {
        let mut st = self.state();
        if ids.iter().all(|&t| t <= MAX_CELL_TID) {
            Some(st)
        } else {
            st.stats.ignored_events += 1;
            None
        }
    }

    /// `parent` spawns `child` (called in the parent before the child can run).
    pub fn fork(&self, parent: ThreadId, child: ThreadId) {
        if let Some(mut st) = self.state_for(&[parent, child]) {
            st.threads.fork(parent, child);
        }
    }

    /// `joiner` has waited for `joined` to finish.
    pub fn join(&self, joiner: ThreadId, joined: ThreadId) {
        if let Some(mut st) = self.state_for(&[joiner, joined]) {
            st.threads.join(joiner, joined);
        }
    }

    /// Thread `t` finished (its final clock is kept until it is joined).
    pub fn thread_exit(&self, t: ThreadId) {
        if let Some(mut st) = self.state_for(&[t]) {
            st.threads.exit(t);
        }
    }

    /// Thread `t` acquires `sync` (lock taken, woken wait, …).
    pub fn acquire(&self, t: ThreadId, sync: SyncId) {
        if let Some(mut st) = self.state_for(&[t]) {
            let st = &mut *st;
            acquire(&mut st.threads, &st.sync, t, sync);
        }
    }

    /// Thread `t` releases onto `sync` (lock released, notify, …).
    pub fn release(&self, t: ThreadId, sync: SyncId) {
        if let Some(mut st) = self.state_for(&[t]) {
            let st = &mut *st;
            release(&mut st.threads, &mut st.sync, t, sync);
        }
    }

    /// Thread `t` performs an atomic access on `sync` (normally `SyncId::Addr(addr)`):
    /// acquire, then the access itself (recorded as atomic whatever `access.atomic`
    /// says, so it races with unordered plain accesses to its bytes), then release.
    pub fn atomic(&self, t: ThreadId, sync: SyncId, access: Access) {
        let Some(mut st) = self.state_for(&[t]) else {
            return;
        };
        let st = &mut *st;
        acquire(&mut st.threads, &st.sync, t, sync);
        st.analyze(
            t,
            &[Access {
                atomic: true,
                ..access
            }],
        );
        release(&mut st.threads, &mut st.sync, t, sync);
        self.note_pending(st);
    }

    /// One drained batch of thread `t`'s plain accesses, in program order.
    pub fn accesses(&self, t: ThreadId, batch: &[Access]) {
        if batch.is_empty() {
            return;
        }
        let mut st = self.state();
        st.analyze(t, batch);
        self.note_pending(&st);
    }

    /// The races found since the last call, each site pair reported once ever.
    pub fn take_races(&self) -> Vec<Race> {
        if !self.has_pending.swap(false, Ordering::Acquire) {
            return Vec::new();
        }
        std::mem::take(&mut self.state().pending)
    }

    /// Counters and memory use so far.
    pub fn stats(&self) -> Stats {
        let st = self.state();
        Stats {
            chunks: st.shadow.chunks(),
            spilled_granules: st.shadow.spilled_granules(),
            shadow_bytes: st.shadow.bytes() as u64,
            clock_entries: (st.threads.clock_entries() + st.sync.clock_entries()) as u64,
            ..st.stats
        }
    }
}

/// `C_t := C_t ⊔ L_sync`, then `t` moves to a new epoch.
fn acquire(threads: &mut Threads, sync: &SyncObjects, t: ThreadId, id: SyncId) {
    let clock = threads.clock_mut(t);
    if let Some(l) = sync.get(id) {
        clock.join(l);
    }
    clock.inc(t);
}

/// `L_sync := L_sync ⊔ C_t`, then `t` moves to a new epoch.
fn release(threads: &mut Threads, sync: &mut SyncObjects, t: ThreadId, id: SyncId) {
    let clock = threads.clock_mut(t);
    sync.release(id, clock);
    clock.inc(t);
}

impl State {
    /// Checks and records `batch` (program order) of thread `t` at its current clock.
    fn analyze(&mut self, t: ThreadId, batch: &[Access]) {
        if t > MAX_CELL_TID {
            self.stats.ignored_events += batch.len() as u64;
            return;
        }
        let State {
            max_cells,
            threads,
            shadow,
            races,
            pending,
            stats,
            rng,
            ..
        } = self;
        let clock: &VectorClock = threads.clock(t);
        let epoch = clock.get(t);
        for a in batch {
            let cell = Cell::new(t, epoch, 0xFF, a.write, a.atomic, a.site, a.stack);
            for (g, mask) in granules(a.addr, a.size) {
                stats.granule_checks += 1;
                let step = check_and_store(
                    &mut shadow.granule(g),
                    cell.with_mask(mask),
                    clock,
                    *max_cells,
                    rng,
                    |prev| report(races, pending, stats, t, a, g, prev),
                );
                match step {
                    Step::Skipped => stats.fast_path_hits += 1,
                    Step::Evicted => stats.evictions += 1,
                    Step::Stored => {}
                }
            }
        }
    }
}

/// Records a race between access `a` of thread `t` and cell `prev` of granule `g`.
#[cold]
fn report(
    races: &mut RaceSet,
    pending: &mut Vec<Race>,
    stats: &mut Stats,
    t: ThreadId,
    a: &Access,
    g: u64,
    prev: Cell,
) {
    match races.insert(a.site, prev.site()) {
        Verdict::New => {}
        Verdict::Seen => {
            stats.races_deduplicated += 1;
            return;
        }
        Verdict::Full => {
            stats.races_dropped += 1;
            return;
        }
    }
    let mask = prev.mask();
    pending.push(Race {
        current: RaceAccess::of(t, a),
        previous: RaceAccess {
            thread: prev.tid(),
            addr: (g << GRANULE_SHIFT) + u64::from(mask.trailing_zeros()),
            size: mask.count_ones(),
            write: prev.is_write(),
            atomic: prev.is_atomic(),
            site: prev.site(),
            stack: prev.stack(),
        },
    });
}
