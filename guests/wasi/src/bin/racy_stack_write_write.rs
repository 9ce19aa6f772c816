//! Racy: a child thread writes a local variable on the main thread's stack (through a
//! pointer) while the main thread writes it too.
use std::ptr::{read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// A pointer into the main thread's stack frame, handed to another thread.
struct StackPtr(*mut u64);
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
    let mut local = 0u64;
    let mine: *mut u64 = std::hint::black_box(&mut local);
    let theirs = StackPtr(mine);
    let child = thread::spawn(move || {
        let theirs = theirs;
        rendezvous(2);
        // SAFETY: `local` lives until after the join; the race is the point.
        unsafe { write_volatile(theirs.0, 3) }; // RACE: stack-ww
    });
    rendezvous(2);
    // SAFETY: as above.
    unsafe { write_volatile(mine, 4) }; // RACE: stack-ww
    child.join().unwrap();
    // SAFETY: joined; only this thread uses `local` now.
    let last = unsafe { read_volatile(mine) };
    println!("local is 3 or 4: {}", last == 3 || last == 4);
}
