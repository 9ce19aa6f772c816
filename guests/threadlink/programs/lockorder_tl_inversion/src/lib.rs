//! Lock-order inversion with the tracing mutex: thread A nests M1 → M2, thread B, once A
//! has started and after a long computation (no synchronization), nests M2 → M1. `run` returns the sum of the
//! counters (4). Should the schedule really interleave, it deadlocks and wasmgrind stops
//! it; the inversion is reported either way.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use wasm_threadlink::{spawn, Mutex};

/// Busy work standing in for a sleep, which wasm32-unknown-unknown lacks.
#[inline(never)]
fn spin(rounds: u64) -> u64 {
    let mut x = 1u64;
    for i in 0..rounds {
        x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    x
}

/// Set by A before its nested section: B waits for it, so A has surely started; it
/// orders only what A did before the section, not the section itself.
static A_STARTED: AtomicBool = AtomicBool::new(false);

#[no_mangle]
pub extern "C" fn run() -> i64 {
    let locks = Arc::new((Mutex::new(0u64), Mutex::new(0u64)));
    let for_a = Arc::clone(&locks);
    let a = spawn(move || {
        A_STARTED.store(true, Ordering::SeqCst);
        let mut g1 = for_a.0.lock(); // LOCK: a-held
        let mut g2 = for_a.1.lock(); // LOCK: a-acquired
        *g1 += 1;
        *g2 += 1;
    })
    .expect("spawn");
    let for_b = Arc::clone(&locks);
    let b = spawn(move || {
        while !A_STARTED.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
        black_box(spin(20_000_000));
        let mut g2 = for_b.1.lock(); // LOCK: b-held
        let mut g1 = for_b.0.lock(); // LOCK: b-acquired
        *g1 += 1;
        *g2 += 1;
    })
    .expect("spawn");
    a.join().expect("join");
    b.join().expect("join");
    let total = *locks.0.lock() + *locks.1.lock();
    total as i64
}
