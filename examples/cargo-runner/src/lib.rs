//! A tiny library with one correctly synchronized and one racy counter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counts with a mutex: correct.
pub fn locked_count(threads: usize, per_thread: u64) -> u64 {
    let total = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let total = total.clone();
            std::thread::spawn(move || (0..per_thread).for_each(|_| *total.lock().unwrap() += 1))
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let n = *total.lock().unwrap();
    n
}

/// Counts with atomics: correct.
pub fn atomic_count(threads: usize, per_thread: u64) -> u64 {
    let total = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let total = total.clone();
            std::thread::spawn(move || (0..per_thread).for_each(|_| {
                total.fetch_add(1, Ordering::Relaxed);
            }))
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    total.load(Ordering::Relaxed)
}

struct Shared(*mut u64);
// SAFETY: deliberately unsound, to demonstrate a race the runner catches.
unsafe impl Send for Shared {}

/// Counts through a raw pointer with no synchronization: racy.
pub fn racy_count(threads: usize, per_thread: u64) -> u64 {
    let mut total = 0u64;
    let started = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let shared = Shared(&mut total);
            let started = started.clone();
            std::thread::spawn(move || {
                let shared = shared;
                // Start together, so the increments really interleave.
                started.fetch_add(1, Ordering::SeqCst);
                while started.load(Ordering::SeqCst) < threads as u64 {
                    std::hint::spin_loop();
                }
                for _ in 0..per_thread {
                    // SAFETY: none; this is the race.
                    unsafe { shared.0.write_volatile(shared.0.read_volatile() + 1) };
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    total
}
