//! Race-free: `thread::scope` threads each own a disjoint `chunks_mut` slice of one
//! buffer; main reads it all after the scope.
fn main() {
    let mut data = vec![1u32; 1024];
    std::thread::scope(|s| {
        for (k, chunk) in data.chunks_mut(256).enumerate() {
            s.spawn(move || {
                for x in chunk.iter_mut() {
                    *x = std::hint::black_box(*x + k as u32);
                }
            });
        }
    });
    println!("scope sum {}", data.iter().sum::<u32>());
}
