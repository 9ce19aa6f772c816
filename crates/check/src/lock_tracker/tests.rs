//! Rule-by-rule tests of the lock tracker through its public API.

use super::*;

const G: LockRole = LockRole::Generic;
const K: LockRole = LockRole::KnownMutex;
const I: LockRole = LockRole::Ignore;

fn at(site: u32) -> Place {
    Place {
        site: Some(site),
        stack: 0,
    }
}

/// A 4-byte atomic of `t`: `(result, operand, expected)`.
#[allow(clippy::too_many_arguments)]
fn op(
    tr: &LockTracker,
    t: ThreadId,
    role: LockRole,
    op: AtomicOp,
    addr: u64,
    values: (u64, u64, u64),
    site: u32,
) {
    tr.atomic(t, (role, HbRole::Sync), op, 4, addr, values, at(site));
}

/// cmpxchg(0 → 1) that succeeds.
fn lock(tr: &LockTracker, t: ThreadId, addr: u64, site: u32) {
    op(tr, t, G, AtomicOp::Cmpxchg, addr, (0, 1, 0), site);
}

/// cmpxchg(0 → 1) that finds 1.
fn fail(tr: &LockTracker, t: ThreadId, addr: u64, site: u32) {
    op(tr, t, G, AtomicOp::Cmpxchg, addr, (1, 1, 0), site);
}

/// swap(0) finding 1.
fn unlock(tr: &LockTracker, t: ThreadId, addr: u64, site: u32) {
    op(tr, t, G, AtomicOp::Xchg, addr, (1, 0, 0), site);
}

/// store(0): the value found is not known.
fn store0(tr: &LockTracker, t: ThreadId, addr: u64, site: u32) {
    op(tr, t, G, AtomicOp::Store, addr, (0, 0, 0), site);
}

fn misuses(tr: &LockTracker) -> Vec<(MisuseKind, Option<u32>)> {
    tr.findings()
        .misuses
        .iter()
        .map(|m| (m.kind, m.at.site))
        .collect()
}

#[test]
fn inversion_between_concurrent_threads_is_found_only_for_confirmed_locks() {
    let tr = LockTracker::default();
    tr.fork(0, 1);
    tr.fork(0, 2);
    lock(&tr, 1, 0x10, 1);
    lock(&tr, 1, 0x20, 2);
    unlock(&tr, 1, 0x20, 3);
    unlock(&tr, 1, 0x10, 4);
    lock(&tr, 2, 0x20, 5);
    lock(&tr, 2, 0x10, 6);
    // Words never released by their holder are no locks: no cycle through them.
    lock(&tr, 1, 0x30, 11);
    lock(&tr, 1, 0x40, 12);
    lock(&tr, 2, 0x50, 13);
    unlock(&tr, 2, 0x10, 7);
    unlock(&tr, 2, 0x20, 8);
    let f = tr.findings();
    assert_eq!(f.cycles.len(), 1);
    let edges: Vec<(u64, u64, Option<u32>)> = f.cycles[0]
        .iter()
        .map(|(held, acquired, e)| (*held, *acquired, e.acquired_at.site))
        .collect();
    assert_eq!(edges, vec![(0x10, 0x20, Some(2)), (0x20, 0x10, Some(6))]);
    assert!(f.misuses.is_empty());
}

#[test]
fn an_atomic_flag_between_the_sections_orders_them() {
    let tr = LockTracker::default();
    tr.fork(0, 1);
    tr.fork(0, 2);
    lock(&tr, 1, 0x10, 1);
    lock(&tr, 1, 0x20, 2);
    unlock(&tr, 1, 0x20, 3);
    unlock(&tr, 1, 0x10, 4);
    op(&tr, 1, G, AtomicOp::Store, 0x99, (0, 1, 0), 9);
    op(&tr, 2, G, AtomicOp::Load, 0x99, (1, 0, 0), 9);
    lock(&tr, 2, 0x20, 5);
    lock(&tr, 2, 0x10, 6);
    unlock(&tr, 2, 0x10, 7);
    unlock(&tr, 2, 0x20, 8);
    assert!(tr.findings().cycles.is_empty());
}

