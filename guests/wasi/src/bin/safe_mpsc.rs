//! Race-free: heap buffers move between threads through std `mpsc` channels; the receiver
//! reads what the senders wrote.
use std::sync::mpsc;
use std::thread;

fn main() {
    let (tx, rx) = mpsc::channel::<Vec<u64>>();
    let senders: Vec<_> = (0..3u64)
        .map(|t| {
            let tx = tx.clone();
            thread::spawn(move || {
                for k in 0..10 {
                    tx.send((0..16).map(|i| t * 1000 + k * 16 + i).collect())
                        .unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let (back_tx, back_rx) = mpsc::sync_channel::<Vec<u64>>(1);
    let echo = thread::spawn(move || back_rx.iter().map(|v| v.len()).sum::<usize>());
    let mut total = 0u64;
    for buffer in rx {
        total += buffer.iter().sum::<u64>();
        back_tx.send(buffer).unwrap();
    }
    drop(back_tx);
    senders.into_iter().for_each(|h| h.join().unwrap());
    println!("mpsc total {} echoed {}", total, echo.join().unwrap());
}
