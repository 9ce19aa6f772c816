//! `thread::scope` over disjoint chunks of one vector.
fn main() {
    let mut data: Vec<u64> = (0..10_000).collect();
    std::thread::scope(|s| {
        for chunk in data.chunks_mut(2500) {
            s.spawn(move || chunk.iter_mut().for_each(|x| *x *= 2));
        }
    });
    println!("total {}", data.iter().sum::<u64>());
}
