//! No lock misuse: a heap `std::sync::Mutex` is locked, unlocked and freed; the
//! allocator hands the same bytes to a new object whose first word is an ordinary
//! atomic, and 0 is stored into it. Regression: the lock state outlived the memory,
//! and the store was reported as unlocking a lock nobody holds (arc-swap's and
//! parking_lot's test suites, where an `ArcSwap`'s or a `Condvar`'s pointer word took
//! over a freed mutex's address).
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn main() {
    let mutex = Box::new(Mutex::new(0usize));
    *mutex.lock().unwrap() += 1;
    let mutex_addr = &*mutex as *const Mutex<usize> as usize;
    drop(mutex);

    // Same size and alignment as the mutex, so dlmalloc reuses its chunk (printing the
    // addresses below keeps the compiler from eliding either allocation).
    let words = Box::new([
        AtomicUsize::new(0x1234_5678),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ]);
    let words_addr = &*words as *const [AtomicUsize; 3] as usize;
    words[0].store(0, Ordering::SeqCst); // once: "unlock of a lock not held"
    println!(
        "memory reused: {} ({mutex_addr:#x}, {words_addr:#x})",
        mutex_addr == words_addr
    );
}
