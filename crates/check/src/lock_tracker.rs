//! The run's lock state, shared by all threads: which words are locks
//! ([`crate::locks`]), who holds what, the lock-free happens-before clocks
//! ([`crate::lock_clocks`]), the lock-order graph ([`crate::lock_order`]) and the
//! misuses seen. Everything is reported at the end of the run, once it is known
//! which candidate words really were locks.
//!
//! Lock identity is per *incarnation*: a word's lock state lives from its first
//! acquisition until the memory is evidently something else (see [`LockTracker::atomic`]
//! and [`LockTracker::plain_write`]); the lock-order graph and the misuses refer to
//! incarnations, and one is reported only if it ends up a lock. So a freed mutex
//! whose bytes the allocator hands to a counter or a pointer is not confused with it.
//!
//! An inferred (not named, not hooked) lock must behave like one, or it is not one
//! (`NotALock`, for good): its holder is the thread that resets it. A word set
//! non-zero by one thread and reset to 0 by another is a handshake (crossbeam's
//! select state, a "claimed" flag), not a lock unlocked by another thread.
//!
//! Likewise an edge in the lock order that takes an inferred word counts only once the
//! thread that took it (or asked for it) releases it itself, or when the run ends with
//! the thread still asking: crossbeam-channel's select state is set by the thread that
//! selects another's operation, under that channel's mutex, and reset by the other,
//! which would otherwise close a cycle with the owner's own nesting of the two.
//!
//! A failed attempt to take a held lock is not a self-deadlock by itself (a
//! `try_lock` returns): only a *blocking* attempt is — the same thread failing twice
//! on the word without acquiring or releasing anything in between (a retry loop,
//! std's contended `swap`, musl's `trylock` after its fast path), or waiting on the
//! word after failing. Such an attempt by the holder is a recursive lock; by another
//! thread it is a lock request, an edge in the lock order even if it never succeeds.
//!
//! Concurrency: no lock serializes the threads' lock operations. The state is split
//! by who needs it, each part under its own lock, taken in this order (never two of a
//! kind at once):
//! 1. the words, in address shards: an operation on a word holds its shard
//!    throughout, so operations on one word are serialized;
//! 2. per thread, its held locks and failed attempts (taken by the thread itself, and
//!    by another thread only when a word it holds changes hands or is forgotten);
//! 3. the rest (incarnations, the lock-order graph, misuses), touched only when a word
//!    is created or changes its verdict, when a thread nests locks, and on misuses.
//!
//! An uncontended lock and unlock of one thread thus only meets other threads on its
//! word's shard. Lock hooks take these locks, and so do atomics, plain writes, waits
//! and notifies that the lock-free `word_filter` says may touch a lock word (or that
//! take a lock). A performed atomic comes to us inside the detector's critical section
//! for its address (`Detector::atomic_after`), which is what orders atomics on one
//! address, so the detector's thread and sync-shard locks come before all of ours; we
//! never call into the detector. Every other atomic — most of a program's — only updates the
//! lock-free clocks, which have locks of their own (thread, then address shard; taken
//! after the ones above when both are), and not even those until some thread first
//! nests two locks ([`LockFreeClocks::activate`]). (One global lock for all of it was
//! a fifth of bench_locks' time on two cores, mostly waiting.)

mod word_filter;

use parking_lot::{Mutex, MutexGuard};
use rustc_hash::FxHashMap;
use wasmgrind_analysis::clock::VectorClock;
use wasmgrind_analysis::thread_table::ThreadTable;
use wasmgrind_instrument::AtomicOp;
use wasmgrind_report::MisuseKind;
use wasmgrind_runtime::{LockHook, ThreadId};
use wasmgrind_spin::{shard_index, AddrShards, SpinMutex, SpinMutexGuard};

use crate::lock_clocks::{HbRole, LockFreeClocks};
use crate::lock_order::{EdgeRecord, GateLock, LockOrder, Mode, Place};
use crate::locks::{shape, width_mask, LockRole, RwScheme, RwTransition, Shape, MAX_LOCK_VALUE};
use word_filter::WordFilter;

/// What a word is known to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordState {
    /// Acquired, never yet released by its holder.
    Candidate,
    /// A lock: released by its holder, named a mutex, or hooked.
    Confirmed,
    /// Its holder overwrote it with another non-zero value (a state machine), or
    /// another thread reset it (a handshake).
    NotALock,
}

/// An incarnation of a lock word: one object's lifetime at one address.
type LockId = u32;

