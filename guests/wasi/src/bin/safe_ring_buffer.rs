//! Race-free: a single-producer single-consumer ring buffer of plain slots, handed over
//! with atomic head/tail indices (Release after writing a slot, Acquire before reading).
use std::cell::UnsafeCell;
use std::ptr::{read_volatile, write_volatile};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

const CAPACITY: usize = 8;
const ITEMS: u64 = 1000;

/// The ring: slots are plain memory; `tail` counts produced items, `head` consumed ones.
struct Ring {
    slots: [UnsafeCell<u64>; CAPACITY],
    head: AtomicUsize,
    tail: AtomicUsize,
}
// SAFETY: a slot is written only while the producer owns it (tail - head < CAPACITY) and
// read only after the tail store that published it; the indices order both.
unsafe impl Sync for Ring {}

impl Ring {
    fn push(&self, value: u64) {
        let tail = self.tail.load(Ordering::Relaxed);
        while tail - self.head.load(Ordering::Acquire) == CAPACITY {
            thread::yield_now();
        }
        // SAFETY: the slot is free (see `Ring`).
        unsafe { write_volatile(self.slots[tail % CAPACITY].get(), value) };
        self.tail.store(tail + 1, Ordering::Release);
    }

    fn pop(&self) -> u64 {
        let head = self.head.load(Ordering::Relaxed);
        while self.tail.load(Ordering::Acquire) == head {
            thread::yield_now();
        }
        // SAFETY: the slot was published (see `Ring`).
        let value = unsafe { read_volatile(self.slots[head % CAPACITY].get()) };
        self.head.store(head + 1, Ordering::Release);
        value
    }
}

fn main() {
    let ring = Arc::new(Ring {
        slots: std::array::from_fn(|_| UnsafeCell::new(0)),
        head: AtomicUsize::new(0),
        tail: AtomicUsize::new(0),
    });
    let producer = {
        let ring = Arc::clone(&ring);
        thread::spawn(move || (1..=ITEMS).for_each(|v| ring.push(v)))
    };
    let sum: u64 = (0..ITEMS).map(|_| ring.pop()).sum();
    producer.join().unwrap();
    println!("ring sum {sum}");
}
