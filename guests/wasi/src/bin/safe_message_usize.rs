//! Race-free: a writer fills slots of a plain array and publishes how many are ready with
//! a Release store of an `AtomicUsize`; the reader only reads slots below the count it
//! Acquire-loaded.
use std::ptr::{addr_of_mut, read_volatile, write_volatile};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

const SLOTS: usize = 64;
static mut SLOT: [u32; SLOTS] = [0; SLOTS];
static PUBLISHED: AtomicUsize = AtomicUsize::new(0);

fn main() {
    let reader = thread::spawn(|| {
        let (mut seen, mut sum) = (0, 0u32);
        while seen < SLOTS {
            let ready = PUBLISHED.load(Ordering::Acquire);
            while seen < ready {
                // SAFETY: slot `seen` < ready was written before `ready` was published.
                sum += unsafe { read_volatile(addr_of_mut!(SLOT).cast::<u32>().add(seen)) };
                seen += 1;
            }
            thread::yield_now();
        }
        sum
    });
    for i in 0..SLOTS {
        // SAFETY: slot i is not yet published, so the reader does not read it.
        unsafe { write_volatile(addr_of_mut!(SLOT).cast::<u32>().add(i), i as u32) };
        PUBLISHED.store(i + 1, Ordering::Release);
    }
    println!("published sum {}", reader.join().unwrap());
}