#[derive(Debug)]
struct Word {
    state: WordState,
    /// threadlink reports this lock with hooks: its atomics are not inferred.
    hooked: bool,
    /// Acquired by a known mutex implementation ([`LockRole::KnownMutex`]): its
    /// misuses are misuses even where an inferred lock would just be no lock.
    known: bool,
    /// A reader-writer lock of this scheme ([`LockRole::RwLock`]): held by the
    /// threads whose held lists say so (`holder` stays `None`). Every atomic on it is
    /// read as the scheme says, whatever code it is in: without DWARF, std's inlined
    /// fast paths (`read`, `read_unlock`) are known by no name.
    rw: Option<RwScheme>,
    /// Width of the atomics that made it a lock.
    size: u8,
    id: LockId,
    /// The thread holding it (also after that thread exited) and where it took it.
    holder: Option<(ThreadId, Place)>,
    /// An inferred lock its holder exited with: reported once another thread blocks
    /// on it (until then it may be a claimed flag nobody needs any more).
    orphaned: bool,
}

impl Word {
    /// Whether atomics on this word are lock operations (left out of the lock-free
    /// happens-before).
    fn is_lock_like(&self) -> bool {
        self.hooked || self.rw.is_some() || self.state != WordState::NotALock
    }

    /// Whether the word is a lock only by inference: neither a mutex known by name nor
    /// one threadlink's hooks report.
    fn is_inferred(&self) -> bool {
        !(self.known || self.hooked || self.rw.is_some())
    }
}

#[derive(Debug)]
struct Held {
    addr: u64,
    id: LockId,
    at: Place,
    clock: VectorClock,
    mode: Mode,
}

/// A thread's failed attempts on one word since it last acquired or released a lock.
#[derive(Debug, Clone, Copy)]
struct Attempts {
    addr: u64,
    count: u32,
}

/// A misuse, reported at the end if its word turned out to be a lock.
#[derive(Debug, Clone)]
pub struct Misuse {
    pub kind: MisuseKind,
    pub lock: u64,
    pub thread: ThreadId,
    /// Where it happened (for an exit: where the lock was acquired).
    pub at: Place,
    /// The thread holding the lock then and where it acquired it.
    pub holder: Option<(ThreadId, Place)>,
}

/// What the run's lock analysis found.
#[derive(Debug, Default)]
pub struct LockFindings {
    /// Potential deadlocks: per cycle, its edges `(held, acquired, instance)` (lock
    /// addresses; the instances' gates hold incarnation ids).
    pub cycles: Vec<Vec<(u64, u64, EdgeRecord)>>,
    pub misuses: Vec<Misuse>,
}

/// What became of one incarnation.
#[derive(Debug, Clone, Copy)]
struct Incarnation {
    addr: u64,
    /// Confirmed or hooked, and never found to be no lock.
    is_lock: bool,
}

/// The words of one address shard.
type Words = FxHashMap<u64, Word>;

/// One thread's lock state.
#[derive(Default)]
struct ThreadLocks {
    held: Vec<Held>,
    /// Failed attempts since it last acquired or released a lock.
    attempts: Option<Attempts>,
    /// Buffers of released locks' clocks, for the next acquisitions.
    spare_clocks: Vec<VectorClock>,
    /// Lock-order edges `(held, acquired)` this thread took by acquiring an inferred
    /// word it has not released since (each pair once): its release confirms them
    /// ([`LockOrder::confirm`]).
    unreleased_edges: Vec<(LockId, LockId)>,
}

/// The state every word's operations may need, rarely.
#[derive(Default)]
struct Shared {
    /// Indexed by [`LockId`].
    incarnations: Vec<Incarnation>,
    /// Over incarnation ids.
    order: LockOrder,
    misuses: Vec<(LockId, Misuse)>,
}

/// Most edges a thread keeps waiting for its release of the word they acquired.
const MAX_UNRELEASED_EDGES: usize = 64;

/// Address shards of the words (a power of two).
const WORD_SHARDS: usize = 64;

/// Threads past the detector's limit have no lock state either.
const MAX_THREAD_ID: ThreadId = wasmgrind_analysis::online::MAX_THREAD_ID;

/// The shared lock state of one run (see the module docs for its locks).
pub struct LockTracker {
    words: AddrShards<Words>,
    threads: ThreadTable<SpinMutex<ThreadLocks>>,
    shared: Mutex<Shared>,
    filter: WordFilter,
    /// Atomics on words that are no locks only need these.
    clocks: LockFreeClocks,
}

impl Default for LockTracker {
    fn default() -> Self {
        LockTracker {
            words: AddrShards::new(WORD_SHARDS),
            threads: ThreadTable::new(MAX_THREAD_ID),
            shared: Mutex::default(),
            filter: WordFilter::default(),
            clocks: LockFreeClocks::default(),
        }
    }
}

/// An operation on the word at one address: holds that address's shard, and takes
/// the other locks (in order) as it needs them.
struct WordOp<'a> {
    tracker: &'a LockTracker,
    words: SpinMutexGuard<'a, Words>,
}

