//! Race-free: a child writes a static and a heap buffer; the main thread reads both only
//! after joining it.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::thread;

static mut RESULT: u64 = 0;

/// A heap pointer handed to the child; main touches the pointee again only after join.
struct Owned(*mut u64);
// SAFETY: ownership moves to the child and back through the join.
unsafe impl Send for Owned {}

fn main() {
    let buffer = Box::into_raw(Box::new([0u64; 8])).cast::<u64>();
    let theirs = Owned(buffer);
    let child = thread::spawn(move || {
        let theirs = theirs;
        for i in 0..8 {
            // SAFETY: main does not touch the buffer until join.
            unsafe { write_volatile(theirs.0.add(i), i as u64 * 2) };
        }
        // SAFETY: main reads RESULT only after join.
        unsafe { write_volatile(addr_of_mut!(RESULT), 99) };
    });
    child.join().unwrap();
    // SAFETY: the child has finished; join orders its writes before these reads.
    let sum: u64 = (0..8)
        .map(|i| unsafe { read_volatile(buffer.add(i)) })
        .sum();
    // SAFETY: as above.
    let result = unsafe { read_volatile(addr_of_mut!(RESULT)) };
    // SAFETY: from Box::into_raw of a [u64; 8], freed once.
    drop(unsafe { Box::from_raw(buffer.cast::<[u64; 8]>()) });
    println!("joined {result} {sum}");
}
