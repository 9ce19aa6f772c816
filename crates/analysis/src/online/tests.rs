//! Rule-by-rule tests of the detector through its public API.

use super::*;

const X: u64 = 0x1000;

fn det() -> Detector {
    Detector::default()
}

fn pairs(races: &[Race]) -> Vec<(u32, u32)> {
    let mut p: Vec<_> = races.iter().map(Race::site_pair).collect();
    p.sort_unstable();
    p
}

/// Main thread 0 forks 1 and 2 before anything else.
fn two_workers() -> Detector {
    let d = det();
    d.fork(0, 1);
    d.fork(0, 2);
    d
}

#[test]
fn write_write_race_reports_both_sides() {
    let d = two_workers();
    d.accesses(1, &[Access::write(X, 4, 10).with_stack(7)]);
    d.accesses(2, &[Access::write(X, 4, 20).with_stack(8)]);
    let races = d.take_races();
    assert_eq!(races.len(), 1);
    let r = races[0];
    assert_eq!(
        (r.current.thread, r.current.site, r.current.stack),
        (2, 20, 8)
    );
    assert_eq!(
        (r.previous.thread, r.previous.site, r.previous.stack),
        (1, 10, 7)
    );
    assert!(r.current.write && r.previous.write);
    assert_eq!((r.previous.addr, r.previous.size), (X, 4));
    assert!(d.take_races().is_empty(), "take_races drains");
}

#[test]
fn read_write_race_in_both_orders() {
    let d = two_workers();
    d.accesses(1, &[Access::read(X, 4, 10)]);
    d.accesses(2, &[Access::write(X, 4, 20)]);
    d.accesses(1, &[Access::write(X + 8, 4, 11)]);
    d.accesses(2, &[Access::read(X + 8, 4, 21)]);
    assert_eq!(pairs(&d.take_races()), vec![(10, 20), (11, 21)]);
}

#[test]
fn reads_never_race_with_reads() {
    let d = two_workers();
    d.accesses(1, &[Access::read(X, 8, 10)]);
    d.accesses(2, &[Access::read(X, 8, 20)]);
    assert!(d.take_races().is_empty());
}

#[test]
fn same_thread_never_races() {
    let d = two_workers();
    d.accesses(1, &[Access::write(X, 4, 10), Access::read(X, 4, 11)]);
    d.release(1, SyncId::Lock(1));
    d.accesses(1, &[Access::write(X, 8, 12)]);
    assert!(d.take_races().is_empty());
}

#[test]
fn fork_orders_parent_before_child() {
    let d = det();
    d.accesses(0, &[Access::write(X, 4, 10)]);
    d.fork(0, 1);
    d.accesses(1, &[Access::write(X, 4, 20)]);
    assert!(d.take_races().is_empty());
    // But the parent's accesses after the fork are concurrent with the child's.
    d.accesses(0, &[Access::read(X, 4, 11)]);
    assert_eq!(pairs(&d.take_races()), vec![(11, 20)]);
}

#[test]
fn join_orders_child_before_joiner() {
    let d = det();
    d.fork(0, 1);
    d.accesses(1, &[Access::write(X, 4, 20)]);
    d.thread_exit(1);
    d.join(0, 1);
    d.accesses(0, &[Access::write(X, 4, 10)]);
    assert!(d.take_races().is_empty());
}

#[test]
fn same_lock_orders_different_locks_do_not() {
    let d = two_workers();
    let l = SyncId::Lock(0x40);
    d.acquire(1, l);
    d.accesses(1, &[Access::write(X, 4, 10)]);
    d.release(1, l);
    d.acquire(2, l);
    d.accesses(2, &[Access::write(X, 4, 20)]);
    d.release(2, l);
    assert!(d.take_races().is_empty());

    let d = two_workers();
    d.acquire(1, l);
    d.accesses(1, &[Access::write(X, 4, 10)]);
    d.release(1, l);
    d.acquire(2, SyncId::Lock(0x80));
    d.accesses(2, &[Access::write(X, 4, 20)]);
    d.release(2, SyncId::Lock(0x80));
    assert_eq!(pairs(&d.take_races()), vec![(10, 20)]);
}

#[test]
fn message_passing_through_an_atomic_flag_orders() {
    let d = two_workers();
    let flag = 0x2000;
    d.accesses(1, &[Access::write(X, 8, 10)]);
    d.atomic(1, SyncId::Addr(flag), Access::write(flag, 4, 11));
    d.atomic(2, SyncId::Addr(flag), Access::read(flag, 4, 21));
    d.accesses(2, &[Access::read(X, 8, 20)]);
    assert!(d.take_races().is_empty());
}