impl LockTracker {
    /// Starts an operation on the word at `addr` (locks its shard).
    fn word_op(&self, addr: u64) -> WordOp<'_> {
        WordOp {
            tracker: self,
            words: self.words.lock(addr),
        }
    }

    /// Thread `t`'s lock state, locked; `None` past the supported ids.
    fn thread(&self, t: ThreadId) -> Option<SpinMutexGuard<'_, ThreadLocks>> {
        let slot = self.threads.get_or_init(t, SpinMutex::default)?;
        Some(slot.lock())
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock()
    }

    /// An atomic of thread `t` at `at`, classified by its site's `role`.
    ///
    /// Before its shape is judged, the value it found (`result`; not known for a
    /// store) is checked against the word's state: a word nobody holds is 0, a held
    /// one is not. A free word found non-zero was rewritten by something we do not
    /// see (its memory reused): its lock state is forgotten. A held word found 0 was
    /// released by something we do not see: the holder is dropped silently.
    #[allow(clippy::too_many_arguments)]
    pub fn atomic(
        &self,
        t: ThreadId,
        (role, hb): (LockRole, HbRole),
        op: AtomicOp,
        size: u8,
        addr: u64,
        values: (u64, u64, u64),
        at: Place,
    ) {
        if let LockRole::RwLock(scheme) = role {
            return self.rwlock(t, (scheme, hb), op, size, addr, values, at);
        }
        let (result, operand, expected) = values;
        let shape = shape(op, size, result, operand, expected);
        let known = role == LockRole::KnownMutex;
        let takes_lock = matches!(shape, Shape::Acquire { value }
            if role != LockRole::Ignore && (known || value <= MAX_LOCK_VALUE));
        if takes_lock {
            // Before the word can become known, so plain writes find it.
            self.filter.insert(addr, size);
        } else if hb != HbRole::ReleaseOnly && !self.filter.may_touch(addr, size.into()) {
            // No word is known here (the filter's misses are exact) and none is made:
            // every rule below comes down to the lock-free clocks. Atomics on one
            // address reach us one at a time (the detector serializes them), so no
            // other thread makes a word here meanwhile.
            self.clocks.access(hb, t, addr);
            return;
        }
        if hb == HbRole::ReleaseOnly {
            self.exiting(t, false);
        }
        let mut inner = self.word_op(addr);
        if inner.words.get(&addr).is_some_and(|w| w.hooked) {
            return;
        }
        if let Some(scheme) = inner.words.get(&addr).and_then(|w| w.rw) {
            drop(inner);
            return self.rwlock(t, (scheme, hb), op, size, addr, values, at);
        }
        if inner.words.get(&addr).is_some_and(|w| w.size != size) {
            // Another width: another object.
            inner.forget(addr);
        }
        if op != AtomicOp::Store {
            inner.check_value(addr, result & width_mask(size));
        }
        let word = inner.words.get(&addr);
        let lock_like = word.is_some_and(Word::is_lock_like);
        let not_a_lock = word.is_some_and(|w| w.state == WordState::NotALock);
        let known_word = word.is_some_and(|w| w.known);
        let holder = word.and_then(|w| w.holder);
        let held_by_me = holder.is_some_and(|(h, _)| h == t);
        if role == LockRole::Ignore {
            if shape == Shape::Release && held_by_me {
                // The lock side was classified, this unlock was not (an inlined
                // helper named otherwise): it still releases what its thread holds.
                inner.release(t, addr, at, known_word);
            } else if !lock_like {
                self.clocks.access(hb, t, addr);
            }
            return;
        }
        // An exchange of a non-zero value into a taken word: std's contended
        // `swap(2)` by a waiter, or by a known mutex's holder; a generic holder doing
        // it is a state machine moving on (below).
        let xchg_attempt = op == AtomicOp::Xchg && (!held_by_me || known || known_word);
        match shape {
            Shape::Acquire { value } if known || value <= MAX_LOCK_VALUE => {
                if not_a_lock {
                    if !known {
                        self.clocks.access(hb, t, addr);
                        return;
                    }
                    // A known mutex where a state machine was: a new object.
                    inner.forget(addr);
                }
                inner.acquire(t, addr, size, at, known);
            }
            Shape::Acquire { .. } => {
                // A pointer or a count into a free word: no lock (any more).
                if word.is_some() && !not_a_lock {
                    inner.forget(addr);
                }
                self.clocks.access(hb, t, addr);
            }
            Shape::FailedAttempt if lock_like => inner.attempt(t, addr, at),
            Shape::Overwrite if lock_like && xchg_attempt => inner.attempt(t, addr, at),
            Shape::Release if lock_like => inner.release(t, addr, at, known),
            Shape::Overwrite if held_by_me && !known_word => inner.not_a_lock(addr),
            _ if lock_like => {}
            _ => self.clocks.access(hb, t, addr),
        }
    }

    /// An atomic of a reader-writer lock's own code ([`LockRole::RwLock`]): takes,
    /// releases or downgrades thread `t`'s hold of the lock at `addr`, by how it changes
    /// the reader count ([`RwScheme::transition`]). Its other atomics (waiting flags)
    /// are no lock operations, and once the word is a lock not even synchronization
    /// for the lock-free clocks.
    #[allow(clippy::too_many_arguments)]
    fn rwlock(
        &self,
        t: ThreadId,
        (scheme, hb): (RwScheme, HbRole),
        op: AtomicOp,
        size: u8,
        addr: u64,
        (result, operand, expected): (u64, u64, u64),
        at: Place,
    ) {
        let transition = scheme.transition(op, size, result, operand, expected);
        if transition.is_some() {
            self.filter.insert(addr, size);
        } else if !self.filter.may_touch(addr, size.into()) {
            self.clocks.access(hb, t, addr);
            return;
        }
        let mut inner = self.word_op(addr);
        let Some(transition) = transition else {
            if !inner.is_lock_like(addr) {
                self.clocks.access(hb, t, addr);
            }
            return;
        };
        let read = Mode::Read {
            writer_preferring: scheme.writer_preferring(),
        };
        match transition {
            RwTransition::Read => inner.rw_hold(t, (addr, size), scheme, at, read),
            RwTransition::Write => inner.rw_hold(t, (addr, size), scheme, at, Mode::Write),
            RwTransition::Release => self.end_hold(t, addr, true, true),
            RwTransition::Downgrade => {
                if let Some(mut th) = self.thread(t) {
                    if let Some(h) = th.held.iter_mut().rev().find(|h| h.addr == addr) {
                        h.mode = read;
                    }
                }
            }
        }
    }

    /// A plain write (or bulk write) of `len` bytes at `addr`: a lock word it hits
    /// is no longer that lock (its memory was freed or reinitialized), so its state
    /// is forgotten. Lock-free unless the write may touch a known word.
    pub fn plain_write(&self, addr: u64, len: u64) {
        if !self.filter.may_touch(addr, len) {
            return;
        }
        let end = addr.saturating_add(len);
        // A word starts at most 7 bytes before the write (8-byte atomics): probe
        // those addresses (one shard lock per run of addresses in one shard), or scan
        // the shards when there are many.
        let start = addr.saturating_sub(7);
        if end - start <= 64 {
            let mut w = start;
            while w < end {
                let shard = shard_index(w, WORD_SHARDS);
                let mut op = self.word_op(w);
                while w < end && shard_index(w, WORD_SHARDS) == shard {
                    op.forget_if_written(w, addr);
                    w += 1;
                }
            }
        } else {
            let mut hit = Vec::new();
            self.words.for_each(|words| {
                hit.extend(words.keys().copied().filter(|&w| w >= start && w < end));
            });
            for w in hit {
                self.word_op(w).forget_if_written(w, addr);
            }
        }
    }

    /// Thread `t` is about to wait on `addr`: after a failed attempt on that word,
    /// the attempt blocks.
    pub fn wait_begin(&self, t: ThreadId, addr: u64, at: Place) {
        let mut op = self.word_op(addr);
        let pending = self
            .thread(t)
            .and_then(|th| th.attempts)
            .is_some_and(|a| a.addr == addr && a.count == 1);
        if pending && op.is_lock_like(addr) {
            op.attempt(t, addr, at);
        }
    }

    /// A threadlink lock hook of thread `t` for the mutex at `addr`.
    pub fn hook(&self, t: ThreadId, hook: LockHook, addr: u64, at: Place) {
        self.filter.insert(addr, 4);
        let mut inner = self.word_op(addr);
        let id = inner.word_id(addr, 4);
        let mut holder = None;
        if let Some(word) = inner.words.get_mut(&addr) {
            if !(word.hooked && word.state == WordState::Confirmed) {
                word.hooked = true;
                word.known = true;
                word.state = WordState::Confirmed;
                self.set_is_lock(id, true);
            }
            holder = word.holder;
        }
        match hook {
            LockHook::StartLock => {
                if holder.is_none_or(|(h, _)| h != t) {
                    inner.request(t, addr, at);
                }
                if let Some((h, acquired)) = holder.filter(|&(h, _)| h == t) {
                    self.misuse(
                        id,
                        MisuseKind::RecursiveLock,
                        addr,
                        t,
                        at,
                        Some((h, acquired)),
                    );
                }
            }
            LockHook::FinishLock => inner.hold(t, addr, 4, at, true),
            LockHook::StartUnlock => inner.release(t, addr, at, true),
            LockHook::FinishUnlock => {}
        }
    }

    /// A plain access the checker treats as atomic (C library synchronization).
    pub fn sync_access(&self, t: ThreadId, hb: HbRole, addr: u64) {
        if hb == HbRole::ReleaseOnly {
            self.exiting(t, false);
        }
        let lock_like = self.is_lock_like(addr);
        if !lock_like {
            self.clocks.access(hb, t, addr);
        }
    }

    /// Whether atomics on `addr` are lock operations now (lock-free when the filter
    /// rules a word out).
    fn is_lock_like(&self, addr: u64) -> bool {
        self.filter.may_touch(addr, 1) && self.word_op(addr).is_lock_like(addr)
    }

    /// A woken wait (`acquire`) or a notify (`!acquire`) on `addr`.
    pub fn wait_or_notify(&self, t: ThreadId, hb: HbRole, addr: u64, acquire: bool) {
        if self.is_lock_like(addr) {
            return;
        }
        match (acquire, hb) {
            (true, HbRole::Sync | HbRole::AcquireOnly) => self.clocks.acquire(t, addr),
            (false, HbRole::Sync | HbRole::ReleaseOnly) => self.clocks.release(t, addr),
            _ => {}
        }
    }

    pub fn fence(&self, t: ThreadId) {
        self.clocks.fence(t);
    }

    pub fn fork(&self, parent: ThreadId, child: ThreadId) {
        self.clocks.fork(parent, child);
    }

    pub fn join(&self, joiner: ThreadId, joined: ThreadId) {
        self.clocks.join(joiner, joined);
    }

    /// Thread `t` ended: every lock it still holds is a misuse, unless its end
    /// `ends_program` (a panic aborting in a critical section, `exit` under a lock):
    /// then no other thread is left to wait for them.
    pub fn exit(&self, t: ThreadId, ends_program: bool) {
        self.exiting(t, ends_program);
        self.clocks.exit(t);
    }

    /// The potential deadlocks and misuses among incarnations that turned out to be
    /// locks.
    pub fn findings(&self) -> LockFindings {
        let waiting = self.waiting_requests();
        let inner = self.shared();
        let incarnation = |id: u64| {
            usize::try_from(id)
                .ok()
                .and_then(|i| inner.incarnations.get(i))
        };
        let is_lock = |id: u64| incarnation(id).is_some_and(|i| i.is_lock);
        let addr = |id: u64| incarnation(id).map_or(id, |i| i.addr);
        LockFindings {
            cycles: inner
                .order
                .cycles_with(&waiting, is_lock)
                .into_iter()
                .map(|cycle| {
                    cycle
                        .into_iter()
                        .map(|(held, acquired, e)| (addr(held), addr(acquired), e))
                        .collect()
                })
                .collect(),
            misuses: inner
                .misuses
                .iter()
                .filter(|(id, _)| is_lock(u64::from(*id)))
                .map(|(_, m)| m.clone())
                .collect(),
        }
    }
}

