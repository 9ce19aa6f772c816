//! Choosing an engine by name and driving it over an event stream.

use std::fmt;
use std::str::FromStr;

use std::path::Path;

use wasmgrind_trace::{open_trace, Event, EventReader, Format, Names, TraceError};

use crate::deadlock::DeadlockEngine;
use crate::engine::Engine;
use crate::fasttrack::FastTrackEngine;
use crate::hb::HbEngine;
use crate::lockset::LocksetEngine;
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

/// Runs engine `kind` over `events`. `threads`, when known (the RapidBin header), lets
/// WCP keep its lock logs exact for threads that start late.
pub fn analyze<I>(kind: EngineKind, events: I, threads: Option<usize>) -> Result<Report, TraceError>
where
    I: IntoIterator<Item = Result<Event, TraceError>>,
{
    match kind {
        EngineKind::Hb => run_engine(HbEngine::new(), events),
        EngineKind::FastTrack => run_engine(FastTrackEngine::new(), events),
        EngineKind::Shb => run_engine(ShbEngine::new(), events),
        EngineKind::Wcp => run_engine(WcpEngine::with_threads(threads.unwrap_or(0)), events),
        EngineKind::SyncP => run_engine(SyncPEngine::new(), events),
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
    let mut reader = open_trace(path)?;
    let format = reader.format();
    let threads = match &reader {
        EventReader::RapidBin(r) => Some(r.header().threads as usize),
        EventReader::Std(_) => None,
    };
    let report = analyze(kind, &mut reader, threads)?;
    Ok(AnalyzedTrace {
        report,
        format,
        names: reader.into_names(),
    })
}
