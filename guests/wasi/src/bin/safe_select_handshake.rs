//! No lock misuse: a state word in the style of crossbeam-channel's
//! `Context::select` (0 = waiting, 1 = aborted, 2 = selected by a peer). Whoever
//! claims the waiting context does a compare_exchange 0 → non-zero; the owner later
//! resets it with a store of 0. That is a lock's shape, so once the owner has claimed
//! and reset its own context (a timed-out wait), the word looked like a lock.
//! Regression: the peer that claimed it was reported as exiting while holding it,
//! and the owner's reset as unlocking a lock it does not hold (crossbeam-channel's
//! suites also showed "unlock of a lock held by another thread" and "recursive lock"
//! from the same word). A word set by one thread and reset by another is no lock.
use std::thread;

use wasi_guests::select::{SelectContext, ABORTED, SELECTED};

static SELECT: SelectContext = SelectContext::new();

fn main() {
    // Operation 1: nobody came, the owner aborts its own wait and resets.
    assert!(SELECT.try_select(ABORTED));
    SELECT.reset();
    // Operation 2: a peer selects the waiting context; the owner sees it and resets.
    thread::spawn(|| assert!(SELECT.try_select(SELECTED)))
        .join()
        .unwrap();
    let seen = SELECT.state();
    SELECT.reset(); // once: "unlock of a lock not held"
    println!("selected by the peer: {}", seen == SELECTED);
}
