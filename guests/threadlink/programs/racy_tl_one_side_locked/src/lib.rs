//! Racy (threadlink): a thread writes shared data holding the tracing Mutex while the main
//! thread writes it without the lock; `run` returns the final value (1 or 2).
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};

use wasm_threadlink::{spawn, Mutex};

static LOCK: Mutex<()> = Mutex::new(());
static mut DATA: i64 = 0;
static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// Lets `parties` threads enter the racing part together; its atomics order only what each
/// thread did before arriving, never the accesses after it.
fn rendezvous(parties: u32) {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
    while ARRIVED.load(Ordering::SeqCst) < parties {
        std::hint::spin_loop();
    }
}

#[no_mangle]
pub extern "C" fn run() -> i64 {
    let locked = spawn(|| {
        rendezvous(2);
        let guard = LOCK.lock();
        // SAFETY: plain data; only this side holds the lock (the bug).
        unsafe { write_volatile(addr_of_mut!(DATA), 1) }; // RACE: one-side
        drop(guard);
    })
    .expect("spawn");
    rendezvous(2);
    // SAFETY: plain data, written without the lock on purpose.
    unsafe { write_volatile(addr_of_mut!(DATA), 2) }; // RACE: one-side
    locked.join().expect("join");
    // SAFETY: joined.
    unsafe { read_volatile(addr_of_mut!(DATA)) }
}
