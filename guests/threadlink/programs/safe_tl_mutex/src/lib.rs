//! Race-free (threadlink): plain data outside the mutex, touched only between `lock()` and
//! the guard's drop of the tracing Mutex, from three threads; `run` returns the total,
//! THREADS·ROUNDS·3.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};

use wasm_threadlink::{spawn, Mutex};

const THREADS: i64 = 3;
const ROUNDS: i64 = 200;
static LOCK: Mutex<()> = Mutex::new(());
static mut TOTAL: i64 = 0;

/// ROUNDS locked additions of 3 to TOTAL.
fn add_locked() {
    for _ in 0..ROUNDS {
        let guard = LOCK.lock();
        // SAFETY: LOCK is held.
        unsafe { write_volatile(addr_of_mut!(TOTAL), read_volatile(addr_of_mut!(TOTAL)) + 3) };
        drop(guard);
    }
}

#[no_mangle]
pub extern "C" fn run() -> i64 {
    let handles: Vec<_> = (0..THREADS - 1)
        .map(|_| spawn(add_locked).expect("spawn"))
        .collect();
    add_locked();
    for handle in handles {
        handle.join().expect("join");
    }
    let guard = LOCK.lock();
    // SAFETY: LOCK is held.
    let total = unsafe { read_volatile(addr_of_mut!(TOTAL)) };
    drop(guard);
    total
}
