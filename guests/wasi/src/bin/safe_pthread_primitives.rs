//! Race-free: the rest of what C programs synchronize with, through wasi-libc as a C
//! program calls it: threads made by `pthread_create` and joined by `pthread_join`,
//! sharing plain data under a `pthread_rwlock_t` (writers and readers), a
//! `pthread_spinlock_t`, a semaphore used as a mutex and a recursive
//! `pthread_mutex_t` taken twice (with a `trylock` by its holder), per-thread slots
//! handed over at a `pthread_barrier_t`, and a value set once by `pthread_once`.
use std::ffi::c_void;
use std::ptr;

use wasi_guests::pthread::{
    pthread_barrier_init, pthread_barrier_wait, pthread_create, pthread_join, pthread_mutex_init,
    pthread_mutex_lock, pthread_mutex_trylock, pthread_mutex_unlock, pthread_mutexattr_init,
    pthread_mutexattr_settype, pthread_once, pthread_rwlock_rdlock, pthread_rwlock_unlock,
    pthread_rwlock_wrlock, pthread_spin_lock, pthread_spin_unlock, sem_init, sem_post, sem_wait,
    Global, PthreadBarrier, PthreadMutex, PthreadMutexattr, PthreadRwlock, Sem,
    PTHREAD_MUTEX_RECURSIVE,
};

const THREADS: usize = 4;
const ROUNDS: u64 = 500;

static RWLOCK: Global<PthreadRwlock> = Global::new(PthreadRwlock::INIT);
/// Guarded by `RWLOCK`.
static UNDER_RWLOCK: Global<u64> = Global::new(0);
static SPIN: Global<i32> = Global::new(0);
/// Guarded by `SPIN`.
static UNDER_SPIN: Global<u64> = Global::new(0);
static RECURSIVE: Global<PthreadMutex> = Global::new(PthreadMutex::INIT);
/// Guarded by `RECURSIVE`.
static UNDER_RECURSIVE: Global<u64> = Global::new(0);
static SEM: Global<Sem> = Global::new(Sem([0; 4]));
/// Guarded by `SEM` (initial count 1).
static UNDER_SEM: Global<u64> = Global::new(0);
static BARRIER: Global<PthreadBarrier> = Global::new(PthreadBarrier([0; 5]));
/// Slot `i` written by thread `i` before the barrier, read by thread `i - 1` after it.
static SLOTS: Global<[u64; THREADS]> = Global::new([0; THREADS]);
static ONCE: Global<i32> = Global::new(0);
/// Written by the `pthread_once` initializer, read by every thread after it.
static ONCE_VALUE: Global<u64> = Global::new(0);

extern "C" fn set_once_value() {
    // SAFETY: `pthread_once` runs this once, before any caller returns.
    unsafe { *ONCE_VALUE.get() = 42 };
}

extern "C" fn worker(arg: *mut c_void) -> *mut c_void {
    let me = arg as usize;
    // SAFETY: each global is touched under the synchronization its comment names; the
    // pthread objects are statics set up before the threads start.
    unsafe {
        assert_eq!(pthread_once(ONCE.get(), set_once_value), 0);
        assert_eq!(*ONCE_VALUE.get(), 42);
        for _ in 0..ROUNDS {
            assert_eq!(pthread_rwlock_wrlock(RWLOCK.get()), 0);
            *UNDER_RWLOCK.get() += 1;
            assert_eq!(pthread_rwlock_unlock(RWLOCK.get()), 0);
            assert_eq!(pthread_rwlock_rdlock(RWLOCK.get()), 0);
            assert!(*UNDER_RWLOCK.get() > 0);
            assert_eq!(pthread_rwlock_unlock(RWLOCK.get()), 0);
            assert_eq!(pthread_spin_lock(SPIN.get()), 0);
            *UNDER_SPIN.get() += 1;
            assert_eq!(pthread_spin_unlock(SPIN.get()), 0);
            assert_eq!(pthread_mutex_lock(RECURSIVE.get()), 0);
            assert_eq!(pthread_mutex_trylock(RECURSIVE.get()), 0);
            *UNDER_RECURSIVE.get() += 1;
            assert_eq!(pthread_mutex_unlock(RECURSIVE.get()), 0);
            assert_eq!(pthread_mutex_unlock(RECURSIVE.get()), 0);
            assert_eq!(sem_wait(SEM.get()), 0);
            *UNDER_SEM.get() += 1;
            assert_eq!(sem_post(SEM.get()), 0);
        }
        (*SLOTS.get())[me] = me as u64 + 1;
        pthread_barrier_wait(BARRIER.get());
        let neighbour = (*SLOTS.get())[(me + 1) % THREADS];
        assert_eq!(neighbour, ((me + 1) % THREADS) as u64 + 1);
    }
    ptr::null_mut()
}

fn main() {
    // SAFETY: the pthread objects are set up before any thread uses them, and the
    // globals are read after every thread was joined.
    unsafe {
        let mut attr = PthreadMutexattr(0);
        assert_eq!(pthread_mutexattr_init(&mut attr), 0);
        assert_eq!(
            pthread_mutexattr_settype(&mut attr, PTHREAD_MUTEX_RECURSIVE),
            0
        );
        assert_eq!(pthread_mutex_init(RECURSIVE.get(), &attr), 0);
        assert_eq!(sem_init(SEM.get(), 0, 1), 0);
        assert_eq!(
            pthread_barrier_init(BARRIER.get(), ptr::null(), THREADS as u32),
            0
        );
        let mut threads = [0usize; THREADS];
        for (i, t) in threads.iter_mut().enumerate() {
            assert_eq!(pthread_create(t, ptr::null(), worker, i as *mut c_void), 0);
        }
        for t in threads {
            assert_eq!(pthread_join(t, ptr::null_mut()), 0);
        }
        let total = THREADS as u64 * ROUNDS;
        assert_eq!(*UNDER_RWLOCK.get(), total);
        assert_eq!(*UNDER_SPIN.get(), total);
        assert_eq!(*UNDER_RECURSIVE.get(), total);
        assert_eq!(*UNDER_SEM.get(), total);
        println!("{total} rounds under each of rwlock, spin lock, recursive mutex and semaphore");
    }
}
