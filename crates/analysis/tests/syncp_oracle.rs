//! The streaming sync-preserving engine against its oracles: the brute-force definition
//! (small traces) and the whole-trace reference implementation (traces too long for the
//! brute force), on thousands of random well-formed traces.

mod common;

use std::collections::BTreeSet;

use proptest::prelude::*;
use wasmgrind_analysis::syncp::reference::ReferenceSyncP;
use wasmgrind_analysis::syncp::SyncPEngine;
use wasmgrind_analysis::{analyze_events, run_engine, EngineKind, Report};
use wasmgrind_trace::{Event, Op};

use common::*;

/// Racy events of a report (locations are event indices in generated traces), after
/// checking that each race pair is well-formed.
fn racy(ev: &[Event], r: &Report) -> BTreeSet<usize> {
    assert!(!r.races_truncated);
    let s: BTreeSet<usize> = r.races.iter().map(|p| p.second.index as usize).collect();
    assert_eq!(s.len() as u64, r.racy_events, "one pair per racy event");
    assert_eq!(r.racy_events, r.racy_locations);
    for p in &r.races {
        let (a, b) = (&ev[p.first.index as usize], &ev[p.second.index as usize]);
        assert!(p.first.index < p.second.index);
        assert_ne!(a.thread, b.thread);
        assert_eq!(a.decor, b.decor, "same variable");
        assert!(a.op == Op::Write || b.op == Op::Write, "conflicting");
        assert_eq!((p.first.op, p.first.thread), (a.op, a.thread));
    }
    s
}

fn streaming(ev: &[Event]) -> Report {
    run_engine(SyncPEngine::new(), ev.iter().copied().map(Ok)).unwrap()
}

fn reference(ev: &[Event]) -> Report {
    run_engine(ReferenceSyncP::new(), ev.iter().copied().map(Ok)).unwrap()
}

fn small_traces() -> impl Strategy<Value = Vec<Event>> {
    (
        proptest::collection::vec(any::<u32>(), 0..40),
        2u32..6,
        0u64..4,
        1u64..4,
    )
        .prop_map(|(c, t, l, v)| decode_trace(&c, t, l, v))
}

