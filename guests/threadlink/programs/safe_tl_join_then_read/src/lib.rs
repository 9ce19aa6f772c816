//! Race-free (threadlink): a thread fills a static array and a heap buffer; the main thread
//! reads both only after `thread_join`. `run` returns Σ 2i + Σ i for i < 16 = 360.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};

use wasm_threadlink::spawn;

static mut TABLE: [i64; 16] = [0; 16];

#[no_mangle]
pub extern "C" fn run() -> i64 {
    let heap = Box::into_raw(Box::new([0i64; 16])) as usize;
    let child = spawn(move || {
        let heap = heap as *mut i64;
        for i in 0..16 {
            // SAFETY: main touches TABLE and the buffer only after the join.
            unsafe {
                write_volatile(addr_of_mut!(TABLE).cast::<i64>().add(i), 2 * i as i64);
                write_volatile(heap.add(i), i as i64);
            }
        }
    })
    .expect("spawn");
    child.join().expect("join");
    let heap = heap as *mut i64;
    // SAFETY: the join orders the child's writes before these reads.
    let sum: i64 = (0..16)
        .map(|i| unsafe {
            read_volatile(addr_of_mut!(TABLE).cast::<i64>().add(i)) + read_volatile(heap.add(i))
        })
        .sum();
    // SAFETY: from Box::into_raw of a [i64; 16], freed once.
    drop(unsafe { Box::from_raw(heap.cast::<[i64; 16]>()) });
    sum
}
