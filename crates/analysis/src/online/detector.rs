//! The detector: the API the runtime calls, over state that threads lock piecewise.
//!
//! Concurrency (lock order: thread → sync shard → shadow chunk → detached granule →
//! races; never two of a kind at once but chunks, whose second lock is only tried, so no
//! thread waits in a lock-order cycle):
//! - each thread's clock and counters have their own lock, uncontended in practice, and
//!   held for the thread's whole life when it passes its `ThreadHandle` instead of its
//!   id (`threads`);
//! - synchronization objects live in hashed shards (`sync_objects`);
//! - shadow memory is locked per 64 KiB chunk, held across a batch's accesses while they
//!   stay within two chunks (`shadow`), so threads on disjoint data analyze in parallel;
//! - the granule of an atomic word is detached from its chunk on the word's first atomic
//!   (`detached`), and the word's sync clock moves to it: later atomics on the word
//!   reach both under the record's lock, through a per-thread cache, with neither the
//!   chunk lock nor the shard lock;
//! - found races go to one set, locked only when a batch found any.
//!
//! Soundness needs accesses to reach the shadow in an order consistent with
//! happens-before: the runtime hands a thread's batch over before that thread's next
//! synchronization event, and every happens-before edge between two threads passes
//! through a sync object (or fork/join) whose update the later thread sees only after the
//! earlier thread's batch was stored. Atomics on one address are analyzed in their
//! modification order: the caller performs them inside the detector's critical section
//! for their word ([`Detector::atomic_after`]), or inside one of its own.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::access::{Access, ThreadId};
use super::cell::{Cell, MAX_CELL_TID};
use super::check::check_and_store;
use super::config::{Config, Stats};
use super::detached::Detached;
use super::granule::{granules, GRANULE_SHIFT};
use super::race::{Race, RaceAccess};
use super::race_set::{RaceSet, Verdict};
use super::shadow::{chunk_of, GranuleMut, GranuleRef, HeldChunks, Shadow};
use super::sync_id::SyncId;
use super::sync_objects::{word_offset, SyncObjects};
use super::threads::{EventThread, Parts, ThreadState, Threads};

/// Online happens-before race detector, shared by all threads (`Send + Sync`).
pub struct Detector {
    max_cells: usize,
    threads: Threads,
    sync: SyncObjects,
    shadow: Shadow,
    races: Mutex<Races>,
    /// Set (under the races lock) whenever `Races::pending` gained a race, so
    /// `take_races`, which the runtime calls after every batch and atomic, only takes the
    /// lock when there is something to take. Invariant: pending non-empty ⇒ flag set, or
    /// a `take_races` that cleared it is about to take the lock and empty `pending`.
    has_pending: AtomicBool,
    /// Events ignored because a thread id is out of range (no thread slot to count in).
    ignored_events: AtomicU64,
}

