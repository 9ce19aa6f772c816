//! The run's lock state, shared by all threads: which words are locks
//! ([`crate::locks`]), who holds what, the lock-free happens-before clocks
//! ([`crate::lock_clocks`]), the lock-order graph ([`crate::lock_order`]) and the
//! misuses seen. Everything is reported at the end of the run, once it is known
//! which candidate words really were locks.
//!
//! Concurrency: one `Mutex`, taken once per atomic and per lock hook, never while
//! the detector's lock is held (the callers take them one after the other).

use std::sync::Mutex;

use rustc_hash::FxHashMap;
use wasmgrind_analysis::clock::VectorClock;
use wasmgrind_instrument::AtomicOp;
use wasmgrind_report::MisuseKind;
use wasmgrind_runtime::{LockHook, ThreadId};

use crate::lock_clocks::{HbRole, LockFreeClocks};
use crate::lock_order::{EdgeRecord, LockOrder, Place};
use crate::locks::{shape, LockRole, Shape, MAX_LOCK_VALUE};

/// What a word is known to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordState {
    /// Acquired, never yet released by its holder.
    Candidate,
    /// A lock: released by its holder, named a mutex, or hooked.
    Confirmed,
    /// Its holder overwrote it with another non-zero value: a state machine.
    NotALock,
}

#[derive(Debug)]
struct Word {
    state: WordState,
    /// threadlink reports this lock with hooks: its atomics are not inferred.
    hooked: bool,
    holder: Option<(ThreadId, Place)>,
}

impl Word {
    /// Whether atomics on this word are lock operations (left out of the lock-free
    /// happens-before).
    fn is_lock_like(&self) -> bool {
        self.hooked || self.state != WordState::NotALock
    }
}

#[derive(Debug)]
struct Held {
    addr: u64,
    at: Place,
    clock: VectorClock,
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
    /// Potential deadlocks: per cycle, its edges `(held, acquired, instance)`.
    pub cycles: Vec<Vec<(u64, u64, EdgeRecord)>>,
    pub misuses: Vec<Misuse>,
}

#[derive(Default)]
struct Inner {
    words: FxHashMap<u64, Word>,
    held: Vec<Vec<Held>>,
    clocks: LockFreeClocks,
    order: LockOrder,
    misuses: Vec<Misuse>,
}

/// The shared lock state of one run.
#[derive(Default)]
pub struct LockTracker {
    inner: Mutex<Inner>,
}

