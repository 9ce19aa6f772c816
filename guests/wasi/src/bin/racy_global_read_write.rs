//! Racy: one thread reads a `static mut` while another writes it, unordered.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

static mut SLOT: u32 = 7;
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
        // SAFETY: deliberately racy read of plain data.
        unsafe { read_volatile(addr_of_mut!(SLOT)) } // RACE: rw
    });
    rendezvous(2);
    // SAFETY: deliberately racy write of plain data.
    unsafe { write_volatile(addr_of_mut!(SLOT), 8) }; // RACE: rw
    let seen = reader.join().unwrap();
    println!("reader saw 7 or 8: {}", seen == 7 || seen == 8);
}
