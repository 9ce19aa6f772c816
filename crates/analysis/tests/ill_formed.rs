//! Every engine on input a user may hand it that no well-behaved recorder writes: event
//! streams that break the trace rules (a release without its acquire, a lock taken by
//! two threads, a join before the fork, events after a join, a thread forking itself),
//! and files that are not traces at all. Each engine must count every event and answer;
//! a reader must read or say what is wrong. None may panic (a user mistake is an error
//! message, never a backtrace).

use std::io::Cursor;

use proptest::prelude::*;
use wasmgrind_analysis::{analyze, EngineKind, Report};
use wasmgrind_trace::rapidbin::{RapidBinReader, RapidBinWriter};
use wasmgrind_trace::std_text::StdReader;
use wasmgrind_trace::{Event, Op, TraceError};

/// Any event of a few threads on a few locks and variables: ill-formed streams are the
/// rule, not the exception.
fn any_event() -> impl Strategy<Value = Event> {
    (0u32..6, 0..Op::ALL.len(), 0u64..6, 0u32..64)
        .prop_map(|(t, op, decor, loc)| Event::new(t, Op::ALL[op], decor, loc))
}

/// Runs every engine on `events` (with the thread count unknown, and with a guess that
/// may be too small), checking what holds of any report.
fn every_engine(events: &[Event]) -> Result<(), TestCaseError> {
    let accesses = events.iter().filter(|e| e.op.is_access()).count() as u64;
    for kind in EngineKind::ALL {
        for threads in [None, Some(2)] {
            let r: Report = analyze(kind, events.iter().copied().map(Ok), threads)
                .map_err(|e| TestCaseError::fail(format!("{kind:?}: {e}")))?;
            prop_assert_eq!(r.events, events.len() as u64, "{:?}", kind);
            prop_assert!(r.racy_events <= accesses, "{:?}", kind);
            prop_assert!(r.racy_locations <= r.racy_events, "{:?}", kind);
            for p in &r.races {
                prop_assert!(p.first.index < p.second.index, "{:?} {:?}", kind, p);
                prop_assert!(p.second.index < events.len() as u64, "{:?} {:?}", kind, p);
            }
        }
    }
    Ok(())
}

/// Reads all of `input` as RapidBin, stopping at the first error.
fn read_rapidbin(input: Vec<u8>) -> Result<Vec<Event>, TraceError> {
    RapidBinReader::new(Cursor::new(input))?.collect()
}

/// Reads all of `input` as STD text, stopping at the first error.
fn read_std(input: &[u8]) -> Result<Vec<Event>, TraceError> {
    StdReader::new(input).collect()
}

fn rapidbin_of(events: &[Event]) -> Vec<u8> {
    let mut w = RapidBinWriter::new(Cursor::new(Vec::new())).expect("in memory");
    for e in events {
        w.write(e).expect("in memory");
    }
    w.finish().expect("in memory").into_inner()
}

/// One line of STD-like text: mostly well-formed (names as other tools write them, every
/// operation), now and then with a wrong operation, a missing or extra field, an odd
/// name or an out-of-range location.
fn std_line() -> impl Strategy<Value = String> {
    let name = || {
        prop_oneof![
            (0u32..5).prop_map(|i| format!("T{i}")),
            (0u32..5).prop_map(|i| format!("L{i}")),
            (0u32..5).prop_map(|i| format!("V{i}.{i}[0]")),
        ]
    };
    let op = prop::sample::select(vec!["r", "w", "acq", "rel", "fork", "join", "req"]);
    let good = (name(), op, name(), 0u32..100)
        .prop_map(|(t, op, arg, loc)| format!("{t}|{op}({arg})|{loc}"));
    let odd = prop_oneof![
        Just("x".to_string()),
        Just(String::new()),
        "[A-Za-z0-9_.()|\\[\\]]{0,12}",
    ];
    let bad = (name(), odd.clone(), odd, 0u8..4).prop_map(|(t, op, arg, shape)| match shape {
        0 => format!("{t}|{op}({arg})|1"),
        1 => format!("{t}|r({arg})"),
        2 => format!("{t}|w({arg})|-1"),
        _ => format!("{t}|acq({arg})|99999999999999999999"),
    });
    prop_oneof![60 => good, 1 => bad]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn engines_answer_on_ill_formed_event_streams(
        events in proptest::collection::vec(any_event(), 0..60)
    ) {
        every_engine(&events)?;
    }

    #[test]
    fn arbitrary_bytes_are_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(events) = read_rapidbin(bytes.clone()) {
            every_engine(&events)?;
        }
        if let Ok(events) = read_std(&bytes) {
            every_engine(&events)?;
        }
    }

    #[test]
    fn damaged_rapidbin_is_read_or_refused(
        events in proptest::collection::vec(any_event(), 1..40),
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = rapidbin_of(&events);
        for (at, value) in damage {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep);
        if let Ok(events) = read_rapidbin(bytes) {
            every_engine(&events)?;
        }
    }

    #[test]
    fn std_like_text_is_read_or_refused(lines in proptest::collection::vec(std_line(), 0..40)) {
        let text = lines.join("\n");
        match read_std(text.as_bytes()) {
            Ok(events) => {
                prop_assert!(events.len() <= lines.len());
                every_engine(&events)?;
            }
            // A refused line is named by its number.
            Err(e) => prop_assert!(e.to_string().contains("line"), "{}", e),
        }
    }
}

/// How many of `results` read some events, and how many were refused.
fn tally(results: impl Iterator<Item = Result<Vec<Event>, TraceError>>) -> (usize, usize) {
    results.fold((0, 0), |(read, refused), r| match r {
        Ok(events) => (read + usize::from(!events.is_empty()), refused),
        Err(_) => (read, refused + 1),
    })
}

/// The generators must reach both outcomes, or the properties above would hold
/// vacuously: damaged RapidBin and STD-like text that still read (and reach the
/// engines), and some that are refused.
#[test]
fn damaged_input_is_sometimes_read_and_sometimes_refused() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let lines = proptest::collection::vec(std_line(), 1..40);
    let texts: Vec<String> = (0..300)
        .map(|_| lines.new_tree(&mut runner).unwrap().current().join("\n"))
        .collect();
    let (read, refused) = tally(texts.iter().map(|t| read_std(t.as_bytes())));
    assert!(
        read >= 30 && refused >= 30,
        "std: {read} read, {refused} refused"
    );

    let events = proptest::collection::vec(any_event(), 1..40);
    let damaged = (0..300usize).map(|round| {
        let mut bytes = rapidbin_of(&events.new_tree(&mut runner).unwrap().current());
        let i = (round * 7919) % bytes.len();
        bytes[i] ^= 0x5a;
        read_rapidbin(bytes)
    });
    let (read, refused) = tally(damaged);
    assert!(
        read >= 30 && refused >= 30,
        "rapidbin: {read} read, {refused} refused"
    );
}
