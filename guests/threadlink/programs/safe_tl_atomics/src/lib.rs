//! Race-free (threadlink): shared atomics only (fetch_add counter) plus plain data
//! published with Release/Acquire; `run` returns the counter (THREADS·ROUNDS) plus the
//! published value (1000).
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use wasm_threadlink::spawn;

const THREADS: i64 = 3;
const ROUNDS: i64 = 500;
static COUNTER: AtomicI64 = AtomicI64::new(0);
static READY: AtomicBool = AtomicBool::new(false);
static mut PAYLOAD: i64 = 0;

#[no_mangle]
pub extern "C" fn run() -> i64 {
    let counters: Vec<_> = (0..THREADS)
        .map(|_| {
            spawn(|| {
                for _ in 0..ROUNDS {
                    COUNTER.fetch_add(1, Ordering::Relaxed);
                }
            })
            .expect("spawn")
        })
        .collect();
    let reader = spawn(|| {
        while !READY.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
        // SAFETY: READY was seen, so the payload write happens-before this read.
        unsafe { read_volatile(addr_of_mut!(PAYLOAD)) }
    })
    .expect("spawn");
    // SAFETY: the reader reads PAYLOAD only after READY.
    unsafe { write_volatile(addr_of_mut!(PAYLOAD), 1000) };
    READY.store(true, Ordering::Release);
    for handle in counters {
        handle.join().expect("join");
    }
    COUNTER.load(Ordering::Relaxed) + reader.join().expect("join")
}