impl LockTracker {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An atomic of thread `t` at `at`, classified by its site's `role`.
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
        let (result, operand, expected) = values;
        let mut inner = self.inner();
        let inner = &mut *inner;
        if hb == HbRole::ReleaseOnly {
            inner.exiting(t);
        }
        let word = inner.words.get(&addr);
        if word.is_some_and(|w| w.hooked) {
            return;
        }
        let lock_like = word.is_some_and(Word::is_lock_like);
        if role == LockRole::Ignore {
            if !lock_like {
                inner.clocks.access(hb, t, addr);
            }
            return;
        }
        let not_a_lock = word.is_some_and(|w| w.state == WordState::NotALock);
        let holder = word.and_then(|w| w.holder);
        match shape(op, size, result, operand, expected) {
            Shape::Acquire { value }
                if !not_a_lock && (value <= MAX_LOCK_VALUE || role == LockRole::KnownMutex) =>
            {
                if holder.is_some_and(|(h, _)| h == t) {
                    // Our view was stale (released by an operation we do not see).
                    inner.drop_held(t, addr);
                }
                inner.acquire(t, addr, at, role == LockRole::KnownMutex);
            }
            Shape::FailedAttempt if lock_like => {
                if holder.is_none_or(|(h, _)| h != t) {
                    // A request that will block (or a failed try-lock): the order
                    // counts even if the acquisition never happens (a real deadlock).
                    inner.request(t, addr, at);
                }
                if let Some((h, acquired)) = holder.filter(|&(h, _)| h == t) {
                    inner.misuses.push(Misuse {
                        kind: MisuseKind::RecursiveLock,
                        lock: addr,
                        thread: t,
                        at,
                        holder: Some((h, acquired)),
                    });
                }
            }
            Shape::Release if lock_like => inner.release(t, addr, at),
            Shape::Overwrite if holder.is_some_and(|(h, _)| h == t) => {
                inner.drop_held(t, addr);
                if let Some(w) = inner.words.get_mut(&addr) {
                    w.state = WordState::NotALock;
                    w.holder = None;
                }
            }
            _ if lock_like => {}
            _ => inner.clocks.access(hb, t, addr),
        }
    }

    /// A threadlink lock hook of thread `t` for the mutex at `addr`.
    pub fn hook(&self, t: ThreadId, hook: LockHook, addr: u64, at: Place) {
        let mut inner = self.inner();
        let word = inner.words.entry(addr).or_insert(Word {
            state: WordState::Confirmed,
            hooked: true,
            holder: None,
        });
        word.hooked = true;
        word.state = WordState::Confirmed;
        let holder = word.holder;
        match hook {
            LockHook::StartLock => {
                if holder.is_none_or(|(h, _)| h != t) {
                    inner.request(t, addr, at);
                }
                if let Some((h, acquired)) = holder.filter(|&(h, _)| h == t) {
                    inner.misuses.push(Misuse {
                        kind: MisuseKind::RecursiveLock,
                        lock: addr,
                        thread: t,
                        at,
                        holder: Some((h, acquired)),
                    });
                }
            }
            LockHook::FinishLock => inner.hold(t, addr, at, true),
            LockHook::StartUnlock => inner.release(t, addr, at),
            LockHook::FinishUnlock => {}
        }
    }

    /// A plain access the checker treats as atomic (C library synchronization).
    pub fn sync_access(&self, t: ThreadId, hb: HbRole, addr: u64) {
        let mut inner = self.inner();
        if hb == HbRole::ReleaseOnly {
            inner.exiting(t);
        }
        if !inner.words.get(&addr).is_some_and(Word::is_lock_like) {
            inner.clocks.access(hb, t, addr);
        }
    }

    /// A woken wait (`acquire`) or a notify (`!acquire`) on `addr`.
    pub fn wait_or_notify(&self, t: ThreadId, hb: HbRole, addr: u64, acquire: bool) {
        let mut inner = self.inner();
        if inner.words.get(&addr).is_some_and(Word::is_lock_like) {
            return;
        }
        match (acquire, hb) {
            (true, HbRole::Sync | HbRole::AcquireOnly) => inner.clocks.acquire(t, addr),
            (false, HbRole::Sync | HbRole::ReleaseOnly) => inner.clocks.release(t, addr),
            _ => {}
        }
    }

    pub fn fence(&self, t: ThreadId) {
        self.inner().clocks.fence(t);
    }

    pub fn fork(&self, parent: ThreadId, child: ThreadId) {
        self.inner().clocks.fork(parent, child);
    }

    pub fn join(&self, joiner: ThreadId, joined: ThreadId) {
        self.inner().clocks.join(joiner, joined);
    }

    /// Thread `t` ended: every lock it still holds is a misuse.
    pub fn exit(&self, t: ThreadId) {
        let mut inner = self.inner();
        inner.exiting(t);
        inner.clocks.exit(t);
    }

    /// The potential deadlocks and misuses among words that turned out to be locks.
    pub fn findings(&self) -> LockFindings {
        let inner = self.inner();
        let is_lock = |addr: u64| {
            inner
                .words
                .get(&addr)
                .is_some_and(|w| w.hooked || w.state == WordState::Confirmed)
        };
        LockFindings {
            cycles: inner.order.cycles(is_lock),
            misuses: inner
                .misuses
                .iter()
                .filter(|m| is_lock(m.lock))
                .cloned()
                .collect(),
        }
    }
}

impl Inner {
    /// Thread `t` is ending (its exit hook, or already the C library's thread-exit
    /// code, which runs before a joiner can return and the program end): every lock
    /// it still holds is a misuse.
    fn exiting(&mut self, t: ThreadId) {
        let inner = self;
        let held = inner
            .held
            .get_mut(t as usize)
            .map(std::mem::take)
            .unwrap_or_default();
        for h in held {
            if let Some(w) = inner.words.get_mut(&h.addr) {
                w.holder = None;
            }
            inner.misuses.push(Misuse {
                kind: MisuseKind::ExitWhileHolding,
                lock: h.addr,
                thread: t,
                at: h.at,
                holder: Some((t, h.at)),
            });
        }
    }

    fn held_of(&mut self, t: ThreadId) -> &mut Vec<Held> {
        let i = t as usize;
        if i >= self.held.len() {
            self.held.resize_with(i + 1, Vec::new);
        }
        &mut self.held[i]
    }

