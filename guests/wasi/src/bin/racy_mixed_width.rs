//! Racy: an 8-byte write and a 4-byte read of its upper half (overlapping, different
//! widths, through pointer casts).
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

static mut WORD: u64 = 0;
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
    let reader = thread::spawn(|| {
        rendezvous(2);
        // SAFETY: the upper half of WORD (little-endian: bytes 4..8), aligned for u32.
        unsafe { read_volatile(addr_of_mut!(WORD).cast::<u32>().add(1)) } // RACE: mixed
    });
    rendezvous(2);
    // SAFETY: plain aligned u64; racing with the reader is the point.
    unsafe { write_volatile(addr_of_mut!(WORD), 0x0000_0005_0000_0009) }; // RACE: mixed
    let high = reader.join().unwrap();
    println!("upper half is 0 or 5: {}", high == 0 || high == 5);
}
