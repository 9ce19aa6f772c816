//! Not a potential deadlock: two threads nest a `pthread_rwlock_t` taken for reading
//! and a mutex in opposite orders. musl's readers never wait for readers (a reader gets
//! in while the lock is not write-locked, waiting writers or not), so B's read request
//! cannot wait for A's read hold. Besides, both threads read a std `RwLock` as a gate
//! around a nesting of two mutexes in one order, which is no inversion either.
use std::sync::{Mutex, RwLock};
use std::thread;
use std::time::Duration;

use wasi_guests::pthread::{pthread_rwlock_rdlock, pthread_rwlock_unlock, Global, PthreadRwlock};

static CONFIG: Global<PthreadRwlock> = Global::new(PthreadRwlock::INIT);
static STATE: Mutex<u32> = Mutex::new(0);
static GATE: RwLock<()> = RwLock::new(());
static M1: Mutex<u32> = Mutex::new(0);
static M2: Mutex<u32> = Mutex::new(0);

/// Reads `CONFIG` around `f`.
fn with_config(f: impl FnOnce()) {
    // SAFETY: `CONFIG` is a statically initialized rwlock, locked and unlocked in pairs.
    unsafe { assert_eq!(pthread_rwlock_rdlock(CONFIG.get()), 0) };
    f();
    // SAFETY: as above; this thread holds it for reading.
    unsafe { assert_eq!(pthread_rwlock_unlock(CONFIG.get()), 0) };
}

/// M1 then M2, under the gate read.
fn nested() {
    let _gate = GATE.read().unwrap();
    let mut m1 = M1.lock().unwrap();
    let mut m2 = M2.lock().unwrap();
    *m1 += 1;
    *m2 += 1;
}

fn main() {
    let a = thread::spawn(|| {
        with_config(|| *STATE.lock().unwrap() += 1);
        nested();
    });
    let b = thread::spawn(|| {
        thread::sleep(Duration::from_millis(100));
        let mut state = STATE.lock().unwrap();
        with_config(|| *state += 1);
        drop(state);
        nested();
    });
    a.join().unwrap();
    b.join().unwrap();
    println!("{} {}", *STATE.lock().unwrap(), *M1.lock().unwrap());
}
