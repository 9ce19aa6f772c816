//! Happens-before *without lock edges*, the relation that decides whether two
//! lock-order edges taken by different threads could have run at the same time.
//!
//! The race detector's happens-before includes every lock release → acquire, so a
//! thread that takes `m1 → m2` and later another that takes `m2 → m1` are always
//! ordered through `m2` itself, and nothing would ever look concurrent. Here the
//! operations on lock words (inferred or hooked, see [`crate::locks`]) are left out;
//! everything else synchronizes as in DESIGN.md: fork, join, atomics on other words
//! (acquire + release on their address), woken waits and notifies, fences.
//!
//! The C library and the Rust allocator are the exception: the C library's thread
//! list, its internal locks and the allocators' locks order every thread creation
//! and exit after any other, which would order
//! every two threads' sections. So only its thread-exit code releases
//! (`pthread_exit`) and only its join and futex waits acquire ([`HbRole`]); the
//! rest of its synchronization is left out, like locks.
//!
//! Invariants: a thread's own entry starts at 1 and is incremented after every
//! release, so an event at own-clock value `e` of thread `t` happens before an event
//! of `u` iff `u`'s clock then has entry `t` ≥ `e`.
//!
//! **Lazy start.** Nothing is tracked until [`LockFreeClocks::activate`], which the lock
//! tracker calls when a thread first asks for a lock while holding another (the first
//! lock-order edge): most programs never nest locks, and for them every atomic skips
//! this second set of clocks. Sound because the only question ever asked is whether
//! one edge instance's acquisition happens before another instance's acquisition of its
//! held lock. The first is a request made under the tracker's mutex after the
//! activation, so it happens after it, and so does every event on a happens-before path
//! leaving it: each of those sees the flag set (Release store, Acquire loads, and the
//! locks and wakes that make the path) and was tracked. Clocks taken before the
//! activation are the threads' initial ones (nothing published, nothing learned): an
//! acquisition then cannot come after a later request, and they order nothing.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use wasmgrind_analysis::clock::VectorClock;
use wasmgrind_analysis::thread_table::ThreadTable;
use wasmgrind_runtime::ThreadId;
use wasmgrind_spin::{AddrShards, SpinMutex, SpinMutexGuard};

/// What a site's synchronization does in the lock-free happens-before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HbRole {
    /// Acquire + release (program code).
    Sync,
    /// Release only (the C library's thread exit).
    ReleaseOnly,
    /// Acquire only (the C library's join and futex waits).
    AcquireOnly,
    /// Nothing (the rest of the C library).
    Skip,
}

/// The role of code whose function names (inlined frames, innermost first) are
/// `functions`; `c_library` when it is the C library's (by DWARF or by name).
pub fn hb_role(functions: &[&str], c_library: bool) -> HbRole {
    let any = |pattern: &str| functions.iter().any(|f| f.contains(pattern));
    // The Rust allocator's lock (wasm32-unknown-unknown: `std::sys::alloc::wasm`
    // around dlmalloc) is a lock like the C library's: it would order any two
    // threads that allocate.
    if any("sys::alloc::") || any("dlmalloc") {
        return HbRole::Skip;
    }
    if !c_library {
        return HbRole::Sync;
    }
    if any("pthread_exit") {
        HbRole::ReleaseOnly
    } else if any("pthread_join") || any("timedwait") || any("__wait") {
        HbRole::AcquireOnly
    } else {
        HbRole::Skip
    }
}

/// Address shards (a power of two): enough that threads on different words rarely
/// meet on one lock.
const SHARDS: usize = 64;

/// Thread and sync-object clocks of the lock-free happens-before relation, shared by
/// all threads without a global lock: every atomic of the program updates them, so
/// they must not serialize the threads. A thread's clock is locked only by that
/// thread (and by a fork of it, before it runs), with a [`SpinMutex`] as it is nearly
/// never contended; address clocks are locked per hashed shard. Lock order: thread →
/// shard; never two of a kind.
pub struct LockFreeClocks {
    /// Set once, by [`LockFreeClocks::activate`]; until then updates are skipped.
    active: AtomicBool,
    threads: ThreadTable<SpinMutex<VectorClock>>,
    /// Final clocks of exited threads, for joins.
    exited: Mutex<FxHashMap<ThreadId, VectorClock>>,
    addrs: AddrShards<FxHashMap<u64, VectorClock>>,
    fence: Mutex<VectorClock>,
}

