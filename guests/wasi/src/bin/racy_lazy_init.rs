//! Racy: lazy initialization with a plain check-then-set flag (no atomics, no Once): two
//! threads may both see "uninitialized", and the flag itself is raced on.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

static mut READY: u32 = 0;
static mut VALUE: u64 = 0;
static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// Lets `parties` threads enter the racing part together; its atomics order only what each
/// thread did before arriving, never the accesses after it.
fn rendezvous(parties: u32) {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
    while ARRIVED.load(Ordering::SeqCst) < parties {
        thread::yield_now();
    }
}

/// Returns VALUE, computing it first if READY says nobody did yet.
fn get() -> u64 {
    // SAFETY: plain statics; the unsynchronized check-then-set is the bug under test.
    unsafe {
        let ready = read_volatile(addr_of_mut!(READY)); // RACE: init-flag
        if ready == 0 {
            write_volatile(addr_of_mut!(VALUE), 42);
            write_volatile(addr_of_mut!(READY), 1); // RACE: init-flag
        }
        read_volatile(addr_of_mut!(VALUE))
    }
}

fn main() {
    let handles: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(|| {
                rendezvous(2);
                get()
            })
        })
        .collect();
    let values: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!(
        "values are 0 or 42: {}",
        values.iter().all(|v| *v == 0 || *v == 42)
    );
}
