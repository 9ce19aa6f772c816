//! Benchmark workload (atomic-heavy): 4 threads hammer shared counters with `fetch_add`
//! and a `compare_exchange` loop (a running maximum), with some plain thread-local work
//! in between. Race-free: shared state is only accessed atomically. argv[1] = iterations
//! per thread.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn main() {
    let iters = scale(20_000);
    let counters: Arc<Vec<AtomicU64>> = Arc::new((0..8).map(|_| AtomicU64::new(0)).collect());
    let max = Arc::new(AtomicU64::new(0));
    let hs: Vec<_> = (0..4u64)
        .map(|t| {
            let (counters, max) = (counters.clone(), max.clone());
            std::thread::spawn(move || {
                let mut local = [0u64; 16];
                let mut x = t + 1;
                for i in 0..iters as u64 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    local[(i % 16) as usize] ^= x;
                    counters[(x % 8) as usize].fetch_add(1, Ordering::SeqCst);
                    let candidate = x >> 40;
                    let mut seen = max.load(Ordering::SeqCst);
                    while candidate > seen {
                        match max.compare_exchange(
                            seen,
                            candidate,
                            Ordering::SeqCst,
                            Ordering::SeqCst,
                        ) {
                            Ok(_) => break,
                            Err(now) => seen = now,
                        }
                    }
                }
                local.iter().fold(0u64, |a, b| a ^ b)
            })
        })
        .collect();
    let local = hs
        .into_iter()
        .map(|h| h.join().unwrap())
        .fold(0, |a, b| a ^ b);
    let total: u64 = counters.iter().map(|c| c.load(Ordering::SeqCst)).sum();
    println!(
        "total {total} max {:x} checksum {local:016x}",
        max.load(Ordering::SeqCst)
    );
}

/// Work scale from argv[1], or `default`; exits with status 2 on a malformed number.
fn scale(default: u32) -> u32 {
    match std::env::args().nth(1) {
        None => default,
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("bench_atomics: scale `{a}` is not a number");
            std::process::exit(2)
        }),
    }
}