#[test]
fn misuses_of_inferred_locks() {
    let tr = LockTracker::default();
    // Unlock of a lock nobody holds (the word is 0, as a free lock is).
    lock(&tr, 1, 0x10, 1);
    unlock(&tr, 1, 0x10, 2);
    store0(&tr, 1, 0x10, 3);
    // Exit holding.
    lock(&tr, 1, 0x20, 4);
    unlock(&tr, 1, 0x20, 5);
    lock(&tr, 2, 0x20, 6);
    // A retried attempt by the holder blocks for good: reported once.
    lock(&tr, 1, 0x30, 7);
    unlock(&tr, 1, 0x30, 8);
    lock(&tr, 1, 0x30, 9);
    fail(&tr, 1, 0x30, 10);
    fail(&tr, 1, 0x30, 11);
    fail(&tr, 1, 0x30, 12);
    unlock(&tr, 1, 0x30, 13);
    // Reported when another thread blocks on what the exited one held.
    tr.exit(2, false);
    fail(&tr, 1, 0x20, 14);
    fail(&tr, 1, 0x20, 15);
    assert_eq!(
        misuses(&tr),
        vec![
            (MisuseKind::UnlockNotHeld, Some(3)),
            (MisuseKind::RecursiveLock, Some(11)),
            (MisuseKind::ExitWhileHolding, Some(6)),
        ]
    );
}

#[test]
fn a_failed_try_lock_by_the_holder_is_no_misuse_unless_it_waits() {
    let tr = LockTracker::default();
    lock(&tr, 1, 0x10, 1);
    unlock(&tr, 1, 0x10, 2);
    lock(&tr, 1, 0x10, 3);
    fail(&tr, 1, 0x10, 4);
    unlock(&tr, 1, 0x10, 5);
    // Failing once each time, with a release in between, never blocks.
    lock(&tr, 1, 0x10, 6);
    fail(&tr, 1, 0x10, 7);
    unlock(&tr, 1, 0x10, 8);
    assert!(misuses(&tr).is_empty());
    // A wait on the word after the failure does block.
    lock(&tr, 1, 0x10, 9);
    fail(&tr, 1, 0x10, 10);
    tr.wait_begin(1, 0x10, at(11));
    assert_eq!(misuses(&tr), vec![(MisuseKind::RecursiveLock, Some(11))]);
}

#[test]
fn std_mutex_relocked_by_its_holder_is_a_recursive_lock() {
    // std's futex Mutex: cmpxchg(0 → 1) fails, then lock_contended's swap(2).
    let tr = LockTracker::default();
    op(&tr, 1, K, AtomicOp::Cmpxchg, 0x10, (0, 1, 0), 1);
    op(&tr, 1, K, AtomicOp::Cmpxchg, 0x10, (1, 1, 0), 2);
    op(&tr, 1, K, AtomicOp::Load, 0x10, (1, 0, 0), 3);
    op(&tr, 1, K, AtomicOp::Xchg, 0x10, (1, 2, 0), 4);
    assert_eq!(misuses(&tr), vec![(MisuseKind::RecursiveLock, Some(4))]);
}

#[test]
fn only_blocking_attempts_are_lock_requests() {
    // Thread 1 nests 0x10 → 0x20. Thread 2 holds 0x20 and try-locks 0x10 once
    // (no edge), then blocks on it (an edge, although it never gets it).
    let tr = LockTracker::default();
    tr.fork(0, 1);
    tr.fork(0, 2);
    lock(&tr, 1, 0x10, 1);
    lock(&tr, 1, 0x20, 2);
    unlock(&tr, 1, 0x20, 3);
    // Thread 2 takes 0x20 while thread 1 still holds 0x10.
    lock(&tr, 2, 0x20, 4);
    fail(&tr, 2, 0x10, 5);
    // 0x10 is a lock: thread 1 releases it, and takes it again.
    unlock(&tr, 1, 0x10, 20);
    assert!(
        tr.findings().cycles.is_empty(),
        "a try-lock cannot deadlock"
    );
    lock(&tr, 1, 0x10, 21);
    fail(&tr, 2, 0x10, 6);
    let cycles = tr.findings().cycles;
    assert_eq!(cycles.len(), 1);
    assert!(cycles[0]
        .iter()
        .any(|(_, _, e)| e.acquired_at.site == Some(6)));
}

