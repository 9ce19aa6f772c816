//! N threads (argv[1], default 64) alive at once, all meeting at one barrier.
use std::sync::{Arc, Barrier};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(64, |a| a.parse().expect("thread count"));
    let barrier = Arc::new(Barrier::new(n));
    let hs: Vec<_> = (0..n)
        .map(|i| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                i
            })
        })
        .collect();
    let sum: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
    println!("{n} threads met, sum {sum}");
}