fn long_traces() -> impl Strategy<Value = Vec<Event>> {
    (
        proptest::collection::vec(any::<u32>(), 100..400),
        2u32..7,
        1u64..5,
        1u64..5,
    )
        .prop_map(|(c, t, l, v)| decode_trace(&c, t, l, v))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn streaming_equals_definition_and_reference(ev in small_traces()) {
        let s = racy(&ev, &streaming(&ev));
        prop_assert_eq!(&s, &syncp_racy(&ev));
        prop_assert_eq!(&s, &racy(&ev, &reference(&ev)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn streaming_equals_reference_on_long_traces(ev in long_traces()) {
        let s = racy(&ev, &streaming(&ev));
        prop_assert_eq!(&s, &racy(&ev, &reference(&ev)));
        // Every schedulable-happens-before race is sync-preserving.
        let shb = racy(&ev, &analyze_events(EngineKind::Shb, &ev));
        prop_assert!(shb.is_subset(&s));
    }
}

/// Like [`decode_trace`], but a thread may release any lock it holds, not only its
/// innermost (hand-over-hand locking), and forks happen up front.
fn decode_unnested(choices: &[u32], threads: u32, locks: u64, vars: u64) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    let push = |out: &mut Vec<Event>, t: u32, op: Op, d: u64| {
        let loc = out.len() as u32;
        out.push(Event::new(t, op, d, loc));
    };
    for u in 1..threads {
        push(&mut out, 0, Op::Fork, u.into());
    }
    let mut held: Vec<Vec<u64>> = vec![Vec::new(); threads as usize];
    let mut owner: Vec<Option<u32>> = vec![None; locks as usize];
    for &c in choices {
        let t = c % threads;
        let arg = u64::from(c >> 16);
        match (c >> 8) % 8 {
            0..=3 => {
                let op = if c & (1 << 12) != 0 {
                    Op::Write
                } else {
                    Op::Read
                };
                push(&mut out, t, op, arg % vars);
            }
            4 | 5 => {
                let l = arg % locks;
                if owner[l as usize].is_none() {
                    owner[l as usize] = Some(t);
                    held[t as usize].push(l);
                    push(&mut out, t, Op::Acquire, l);
                }
            }
            _ => {
                let h = &mut held[t as usize];
                if !h.is_empty() {
                    let l = h.remove(arg as usize % h.len());
                    owner[l as usize] = None;
                    push(&mut out, t, Op::Release, l);
                }
            }
        }
    }
    for t in 0..threads {
        while let Some(l) = held[t as usize].pop() {
            push(&mut out, t, Op::Release, l);
        }
    }
    out
}

fn unnested_traces() -> impl Strategy<Value = Vec<Event>> {
    (
        proptest::collection::vec(any::<u32>(), 0..60),
        2u32..5,
        1u64..4,
        1u64..3,
    )
        .prop_map(|(c, t, l, v)| decode_unnested(&c, t, l, v))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn streaming_equals_definition_with_hand_over_hand_locking(ev in unnested_traces()) {
        let s = racy(&ev, &streaming(&ev));
        prop_assert_eq!(&s, &syncp_racy(&ev));
        prop_assert_eq!(&s, &racy(&ev, &reference(&ev)));
    }
}

/// The sweep (not just its SHB front) must be exercised: many generated traces have
/// sync-preserving races that SHB misses, and on them the engines still agree.
#[test]
fn generated_traces_need_the_sweep() {
    let mut rng = XorShift::new(0x9e37_79b9_7f4a_7c15);
    let mut next = move || rng.next() as u32;
    let mut beyond_shb = 0;
    for _ in 0..1000 {
        let choices: Vec<u32> = (0..200).map(|_| next()).collect();
        let ev = decode_trace(&choices, 2 + next() % 4, u64::from(1 + next() % 3), 2);
        let sp = racy(&ev, &streaming(&ev));
        assert_eq!(sp, racy(&ev, &reference(&ev)));
        let shb = racy(&ev, &analyze_events(EngineKind::Shb, &ev));
        beyond_shb += usize::from(sp.len() > shb.len());
    }
    assert!(
        beyond_shb >= 50,
        "only {beyond_shb} traces with races beyond SHB"
    );
}

/// A thread's first event is ordered after its fork: the parent's write before the
/// fork does not race with the child's first access (the oracles agree).
#[test]
fn fork_orders_the_childs_first_event() {
    let e = |t, op, d, loc| Event::new(t, op, d, loc);
    let ev = vec![
        e(0, Op::Write, 0, 0),
        e(0, Op::Fork, 1, 1),
        e(1, Op::Write, 0, 2),
        e(0, Op::Write, 0, 3),
    ];
    assert_eq!(racy(&ev, &streaming(&ev)), BTreeSet::from([3]));
    assert_eq!(racy(&ev, &reference(&ev)), BTreeSet::from([3]));
    assert_eq!(syncp_racy(&ev), BTreeSet::from([3]));
}

/// The paper's pattern where only an earlier access of a thread races: `w(x)@0` races
/// with `T2`'s write, the later `w(x)@2` inside the critical section does not, because
/// keeping the lock order forces `T1`'s release (after it) in first.
#[test]
fn earlier_candidate_races_when_the_later_one_is_swallowed() {
    let e = |t, op, d, loc| Event::new(t, op, d, loc);
    let ev = vec![
        e(0, Op::Fork, 1, 0),
        e(0, Op::Fork, 2, 1),
        e(1, Op::Write, 0, 2),
        e(1, Op::Acquire, 9, 3),
        e(1, Op::Write, 0, 4),
        e(1, Op::Release, 9, 5),
        e(2, Op::Acquire, 9, 6),
        e(2, Op::Release, 9, 7),
        e(2, Op::Write, 0, 8),
    ];
    let r = streaming(&ev);
    assert_eq!(racy(&ev, &r), BTreeSet::from([8]));
    assert_eq!(
        r.races[0].first.index, 2,
        "races with the write outside the lock"
    );
    // HB and SHB order both writes before T2's (release → acquire).
    assert_eq!(analyze_events(EngineKind::Shb, &ev).racy_events, 0);
    assert_eq!(syncp_racy(&ev), BTreeSet::from([8]));
}
