//! Race-free: the main thread writes plain data and only then spawns the readers; the
//! spawn orders the writes before everything the children do.
use std::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use std::thread;

static mut INPUT: [u64; 16] = [0; 16];

fn main() {
    for i in 0..16 {
        // SAFETY: no other thread exists yet.
        unsafe { write_volatile(addr_of_mut!(INPUT).cast::<u64>().add(i), i as u64) };
    }
    let handles: Vec<_> = (0..3)
        .map(|_| {
            thread::spawn(|| {
                // SAFETY: INPUT is never written after the spawn.
                (0..16)
                    .map(|i| unsafe { read_volatile(addr_of!(INPUT).cast::<u64>().add(i)) })
                    .sum::<u64>()
            })
        })
        .collect();
    let sums: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("spawn-ordered sums {sums:?}");
}
