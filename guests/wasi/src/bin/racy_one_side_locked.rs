//! Racy: one thread writes shared data while holding a Mutex, the other writes it without
//! taking the lock at all.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::thread;

static LOCK: Mutex<()> = Mutex::new(());
static mut DATA: u64 = 0;
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
    let locked = thread::spawn(|| {
        rendezvous(2);
        let guard = LOCK.lock().unwrap();
        // SAFETY: plain data; the lock is held here but not by the other writer (the bug).
        unsafe { write_volatile(addr_of_mut!(DATA), 1) }; // RACE: one-side
        drop(guard);
    });
    rendezvous(2);
    // SAFETY: plain data, written without the lock on purpose.
    unsafe { write_volatile(addr_of_mut!(DATA), 2) }; // RACE: one-side
    locked.join().unwrap();
    // SAFETY: joined; no other thread is left.
    let last = unsafe { read_volatile(addr_of_mut!(DATA)) };
    println!("data is 1 or 2: {}", last == 1 || last == 2);
}
