//! Checks the mutex (built with the `tracing` feature, so the lock hooks are called):
//! THREADS threads each do INCREMENTS non-atomic read-modify-writes of a shared counter
//! under the mutex; `run` returns the final count, THREADS·INCREMENTS if no update was lost.

use std::hint::black_box;
use std::sync::Arc;

use wasm_threadlink::{spawn, Mutex};

const THREADS: u64 = 4;
const INCREMENTS: u64 = 1000;

#[no_mangle]
pub extern "C" fn run() -> i64 {
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let counter = Arc::clone(&counter);
            spawn(move || {
                for _ in 0..INCREMENTS {
                    let mut guard = counter.lock();
                    let value = black_box(*guard);
                    *guard = value + 1;
                }
            })
            .expect("spawn")
        })
        .collect();
    for handle in handles {
        handle.join().expect("join");
    }
    let total = *counter.lock();
    total as i64
}
