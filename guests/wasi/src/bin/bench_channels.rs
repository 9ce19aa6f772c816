//! Benchmark workload (message passing): a 4-thread pipeline over bounded `std::sync::mpsc`
//! channels: a producer, two transforming stages and a consumer. Messages are heap
//! buffers whose ownership moves from thread to thread. Race-free: each buffer is
//! touched by one thread at a time, handed over through the channel. argv[1] = messages.
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Channel capacity between stages.
const BOUND: usize = 32;

fn main() {
    let messages = scale(5_000);
    let (tx0, rx0) = sync_channel::<Vec<u32>>(BOUND);
    let (tx1, rx1) = sync_channel::<Vec<u32>>(BOUND);
    let (tx2, rx2) = sync_channel::<Vec<u32>>(BOUND);
    let producer = std::thread::spawn(move || {
        for m in 0..messages {
            let buf: Vec<u32> = (0..16).map(|i| m.wrapping_mul(31) ^ i).collect();
            if tx0.send(buf).is_err() {
                break;
            }
        }
    });
    let stage1 = std::thread::spawn(move || stage(rx0, tx1, 0x9e37_79b9));
    let stage2 = std::thread::spawn(move || stage(rx1, tx2, 0x85eb_ca6b));
    let consumer = std::thread::spawn(move || {
        let mut acc = 0u32;
        for buf in rx2 {
            acc = buf.iter().fold(acc.rotate_left(3), |a, b| a ^ b);
        }
        acc
    });
    producer.join().unwrap();
    stage1.join().unwrap();
    stage2.join().unwrap();
    println!("checksum {:08x}", consumer.join().unwrap());
}

/// Transforms every buffer in place and passes it on; ends when the input closes.
fn stage(rx: Receiver<Vec<u32>>, tx: SyncSender<Vec<u32>>, k: u32) {
    for mut buf in rx {
        for v in buf.iter_mut() {
            *v = v.wrapping_mul(k).rotate_left(13);
        }
        if tx.send(buf).is_err() {
            break;
        }
    }
}

/// Work scale from argv[1], or `default`; exits with status 2 on a malformed number.
fn scale(default: u32) -> u32 {
    match std::env::args().nth(1) {
        None => default,
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("bench_channels: scale `{a}` is not a number");
            std::process::exit(2)
        }),
    }
}