#[test]
fn an_inferred_lock_left_held_by_an_exited_thread_counts_once_someone_wants_it() {
    // crossbeam's select state: the owner claims its own context (a timed-out
    // wait) and exits; nobody needs the word again.
    let tr = LockTracker::default();
    lock(&tr, 1, 0x10, 1);
    unlock(&tr, 1, 0x10, 2);
    lock(&tr, 1, 0x10, 3);
    tr.exit(1, false);
    assert!(misuses(&tr).is_empty(), "{:?}", misuses(&tr));
    // Another thread tries it once and gives up (arc-swap's debt slot, found paid).
    fail(&tr, 2, 0x10, 4);
    assert!(misuses(&tr).is_empty(), "{:?}", misuses(&tr));
    // Another thread blocks on it: the exit was a misuse (reported once).
    fail(&tr, 3, 0x10, 4);
    fail(&tr, 3, 0x10, 5);
    fail(&tr, 3, 0x10, 5);
    let found = tr.findings().misuses;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].kind, MisuseKind::ExitWhileHolding);
    assert_eq!((found[0].thread, found[0].at.site), (1, Some(3)));
}

#[test]
fn a_word_reset_by_another_thread_is_a_handshake_not_a_lock() {
    // crossbeam's select state: the owner claims and resets its own context, a
    // peer claims it later and exits, the owner resets it again.
    let tr = LockTracker::default();
    lock(&tr, 0, 0x10, 1);
    store0(&tr, 0, 0x10, 2);
    op(&tr, 1, G, AtomicOp::Cmpxchg, 0x10, (0, 2, 0), 3);
    tr.exit(1, false);
    store0(&tr, 0, 0x10, 2);
    // Later claims of the word are no lock operations either.
    lock(&tr, 0, 0x10, 1);
    tr.exit(0, false);
    // A peer's claim while the owner holds a lock adds no order through it.
    assert!(misuses(&tr).is_empty(), "{:?}", misuses(&tr));
    // An inferred lock unlocked by another thread is not reported either.
    lock(&tr, 2, 0x20, 4);
    unlock(&tr, 2, 0x20, 5);
    lock(&tr, 2, 0x20, 6);
    unlock(&tr, 3, 0x20, 7);
    assert!(misuses(&tr).is_empty(), "{:?}", misuses(&tr));
}

#[test]
fn misuses_of_known_mutexes() {
    let tr = LockTracker::default();
    // Unlocked by another thread (pthread mutexes allow it, std's do not).
    op(&tr, 1, K, AtomicOp::Cmpxchg, 0x10, (0, 16, 0), 1);
    op(&tr, 2, K, AtomicOp::Cmpxchg, 0x10, (16, 0, 16), 2);
    // Held when its thread exits, then unlocked by another one: both.
    op(&tr, 1, K, AtomicOp::Cmpxchg, 0x20, (0, 16, 0), 3);
    tr.exit(1, false);
    op(&tr, 2, K, AtomicOp::Cmpxchg, 0x20, (16, 0, 16), 4);
    assert_eq!(
        misuses(&tr),
        vec![
            (MisuseKind::UnlockByOtherThread, Some(2)),
            (MisuseKind::ExitWhileHolding, Some(3)),
            (MisuseKind::UnlockByOtherThread, Some(4)),
        ]
    );
}

#[test]
fn an_unlock_classified_otherwise_still_releases_its_holders_lock() {
    // wasi-libc: the lock's cmpxchg is in `pthread_mutex_lock`, the unlock's
    // in an inlined `a_swap` that was not recognized.
    let tr = LockTracker::default();
    op(&tr, 1, K, AtomicOp::Cmpxchg, 0x10, (0, 16, 0), 1);
    op(&tr, 1, I, AtomicOp::Cmpxchg, 0x10, (16, 0, 16), 2);
    tr.exit(1, false);
    assert!(misuses(&tr).is_empty(), "{:?}", misuses(&tr));
    // An ignored site releasing a word another thread holds does nothing.
    op(&tr, 2, K, AtomicOp::Cmpxchg, 0x10, (0, 16, 0), 3);
    op(&tr, 3, I, AtomicOp::Cmpxchg, 0x10, (16, 0, 16), 4);
    tr.exit(2, false);
    assert_eq!(misuses(&tr), vec![(MisuseKind::ExitWhileHolding, Some(3))]);
}

