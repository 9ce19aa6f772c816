//! Four threads each print a line; main joins them and prints the sum of their results.
fn main() {
    let handles: Vec<_> = (1..=4u32)
        .map(|i| {
            std::thread::spawn(move || {
                println!("hello from thread {i}");
                i * 10
            })
        })
        .collect();
    let sum: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!("sum {sum}");
}
