//! Textbook traces from the SHB, WCP and sync-preserving papers (as STD text under
//! `tests/traces/`), with the verdicts the papers give, plus deadlock and lockset cases.

use std::path::PathBuf;

use wasmgrind_analysis::{analyze, analyze_events, EngineKind, Report};
use wasmgrind_trace::std_text::StdReader;
use wasmgrind_trace::{Event, Op};

/// This package's directory, read when the test runs (cargo sets it), so a test binary
/// that cargo reuses from another checkout sharing the target directory still finds this
/// checkout's files; the compile-time value when run outside cargo.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn run(file: &str, kind: EngineKind) -> Report {
    let path = manifest_dir().join("tests/traces").join(file);
    analyze(kind, StdReader::open(&path).unwrap(), None).unwrap()
}

/// (racy events, racy locations) per engine, and the locations of the racy events.
fn verdict(file: &str, kind: EngineKind) -> (u64, Vec<u32>) {
    let r = run(file, kind);
    assert_eq!(r.racy_locations as usize, r.races.len());
    let mut locs: Vec<u32> = r.races.iter().map(|p| p.second.loc).collect();
    locs.sort_unstable();
    (r.racy_events, locs)
}

use EngineKind::*;

#[test]
fn shb_paper_race_after_the_first_is_not_real() {
    // w(x) w(y) | r(y) r(x): r(y) reads from w(y), so r(x) is ordered after w(x).
    assert_eq!(verdict("shb_paper.std", Hb), (2, vec![3, 4]));
    assert_eq!(verdict("shb_paper.std", FastTrack), (2, vec![3, 4]));
    assert_eq!(verdict("shb_paper.std", Shb), (1, vec![3]));
    assert_eq!(verdict("shb_paper.std", SyncP), (1, vec![3]));
    let r = run("shb_paper.std", Shb);
    assert_eq!(r.races[0].first.loc, 2, "r(y) races with w(y)");
}

#[test]
fn wcp_paper_critical_sections_can_be_reordered() {
    // Two critical sections without conflicts: HB orders w(x) before r(x), WCP does not.
    for k in [Hb, FastTrack, Shb] {
        assert_eq!(verdict("wcp_paper_reorder.std", k), (0, vec![]), "{k}");
    }
    assert_eq!(verdict("wcp_paper_reorder.std", Wcp), (1, vec![6]));
    assert_eq!(verdict("wcp_paper_reorder.std", SyncP), (1, vec![6]));
    let r = run("wcp_paper_reorder.std", Wcp);
    assert_eq!((r.races[0].first.loc, r.races[0].first.op), (1, Op::Write));
}

#[test]
fn wcp_paper_conflicting_critical_sections_order() {
    // The critical sections conflict on y (rule (a)): no engine may report x.
    for k in [Hb, FastTrack, Shb, Wcp, SyncP] {
        assert_eq!(verdict("wcp_paper_conflict.std", k), (0, vec![]), "{k}");
    }
}

#[test]
fn syncp_paper_race_beyond_wcp() {
    // w(x)@2 ≺WCP the release at 4 (rule (a) on z), which happens before w(x)@12:
    // WCP orders the pair, yet running T3 right after T1's w(x) keeps every critical
    // section in order.
    for k in [Hb, FastTrack, Shb, Wcp] {
        assert_eq!(verdict("syncp_paper.std", k), (0, vec![]), "{k}");
    }
    assert_eq!(verdict("syncp_paper.std", SyncP), (1, vec![12]));
}

#[test]
fn deadlock_abba_is_reported_once() {
    let r = run("deadlock_abba.std", Deadlock);
    assert_eq!(r.deadlocks.len(), 1);
    let d = &r.deadlocks[0];
    assert_eq!(d.edges.len(), 2);
    let mut locs: Vec<(u32, u32)> = d.edges.iter().map(|e| (e.from.loc, e.to.loc)).collect();
    locs.sort_unstable();
    assert_eq!(locs, vec![(10, 11), (20, 21)]);
    assert_eq!(d.edges[0].to_lock, d.edges[1].from_lock);
    assert_eq!(d.edges[1].to_lock, d.edges[0].from_lock);
    assert_eq!(r.racy_events, 0);
}

#[test]
fn deadlock_false_alarms_are_ruled_out() {
    // A/B cycle guarded by the common gate lock G; C/D cycle within one thread.
    let r = run("deadlock_gated.std", Deadlock);
    assert!(r.deadlocks.is_empty(), "{:?}", r.deadlocks);
}

#[test]
fn deadlock_needs_each_taken_lock_released_by_its_taker() {
    // T1 nests A → B properly; T2 holds B and takes A, which T1 (not T2) resets:
    // A is a handshake word to T2, not a lock it holds.
    let e = |t, op, l, loc| Event::new(t, op, l, loc);
    let handshake = [
        e(1, Op::Acquire, 0, 10),
        e(1, Op::Acquire, 1, 11),
        e(1, Op::Release, 1, 12),
        e(1, Op::Release, 0, 13),
        e(2, Op::Acquire, 1, 20),
        e(2, Op::Acquire, 0, 21),
        e(2, Op::Release, 1, 22),
    ];
    let r = analyze_events(Deadlock, &handshake);
    assert!(r.deadlocks.is_empty(), "{:?}", r.deadlocks);
    // Once T2 releases A itself, even after B, the inversion counts.
    let mut released = handshake.to_vec();
    released.push(e(2, Op::Release, 0, 23));
    assert_eq!(analyze_events(Deadlock, &released).deadlocks.len(), 1);
}

