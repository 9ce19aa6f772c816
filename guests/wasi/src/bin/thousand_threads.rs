//! Short-lived threads spawned and joined one after another (argv[1], default 1000).
fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(1000, |a| a.parse().expect("thread count"));
    let mut total = 0u64;
    for i in 0..n {
        total += std::thread::spawn(move || i).join().unwrap();
    }
    println!("{n} threads done, total {total}");
}