impl Default for LockFreeClocks {
    fn default() -> Self {
        LockFreeClocks {
            active: AtomicBool::new(false),
            threads: ThreadTable::new(MAX_THREAD_ID),
            exited: Mutex::default(),
            addrs: AddrShards::new(SHARDS),
            fence: Mutex::default(),
        }
    }
}

/// Threads past the detector's limit are not ordered with anything here either.
const MAX_THREAD_ID: ThreadId = wasmgrind_analysis::online::MAX_THREAD_ID;

impl LockFreeClocks {
    /// Starts tracking (see the module docs); idempotent.
    pub fn activate(&self) {
        if !self.active() {
            self.active.store(true, Ordering::Release);
        }
    }

    /// Whether updates are tracked yet. An Acquire load (a plain load on x86): a
    /// thread that synchronized with the activating thread after the activation sees it.
    #[inline]
    fn active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Thread `t`'s current clock, locked (created at 1@t when first seen); `None`
    /// for an id past the supported range.
    fn lock(&self, t: ThreadId) -> Option<SpinMutexGuard<'_, VectorClock>> {
        let slot = self.threads.get_or_init(t, || {
            let mut clock = VectorClock::new();
            clock.set(t, 1);
            SpinMutex::new(clock)
        })?;
        Some(slot.lock())
    }

    /// The shard holding `addr`'s clock.
    fn shard(&self, addr: u64) -> SpinMutexGuard<'_, FxHashMap<u64, VectorClock>> {
        self.addrs.lock(addr)
    }

    /// A copy of thread `t`'s current clock.
    pub fn snapshot(&self, t: ThreadId) -> VectorClock {
        self.lock(t).map(|c| c.clone()).unwrap_or_default()
    }

    /// Copies thread `t`'s current clock into `into` (reusing its buffer). Before the
    /// activation that is the empty clock: the initial one but for `t`'s own entry,
    /// which is only ever compared with other threads' events.
    pub fn copy_into(&self, t: ThreadId, into: &mut VectorClock) {
        if !self.active() {
            into.clear();
            return;
        }
        match self.lock(t) {
            Some(c) => into.copy_from(&c),
            None => into.clear(),
        }
    }

    /// Thread `t`'s own entry: the logical time of its current event.
    pub fn now(&self, t: ThreadId) -> u32 {
        self.lock(t).map_or(0, |c| c.get(t))
    }

    /// A synchronizing access to a non-lock word at a site of `role`.
    pub fn access(&self, role: HbRole, t: ThreadId, addr: u64) {
        match role {
            HbRole::Sync => self.sync(t, addr),
            HbRole::ReleaseOnly => self.release(t, addr),
            HbRole::AcquireOnly => self.acquire(t, addr),
            HbRole::Skip => {}
        }
    }

    /// An atomic access to a non-lock word: acquire + release on `addr`, as one step
    /// (the shard stays locked in between).
    pub fn sync(&self, t: ThreadId, addr: u64) {
        if !self.active() {
            return;
        }
        let Some(mut c) = self.lock(t) else { return };
        let mut addrs = self.shard(addr);
        let l = addrs.entry(addr).or_default();
        c.join(l);
        l.join(&c);
        c.inc(t);
    }

    /// `C_t ⊔= L_addr`.
    pub fn acquire(&self, t: ThreadId, addr: u64) {
        if !self.active() {
            return;
        }
        let Some(mut c) = self.lock(t) else { return };
        if let Some(l) = self.shard(addr).get(&addr) {
            c.join(l);
        }
    }

    /// `L_addr ⊔= C_t`, then `t` moves on.
    pub fn release(&self, t: ThreadId, addr: u64) {
        if !self.active() {
            return;
        }
        let Some(mut c) = self.lock(t) else { return };
        self.shard(addr).entry(addr).or_default().join(&c);
        c.inc(t);
    }

    /// A fence: acquire + release on one global object.
    pub fn fence(&self, t: ThreadId) {
        if !self.active() {
            return;
        }
        let Some(mut c) = self.lock(t) else { return };
        let mut f = self.fence.lock();
        c.join(&f);
        f.join(&c);
        c.inc(t);
    }

    /// `parent` spawned `child`.
    pub fn fork(&self, parent: ThreadId, child: ThreadId) {
        if !self.active() {
            return;
        }
        let p = {
            let Some(mut p) = self.lock(parent) else {
                return;
            };
            let before = p.clone();
            p.inc(parent);
            before
        };
        if let Some(mut c) = self.lock(child) {
            c.join(&p);
        }
    }

    /// `t` ended: its clock stays available to joins.
    pub fn exit(&self, t: ThreadId) {
        if !self.active() {
            return;
        }
        let c = self.snapshot(t);
        self.exited.lock().insert(t, c);
    }

    /// `joiner` waited for `joined` to end.
    pub fn join(&self, joiner: ThreadId, joined: ThreadId) {
        if !self.active() {
            return;
        }
        let Some(c) = self.exited.lock().get(&joined).cloned() else {
            return;
        };
        if let Some(mut j) = self.lock(joiner) {
            j.join(&c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `t`'s event at `e` happens before `u`'s current event.
    fn before(c: &LockFreeClocks, t: ThreadId, e: u32, u: ThreadId) -> bool {
        c.snapshot(u).get(t) >= e
    }

    #[test]
    fn c_library_roles() {
        assert_eq!(hb_role(&["app::main"], false), HbRole::Sync);
        assert_eq!(
            hb_role(
                &["std::sys::alloc::wasm::lock::lock", "__rust_alloc"],
                false
            ),
            HbRole::Skip
        );
        assert_eq!(
            hb_role(&["__wake", "__pthread_exit"], true),
            HbRole::ReleaseOnly
        );
        assert_eq!(hb_role(&["__pthread_join"], true), HbRole::AcquireOnly);
        assert_eq!(hb_role(&["__lock"], true), HbRole::Skip);
        let c = LockFreeClocks::default();
        c.activate();
        c.fork(0, 1);
        let e = c.now(1);
        c.access(HbRole::Skip, 1, 0x8);
        c.access(HbRole::Sync, 0, 0x8);
        assert!(!before(&c, 1, e, 0), "skipped");
        c.access(HbRole::ReleaseOnly, 1, 0x8);
        c.access(HbRole::AcquireOnly, 0, 0x8);
        assert!(before(&c, 1, e, 0), "exit → join");
    }

    #[test]
    fn atomics_fork_and_join_order_but_nothing_else_does() {
        let c = LockFreeClocks::default();
        c.activate();
        c.fork(0, 1);
        c.fork(0, 2);
        let e1 = c.now(1);
        assert!(!before(&c, 1, e1, 2), "siblings are concurrent");
        c.sync(1, 0x10);
        c.sync(2, 0x10);
        assert!(before(&c, 1, e1, 2), "through the atomic at 0x10");
        let e2 = c.now(2);
        c.exit(2);
        assert!(!before(&c, 2, e2, 0));
        c.join(0, 2);
        assert!(before(&c, 2, e2, 0), "through the join");
        let e0 = c.now(0);
        c.fence(0);
        c.fence(1);
        assert!(before(&c, 0, e0, 1), "through fences");
    }

    #[test]
    fn nothing_is_tracked_before_activation_and_everything_after() {
        let c = LockFreeClocks::default();
        c.fork(0, 1);
        c.sync(0, 0x10);
        c.sync(1, 0x10);
        c.fence(0);
        c.fence(1);
        c.exit(0);
        c.join(1, 0);
        assert_eq!(c.snapshot(1).get(0), 0, "inactive: 1 learned nothing of 0");
        assert_eq!((c.now(0), c.now(1)), (1, 1), "initial clocks");
        c.activate();
        let e2 = c.now(2);
        c.sync(2, 0x10);
        c.sync(1, 0x10);
        assert!(before(&c, 2, e2, 1), "active: through the atomic at 0x10");
        assert_eq!(c.snapshot(1).get(0), 0, "what 0 did before stays unknown");
    }

    #[test]
    fn threads_syncing_concurrently_lose_no_update() {
        let c = LockFreeClocks::default();
        c.activate();
        let threads: Vec<ThreadId> = (1..=4).collect();
        for &t in &threads {
            c.fork(0, t);
        }
        std::thread::scope(|s| {
            for &t in &threads {
                let c = &c;
                s.spawn(move || {
                    // A shared word, then one of this thread's own.
                    for i in 0..2000u64 {
                        c.sync(t, 0x40);
                        c.sync(t, 0x1000 * u64::from(t) + 8 * (i % 16));
                    }
                });
            }
        });
        // Every thread's last release reached the shared word's clock.
        c.acquire(9, 0x40);
        for &t in &threads {
            assert_eq!(c.snapshot(9).get(t), c.now(t) - 2, "thread {t}");
        }
    }
}
