//! Racy: two threads write one heap cell, shared as a raw pointer in a `Send` wrapper.
use std::ptr::{read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// A raw pointer that may cross threads; the program (not the type system) decides who
/// touches the pointee, and here it decides wrongly on purpose.
struct Shared(*mut u64);
// SAFETY: the pointee outlives every thread using it (it is freed after the join).
unsafe impl Send for Shared {}

/// Lets `parties` threads enter the racing part together; its atomics order only what each
/// thread did before arriving, never the accesses after it.
fn rendezvous(parties: u32) {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
    while ARRIVED.load(Ordering::SeqCst) < parties {
        thread::yield_now();
    }
}

fn main() {
    let cell = Box::into_raw(Box::new(0u64));
    let theirs = Shared(cell);
    let child = thread::spawn(move || {
        let theirs = theirs;
        rendezvous(2);
        // SAFETY: the cell is live until after the join; the race is the point.
        unsafe { write_volatile(theirs.0, 11) }; // RACE: heap-ww
    });
    rendezvous(2);
    // SAFETY: as above.
    unsafe { write_volatile(cell, 22) }; // RACE: heap-ww
    child.join().unwrap();
    // SAFETY: joined; this is the only owner left.
    let last = unsafe { read_volatile(cell) };
    // SAFETY: `cell` came from Box::into_raw and is freed once.
    drop(unsafe { Box::from_raw(cell) });
    println!("heap cell is 11 or 22: {}", last == 11 || last == 22);
}