#[test]
fn a_plain_write_ends_the_lock_at_that_word() {
    let tr = LockTracker::default();
    lock(&tr, 1, 0x10, 1);
    unlock(&tr, 1, 0x10, 2);
    // Freed and reused: the new object's constructor writes the word plainly,
    // then stores 0 into it.
    tr.plain_write(0x0c, 8);
    store0(&tr, 1, 0x10, 3);
    // Writes next to a word leave it alone.
    lock(&tr, 1, 0x20, 4);
    unlock(&tr, 1, 0x20, 5);
    tr.plain_write(0x24, 4);
    tr.plain_write(0x1c, 4);
    store0(&tr, 1, 0x20, 6);
    // Long writes (a memset) are checked too.
    lock(&tr, 1, 0x30, 7);
    unlock(&tr, 1, 0x30, 8);
    tr.plain_write(0, 0x1000);
    store0(&tr, 1, 0x30, 9);
    assert_eq!(misuses(&tr), vec![(MisuseKind::UnlockNotHeld, Some(6))]);
}

#[test]
fn a_free_word_found_non_zero_is_something_else_now() {
    let tr = LockTracker::default();
    lock(&tr, 1, 0x10, 1);
    unlock(&tr, 1, 0x10, 2);
    // A counter now: fetch_add finds 5, fetch_sub leaves 0.
    op(&tr, 2, G, AtomicOp::Add, 0x10, (5, 1, 0), 3);
    op(&tr, 2, G, AtomicOp::Sub, 0x10, (1, 1, 0), 4);
    // A pointer word: null → pointer, swapped back to null by another thread.
    lock(&tr, 1, 0x20, 5);
    unlock(&tr, 1, 0x20, 6);
    op(&tr, 1, G, AtomicOp::Cmpxchg, 0x20, (0, 0x11_0000, 0), 7);
    op(&tr, 2, G, AtomicOp::Xchg, 0x20, (0x11_0000, 0, 0), 8);
    // A 1-byte flag at a 4-byte lock's address.
    lock(&tr, 1, 0x30, 9);
    unlock(&tr, 1, 0x30, 10);
    tr.atomic(
        1,
        (G, HbRole::Sync),
        AtomicOp::Store,
        1,
        0x30,
        (0, 0, 0),
        at(11),
    );
    tr.atomic(
        1,
        (G, HbRole::Sync),
        AtomicOp::Xchg,
        1,
        0x30,
        (0, 0, 0),
        at(12),
    );
    assert!(misuses(&tr).is_empty(), "{:?}", misuses(&tr));
}

#[test]
fn a_reused_address_is_a_new_lock_in_the_lock_order() {
    let tr = LockTracker::default();
    tr.fork(0, 1);
    tr.fork(0, 2);
    lock(&tr, 1, 0x10, 1);
    lock(&tr, 1, 0x20, 2);
    unlock(&tr, 1, 0x20, 3);
    unlock(&tr, 1, 0x10, 4);
    // 0x20 is freed and becomes another mutex.
    tr.plain_write(0x20, 4);
    lock(&tr, 2, 0x20, 5);
    lock(&tr, 2, 0x10, 6);
    unlock(&tr, 2, 0x10, 7);
    unlock(&tr, 2, 0x20, 8);
    assert!(tr.findings().cycles.is_empty());
}

#[test]
fn a_misuse_survives_the_words_reuse() {
    let tr = LockTracker::default();
    lock(&tr, 1, 0x10, 1);
    tr.exit(1, false);
    unlock(&tr, 2, 0x10, 2);
    assert!(misuses(&tr).is_empty(), "a handshake");
    lock(&tr, 1, 0x20, 3);
    unlock(&tr, 1, 0x20, 4);
    lock(&tr, 2, 0x20, 5);
    tr.exit(2, false);
    fail(&tr, 3, 0x20, 7);
    fail(&tr, 3, 0x20, 7);
    tr.plain_write(0x20, 4);
    store0(&tr, 3, 0x20, 6);
    assert_eq!(misuses(&tr), vec![(MisuseKind::ExitWhileHolding, Some(5))]);
}

#[test]
fn state_words_and_pointers_are_not_locks() {
    let tr = LockTracker::default();
    // A Once: 0 → RUNNING, then RUNNING → COMPLETE by its holder.
    op(&tr, 1, G, AtomicOp::Cmpxchg, 0x30, (0, 2, 0), 1);
    op(&tr, 1, G, AtomicOp::Xchg, 0x30, (2, 4, 0), 2);
    store0(&tr, 2, 0x30, 3);
    // A list head: null → pointer, later swapped back to null by another thread.
    op(&tr, 1, G, AtomicOp::Cmpxchg, 0x40, (0, 0x11_0000, 0), 4);
    op(&tr, 2, G, AtomicOp::Xchg, 0x40, (0x11_0000, 0, 0), 5);
    // A candidate never released: its holder exiting is no misuse.
    lock(&tr, 1, 0x50, 6);
    tr.exit(1, false);
    let f = tr.findings();
    assert!(f.misuses.is_empty(), "{:?}", f.misuses);
}