impl LockTracker {
    /// Thread `t` is ending (its exit hook, or already the C library's thread-exit
    /// code, which runs before a joiner can return and the program end): every lock
    /// it still holds is a misuse — a known mutex's at once, an inferred lock's when
    /// another thread then blocks on it (crossbeam's select state claimed by its
    /// owner, who exits, is a flag nobody needs again). The words stay held (by a
    /// thread that is gone): if another thread resets an inferred one, it was a
    /// handshake, no lock. When its end `ends_program`, nothing is a misuse.
    fn exiting(&self, t: ThreadId, ends_program: bool) {
        // Taken out first: the words' shards come before the thread in the lock order.
        let held = match self.thread(t) {
            Some(mut th) => {
                // It releases nothing any more and waits for nothing: what it took or
                // asked for and kept stays unreleased.
                th.unreleased_edges = Vec::new();
                th.attempts = None;
                std::mem::take(&mut th.held)
            }
            None => return,
        };
        if ends_program {
            return;
        }
        for h in held {
            let known = match self.words.lock(h.addr).get_mut(&h.addr) {
                Some(word) if word.is_inferred() => {
                    word.orphaned = true;
                    false
                }
                _ => true,
            };
            if known {
                self.misuse(
                    h.id,
                    MisuseKind::ExitWhileHolding,
                    h.addr,
                    t,
                    h.at,
                    Some((t, h.at)),
                );
            }
        }
    }

