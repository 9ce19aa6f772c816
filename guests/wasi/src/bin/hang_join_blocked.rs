//! The main thread holds a lock and joins a thread that waits for that lock.
use std::sync::{Arc, Mutex};
use std::thread;

fn main() {
    let lock = Arc::new(Mutex::new(0u32));
    let guard = lock.lock().unwrap();
    let child = {
        let lock = lock.clone();
        thread::spawn(move || {
            *lock.lock().unwrap() += 1; // BLOCKS
        })
    };
    child.join().unwrap(); // BLOCKS
    println!("unreachable: {}", *guard);
}
