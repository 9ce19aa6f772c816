//! Lock misuse with wasi-libc's `pthread_mutex_t`, a mutex known by name: an unlock
//! by a thread that does not hold it (a normal pthread mutex lets it through) and a
//! thread exiting with the mutex held. A correct lock/unlock by two threads first
//! shows the lock side and the unlock side are both recognized.
use std::thread;

use wasi_guests::pthread::{pthread_mutex_lock, pthread_mutex_unlock, Global, PthreadMutex};

/// A pthread mutex shared by reference between threads (this guest misuses it on
/// purpose in ways a normal mutex tolerates: no owner check, never destroyed).
struct Mutex(Global<PthreadMutex>);

impl Mutex {
    const fn new() -> Self {
        Mutex(Global::new(PthreadMutex::INIT))
    }

    #[inline(never)]
    fn lock(&self) {
        // SAFETY: the mutex is a static, initialized with `PTHREAD_MUTEX_INITIALIZER`.
        assert_eq!(unsafe { pthread_mutex_lock(self.0.get()) }, 0);
    }

    #[inline(never)]
    fn unlock(&self) {
        // SAFETY: as above; a normal mutex does not check who unlocks it.
        assert_eq!(unsafe { pthread_mutex_unlock(self.0.get()) }, 0);
    }
}

static OTHER: Mutex = Mutex::new();
static EXIT: Mutex = Mutex::new();

fn main() {
    OTHER.lock();
    OTHER.unlock();
    thread::spawn(|| {
        OTHER.lock();
        OTHER.unlock();
    })
    .join()
    .unwrap();

    OTHER.lock(); // LOCK: unlock_by_other_thread-acquired
    thread::spawn(|| OTHER.unlock()) // LOCK: unlock_by_other_thread
        .join()
        .unwrap();

    thread::spawn(|| EXIT.lock()) // LOCK: exit_while_holding
        .join()
        .unwrap();
    println!("misused two pthread mutexes");
}
