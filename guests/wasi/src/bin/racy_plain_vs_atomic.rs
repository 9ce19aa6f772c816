//! Racy: a plain (non-atomic) write and an atomic read of the same word. Atomics only
//! synchronize with atomics: the plain side makes it a data race.
use std::ptr::write_volatile;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

static WORD: AtomicU32 = AtomicU32::new(0);
static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// Lets `parties` threads enter the racing part together; its atomics order only what each
/// thread did before arriving, never the accesses after it.
fn rendezvous(parties: u32) {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
    while ARRIVED.load(Ordering::SeqCst) < parties {
        thread::yield_now();
    }
}

fn main() {
    let reader = thread::spawn(|| {
        rendezvous(2);
        WORD.load(Ordering::SeqCst) // RACE: plain-atomic
    });
    rendezvous(2);
    // SAFETY: WORD's storage is a valid aligned u32; bypassing the atomic API is the bug.
    unsafe { write_volatile(WORD.as_ptr(), 9) }; // RACE: plain-atomic
    let seen = reader.join().unwrap();
    println!("reader saw 0 or 9: {}", seen == 0 || seen == 9);
}
