//! Racy: two threads write shared data holding a `pthread_rwlock_t` only for reading
//! (`pthread_rwlock_rdlock` where `wrlock` was meant). Readers share the lock, so
//! nothing orders their writes. Both hold the read lock across a barrier, so they are
//! in the section together on every run; the barrier orders only what came before it.
use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::ptr;
use std::thread;

/// wasi-libc's `pthread_rwlock_t` (8 ints); all zeros is `PTHREAD_RWLOCK_INITIALIZER`.
#[repr(C)]
struct PthreadRwlock([u32; 8]);

/// wasi-libc's `pthread_barrier_t` (5 ints), set up by `pthread_barrier_init`.
#[repr(C)]
struct PthreadBarrier([u32; 5]);

extern "C" {
    fn pthread_rwlock_rdlock(l: *mut PthreadRwlock) -> i32;
    fn pthread_rwlock_unlock(l: *mut PthreadRwlock) -> i32;
    fn pthread_barrier_init(b: *mut PthreadBarrier, attr: *const c_void, count: u32) -> i32;
    fn pthread_barrier_wait(b: *mut PthreadBarrier) -> i32;
}

/// A C global shared by address.
struct Global<T>(UnsafeCell<T>);
// SAFETY: the pthread objects are made to be shared; `COUNT`'s unordered writes are
// the bug this guest shows.
unsafe impl<T> Sync for Global<T> {}

static RWLOCK: Global<PthreadRwlock> = Global(UnsafeCell::new(PthreadRwlock([0; 8])));
static BARRIER: Global<PthreadBarrier> = Global(UnsafeCell::new(PthreadBarrier([0; 5])));
static COUNT: Global<u64> = Global(UnsafeCell::new(0));

fn bump() {
    // SAFETY: the lock and barrier are statics set up before the threads start;
    // `COUNT` is written under a lock that does not exclude the other writer (the bug).
    unsafe {
        assert_eq!(pthread_rwlock_rdlock(RWLOCK.0.get()), 0);
        pthread_barrier_wait(BARRIER.0.get());
        ptr::write_volatile(COUNT.0.get(), ptr::read_volatile(COUNT.0.get()) + 1); // RACE: read-locked
        assert_eq!(pthread_rwlock_unlock(RWLOCK.0.get()), 0);
    }
}

fn main() {
    // SAFETY: set up before any thread waits on it.
    unsafe { assert_eq!(pthread_barrier_init(BARRIER.0.get(), ptr::null(), 2), 0) };
    let other = thread::spawn(bump);
    bump();
    other.join().unwrap();
    // SAFETY: joined; no other thread is left.
    let count = unsafe { ptr::read_volatile(COUNT.0.get()) };
    println!("count is 1 or 2: {}", count == 1 || count == 2);
}
