//! Benchmark workload (array compute): 4 threads, each sweeping its own disjoint chunk
//! of one shared array with a 3-point stencil, so nearly every instruction is a plain
//! load or store. Race-free: chunks are disjoint and `thread::scope` joins before the
//! main thread reads. argv[1] = number of sweeps.

/// Elements per thread (64 KiB of u32 each).
const CHUNK: usize = 16 * 1024;

fn main() {
    let sweeps = scale(40);
    let mut data: Vec<u32> = (0..4 * CHUNK as u32)
        .map(|i| i.wrapping_mul(2_654_435_761))
        .collect();
    std::thread::scope(|s| {
        for (t, chunk) in data.chunks_mut(CHUNK).enumerate() {
            s.spawn(move || {
                for sweep in 0..sweeps {
                    for i in 1..chunk.len() - 1 {
                        let v = chunk[i - 1] ^ chunk[i].rotate_left(5) ^ chunk[i + 1];
                        chunk[i] = v.wrapping_add(sweep ^ t as u32);
                    }
                }
            });
        }
    });
    let x = data.iter().fold(0u32, |a, b| a.rotate_left(1) ^ b);
    println!("checksum {x:08x}");
}

/// Work scale from argv[1], or `default`; exits with status 2 on a malformed number.
fn scale(default: u32) -> u32 {
    match std::env::args().nth(1) {
        None => default,
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("bench_array: scale `{a}` is not a number");
            std::process::exit(2)
        }),
    }
}
