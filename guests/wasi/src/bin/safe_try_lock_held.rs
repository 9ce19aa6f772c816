//! No lock misuse: the holder of a spin lock calls `try_lock` again, which fails and
//! returns `None` as documented; nothing blocks. spin's own `SpinMutex::try_lock` test
//! does this. Regression: it was reported as "recursive lock of a non-recursive
//! mutex"; a failed attempt by the holder is only a self-deadlock when it is retried
//! or followed by a wait (`misuse_spin.rs` retries).
use std::sync::atomic::{AtomicBool, Ordering};

/// The lock word of a spin mutex, as in the spin crate: `false` free, `true` held.
struct SpinMutex(AtomicBool);

impl SpinMutex {
    #[inline(never)]
    fn try_lock(&self) -> bool {
        self.0
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    #[inline(never)]
    fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }
}

static MUTEX: SpinMutex = SpinMutex(AtomicBool::new(false));

fn main() {
    assert!(MUTEX.try_lock());
    MUTEX.unlock();
    assert!(MUTEX.try_lock());
    let second = MUTEX.try_lock(); // once: "recursive lock of a non-recursive mutex"
    MUTEX.unlock();
    println!("second try_lock while held: {second}");
}