#[test]
fn notify_then_woken_wait_orders() {
    let d = two_workers();
    d.accesses(1, &[Access::write(X, 4, 10)]);
    d.release(1, SyncId::Addr(0x3000));
    d.acquire(2, SyncId::Addr(0x3000));
    d.accesses(2, &[Access::read(X, 4, 20)]);
    assert!(d.take_races().is_empty());
}

#[test]
fn atomic_versus_plain_on_same_bytes_races_when_unordered() {
    let d = two_workers();
    d.atomic(1, SyncId::Addr(X), Access::write(X, 4, 10));
    d.accesses(2, &[Access::read(X, 4, 20)]);
    let races = d.take_races();
    assert_eq!(pairs(&races), vec![(10, 20)]);
    assert!(races[0].previous.atomic && !races[0].current.atomic);

    // Two atomics never race with each other.
    let d = two_workers();
    d.atomic(1, SyncId::Addr(X), Access::write(X, 4, 10));
    d.atomic(2, SyncId::Addr(X + 4), Access::write(X, 4, 20));
    assert!(d.take_races().is_empty());
}

#[test]
fn byte_precise_overlap() {
    // u64 write vs u32 read of its upper half.
    let d = two_workers();
    d.accesses(1, &[Access::write(X, 8, 10)]);
    d.accesses(2, &[Access::read(X + 4, 4, 20)]);
    let races = d.take_races();
    assert_eq!(pairs(&races), vec![(10, 20)]);
    assert_eq!((races[0].current.addr, races[0].current.size), (X + 4, 4));

    // Adjacent disjoint bytes in one granule do not conflict.
    let d = two_workers();
    d.accesses(1, &[Access::write(X, 4, 10), Access::write(X + 6, 1, 11)]);
    d.accesses(
        2,
        &[Access::write(X + 4, 2, 20), Access::write(X + 7, 1, 21)],
    );
    assert!(d.take_races().is_empty());
}

#[test]
fn unaligned_access_spanning_two_granules_races_in_both() {
    let d = two_workers();
    // Bytes X+6..X+10 straddle the granules at X and X+8.
    d.accesses(1, &[Access::write(X + 6, 4, 10)]);
    d.accesses(2, &[Access::read(X + 7, 1, 20)]);
    d.accesses(2, &[Access::read(X + 9, 1, 21)]);
    assert_eq!(pairs(&d.take_races()), vec![(10, 20), (10, 21)]);
    // And the spanning access as the later one finds both earlier accesses.
    let d = two_workers();
    d.accesses(1, &[Access::read(X + 7, 1, 20), Access::read(X + 8, 1, 21)]);
    d.accesses(2, &[Access::write(X + 6, 4, 10)]);
    let races = d.take_races();
    assert_eq!(pairs(&races), vec![(10, 20), (10, 21)]);
    let mut prev: Vec<_> = races
        .iter()
        .map(|r| (r.previous.addr, r.previous.size))
        .collect();
    prev.sort_unstable();
    assert_eq!(prev, vec![(X + 7, 1), (X + 8, 1)]);
}

#[test]
fn bulk_ranges_conflict_anywhere_inside() {
    let d = two_workers();
    // memory.fill of 1000 bytes from X+3.
    d.accesses(1, &[Access::write(X + 3, 1000, 10)]);
    d.accesses(
        2,
        &[Access::read(X + 500, 4, 20), Access::read(X + 1003, 4, 21)],
    );
    d.accesses(2, &[Access::read(X, 3, 22)]);
    assert_eq!(pairs(&d.take_races()), vec![(10, 20)]);
    // A bulk read after scattered writes finds each of them once.
    d.accesses(
        2,
        &[
            Access::write(X + 2000, 4, 23),
            Access::write(X + 2100, 8, 24),
        ],
    );
    d.accesses(1, &[Access::read(X + 1990, 200, 11)]);
    assert_eq!(pairs(&d.take_races()), vec![(11, 23), (11, 24)]);
}

#[test]
fn races_are_deduplicated_by_unordered_site_pair() {
    let d = two_workers();
    for i in 0..10 {
        d.accesses(1, &[Access::write(X + 8 * i, 4, 10)]);
        d.accesses(2, &[Access::write(X + 8 * i, 4, 20)]);
    }
    // Same sites in the opposite roles.
    d.accesses(2, &[Access::write(X + 800, 4, 20)]);
    d.accesses(1, &[Access::write(X + 800, 4, 10)]);
    assert_eq!(d.take_races().len(), 1);
    assert!(d.stats().races_deduplicated >= 10);
}

