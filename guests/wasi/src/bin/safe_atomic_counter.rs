//! Race-free: only atomics are shared (fetch_add counters, a max via fetch_max, and an
//! atomic flag array).
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread;

static HITS: AtomicU64 = AtomicU64::new(0);
static MAX: AtomicU32 = AtomicU32::new(0);
static SEEN: [AtomicBool; 4] = [const { AtomicBool::new(false) }; 4];

fn main() {
    let handles: Vec<_> = (0..4u32)
        .map(|t| {
            thread::spawn(move || {
                for i in 0..500 {
                    HITS.fetch_add(1, Ordering::Relaxed);
                    MAX.fetch_max(t * 1000 + i, Ordering::Relaxed);
                }
                SEEN[t as usize].store(true, Ordering::Relaxed);
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let seen = SEEN.iter().filter(|s| s.load(Ordering::Relaxed)).count();
    println!(
        "atomics {} {} {}",
        HITS.load(Ordering::Relaxed),
        MAX.load(Ordering::Relaxed),
        seen
    );
}
