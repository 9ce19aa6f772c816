//! Racy: four threads each fill "their" chunk of a table, but the bound is inclusive (an
//! off-by-one), so neighbouring threads both write the element on each boundary.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;

const THREADS: usize = 4;
const CHUNK: usize = 16;
static mut TABLE: [u32; THREADS * CHUNK + 1] = [0; THREADS * CHUNK + 1];
static ARRIVED: AtomicU32 = AtomicU32::new(0);

/// Lets `parties` threads enter the racing part together; its atomics order only what each
/// thread did before arriving, never the accesses after it.
fn rendezvous(parties: u32) {
    ARRIVED.fetch_add(1, Ordering::SeqCst);
    while ARRIVED.load(Ordering::SeqCst) < parties {
        thread::yield_now();
    }
}

/// Writes `value` into elements first..=last of TABLE.
fn fill(first: usize, last: usize, value: u32) {
    let table = addr_of_mut!(TABLE).cast::<u32>();
    for i in first..=last {
        // SAFETY: i <= THREADS * CHUNK, in bounds; the overlap is the bug under test.
        unsafe { write_volatile(table.add(i), value) }; // RACE: boundary
    }
}

fn main() {
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            thread::spawn(move || {
                rendezvous(THREADS as u32);
                fill(t * CHUNK, (t + 1) * CHUNK, t as u32 + 1);
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    // SAFETY: all joined.
    let last = unsafe { read_volatile(addr_of_mut!(TABLE).cast::<u32>().add(THREADS * CHUNK)) };
    println!("last element {last}");
}
