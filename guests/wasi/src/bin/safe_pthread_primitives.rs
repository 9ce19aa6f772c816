//! Race-free: the rest of what C programs synchronize with, through wasi-libc as a C
//! program calls it: threads made by `pthread_create` and joined by `pthread_join`,
//! sharing plain data under a `pthread_rwlock_t` (writers and readers), a
//! `pthread_spinlock_t`, a semaphore used as a mutex and a recursive
//! `pthread_mutex_t` taken twice (with a `trylock` by its holder), per-thread slots
//! handed over at a `pthread_barrier_t`, and a value set once by `pthread_once`.
use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::ptr;

/// wasi-libc's `pthread_rwlock_t` (8 ints); all zeros is `PTHREAD_RWLOCK_INITIALIZER`.
#[repr(C)]
struct PthreadRwlock([u32; 8]);

/// wasi-libc's `pthread_barrier_t` (5 ints), set up by `pthread_barrier_init`.
#[repr(C)]
struct PthreadBarrier([u32; 5]);

/// wasi-libc's `pthread_mutex_t` (6 ints), here set up by `pthread_mutex_init`.
#[repr(C)]
struct PthreadMutex([u32; 6]);

/// wasi-libc's `pthread_mutexattr_t` (one int).
#[repr(C)]
struct PthreadMutexattr(u32);

/// `PTHREAD_MUTEX_RECURSIVE` in wasi-libc.
const PTHREAD_MUTEX_RECURSIVE: i32 = 1;

/// wasi-libc's `sem_t` (4 ints), set up by `sem_init`.
#[repr(C)]
struct Sem([u32; 4]);

extern "C" {
    fn pthread_create(
        thread: *mut usize,
        attr: *const c_void,
        start: extern "C" fn(*mut c_void) -> *mut c_void,
        arg: *mut c_void,
    ) -> i32;
    fn pthread_join(thread: usize, result: *mut *mut c_void) -> i32;
    fn pthread_rwlock_rdlock(l: *mut PthreadRwlock) -> i32;
    fn pthread_rwlock_wrlock(l: *mut PthreadRwlock) -> i32;
    fn pthread_rwlock_unlock(l: *mut PthreadRwlock) -> i32;
    fn pthread_mutexattr_init(a: *mut PthreadMutexattr) -> i32;
    fn pthread_mutexattr_settype(a: *mut PthreadMutexattr, kind: i32) -> i32;
    fn pthread_mutex_init(m: *mut PthreadMutex, a: *const PthreadMutexattr) -> i32;
    fn pthread_mutex_lock(m: *mut PthreadMutex) -> i32;
    fn pthread_mutex_trylock(m: *mut PthreadMutex) -> i32;
    fn pthread_mutex_unlock(m: *mut PthreadMutex) -> i32;
    fn pthread_spin_lock(s: *mut i32) -> i32;
    fn pthread_spin_unlock(s: *mut i32) -> i32;
    fn sem_init(s: *mut Sem, shared: i32, value: u32) -> i32;
    fn sem_wait(s: *mut Sem) -> i32;
    fn sem_post(s: *mut Sem) -> i32;
    fn pthread_barrier_init(b: *mut PthreadBarrier, attr: *const c_void, count: u32) -> i32;
    fn pthread_barrier_wait(b: *mut PthreadBarrier) -> i32;
    fn pthread_once(once: *mut i32, init: extern "C" fn()) -> i32;
}

const THREADS: usize = 4;
const ROUNDS: u64 = 500;

/// A C global: shared by address, guarded as its comment says.
struct Global<T>(UnsafeCell<T>);
// SAFETY: every global is only touched as the synchronization named on it allows.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    const fn new(value: T) -> Self {
        Global(UnsafeCell::new(value))
    }
    fn get(&self) -> *mut T {
        self.0.get()
    }
}

static RWLOCK: Global<PthreadRwlock> = Global::new(PthreadRwlock([0; 8]));
/// Guarded by `RWLOCK`.
static UNDER_RWLOCK: Global<u64> = Global::new(0);
static SPIN: Global<i32> = Global::new(0);
/// Guarded by `SPIN`.
static UNDER_SPIN: Global<u64> = Global::new(0);
static RECURSIVE: Global<PthreadMutex> = Global::new(PthreadMutex([0; 6]));
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
