//! A three-lock cycle: A nests M1 → M2, B nests M2 → M3, C nests M3 → M1, each after a
//! different sleep; the inner acquisitions are try-locks that back off, so it terminates.
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

static M1: Mutex<u32> = Mutex::new(0);
static M2: Mutex<u32> = Mutex::new(0);
static M3: Mutex<u32> = Mutex::new(0);

/// Nests `outer` → `inner` once, backing off while `inner` is taken.
fn nest(outer: &Mutex<u32>, inner: &Mutex<u32>) {
    loop {
        let mut g = outer.lock().unwrap(); // LOCK: outer
        let taken = inner.try_lock(); // LOCK: inner
        if let Ok(mut h) = taken {
            *g += 1;
            *h += 1;
            return;
        }
        drop(g);
        thread::sleep(Duration::from_millis(10));
    }
}

fn main() {
    let threads: Vec<_> = [(0u64, 0usize), (100, 1), (200, 2)]
        .into_iter()
        .map(|(delay, i)| {
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(delay));
                let locks = [&M1, &M2, &M3];
                nest(locks[i], locks[(i + 1) % 3]);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    println!(
        "{}",
        *M1.lock().unwrap() + *M2.lock().unwrap() + *M3.lock().unwrap()
    );
}