#[test]
fn shared_read_then_write_races_with_each_reader_once() {
    let d = det();
    for t in 1..=3 {
        d.fork(0, t);
    }
    for t in 1..=3 {
        d.accesses(t, &[Access::read(X, 4, 10 + t), Access::read(X, 4, 10 + t)]);
    }
    d.accesses(0, &[Access::write(X, 4, 1)]);
    d.accesses(0, &[Access::write(X, 4, 1)]);
    assert_eq!(pairs(&d.take_races()), vec![(1, 11), (1, 12), (1, 13)]);
    assert_eq!(d.stats().evictions, 0);
}

#[test]
fn eviction_misses_races_but_never_invents_them() {
    // Minimum capacity: two cells. Many ordered accesses from many threads to one granule,
    // all chained by one lock, so no pair is a race whatever gets evicted.
    let d = Detector::new(Config {
        max_cells_per_granule: 2,
        ..Config::default()
    });
    let l = SyncId::Lock(1);
    for t in 1..=8 {
        d.fork(0, t);
    }
    for round in 0..5 {
        for t in 1..=8u32 {
            d.acquire(t, l);
            d.accesses(t, &[Access::read(X + u64::from(t % 2), 1, t * 100 + round)]);
            d.accesses(t, &[Access::write(X + u64::from(t % 4), 2, t * 100 + 50)]);
            d.release(t, l);
        }
    }
    assert!(
        d.stats().evictions > 0,
        "the scenario must exercise eviction"
    );
    assert!(d.take_races().is_empty());
}

#[test]
fn fast_path_skips_repeated_accesses_in_one_epoch() {
    let d = two_workers();
    let batch: Vec<_> = (0..100).map(|_| Access::read(X, 4, 10)).collect();
    d.accesses(1, &batch);
    let s = d.stats();
    assert_eq!(s.granule_checks, 100);
    assert_eq!(s.fast_path_hits, 99);
}

#[test]
fn thousands_of_short_lived_threads_stay_bounded() {
    let d = det();
    for t in 1..=2000u32 {
        d.fork(0, t);
        d.accesses(t, &[Access::write(X + 8 * u64::from(t), 8, 1)]);
        d.thread_exit(t);
        d.join(0, t);
    }
    d.accesses(0, &[Access::read(X, 20_000, 2)]);
    assert!(d.take_races().is_empty());
    let s = d.stats();
    // Joined threads' clocks are freed: what is left is the main thread's clock.
    assert!(
        s.clock_entries <= 2 * 2001,
        "clock entries {}",
        s.clock_entries
    );
}

#[test]
fn huge_thread_ids_are_ignored_not_panicking() {
    let d = det();
    d.fork(0, u32::MAX);
    d.accesses(u32::MAX, &[Access::write(X, 4, 1)]);
    d.accesses(0, &[Access::write(X, 4, 2)]);
    assert!(d.take_races().is_empty());
    // The fork and the access.
    assert_eq!(d.stats().ignored_events, 2);
    // An ignored thread's atomic is still performed.
    let sync = SyncId::Addr(X);
    assert_eq!(
        d.atomic_after(u32::MAX, &[], sync, Access::write(X, 4, 3), || 42),
        42
    );
    assert_eq!(d.stats().ignored_events, 3);
}

#[test]
fn race_pair_set_is_bounded() {
    let d = Detector::new(Config {
        max_race_pairs: 3,
        ..Config::default()
    });
    d.fork(0, 1);
    for i in 0..10u32 {
        d.accesses(0, &[Access::write(X + 8 * u64::from(i), 4, i)]);
        d.accesses(1, &[Access::write(X + 8 * u64::from(i), 4, 100 + i)]);
    }
    assert_eq!(d.take_races().len(), 3);
    assert_eq!(d.stats().races_dropped, 7);
}

#[test]
fn detector_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Detector>();
    // Two OS threads feeding one detector: the shared lock keeps the verdicts intact.
    let d = two_workers();
    std::thread::scope(|s| {
        for t in 1..=2u32 {
            let d = &d;
            s.spawn(move || {
                for i in 0..200u64 {
                    d.accesses(t, &[Access::write(X + 64 * i + 8 * u64::from(t), 8, t)]);
                    d.release(t, SyncId::Custom(u64::from(t)));
                }
                d.accesses(t, &[Access::write(X + 100_000, 4, 10 + t)]);
            });
        }
    });
    assert_eq!(pairs(&d.take_races()), vec![(11, 12)]);
}

