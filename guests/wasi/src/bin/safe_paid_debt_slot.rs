//! Race-free, no lock misuse: a word shaped like a lock that is none. arc-swap's debt
//! slots hold a pointer owed (0 for a `None`) or `NONE` (3) when nothing is owed: the
//! owner writes 0 when it takes a debt and pays it back itself with a compare-exchange
//! 0 → 3, or another thread pays it (the same compare-exchange) and moves on, possibly
//! to exit. The owner then finds its debt paid: one failed compare-exchange, and it
//! gives up, as a `try_lock` does. Regression: the paying thread's exit was reported as
//! "thread exited while holding a lock" once the owner's single failed attempt came.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// Nothing owed.
const NONE: usize = 0b11;

/// The owner's debt slot.
static SLOT: AtomicUsize = AtomicUsize::new(NONE);

/// Pays the debt on `ptr` if it is still owed: whether this call paid it.
#[inline(never)]
fn pay(ptr: usize) -> bool {
    SLOT.compare_exchange(ptr, NONE, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}

fn main() {
    // The owner takes a debt on `None` and pays it back itself.
    SLOT.store(0, Ordering::SeqCst);
    assert!(pay(0));
    // Takes another, which a writer pays (then the writer's thread ends).
    SLOT.store(0, Ordering::SeqCst);
    let paid_by_writer = thread::spawn(|| pay(0)).join().unwrap();
    // The owner finds it paid and moves on.
    let paid_by_owner = pay(0);
    println!("paid by the writer: {paid_by_writer}, by the owner: {paid_by_owner}");
}
