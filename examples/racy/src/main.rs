//! Two threads bump a global counter without synchronization: a data race.
//! `wasmgrind check` reports it with both accesses at their source lines.

use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

static mut COUNTER: u32 = 0;
static STARTED: AtomicU32 = AtomicU32::new(0);

fn bump() {
    // SAFETY: none — this is the bug wasmgrind finds. Both threads read and write
    // COUNTER with nothing ordering their accesses.
    unsafe {
        let value = read_volatile(addr_of_mut!(COUNTER));
        write_volatile(addr_of_mut!(COUNTER), value + 1);
    }
}

fn main() {
    let workers: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(|| {
                // Start together, so the bumps really interleave.
                STARTED.fetch_add(1, Ordering::SeqCst);
                while STARTED.load(Ordering::SeqCst) < 2 {
                    std::hint::spin_loop();
                }
                for _ in 0..1000 {
                    bump();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    // SAFETY: both workers were joined; nothing else touches COUNTER now.
    println!("counter = {} (2000 without the race)", unsafe { read_volatile(addr_of_mut!(COUNTER)) });
}