/// Races found and not yet taken, and the site pairs seen.
struct Races {
    set: RaceSet,
    pending: Vec<Race>,
    deduplicated: u64,
    dropped: u64,
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
            max_cells: config.cells_per_granule(),
            threads: Threads::default(),
            sync: SyncObjects::default(),
            shadow: Shadow::default(),
            races: Mutex::new(Races {
                set: RaceSet::new(config.max_race_pairs),
                pending: Vec::new(),
                deduplicated: 0,
                dropped: 0,
            }),
            has_pending: AtomicBool::new(false),
            ignored_events: AtomicU64::new(0),
        }
    }

    /// True if every thread id in `ids` is in the supported range; otherwise counts the
    /// event as ignored (dense clocks would make absurd ids exhaust memory).
    fn supported(&self, ids: &[ThreadId], events: u64) -> bool {
        if ids.iter().all(|&t| t <= MAX_CELL_TID) {
            true
        } else {
            self.ignored_events.fetch_add(events, Ordering::Relaxed);
            false
        }
    }

    /// `parent` spawns `child` (called in the parent before the child can run).
    pub fn fork(&self, mut parent: impl EventThread, child: ThreadId) {
        let id = parent.id();
        if self.supported(&[id, child], 1) {
            let parent_clock = Threads::forking(&mut parent.state(&self.threads), id);
            self.threads.start(child, &parent_clock);
        }
    }

    /// `joiner` has waited for `joined` to finish (which has exited, if it had a
    /// [`ThreadHandle`](super::ThreadHandle)).
    pub fn join(&self, mut joiner: impl EventThread, joined: ThreadId) {
        let id = joiner.id();
        if self.supported(&[id, joined], 1) && id != joined {
            let learned = self.threads.joined(joined);
            Threads::learn(&mut joiner.state(&self.threads), id, &learned);
        }
    }

    /// Thread `t` finished (its final clock is kept until it is joined; its handle, if
    /// that is what `t` is, lets its state go).
    pub fn thread_exit(&self, mut t: impl EventThread) {
        if self.supported(&[t.id()], 1) {
            Threads::exit(&mut t.state(&self.threads));
        }
        t.exited();
    }

    /// Thread `t` acquires `sync` (lock taken, woken wait, …).
    pub fn acquire(&self, mut t: impl EventThread, sync: SyncId) {
        let id = t.id();
        if self.supported(&[id], 1) {
            acquire(&self.sync, &mut t.state(&self.threads), id, sync);
        }
    }

    /// Thread `t` releases onto `sync` (lock released, notify, …).
    pub fn release(&self, mut t: impl EventThread, sync: SyncId) {
        let id = t.id();
        if self.supported(&[id], 1) {
            release(&self.sync, &mut t.state(&self.threads), id, sync);
        }
    }

    /// Thread `t` performs an atomic access on `sync` (normally `SyncId::Addr(addr)`):
    /// acquire, then the access itself (recorded as atomic whatever `access.atomic`
    /// says, so it races with unordered plain accesses to its bytes), then release.
    pub fn atomic(&self, t: impl EventThread, sync: SyncId, access: Access) {
        self.atomic_after(t, &[], sync, access, || ());
    }

    /// `batch`, the plain accesses `t` made right before an atomic (program order), then
    /// that atomic as [`Self::atomic`] does it, holding the thread's state once for both;
    /// `perform` is called once, between the acquire and the release, and its result
    /// returned. It runs under the lock that orders every atomic on `sync`'s word (its
    /// detached granule's, else `sync`'s shard's), so a caller that performs the
    /// instruction in `perform` needs no lock of its own to have atomics on one address
    /// analyzed in their modification order. The batch is analyzed before that lock is
    /// taken: it serializes only the atomic. `perform` must not call into the detector.
    pub fn atomic_after<R>(
        &self,
        mut thread: impl EventThread,
        batch: &[Access],
        sync: SyncId,
        access: Access,
        perform: impl FnOnce() -> R,
    ) -> R {
        let t = thread.id();
        if !self.supported(&[t], 1 + batch.len() as u64) {
            // Not analyzed, but still ordered with the atomics that are.
            return self.sync.serialized(sync, perform);
        }
        let mut found = Vec::new();
        let result = {
            let mut ts = thread.state(&self.threads);
            let ts = &mut *ts;
            let access = Access {
                atomic: true,
                ..access
            };
            if !batch.is_empty() {
                // Its chunks are released before the word's shard is taken (lock
                // order shard → chunk), and so are not held while the atomic waits.
                let mut held = HeldChunks::new(&self.shadow);
                self.analyze(&mut held, ts, t, batch, &mut found);
            }
            let word = own_word(sync, &access);
            'done: {
                if let (Some(w), (mut parts, words)) = (word, ts.parts()) {
                    if let Some(record) = words.get(access.addr) {
                        // A word this thread used lately: straight to its record (not
                        // cloning its `Arc`, whose count shares the record's first line).
                        let a = &access;
                        break 'done self
                            .atomic_on_record(record, w, &mut parts, t, a, perform, &mut found);
                    }
                }
                self.sync.with(sync, |object| {
                    if let (Some((g, _)), None) = (word, object.record()) {
                        let record = HeldChunks::new(&self.shadow)
                            .chunk(chunk_of(g))
                            .detach(g, &self.shadow.detach_budget);
                        if let Some(record) = record {
                            object.attach(access.addr, record);
                        }
                    }
                    match (object.record(), word) {
                        (Some(record), Some(w)) => {
                            ts.words.insert(access.addr, record);
                            let (mut parts, _) = ts.parts();
                            let a = &access;
                            self.atomic_on_record(record, w, &mut parts, t, a, perform, &mut found)
                        }
                        // The budget is spent (the shard lock orders the word's
                        // atomics), or the access is not its object's word within one
                        // granule (not an atomic the runtime performs: those are
                        // aligned): through the chunk.
                        _ => {
                            object.with_clock(|c| c.join_into(&mut ts.clock));
                            ts.clock.inc(t);
                            let result = perform();
                            let mut held = HeldChunks::new(&self.shadow);
                            let one = std::slice::from_ref(&access);
                            self.analyze(&mut held, ts, t, one, &mut found);
                            drop(held);
                            object.with_clock(|c| c.absorb(&ts.clock));
                            ts.clock.inc(t);
                            result
                        }
                    }
                })
            }
        };
        self.record(found);
        result
    }

    /// One drained batch of thread `t`'s plain accesses, in program order.
    pub fn accesses(&self, mut thread: impl EventThread, batch: &[Access]) {
        let t = thread.id();
        if batch.is_empty() || !self.supported(&[t], batch.len() as u64) {
            return;
        }
        let mut found = Vec::new();
        let mut ts = thread.state(&self.threads);
        let mut held = HeldChunks::new(&self.shadow);
        self.analyze(&mut held, &mut ts, t, batch, &mut found);
        drop(held);
        drop(ts);
        self.record(found);
    }

    /// The races found since the last call, each site pair reported once ever.
    pub fn take_races(&self) -> Vec<Race> {
        // A plain load first: the common "nothing new" answer must not write the shared
        // flag's cache line, which every thread polls after every batch and atomic.
        if !self.has_pending.load(Ordering::Relaxed)
            || !self.has_pending.swap(false, Ordering::Acquire)
        {
            return Vec::new();
        }
        std::mem::take(&mut self.races.lock().pending)
    }

    /// Counters and memory use so far (a thread's counters once no
    /// [`ThreadHandle`](super::ThreadHandle) holds its state).
    pub fn stats(&self) -> Stats {
        let mut stats = Stats::default();
        let mut thread_entries = 0;
        self.threads.for_each(|ts| {
            stats.granule_checks += ts.counters.granule_checks;
            stats.fast_path_hits += ts.counters.fast_path_hits;
            stats.evictions += ts.counters.evictions;
            thread_entries += ts.clock.len();
        });
        let races = self.races.lock();
        Stats {
            ignored_events: self.ignored_events.load(Ordering::Relaxed),
            races_deduplicated: races.deduplicated,
            races_dropped: races.dropped,
            chunks: self.shadow.chunks(),
            spilled_granules: self.shadow.spilled_granules(),
            detached_granules: self.shadow.detached_granules(),
            shadow_bytes: self.shadow.bytes() as u64,
            clock_entries: (thread_entries + self.sync.clock_entries()) as u64,
            ..stats
        }
    }

    /// The shadow memory, for tests that hold its locks.
    #[cfg(test)]
    pub(crate) fn shadow_for_tests(&self) -> &Shadow {
        &self.shadow
    }

    /// Checks and records `batch` (program order) of thread `t` at its current clock,
    /// collecting races into `found`. Holds at most two chunk locks, in `held`.
    fn analyze<'s>(
        &'s self,
        held: &mut HeldChunks<'s>,
        ts: &mut ThreadState,
        t: ThreadId,
        batch: &[Access],
        found: &mut Vec<Race>,
    ) {
        let ThreadState {
            clock,
            counters,
            rng,
            ..
        } = ts;
        let epoch = clock.get(t);
        for a in batch {
            let cell = Cell::new(t, epoch, 0xFF, a.write, a.atomic, a.site, a.stack);
            for (g, mask) in granules(a.addr, a.size) {
                let chunk = held.chunk(chunk_of(g));
                let mut on_race = |prev| found.push(race(t, a, g, prev));
                let new = cell.with_mask(mask);
                let step = match chunk.granule(g) {
                    GranuleRef::Here(mut cells) => {
                        self.check(&mut cells, new, clock, rng, &mut on_race)
                    }
                    GranuleRef::Detached(d) => {
                        self.check(&mut d.lock().granule(), new, clock, rng, &mut on_race)
                    }
                };
                counters.count(step);
            }
        }
    }

    /// The atomic `access` of thread `t` on its word, whose granule is detached as
    /// `record` (`(granule, mask)` is its [`own_word`]): acquire from the word's clock,
    /// `perform`, check and store the access, release, all under the record's lock,
    /// which is what orders the atomics on the word once it is detached (the shard's lock
    /// did before; the attaching atomic holds both).
    #[allow(clippy::too_many_arguments)]
    fn atomic_on_record<R>(
        &self,
        record: &Detached,
        (g, mask): (u64, u8),
        ts: &mut Parts<'_>,
        t: ThreadId,
        a: &Access,
        perform: impl FnOnce() -> R,
        found: &mut Vec<Race>,
    ) -> R {
        let Parts {
            clock,
            counters,
            rng,
        } = ts;
        let mut record = record.lock();
        let (mut cells, word_clock) = record.granule_and_clock(word_offset(a.addr));
        word_clock.join_into(clock);
        clock.inc(t);
        let result = perform();
        let new = Cell::new(t, clock.get(t), mask, a.write, true, a.site, a.stack);
        let step = self.check(&mut cells, new, clock, rng, &mut |prev| {
            found.push(race(t, a, g, prev))
        });
        counters.count(step);
        word_clock.absorb(clock);
        clock.inc(t);
        result
    }

    /// [`check_and_store`] with this detector's cell limit.
    #[inline(always)]
    fn check(
        &self,
        cells: &mut GranuleMut<'_>,
        new: Cell,
        clock: &crate::clock::VectorClock,
        rng: &mut u32,
        on_race: &mut impl FnMut(Cell),
    ) -> super::check::Step {
        check_and_store(cells, new, clock, self.max_cells, rng, on_race)
    }

    /// Keeps the races of `found` on site pairs not reported before.
    fn record(&self, found: Vec<Race>) {
        if found.is_empty() {
            return;
        }
        let mut races = self.races.lock();
        for r in found {
            match races.set.insert(r.current.site, r.previous.site) {
                Verdict::New => races.pending.push(r),
                Verdict::Seen => races.deduplicated += 1,
                Verdict::Full => races.dropped += 1,
            }
        }
        if !races.pending.is_empty() {
            self.has_pending.store(true, Ordering::Release);
        }
    }
}

