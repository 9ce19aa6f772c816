//! Racy: two threads each hold *a* lock while writing the same data, but different locks,
//! so nothing orders the writes.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::thread;

static LOCK_A: Mutex<()> = Mutex::new(());
static LOCK_B: Mutex<()> = Mutex::new(());
static mut DATA: u32 = 0;
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
    let other = thread::spawn(|| {
        rendezvous(2);
        let guard = LOCK_B.lock().unwrap();
        // SAFETY: plain data; LOCK_B does not protect it from LOCK_A's holder (the bug).
        unsafe { write_volatile(addr_of_mut!(DATA), 1) }; // RACE: two-locks
        drop(guard);
    });
    rendezvous(2);
    let guard = LOCK_A.lock().unwrap();
    // SAFETY: as above.
    unsafe { write_volatile(addr_of_mut!(DATA), 2) }; // RACE: two-locks
    drop(guard);
    other.join().unwrap();
    // SAFETY: joined; no other thread is left.
    let last = unsafe { read_volatile(addr_of_mut!(DATA)) };
    println!("data is 1 or 2: {}", last == 1 || last == 2);
}
