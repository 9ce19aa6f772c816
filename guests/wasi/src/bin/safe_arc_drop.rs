//! Race-free: an `Arc`ed heap vector read by several threads, each dropping its clone; the
//! last drop (in whichever thread) frees the buffer, and later allocations reuse it.
use std::sync::Arc;
use std::thread;

fn main() {
    let mut total = 0u64;
    for round in 0..5u64 {
        let data = Arc::new((0..256).map(|i| i + round).collect::<Vec<u64>>());
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let data = Arc::clone(&data);
                thread::spawn(move || data.iter().sum::<u64>())
            })
            .collect();
        drop(data);
        total += handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>();
    }
    println!("arc total {total}");
}
