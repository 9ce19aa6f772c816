//! Race-free: a bounded buffer in plain memory, guarded by a wasi-libc
//! `pthread_mutex_t`, with two `pthread_cond_t`s (not empty, not full) that two
//! producers and two consumers wait on and signal, as C programs do. musl's condition
//! variable (which wasi-libc ships) keeps its waiters in a list of nodes on the
//! waiters' own stacks, linked and unlinked with plain accesses under an internal lock,
//! and hands waiters over to the mutex: none of that, and none of the buffer's plain
//! accesses, is a race.
use std::cell::UnsafeCell;
use std::thread;

/// wasi-libc's `pthread_mutex_t` (6 ints); all zeros is `PTHREAD_MUTEX_INITIALIZER`.
#[repr(C)]
struct PthreadMutex([u32; 6]);

/// wasi-libc's `pthread_cond_t` (12 ints); all zeros is `PTHREAD_COND_INITIALIZER`.
#[repr(C)]
struct PthreadCond([u32; 12]);

extern "C" {
    fn pthread_mutex_lock(m: *mut PthreadMutex) -> i32;
    fn pthread_mutex_unlock(m: *mut PthreadMutex) -> i32;
    fn pthread_cond_wait(c: *mut PthreadCond, m: *mut PthreadMutex) -> i32;
    fn pthread_cond_signal(c: *mut PthreadCond) -> i32;
    fn pthread_cond_broadcast(c: *mut PthreadCond) -> i32;
}

const SLOTS: usize = 4;
const PER_PRODUCER: u64 = 200;
const PRODUCERS: u64 = 2;

/// The buffer; every field is read and written only with `mutex` held.
struct Buffer {
    items: [u64; SLOTS],
    head: usize,
    len: usize,
    producers_left: u64,
}

/// The buffer, its mutex and its two condition variables, shared by reference.
struct Shared {
    mutex: UnsafeCell<PthreadMutex>,
    not_empty: UnsafeCell<PthreadCond>,
    not_full: UnsafeCell<PthreadCond>,
    buffer: UnsafeCell<Buffer>,
}
// SAFETY: `buffer` is only touched with `mutex` held; the pthread objects are made to
// be used from any thread.
unsafe impl Sync for Shared {}

static SHARED: Shared = Shared {
    mutex: UnsafeCell::new(PthreadMutex([0; 6])),
    not_empty: UnsafeCell::new(PthreadCond([0; 12])),
    not_full: UnsafeCell::new(PthreadCond([0; 12])),
    buffer: UnsafeCell::new(Buffer {
        items: [0; SLOTS],
        head: 0,
        len: 0,
        producers_left: PRODUCERS,
    }),
};

/// Runs `f` on the buffer with the mutex held; `f` may wait on a condition variable.
fn locked<R>(f: impl FnOnce(&mut Buffer) -> R) -> R {
    // SAFETY: the mutex is static and unlocked by the thread that locked it; the
    // buffer is only reached while it is held.
    unsafe {
        assert_eq!(pthread_mutex_lock(SHARED.mutex.get()), 0);
        let r = f(&mut *SHARED.buffer.get());
        assert_eq!(pthread_mutex_unlock(SHARED.mutex.get()), 0);
        r
    }
}

/// Waits on `cond` with the mutex held (as `locked`'s closure).
fn wait(cond: &UnsafeCell<PthreadCond>) {
    // SAFETY: called with the mutex held, which `pthread_cond_wait` requires.
    unsafe { assert_eq!(pthread_cond_wait(cond.get(), SHARED.mutex.get()), 0) };
}

fn produce(first: u64) {
    for v in first..first + PER_PRODUCER {
        locked(|b| {
            while b.len == SLOTS {
                wait(&SHARED.not_full);
            }
            b.items[(b.head + b.len) % SLOTS] = v;
            b.len += 1;
            // SAFETY: a static condition variable.
            unsafe { pthread_cond_signal(SHARED.not_empty.get()) };
        });
    }
    locked(|b| {
        b.producers_left -= 1;
        // SAFETY: a static condition variable.
        unsafe { pthread_cond_broadcast(SHARED.not_empty.get()) };
    });
}

/// Takes items until the producers are done and the buffer is empty; their sum.
fn consume() -> u64 {
    let mut sum = 0;
    loop {
        let item = locked(|b| {
            while b.len == 0 && b.producers_left > 0 {
                wait(&SHARED.not_empty);
            }
            if b.len == 0 {
                return None;
            }
            let v = b.items[b.head];
            b.head = (b.head + 1) % SLOTS;
            b.len -= 1;
            // SAFETY: a static condition variable.
            unsafe { pthread_cond_signal(SHARED.not_full.get()) };
            Some(v)
        });
        match item {
            Some(v) => sum += v,
            None => return sum,
        }
    }
}

fn main() {
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| thread::spawn(move || produce(p * 1000)))
        .collect();
    let consumers: Vec<_> = (0..2).map(|_| thread::spawn(consume)).collect();
    for p in producers {
        p.join().unwrap();
    }
    let total: u64 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    let expected: u64 = (0..PRODUCERS)
        .flat_map(|p| p * 1000..p * 1000 + PER_PRODUCER)
        .sum();
    assert_eq!(total, expected);
    println!("consumed {total}");
}
