//! Deadlock of three: thread i locks lock i, then (after a barrier) lock i+1 mod 3,
//! so each waits on the next one's lock.
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

fn main() {
    let locks: Arc<[Mutex<u32>; 3]> = Arc::new([Mutex::new(1), Mutex::new(2), Mutex::new(3)]);
    let barrier = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let (locks, barrier) = (locks.clone(), barrier.clone());
            thread::spawn(move || {
                let mine = locks[i].lock().unwrap();
                barrier.wait();
                let next = locks[(i + 1) % 3].lock().unwrap(); // BLOCKS
                *mine + *next
            })
        })
        .collect();
    let sum: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("unreachable: {sum}");
}
