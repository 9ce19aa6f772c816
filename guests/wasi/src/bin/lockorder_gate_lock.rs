//! Not a potential deadlock: both threads nest M1 and M2 in opposite orders, but always
//! while holding the gate lock G, so their nested sections can never overlap.
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

static G: Mutex<()> = Mutex::new(());
static M1: Mutex<u32> = Mutex::new(0);
static M2: Mutex<u32> = Mutex::new(0);

fn main() {
    let a = thread::spawn(|| {
        let _gate = G.lock().unwrap();
        let mut g1 = M1.lock().unwrap();
        let mut g2 = M2.lock().unwrap();
        *g1 += 1;
        *g2 += 1;
    });
    let b = thread::spawn(|| {
        thread::sleep(Duration::from_millis(100));
        let _gate = G.lock().unwrap();
        let mut g2 = M2.lock().unwrap();
        let mut g1 = M1.lock().unwrap();
        *g1 += 1;
        *g2 += 1;
    });
    a.join().unwrap();
    b.join().unwrap();
    println!("{}", *M1.lock().unwrap() + *M2.lock().unwrap());
}
