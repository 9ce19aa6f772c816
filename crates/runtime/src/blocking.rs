//! What every live thread is blocked on, and the rule that decides a program hangs.
//!
//! The hooks keep one entry per live thread: running, in a `memory.atomic.wait` (seen
//! by `wait_begin`, left at `wait_end`), or in a threadlink `thread_join`. The
//! watchdog asks [`Blocking::check`] periodically.
//!
//! # The rule, and why it does not fire on correct programs
//!
//! A thread is *blocked* when it is in a wait without timeout that no notify on its
//! address has reached since it began, or in a join of a thread that is still live.
//! The program *hangs* when every live thread is blocked at two consecutive checks and
//! no state changed in between (the progress counter, bumped by every wait begin/end,
//! notify, join begin/end, thread start and end, is the same).
//!
//! A blocked thread can only be released by another thread: a notify (which that
//! thread makes while running, so not all were blocked, and which marks the waiters on
//! the address as no longer blocked until they wait again, so a notify whose waiter
//! has not yet run its `wait_end` is not mistaken for a hang), a value change without
//! notify (which cannot wake a wait), or a thread's end (which is progress). A
//! thread in a wait with a timeout, or in any other host call (sleep, I/O), counts as
//! running. So when every thread is blocked and nothing changed, nothing can change:
//! the program hangs for good. The one gap is a notify that lands after `wait_begin`
//! but before the thread parks; its waiter then counts as running for
//! [`NOTIFY_GRACE_CHECKS`] checks, a detection delay, never a false report.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::hang::{HangKind, HangReport, ThreadActivity, ThreadHang};
use crate::lock_owners::LockOwners;
use crate::{ThreadId, TrapFrame};

/// How many checks a waiter that a notify reached counts as running.
pub(crate) const NOTIFY_GRACE_CHECKS: u64 = 10;

/// A thread's state as the hooks maintain it.
#[derive(Debug, Clone)]
enum State {
    Running,
    Waiting {
        addr: u64,
        timed: bool,
        stack: Vec<TrapFrame>,
        /// The check count when a notify on `addr` came, if one did.
        notified_at: Option<u64>,
    },
    Joining(ThreadId, Vec<TrapFrame>),
}

#[derive(Debug, Clone)]
struct Entry {
    state: State,
    /// The stack a running thread posted from the epoch callback (for timeouts).
    running_stack: Option<Vec<TrapFrame>>,
}

/// What the last check saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Some thread runs, or the state changed since the previous check.
    Fine,
    /// Every thread is blocked; confirm at the next check.
    Suspect,
    /// Every thread was blocked at two checks in a row with no progress.
    Hung,
}

/// The live threads' states, shared by all threads of a program and the watchdog.
pub(crate) struct Blocking {
    threads: Mutex<BTreeMap<ThreadId, Entry>>,
    progress: AtomicU64,
    checks: AtomicU64,
    /// Progress seen by the previous check that found every thread blocked.
    suspect_at: Mutex<Option<u64>>,
    pub owners: LockOwners,
}

impl Blocking {
    /// The main thread (0) is live from the start.
    pub fn new() -> Self {
        let blocking = Blocking {
            threads: Mutex::new(BTreeMap::new()),
            progress: AtomicU64::new(0),
            checks: AtomicU64::new(0),
            suspect_at: Mutex::new(None),
            owners: LockOwners::new(),
        };
        blocking.register(0);
        blocking
    }

