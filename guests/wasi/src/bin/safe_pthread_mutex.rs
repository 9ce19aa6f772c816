//! Race-free, no lock misuse: a wasi-libc `pthread_mutex_t` locked and unlocked by
//! the main thread and then by a second thread. C and C++ programs and Rust crates
//! that use pthread mutexes directly (parking_lot_core's thread parker on wasi) do
//! exactly this. Regression: wasi-libc's `pthread_mutex_unlock` releases with musl's
//! `a_swap` inlined from `src/internal/atomic.h`; naming the atomic after that
//! innermost frame ignored the unlock, so every pthread mutex looked held forever
//! (threads "exiting while holding" it, lock-order inversions through it).
use std::thread;

use wasi_guests::pthread::{pthread_mutex_lock, pthread_mutex_unlock, Global, PthreadMutex};

/// A pthread mutex shared by reference between threads.
struct Mutex(Global<PthreadMutex>);

impl Mutex {
    fn lock_unlock(&self) {
        // SAFETY: the mutex lives as long as `self` and is unlocked by its locker.
        unsafe {
            assert_eq!(pthread_mutex_lock(self.0.get()), 0);
            assert_eq!(pthread_mutex_unlock(self.0.get()), 0);
        }
    }
}

static MUTEX: Mutex = Mutex(Global::new(PthreadMutex::INIT));

fn main() {
    MUTEX.lock_unlock();
    thread::spawn(|| MUTEX.lock_unlock()).join().unwrap();
    println!("locked and unlocked twice");
}