    fn drop_held(&mut self, t: ThreadId, addr: u64) {
        let held = self.held_of(t);
        if let Some(pos) = held.iter().rposition(|h| h.addr == addr) {
            held.remove(pos);
        }
    }

    /// `t` acquires the lock at `addr`: requests it, then holds it.
    fn acquire(&mut self, t: ThreadId, addr: u64, at: Place, confirmed: bool) {
        self.request(t, addr, at);
        self.hold(t, addr, at, confirmed);
    }

    /// `t` asks for the lock at `addr`: an edge from every lock it holds.
    fn request(&mut self, t: ThreadId, addr: u64, at: Place) {
        let now = self.clocks.now(t);
        let Inner { held, order, .. } = self;
        let Some(mine) = held.get(t as usize).filter(|m| !m.is_empty()) else {
            return;
        };
        let mut gate: Vec<u64> = mine.iter().map(|h| h.addr).collect();
        gate.sort_unstable();
        gate.dedup();
        for h in mine.iter().filter(|h| h.addr != addr) {
            order.edge(t, h.addr, addr, &gate, h.at, &h.clock, at, now);
        }
    }

    /// `t` now holds the lock at `addr`.
    fn hold(&mut self, t: ThreadId, addr: u64, at: Place, confirmed: bool) {
        let clock = self.clocks.clock(t).clone();
        self.held_of(t).push(Held { addr, at, clock });
        let words = &mut self.words;
        let word = words.entry(addr).or_insert(Word {
            state: WordState::Candidate,
            hooked: false,
            holder: None,
        });
        if confirmed {
            word.state = WordState::Confirmed;
        }
        word.holder = Some((t, at));
    }

