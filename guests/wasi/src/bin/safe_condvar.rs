//! Race-free: a waiter sleeps on a `Condvar` until the main thread has filled a buffer
//! and set the predicate under the mutex.
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

fn main() {
    let state = Arc::new((Mutex::new((false, Vec::<u32>::new())), Condvar::new()));
    let theirs = Arc::clone(&state);
    let waiter = thread::spawn(move || {
        let (lock, ready) = &*theirs;
        let mut guard = lock.lock().unwrap();
        while !guard.0 {
            guard = ready.wait(guard).unwrap();
        }
        guard.1.iter().sum::<u32>()
    });
    {
        let (lock, ready) = &*state;
        let mut guard = lock.lock().unwrap();
        guard.1.extend(1..=10);
        guard.0 = true;
        ready.notify_one();
    }
    println!("condvar sum {}", waiter.join().unwrap());
}
