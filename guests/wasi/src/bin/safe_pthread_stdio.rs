//! Race-free: a C program's threads printing with `printf` to one `stdout` (musl
//! locks the `FILE`, after a plain read of its lock word to see whether it needs
//! to), each keeping a buffer in thread-specific data (`pthread_setspecific`, freed by
//! the key's destructor at thread exit), one of them detached, while the main thread
//! polls a condition variable with `pthread_cond_timedwait` until all have printed.
use std::cell::UnsafeCell;
use std::ffi::{c_char, c_void};
use std::ptr;

/// wasi-libc's `pthread_mutex_t` (6 ints); all zeros is `PTHREAD_MUTEX_INITIALIZER`.
#[repr(C)]
struct PthreadMutex([u32; 6]);

/// wasi-libc's `pthread_cond_t` (12 ints); all zeros is `PTHREAD_COND_INITIALIZER`.
#[repr(C)]
struct PthreadCond([u32; 12]);

/// `struct timespec` on wasm32 (64-bit `time_t`, 32-bit `long` nanoseconds).
#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i32,
}

/// `CLOCK_REALTIME`, the clock `pthread_cond_timedwait` deadlines are on by default.
const CLOCK_REALTIME: u32 = 0;

extern "C" {
    fn pthread_create(
        thread: *mut usize,
        attr: *const c_void,
        start: extern "C" fn(*mut c_void) -> *mut c_void,
        arg: *mut c_void,
    ) -> i32;
    fn pthread_join(thread: usize, result: *mut *mut c_void) -> i32;
    fn pthread_detach(thread: usize) -> i32;
    fn pthread_key_create(key: *mut u32, destructor: extern "C" fn(*mut c_void)) -> i32;
    fn pthread_setspecific(key: u32, value: *const c_void) -> i32;
    fn pthread_getspecific(key: u32) -> *mut c_void;
    fn pthread_mutex_lock(m: *mut PthreadMutex) -> i32;
    fn pthread_mutex_unlock(m: *mut PthreadMutex) -> i32;
    fn pthread_cond_timedwait(
        c: *mut PthreadCond,
        m: *mut PthreadMutex,
        deadline: *const Timespec,
    ) -> i32;
    fn pthread_cond_broadcast(c: *mut PthreadCond) -> i32;
    fn clock_gettime(clock: u32, now: *mut Timespec) -> i32;
    fn printf(format: *const c_char, ...) -> i32;
    fn snprintf(buffer: *mut c_char, size: usize, format: *const c_char, ...) -> i32;
    fn malloc(size: usize) -> *mut c_void;
    fn free(p: *mut c_void);
}

const THREADS: usize = 4;
const LINES: u32 = 20;

/// A C global shared by address.
struct Global<T>(UnsafeCell<T>);
// SAFETY: `PRINTED` is only touched with `MUTEX` held; `KEY` is written before the
// threads start; the pthread objects are made to be shared.
unsafe impl<T> Sync for Global<T> {}

static MUTEX: Global<PthreadMutex> = Global(UnsafeCell::new(PthreadMutex([0; 6])));
static ALL_PRINTED: Global<PthreadCond> = Global(UnsafeCell::new(PthreadCond([0; 12])));
/// Threads done printing; guarded by `MUTEX`.
static PRINTED: Global<usize> = Global(UnsafeCell::new(0));
/// Each thread's line buffer.
static KEY: Global<u32> = Global(UnsafeCell::new(0));

extern "C" fn free_line(line: *mut c_void) {
    // SAFETY: the value `worker` stored, allocated by `malloc`, freed once at exit.
    unsafe { free(line) };
}

extern "C" fn worker(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `KEY` was set before this thread started; the line buffer is this
    // thread's own; `PRINTED` is touched with `MUTEX` held.
    unsafe {
        let line = malloc(64).cast::<c_char>();
        snprintf(line, 64, c"thread %d: line".as_ptr(), arg as usize as i32);
        assert_eq!(pthread_setspecific(*KEY.0.get(), line.cast()), 0);
        for i in 0..LINES {
            let mine = pthread_getspecific(*KEY.0.get()).cast::<c_char>();
            printf(c"%s %u\n".as_ptr(), mine, i);
        }
        assert_eq!(pthread_mutex_lock(MUTEX.0.get()), 0);
        *PRINTED.0.get() += 1;
        pthread_cond_broadcast(ALL_PRINTED.0.get());
        assert_eq!(pthread_mutex_unlock(MUTEX.0.get()), 0);
    }
    ptr::null_mut()
}

fn main() {
    // SAFETY: `KEY` is set before any thread starts; `PRINTED` is read with `MUTEX`
    // held, which `pthread_cond_timedwait` requires.
    unsafe {
        assert_eq!(pthread_key_create(KEY.0.get(), free_line), 0);
        let mut threads = [0usize; THREADS];
        for (i, t) in threads.iter_mut().enumerate() {
            assert_eq!(pthread_create(t, ptr::null(), worker, i as *mut c_void), 0);
        }
        assert_eq!(pthread_detach(threads[0]), 0);
        assert_eq!(pthread_mutex_lock(MUTEX.0.get()), 0);
        while *PRINTED.0.get() < THREADS {
            let mut deadline = Timespec { sec: 0, nsec: 0 };
            assert_eq!(clock_gettime(CLOCK_REALTIME, &mut deadline), 0);
            deadline.sec += 1;
            // 0, or ETIMEDOUT: either way the count is looked at again.
            pthread_cond_timedwait(ALL_PRINTED.0.get(), MUTEX.0.get(), &deadline);
        }
        assert_eq!(pthread_mutex_unlock(MUTEX.0.get()), 0);
        for &t in &threads[1..] {
            assert_eq!(pthread_join(t, ptr::null_mut()), 0);
        }
        // Through C's `stdout` too: Rust's `println!` writes past its buffer.
        printf(
            c"%d threads printed %u lines each\n".as_ptr(),
            THREADS as i32,
            LINES,
        );
    }
}