#[test]
fn threadlink_hooks_define_the_lock() {
    let tr = LockTracker::default();
    let hook = |t, h, site| tr.hook(t, h, 0x10, at(site));
    hook(1, LockHook::StartLock, 1);
    // The mutex's own cmpxchg is not inferred again.
    lock(&tr, 1, 0x10, 2);
    hook(1, LockHook::FinishLock, 3);
    hook(1, LockHook::StartLock, 4);
    hook(2, LockHook::StartUnlock, 5);
    // Plain writes do not end a hooked lock.
    tr.plain_write(0x10, 4);
    hook(2, LockHook::StartUnlock, 6);
    let kinds: Vec<MisuseKind> = tr.findings().misuses.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        vec![
            MisuseKind::RecursiveLock,
            MisuseKind::UnlockByOtherThread,
            MisuseKind::UnlockNotHeld
        ]
    );
}

#[path = "../../../analysis/src/test_rng.rs"]
mod test_rng;

/// One edge instance of a cycle: thread, held lock, acquired lock, and their sites.
type EdgeSummary = (ThreadId, u64, u64, Option<u32>, Option<u32>);

/// The lock-order cycles of `tr`.
fn cycles(tr: &LockTracker) -> Vec<Vec<EdgeSummary>> {
    tr.findings()
        .cycles
        .iter()
        .map(|c| {
            c.iter()
                .map(|(h, a, e)| (e.thread, *h, *a, e.held_at.site, e.acquired_at.site))
                .collect()
        })
        .collect()
}

#[test]
fn starting_the_lock_free_clocks_late_changes_no_verdict() {
    // Random interleavings of three threads taking and releasing three locks (at most
    // two at once) and synchronizing through atomic flags, fed to a tracker whose
    // lock-free clocks start at the first nested request and to one whose clocks run
    // from the start: the cycles must be the same.
    let locks = [0x10u64, 0x20, 0x30];
    let mut found = 0;
    for seed in 1..=2000u64 {
        let mut rng = test_rng::XorShift::new(seed);
        let (lazy, eager) = (LockTracker::default(), LockTracker::default());
        eager.clocks.activate();
        let trackers = [&lazy, &eager];
        let mut holder = [None::<ThreadId>; 3];
        for tr in trackers {
            tr.fork(0, 1);
            tr.fork(0, 2);
            tr.fork(0, 3);
        }
        for step in 0..60u32 {
            let t = 1 + rng.below(3) as ThreadId;
            let l = rng.below(3) as usize;
            let site = 100 * step + t;
            let held = holder.iter().filter(|&&h| h == Some(t)).count();
            match rng.below(4) {
                0 | 1 if holder[l].is_none() && held < 2 => {
                    holder[l] = Some(t);
                    trackers.iter().for_each(|tr| lock(tr, t, locks[l], site));
                }
                0 | 1 if holder[l] == Some(t) => {
                    holder[l] = None;
                    trackers.iter().for_each(|tr| unlock(tr, t, locks[l], site));
                }
                2 => {
                    let flag = 0x90 + 8 * rng.below(2);
                    trackers
                        .iter()
                        .for_each(|tr| op(tr, t, G, AtomicOp::Store, flag, (0, 1, 0), site));
                }
                _ => {
                    let flag = 0x90 + 8 * rng.below(2);
                    trackers
                        .iter()
                        .for_each(|tr| op(tr, t, G, AtomicOp::Load, flag, (1, 0, 0), site));
                }
            }
        }
        // Every holder releases at the end: an inferred lock taken and never released
        // orders nothing (`EdgeRecord::unreleased`).
        for (l, h) in holder.iter().enumerate() {
            if let Some(t) = *h {
                trackers.iter().for_each(|tr| unlock(tr, t, locks[l], 9999));
            }
        }
        let (l, e) = (cycles(&lazy), cycles(&eager));
        assert_eq!(l, e, "seed {seed}");
        found += usize::from(!l.is_empty());
    }
    assert!(found > 50, "the traces exercise cycles ({found} with one)");
}

