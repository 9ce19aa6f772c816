//! Lock misuse with a hand-written spin lock (cmpxchg 0 → 1 locks, store 0 unlocks):
//! an unlock of a lock nobody holds, a thread exiting with a lock held (that another
//! thread then spins on), and a holder retrying to take its own lock (a
//! self-deadlock, bounded here so the run ends).
//! An inferred lock unlocked by another thread looks exactly like a handshake word
//! (`safe_select_handshake.rs`) and is not reported: `misuse_pthread.rs` has that
//! misuse with a mutex known by name.
use std::hint::spin_loop;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

struct Spin(AtomicU32);

impl Spin {
    const fn new() -> Self {
        Spin(AtomicU32::new(0))
    }

    #[inline(never)]
    fn lock(&self) {
        while self
            .0
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spin_loop();
        }
    }

    #[inline(never)]
    fn try_lock(&self) -> bool {
        self.0
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[inline(never)]
    fn unlock(&self) {
        self.0.store(0, Ordering::Release);
    }
}

static NOT_HELD: Spin = Spin::new();
static EXIT: Spin = Spin::new();
static RECURSIVE: Spin = Spin::new();

fn main() {
    NOT_HELD.lock();
    NOT_HELD.unlock();
    NOT_HELD.unlock(); // LOCK: unlock_not_held

    EXIT.lock();
    EXIT.unlock();
    thread::spawn(|| EXIT.lock()) // LOCK: exit_while_holding
        .join()
        .unwrap();
    // The lock is lost for good: a spin on it would never end (given up after a few
    // rounds here). An inferred lock's exit is reported once another thread blocks
    // on it: the second failed attempt.
    let lost = !(0..3).any(|_| EXIT.try_lock());

    RECURSIVE.lock(); // LOCK: recursive_lock-acquired
                      // A spin on the lock its thread holds, which would never end: given up after a
                      // few rounds. The second failed attempt is the report.
    let again = (0..3).any(|_| RECURSIVE.try_lock()); // LOCK: recursive_lock
    RECURSIVE.unlock();
    println!("second lock taken: {again}, exited lock lost: {lost}");
}
