//! Throughput of the online race detector's `accesses()` hot path, in accesses/s.
//!
//! Run with `cargo bench -p wasmgrind-analysis --bench online`. Each pattern drives the
//! detector the way the runtime does (drained batches between synchronization events)
//! from one OS thread, so the numbers are the analysis cost alone, without lock contention
//! (except the two patterns that say "2 OS threads", which measure exactly that).

use std::hint::black_box;
use std::time::{Duration, Instant};

use wasmgrind_analysis::online::{Access, Config, Detector, SyncId};

const THREADS: u32 = 4;
const BATCH: usize = 4096;

/// Runs `round` until at least `min` elapsed; returns accesses per second.
fn measure(name: &str, mut round: impl FnMut() -> u64) {
    let min = Duration::from_millis(700);
    round(); // warm-up: allocates shadow chunks
    let start = Instant::now();
    let mut accesses = 0u64;
    while start.elapsed() < min {
        accesses += round();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:<44} {:>8.1} M accesses/s  ({accesses} accesses in {secs:.2} s)",
        accesses as f64 / secs / 1e6
    );
}

fn forked(config: Config) -> Detector {
    let d = Detector::new(config);
    for t in 1..=THREADS {
        d.fork(0, t);
    }
    d
}

/// Each thread walks its own 64 KiB array (4-byte loads then stores), one epoch per batch.
fn private_walk() {
    let d = forked(Config::default());
    let batches: Vec<Vec<Access>> = (1..=THREADS)
        .map(|t| {
            let base = u64::from(t) << 20;
            (0..BATCH as u64)
                .flat_map(|i| {
                    let a = base + 16 * i;
                    [Access::read(a, 4, 1), Access::write(a + 4, 4, 2)]
                })
                .collect()
        })
        .collect();
    measure("private sequential walk (new epoch/batch)", || {
        let mut n = 0;
        for (t, b) in (1..=THREADS).zip(&batches) {
            d.release(t, SyncId::Custom(u64::from(t)));
            d.accesses(t, black_box(b));
            n += b.len() as u64;
        }
        n
    });
    measure("private sequential walk (same epoch)", || {
        let mut n = 0;
        for (t, b) in (1..=THREADS).zip(&batches) {
            d.accesses(t, black_box(b));
            n += b.len() as u64;
        }
        n
    });
    let s = d.stats();
    let touched = u64::from(THREADS) * BATCH as u64 * 16;
    println!(
        "  shadow {} KiB for {} KiB touched ({} chunks of 64 KiB), fast path {:.0}%",
        s.shadow_bytes / 1024,
        touched / 1024,
        s.chunks,
        100.0 * s.fast_path_hits as f64 / s.granule_checks as f64
    );
}

/// All threads read one shared 16 KiB table; thread 0 rarely updates it under a lock.
fn shared_read_mostly() {
    let d = forked(Config::default());
    let table = 1u64 << 24;
    let reads: Vec<Access> = (0..BATCH as u64)
        .map(|i| Access::read(table + (i * 40) % 16384, 8, 10))
        .collect();
    let lock = SyncId::Lock(1);
    measure("shared read-mostly (4 readers, locked writer)", || {
        let mut n = 0;
        for t in 1..=THREADS {
            d.acquire(t, lock);
            d.accesses(t, black_box(&reads));
            d.release(t, lock);
            n += reads.len() as u64;
        }
        d.acquire(0, lock);
        d.accesses(0, &[Access::write(table + 64, 8, 11)]);
        d.release(0, lock);
        n + 1
    });
    let s = d.stats();
    println!(
        "  spilled granules {}, evictions {}, races {}",
        s.spilled_granules,
        s.evictions,
        d.take_races().len()
    );
}

/// Four threads take turns on one lock, each reading and writing a shared 4 KiB region.
fn alternating_with_locks() {
    let d = forked(Config::default());
    let region = 1u64 << 25;
    let batch: Vec<Access> = (0..BATCH as u64 / 2)
        .flat_map(|i| {
            let a = region + (i * 8) % 4096;
            [Access::read(a, 8, 20), Access::write(a, 8, 21)]
        })
        .collect();
    let lock = SyncId::Lock(2);
    measure("4 threads alternating under one lock", || {
        let mut n = 0;
        for t in 1..=THREADS {
            d.acquire(t, lock);
            d.accesses(t, black_box(&batch));
            d.release(t, lock);
            n += batch.len() as u64;
        }
        n
    });
    println!("  races {} (expected 0)", d.take_races().len());
}

/// Bulk operations: memory.fill of 64 KiB by alternating threads under a lock.
fn bulk_fill() {
    let d = forked(Config::default());
    let lock = SyncId::Lock(3);
    let fill = [Access::write(1 << 26, 65536, 30)];
    measure("bulk 64 KiB fills, bytes/s as accesses/s", || {
        for t in 1..=THREADS {
            d.acquire(t, lock);
            d.accesses(t, black_box(&fill));
            d.release(t, lock);
        }
        u64::from(THREADS) * 65536
    });
}

/// Two OS threads feed private walks concurrently: the cost of the shared lock.
fn contended() {
    let d = forked(Config::default());
    let batches: Vec<Vec<Access>> = (1..=2u64)
        .map(|t| {
            (0..BATCH as u64)
                .map(|i| Access::write((t << 22) + 8 * i, 8, 40))
                .collect()
        })
        .collect();
    measure("2 OS threads concurrently, private walks", || {
        std::thread::scope(|s| {
            for (t, b) in (1..=2u32).zip(&batches) {
                let d = &d;
                s.spawn(move || {
                    for _ in 0..8 {
                        d.release(t, SyncId::Custom(u64::from(t)));
                        d.accesses(t, black_box(b));
                    }
                });
            }
        });
        2 * 8 * BATCH as u64
    });
}

/// Atomic read-modify-writes on eight shared counters, each after a two-access batch on
/// the thread's own stack (`bench_atomics`' loop): the cost of `Detector::atomic`. One
/// OS thread plays four program threads, then two OS threads play two each.
fn atomics() {
    const ROUNDS: u64 = 4096;
    let counter = |i: u64| (1u64 << 27) + 8 * (i % 8);
    let own = |t: u32| {
        let a = (u64::from(t) << 21) + 64;
        [Access::read(a, 8, 60), Access::write(a, 8, 61)]
    };
    let d = forked(Config::default());
    measure("atomics on 8 shared words, 4 threads", || {
        for i in 0..ROUNDS {
            for t in 1..=THREADS {
                d.accesses(t, black_box(&own(t)));
                let c = counter(i + u64::from(t));
                d.atomic(t, SyncId::Addr(c), Access::write(c, 8, 62));
            }
        }
        ROUNDS * u64::from(THREADS) * 3
    });
    let d = forked(Config::default());
    measure("atomics on 8 shared words, 2 OS threads", || {
        std::thread::scope(|s| {
            for first in [1, 3] {
                let d = &d;
                s.spawn(move || {
                    for i in 0..ROUNDS {
                        for t in first..first + 2 {
                            d.accesses(t, black_box(&own(t)));
                            let c = counter(i + u64::from(t));
                            d.atomic(t, SyncId::Addr(c), Access::write(c, 8, 62));
                        }
                    }
                });
            }
        });
        ROUNDS * u64::from(THREADS) * 3
    });
    println!("  races {} (expected 0)", d.take_races().len());
}

fn main() {
    println!("wasmgrind online detector, batch = {BATCH} accesses, {THREADS} threads");
    private_walk();
    shared_read_mostly();
    alternating_with_locks();
    bulk_fill();
    contended();
    atomics();
}
