//! Race-free: a C program's threads printing with `printf` to one `stdout` (musl
//! locks the `FILE`, after a plain read of its lock word to see whether it needs
//! to), each keeping a buffer in thread-specific data (`pthread_setspecific`, freed by
//! the key's destructor at thread exit), one of them detached, while the main thread
//! polls a condition variable with `pthread_cond_timedwait` until all have printed.
use std::ffi::{c_char, c_void};
use std::ptr;

use wasi_guests::pthread::{
    clock_gettime, free, malloc, printf, pthread_cond_broadcast, pthread_cond_timedwait,
    pthread_create, pthread_detach, pthread_getspecific, pthread_join, pthread_key_create,
    pthread_mutex_lock, pthread_mutex_unlock, pthread_setspecific, snprintf, Global, PthreadCond,
    PthreadMutex, Timespec, CLOCK_REALTIME,
};

const THREADS: usize = 4;
const LINES: u32 = 20;

static MUTEX: Global<PthreadMutex> = Global::new(PthreadMutex::INIT);
static ALL_PRINTED: Global<PthreadCond> = Global::new(PthreadCond::INIT);
/// Threads done printing; guarded by `MUTEX`.
static PRINTED: Global<usize> = Global::new(0);
/// Each thread's line buffer.
static KEY: Global<u32> = Global::new(0);

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
        assert_eq!(pthread_setspecific(*KEY.get(), line.cast()), 0);
        for i in 0..LINES {
            let mine = pthread_getspecific(*KEY.get()).cast::<c_char>();
            printf(c"%s %u\n".as_ptr(), mine, i);
        }
        assert_eq!(pthread_mutex_lock(MUTEX.get()), 0);
        *PRINTED.get() += 1;
        pthread_cond_broadcast(ALL_PRINTED.get());
        assert_eq!(pthread_mutex_unlock(MUTEX.get()), 0);
    }
    ptr::null_mut()
}

fn main() {
    // SAFETY: `KEY` is set before any thread starts; `PRINTED` is read with `MUTEX`
    // held, which `pthread_cond_timedwait` requires.
    unsafe {
        assert_eq!(pthread_key_create(KEY.get(), free_line), 0);
        let mut threads = [0usize; THREADS];
        for (i, t) in threads.iter_mut().enumerate() {
            assert_eq!(pthread_create(t, ptr::null(), worker, i as *mut c_void), 0);
        }
        assert_eq!(pthread_detach(threads[0]), 0);
        assert_eq!(pthread_mutex_lock(MUTEX.get()), 0);
        while *PRINTED.get() < THREADS {
            let mut deadline = Timespec { sec: 0, nsec: 0 };
            assert_eq!(clock_gettime(CLOCK_REALTIME, &mut deadline), 0);
            deadline.sec += 1;
            // 0, or ETIMEDOUT: either way the count is looked at again.
            pthread_cond_timedwait(ALL_PRINTED.get(), MUTEX.get(), &deadline);
        }
        assert_eq!(pthread_mutex_unlock(MUTEX.get()), 0);
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
