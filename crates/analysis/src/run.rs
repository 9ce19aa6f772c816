//! Choosing an engine by name and driving it over an event stream.

use std::fmt;
use std::str::FromStr;

use std::collections::BTreeMap;
use std::path::Path;

use wasmgrind_trace::metadata::VariableInfo;
use wasmgrind_trace::{open_trace, Event, EventReader, Format, Names, Op, TraceError};

use crate::deadlock::DeadlockEngine;
use crate::engine::Engine;
use crate::fasttrack::FastTrackEngine;
use crate::hb::HbEngine;
use crate::lockset::LocksetEngine;
use crate::overlap_split::analyze_split;
use crate::report::Report;
use crate::shb::ShbEngine;
use crate::syncp::SyncPEngine;
use crate::wcp::WcpEngine;

/// The offline engines, by their command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// Happens-before with full vector clocks (reference).
    Hb,
    /// FastTrack epochs.
    FastTrack,
    /// Schedulable happens-before.
    Shb,
    /// Weak-causally-precedes.
    Wcp,
    /// Sync-preserving races.
    SyncP,
    /// Eraser lockset discipline.
    Lockset,
    /// Lock-order cycles.
    Deadlock,
}

impl EngineKind {
    /// Every engine.
    pub const ALL: [EngineKind; 7] = [
        EngineKind::Hb,
        EngineKind::FastTrack,
        EngineKind::Shb,
        EngineKind::Wcp,
        EngineKind::SyncP,
        EngineKind::Lockset,
        EngineKind::Deadlock,
    ];

