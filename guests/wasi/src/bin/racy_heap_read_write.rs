//! Racy: a heap `UnsafeCell` shared through an `Arc` of a wrongly-`Sync` wrapper; one
//! thread reads while the other writes.
use std::cell::UnsafeCell;
use std::ptr::{read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;

static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// Claims to be shareable but does not synchronize: the bug under test.
struct Unsync(UnsafeCell<u32>);
// SAFETY: deliberately false for the accesses below; memory safety still holds because a
// u32 has no invalid bit patterns and the cell outlives both threads.
unsafe impl Sync for Unsync {}

/// Lets `parties` threads enter the racing part together; its atomics order only what each
/// thread did before arriving, never the accesses after it.
fn rendezvous(parties: u32) {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
    while ARRIVED.load(Ordering::SeqCst) < parties {
        thread::yield_now();
    }
}

fn main() {
    let shared = Arc::new(Unsync(UnsafeCell::new(5)));
    let theirs = Arc::clone(&shared);
    let reader = thread::spawn(move || {
        rendezvous(2);
        // SAFETY: racy read of a plain u32 (see `Unsync`).
        unsafe { read_volatile(theirs.0.get()) } // RACE: heap-rw
    });
    rendezvous(2);
    // SAFETY: racy write of a plain u32 (see `Unsync`).
    unsafe { write_volatile(shared.0.get(), 6) }; // RACE: heap-rw
    let seen = reader.join().unwrap();
    println!("reader saw 5 or 6: {}", seen == 5 || seen == 6);
}
