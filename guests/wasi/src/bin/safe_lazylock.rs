//! Race-free: a `LazyLock` static forced concurrently from four threads.
use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::thread;

static SQUARES: LazyLock<BTreeMap<u32, u32>> =
    LazyLock::new(|| (0..50).map(|i| (i, i * i)).collect());

fn main() {
    let handles: Vec<_> = (0..4u32)
        .map(|t| thread::spawn(move || SQUARES[&(t * 10)]))
        .collect();
    let got: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("lazylock {got:?} len {}", SQUARES.len());
}
