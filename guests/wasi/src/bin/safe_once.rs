//! Race-free: a `static mut` table initialized through `std::sync::Once` by whichever of
//! four threads comes first, then only read.
use std::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use std::sync::Once;
use std::thread;

static INIT: Once = Once::new();
static mut TABLE: [u32; 8] = [0; 8];

/// The table, initialized exactly once (Once orders the init before every return).
fn table_sum() -> u32 {
    INIT.call_once(|| {
        for i in 0..8 {
            // SAFETY: only the one call_once closure writes TABLE.
            unsafe { write_volatile(addr_of_mut!(TABLE).cast::<u32>().add(i), i as u32 * 3) };
        }
    });
    // SAFETY: reads after call_once returned; nobody writes any more.
    (0..8)
        .map(|i| unsafe { read_volatile(addr_of!(TABLE).cast::<u32>().add(i)) })
        .sum()
}

fn main() {
    let handles: Vec<_> = (0..4).map(|_| thread::spawn(table_sum)).collect();
    let sums: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("once sums {sums:?} main {}", table_sum());
}
