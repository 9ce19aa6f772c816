//! Checks typed results through spawn/join: threads return a u64, a String and a Vec,
//! each computed from its inputs; `run` returns
//! Σ_{i<5} i·i + len("threadlink" repeated 3 times) + Σ_{k≤100} k = 30 + 30 + 5050.

use wasm_threadlink::spawn;

#[no_mangle]
pub extern "C" fn run() -> i64 {
    let squares: Vec<_> = (0..5u64)
        .map(|i| spawn(move || i * i).expect("spawn"))
        .collect();
    let text = spawn(|| "threadlink".repeat(3)).expect("spawn");
    let numbers = spawn(|| (1..=100u64).collect::<Vec<_>>()).expect("spawn");

    let mut total: u64 = squares.into_iter().map(|h| h.join().expect("join")).sum();
    total += text.join().expect("join").len() as u64;
    total += numbers.join().expect("join").iter().sum::<u64>();
    total as i64
}
