//! Race-free: double-checked lazy initialization done right, with `OnceLock`: four threads
//! race to initialize a heap value; all read the one that won.
use std::sync::OnceLock;
use std::thread;

static CONFIG: OnceLock<Vec<u64>> = OnceLock::new();

/// The shared configuration, built by the first caller.
fn config() -> &'static [u64] {
    CONFIG.get_or_init(|| (1..=32).collect())
}

fn main() {
    let handles: Vec<_> = (0..4)
        .map(|_| thread::spawn(|| config().iter().sum::<u64>()))
        .collect();
    let sums: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("oncelock sums {sums:?} len {}", config().len());
}