#[test]
fn parallel_threads_under_one_lock_and_on_private_chunks_do_not_race() {
    // Four OS threads feed the detector at once: each writes its own 64 KiB region (its
    // own shadow chunk) and a shared word under one lock. Per-chunk and per-thread locks
    // must keep every verdict: no race at all, then exactly the one unprotected pair.
    let d = det();
    for t in 1..=4 {
        d.fork(0, t);
    }
    let lock = SyncId::Lock(9);
    // The program's real lock: the detector is told about it, it does not provide it.
    let real_lock = std::sync::Mutex::new(());
    std::thread::scope(|s| {
        for t in 1..=4u32 {
            let (d, real_lock) = (&d, &real_lock);
            s.spawn(move || {
                let private = 0x10_0000 * u64::from(t);
                for round in 0..300u64 {
                    let batch: Vec<_> = (0..64)
                        .map(|i| Access::write(private + 8 * ((round * 64 + i) % 8192), 8, t))
                        .collect();
                    d.accesses(t, &batch);
                    let _held = real_lock.lock().unwrap();
                    d.acquire(t, lock);
                    d.accesses(t, &[Access::read(X, 4, 100), Access::write(X, 4, 101)]);
                    d.release(t, lock);
                }
            });
        }
    });
    assert!(d.take_races().is_empty());
    // Outside the lock, on a fresh word: exactly one race.
    d.accesses(2, &[Access::write(X + 64, 4, 200)]);
    d.accesses(3, &[Access::read(X + 64, 4, 300)]);
    assert_eq!(pairs(&d.take_races()), vec![(200, 300)]);
}

#[test]
fn atomics_performed_inside_the_detector_are_analyzed_in_modification_order() {
    // Four OS threads take a spin lock made of real atomics that only the detector
    // orders (each performed in `atomic_after`), and write a shared word under it. A
    // thread's successful compare-exchange must be analyzed after the release store it
    // read from, or it would not inherit the releaser's clock and the word would race.
    use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
    let d = det();
    for t in 1..=4 {
        d.fork(0, t);
    }
    const L: u64 = 0x2000;
    const ROUNDS: u64 = 20_000;
    let word = AtomicU64::new(0);
    let sections = AtomicU64::new(0);
    let start = std::sync::Barrier::new(4);
    std::thread::scope(|s| {
        for t in 1..=4u32 {
            let (d, word, sections, start) = (&d, &word, &sections, &start);
            s.spawn(move || {
                start.wait();
                for _ in 0..ROUNDS {
                    let cmpxchg = Access::write(L, 8, 1);
                    while !d.atomic_after(t, &[], SyncId::Addr(L), cmpxchg, || {
                        word.compare_exchange(0, 1, SeqCst, SeqCst).is_ok()
                    }) {
                        std::hint::spin_loop();
                    }
                    // Held: a plain read-modify-write would lose no update.
                    let n = sections.load(SeqCst);
                    sections.store(n + 1, SeqCst);
                    d.accesses(t, &[Access::read(X, 8, 2), Access::write(X, 8, 3)]);
                    let store = Access::write(L, 8, 4);
                    d.atomic_after(t, &[], SyncId::Addr(L), store, || word.store(0, SeqCst));
                }
            });
        }
    });
    assert_eq!(sections.load(SeqCst), 4 * ROUNDS, "the lock excluded");
    assert!(d.take_races().is_empty(), "{:?}", d.take_races());
    // The word is shared for real: unordered with the last section, thread 0 races.
    d.accesses(0, &[Access::write(X, 8, 5)]);
    assert!(!d.take_races().is_empty());
}

