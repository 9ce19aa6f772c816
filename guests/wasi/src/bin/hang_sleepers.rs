//! Not a hang: every thread sleeps (waits with a timeout) several times, the main
//! thread joins them, and the program ends normally.
use std::thread;
use std::time::Duration;

fn main() {
    let sleepers: Vec<_> = (0..3u64)
        .map(|i| {
            thread::spawn(move || {
                for _ in 0..3 {
                    thread::sleep(Duration::from_millis(150));
                }
                i
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    let sum: u64 = sleepers.into_iter().map(|h| h.join().unwrap()).sum();
    println!("sleepers done {sum}");
}
