//! Locks inferred from a wasi-threads program's atomics (DESIGN.md, "Locks"), by the
//! rules `wasmgrind check` uses ([`wasmgrind_check::locks`]): a successful cmpxchg of
//! 0 → non-zero on a word acquires the lock at its address; anything that leaves 0 in
//! a word the thread holds (a store or exchange of 0, a compare-exchange to 0 as musl's
//! unlocks do, a read-modify-write down to 0) releases it.
//!
//! One refinement: an exchange that writes non-zero and returns 0 also acquires,
//! because futex mutexes (Rust std's, wasm-threadlink's) take a contended lock with
//! `swap(CONTENDED) == UNLOCKED`; without it their contended critical sections would
//! be missing, and the holder's unlock (`swap(0)`) would release nothing. A cmpxchg
//! of 0 → non-zero that fails is a contended attempt: it yields one lock request per
//! waiting episode.
//!
//! As in `check`, code known by name decides first ([`LockRole`]): only a known
//! mutex's or unknown code's atomics take locks, and an unknown one only with a value
//! that looks like a lock state (not a pointer). Reader-writer locks, `Once`, channel
//! states and the C library's internals take none: a trace's lock has one holder at a
//! time, which readers sharing a lock are not. (Their atomics stay in the trace as the
//! acquire and release of the address's atomic lock.)
//!
//! State is per thread: the atomics of one address reach a thread in their
//! modification order, and only the holder's own store can release.

use wasmgrind_check::locks::{shape, LockRole, Shape, MAX_LOCK_VALUE};
use wasmgrind_instrument::AtomicOp;

/// Words: the sizes a lock word may have.
const WORD_SIZES: [u8; 2] = [4, 8];

/// What one atomic means for the inferred lock at its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inferred {
    /// Nothing.
    None,
    /// The thread started waiting for the lock (a failed acquiring cmpxchg).
    Request,
    /// The thread now holds the lock.
    Acquire,
    /// The thread gave the lock up.
    Release,
}

/// One thread's inferred-lock state.
#[derive(Debug, Default)]
pub struct LockInference {
    /// Addresses of the locks this thread holds (few: a small vector beats a set).
    held: Vec<u64>,
    /// The lock this thread has requested and not yet acquired.
    requested: Option<u64>,
}

impl LockInference {
    /// Interprets an atomic of `size` bytes at `addr` in code of lock `role`: `result`
    /// is what it returned, `operand` what it stored (the rmw operand / cmpxchg
    /// replacement), `expected` cmpxchg's expected value.
    #[allow(clippy::too_many_arguments)]
    pub fn atomic(
        &mut self,
        role: LockRole,
        op: AtomicOp,
        size: u8,
        addr: u64,
        result: u64,
        operand: u64,
        expected: u64,
    ) -> Inferred {
        if !WORD_SIZES.contains(&size) {
            return Inferred::None;
        }
        let held = self.held.contains(&addr);
        let takes = |value: u64| match role {
            LockRole::KnownMutex => true,
            LockRole::Generic => value <= MAX_LOCK_VALUE,
            LockRole::Ignore | LockRole::RwLock(_) => false,
        };
        match shape(op, size, result, operand, expected) {
            // Whatever code it is in: the unlock of a lock taken elsewhere.
            Shape::Release if held => {
                self.held.retain(|&a| a != addr);
                Inferred::Release
            }
            Shape::Acquire { value } if !held && takes(value) => self.acquire(addr),
            Shape::FailedAttempt if !held && takes(operand) => {
                if self.requested == Some(addr) {
                    Inferred::None
                } else {
                    self.requested = Some(addr);
                    Inferred::Request
                }
            }
            _ => Inferred::None,
        }
    }

    fn acquire(&mut self, addr: u64) -> Inferred {
        self.held.push(addr);
        if self.requested == Some(addr) {
            self.requested = None;
        }
        Inferred::Acquire
    }

