//! Racy: two threads write a `static mut` with no synchronization between the writes.
use std::ptr::{addr_of_mut, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

static mut SLOT: u64 = 0;
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
    let child = thread::spawn(|| {
        rendezvous(2);
        // SAFETY: deliberately racy write; the value is plain data, any interleaving is valid.
        unsafe { write_volatile(addr_of_mut!(SLOT), 1) }; // RACE: ww
    });
    rendezvous(2);
    // SAFETY: as above.
    unsafe { write_volatile(addr_of_mut!(SLOT), 2) }; // RACE: ww
    child.join().unwrap();
    // SAFETY: the child has been joined, nothing else touches SLOT.
    println!("slot {}", unsafe {
        std::ptr::read_volatile(addr_of_mut!(SLOT))
    });
}