/// The granule and byte mask of an atomic `access` on its own object's word (`sync` is
/// `Addr` of its address) lying within one granule, the case that detaches it; `None`
/// for anything else.
#[inline]
fn own_word(sync: SyncId, access: &Access) -> Option<(u64, u8)> {
    let mut touched = granules(access.addr, access.size);
    match (touched.next(), touched.next()) {
        (Some(one), None) if sync == SyncId::Addr(access.addr) => Some(one),
        _ => None,
    }
}

/// `C_t := C_t ⊔ L_sync`, then `t` moves to a new epoch.
fn acquire(sync: &SyncObjects, ts: &mut ThreadState, t: ThreadId, id: SyncId) {
    sync.acquire_into(id, &mut ts.clock);
    ts.clock.inc(t);
}

/// `L_sync := L_sync ⊔ C_t`, then `t` moves to a new epoch.
fn release(sync: &SyncObjects, ts: &mut ThreadState, t: ThreadId, id: SyncId) {
    sync.release(id, &ts.clock);
    ts.clock.inc(t);
}

/// The race between access `a` of thread `t` and cell `prev` of granule `g`.
#[cold]
fn race(t: ThreadId, a: &Access, g: u64, prev: Cell) -> Race {
    let mask = prev.mask();
    Race {
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
    }
}