    /// Addresses of the locks the thread holds now.
    pub fn held(&self) -> &[u64] {
        &self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AtomicOp::*;

    const G: LockRole = LockRole::Generic;

    #[test]
    fn cmpxchg_acquires_and_store_of_zero_releases() {
        let mut t = LockInference::default();
        assert_eq!(t.atomic(G, Cmpxchg, 4, 0x10, 0, 1, 0), Inferred::Acquire);
        assert_eq!(t.held(), &[0x10]);
        // A second acquire of a held lock (re-entrancy) is not another acquire.
        assert_eq!(t.atomic(G, Cmpxchg, 4, 0x10, 0, 1, 0), Inferred::None);
        assert_eq!(t.atomic(G, Store, 4, 0x10, 0, 0, 0), Inferred::Release);
        assert!(t.held().is_empty());
        // Storing 0 to a word the thread does not hold releases nothing.
        assert_eq!(t.atomic(G, Store, 4, 0x10, 0, 0, 0), Inferred::None);
    }

    #[test]
    fn contention_requests_once_then_acquires() {
        let mut t = LockInference::default();
        assert_eq!(t.atomic(G, Cmpxchg, 4, 0x20, 1, 1, 0), Inferred::Request);
        assert_eq!(t.atomic(G, Cmpxchg, 4, 0x20, 2, 1, 0), Inferred::None);
        // Futex slow path: swap(CONTENDED) returning UNLOCKED acquires.
        assert_eq!(t.atomic(G, Xchg, 4, 0x20, 0, 2, 0), Inferred::Acquire);
        // swap(UNLOCKED) by the holder releases.
        assert_eq!(t.atomic(G, Xchg, 4, 0x20, 2, 0, 0), Inferred::Release);
        // Next contention episode requests again.
        assert_eq!(t.atomic(G, Cmpxchg, 4, 0x20, 1, 1, 0), Inferred::Request);
    }

    #[test]
    fn other_atomics_infer_nothing() {
        let mut t = LockInference::default();
        // cmpxchg not from 0, or to 0; rmw adds; loads; sub-word sizes.
        assert_eq!(t.atomic(G, Cmpxchg, 4, 0x30, 5, 6, 5), Inferred::None);
        assert_eq!(t.atomic(G, Cmpxchg, 4, 0x30, 0, 0, 0), Inferred::None);
        assert_eq!(t.atomic(G, Add, 4, 0x30, 0, 1, 0), Inferred::None);
        assert_eq!(t.atomic(G, Load, 4, 0x30, 0, 0, 0), Inferred::None);
        assert_eq!(t.atomic(G, Cmpxchg, 1, 0x30, 0, 1, 0), Inferred::None);
        assert_eq!(t.atomic(G, Xchg, 4, 0x30, 3, 1, 0), Inferred::None);
        assert!(t.held().is_empty());
        // 8-byte words count.
        assert_eq!(t.atomic(G, Cmpxchg, 8, 0x38, 0, 1, 0), Inferred::Acquire);
        // Two locks held at once, released in any order.
        assert_eq!(t.atomic(G, Cmpxchg, 4, 0x40, 0, 1, 0), Inferred::Acquire);
        assert_eq!(t.atomic(G, Store, 8, 0x38, 0, 0, 0), Inferred::Release);
        assert_eq!(t.held(), &[0x40]);
    }

    #[test]
    fn unlocks_that_leave_zero_release_whatever_their_shape() {
        let mut t = LockInference::default();
        // musl's rwlock and mutex unlocks: a compare-exchange to 0.
        assert_eq!(t.atomic(G, Cmpxchg, 4, 0x10, 0, 1, 0), Inferred::Acquire);
        assert_eq!(t.atomic(G, Cmpxchg, 4, 0x10, 1, 0, 1), Inferred::Release);
        // A read-modify-write down to 0 (std's `fetch_sub` unlocks).
        assert_eq!(t.atomic(G, Xchg, 4, 0x20, 0, 2, 0), Inferred::Acquire);
        assert_eq!(t.atomic(G, Sub, 4, 0x20, 2, 2, 0), Inferred::Release);
        // Not down to 0: still held.
        assert_eq!(t.atomic(G, Cmpxchg, 4, 0x30, 0, 3, 0), Inferred::Acquire);
        assert_eq!(t.atomic(G, Sub, 4, 0x30, 3, 1, 0), Inferred::None);
        assert_eq!(t.held(), &[0x30]);
    }

    #[test]
    fn code_known_by_name_decides_who_takes_locks() {
        use wasmgrind_check::locks::RwScheme;
        let mut t = LockInference::default();
        // A pointer swapped into a free word is no lock, except in a known mutex.
        assert_eq!(
            t.atomic(G, Cmpxchg, 4, 0x10, 0, 0x11_0000, 0),
            Inferred::None
        );
        let known = LockRole::KnownMutex;
        assert_eq!(
            t.atomic(known, Cmpxchg, 4, 0x10, 0, 0x11_0000, 0),
            Inferred::Acquire
        );
        // Reader-writer locks and the C library's internals take nothing, and ask for
        // nothing either.
        for role in [LockRole::RwLock(RwScheme::StdFutex), LockRole::Ignore] {
            assert_eq!(t.atomic(role, Cmpxchg, 4, 0x20, 0, 1, 0), Inferred::None);
            assert_eq!(t.atomic(role, Cmpxchg, 4, 0x20, 1, 1, 0), Inferred::None);
        }
        // An unlock classified otherwise still releases what the thread holds.
        assert_eq!(
            t.atomic(LockRole::Ignore, Xchg, 4, 0x10, 0x11_0000, 0, 0),
            Inferred::Release
        );
        assert!(t.held().is_empty());
    }
}