    /// The command-line name.
    pub const fn name(self) -> &'static str {
        match self {
            EngineKind::Hb => "hb",
            EngineKind::FastTrack => "fasttrack",
            EngineKind::Shb => "shb",
            EngineKind::Wcp => "wcp",
            EngineKind::SyncP => "syncp",
            EngineKind::Lockset => "lockset",
            EngineKind::Deadlock => "deadlock",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An engine name that is not one of [`EngineKind::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown engine `{0}` (expected hb, fasttrack, shb, wcp, syncp, lockset or deadlock)")]
pub struct UnknownEngine(pub String);

impl FromStr for EngineKind {
    type Err = UnknownEngine;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EngineKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownEngine(s.to_owned()))
    }
}

/// Feeds every event to `engine` and returns its report; stops at the first read error.
pub fn run_engine<E, I>(mut engine: E, events: I) -> Result<Report, TraceError>
where
    E: Engine,
    I: IntoIterator<Item = Result<Event, TraceError>>,
{
    for e in events {
        engine.process(&e?);
    }
    Ok(engine.finish())
}

/// An engine whose per-event cost is dominated by cache misses on per-variable state
/// it can name in advance, so the driver can ask for that state a few events early.
pub trait Prefetch: Engine {
    /// First stage, `LOOKAHEAD` events ahead: hints the state `e` will touch that is
    /// found from `e` alone. Must not change any observable state.
    fn prefetch(&self, e: &Event);

    /// Second stage, half as far ahead, when the first stage's lines have arrived:
    /// hints state reached through them (a heap buffer a prefetched record points to).
    fn prefetch_indirect(&self, _e: &Event) {}

    /// Third stage, a quarter as far ahead, when the second stage's lines have arrived:
    /// hints state one more load away (a heap buffer a prefetched buffer points to).
    fn prefetch_deep(&self, _e: &Event) {}

    /// Whether the per-variable state has outgrown the caches, so prefetching pays for
    /// its bookkeeping; while it fits, the driver runs the plain loop.
    fn worth_prefetching(&self) -> bool {
        true
    }
}

/// State size past which prefetching pays: about half a core's L2 cache.
pub const PREFETCH_ABOVE_BYTES: usize = 1 << 20;

/// Events between two [`Prefetch::worth_prefetching`] checks of the plain loop.
const CHECK_EVERY: usize = 1 << 14;

/// How many events ahead [`run_engine_prefetching`] prefetches: enough to cover one
/// memory latency (~100 ns) at a few ns of work per event, few enough that the lines
/// fetched are still in L1 when their event is processed.
const LOOKAHEAD: usize = 16;

/// Like [`run_engine`], but once the engine's state outgrows the caches (checked every
/// `CHECK_EVERY` events), prefetches each event's state `LOOKAHEAD` events before
/// processing it (its indirect state half as far ahead, its deep state a quarter as
/// far). Events are still processed one at a time in trace order; only the prefetches
/// run ahead.
pub fn run_engine_prefetching<E, I>(mut engine: E, events: I) -> Result<Report, TraceError>
where
    E: Prefetch,
    I: IntoIterator<Item = Result<Event, TraceError>>,
{
    let mut events = events.into_iter();
    while !engine.worth_prefetching() {
        for _ in 0..CHECK_EVERY {
            match events.next() {
                Some(e) => engine.process(&e?),
                None => return Ok(engine.finish()),
            }
        }
    }
    // Invariant: after event `i` (0-based) is read, `ring[j % LOOKAHEAD]` holds event
    // `j` for every `j` in `i+1-LOOKAHEAD..=i` not processed yet; older ones are done.
    let mut ring = [Event::new(0, Op::Read, 0, 0); LOOKAHEAD];
    let mut read = 0usize;
    for e in events {
        let e = e?;
        engine.prefetch(&e);
        let slot = read % LOOKAHEAD;
        if read >= LOOKAHEAD {
            engine.process(&ring[slot]);
        }
        ring[slot] = e;
        if read >= LOOKAHEAD / 2 {
            engine.prefetch_indirect(&ring[(read - LOOKAHEAD / 2) % LOOKAHEAD]);
        }
        if read >= LOOKAHEAD / 4 {
            engine.prefetch_deep(&ring[(read - LOOKAHEAD / 4) % LOOKAHEAD]);
        }
        read += 1;
    }
    for j in read.saturating_sub(LOOKAHEAD)..read {
        engine.process(&ring[j % LOOKAHEAD]);
    }
    Ok(engine.finish())
}

/// Runs engine `kind` over `events`. `threads`, when known (the RapidBin header), lets
/// WCP keep its lock logs exact for threads that start late.
pub fn analyze<I>(kind: EngineKind, events: I, threads: Option<usize>) -> Result<Report, TraceError>
where
    I: IntoIterator<Item = Result<Event, TraceError>>,
{
    match kind {
        EngineKind::Hb => run_engine_prefetching(HbEngine::new(), events),
        EngineKind::FastTrack => run_engine_prefetching(FastTrackEngine::new(), events),
        EngineKind::Shb => run_engine_prefetching(ShbEngine::new(), events),
        EngineKind::Wcp => {
            run_engine_prefetching(WcpEngine::with_threads(threads.unwrap_or(0)), events)
        }
        EngineKind::SyncP => {
            run_engine_prefetching(SyncPEngine::with_threads(threads.unwrap_or(0)), events)
        }
        EngineKind::Lockset => run_engine(LocksetEngine::new(), events),
        EngineKind::Deadlock => run_engine(DeadlockEngine::new(), events),
    }
}

/// Runs engine `kind` over an in-memory trace (tests, small traces).
pub fn analyze_events(kind: EngineKind, events: &[Event]) -> Report {
    analyze(kind, events.iter().copied().map(Ok), None).expect("in-memory events cannot fail")
}

/// A trace file's analysis, with what is needed to print it.
#[derive(Debug)]
pub struct AnalyzedTrace {
    /// The findings.
    pub report: Report,
    /// The input's format.
    pub format: Format,
    /// Names read from the trace itself (STD input).
    pub names: Option<Names>,
}

/// Opens the trace at `path` (RapidBin or STD, by content) and runs engine `kind` on it.
pub fn analyze_path(kind: EngineKind, path: &Path) -> Result<AnalyzedTrace, TraceError> {
    analyze_path_split(kind, path, None)
}

/// Like [`analyze_path`]; with `variables` (the metadata's id → address and size), accesses
/// to overlapping variables are split by byte range first (see [`crate::overlap_split`]).
pub fn analyze_path_split(
    kind: EngineKind,
    path: &Path,
    variables: Option<&BTreeMap<u64, VariableInfo>>,
) -> Result<AnalyzedTrace, TraceError> {
    let mut reader = open_trace(path)?;
    let format = reader.format();
    let threads = match &reader {
        EventReader::RapidBin(r) => Some(r.header().threads as usize),
        EventReader::Std(_) => None,
    };
    let report = match variables {
        Some(variables) => analyze_split(kind, &mut reader, threads, variables)?,
        None => analyze(kind, &mut reader, threads)?,
    };
    Ok(AnalyzedTrace {
        report,
        format,
        names: reader.into_names(),
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    /// Records what the driver asks of it, in order, into a log the test keeps.
    /// Prefetching is worth it from the `big_after`-th event on.
    #[derive(Default)]
    struct Recorder {
        log: Rc<RefCell<Vec<(char, u64)>>>,
        processed: u64,
        big_after: u64,
    }

    impl Engine for Recorder {
        fn process(&mut self, e: &Event) {
            self.log.borrow_mut().push(('p', e.decor));
            self.processed += 1;
        }
        fn finish(self) -> Report {
            Report {
                engine: "recorder".into(),
                events: self.processed,
                racy_events: 0,
                racy_locations: 0,
                races: Vec::new(),
                races_truncated: false,
                deadlocks: Vec::new(),
            }
        }
    }

    impl Prefetch for Recorder {
        fn prefetch(&self, e: &Event) {
            self.log.borrow_mut().push(('f', e.decor));
        }
        fn prefetch_indirect(&self, e: &Event) {
            self.log.borrow_mut().push(('i', e.decor));
        }
        fn worth_prefetching(&self) -> bool {
            self.processed >= self.big_after
        }
    }

    #[test]
    fn prefetching_starts_once_the_state_is_big() {
        let n = 3 * CHECK_EVERY as u64 + 5;
        let events = (0..n).map(|i| Ok(Event::new(0, Op::Read, i, 0)));
        let rec = Recorder {
            big_after: CHECK_EVERY as u64 + 1,
            ..Recorder::default()
        };
        let log = Rc::clone(&rec.log);
        assert_eq!(run_engine_prefetching(rec, events).unwrap().events, n);
        let log = log.borrow();
        let processed: Vec<u64> = log.iter().filter(|x| x.0 == 'p').map(|x| x.1).collect();
        assert_eq!(processed, (0..n).collect::<Vec<_>>());
        // Plain for two checks' worth of events (the first check found it small).
        let first = log.iter().find(|x| x.0 == 'f').unwrap().1;
        assert_eq!(first, 2 * CHECK_EVERY as u64);
        let prefetched = log.iter().filter(|x| x.0 == 'f').count() as u64;
        assert_eq!(prefetched, n - first);
    }

    #[test]
    fn prefetching_driver_processes_every_event_in_order_after_its_prefetch() {
        for n in [
            0,
            1,
            LOOKAHEAD - 1,
            LOOKAHEAD,
            LOOKAHEAD + 1,
            5 * LOOKAHEAD + 3,
        ] {
            let n = n as u64;
            let events = (0..n).map(|i| Ok(Event::new(0, Op::Read, i, 0)));
            let rec = Recorder::default();
            let log = Rc::clone(&rec.log);
            let report = run_engine_prefetching(rec, events).unwrap();
            assert_eq!(report.events, n);
            let log = log.borrow();
            let processed: Vec<u64> = log.iter().filter(|x| x.0 == 'p').map(|x| x.1).collect();
            assert_eq!(processed, (0..n).collect::<Vec<_>>(), "n = {n}");
            let at = |x| log.iter().position(|&y| y == x).unwrap();
            for i in 0..n {
                assert!(at(('f', i)) < at(('p', i)), "event {i} prefetched first");
                if i >= LOOKAHEAD as u64 {
                    let earlier = ('p', i - LOOKAHEAD as u64);
                    assert!(at(('f', i)) < at(earlier), "event {i} prefetched ahead");
                }
                if i + (LOOKAHEAD as u64) / 2 < n {
                    // The indirect stage runs between the first stage and processing.
                    let indirect = at(('i', i));
                    assert!(at(('f', i)) < indirect && indirect < at(('p', i)));
                }
            }
        }
    }

    #[test]
    fn prefetching_driver_stops_at_a_read_error() {
        let events = vec![
            Ok(Event::new(0, Op::Read, 0, 0)),
            Err(TraceError::UnknownFormat("broken".into())),
            Ok(Event::new(0, Op::Read, 1, 0)),
        ];
        let err = run_engine_prefetching(Recorder::default(), events).unwrap_err();
        assert!(err.to_string().contains("broken"));
    }

    /// An engine that prefetches from the first event on, however small its state.
    struct Always<E>(E);

    impl<E: Prefetch> Engine for Always<E> {
        fn process(&mut self, e: &Event) {
            self.0.process(e);
        }
        fn finish(self) -> Report {
            self.0.finish()
        }
    }

    impl<E: Prefetch> Prefetch for Always<E> {
        fn prefetch(&self, e: &Event) {
            self.0.prefetch(e);
        }
        fn prefetch_indirect(&self, e: &Event) {
            self.0.prefetch_indirect(e);
        }
    }

    #[test]
    fn prefetching_engines_match_the_plain_loop() {
        let mut events = Vec::new();
        for i in 0..200u64 {
            let t = (i % 3) as u32;
            let op = match i % 7 {
                0 => Op::Write,
                1 => Op::Acquire,
                2 => Op::Release,
                _ => Op::Read,
            };
            let decor = if op.is_lock_op() { 0 } else { i % 11 };
            events.push(Event::new(t, op, decor, i as u32));
        }
        let ok = || events.iter().copied().map(Ok);
        assert!(run_engine(HbEngine::new(), ok()).unwrap().racy_events > 0);
        assert_eq!(
            run_engine_prefetching(Always(FastTrackEngine::new()), ok()).unwrap(),
            run_engine(FastTrackEngine::new(), ok()).unwrap()
        );
        assert_eq!(
            run_engine_prefetching(Always(HbEngine::new()), ok()).unwrap(),
            run_engine(HbEngine::new(), ok()).unwrap()
        );
        assert_eq!(
            run_engine_prefetching(Always(ShbEngine::new()), ok()).unwrap(),
            run_engine(ShbEngine::new(), ok()).unwrap()
        );
    }
}