/// Thread 1 takes the word `S` (its own select state) and, holding it, the mutex `M`,
/// then resets `S` itself; thread 2, holding `M`, sets `S` (a peer selecting thread 1's
/// operation). Returns the tracker for the caller to finish the run.
fn select_handshake_under_a_mutex() -> LockTracker {
    const S: u64 = 0x100;
    const M: u64 = 0x200;
    let tr = LockTracker::default();
    tr.fork(0, 1);
    tr.fork(0, 2);
    lock(&tr, 1, S, 1);
    op(&tr, 1, K, AtomicOp::Cmpxchg, M, (0, 1, 0), 2);
    op(&tr, 1, K, AtomicOp::Xchg, M, (1, 0, 0), 3);
    store0(&tr, 1, S, 4);
    op(&tr, 2, K, AtomicOp::Cmpxchg, M, (0, 1, 0), 5);
    lock(&tr, 2, S, 6);
    op(&tr, 2, K, AtomicOp::Xchg, M, (1, 0, 0), 7);
    tr
}

#[test]
fn a_word_set_under_a_lock_and_never_released_by_its_setter_orders_nothing() {
    // crossbeam-channel's select: thread 2 sets thread 1's state and never resets it
    // (thread 1 would, at its next select). Thread 2's edge M → S is no lock order, so
    // M → S → M is no cycle.
    let tr = select_handshake_under_a_mutex();
    assert!(tr.findings().cycles.is_empty());
    // Once thread 2 releases S itself, S was a lock it held: the inversion counts.
    store0(&tr, 2, 0x100, 8);
    assert_eq!(tr.findings().cycles.len(), 1);
}

#[test]
fn a_blocking_request_never_granted_still_orders() {
    // Thread 1 holds A and B's holder thread 2 waits for A: each fails twice on the
    // other's lock (a deadlock in progress). Neither request is granted, so neither
    // can be released, yet both count.
    let tr = LockTracker::default();
    tr.fork(0, 1);
    tr.fork(0, 2);
    lock(&tr, 1, 0x10, 1);
    unlock(&tr, 1, 0x10, 2);
    lock(&tr, 1, 0x10, 1);
    lock(&tr, 2, 0x20, 3);
    unlock(&tr, 2, 0x20, 4);
    lock(&tr, 2, 0x20, 3);
    fail(&tr, 1, 0x20, 5);
    fail(&tr, 1, 0x20, 5);
    fail(&tr, 2, 0x10, 6);
    fail(&tr, 2, 0x10, 6);
    assert_eq!(tr.findings().cycles.len(), 1);
}

#[test]
fn a_request_given_up_orders_nothing() {
    // As in crossbeam's select, thread 2 holding M fails twice to set thread 1's state
    // S (already selected), then moves on and releases M: no lock was waited for, so
    // M → S → M is no cycle. Still waiting when the run ends, it would be one.
    let tr = LockTracker::default();
    tr.fork(0, 1);
    tr.fork(0, 2);
    // S behaves as a lock of thread 1's first.
    lock(&tr, 1, 0x100, 1);
    store0(&tr, 1, 0x100, 4);
    lock(&tr, 1, 0x100, 1);
    op(&tr, 1, K, AtomicOp::Cmpxchg, 0x200, (0, 1, 0), 2);
    op(&tr, 1, K, AtomicOp::Xchg, 0x200, (1, 0, 0), 3);
    op(&tr, 2, K, AtomicOp::Cmpxchg, 0x200, (0, 1, 0), 5);
    fail(&tr, 2, 0x100, 6);
    fail(&tr, 2, 0x100, 6);
    assert_eq!(tr.findings().cycles.len(), 1, "still waiting: a deadlock");
    op(&tr, 2, K, AtomicOp::Xchg, 0x200, (1, 0, 0), 7);
    store0(&tr, 1, 0x100, 4);
    assert!(tr.findings().cycles.is_empty());
}

const STD_RW: LockRole = LockRole::RwLock(RwScheme::StdFutex);
const MUSL_RW: LockRole = LockRole::RwLock(RwScheme::Musl);
/// Rust std's write-locked reader count.
const WRITE_LOCKED: u64 = (1 << 30) - 1;

