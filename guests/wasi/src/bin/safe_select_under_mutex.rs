//! No lock-order inversion: crossbeam-channel's select state (see
//! `safe_select_handshake.rs`) nested with a channel's mutex in both orders. The owner
//! claims its own context (an aborted wait) and, still holding the claim, takes the
//! channel's mutex to unregister, then resets the state: a lock's shape. A peer, holding
//! the mutex while it notifies waiters, claims the owner's context for its operation and
//! never resets it (the owner would, at its next operation; the run ends first). The
//! peer never held a lock, so mutex → state → mutex is no cycle.
//! Regression: reported as a potential deadlock in about half of the runs of
//! crossbeam-channel's `golang` tests.
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use wasi_guests::select::{SelectContext, ABORTED, SELECTED};

static SELECT: SelectContext = SelectContext::new();
static CHANNEL: Mutex<u32> = Mutex::new(0);

fn main() {
    // The peer comes later (by a sleep, which orders nothing) and tries until the owner
    // has reset its context, releasing the mutex between tries.
    let peer = thread::spawn(|| {
        thread::sleep(Duration::from_millis(200));
        loop {
            let mut waiters = CHANNEL.lock().unwrap();
            if SELECT.try_select(SELECTED) {
                *waiters += 1;
                break;
            }
            drop(waiters);
            thread::sleep(Duration::from_millis(10));
        }
    });
    // The owner: claims its own context, unregisters under the mutex, resets.
    assert!(SELECT.try_select(ABORTED));
    *CHANNEL.lock().unwrap() += 1;
    SELECT.reset();
    peer.join().unwrap();
    println!("selected by the peer: {}", SELECT.state() == SELECTED);
}