    fn table(&self) -> std::sync::MutexGuard<'_, BTreeMap<ThreadId, Entry>> {
        // Every update is a single insert/assignment: a panic cannot tear the table.
        self.threads.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, tid: ThreadId, state: State) {
        let mut table = self.table();
        if let Some(entry) = table.get_mut(&tid) {
            entry.state = state;
        }
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    /// A thread becomes live (called by its spawner, before it runs).
    pub fn register(&self, tid: ThreadId) {
        self.table().insert(
            tid,
            Entry {
                state: State::Running,
                running_stack: None,
            },
        );
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    /// A thread ended.
    pub fn unregister(&self, tid: ThreadId) {
        self.table().remove(&tid);
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    /// `wait_begin`: `timeout` in ns, negative for none; `stack` the wait's call stack.
    pub fn wait_begin(&self, tid: ThreadId, addr: u64, timeout: i64, stack: Vec<TrapFrame>) {
        self.set(
            tid,
            State::Waiting {
                addr,
                timed: timeout >= 0,
                stack,
                notified_at: None,
            },
        );
    }

    /// `wait_end`, a join's return: the thread runs again.
    pub fn running(&self, tid: ThreadId) {
        self.set(tid, State::Running);
    }

    /// Threadlink `thread_join(target)` begins; `stack` is the join's call stack.
    pub fn join_begin(&self, tid: ThreadId, target: ThreadId, stack: Vec<TrapFrame>) {
        self.set(tid, State::Joining(target, stack));
    }

    /// `memory.atomic.notify` on `addr` waking up to `count` waiters: every waiter on
    /// `addr` counts as running for a while (which ones it wakes is not known).
    pub fn notify(&self, addr: u64, count: u32) {
        if count == 0 {
            return;
        }
        let now = self.checks.load(Ordering::Relaxed);
        let mut table = self.table();
        for entry in table.values_mut() {
            if let State::Waiting {
                addr: a,
                notified_at,
                ..
            } = &mut entry.state
            {
                if *a == addr {
                    *notified_at = Some(now);
                }
            }
        }
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    /// A running thread's stack, posted from its epoch callback.
    pub fn post_running_stack(&self, tid: ThreadId, stack: Vec<TrapFrame>) {
        if let Some(entry) = self.table().get_mut(&tid) {
            entry.running_stack = Some(stack);
        }
    }

    /// Whether every running thread has posted its stack (see [`Self::post_running_stack`]).
    pub fn running_stacks_posted(&self) -> bool {
        self.table()
            .values()
            .all(|e| !matches!(e.state, State::Running) || e.running_stack.is_some())
    }

    /// One periodic check (see the module docs for the rule).
    pub fn check(&self) -> Verdict {
        let now = self.checks.fetch_add(1, Ordering::Relaxed) + 1;
        let table = self.table();
        let progress = self.progress.load(Ordering::Relaxed);
        let all_blocked = !table.is_empty()
            && table.values().all(|e| match &e.state {
                State::Running => false,
                State::Waiting {
                    timed, notified_at, ..
                } => !timed && notified_at.is_none_or(|at| now - at >= NOTIFY_GRACE_CHECKS),
                State::Joining(target, _) => table.contains_key(target),
            });
        drop(table);
        let mut suspect = self.suspect_at.lock().unwrap_or_else(|p| p.into_inner());
        if !all_blocked {
            *suspect = None;
            return Verdict::Fine;
        }
        match *suspect {
            Some(seen) if seen == progress => Verdict::Hung,
            _ => {
                *suspect = Some(progress);
                Verdict::Suspect
            }
        }
    }

    /// The report of the current state: `Deadlock` when threads wait on each other in
    /// a cycle, else `AllBlocked`; or `Timeout` when `timeout_ms` is given.
    pub fn report(&self, timeout_ms: Option<u64>) -> HangReport {
        let table = self.table().clone();
        // Words some thread waits on: the held locks worth reporting. (Other words a
        // thread took with a cmpxchg from 0, such as one-time initialization states
        // that never return to 0, would only be noise.)
        let waited: Vec<u64> = table
            .values()
            .filter_map(|e| match e.state {
                State::Waiting { addr, .. } => Some(addr),
                _ => None,
            })
            .collect();
        let threads: Vec<ThreadHang> = table
            .iter()
            .map(|(&thread, entry)| {
                let (activity, stack) = match &entry.state {
                    State::Running => (
                        ThreadActivity::Running,
                        entry.running_stack.clone().unwrap_or_default(),
                    ),
                    State::Waiting {
                        addr, timed, stack, ..
                    } => (
                        ThreadActivity::Waiting {
                            addr: *addr,
                            owner: self.owners.owner(*addr).filter(|&o| o != thread),
                            timed: *timed,
                        },
                        stack.clone(),
                    ),
                    State::Joining(target, stack) => {
                        (ThreadActivity::Joining { thread: *target }, stack.clone())
                    }
                };
                ThreadHang {
                    thread,
                    activity,
                    stack,
                    holds: self
                        .owners
                        .held_by(thread)
                        .into_iter()
                        .filter(|a| waited.contains(a))
                        .collect(),
                }
            })
            .collect();
        let cycle = find_cycle(&threads);
        let kind = match (timeout_ms, cycle.is_empty()) {
            (Some(_), _) => HangKind::Timeout,
            (None, false) => HangKind::Deadlock,
            (None, true) => HangKind::AllBlocked,
        };
        HangReport {
            kind,
            threads,
            cycle,
            timeout_ms,
        }
    }
}

/// The thread a thread waits for: the owner of the word it waits on, or the thread
/// it joins.
fn waits_for(thread: &ThreadHang) -> Option<ThreadId> {
    match thread.activity {
        ThreadActivity::Waiting {
            owner,
            timed: false,
            ..
        } => owner,
        ThreadActivity::Joining { thread } => Some(thread),
        _ => None,
    }
}

/// A cycle in the waits-for graph (each thread has at most one edge), starting at its
/// lowest thread id; empty if there is none.
pub(crate) fn find_cycle(threads: &[ThreadHang]) -> Vec<ThreadId> {
    let next: BTreeMap<ThreadId, ThreadId> = threads
        .iter()
        .filter_map(|t| Some((t.thread, waits_for(t)?)))
        .collect();
    for &start in next.keys() {
        let mut path = vec![start];
        let mut at = start;
        while let Some(&n) = next.get(&at) {
            if let Some(pos) = path.iter().position(|&p| p == n) {
                let mut cycle = path.split_off(pos);
                let min = cycle
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, &t)| t)
                    .map(|(i, _)| i);
                cycle.rotate_left(min.unwrap_or(0));
                return cycle;
            }
            path.push(n);
            at = n;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmgrind_instrument::AtomicOp;

    /// Thread `t` took the lock word `addr`.
    fn take(b: &Blocking, t: ThreadId, addr: u64) {
        b.owners.atomic(t, AtomicOp::Cmpxchg, addr, 0, 1, 0);
    }

    #[test]
    fn two_threads_waiting_on_each_others_locks_is_a_deadlock_after_two_checks() {
        let b = Blocking::new();
        b.register(1);
        take(&b, 0, 0x10);
        take(&b, 1, 0x20);
        b.wait_begin(0, 0x20, -1, Vec::new());
        assert_eq!(b.check(), Verdict::Fine, "thread 1 still runs");
        b.wait_begin(1, 0x10, -1, Vec::new());
        assert_eq!(b.check(), Verdict::Suspect);
        assert_eq!(b.check(), Verdict::Hung);
        let report = b.report(None);
        assert_eq!(report.kind, HangKind::Deadlock);
        assert_eq!(report.cycle, vec![0, 1]);
        assert_eq!(report.threads[0].holds, vec![0x10]);
        assert_eq!(
            report.threads[1].activity,
            ThreadActivity::Waiting {
                addr: 0x10,
                owner: Some(0),
                timed: false
            }
        );
    }

    #[test]
    fn progress_between_checks_and_notified_waiters_are_not_hangs() {
        let b = Blocking::new();
        b.register(1);
        b.wait_begin(0, 0x10, -1, Vec::new());
        b.wait_begin(1, 0x20, -1, Vec::new());
        assert_eq!(b.check(), Verdict::Suspect);
        // Thread 1 was woken, ran and waits again between the checks.
        b.running(1);
        b.wait_begin(1, 0x20, -1, Vec::new());
        assert_eq!(b.check(), Verdict::Suspect, "progress resets the count");
        // A notify reached thread 0, which has not run its wait_end yet.
        b.notify(0x10, 1);
        for _ in 0..NOTIFY_GRACE_CHECKS - 1 {
            assert_eq!(b.check(), Verdict::Fine);
        }
        // Its grace is over: it really did not wake.
        assert_eq!(b.check(), Verdict::Suspect);
        assert_eq!(b.check(), Verdict::Hung);
        let report = b.report(None);
        assert_eq!(report.kind, HangKind::AllBlocked, "no owners: no cycle");
        assert!(report.cycle.is_empty());
    }

    #[test]
    fn timed_waits_and_joins_of_ended_threads_are_not_blocked() {
        let b = Blocking::new();
        b.register(1);
        b.wait_begin(0, 0x10, 1_000_000, Vec::new());
        b.wait_begin(1, 0x20, -1, Vec::new());
        assert_eq!(b.check(), Verdict::Fine);
        assert_eq!(b.check(), Verdict::Fine);
        b.join_begin(0, 1, Vec::new());
        assert_eq!(b.check(), Verdict::Suspect, "joins a blocked live thread");
        b.unregister(1);
        assert_eq!(b.check(), Verdict::Fine, "the joined thread ended");
    }

    #[test]
    fn join_cycle_and_three_thread_cycle() {
        let b = Blocking::new();
        for t in 1..=3 {
            b.register(t);
        }
        take(&b, 1, 0xa);
        take(&b, 2, 0xb);
        take(&b, 3, 0xc);
        b.wait_begin(1, 0xb, -1, Vec::new());
        b.wait_begin(2, 0xc, -1, Vec::new());
        b.wait_begin(3, 0xa, -1, Vec::new());
        b.join_begin(0, 2, Vec::new());
        let report = b.report(None);
        assert_eq!(report.kind, HangKind::Deadlock);
        assert_eq!(report.cycle, vec![1, 2, 3]);
        assert_eq!(
            report.threads[0].activity,
            ThreadActivity::Joining { thread: 2 }
        );
        assert_eq!(b.report(Some(2000)).kind, HangKind::Timeout);
    }
}