/// std's `read`: cmpxchg(readers → readers + 1).
fn read_lock(tr: &LockTracker, t: ThreadId, role: LockRole, addr: u64, readers: u64) {
    let values = (readers, readers + 1, readers);
    op(tr, t, role, AtomicOp::Cmpxchg, addr, values, 40);
}

/// std's `write`: cmpxchg(0 → WRITE_LOCKED).
fn write_lock(tr: &LockTracker, t: ThreadId, addr: u64) {
    op(
        tr,
        t,
        STD_RW,
        AtomicOp::Cmpxchg,
        addr,
        (0, WRITE_LOCKED, 0),
        41,
    );
}

/// std's `read_unlock` / `write_unlock`: fetch_sub of one reader / of the write lock.
fn rw_unlock(tr: &LockTracker, t: ThreadId, addr: u64, found: u64) {
    let operand = if found == WRITE_LOCKED {
        WRITE_LOCKED
    } else {
        1
    };
    op(tr, t, STD_RW, AtomicOp::Sub, addr, (found, operand, 0), 42);
}

/// Thread 1 nests the rwlock at 0x10 (taken by `first`) around the mutex at 0x20;
/// thread 2, concurrently, the mutex around the rwlock (taken by `second`).
fn rw_inversion(
    first: impl Fn(&LockTracker, ThreadId),
    second: impl Fn(&LockTracker, ThreadId),
) -> usize {
    let tr = LockTracker::default();
    tr.fork(0, 1);
    tr.fork(0, 2);
    first(&tr, 1);
    op(&tr, 1, K, AtomicOp::Cmpxchg, 0x20, (0, 1, 0), 2);
    op(&tr, 1, K, AtomicOp::Xchg, 0x20, (1, 0, 0), 3);
    op(&tr, 2, K, AtomicOp::Cmpxchg, 0x20, (0, 1, 0), 4);
    second(&tr, 2);
    let f = tr.findings();
    assert!(f.misuses.is_empty(), "{:?}", f.misuses);
    f.cycles.len()
}

#[test]
fn rwlock_inversions_count_when_a_request_waits_for_the_hold() {
    let write = |tr: &LockTracker, t| write_lock(tr, t, 0x10);
    let std_read = |tr: &LockTracker, t| read_lock(tr, t, STD_RW, 0x10, 0);
    let musl_read = |tr: &LockTracker, t| read_lock(tr, t, MUSL_RW, 0x10, 0);
    assert_eq!(
        rw_inversion(write, std_read),
        1,
        "a reader waits for a writer"
    );
    assert_eq!(
        rw_inversion(std_read, write),
        1,
        "a writer waits for a reader"
    );
    assert_eq!(
        rw_inversion(std_read, std_read),
        1,
        "std's readers wait behind a waiting writer"
    );
    assert_eq!(
        rw_inversion(musl_read, musl_read),
        0,
        "musl's readers never wait for readers"
    );
}

#[test]
fn rwlock_readers_hold_it_together_and_release_their_own() {
    let tr = LockTracker::default();
    tr.fork(0, 1);
    tr.fork(0, 2);
    read_lock(&tr, 1, STD_RW, 0x10, 0);
    read_lock(&tr, 2, STD_RW, 0x10, 1);
    // Thread 1 leaves first: no misuse, and thread 2 still holds its read lock, so
    // its nesting of the mutex at 0x20 is an edge.
    rw_unlock(&tr, 1, 0x10, 2);
    op(&tr, 2, K, AtomicOp::Cmpxchg, 0x20, (0, 1, 0), 2);
    op(&tr, 2, K, AtomicOp::Xchg, 0x20, (1, 0, 0), 3);
    rw_unlock(&tr, 2, 0x10, 1);
    // Thread 1, concurrently, the other way round, to write.
    op(&tr, 1, K, AtomicOp::Cmpxchg, 0x20, (0, 1, 0), 4);
    write_lock(&tr, 1, 0x10);
    rw_unlock(&tr, 1, 0x10, WRITE_LOCKED);
    op(&tr, 1, K, AtomicOp::Xchg, 0x20, (1, 0, 0), 5);
    let f = tr.findings();
    assert!(f.misuses.is_empty(), "{:?}", f.misuses);
    assert_eq!(f.cycles.len(), 1);
    let modes: Vec<(Mode, Mode)> = f.cycles[0].iter().map(|(_, _, e)| e.modes).collect();
    let read = Mode::Read {
        writer_preferring: true,
    };
    assert!(modes.contains(&(read, Mode::Exclusive)), "{modes:?}");
    assert!(modes.contains(&(Mode::Exclusive, Mode::Write)), "{modes:?}");
}

