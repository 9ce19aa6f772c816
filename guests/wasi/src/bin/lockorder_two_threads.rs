//! Lock-order inversion that terminates: thread A nests M1 → M2, thread B (later, by a
//! sleep only, which is no synchronization) nests M2 → M1. The inner acquisition of B is
//! a try-lock that backs off, so even an unlucky schedule cannot deadlock.
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

static M1: Mutex<u32> = Mutex::new(0);
static M2: Mutex<u32> = Mutex::new(0);

fn main() {
    let a = thread::spawn(|| {
        let mut g1 = M1.lock().unwrap(); // LOCK: a-held
        let mut g2 = M2.lock().unwrap(); // LOCK: a-acquired
        *g1 += 1;
        *g2 += 1;
    });
    let b = thread::spawn(|| {
        thread::sleep(Duration::from_millis(200));
        loop {
            let mut g2 = M2.lock().unwrap(); // LOCK: b-held
            let inner = M1.try_lock(); // LOCK: b-acquired
            if let Ok(mut g1) = inner {
                *g1 += 1;
                *g2 += 1;
                break;
            }
            drop(g2);
            thread::sleep(Duration::from_millis(10));
        }
    });
    a.join().unwrap();
    b.join().unwrap();
    println!("{}", *M1.lock().unwrap() + *M2.lock().unwrap());
}
