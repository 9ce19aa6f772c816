//! Mutex, RwLock, Condvar, mpsc, Barrier and thread_local! across threads; prints one
//! line per primitive with a result that is only right if the primitive works.
use std::cell::Cell;
use std::sync::{mpsc, Arc, Barrier, Condvar, Mutex, RwLock};
use std::thread;

thread_local!(static LOCAL: Cell<u32> = const { Cell::new(0) });

fn main() {
    let counter = Arc::new(Mutex::new(0u32));
    let hs: Vec<_> = (0..8)
        .map(|_| {
            let c = counter.clone();
            thread::spawn(move || (0..1000).for_each(|_| *c.lock().unwrap() += 1))
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    println!("mutex {}", *counter.lock().unwrap());

    let table = Arc::new(RwLock::new(vec![1u32; 100]));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let t = table.clone();
            thread::spawn(move || t.read().unwrap().iter().sum::<u32>())
        })
        .collect();
    table.write().unwrap().push(1);
    let sums: Vec<u32> = readers.into_iter().map(|h| h.join().unwrap()).collect();
    println!("rwlock {}", sums.iter().all(|s| *s == 100 || *s == 101));

    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p = pair.clone();
    let waiter = thread::spawn(move || {
        let (lock, cv) = &*p;
        let mut ready = lock.lock().unwrap();
        while !*ready {
            ready = cv.wait(ready).unwrap();
        }
        "woken"
    });
    *pair.0.lock().unwrap() = true;
    pair.1.notify_all();
    println!("condvar {}", waiter.join().unwrap());

    let (tx, rx) = mpsc::channel();
    for i in 0..4u32 {
        let tx = tx.clone();
        thread::spawn(move || (0..100).for_each(|j| tx.send(i * 100 + j).unwrap()));
    }
    drop(tx);
    println!("mpsc {}", rx.iter().map(u64::from).sum::<u64>());

    let barrier = Arc::new(Barrier::new(5));
    let hs: Vec<_> = (0..5)
        .map(|_| {
            let b = barrier.clone();
            thread::spawn(move || b.wait().is_leader() as u32)
        })
        .collect();
    println!(
        "barrier leaders {}",
        hs.into_iter().map(|h| h.join().unwrap()).sum::<u32>()
    );

    let hs: Vec<_> = (1..=4u32)
        .map(|i| {
            thread::spawn(move || {
                (0..i).for_each(|_| LOCAL.with(|l| l.set(l.get() + 1)));
                LOCAL.with(Cell::get)
            })
        })
        .collect();
    let locals: Vec<u32> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    println!("thread_local {locals:?} main {}", LOCAL.with(Cell::get));
}