    fn misuse(
        &self,
        id: LockId,
        kind: MisuseKind,
        lock: u64,
        thread: ThreadId,
        at: Place,
        holder: Option<(ThreadId, Place)>,
    ) {
        let misuse = Misuse {
            kind,
            lock,
            thread,
            at,
            holder,
        };
        self.shared().misuses.push((id, misuse));
    }

    /// Thread `t`, whose lock state is `th`, asks for incarnation `id` in `mode`: an
    /// edge from every lock it holds.
    ///
    /// `inferred` when `id` is an inferred word: the edges only count once `t` releases
    /// it, or if it still waits for it when the run ends (see
    /// [`EdgeRecord::unreleased`]).
    fn request_of(
        &self,
        th: &mut ThreadLocks,
        t: ThreadId,
        (id, mode): (LockId, Mode),
        at: Place,
        inferred: bool,
    ) {
        let ThreadLocks {
            held,
            unreleased_edges,
            ..
        } = th;
        if held.is_empty() {
            return;
        }
        // The first nested request: the lock-free clocks matter from now on.
        self.clocks.activate();
        let now = self.clocks.now(t);
        let mut gate: Vec<GateLock> = held.iter().map(|h| (h.id.into(), h.mode)).collect();
        gate.sort_unstable_by_key(|&(id, _)| id);
        gate.dedup();
        let order = &mut self.shared().order;
        for h in held.iter().filter(|h| h.id != id) {
            let (from, to) = (h.id.into(), id.into());
            let modes = (h.mode, mode);
            order.edge(
                t,
                (from, to),
                modes,
                &gate,
                h.at,
                &h.clock,
                at,
                now,
                inferred,
            );
            if inferred && !unreleased_edges.contains(&(h.id, id)) {
                if unreleased_edges.len() >= MAX_UNRELEASED_EDGES {
                    // Words taken and never released (handshakes) pile up here; the
                    // oldest are the least likely to be released still.
                    unreleased_edges.remove(0);
                }
                unreleased_edges.push((h.id, id));
            }
        }
    }

