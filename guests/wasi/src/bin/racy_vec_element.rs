//! Racy: a `Vec` in an `UnsafeCell` shared by reference; one thread writes element 3
//! while another reads it.
use std::cell::UnsafeCell;
use std::hint::black_box;
use std::ptr::{read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;

/// A vector every thread may touch without locking: the bug under test.
struct SharedVec(UnsafeCell<Vec<u64>>);
// SAFETY: deliberately unsound for the element accesses below; the Vec itself is never
// resized while shared, so its buffer stays valid.
unsafe impl Sync for SharedVec {}
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
    let shared = Arc::new(SharedVec(UnsafeCell::new(vec![1; 16])));
    let theirs = Arc::clone(&shared);
    let index = black_box(3usize);
    let reader = thread::spawn(move || {
        rendezvous(2);
        // SAFETY: index < len; the buffer is live; only the element is raced on.
        let element = unsafe { (*theirs.0.get()).as_ptr().add(index) };
        // SAFETY: as above.
        unsafe { read_volatile(element) } // RACE: vec
    });
    rendezvous(2);
    // SAFETY: as above.
    let element = unsafe { (*shared.0.get()).as_mut_ptr().add(index) };
    // SAFETY: as above.
    unsafe { write_volatile(element, 2) }; // RACE: vec
    let seen = reader.join().unwrap();
    println!("reader saw 1 or 2: {}", seen == 1 || seen == 2);
}
