//! Checks that every thread has its own shadow stack: two threads recurse DEPTH frames
//! deep, each frame holding a stack array filled from (thread seed, depth); both wait at
//! the bottom until the other is there too (so their frames are live at the same time),
//! then verify every frame on the way up. A frame that changed counts as a failure.
//! `run` returns Σ over both threads of Σ_depth frame_value(seed, depth), or -1 on any
//! corrupted frame.

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};

const DEPTH: u32 = 2000;
const WORDS: usize = 32;
const SEEDS: [u32; 2] = [0x1000_0000, 0x2000_0000];

/// Threads that reached the bottom of their recursion.
static AT_BOTTOM: AtomicU32 = AtomicU32::new(0);

/// The value word `w` of the frame at `depth` holds.
fn word(seed: u32, depth: u32, w: usize) -> u32 {
    seed.wrapping_add(depth.wrapping_mul(97))
        .wrapping_add(w as u32)
}

/// Returns Σ of word 0 over this and deeper frames, or None if a frame was corrupted.
#[inline(never)]
fn recurse(seed: u32, depth: u32) -> Option<u64> {
    let mut frame = [0u32; WORDS];
    for (w, slot) in frame.iter_mut().enumerate() {
        *slot = word(seed, depth, w);
    }
    let frame = black_box(frame);
    let deeper = if depth + 1 < DEPTH {
        recurse(seed, depth + 1)
    } else {
        AT_BOTTOM.fetch_add(1, Ordering::SeqCst);
        while AT_BOTTOM.load(Ordering::SeqCst) < SEEDS.len() as u32 {
            std::hint::spin_loop();
        }
        Some(0)
    };
    let intact = frame
        .iter()
        .enumerate()
        .all(|(w, &v)| v == word(seed, depth, w));
    if intact {
        deeper.map(|sum| sum + u64::from(black_box(frame)[0]))
    } else {
        None
    }
}

#[no_mangle]
pub extern "C" fn run() -> i64 {
    let handles: Vec<_> = SEEDS
        .iter()
        .map(|&seed| wasm_threadlink::spawn(move || recurse(seed, 0)).expect("spawn"))
        .collect();
    let mut sum = 0i64;
    for handle in handles {
        match handle.join().expect("join") {
            Some(part) => sum += part as i64,
            None => return -1,
        }
    }
    sum
}
