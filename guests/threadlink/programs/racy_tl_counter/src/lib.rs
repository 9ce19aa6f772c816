//! Racy (threadlink): two threads increment a shared counter with plain read-modify-writes
//! and no lock; `run` returns the count, at most 2·ROUNDS (updates get lost).
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};

use wasm_threadlink::spawn;

const ROUNDS: i64 = 300;
static mut COUNTER: i64 = 0;
static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// Lets `parties` threads enter the racing part together; its atomics order only what each
/// thread did before arriving, never the accesses after it.
fn rendezvous(parties: u32) {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
    while ARRIVED.load(Ordering::SeqCst) < parties {
        std::hint::spin_loop();
    }
}

/// ROUNDS unsynchronized increments.
fn bump() {
    let counter = addr_of_mut!(COUNTER);
    for _ in 0..ROUNDS {
        // SAFETY: plain aligned i64; lost updates are the bug under test.
        unsafe { write_volatile(counter, read_volatile(counter) + 1) }; // RACE: counter
    }
}

#[no_mangle]
pub extern "C" fn run() -> i64 {
    let handles: Vec<_> = (0..2)
        .map(|_| {
            spawn(|| {
                rendezvous(2);
                bump();
            })
            .expect("spawn")
        })
        .collect();
    for handle in handles {
        handle.join().expect("join");
    }
    // SAFETY: all joined.
    unsafe { read_volatile(addr_of_mut!(COUNTER)) }
}
