//! Racy: two threads write shared data holding a `pthread_rwlock_t` only for reading
//! (`pthread_rwlock_rdlock` where `wrlock` was meant). Readers share the lock, so
//! nothing orders their writes. Both hold the read lock across a barrier, so they are
//! in the section together on every run; the barrier orders only what came before it.
use std::ptr;
use std::thread;

use wasi_guests::pthread::{
    pthread_barrier_init, pthread_barrier_wait, pthread_rwlock_rdlock, pthread_rwlock_unlock,
    Global, PthreadBarrier, PthreadRwlock,
};

static RWLOCK: Global<PthreadRwlock> = Global::new(PthreadRwlock::INIT);
static BARRIER: Global<PthreadBarrier> = Global::new(PthreadBarrier([0; 5]));
/// Written under `RWLOCK` taken for reading only: the bug.
static COUNT: Global<u64> = Global::new(0);

fn bump() {
    // SAFETY: the lock and barrier are statics set up before the threads start;
    // `COUNT` is written under a lock that does not exclude the other writer (the bug).
    unsafe {
        assert_eq!(pthread_rwlock_rdlock(RWLOCK.get()), 0);
        pthread_barrier_wait(BARRIER.get());
        ptr::write_volatile(COUNT.get(), ptr::read_volatile(COUNT.get()) + 1); // RACE: read-locked
        assert_eq!(pthread_rwlock_unlock(RWLOCK.get()), 0);
    }
}

fn main() {
    // SAFETY: set up before any thread waits on it.
    unsafe { assert_eq!(pthread_barrier_init(BARRIER.get(), ptr::null(), 2), 0) };
    let other = thread::spawn(bump);
    bump();
    other.join().unwrap();
    // SAFETY: joined; no other thread is left.
    let count = unsafe { ptr::read_volatile(COUNT.get()) };
    println!("count is 1 or 2: {}", count == 1 || count == 2);
}