    /// The edges `(thread, held, requested)` of the requests threads still wait for
    /// (blocked for good, as far as this run goes: a deadlock), which count although
    /// never released. Lock order: each thread, then the words' shard, then each
    /// thread again.
    fn waiting_requests(&self) -> Vec<(ThreadId, LockId, LockId)> {
        let mut waiting = Vec::new();
        self.threads.for_each_id(|t, th| {
            if let Some(a) = th.lock().attempts.filter(|a| a.count >= 2) {
                waiting.push((t, a.addr));
            }
        });
        let mut edges = Vec::new();
        for (t, addr) in waiting {
            let Some(id) = self.words.lock(addr).get(&addr).map(|w| w.id) else {
                continue;
            };
            if let Some(th) = self.thread(t) {
                let pending = th.unreleased_edges.iter().filter(|&&(_, to)| to == id);
                edges.extend(pending.map(|&(from, to)| (t, from, to)));
            }
        }
        edges
    }

    /// `t` released the inferred word `id` it held: the edges it took by acquiring it
    /// count now.
    fn confirm_edges(&self, th: &mut ThreadLocks, t: ThreadId, id: LockId) {
        if !th.unreleased_edges.iter().any(|&(_, to)| to == id) {
            return;
        }
        let order = &mut self.shared().order;
        th.unreleased_edges.retain(|&(from, to)| {
            if to == id {
                order.confirm(t, from.into(), to.into());
            }
            to != id
        });
    }
}

impl LockTracker {
    /// `t`, whose lock state is `th`, now holds incarnation `id` at `addr` in `mode`,
    /// acquired at `at`: with its lock-free clock (in a released hold's buffer).
    fn push_held(
        &self,
        th: &mut ThreadLocks,
        t: ThreadId,
        (addr, id): (u64, LockId),
        at: Place,
        mode: Mode,
    ) {
        th.attempts = None;
        let mut clock = th.spare_clocks.pop().unwrap_or_default();
        self.clocks.copy_into(t, &mut clock);
        th.held.push(Held {
            addr,
            id,
            at,
            clock,
            mode,
        });
    }

    /// Sets whether incarnation `id` is a lock.
    fn set_is_lock(&self, id: LockId, is_lock: bool) {
        self.shared().incarnations[id as usize].is_lock = is_lock;
    }

    /// Clears thread `t`'s failed attempts.
    fn clear_attempts(&self, t: ThreadId) {
        if let Some(mut th) = self.thread(t) {
            th.attempts = None;
        }
    }

    /// Drops `t`'s hold of `addr`, and its failed attempts too if `clear_attempts`
    /// (one hold of its state for both).
    fn drop_held(&self, t: ThreadId, addr: u64, clear_attempts: bool) {
        self.end_hold(t, addr, clear_attempts, false);
    }

    /// [`Self::drop_held`]; `released` when `t` released the word itself, which
    /// confirms the edges its acquisition took.
    fn end_hold(&self, t: ThreadId, addr: u64, clear_attempts: bool, released: bool) {
        let Some(mut th) = self.thread(t) else {
            return;
        };
        if clear_attempts {
            th.attempts = None;
        }
        if let Some(pos) = th.held.iter().rposition(|h| h.addr == addr) {
            let gone = th.held.remove(pos);
            if released {
                self.confirm_edges(&mut th, t, gone.id);
            }
            th.spare_clocks.push(gone.clock);
        }
    }
}

