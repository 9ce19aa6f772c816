//! Racy (threadlink): a thread reads a local of the main thread's (threadify-allocated)
//! stack through a pointer while the main thread overwrites it; `run` returns what the
//! reader saw (5 or 6).
use std::ptr::{read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};

use wasm_threadlink::spawn;

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
    let mut local = 5i64;
    let mine: *mut i64 = std::hint::black_box(&mut local);
    // The address crosses the thread as an integer; main joins before `local` dies.
    let address = mine as usize;
    let reader = spawn(move || {
        rendezvous(2);
        // SAFETY: `local` outlives the join below; the race is the point.
        unsafe { read_volatile(address as *const i64) } // RACE: stack
    })
    .expect("spawn");
    rendezvous(2);
    // SAFETY: as above.
    unsafe { write_volatile(mine, 6) }; // RACE: stack
    reader.join().expect("join")
}
