//! Deadlock (threadlink): thread 1 locks A then B, thread 2 locks B then A, both
//! holding their first lock before either takes its second; `run` never returns.
use std::sync::atomic::{AtomicU32, Ordering};

use wasm_threadlink::{spawn, Mutex};

static A: Mutex<u32> = Mutex::new(1);
static B: Mutex<u32> = Mutex::new(2);
/// Threads holding their first lock.
static HOLDING: AtomicU32 = AtomicU32::new(0);

fn both_hold() {
    HOLDING.fetch_add(1, Ordering::SeqCst);
    while HOLDING.load(Ordering::SeqCst) < 2 {
        std::hint::spin_loop();
    }
}

fn a_then_b() -> u32 {
    let a = A.lock();
    both_hold();
    let b = B.lock(); // BLOCKS
    *a + *b
}

fn b_then_a() -> u32 {
    let b = B.lock();
    both_hold();
    let a = A.lock(); // BLOCKS
    *a + *b
}

#[no_mangle]
pub extern "C" fn run() -> i64 {
    let first = spawn(a_then_b).expect("spawn");
    let second = spawn(b_then_a).expect("spawn");
    let sum = first.join().expect("join") + second.join().expect("join");
    i64::from(sum)
}
