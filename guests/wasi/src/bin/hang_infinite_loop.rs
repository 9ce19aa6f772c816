//! Livelock: a worker spins forever on a flag nobody sets while the main thread
//! joins it; only `--timeout` stops it.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

static STOP: AtomicBool = AtomicBool::new(false);
static SPINS: AtomicU64 = AtomicU64::new(0);

#[inline(never)] // SPINS: the spinning function, from here to the loop's end
fn spin_until_stopped() {
    while !STOP.load(Ordering::Relaxed) {
        SPINS.fetch_add(1, Ordering::Relaxed);
    } // SPINS
}

fn main() {
    let worker = thread::spawn(spin_until_stopped);
    worker.join().unwrap();
    println!("unreachable: {}", SPINS.load(Ordering::Relaxed));
}
