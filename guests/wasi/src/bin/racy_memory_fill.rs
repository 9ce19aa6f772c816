//! Racy: a child thread fills (`memory.fill`) a 4 KiB buffer while the main thread writes
//! one word near its end.
use std::ptr::{addr_of_mut, read_volatile, write_bytes, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

const LEN: usize = 4096;
static mut BUF: [u8; LEN] = [0; LEN];
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
    let filler = thread::spawn(|| {
        rendezvous(2);
        // SAFETY: fills exactly the LEN bytes of BUF; racing with main is the point.
        unsafe { write_bytes(addr_of_mut!(BUF).cast::<u8>(), 0xab, LEN) }; // RACE: fill
    });
    rendezvous(2);
    // SAFETY: in-bounds, aligned u32 inside BUF.
    unsafe { write_volatile(addr_of_mut!(BUF).cast::<u8>().add(4000).cast::<u32>(), 1) }; // RACE: fill
    filler.join().unwrap();
    // SAFETY: joined; no other thread is left.
    let byte = unsafe { read_volatile(addr_of_mut!(BUF).cast::<u8>().add(10)) };
    println!("filled {}", byte == 0xab);
}
