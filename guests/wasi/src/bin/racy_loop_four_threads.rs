//! Racy: four threads increment one counter in a loop with plain read-modify-writes;
//! updates get lost.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

const THREADS: u32 = 4;
const ROUNDS: u64 = 200;
static mut COUNTER: u64 = 0;
static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// Lets `parties` threads enter the racing part together; its atomics order only what each
/// thread did before arriving, never the accesses after it.
fn rendezvous(parties: u32) {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
    while ARRIVED.load(Ordering::SeqCst) < parties {
        thread::yield_now();
    }
}

/// ROUNDS unsynchronized increments of COUNTER.
fn bump() {
    let counter = addr_of_mut!(COUNTER);
    for _ in 0..ROUNDS {
        // SAFETY: plain aligned u64; lost updates are the bug under test, not UB in wasm.
        unsafe { write_volatile(counter, read_volatile(counter) + 1) }; // RACE: loop
    }
}

fn main() {
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            thread::spawn(|| {
                rendezvous(THREADS);
                bump();
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    // SAFETY: all joined.
    let total = unsafe { read_volatile(addr_of_mut!(COUNTER)) };
    println!(
        "counter at most {}: {}",
        u64::from(THREADS) * ROUNDS,
        total <= u64::from(THREADS) * ROUNDS
    );
}
