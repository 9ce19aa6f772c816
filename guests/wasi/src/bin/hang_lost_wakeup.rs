//! Lost wakeup: the producer notifies the condition variable but (the bug) sets the
//! wrong flag, and it does so before the consumer even starts; the consumer then
//! waits for a notify that already happened. Every thread blocks, with no cycle.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

static DONE: AtomicBool = AtomicBool::new(false);

fn main() {
    let state = Arc::new((Mutex::new(false), Condvar::new()));
    {
        let (lock, ready) = &*state;
        let _guard = lock.lock().unwrap();
        // Bug: sets DONE instead of the predicate under the mutex.
        DONE.store(true, Ordering::SeqCst);
        ready.notify_one();
    }
    let consumer = {
        let state = state.clone();
        thread::spawn(move || {
            let (lock, ready) = &*state;
            let mut ready_flag = lock.lock().unwrap();
            while !*ready_flag {
                ready_flag = ready.wait(ready_flag).unwrap(); // BLOCKS
            }
        })
    };
    consumer.join().unwrap();
    println!("unreachable: {}", DONE.load(Ordering::SeqCst));
}
