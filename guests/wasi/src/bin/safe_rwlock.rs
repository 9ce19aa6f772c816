//! Race-free: a `RwLock`ed table read by several readers while a writer appends.
use std::sync::{Arc, RwLock};
use std::thread;

fn main() {
    let table = Arc::new(RwLock::new(vec![1u64; 64]));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let table = Arc::clone(&table);
            thread::spawn(move || {
                (0..20)
                    .map(|_| table.read().unwrap().iter().sum::<u64>())
                    .max()
            })
        })
        .collect();
    for _ in 0..20 {
        table.write().unwrap().push(1);
    }
    let ok = readers
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .all(|max| (64..=84).contains(&max));
    println!(
        "rwlock sums in range {} len {}",
        ok,
        table.read().unwrap().len()
    );
}
