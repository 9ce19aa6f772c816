//! Race-free: message passing with Release/Acquire on an `AtomicBool`: plain data written
//! before the Release store is read after the Acquire load that saw it.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

static mut MESSAGE: [u64; 4] = [0; 4];
static READY: AtomicBool = AtomicBool::new(false);

fn main() {
    let reader = thread::spawn(|| {
        while !READY.load(Ordering::Acquire) {
            thread::yield_now();
        }
        // SAFETY: READY was seen true, so the writes to MESSAGE happen-before these reads.
        (0..4)
            .map(|i| unsafe { read_volatile(addr_of_mut!(MESSAGE).cast::<u64>().add(i)) })
            .sum::<u64>()
    });
    for i in 0..4 {
        // SAFETY: the reader only reads after READY is published below.
        unsafe { write_volatile(addr_of_mut!(MESSAGE).cast::<u64>().add(i), i as u64 + 1) };
    }
    READY.store(true, Ordering::Release);
    println!("message sum {}", reader.join().unwrap());
}
