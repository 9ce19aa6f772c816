//! Not a potential deadlock: one thread takes M1 → M2 and later M2 → M1; another thread
//! uses each lock alone.
use std::sync::Mutex;
use std::thread;

static M1: Mutex<u32> = Mutex::new(0);
static M2: Mutex<u32> = Mutex::new(0);

fn main() {
    let other = thread::spawn(|| {
        *M1.lock().unwrap() += 1;
        *M2.lock().unwrap() += 1;
    });
    {
        let mut g1 = M1.lock().unwrap();
        let mut g2 = M2.lock().unwrap();
        *g1 += 1;
        *g2 += 1;
    }
    {
        let mut g2 = M2.lock().unwrap();
        let mut g1 = M1.lock().unwrap();
        *g1 += 1;
        *g2 += 1;
    }
    other.join().unwrap();
    println!("{}", *M1.lock().unwrap() + *M2.lock().unwrap());
}
