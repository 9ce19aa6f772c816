//! wasi-libc's threads API, declared for guests that use it as a C program would.
//!
//! The types have wasi-libc's wasm32 layouts (musl's, with 32-bit `int`, `long` and
//! pointers); all zeros is the static initializer of the mutex, condition variable and
//! rwlock types. Every function is wasi-libc's, linked in by Rust's std on
//! `wasm32-wasip1-threads`.

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_void};

/// `pthread_mutex_t` (6 ints).
#[repr(C)]
pub struct PthreadMutex(pub [u32; 6]);

/// `pthread_mutexattr_t` (one int).
#[repr(C)]
pub struct PthreadMutexattr(pub u32);

/// `pthread_cond_t` (12 ints).
#[repr(C)]
pub struct PthreadCond(pub [u32; 12]);

/// `pthread_rwlock_t` (8 ints).
#[repr(C)]
pub struct PthreadRwlock(pub [u32; 8]);

/// `pthread_barrier_t` (5 ints), set up by `pthread_barrier_init`.
#[repr(C)]
pub struct PthreadBarrier(pub [u32; 5]);

/// `sem_t` (4 ints), set up by `sem_init`.
#[repr(C)]
pub struct Sem(pub [u32; 4]);

/// `struct timespec` (64-bit `time_t`, 32-bit `long` nanoseconds).
#[repr(C)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i32,
}

impl PthreadMutex {
    /// `PTHREAD_MUTEX_INITIALIZER`.
    pub const INIT: PthreadMutex = PthreadMutex([0; 6]);
}

impl PthreadCond {
    /// `PTHREAD_COND_INITIALIZER`.
    pub const INIT: PthreadCond = PthreadCond([0; 12]);
}

impl PthreadRwlock {
    /// `PTHREAD_RWLOCK_INITIALIZER`.
    pub const INIT: PthreadRwlock = PthreadRwlock([0; 8]);
}

/// `PTHREAD_MUTEX_RECURSIVE`.
pub const PTHREAD_MUTEX_RECURSIVE: i32 = 1;

/// `CLOCK_REALTIME`, the clock of `pthread_cond_timedwait`'s deadline by default.
pub const CLOCK_REALTIME: u32 = 0;

/// A thread's start routine.
pub type StartRoutine = extern "C" fn(*mut c_void) -> *mut c_void;

/// A C global: shared between threads by address, guarded as its user says.
pub struct Global<T>(UnsafeCell<T>);

// SAFETY: a guest touches each global only as the synchronization it names allows
// (or, in a racy guest, races on it on purpose); pthread objects are made to be used
// from any thread.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    /// A global holding `value`.
    pub const fn new(value: T) -> Self {
        Global(UnsafeCell::new(value))
    }

    /// Its address, as C code would take it.
    pub fn get(&self) -> *mut T {
        self.0.get()
    }
}

extern "C" {
    pub fn pthread_create(
        thread: *mut usize,
        attr: *const c_void,
        start: StartRoutine,
        arg: *mut c_void,
    ) -> i32;
    pub fn pthread_join(thread: usize, result: *mut *mut c_void) -> i32;
    pub fn pthread_detach(thread: usize) -> i32;
    pub fn pthread_key_create(key: *mut u32, destructor: extern "C" fn(*mut c_void)) -> i32;
    pub fn pthread_setspecific(key: u32, value: *const c_void) -> i32;
    pub fn pthread_getspecific(key: u32) -> *mut c_void;
    pub fn pthread_once(once: *mut i32, init: extern "C" fn()) -> i32;

    pub fn pthread_mutexattr_init(a: *mut PthreadMutexattr) -> i32;
    pub fn pthread_mutexattr_settype(a: *mut PthreadMutexattr, kind: i32) -> i32;
    pub fn pthread_mutex_init(m: *mut PthreadMutex, a: *const PthreadMutexattr) -> i32;
    pub fn pthread_mutex_lock(m: *mut PthreadMutex) -> i32;
    pub fn pthread_mutex_trylock(m: *mut PthreadMutex) -> i32;
    pub fn pthread_mutex_unlock(m: *mut PthreadMutex) -> i32;

    pub fn pthread_cond_wait(c: *mut PthreadCond, m: *mut PthreadMutex) -> i32;
    pub fn pthread_cond_timedwait(
        c: *mut PthreadCond,
        m: *mut PthreadMutex,
        deadline: *const Timespec,
    ) -> i32;
    pub fn pthread_cond_signal(c: *mut PthreadCond) -> i32;
    pub fn pthread_cond_broadcast(c: *mut PthreadCond) -> i32;

    pub fn pthread_rwlock_rdlock(l: *mut PthreadRwlock) -> i32;
    pub fn pthread_rwlock_wrlock(l: *mut PthreadRwlock) -> i32;
    pub fn pthread_rwlock_unlock(l: *mut PthreadRwlock) -> i32;

    pub fn pthread_spin_lock(s: *mut i32) -> i32;
    pub fn pthread_spin_unlock(s: *mut i32) -> i32;

    pub fn pthread_barrier_init(b: *mut PthreadBarrier, attr: *const c_void, count: u32) -> i32;
    pub fn pthread_barrier_wait(b: *mut PthreadBarrier) -> i32;

    pub fn sem_init(s: *mut Sem, shared: i32, value: u32) -> i32;
    pub fn sem_wait(s: *mut Sem) -> i32;
    pub fn sem_post(s: *mut Sem) -> i32;

    pub fn clock_gettime(clock: u32, now: *mut Timespec) -> i32;
    pub fn getenv(name: *const c_char) -> *mut c_char;
    pub fn printf(format: *const c_char, ...) -> i32;
    pub fn snprintf(buffer: *mut c_char, size: usize, format: *const c_char, ...) -> i32;
    pub fn malloc(size: usize) -> *mut c_void;
    pub fn free(p: *mut c_void);
}
