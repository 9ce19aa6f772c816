//! Race-free: hand-written spin locks (one taking with `swap`, one with
//! `compare_exchange`, both releasing with a `store(false)`) guarding plain counters.
use std::cell::UnsafeCell;
use std::ptr::{read_volatile, write_volatile};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

/// A test-and-set spin lock around a plain value.
struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}
// SAFETY: `value` is only accessed between a successful acquire and the release store.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T: Copy> SpinLock<T> {
    const fn new(value: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` on the value with the lock held; `cas` picks compare_exchange over swap.
    fn with(&self, cas: bool, f: impl FnOnce(T) -> T) {
        if cas {
            while self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                thread::yield_now();
            }
        } else {
            while self.locked.swap(true, Ordering::Acquire) {
                thread::yield_now();
            }
        }
        // SAFETY: the lock is held.
        unsafe { write_volatile(self.value.get(), f(read_volatile(self.value.get()))) };
        self.locked.store(false, Ordering::Release);
    }

    fn get(&self) -> T {
        let mut out = None;
        self.with(false, |v| {
            out = Some(v);
            v
        });
        out.unwrap()
    }
}

static SWAPPED: SpinLock<u64> = SpinLock::new(0);
static CASED: SpinLock<u64> = SpinLock::new(0);

fn main() {
    let handles: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                for _ in 0..200 {
                    SWAPPED.with(false, |v| v + 1);
                    CASED.with(true, |v| v + 3);
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    println!("spin {} {}", SWAPPED.get(), CASED.get());
}
