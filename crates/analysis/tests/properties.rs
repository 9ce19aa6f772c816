//! Engines against brute-force reference definitions on thousands of small random
//! well-formed traces, and the inclusions the papers prove between them.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use wasmgrind_analysis::{analyze_events, EngineKind, Report};
use wasmgrind_trace::{Event, Op};

use common::*;

/// Racy events of a report (locations are event indices in generated traces).
fn racy(r: &Report) -> BTreeSet<usize> {
    assert!(!r.races_truncated);
    let s: BTreeSet<usize> = r.races.iter().map(|p| p.second.index as usize).collect();
    assert_eq!(s.len() as u64, r.racy_events, "one pair per racy event");
    assert_eq!(r.racy_events, r.racy_locations);
    for p in &r.races {
        assert!(p.first.index < p.second.index);
        assert_ne!(p.first.thread, p.second.thread);
    }
    s
}

/// First racy event per variable.
fn first_per_var(ev: &[Event], set: &BTreeSet<usize>) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    for &i in set {
        m.entry(ev[i].decor).or_insert(i);
    }
    m
}

fn traces() -> impl Strategy<Value = Vec<Event>> {
    (
        proptest::collection::vec(any::<u32>(), 0..36),
        2u32..5,
        0u64..3,
        1u64..4,
    )
        .prop_map(|(c, t, l, v)| decode_trace(&c, t, l, v))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn hb_equals_reference(ev in traces()) {
        let r = analyze_events(EngineKind::Hb, &ev);
        prop_assert_eq!(r.events, ev.len() as u64);
        prop_assert_eq!(racy(&r), hb_racy(&ev));
    }

    #[test]
    fn fasttrack_is_within_hb_and_agrees_on_first_races(ev in traces()) {
        let hb = racy(&analyze_events(EngineKind::Hb, &ev));
        let ft = racy(&analyze_events(EngineKind::FastTrack, &ev));
        prop_assert!(ft.is_subset(&hb), "ft {:?} hb {:?}", ft, hb);
        prop_assert_eq!(first_per_var(&ev, &ft), first_per_var(&ev, &hb));
    }

    #[test]
    fn shb_equals_reference_and_is_within_hb(ev in traces()) {
        let shb = racy(&analyze_events(EngineKind::Shb, &ev));
        prop_assert_eq!(&shb, &shb_racy(&ev));
        let hb = hb_racy(&ev);
        prop_assert!(shb.is_subset(&hb));
        // The first HB race is always a real race, and SHB keeps it.
        prop_assert_eq!(shb.iter().next(), hb.iter().next());
    }

    #[test]
    fn wcp_equals_reference_and_contains_hb(ev in traces()) {
        let wcp = racy(&analyze_events(EngineKind::Wcp, &ev));
        prop_assert_eq!(&wcp, &wcp_racy(&ev));
        prop_assert!(hb_racy(&ev).is_subset(&wcp));
    }

    #[test]
    fn syncp_equals_reference_and_keeps_first_hb_race(ev in traces()) {
        let sp = racy(&analyze_events(EngineKind::SyncP, &ev));
        prop_assert_eq!(&sp, &syncp_racy(&ev));
        if let Some(first) = hb_racy(&ev).into_iter().next() {
            prop_assert!(sp.contains(&first));
        }
    }
}

fn longer_traces() -> impl Strategy<Value = Vec<Event>> {
    (
        proptest::collection::vec(any::<u32>(), 30..80),
        2u32..5,
        1u64..4,
        1u64..3,
    )
        .prop_map(|(c, t, l, v)| decode_trace(&c, t, l, v))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn engines_equal_references_on_longer_traces(ev in longer_traces()) {
        let sp = racy(&analyze_events(EngineKind::SyncP, &ev));
        prop_assert_eq!(&sp, &syncp_racy(&ev));
        prop_assert_eq!(racy(&analyze_events(EngineKind::Hb, &ev)), hb_racy(&ev));
        prop_assert_eq!(racy(&analyze_events(EngineKind::Shb, &ev)), shb_racy(&ev));
        prop_assert_eq!(racy(&analyze_events(EngineKind::Wcp, &ev)), wcp_racy(&ev));
    }
}

/// Traces of 8 to 11 threads on few variables, so that variables reach the access
/// history's wide form (8 threads and more), where subsumed accesses are dropped.
fn many_thread_traces() -> impl Strategy<Value = Vec<Event>> {
    (
        proptest::collection::vec(any::<u32>(), 100..200),
        8u32..12,
        0u64..4,
        1u64..3,
    )
        .prop_map(|(c, t, l, v)| decode_trace(&c, t, l, v))
}

