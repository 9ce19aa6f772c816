//! Clocks, sleeps (poll_oneoff), sched_yield and random_get from several threads.
use std::time::{Duration, Instant};

fn main() {
    let start = Instant::now();
    let hs: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(|| {
                std::thread::sleep(Duration::from_millis(30));
                std::thread::yield_now();
                // RandomState seeds itself from WASI random_get.
                let _ = std::collections::hash_map::RandomState::new();
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    println!("slept {}", start.elapsed() >= Duration::from_millis(30));
}
