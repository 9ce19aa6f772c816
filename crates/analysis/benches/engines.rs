//! Throughput and peak memory of every offline engine on generated traces.
//!
//! `cargo bench -p wasmgrind-analysis --bench engines`. Prints one line per engine ×
//! shape: events/s reading from RapidBin (and from STD for fasttrack) by wall clock and
//! by this thread's CPU time (the fairer number on a shared machine), and the peak heap
//! bytes allocated during the run. `WASMGRIND_BENCH_EVENTS` overrides the trace
//! size (default 3,000,000); `WASMGRIND_BENCH_ONLY=wcp,many-threads` keeps only the
//! engines and shapes named (`read` adds the bare reading rates);
//! `WASMGRIND_BENCH_THREADS=32` gives the `many-threads` shape that many threads
//! instead of 128, to see how an engine's cost per event grows with the thread count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use wasmgrind_analysis::{analyze, EngineKind};
use wasmgrind_trace::rapidbin::{RapidBinReader, RapidBinWriter};
use wasmgrind_trace::std_text::{StdReader, StdWriter};
use wasmgrind_trace::{Event, Names, Op};

/// Counts live heap bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; the counters are
// only statistics and never influence allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as our caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A trace shape.
#[derive(Clone, Copy)]
struct Shape {
    name: &'static str,
    threads: u32,
    locks: u64,
    vars: u64,
    /// Percent of steps that are lock operations.
    lock_pct: u64,
    /// Percent of accesses that go to a thread-private variable range.
    private_pct: u64,
}

const SHAPES: [Shape; 4] = [
    Shape {
        name: "lock-heavy",
        threads: 8,
        locks: 16,
        vars: 1024,
        lock_pct: 40,
        private_pct: 50,
    },
    Shape {
        name: "hot-vars",
        threads: 8,
        locks: 2,
        vars: 4,
        lock_pct: 5,
        private_pct: 0,
    },
    Shape {
        name: "many-vars",
        threads: 4,
        locks: 4,
        vars: 1 << 20,
        lock_pct: 5,
        private_pct: 90,
    },
    Shape {
        name: "many-threads",
        threads: 128,
        locks: 32,
        vars: 4096,
        lock_pct: 20,
        private_pct: 70,
    },
];

/// A well-formed trace: thread 0 forks all, random interleaving with nested locking
/// (a lock is only taken when free), joins at the end.
fn generate(shape: &Shape, n: usize, seed: u64) -> Vec<Event> {
    let mut rng = Rng(seed | 1);
    let mut out = Vec::with_capacity(n + 2 * shape.threads as usize);
    let mut owner = vec![u32::MAX; shape.locks as usize];
    let mut held: Vec<Vec<u64>> = vec![Vec::new(); shape.threads as usize];
    for t in 1..shape.threads {
        out.push(Event::new(0, Op::Fork, t.into(), 1));
    }
    while out.len() < n {
        let t = rng.below(shape.threads.into()) as u32;
        let loc = (rng.below(4096)) as u32;
        if rng.below(100) < shape.lock_pct {
            let h = &mut held[t as usize];
            if !h.is_empty() && (h.len() >= 3 || rng.below(2) == 0) {
                let l = h.pop().unwrap();
                owner[l as usize] = u32::MAX;
                out.push(Event::new(t, Op::Release, l, loc));
            } else {
                let l = rng.below(shape.locks);
                if owner[l as usize] == u32::MAX {
                    owner[l as usize] = t;
                    h.push(l);
                    out.push(Event::new(t, Op::Acquire, l, loc));
                }
            }
        } else {
            let var = if rng.below(100) < shape.private_pct {
                // A slice of the variables only this thread touches.
                let per = (shape.vars / u64::from(shape.threads)).max(1);
                (u64::from(t) * per + rng.below(per)) % shape.vars
            } else {
                rng.below(shape.vars)
            };
            let op = if rng.below(3) == 0 {
                Op::Write
            } else {
                Op::Read
            };
            out.push(Event::new(t, op, var, loc));
        }
    }
    for t in 0..shape.threads {
        while let Some(l) = held[t as usize].pop() {
            out.push(Event::new(t, Op::Release, l, 2));
        }
    }
    for t in 1..shape.threads {
        out.push(Event::new(0, Op::Join, t.into(), 3));
    }
    out
}

