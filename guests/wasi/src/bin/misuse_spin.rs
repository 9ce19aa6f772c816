//! Lock misuse with a hand-written spin lock (cmpxchg 0 → 1 locks, store 0 unlocks):
//! an unlock of a lock nobody holds, an unlock of a lock another thread holds, a thread
//! exiting with a lock held, and a recursive (try-)lock of a held lock.
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
static OTHER: Spin = Spin::new();
static EXIT: Spin = Spin::new();
static RECURSIVE: Spin = Spin::new();

fn main() {
    NOT_HELD.lock();
    NOT_HELD.unlock();
    NOT_HELD.unlock(); // LOCK: unlock_not_held

    OTHER.lock();
    OTHER.unlock();
    OTHER.lock(); // LOCK: unlock_by_other_thread-acquired
    thread::spawn(|| OTHER.unlock()) // LOCK: unlock_by_other_thread
        .join()
        .unwrap();

    EXIT.lock();
    EXIT.unlock();
    thread::spawn(|| EXIT.lock()) // LOCK: exit_while_holding
        .join()
        .unwrap();

    RECURSIVE.lock(); // LOCK: recursive_lock-acquired
    let again = RECURSIVE.try_lock(); // LOCK: recursive_lock
    RECURSIVE.unlock();
    println!("second lock taken: {again}");
}
