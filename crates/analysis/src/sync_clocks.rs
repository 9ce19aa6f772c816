//! Happens-before clocks of threads and locks: program order, release→acquire on the
//! same lock, fork and join. Shared by the vector-clock engines.
//!
//! Invariant: a thread's own entry starts at 1 and is incremented right after each of
//! its releases, forks and joins-as-child, so an event's own entry (its epoch) is
//! covered by another clock exactly when that event happens before the clock's owner.

use wasmgrind_trace::{Event, Op};

use crate::clock::{Tid, VectorClock};
use crate::id_map::IdMap;

/// Vector clocks of every thread and of every lock's last release.
#[derive(Debug, Default)]
pub struct SyncClocks {
    threads: Vec<VectorClock>,
    locks: IdMap<VectorClock>,
}

impl SyncClocks {
    /// No threads, no locks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of thread clocks (highest thread id seen + 1).
    #[inline]
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// Entry `u` of thread `t`'s clock (0 before `t`'s first use).
    #[inline]
    pub fn get(&self, t: Tid, u: Tid) -> u32 {
        self.threads.get(t as usize).map_or(0, |c| c.get(u))
    }

    /// The clock of thread `t`, initialized to `1@t` on first use.
    #[inline]
    pub fn thread(&mut self, t: Tid) -> &mut VectorClock {
        let i = t as usize;
        if i >= self.threads.len() {
            self.threads.resize_with(i + 1, VectorClock::new);
        }
        let c = &mut self.threads[i];
        if c.get(t) == 0 {
            c.set(t, 1);
        }
        c
    }

    /// Applies a synchronization event (acquire, release, fork, join); accesses and
    /// lock requests are ignored.
    #[inline]
    pub fn sync(&mut self, e: &Event) {
        let t = e.thread;
        match e.op {
            Op::Acquire => {
                self.thread(t);
                if let Some(l) = self.locks.get(e.decor) {
                    self.threads[t as usize].join(l);
                }
            }
            Op::Release => {
                self.thread(t);
                self.locks
                    .entry(e.decor)
                    .copy_from(&self.threads[t as usize]);
                self.threads[t as usize].inc(t);
            }
            Op::Fork => {
                let u = e.decor as Tid;
                if u == t {
                    return;
                }
                self.thread(u);
                let parent = self.thread(t).clone();
                self.threads[u as usize].join(&parent);
                self.threads[t as usize].inc(t);
            }
            Op::Join => {
                let u = e.decor as Tid;
                if u == t {
                    return;
                }
                self.thread(t);
                let child = self.thread(u).clone();
                self.threads[t as usize].join(&child);
                self.threads[u as usize].inc(u);
            }
            Op::Read | Op::Write | Op::LockRequest => {}
        }
    }
}
