//! Race-free: four threads write their own slot, meet at a `Barrier`, then read their
//! neighbour's slot (phase-separated sharing).
use std::cell::UnsafeCell;
use std::ptr::{read_volatile, write_volatile};
use std::sync::{Arc, Barrier};
use std::thread;

const THREADS: usize = 4;

/// Slots written in phase one and read in phase two; the barrier separates the phases.
struct Slots([UnsafeCell<u64>; THREADS]);
// SAFETY: slot i is written only by thread i before the barrier and only read after it.
unsafe impl Sync for Slots {}

fn main() {
    let slots = Arc::new(Slots(std::array::from_fn(|_| UnsafeCell::new(0))));
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let (slots, barrier) = (Arc::clone(&slots), Arc::clone(&barrier));
            thread::spawn(move || {
                // SAFETY: phase one, own slot only.
                unsafe { write_volatile(slots.0[i].get(), (i as u64 + 1) * 10) };
                barrier.wait();
                // SAFETY: phase two, reads only.
                unsafe { read_volatile(slots.0[(i + 1) % THREADS].get()) }
            })
        })
        .collect();
    let seen: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("barrier neighbours {seen:?}");
}
