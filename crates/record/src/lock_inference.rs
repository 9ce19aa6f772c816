//! Locks inferred from a wasi-threads program's atomics (DESIGN.md, "Locks"): a
//! successful cmpxchg of 0 → non-zero on a word acquires the lock at its address; a
//! store or exchange writing 0 to a word the thread holds releases it.
//!
//! One refinement: an exchange that writes non-zero and returns 0 also acquires,
//! because futex mutexes (Rust std's, wasm-threadlink's) take a contended lock with
//! `swap(CONTENDED) == UNLOCKED`; without it their contended critical sections would
//! be missing, and the holder's unlock (`swap(0)`) would release nothing. A cmpxchg
//! of 0 → non-zero that fails is a contended attempt: it yields one lock request per
//! waiting episode.
//!
//! State is per thread: the atomics of one address reach a thread in their
//! modification order, and only the holder's own store can release.

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
    /// Interprets an atomic of `size` bytes at `addr`: `result` is what it returned,
    /// `operand` what it stored (the rmw operand / cmpxchg replacement), `expected`
    /// cmpxchg's expected value.
    pub fn atomic(
        &mut self,
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
        match op {
            AtomicOp::Cmpxchg if expected == 0 && operand != 0 && !held => {
                if result == 0 {
                    self.acquire(addr)
                } else if self.requested != Some(addr) {
                    self.requested = Some(addr);
                    Inferred::Request
                } else {
                    Inferred::None
                }
            }
            AtomicOp::Xchg if result == 0 && operand != 0 && !held => self.acquire(addr),
            AtomicOp::Xchg | AtomicOp::Store if operand == 0 && held => {
                self.held.retain(|&a| a != addr);
                Inferred::Release
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

    #[test]
    fn cmpxchg_acquires_and_store_of_zero_releases() {
        let mut t = LockInference::default();
        assert_eq!(t.atomic(Cmpxchg, 4, 0x10, 0, 1, 0), Inferred::Acquire);
        assert_eq!(t.held(), &[0x10]);
        // A second acquire of a held lock (re-entrancy) is not another acquire.
        assert_eq!(t.atomic(Cmpxchg, 4, 0x10, 0, 1, 0), Inferred::None);
        assert_eq!(t.atomic(Store, 4, 0x10, 0, 0, 0), Inferred::Release);
        assert!(t.held().is_empty());
        // Storing 0 to a word the thread does not hold releases nothing.
        assert_eq!(t.atomic(Store, 4, 0x10, 0, 0, 0), Inferred::None);
    }

    #[test]
    fn contention_requests_once_then_acquires() {
        let mut t = LockInference::default();
        assert_eq!(t.atomic(Cmpxchg, 4, 0x20, 1, 1, 0), Inferred::Request);
        assert_eq!(t.atomic(Cmpxchg, 4, 0x20, 2, 1, 0), Inferred::None);
        // Futex slow path: swap(CONTENDED) returning UNLOCKED acquires.
        assert_eq!(t.atomic(Xchg, 4, 0x20, 0, 2, 0), Inferred::Acquire);
        // swap(UNLOCKED) by the holder releases.
        assert_eq!(t.atomic(Xchg, 4, 0x20, 2, 0, 0), Inferred::Release);
        // Next contention episode requests again.
        assert_eq!(t.atomic(Cmpxchg, 4, 0x20, 1, 1, 0), Inferred::Request);
    }

    #[test]
    fn other_atomics_infer_nothing() {
        let mut t = LockInference::default();
        // cmpxchg not from 0, or to 0; rmw adds; loads; sub-word sizes.
        assert_eq!(t.atomic(Cmpxchg, 4, 0x30, 5, 6, 5), Inferred::None);
        assert_eq!(t.atomic(Cmpxchg, 4, 0x30, 0, 0, 0), Inferred::None);
        assert_eq!(t.atomic(Add, 4, 0x30, 0, 1, 0), Inferred::None);
        assert_eq!(t.atomic(Load, 4, 0x30, 0, 0, 0), Inferred::None);
        assert_eq!(t.atomic(Cmpxchg, 1, 0x30, 0, 1, 0), Inferred::None);
        assert_eq!(t.atomic(Xchg, 4, 0x30, 3, 1, 0), Inferred::None);
        assert!(t.held().is_empty());
        // 8-byte words count.
        assert_eq!(t.atomic(Cmpxchg, 8, 0x38, 0, 1, 0), Inferred::Acquire);
        // Two locks held at once, released in any order.
        assert_eq!(t.atomic(Cmpxchg, 4, 0x40, 0, 1, 0), Inferred::Acquire);
        assert_eq!(t.atomic(Store, 8, 0x38, 0, 0, 0), Inferred::Release);
        assert_eq!(t.held(), &[0x40]);
    }
}