#[test]
fn an_atomic_detaches_its_granule_and_plain_accesses_meet_it_there() {
    let d = two_workers();
    // A plain write stored in the chunk, then an unordered atomic on its first half: the
    // write's cell moves with the granule and still races.
    d.accesses(1, &[Access::write(X, 8, 10)]);
    d.atomic(2, SyncId::Addr(X), Access::write(X, 4, 20));
    assert_eq!(pairs(&d.take_races()), vec![(10, 20)]);
    assert_eq!(d.stats().detached_granules, 1);
    // Plain accesses now reach the atomic's cell through the detached granule:
    // byte-precise as ever (the other half does not overlap), and both sides reported.
    d.accesses(1, &[Access::read(X + 4, 4, 30)]);
    assert!(d.take_races().is_empty());
    d.accesses(1, &[Access::read(X, 1, 31)]);
    let races = d.take_races();
    assert_eq!(pairs(&races), vec![(20, 31)]);
    assert!(races[0].previous.atomic && !races[0].current.atomic);
    // A second atomic word in the granule shares the record, and races with both
    // unordered plain accesses to its bytes.
    d.atomic(2, SyncId::Addr(X + 4), Access::write(X + 4, 4, 40));
    assert_eq!(pairs(&d.take_races()), vec![(10, 40), (30, 40)]);
    assert_eq!(d.stats().detached_granules, 1);
    // Synchronized through both words, thread 1 sees thread 2's atomics: no race.
    d.atomic(1, SyncId::Addr(X), Access::read(X, 4, 50));
    d.atomic(1, SyncId::Addr(X + 4), Access::read(X + 4, 4, 51));
    d.accesses(1, &[Access::write(X, 8, 60)]);
    assert!(d.take_races().is_empty());
}

#[test]
fn a_words_clock_moves_to_its_granule_and_every_operation_on_it_follows() {
    let d = det();
    for t in 1..=3 {
        d.fork(0, t);
    }
    const W: u64 = X + 0x100;
    // Before any atomic on W, thread 1 releases onto it (a notify) after writing X.
    d.accesses(1, &[Access::write(X, 4, 10)]);
    d.release(1, SyncId::Addr(W));
    // Thread 2's first atomic on W detaches its granule and moves W's clock there: it
    // still acquires thread 1's release.
    d.atomic(2, SyncId::Addr(W), Access::write(W, 4, 20));
    assert_eq!(d.stats().detached_granules, 1);
    d.accesses(2, &[Access::read(X, 4, 21), Access::write(X + 8, 4, 22)]);
    // Its next atomic on W (through its cache of records) releases what it did since to
    // a woken wait of thread 3 on W, which goes through W's object.
    d.accesses(2, &[Access::write(X + 16, 4, 23)]);
    d.atomic(2, SyncId::Addr(W), Access::write(W, 4, 24));
    d.acquire(3, SyncId::Addr(W));
    d.accesses(
        3,
        &[
            Access::read(X, 4, 30),
            Access::read(X + 8, 4, 31),
            Access::read(X + 16, 4, 32),
        ],
    );
    // And a release through the object reaches a cached atomic.
    d.accesses(1, &[Access::write(X + 24, 4, 40)]);
    d.release(1, SyncId::Addr(W));
    d.atomic(2, SyncId::Addr(W), Access::read(W, 4, 41));
    d.accesses(2, &[Access::read(X + 24, 4, 42)]);
    assert!(d.take_races().is_empty());
    // The main thread is ordered with none of it.
    d.accesses(0, &[Access::write(X + 16, 4, 50)]);
    assert_eq!(pairs(&d.take_races()), vec![(23, 50), (32, 50)]);
}

#[test]
fn an_atomic_on_a_detached_granule_takes_no_chunk_lock() {
    let d = two_workers();
    d.atomic(1, SyncId::Addr(X), Access::write(X, 4, 10));
    let chunk = d.shadow_for_tests().lock_chunk(X >> 16);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let d = &d;
        s.spawn(move || {
            d.atomic(2, SyncId::Addr(X), Access::write(X, 4, 20));
            done.send(()).unwrap();
        });
        // Were the chunk lock needed, the atomic would wait for this thread, which
        // waits here (and lets go on timeout, so the test fails instead of hanging).
        let got = finished.recv_timeout(std::time::Duration::from_secs(30));
        drop(chunk);
        assert!(got.is_ok(), "the atomic waited for its granule's chunk");
    });
    assert!(d.take_races().is_empty());
}

#[test]
fn past_the_detach_budget_atomics_take_the_chunk_path() {
    let d = two_workers();
    d.shadow_for_tests().detach_budget.exhaust();
    d.accesses(1, &[Access::write(X, 8, 10)]);
    d.atomic(2, SyncId::Addr(X), Access::write(X, 4, 20));
    assert_eq!(pairs(&d.take_races()), vec![(10, 20)]);
    d.accesses(1, &[Access::read(X, 4, 30)]);
    assert_eq!(pairs(&d.take_races()), vec![(20, 30)]);
    assert_eq!(d.stats().detached_granules, super::detached::MAX_DETACHED);
}

