//! Not a potential deadlock: thread A nests M1 → M2 and is joined before thread B, which
//! nests M2 → M1, is spawned: happens-before orders the two sections.
use std::sync::Mutex;
use std::thread;

static M1: Mutex<u32> = Mutex::new(0);
static M2: Mutex<u32> = Mutex::new(0);

fn main() {
    thread::spawn(|| {
        let mut g1 = M1.lock().unwrap();
        let mut g2 = M2.lock().unwrap();
        *g1 += 1;
        *g2 += 1;
    })
    .join()
    .unwrap();
    thread::spawn(|| {
        let mut g2 = M2.lock().unwrap();
        let mut g1 = M1.lock().unwrap();
        *g1 += 1;
        *g2 += 1;
    })
    .join()
    .unwrap();
    println!("{}", *M1.lock().unwrap() + *M2.lock().unwrap());
}