#[test]
fn rwlock_waiting_flags_and_downgrade() {
    let tr = LockTracker::default();
    tr.fork(0, 1);
    tr.fork(0, 2);
    write_lock(&tr, 1, 0x10);
    // A reader sets the readers-waiting flag: no lock operation, no misuse.
    let flagged = WRITE_LOCKED | 1 << 30;
    op(
        &tr,
        2,
        STD_RW,
        AtomicOp::Cmpxchg,
        0x10,
        (WRITE_LOCKED, flagged, WRITE_LOCKED),
        43,
    );
    // The writer downgrades to a read lock, then nests the mutex: a read-held edge.
    let downgrade = 1u64.wrapping_sub(WRITE_LOCKED) & 0xffff_ffff;
    op(
        &tr,
        1,
        STD_RW,
        AtomicOp::Add,
        0x10,
        (flagged, downgrade, 0),
        44,
    );
    op(&tr, 1, K, AtomicOp::Cmpxchg, 0x20, (0, 1, 0), 2);
    op(&tr, 1, K, AtomicOp::Xchg, 0x20, (1, 0, 0), 3);
    rw_unlock(&tr, 1, 0x10, 1);
    op(&tr, 2, K, AtomicOp::Cmpxchg, 0x20, (0, 1, 0), 4);
    write_lock(&tr, 2, 0x10);
    let f = tr.findings();
    assert!(f.misuses.is_empty(), "{:?}", f.misuses);
    let modes: Vec<(Mode, Mode)> = f.cycles.iter().flatten().map(|(_, _, e)| e.modes).collect();
    assert!(
        modes.contains(&(
            Mode::Read {
                writer_preferring: true
            },
            Mode::Exclusive
        )),
        "{modes:?}"
    );
}

#[test]
fn an_rwlock_released_by_code_known_by_no_name_is_released() {
    // Without DWARF, std's inlined `read_unlock` is the program's code or std's guard.
    for role in [G, I] {
        let tr = LockTracker::default();
        tr.fork(0, 1);
        read_lock(&tr, 1, STD_RW, 0x10, 0);
        op(&tr, 1, role, AtomicOp::Sub, 0x10, (1, 1, 0), 42);
        let f = {
            op(&tr, 1, K, AtomicOp::Cmpxchg, 0x20, (0, 1, 0), 2);
            op(&tr, 1, K, AtomicOp::Xchg, 0x20, (1, 0, 0), 3);
            tr.exit(1, false);
            tr.findings()
        };
        assert!(f.misuses.is_empty(), "{role:?}: {:?}", f.misuses);
        let holds = tr.thread(1).map_or(0, |th| th.held.len());
        assert_eq!(holds, 0, "{role:?}");
    }
}

#[test]
fn a_plain_write_over_an_rwlock_ends_every_readers_hold() {
    let tr = LockTracker::default();
    tr.fork(0, 1);
    tr.fork(0, 2);
    read_lock(&tr, 1, STD_RW, 0x10, 0);
    read_lock(&tr, 2, STD_RW, 0x10, 1);
    tr.plain_write(0x10, 4);
    for t in [1, 2] {
        assert_eq!(tr.thread(t).map_or(0, |th| th.held.len()), 0, "thread {t}");
    }
}

#[test]
fn locks_held_when_the_program_ends_are_no_misuse() {
    // A thread that exits holding a std mutex and a read lock is a misuse; one whose
    // end ends the program (a panic aborting inside the sections) is not.
    for ends_program in [false, true] {
        let tr = LockTracker::default();
        tr.fork(0, 1);
        op(&tr, 1, K, AtomicOp::Cmpxchg, 0x20, (0, 1, 0), 2);
        read_lock(&tr, 1, STD_RW, 0x10, 0);
        tr.exit(1, ends_program);
        let kinds: Vec<MisuseKind> = tr.findings().misuses.iter().map(|m| m.kind).collect();
        let expected = if ends_program {
            vec![]
        } else {
            vec![MisuseKind::ExitWhileHolding; 2]
        };
        assert_eq!(kinds, expected, "ends_program: {ends_program}");
    }
}
