//! Race-free: a bounded buffer in plain memory, guarded by a wasi-libc
//! `pthread_mutex_t`, with two `pthread_cond_t`s (not empty, not full) that two
//! producers and two consumers wait on and signal, as C programs do. musl's condition
//! variable (which wasi-libc ships) keeps its waiters in a list of nodes on the
//! waiters' own stacks, linked and unlinked with plain accesses under an internal lock,
//! and hands waiters over to the mutex: none of that, and none of the buffer's plain
//! accesses, is a race.
use std::thread;

use wasi_guests::pthread::{
    pthread_cond_broadcast, pthread_cond_signal, pthread_cond_wait, pthread_mutex_lock,
    pthread_mutex_unlock, Global, PthreadCond, PthreadMutex,
};

const SLOTS: usize = 4;
const PER_PRODUCER: u64 = 200;
const PRODUCERS: u64 = 2;

/// The buffer; every field is read and written only with `MUTEX` held.
struct Buffer {
    items: [u64; SLOTS],
    head: usize,
    len: usize,
    producers_left: u64,
}

static MUTEX: Global<PthreadMutex> = Global::new(PthreadMutex::INIT);
static NOT_EMPTY: Global<PthreadCond> = Global::new(PthreadCond::INIT);
static NOT_FULL: Global<PthreadCond> = Global::new(PthreadCond::INIT);
/// Guarded by `MUTEX`.
static BUFFER: Global<Buffer> = Global::new(Buffer {
    items: [0; SLOTS],
    head: 0,
    len: 0,
    producers_left: PRODUCERS,
});

/// Runs `f` with the mutex held; `f` may wait on a condition variable.
fn locked<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: the mutex is static and unlocked by the thread that locked it.
    unsafe {
        assert_eq!(pthread_mutex_lock(MUTEX.get()), 0);
        let r = f();
        assert_eq!(pthread_mutex_unlock(MUTEX.get()), 0);
        r
    }
}

/// The buffer, for a caller that holds the mutex, borrowed afresh after every wait:
/// a `&mut` held across `pthread_cond_wait` would let the compiler keep the fields in
/// registers while other threads change them (it did: the loop never saw `len` move).
fn buffer() -> &'static mut Buffer {
    // SAFETY: only called with the mutex held, and no two of these borrows are live
    // at once (none across a wait).
    unsafe { &mut *BUFFER.get() }
}

/// Waits on `cond` with the mutex held (as `locked`'s closure).
fn wait(cond: &Global<PthreadCond>) {
    // SAFETY: called with the mutex held, which `pthread_cond_wait` requires.
    unsafe { assert_eq!(pthread_cond_wait(cond.get(), MUTEX.get()), 0) };
}

fn produce(first: u64) {
    for v in first..first + PER_PRODUCER {
        locked(|| {
            while buffer().len == SLOTS {
                wait(&NOT_FULL);
            }
            let b = buffer();
            b.items[(b.head + b.len) % SLOTS] = v;
            b.len += 1;
            // SAFETY: a static condition variable.
            unsafe { pthread_cond_signal(NOT_EMPTY.get()) };
        });
    }
    locked(|| {
        buffer().producers_left -= 1;
        // SAFETY: a static condition variable.
        unsafe { pthread_cond_broadcast(NOT_EMPTY.get()) };
    });
}

/// Takes items until the producers are done and the buffer is empty; their sum.
fn consume() -> u64 {
    let mut sum = 0;
    loop {
        let item = locked(|| {
            while buffer().len == 0 && buffer().producers_left > 0 {
                wait(&NOT_EMPTY);
            }
            let b = buffer();
            if b.len == 0 {
                return None;
            }
            let v = b.items[b.head];
            b.head = (b.head + 1) % SLOTS;
            b.len -= 1;
            // SAFETY: a static condition variable.
            unsafe { pthread_cond_signal(NOT_FULL.get()) };
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