    /// `t` releases the lock at `addr` (at `at`): confirms it if `t` held it, else
    /// records the misuse.
    fn release(&mut self, t: ThreadId, addr: u64, at: Place) {
        let Some(word) = self.words.get_mut(&addr) else {
            return;
        };
        let holder = word.holder.take();
        match holder {
            Some((h, _)) if h == t => {
                word.state = match word.state {
                    WordState::Candidate => WordState::Confirmed,
                    s => s,
                };
                self.drop_held(t, addr);
            }
            Some((h, acquired)) => {
                self.misuses.push(Misuse {
                    kind: MisuseKind::UnlockByOtherThread,
                    lock: addr,
                    thread: t,
                    at,
                    holder: Some((h, acquired)),
                });
                self.drop_held(h, addr);
            }
            None => self.misuses.push(Misuse {
                kind: MisuseKind::UnlockNotHeld,
                lock: addr,
                thread: t,
                at,
                holder: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: LockRole = LockRole::Generic;

    fn at(site: u32) -> Place {
        Place {
            site: Some(site),
            stack: 0,
        }
    }

    fn lock(tr: &LockTracker, t: ThreadId, addr: u64, site: u32) {
        tr.atomic(
            t,
            (G, HbRole::Sync),
            AtomicOp::Cmpxchg,
            4,
            addr,
            (0, 1, 0),
            at(site),
        );
    }

    fn unlock(tr: &LockTracker, t: ThreadId, addr: u64, site: u32) {
        tr.atomic(
            t,
            (G, HbRole::Sync),
            AtomicOp::Xchg,
            4,
            addr,
            (1, 0, 0),
            at(site),
        );
    }

    #[test]
    fn inversion_between_concurrent_threads_is_found_only_for_confirmed_locks() {
        let tr = LockTracker::default();
        tr.fork(0, 1);
        tr.fork(0, 2);
        lock(&tr, 1, 0x10, 1);
        lock(&tr, 1, 0x20, 2);
        unlock(&tr, 1, 0x20, 3);
        unlock(&tr, 1, 0x10, 4);
        lock(&tr, 2, 0x20, 5);
        lock(&tr, 2, 0x10, 6);
        // Words never released by their holder are no locks: no cycle through them.
        lock(&tr, 1, 0x30, 11);
        lock(&tr, 1, 0x40, 12);
        lock(&tr, 2, 0x40, 13);
        lock(&tr, 2, 0x30, 14);
        unlock(&tr, 2, 0x10, 7);
        unlock(&tr, 2, 0x20, 8);
        let f = tr.findings();
        assert_eq!(f.cycles.len(), 1);
        let sites: Vec<Option<u32>> = f.cycles[0]
            .iter()
            .map(|(_, _, e)| e.acquired_at.site)
            .collect();
        assert_eq!(sites, vec![Some(2), Some(6)]);
        assert!(f.misuses.is_empty());
    }

    #[test]
    fn an_atomic_flag_between_the_sections_orders_them() {
        let tr = LockTracker::default();
        tr.fork(0, 1);
        tr.fork(0, 2);
        lock(&tr, 1, 0x10, 1);
        lock(&tr, 1, 0x20, 2);
        unlock(&tr, 1, 0x20, 3);
        unlock(&tr, 1, 0x10, 4);
        tr.atomic(
            1,
            (G, HbRole::Sync),
            AtomicOp::Store,
            4,
            0x99,
            (0, 1, 0),
            at(9),
        );
        tr.atomic(
            2,
            (G, HbRole::Sync),
            AtomicOp::Load,
            4,
            0x99,
            (1, 0, 0),
            at(9),
        );
        lock(&tr, 2, 0x20, 5);
        lock(&tr, 2, 0x10, 6);
        unlock(&tr, 2, 0x10, 7);
        unlock(&tr, 2, 0x20, 8);
        assert!(tr.findings().cycles.is_empty());
    }

    #[test]
    fn misuses_of_confirmed_locks() {
        let tr = LockTracker::default();
        lock(&tr, 1, 0x10, 1);
        unlock(&tr, 1, 0x10, 2);
        // Unlock nobody held, by another thread, exit holding, recursive attempt.
        unlock(&tr, 1, 0x10, 3);
        lock(&tr, 1, 0x10, 4);
        unlock(&tr, 2, 0x10, 5);
        lock(&tr, 2, 0x10, 6);
        tr.atomic(
            2,
            (G, HbRole::Sync),
            AtomicOp::Cmpxchg,
            4,
            0x10,
            (1, 1, 0),
            at(7),
        );
        tr.exit(2);
        let kinds: Vec<(MisuseKind, Option<u32>)> = tr
            .findings()
            .misuses
            .iter()
            .map(|m| (m.kind, m.at.site))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (MisuseKind::UnlockNotHeld, Some(3)),
                (MisuseKind::UnlockByOtherThread, Some(5)),
                (MisuseKind::RecursiveLock, Some(7)),
                (MisuseKind::ExitWhileHolding, Some(6)),
            ]
        );
    }

    #[test]
    fn state_words_and_pointers_are_not_locks() {
        let tr = LockTracker::default();
        // A Once: 0 → RUNNING, then RUNNING → COMPLETE by its holder.
        tr.atomic(
            1,
            (G, HbRole::Sync),
            AtomicOp::Cmpxchg,
            4,
            0x30,
            (0, 2, 0),
            at(1),
        );
        tr.atomic(
            1,
            (G, HbRole::Sync),
            AtomicOp::Xchg,
            4,
            0x30,
            (2, 4, 0),
            at(2),
        );
        tr.atomic(
            2,
            (G, HbRole::Sync),
            AtomicOp::Store,
            4,
            0x30,
            (0, 0, 0),
            at(3),
        );
        // A list head: null → pointer, later swapped back to null by another thread.
        tr.atomic(
            1,
            (G, HbRole::Sync),
            AtomicOp::Cmpxchg,
            4,
            0x40,
            (0, 0x11_0000, 0),
            at(4),
        );
        tr.atomic(
            2,
            (G, HbRole::Sync),
            AtomicOp::Xchg,
            4,
            0x40,
            (0x11_0000, 0, 0),
            at(5),
        );
        // A candidate never released: its holder exiting is no misuse.
        lock(&tr, 1, 0x50, 6);
        tr.exit(1);
        let f = tr.findings();
        assert!(f.misuses.is_empty(), "{:?}", f.misuses);
    }

    #[test]
    fn threadlink_hooks_define_the_lock() {
        let tr = LockTracker::default();
        let hook = |t, h, site| tr.hook(t, h, 0x10, at(site));
        hook(1, LockHook::StartLock, 1);
        // The mutex's own cmpxchg is not inferred again.
        lock(&tr, 1, 0x10, 2);
        hook(1, LockHook::FinishLock, 3);
        hook(1, LockHook::StartLock, 4);
        hook(2, LockHook::StartUnlock, 5);
        let kinds: Vec<MisuseKind> = tr.findings().misuses.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            vec![MisuseKind::RecursiveLock, MisuseKind::UnlockByOtherThread]
        );
    }
}
