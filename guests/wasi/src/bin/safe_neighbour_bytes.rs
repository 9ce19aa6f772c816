//! Race-free: two threads concurrently write neighbouring bytes of one `[u8; 2]` (thread A
//! byte 0, thread B byte 1). Detection is byte-precise, so this is no race.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

static mut PAIR: [u8; 2] = [0; 2];
static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// Lets `parties` threads run on together; its atomics order only what each thread did
/// before arriving.
fn rendezvous(parties: u32) {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
    while ARRIVED.load(Ordering::SeqCst) < parties {
        thread::yield_now();
    }
}

/// Thread `which` writes only byte `which` of PAIR, many times.
fn write_own_byte(which: usize) {
    rendezvous(2);
    let byte = addr_of_mut!(PAIR).cast::<u8>();
    for i in 0..100u8 {
        // SAFETY: in bounds; each thread has its own byte.
        unsafe { write_volatile(byte.add(which), i) };
    }
}

fn main() {
    let a = thread::spawn(|| write_own_byte(0));
    let b = thread::spawn(|| write_own_byte(1));
    a.join().unwrap();
    b.join().unwrap();
    // SAFETY: both joined.
    let pair = unsafe { read_volatile(addr_of_mut!(PAIR)) };
    println!("bytes {pair:?}");
}
