//! The spin lock wasmgrind's hot paths share, for state that is held briefly and is
//! rarely contended: a thread's own clock, a shard of synchronization objects or lock
//! owners, a shadow chunk, the per-address stripe that orders atomics. Unlocking is a
//! plain release store, so an uncontended lock and unlock cost one atomic
//! read-modify-write instead of the two of parking_lot or `std::sync::Mutex`; on the
//! path of every atomic the checked program performs, those instructions were most of
//! the time spent in the checker's bookkeeping.
//!
//! Waiters spin briefly on a plain load, then yield their time slice: with more guest
//! threads than cores the holder may be descheduled, and burning a whole slice would
//! only delay it.

mod addr_shards;

pub use addr_shards::{shard_index, AddrShards};
pub use lock_api::RawMutex;

use std::sync::atomic::{AtomicBool, Ordering};

/// The raw lock: `true` while held.
pub struct RawSpinLock(AtomicBool);

/// Spins before a waiter starts yielding.
const SPINS: u32 = 64;

// SAFETY: `lock` returns only after its compare-exchange moved the flag from `false`
// to `true` (Acquire), and only the holder stores `false` (Release) in `unlock`, so
// at most one holder exists at a time and each sees the previous holder's writes.
unsafe impl lock_api::RawMutex for RawSpinLock {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawSpinLock(AtomicBool::new(false));

    type GuardMarker = lock_api::GuardSend;

    #[inline]
    fn lock(&self) {
        let mut spins = 0u32;
        while self
            .0
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // Wait on a plain load: retrying the exchange would keep taking the line
            // away from the holder.
            while self.0.load(Ordering::Relaxed) {
                if spins < SPINS {
                    spins += 1;
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }

    #[inline]
    fn try_lock(&self) -> bool {
        self.0
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[inline]
    unsafe fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A mutex over [`RawSpinLock`].
pub type SpinMutex<T> = lock_api::Mutex<RawSpinLock, T>;

/// Its guard.
pub type SpinMutexGuard<'a, T> = lock_api::MutexGuard<'a, RawSpinLock, T>;

/// The guard of an `Arc<SpinMutex<T>>` locked with `lock_arc`, which keeps the mutex
/// alive while held.
pub type ArcSpinMutexGuard<T> = lock_api::ArcMutexGuard<RawSpinLock, T>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excludes_and_publishes_across_threads() {
        let counter = SpinMutex::new(0u64);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..20_000 {
                        *counter.lock() += 1;
                    }
                });
            }
        });
        assert_eq!(*counter.lock(), 80_000);
    }

    #[test]
    fn try_lock_fails_while_held() {
        let m = SpinMutex::new(());
        let held = m.lock();
        assert!(m.try_lock().is_none());
        drop(held);
        assert!(m.try_lock().is_some());
    }
}
