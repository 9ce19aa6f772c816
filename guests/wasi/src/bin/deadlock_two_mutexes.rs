//! Deadlock: thread 1 locks A then B, thread 2 locks B then A; a barrier makes both
//! hold their first lock before taking the second, so it hangs every time.
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

fn main() {
    let a = Arc::new(Mutex::new(0u32));
    let b = Arc::new(Mutex::new(0u32));
    let barrier = Arc::new(Barrier::new(2));
    let first = {
        let (a, b, barrier) = (a.clone(), b.clone(), barrier.clone());
        thread::spawn(move || {
            let ga = a.lock().unwrap();
            barrier.wait();
            let gb = b.lock().unwrap(); // BLOCKS
            *ga + *gb
        })
    };
    let second = {
        let (a, b, barrier) = (a.clone(), b.clone(), barrier.clone());
        thread::spawn(move || {
            let gb = b.lock().unwrap();
            barrier.wait();
            let ga = a.lock().unwrap(); // BLOCKS
            *ga + *gb
        })
    };
    let sum = first.join().unwrap() + second.join().unwrap();
    println!("unreachable: {sum}");
}
