//! Race-free: plain data guarded by std `Mutex`es, from four threads.
use std::cell::UnsafeCell;
use std::ptr::{read_volatile, write_volatile};
use std::sync::{Arc, Mutex};
use std::thread;

/// Plain data that is only touched while `LOCK` is held.
struct Guarded(UnsafeCell<u64>);
// SAFETY: every access below happens under LOCK.
unsafe impl Sync for Guarded {}

static LOCK: Mutex<()> = Mutex::new(());
static SIDE: Guarded = Guarded(UnsafeCell::new(0));

fn main() {
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..250 {
                    *counter.lock().unwrap() += 1;
                    let guard = LOCK.lock().unwrap();
                    // SAFETY: LOCK is held.
                    unsafe { write_volatile(SIDE.0.get(), read_volatile(SIDE.0.get()) + 2) };
                    drop(guard);
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let guard = LOCK.lock().unwrap();
    // SAFETY: LOCK is held.
    let side = unsafe { read_volatile(SIDE.0.get()) };
    drop(guard);
    println!("mutex {} side {}", *counter.lock().unwrap(), side);
}
