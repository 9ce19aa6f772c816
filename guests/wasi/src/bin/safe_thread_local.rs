//! Race-free: every thread bumps its own `thread_local!` counters (a Cell and a heap
//! RefCell<Vec>); no state is shared.
use std::cell::{Cell, RefCell};
use std::thread;

thread_local! {
    static COUNT: Cell<u64> = const { Cell::new(0) };
    static LOG: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Bumps this thread's counters `n` times and returns (count, log length).
fn work(n: u64) -> (u64, usize) {
    for i in 0..n {
        COUNT.with(|c| c.set(c.get() + 1));
        LOG.with(|l| l.borrow_mut().push(i));
    }
    (COUNT.with(Cell::get), LOG.with(|l| l.borrow().len()))
}

fn main() {
    let handles: Vec<_> = (1..=4u64)
        .map(|t| thread::spawn(move || work(t * 10)))
        .collect();
    let mine = work(5);
    let theirs: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("thread_local {theirs:?} main {mine:?}");
}
