//! Benchmark workload (lock-heavy): 4 threads take many short `Mutex` critical sections
//! on a few shared tables (thread `t` mostly uses its own table, sometimes a neighbour's,
//! so locks are both uncontended and contended). Race-free: every shared datum is only
//! touched under its mutex. argv[1] = critical sections per thread.
use std::sync::{Arc, Mutex};

/// A table on its own cache line, so only real lock contention (not false sharing
/// between neighbouring mutexes) makes threads wait for each other.
#[repr(align(64))]
struct Table(Mutex<Vec<u64>>);

fn main() {
    let iters = scale(20_000);
    let tables: Arc<Vec<Table>> =
        Arc::new((0..4).map(|_| Table(Mutex::new(vec![0u64; 64]))).collect());
    let hs: Vec<_> = (0..4usize)
        .map(|t| {
            let tables = tables.clone();
            std::thread::spawn(move || {
                let mut x = t as u64 + 1;
                for i in 0..iters as u64 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // One in eight sections goes to the neighbour's table: contention.
                    let which = if i % 8 == 0 { (t + 1) % 4 } else { t };
                    let mut table = tables[which].0.lock().unwrap();
                    let slot = (x % 64) as usize;
                    table[slot] = table[slot].wrapping_add(x);
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    let x = tables
        .iter()
        .map(|m| m.0.lock().unwrap().iter().fold(0u64, |a, b| a ^ b))
        .fold(0, |a, b| a ^ b);
    println!("checksum {x:016x}");
}

/// Work scale from argv[1], or `default`; exits with status 2 on a malformed number.
fn scale(default: u32) -> u32 {
    match std::env::args().nth(1) {
        None => default,
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("bench_locks: scale `{a}` is not a number");
            std::process::exit(2)
        }),
    }
}
