//! Race-free: threads allocate, fill and free heap buffers in a loop, so freed memory is
//! reused by other threads; the allocator's own lock orders each reuse.
use std::thread;

fn main() {
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            thread::spawn(move || {
                let mut total = 0u64;
                for round in 0..50u64 {
                    let buffer: Vec<u64> = (0..64).map(|i| i * t + round).collect();
                    total += std::hint::black_box(&buffer).iter().sum::<u64>();
                }
                total
            })
        })
        .collect();
    let totals: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("heap totals {totals:?}");
}