fn write_files(events: &[Event], bin: &Path, std: &Path) {
    let mut w = RapidBinWriter::create(bin).unwrap();
    let mut s = StdWriter::create(std, Names::default()).unwrap();
    for e in events {
        w.write(e).unwrap();
        s.write(e).unwrap();
    }
    w.finish().unwrap();
    s.finish().unwrap();
}

/// Reads every event, touching its fields so nothing is optimized away.
fn drain(
    events: impl Iterator<Item = Result<Event, wasmgrind_trace::TraceError>>,
) -> (u64, u64, u64) {
    let (mut n, mut mix) = (0u64, 0u64);
    for e in events {
        let e = e.unwrap();
        n += 1;
        mix ^= e.decor ^ u64::from(e.loc) ^ u64::from(e.thread);
    }
    std::hint::black_box(mix);
    (n, 0, 0)
}

/// CPU time this thread has run, in seconds (Linux: `/proc/thread-self/schedstat`), so
/// a rate can be read off a loaded machine; `None` elsewhere.
fn thread_cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// Times `run`, which returns (events, racy events, racy locations).
fn measure(label: &str, shape: &str, run: impl FnOnce() -> (u64, u64, u64)) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let cpu_start = thread_cpu_secs();
    let start = Instant::now();
    let (events, racy, locations) = run();
    let secs = start.elapsed().as_secs_f64();
    let cpu = match (cpu_start, thread_cpu_secs()) {
        (Some(a), Some(b)) if b > a => format!("{:>8.2}", events as f64 / (b - a) / 1e6),
        _ => format!("{:>8}", "-"),
    };
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    println!(
        "{label:<18} {shape:<13} {events:>9} events {:>8.2} M events/s (cpu {cpu})  peak {:>8.1} MiB  racy {racy} / {locations} locations",
        events as f64 / secs / 1e6,
        peak as f64 / (1 << 20) as f64
    );
}

fn main() {
    let n: usize = std::env::var("WASMGRIND_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_000_000);
    let only: Vec<String> = std::env::var("WASMGRIND_BENCH_ONLY")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let named = |names: &mut dyn Iterator<Item = &str>| -> Vec<String> {
        names
            .filter(|n| only.iter().any(|o| o == n))
            .map(str::to_owned)
            .collect()
    };
    let shapes = named(&mut SHAPES.iter().map(|s| s.name));
    let engines = named(&mut EngineKind::ALL.iter().map(|k| k.name()));
    let dir = tempfile::tempdir().unwrap();
    println!("# {n} events per shape; one core; RapidBin unless noted");
    let many_threads: Option<u32> = std::env::var("WASMGRIND_BENCH_THREADS")
        .ok()
        .map(|v| match v.parse() {
            Ok(t) if (2..=1024).contains(&t) => t,
            _ => panic!("WASMGRIND_BENCH_THREADS={v}: want a thread count in 2..=1024"),
        });
    for (i, shape) in SHAPES.iter().enumerate() {
        if !shapes.is_empty() && !shapes.iter().any(|s| s == shape.name) {
            continue;
        }
        let mut shape = *shape;
        if let (Some(t), "many-threads") = (many_threads, shape.name) {
            shape.threads = t;
            println!("# many-threads with {t} threads");
        }
        let shape = &shape;
        let events = generate(shape, n, 0x9e37_79b9_7f4a_7c15 ^ i as u64);
        let bin = dir.path().join(format!("{}.rapidbin", shape.name));
        let std = dir.path().join(format!("{}.std", shape.name));
        write_files(&events, &bin, &std);
        drop(events);
        for kind in EngineKind::ALL {
            if !engines.is_empty() && !engines.iter().any(|e| e == kind.name()) {
                continue;
            }
            measure(kind.name(), shape.name, || {
                let r = RapidBinReader::open(&bin).unwrap();
                let threads = r.header().threads as usize;
                let rep = analyze(kind, r, Some(threads)).unwrap();
                (rep.events, rep.racy_events, rep.racy_locations)
            });
        }
        if engines.is_empty() || engines.iter().any(|e| e == "fasttrack") {
            measure("fasttrack (STD)", shape.name, || {
                let rep =
                    analyze(EngineKind::FastTrack, StdReader::open(&std).unwrap(), None).unwrap();
                (rep.events, rep.racy_events, rep.racy_locations)
            });
        }
        if !engines.is_empty() && !only.iter().any(|o| o == "read") {
            continue;
        }
        measure("read RapidBin", shape.name, || {
            drain(RapidBinReader::open(&bin).unwrap())
        });
        measure("read STD", shape.name, || {
            drain(StdReader::open(&std).unwrap())
        });
    }
}
