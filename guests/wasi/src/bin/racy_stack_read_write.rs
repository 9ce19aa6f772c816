//! Racy: a child thread reads a local on the main thread's stack (through a pointer)
//! while the main thread overwrites it.
use std::ptr::{read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// A pointer into the main thread's stack frame, handed to another thread.
struct StackPtr(*const u32);
// SAFETY: main joins the child before the frame holding the pointee returns.
unsafe impl Send for StackPtr {}

/// Lets `parties` threads enter the racing part together; its atomics order only what each
/// thread did before arriving, never the accesses after it.
fn rendezvous(parties: u32) {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
    while ARRIVED.load(Ordering::SeqCst) < parties {
        thread::yield_now();
    }
}

fn main() {
    let mut local = 100u32;
    let mine: *mut u32 = std::hint::black_box(&mut local);
    let theirs = StackPtr(mine);
    let reader = thread::spawn(move || {
        let theirs = theirs;
        rendezvous(2);
        // SAFETY: `local` lives until after the join; the race is the point.
        unsafe { read_volatile(theirs.0) } // RACE: stack-rw
    });
    rendezvous(2);
    // SAFETY: as above.
    unsafe { write_volatile(mine, 200) }; // RACE: stack-rw
    let seen = reader.join().unwrap();
    println!("reader saw 100 or 200: {}", seen == 100 || seen == 200);
}