#[test]
fn deadlock_inversions_ordered_by_fork_or_join_are_no_cycle() {
    let e = |t, op, l, loc| Event::new(t, op, l, loc);
    let nest = |t, a, b, loc| {
        [
            e(t, Op::Acquire, a, loc),
            e(t, Op::Acquire, b, loc + 1),
            e(t, Op::Release, b, loc + 2),
            e(t, Op::Release, a, loc + 3),
        ]
    };
    // T0 nests B → A after joining T1, which nested A → B.
    let mut joined = vec![e(0, Op::Fork, 1, 1)];
    joined.extend(nest(1, 0, 1, 10));
    joined.push(e(0, Op::Join, 1, 2));
    joined.extend(nest(0, 1, 0, 20));
    let r = analyze_events(Deadlock, &joined);
    assert!(r.deadlocks.is_empty(), "{:?}", r.deadlocks);
    // T0 nests B → A before forking T1.
    let mut forked = nest(0, 1, 0, 20).to_vec();
    forked.push(e(0, Op::Fork, 1, 1));
    forked.extend(nest(1, 0, 1, 10));
    assert!(analyze_events(Deadlock, &forked).deadlocks.is_empty());
    // Between the fork and the join, the two sections can overlap.
    let mut concurrent = vec![e(0, Op::Fork, 1, 1)];
    concurrent.extend(nest(0, 1, 0, 20));
    concurrent.extend(nest(1, 0, 1, 10));
    concurrent.push(e(0, Op::Join, 1, 2));
    assert_eq!(analyze_events(Deadlock, &concurrent).deadlocks.len(), 1);
}

#[test]
fn deadlock_three_thread_cycle() {
    let e = |t, op, l, loc| Event::new(t, op, l, loc);
    let mut ev = Vec::new();
    for (t, a, b) in [(1, 0, 1), (2, 1, 2), (3, 2, 0)] {
        let base = t * 10;
        ev.extend([
            e(t, Op::Acquire, a, base),
            e(t, Op::Acquire, b, base + 1),
            e(t, Op::Release, b, base + 2),
            e(t, Op::Release, a, base + 3),
        ]);
    }
    let r = analyze_events(Deadlock, &ev);
    assert_eq!(r.deadlocks.len(), 1);
    assert_eq!(r.deadlocks[0].edges.len(), 3);
    let mut threads: Vec<u32> = r.deadlocks[0].edges.iter().map(|x| x.to.thread).collect();
    threads.sort_unstable();
    assert_eq!(threads, vec![1, 2, 3]);
}

#[test]
fn lockset_states() {
    let e = |t, op, d, loc| Event::new(t, op, d, loc);
    // x: consistently protected by L0 → no report. y: written by two threads without a
    // common lock → reported at the second thread's write. z: only read when shared.
    let ev = vec![
        e(0, Op::Write, 1, 1), // Exclusive(0), no lock needed yet
        e(0, Op::Acquire, 0, 2),
        e(0, Op::Write, 0, 3),
        e(0, Op::Release, 0, 4),
        e(1, Op::Acquire, 0, 5),
        e(1, Op::Write, 0, 6),
        e(1, Op::Release, 0, 7),
        e(0, Op::Write, 2, 8),
        e(1, Op::Read, 2, 9),
        e(2, Op::Read, 2, 10),
        e(1, Op::Write, 1, 11), // y shared-modified, empty lockset
        e(0, Op::Read, 1, 12),  // still empty
    ];
    let r = analyze_events(Lockset, &ev);
    assert_eq!(r.racy_events, 2);
    let locs: Vec<(u32, u32)> = r
        .races
        .iter()
        .map(|p| (p.first.loc, p.second.loc))
        .collect();
    assert_eq!(locs, vec![(1, 11), (11, 12)]);
}

#[test]
fn release_without_acquire_and_self_fork_are_tolerated() {
    let ev = vec![
        Event::new(0, Op::Release, 3, 0),
        Event::new(0, Op::Fork, 0, 1),
        Event::new(0, Op::Join, 0, 2),
        Event::new(0, Op::LockRequest, 1, 3),
        Event::new(0, Op::Write, 0, 4),
        Event::new(1, Op::Release, 3, 5),
        Event::new(1, Op::Write, 0, 6),
    ];
    for k in EngineKind::ALL {
        let r = analyze_events(k, &ev);
        assert_eq!(r.events, 7, "{k}");
        if k != Deadlock {
            assert_eq!(r.racy_events, 1, "{k}");
        }
    }
}

#[test]
fn engine_names_parse() {
    for k in EngineKind::ALL {
        assert_eq!(k.name().parse::<EngineKind>().unwrap(), k);
    }
    let err = "tsan".parse::<EngineKind>().unwrap_err().to_string();
    assert!(err.contains("tsan") && err.contains("fasttrack"));
}

#[test]
fn report_json_field_names() {
    let r = run("shb_paper.std", Hb);
    let v: serde_json::Value = serde_json::to_value(&r).unwrap();
    for f in ["engine", "events", "racy_events", "racy_locations", "races"] {
        assert!(v.get(f).is_some(), "{f}");
    }
    assert_eq!(v["engine"], "hb");
    let first = &v["races"][0]["first"];
    assert_eq!(first["op"], "w");
    for f in ["thread", "location", "index"] {
        assert!(first.get(f).is_some(), "{f}");
    }
    assert!(v.get("deadlocks").is_none(), "omitted when empty");
}
