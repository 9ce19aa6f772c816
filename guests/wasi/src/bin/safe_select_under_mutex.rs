//! No lock-order inversion: crossbeam-channel's select state (see
//! `safe_select_handshake.rs`) nested with a channel's mutex in both orders. The owner
//! claims its own context (an aborted wait) and, still holding the claim, takes the
//! channel's mutex to unregister, then resets the state: a lock's shape. A peer, holding
//! the mutex while it notifies waiters, claims the owner's context for its operation and
//! never resets it (the owner would, at its next operation; the run ends first). The
//! peer never held a lock, so mutex → state → mutex is no cycle.
//! Regression: reported as a potential deadlock in about half of the runs of
//! crossbeam-channel's `golang` tests.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

const WAITING: usize = 0;
const ABORTED: usize = 1;
const SELECTED: usize = 2;

static SELECT: AtomicUsize = AtomicUsize::new(WAITING);
static CHANNEL: Mutex<u32> = Mutex::new(0);

/// Claims the context for `how` if it is still waiting (`Context::try_select`).
#[inline(never)]
fn try_select(how: usize) -> bool {
    SELECT
        .compare_exchange(WAITING, how, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}

/// Makes the context waiting again for the next operation (`Context::reset`).
#[inline(never)]
fn reset() {
    SELECT.store(WAITING, Ordering::Release);
}

fn main() {
    // The peer comes later (by a sleep, which orders nothing) and tries until the owner
    // has reset its context, releasing the mutex between tries.
    let peer = thread::spawn(|| {
        thread::sleep(Duration::from_millis(200));
        loop {
            let mut waiters = CHANNEL.lock().unwrap();
            if try_select(SELECTED) {
                *waiters += 1;
                break;
            }
            drop(waiters);
            thread::sleep(Duration::from_millis(10));
        }
    });
    // The owner: claims its own context, unregisters under the mutex, resets.
    assert!(try_select(ABORTED));
    *CHANNEL.lock().unwrap() += 1;
    reset();
    peer.join().unwrap();
    println!(
        "selected by the peer: {}",
        SELECT.load(Ordering::Acquire) == SELECTED
    );
}