impl WordOp<'_> {
    /// Whether atomics on the word at `addr` are lock operations now.
    fn is_lock_like(&self, addr: u64) -> bool {
        self.words.get(&addr).is_some_and(Word::is_lock_like)
    }

    /// The current incarnation of the word at `addr`, created if there is none.
    fn word_id(&mut self, addr: u64, size: u8) -> LockId {
        let tracker = self.tracker;
        self.words
            .entry(addr)
            .or_insert_with(|| {
                let incarnations = &mut tracker.shared().incarnations;
                let id = LockId::try_from(incarnations.len()).unwrap_or(LockId::MAX);
                incarnations.push(Incarnation {
                    addr,
                    is_lock: false,
                });
                Word {
                    state: WordState::Candidate,
                    hooked: false,
                    known: false,
                    rw: None,
                    size,
                    id,
                    holder: None,
                    orphaned: false,
                }
            })
            .id
    }

    /// The word at `addr` is no longer the object it was: its lock state ends (the
    /// incarnation keeps its verdict), and nobody holds it any more.
    fn forget(&mut self, addr: u64) {
        if let Some(word) = self.words.remove(&addr) {
            if let Some((h, _)) = word.holder {
                self.tracker.drop_held(h, addr, false);
            }
            if word.rw.is_some() {
                // Its holders are in no word: every thread may be one.
                self.tracker.threads.for_each_id(|_, th| {
                    th.lock().held.retain(|h| h.addr != addr);
                });
            }
        }
    }

    /// Forgets the word at `w` (not a hooked one) if it reaches past `addr`, where a
    /// plain write that may cover its start begins.
    fn forget_if_written(&mut self, w: u64, addr: u64) {
        let overlaps = |word: &Word| !word.hooked && w + u64::from(word.size) > addr;
        if self.words.get(&w).is_some_and(overlaps) {
            self.forget(w);
        }
    }

    /// Checks the value an atomic found in the word at `addr` against its state
    /// (see [`LockTracker::atomic`]).
    fn check_value(&mut self, addr: u64, found: u64) {
        let Some(word) = self.words.get_mut(&addr) else {
            return;
        };
        match word.holder {
            None if found != 0 && word.state != WordState::NotALock => self.forget(addr),
            Some((h, _)) if found == 0 => {
                word.holder = None;
                self.tracker.drop_held(h, addr, false);
            }
            _ => {}
        }
    }

    /// The word at `addr` is a state machine or a handshake, not a lock, for good.
    fn not_a_lock(&mut self, addr: u64) {
        let Some(word) = self.words.get_mut(&addr) else {
            return;
        };
        word.state = WordState::NotALock;
        let holder = word.holder.take();
        let id = word.id;
        self.tracker.set_is_lock(id, false);
        if let Some((h, _)) = holder {
            self.tracker.drop_held(h, addr, false);
        }
    }

    /// `t` acquires the lock at `addr`: requests it, then holds it.
    fn acquire(&mut self, t: ThreadId, addr: u64, size: u8, at: Place, known: bool) {
        self.hold_requested(t, addr, size, at, known, true);
    }

    /// `t` failed to take the lock at `addr`. The second failure in a row blocks: a
    /// recursive lock if `t` holds it, else a request, and the exit of a holder that
    /// left the word held is then a misuse.
    fn attempt(&mut self, t: ThreadId, addr: u64, at: Place) {
        let count = {
            let Some(mut th) = self.tracker.thread(t) else {
                return;
            };
            match &mut th.attempts {
                Some(a) if a.addr == addr => {
                    a.count = a.count.saturating_add(1);
                    a.count
                }
                attempts => {
                    *attempts = Some(Attempts { addr, count: 1 });
                    1
                }
            }
        };
        if count != 2 {
            return;
        }
        // A thread blocks on an inferred lock whose holder exited with it: it waits
        // for good (a single failed try is no harm: arc-swap's debt slots look like
        // locks, and a thread that finds one paid gives up at once).
        if let Some(word) = self.words.get_mut(&addr).filter(|w| w.orphaned) {
            word.orphaned = false;
            if let Some((h, acquired)) = word.holder {
                let id = word.id;
                self.tracker.misuse(
                    id,
                    MisuseKind::ExitWhileHolding,
                    addr,
                    h,
                    acquired,
                    Some((h, acquired)),
                );
            }
        }
        let Some(word) = self.words.get(&addr) else {
            return;
        };
        let (id, holder) = (word.id, word.holder);
        match holder {
            Some((h, acquired)) if h == t => {
                self.tracker.misuse(
                    id,
                    MisuseKind::RecursiveLock,
                    addr,
                    t,
                    at,
                    Some((h, acquired)),
                );
            }
            // The order counts even if the acquisition never happens (a deadlock).
            _ => self.request(t, addr, at),
        }
    }

    /// `t` asks for the lock at `addr`: an edge from every lock it holds.
    fn request(&self, t: ThreadId, addr: u64, at: Place) {
        let Some((id, inferred)) = self.words.get(&addr).map(|w| (w.id, w.is_inferred())) else {
            return;
        };
        if let Some(mut th) = self.tracker.thread(t) {
            // On an inferred word, counted once granted and released, or if still
            // waiting when the run ends (a deadlock): a thread that gives up (crossbeam
            // trying to select a context twice) took no lock.
            self.tracker
                .request_of(&mut th, t, (id, Mode::Exclusive), at, inferred);
        }
    }

    /// The reader-writer lock of `scheme` at `addr` (a lock at once): its incarnation,
    /// a new one where another kind of word or width was.
    fn rw_word_id(&mut self, addr: u64, size: u8, scheme: RwScheme) -> LockId {
        if self
            .words
            .get(&addr)
            .is_some_and(|w| w.rw != Some(scheme) || w.size != size)
        {
            self.forget(addr);
        }
        let id = self.word_id(addr, size);
        if let Some(word) = self.words.get_mut(&addr).filter(|w| w.rw.is_none()) {
            word.rw = Some(scheme);
            word.known = true;
            word.state = WordState::Confirmed;
            self.tracker.set_is_lock(id, true);
        }
        id
    }

    /// `t` takes the reader-writer lock of `scheme` at `addr` in `mode`: asks for it,
    /// then holds it (besides whatever other threads hold it to read).
    fn rw_hold(
        &mut self,
        t: ThreadId,
        (addr, size): (u64, u8),
        scheme: RwScheme,
        at: Place,
        mode: Mode,
    ) {
        let id = self.rw_word_id(addr, size, scheme);
        if let Some(mut th) = self.tracker.thread(t) {
            self.tracker.request_of(&mut th, t, (id, mode), at, false);
            self.tracker.push_held(&mut th, t, (addr, id), at, mode);
        }
    }

    /// `t` now holds the lock at `addr`.
    fn hold(&mut self, t: ThreadId, addr: u64, size: u8, at: Place, known: bool) {
        self.hold_requested(t, addr, size, at, known, false);
    }

    /// [`Self::hold`], after [`Self::request`] if `request` (with one hold of the
    /// thread's lock state for both).
    fn hold_requested(
        &mut self,
        t: ThreadId,
        addr: u64,
        size: u8,
        at: Place,
        known: bool,
        request: bool,
    ) {
        let id = self.word_id(addr, size);
        let inferred = !known && self.words.get(&addr).is_some_and(Word::is_inferred);
        if let Some(mut th) = self.tracker.thread(t) {
            let mode = Mode::Exclusive;
            if request {
                self.tracker
                    .request_of(&mut th, t, (id, mode), at, inferred);
            }
            self.tracker.push_held(&mut th, t, (addr, id), at, mode);
        }
        if let Some(word) = self.words.get_mut(&addr) {
            // Confirmed implies the incarnation is a lock: the shared state is only
            // written when that changes.
            if known && !(word.known && word.state == WordState::Confirmed) {
                word.known = true;
                word.state = WordState::Confirmed;
                self.tracker.set_is_lock(id, true);
            }
            word.holder = Some((t, at));
        }
    }

    /// `t` releases the lock at `addr` (at `at`; `known` when by a known mutex's
    /// code): confirms it if `t` held it. Another thread's release is a misuse of a
    /// known mutex, and shows an inferred word to be a handshake.
    fn release(&mut self, t: ThreadId, addr: u64, at: Place, known: bool) {
        let Some(word) = self.words.get_mut(&addr) else {
            self.tracker.clear_attempts(t);
            return;
        };
        let id = word.id;
        let mine = word.holder.is_some_and(|(h, _)| h == t);
        if !mine {
            // Otherwise dropping the hold below clears them.
            self.tracker.clear_attempts(t);
        }
        match word.holder {
            Some(_) if mine => {
                word.holder = None;
                if word.state == WordState::Candidate {
                    word.state = WordState::Confirmed;
                    self.tracker.set_is_lock(id, true);
                }
                self.tracker.end_hold(t, addr, true, true);
            }
            Some((h, acquired)) if known || !word.is_inferred() => {
                word.holder = None;
                self.tracker.misuse(
                    id,
                    MisuseKind::UnlockByOtherThread,
                    addr,
                    t,
                    at,
                    Some((h, acquired)),
                );
                self.tracker.drop_held(h, addr, false);
            }
            Some(_) => self.not_a_lock(addr),
            None => self
                .tracker
                .misuse(id, MisuseKind::UnlockNotHeld, addr, t, at, None),
        }
    }
}

#[cfg(test)]
mod tests;