/// Whether some variable of `ev` is accessed by at least 8 threads.
fn has_wide_variable(ev: &[Event]) -> bool {
    let mut by_var: BTreeMap<u64, BTreeSet<u32>> = BTreeMap::new();
    for e in ev.iter().filter(|e| e.op.is_access()) {
        by_var.entry(e.decor).or_default().insert(e.thread);
    }
    by_var.values().any(|ts| ts.len() >= 8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn engines_equal_references_with_many_threads(ev in many_thread_traces()) {
        prop_assert_eq!(racy(&analyze_events(EngineKind::Hb, &ev)), hb_racy(&ev));
        prop_assert_eq!(racy(&analyze_events(EngineKind::Shb, &ev)), shb_racy(&ev));
        prop_assert_eq!(racy(&analyze_events(EngineKind::Wcp, &ev)), wcp_racy(&ev));
        prop_assert_eq!(racy(&analyze_events(EngineKind::SyncP, &ev)), syncp_racy(&ev));
    }
}

/// Rule (b) relates critical sections of two different threads, as the paper's
/// algorithm (queues of the other threads' acquires) and RAPID apply it. Applied within
/// `T2` (its two sections on `L2`), it would order `T2`'s `w(x)` before `T0`'s `r(x)`;
/// without it they race, and truly: `T2`'s first section on `L1`, then all of `T0`,
/// then `T2`'s `acq(L1)` leaves `r(x)` and `w(x)` both enabled.
#[test]
fn wcp_rule_b_relates_critical_sections_of_two_threads() {
    let (x, l1, l2) = (0, 1, 2);
    // (thread, op, decor); each event's location is its index.
    let ev: Vec<Event> = [
        (0, Op::Fork, 2),
        (2, Op::Acquire, l2),
        (2, Op::Acquire, l1),
        (2, Op::Read, x),
        (2, Op::Release, l1),
        (2, Op::Acquire, l1),
        (2, Op::Write, x),
        (2, Op::Release, l2),
        (2, Op::Acquire, l2),
        (2, Op::Release, l2),
        (2, Op::Release, l1),
        (0, Op::Acquire, l1),
        (0, Op::Release, l1),
        (0, Op::Read, x),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (t, op, d))| Event::new(t, op, d, i as u32))
    .collect();
    let r = analyze_events(EngineKind::Wcp, &ev);
    assert_eq!(racy(&r), BTreeSet::from([13]));
    assert_eq!(r.races[0].first.index, 6);
    assert_eq!(wcp_racy(&ev), BTreeSet::from([13]));
    // Happens-before orders them through `L1`.
    assert!(hb_racy(&ev).is_empty());
}

/// The many-thread generator must reach variables of 8 threads, or the property
/// above would not exercise the wide access history.
#[test]
fn many_thread_traces_reach_wide_variables() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = many_thread_traces();
    let wide = (0..200)
        .filter(|_| has_wide_variable(&strategy.new_tree(&mut runner).unwrap().current()))
        .count();
    assert!(wide >= 50, "only {wide} of 200 traces");
}

/// The generator must produce traces on which the engines disagree, or the
/// properties above would hold vacuously.
#[test]
fn generated_traces_separate_the_engines() {
    let mut rng = XorShift::new(0x2545_f491_4f6c_dd1d);
    let mut next = move || rng.next() as u32;
    let (mut hb_any, mut shb_lt_hb, mut wcp_gt_hb, mut sp_ne_hb, mut ft_lt_hb) = (0, 0, 0, 0, 0);
    for _ in 0..2000 {
        let choices: Vec<u32> = (0..36).map(|_| next()).collect();
        let ev = decode_trace(&choices, 2 + next() % 3, u64::from(1 + next() % 2), 2);
        let hb = hb_racy(&ev);
        hb_any += usize::from(!hb.is_empty());
        shb_lt_hb += usize::from(shb_racy(&ev).len() < hb.len());
        wcp_gt_hb += usize::from(wcp_racy(&ev).len() > hb.len());
        sp_ne_hb += usize::from(syncp_racy(&ev) != hb);
        ft_lt_hb += usize::from(racy(&analyze_events(EngineKind::FastTrack, &ev)).len() < hb.len());
    }
    for (what, n) in [
        ("hb races", hb_any),
        ("shb < hb", shb_lt_hb),
        ("wcp > hb", wcp_gt_hb),
        ("syncp != hb", sp_ne_hb),
        ("fasttrack < hb", ft_lt_hb),
    ] {
        assert!(n >= 10, "only {n} traces with {what}");
    }
}
