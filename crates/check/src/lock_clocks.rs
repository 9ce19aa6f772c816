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

use rustc_hash::FxHashMap;
use wasmgrind_analysis::clock::VectorClock;
use wasmgrind_runtime::ThreadId;

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

/// Thread and sync-object clocks of the lock-free happens-before relation.
#[derive(Default)]
pub struct LockFreeClocks {
    threads: Vec<VectorClock>,
    /// Final clocks of exited threads, for joins.
    exited: FxHashMap<ThreadId, VectorClock>,
    addrs: FxHashMap<u64, VectorClock>,
    fence: VectorClock,
}

impl LockFreeClocks {
    /// Thread `t`'s current clock (created at 1@t when first seen).
    pub fn clock(&mut self, t: ThreadId) -> &mut VectorClock {
        let i = t as usize;
        if i >= self.threads.len() {
            self.threads.resize_with(i + 1, VectorClock::new);
        }
        let clock = &mut self.threads[i];
        if clock.get(t) == 0 {
            clock.set(t, 1);
        }
        clock
    }

    /// Thread `t`'s own entry: the logical time of its current event.
    pub fn now(&mut self, t: ThreadId) -> u32 {
        self.clock(t).get(t)
    }

    /// A synchronizing access to a non-lock word at a site of `role`.
    pub fn access(&mut self, role: HbRole, t: ThreadId, addr: u64) {
        match role {
            HbRole::Sync => self.sync(t, addr),
            HbRole::ReleaseOnly => self.release(t, addr),
            HbRole::AcquireOnly => self.acquire(t, addr),
            HbRole::Skip => {}
        }
    }

    /// An atomic access to a non-lock word: acquire + release on `addr`.
    pub fn sync(&mut self, t: ThreadId, addr: u64) {
        self.acquire(t, addr);
        self.release(t, addr);
    }

    /// `C_t ⊔= L_addr`.
    pub fn acquire(&mut self, t: ThreadId, addr: u64) {
        if let Some(l) = self.addrs.get(&addr) {
            let l = l.clone();
            self.clock(t).join(&l);
        }
    }

    /// `L_addr ⊔= C_t`, then `t` moves on.
    pub fn release(&mut self, t: ThreadId, addr: u64) {
        let c = self.clock(t).clone();
        self.addrs.entry(addr).or_default().join(&c);
        self.clock(t).inc(t);
    }

    /// A fence: acquire + release on one global object.
    pub fn fence(&mut self, t: ThreadId) {
        let f = self.fence.clone();
        let c = self.clock(t);
        c.join(&f);
        let c = c.clone();
        self.fence.join(&c);
        self.clock(t).inc(t);
    }

    /// `parent` spawned `child`.
    pub fn fork(&mut self, parent: ThreadId, child: ThreadId) {
        let p = self.clock(parent).clone();
        self.clock(child).join(&p);
        self.clock(parent).inc(parent);
    }

    /// `t` ended: its clock stays available to joins.
    pub fn exit(&mut self, t: ThreadId) {
        let c = self.clock(t).clone();
        self.exited.insert(t, c);
    }

    /// `joiner` waited for `joined` to end.
    pub fn join(&mut self, joiner: ThreadId, joined: ThreadId) {
        if let Some(c) = self.exited.get(&joined).cloned() {
            self.clock(joiner).join(&c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `t`'s event at `e` happens before `u`'s current event.
    fn before(c: &mut LockFreeClocks, t: ThreadId, e: u32, u: ThreadId) -> bool {
        c.clock(u).get(t) >= e
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
        let mut c = LockFreeClocks::default();
        c.fork(0, 1);
        let e = c.now(1);
        c.access(HbRole::Skip, 1, 0x8);
        c.access(HbRole::Sync, 0, 0x8);
        assert!(!before(&mut c, 1, e, 0), "skipped");
        c.access(HbRole::ReleaseOnly, 1, 0x8);
        c.access(HbRole::AcquireOnly, 0, 0x8);
        assert!(before(&mut c, 1, e, 0), "exit → join");
    }

    #[test]
    fn atomics_fork_and_join_order_but_nothing_else_does() {
        let mut c = LockFreeClocks::default();
        c.fork(0, 1);
        c.fork(0, 2);
        let e1 = c.now(1);
        assert!(!before(&mut c, 1, e1, 2), "siblings are concurrent");
        c.sync(1, 0x10);
        c.sync(2, 0x10);
        assert!(before(&mut c, 1, e1, 2), "through the atomic at 0x10");
        let e2 = c.now(2);
        c.exit(2);
        assert!(!before(&mut c, 2, e2, 0));
        c.join(0, 2);
        assert!(before(&mut c, 2, e2, 0), "through the join");
        let e0 = c.now(0);
        c.fence(0);
        c.fence(1);
        assert!(before(&mut c, 0, e0, 1), "through fences");
    }
}