#[test]
fn an_atomic_straddling_granules_or_on_another_object_is_not_detached() {
    let d = two_workers();
    d.atomic(1, SyncId::Addr(X + 6), Access::write(X + 6, 4, 10));
    d.atomic(1, SyncId::Custom(7), Access::write(X + 16, 4, 11));
    assert_eq!(d.stats().detached_granules, 0);
    d.accesses(
        2,
        &[Access::read(X + 8, 1, 20), Access::read(X + 16, 1, 21)],
    );
    assert_eq!(pairs(&d.take_races()), vec![(10, 20), (11, 21)]);
}

#[test]
fn threads_with_handles_get_the_verdicts_of_ids() {
    // Thread 0 forks 1..=3 (handles made before the forks take nothing yet); each worker
    // writes its own word and a shared word under a lock from its own OS thread through
    // its handle, then exits; thread 0 joins them and reads everything: no race. A
    // fourth thread, never joined, then races with thread 0 on a fresh word.
    let d = det();
    let mut main = ThreadHandle::new(0);
    let mut workers: Vec<_> = (1..=3).map(ThreadHandle::new).collect();
    d.accesses(&mut main, &[Access::write(X, 8, 1)]);
    for t in 1..=3 {
        d.fork(&mut main, t);
    }
    let lock = SyncId::Lock(9);
    let real_lock = std::sync::Mutex::new(());
    std::thread::scope(|s| {
        for (t, h) in (1..=3u64).zip(workers.iter_mut()) {
            let (d, real_lock) = (&d, &real_lock);
            s.spawn(move || {
                for round in 0..100 {
                    d.accesses(&mut *h, &[Access::write(X + 0x1000 * t + 8 * round, 8, 2)]);
                    let _held = real_lock.lock().unwrap();
                    d.acquire(&mut *h, lock);
                    d.accesses(&mut *h, &[Access::read(X, 8, 3), Access::write(X, 8, 4)]);
                    d.release(&mut *h, lock);
                }
                d.thread_exit(&mut *h);
            });
        }
    });
    for t in 1..=3 {
        // Each worker let its state go at exit: joining it does not wait.
        d.join(&mut main, t);
    }
    d.accesses(
        &mut main,
        &[Access::write(X, 8, 5), Access::read(X + 0x1000, 8, 6)],
    );
    assert!(d.take_races().is_empty(), "{:?}", d.take_races());
    d.fork(&mut main, 4);
    let mut late = ThreadHandle::new(4);
    d.accesses(&mut main, &[Access::write(X + 64, 4, 7)]);
    d.accesses(&mut late, &[Access::read(X + 64, 4, 8)]);
    assert_eq!(pairs(&d.take_races()), vec![(7, 8)]);
}

#[test]
fn a_held_thread_state_is_counted_once_its_thread_exits() {
    let d = det();
    let mut h = ThreadHandle::new(1);
    d.fork(0, 1);
    d.accesses(
        &mut h,
        &[Access::write(X, 8, 1), Access::write(X + 8, 8, 2)],
    );
    // Statistics skip the state the handle holds instead of waiting for it.
    assert_eq!(d.stats().granule_checks, 0);
    d.thread_exit(&mut h);
    assert_eq!(d.stats().granule_checks, 2);
    // After its exit the handle locks per event, like an id.
    d.accesses(&mut h, &[Access::write(X + 16, 8, 3)]);
    assert_eq!(d.stats().granule_checks, 3);
}

#[test]
fn two_threads_joining_each_other_by_id_do_not_deadlock() {
    // Each join locks one thread at a time (the joined one, then the joiner): holding
    // the joiner while locking the joined thread made these two wait on each other
    // within a few thousand rounds. A deadlock fails the test (after a bound no healthy
    // run comes near) instead of hanging it.
    let d = std::sync::Arc::new(two_workers());
    let (done, finished) = std::sync::mpsc::channel();
    let workers: Vec<_> = [(1, 2), (2, 1)]
        .into_iter()
        .map(|(me, other)| {
            let (d, done) = (d.clone(), done.clone());
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    d.join(me, other);
                    d.fork(me, other);
                }
                done.send(()).unwrap();
            })
        })
        .collect();
    for _ in 0..2 {
        finished
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("two threads joining each other deadlocked");
    }
    workers.into_iter().for_each(|w| w.join().unwrap());
    // Both are still tracked and ordered with each other.
    d.accesses(1, &[Access::write(X, 4, 1)]);
    d.join(2, 1);
    d.accesses(2, &[Access::write(X, 4, 2)]);
    assert!(d.take_races().is_empty());
}
