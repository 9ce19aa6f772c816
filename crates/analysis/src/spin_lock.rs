//! A lock for state that one thread touches on every event and others only rarely (a
//! thread's own clock): unlocking is a plain release store, so an uncontended lock and
//! unlock cost one atomic read-modify-write instead of parking_lot's two. On the hot
//! path of every atomic the program performs, those instructions were most of the
//! time spent in the detector's bookkeeping.
//!
//! Waiters spin briefly on a plain load, then yield their time slice: with more guest
//! threads than cores the holder may be descheduled, and burning a whole slice would
//! only delay it.

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
}

/// A mutex over [`RawSpinLock`].
pub type SpinMutex<T> = lock_api::Mutex<RawSpinLock, T>;

/// Its guard.
pub type SpinMutexGuard<'a, T> = lock_api::MutexGuard<'a, RawSpinLock, T>;

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
