//! Deadlock through a RwLock: thread 1 holds the write lock and wants the mutex;
//! thread 2 holds the mutex and wants a read lock.
use std::sync::{Arc, Barrier, Mutex, RwLock};
use std::thread;

fn main() {
    let table = Arc::new(RwLock::new(vec![1u32, 2, 3]));
    let log = Arc::new(Mutex::new(Vec::<u32>::new()));
    let barrier = Arc::new(Barrier::new(2));
    let writer = {
        let (table, log, barrier) = (table.clone(), log.clone(), barrier.clone());
        thread::spawn(move || {
            let mut t = table.write().unwrap();
            barrier.wait();
            let mut l = log.lock().unwrap(); // BLOCKS
            t.push(4);
            l.push(4);
        })
    };
    let reader = {
        let (table, log, barrier) = (table.clone(), log.clone(), barrier.clone());
        thread::spawn(move || {
            let mut l = log.lock().unwrap();
            barrier.wait();
            let t = table.read().unwrap(); // BLOCKS
            l.push(t.len() as u32);
        })
    };
    writer.join().unwrap();
    reader.join().unwrap();
    println!("unreachable");
}
