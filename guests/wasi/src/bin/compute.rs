//! Compute-heavy work on 4 threads (the overhead benchmark's guest): each thread runs
//! an integer hash chain over its own array; argv[1] scales the work.
fn main() {
    let rounds: u64 = std::env::args()
        .nth(1)
        .map_or(200, |a| a.parse().expect("rounds"));
    let hs: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut data: Vec<u64> = (0..4096).map(|i| i ^ t).collect();
                for r in 0..rounds {
                    for i in 0..data.len() {
                        let x = data[i].wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) ^ r;
                        data[i] = x ^ data[(i + 1) % 4096];
                    }
                }
                data.iter().fold(0u64, |a, b| a ^ b)
            })
        })
        .collect();
    let x = hs
        .into_iter()
        .map(|h| h.join().unwrap())
        .fold(0, |a, b| a ^ b);
    println!("checksum {x:016x}");
}
