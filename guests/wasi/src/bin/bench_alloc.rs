//! Benchmark workload (allocation-heavy): 4 threads churn `Vec`, `Box` and `String`
//! allocations through the shared (locked) wasi-libc allocator, keeping a small ring of
//! live objects so frees interleave with allocations. Race-free: every object is owned by
//! one thread. argv[1] = allocation rounds per thread.

/// Live objects each thread keeps before freeing the oldest.
const RING: usize = 64;

fn main() {
    let rounds = scale(5_000);
    let hs: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut vecs: Vec<Vec<u64>> = (0..RING).map(|_| Vec::new()).collect();
                let mut boxes: Vec<Box<[u64; 4]>> = (0..RING).map(|_| Box::new([0; 4])).collect();
                let mut strings: Vec<String> = vec![String::new(); RING];
                let mut acc = 0u64;
                for r in 0..rounds as u64 {
                    let slot = (r as usize) % RING;
                    let len = 1 + ((r * 7 + t) % 48) as usize;
                    vecs[slot] = (0..len as u64).map(|i| i ^ r).collect();
                    // A fresh allocation (and a free of the old box) is the workload.
                    #[allow(clippy::replace_box)]
                    {
                        boxes[slot] = Box::new([r, t, len as u64, acc]);
                    }
                    strings[slot] = format!("t{t}-r{r}-{len}");
                    acc = acc
                        .wrapping_add(vecs[(slot + 1) % RING].len() as u64)
                        .wrapping_add(boxes[(slot + 2) % RING][0])
                        .wrapping_add(strings[(slot + 3) % RING].len() as u64);
                }
                acc
            })
        })
        .collect();
    let x = hs
        .into_iter()
        .map(|h| h.join().unwrap())
        .fold(0, |a, b| a ^ b);
    println!("checksum {x:016x}");
}

/// Work scale from argv[1], or `default`; exits with status 2 on a malformed number.
fn scale(default: u32) -> u32 {
    match std::env::args().nth(1) {
        None => default,
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("bench_alloc: scale `{a}` is not a number");
            std::process::exit(2)
        }),
    }
}
