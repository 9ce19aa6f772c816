//! Which thread holds which lock word, inferred from atomics (DESIGN.md's lock rule):
//! a cmpxchg or xchg that turns a word from 0 into non-zero acquires it; a cmpxchg,
//! xchg or store writing 0 over it releases it, when the writer holds it.
//!
//! Only the owning thread's own release clears an entry, so two threads' hooks
//! arriving out of order (T1 releases, T2 acquires, T2's hook runs first) cannot
//! erase the new owner — which is why `run`, whose atomics are not serialized, can
//! use it as well as `check`.

use rustc_hash::FxHashMap;

use wasmgrind_instrument::AtomicOp;
use wasmgrind_spin::{AddrShards, SpinMutexGuard};

use crate::ThreadId;

/// Number of shards (a power of two); an atomic touches one.
const SHARDS: usize = 64;

/// Lock word address → owning thread, sharded by address (Fx-hashed: every lock and
/// unlock of the program hashes an address here). Each update is one insert or remove,
/// so a shard is a spin lock (one locked instruction per update).
pub(crate) struct LockOwners {
    shards: AddrShards<FxHashMap<u64, ThreadId>>,
}

impl LockOwners {
    pub fn new() -> Self {
        LockOwners {
            shards: AddrShards::new(SHARDS),
        }
    }

    fn shard(&self, addr: u64) -> SpinMutexGuard<'_, FxHashMap<u64, ThreadId>> {
        self.shards.lock(addr)
    }

    /// Applies the lock rule to an atomic of `thread` (arguments as the `atomic_end`
    /// hook passes them).
    pub fn atomic(
        &self,
        thread: ThreadId,
        op: AtomicOp,
        addr: u64,
        result: u64,
        operand: u64,
        expected: u64,
    ) {
        let (acquires, writes_zero) = match op {
            AtomicOp::Cmpxchg => (
                expected == 0 && result == 0 && operand != 0,
                result == expected && expected != 0 && operand == 0,
            ),
            AtomicOp::Xchg => (result == 0 && operand != 0, result != 0 && operand == 0),
            AtomicOp::Store => (false, operand == 0),
            _ => (false, false),
        };
        if acquires {
            self.shard(addr).insert(addr, thread);
        } else if writes_zero {
            let mut shard = self.shard(addr);
            if shard.get(&addr) == Some(&thread) {
                shard.remove(&addr);
            }
        }
    }

    /// The thread holding the word at `addr`, if any.
    pub fn owner(&self, addr: u64) -> Option<ThreadId> {
        self.shard(addr).get(&addr).copied()
    }

    /// Every word `thread` holds, ascending.
    pub fn held_by(&self, thread: ThreadId) -> Vec<u64> {
        let mut held = Vec::new();
        self.shards.for_each(|shard| {
            held.extend(shard.iter().filter(|(_, &t)| t == thread).map(|(&a, _)| a));
        });
        held.sort_unstable();
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmpxchg_acquires_and_xchg_zero_releases() {
        let owners = LockOwners::new();
        owners.atomic(1, AtomicOp::Cmpxchg, 0x100, 0, 1, 0);
        assert_eq!(owners.owner(0x100), Some(1));
        // A failed cmpxchg by another thread changes nothing.
        owners.atomic(2, AtomicOp::Cmpxchg, 0x100, 1, 1, 0);
        assert_eq!(owners.owner(0x100), Some(1));
        // The contended path swaps 1 -> 2: no change of owner.
        owners.atomic(2, AtomicOp::Xchg, 0x100, 1, 2, 0);
        assert_eq!(owners.held_by(1), vec![0x100]);
        owners.atomic(1, AtomicOp::Xchg, 0x100, 2, 0, 0);
        assert_eq!(owners.owner(0x100), None);
        // xchg from 0 acquires (Rust's futex mutex after contention).
        owners.atomic(2, AtomicOp::Xchg, 0x100, 0, 2, 0);
        assert_eq!(owners.owner(0x100), Some(2));
        owners.atomic(2, AtomicOp::Store, 0x100, 0, 0, 0);
        assert_eq!(owners.owner(0x100), None);
    }

    #[test]
    fn only_the_owner_releases() {
        let owners = LockOwners::new();
        // T2 acquired after T1 released, but T1's release hook comes last.
        owners.atomic(2, AtomicOp::Cmpxchg, 0x40, 0, 1, 0);
        owners.atomic(1, AtomicOp::Xchg, 0x40, 1, 0, 0);
        assert_eq!(owners.owner(0x40), Some(2));
        // Other atomics never touch ownership.
        owners.atomic(3, AtomicOp::Add, 0x80, 0, 1, 0);
        assert_eq!(owners.owner(0x80), None);
        owners.atomic(1, AtomicOp::Cmpxchg, 0x10, 0, 1, 0);
        owners.atomic(1, AtomicOp::Cmpxchg, 0x20, 0, 1, 0);
        assert_eq!(owners.held_by(1), vec![0x10, 0x20]);
    }
}
