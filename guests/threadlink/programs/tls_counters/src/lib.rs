//! Checks that thread-locals are per thread: each of THREADS threads bumps its own
//! `thread_local!` counter (initialized to INIT from the TLS template) `i + 1` at a time,
//! ROUNDS times, and returns it; the main thread does the same with step 1000.
//! `run` returns the sum, which is only right if every thread had a fresh, initialized
//! TLS block: sum = (INIT + 1000·ROUNDS) + Σ_i (INIT + (i+1)·ROUNDS).

use std::cell::Cell;
use std::hint::black_box;

const THREADS: u64 = 4;
const ROUNDS: u64 = 10_000;
const INIT: u64 = 7;

thread_local!(static COUNTER: Cell<u64> = const { Cell::new(INIT) });

fn bump(step: u64) -> u64 {
    for _ in 0..ROUNDS {
        COUNTER.with(|c| c.set(black_box(c.get()) + step));
    }
    COUNTER.with(Cell::get)
}

#[no_mangle]
pub extern "C" fn run() -> i64 {
    let handles: Vec<_> = (0..THREADS)
        .map(|i| wasm_threadlink::spawn(move || bump(i + 1)).expect("spawn"))
        .collect();
    let mut sum = bump(1000);
    for handle in handles {
        sum += handle.join().expect("join");
    }
    sum as i64
}
