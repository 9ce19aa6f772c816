//! Lock-order inversion through a reader-writer lock, which terminates: thread A
//! write-locks `TABLE` and then takes `LOG`; thread B (later, by a sleep only, which is
//! no synchronization) takes `LOG` and then asks to read `TABLE`. A reader waits for a
//! writer, so the two orders can deadlock; B's read is a try-read that backs off, so
//! even an unlucky schedule cannot.
use std::sync::{Mutex, RwLock};
use std::thread;
use std::time::Duration;

static TABLE: RwLock<u32> = RwLock::new(0);
static LOG: Mutex<u32> = Mutex::new(0);

fn main() {
    let a = thread::spawn(|| {
        let mut table = TABLE.write().unwrap(); // LOCK: a-held
        let mut log = LOG.lock().unwrap(); // LOCK: a-acquired
        *table += 1;
        *log += 1;
    });
    let b = thread::spawn(|| {
        thread::sleep(Duration::from_millis(200));
        loop {
            let mut log = LOG.lock().unwrap(); // LOCK: b-held
            let table = TABLE.try_read(); // LOCK: b-acquired
            if let Ok(table) = table {
                *log += *table;
                break;
            }
            drop(log);
            thread::sleep(Duration::from_millis(10));
        }
    });
    a.join().unwrap();
    b.join().unwrap();
    println!("{}", *LOG.lock().unwrap());
}
