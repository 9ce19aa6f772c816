//! Lock-order inversion with the tracing mutex: thread A nests M1 → M2 while thread B
//! nests M2 → M1, each taking its second lock only once the other holds its first, so
//! the run deadlocks every time: wasmgrind stops it (exit 123) and reports the
//! inversion with both edges. (A schedule-independent guest: an inversion that only
//! sometimes overlaps would test the scheduler, not wasmgrind.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use wasm_threadlink::{spawn, Mutex};

static A_HOLDS: AtomicBool = AtomicBool::new(false);
static B_HOLDS: AtomicBool = AtomicBool::new(false);

fn wait_for(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        std::hint::spin_loop();
    }
}

#[no_mangle]
pub extern "C" fn run() -> i64 {
    let locks = Arc::new((Mutex::new(0u64), Mutex::new(0u64)));
    let for_a = Arc::clone(&locks);
    let a = spawn(move || {
        let mut g1 = for_a.0.lock(); // LOCK: a-held
        A_HOLDS.store(true, Ordering::SeqCst);
        wait_for(&B_HOLDS);
        let mut g2 = for_a.1.lock(); // LOCK: a-acquired
        *g1 += 1;
        *g2 += 1;
    })
    .expect("spawn");
    let for_b = Arc::clone(&locks);
    let b = spawn(move || {
        let mut g2 = for_b.1.lock(); // LOCK: b-held
        B_HOLDS.store(true, Ordering::SeqCst);
        wait_for(&A_HOLDS);
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
