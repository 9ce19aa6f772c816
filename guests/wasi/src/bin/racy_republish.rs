//! Racy: data is published correctly (write, then Release store of a flag; the reader
//! Acquire-loads it), but the writer then writes the data again without any handoff.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

static mut DATA: u64 = 0;
static READY: AtomicBool = AtomicBool::new(false);

fn main() {
    let reader = thread::spawn(|| {
        while !READY.load(Ordering::Acquire) {
            thread::yield_now();
        }
        // SAFETY: plain data; ordered after the first write, not after the second.
        unsafe { read_volatile(addr_of_mut!(DATA)) } // RACE: republish
    });
    // SAFETY: plain data; the reader only looks after READY.
    unsafe { write_volatile(addr_of_mut!(DATA), 1) };
    READY.store(true, Ordering::Release);
    // SAFETY: plain data; this second write is not published (the bug).
    unsafe { write_volatile(addr_of_mut!(DATA), 2) }; // RACE: republish
    let seen = reader.join().unwrap();
    println!("reader saw 1 or 2: {}", seen == 1 || seen == 2);
}
