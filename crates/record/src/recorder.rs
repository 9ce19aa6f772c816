//! The state every thread of a recorded run shares: the id tables and the trace
//! writer, behind one mutex, and the metadata written when the trace is finished.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use serde_json::json;
use wasmgrind_runtime::{Outcome, Termination, ThreadId};
use wasmgrind_trace::{Event, Metadata, Op};

use crate::error::RecordError;
use crate::locations::{LocationIds, NO_LOCATION};
use crate::locks::{LockIds, LockKey};
use crate::sink::TraceSink;
use crate::site_table::SiteTable;
use crate::variables::VariableIds;

/// The events after which the writer is flushed even without a finalizer, so that a
/// process killed outright still leaves a readable (RapidBin: header-patched) trace.
const FLUSH_EVERY: u64 = 1 << 20;

/// What an event before id assignment is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The `size` bytes at `address` (reads and writes).
    Variable {
        /// First byte.
        address: u64,
        /// Number of bytes.
        size: u32,
    },
    /// A lock (acquire, release, request).
    Lock(LockKey),
    /// A thread (fork, join).
    Thread(ThreadId),
}

/// An event as a thread produces it: ids are assigned when it is written, under the
/// recorder's lock, so first-use order in the file is id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// The operation.
    pub op: Op,
    /// What it is on.
    pub target: Target,
    /// The instrumentation site it comes from, `None` for runtime events.
    pub site: Option<u32>,
}

impl Pending {
    /// An access of `op` to the `size` bytes at `address`, from `site`.
    pub fn variable(op: Op, address: u64, size: u32, site: u32) -> Pending {
        Pending {
            op,
            target: Target::Variable { address, size },
            site: Some(site),
        }
    }

    /// A lock operation `op` on `key`, from `site` (`None`: the runtime's).
    pub fn lock(op: Op, key: LockKey, site: Option<u32>) -> Pending {
        Pending {
            op,
            target: Target::Lock(key),
            site,
        }
    }
}

/// Counts of a finished trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events written.
    pub events: u64,
    /// Distinct variables.
    pub variables: u64,
    /// Distinct locks.
    pub locks: u64,
    /// Location ids handed out (the reserved id 0 included).
    pub locations: u32,
}

struct State {
    /// `None` once finished or failed: later events are dropped.
    sink: Option<TraceSink>,
    variables: VariableIds,
    locks: LockIds,
    locations: LocationIds,
    events: u64,
    since_flush: u64,
    /// A failure not yet handed to the termination or to [`Recorder::finish`].
    error: Option<RecordError>,
}

/// One recorded run's shared state; the runtime's monitor hands it each thread's events.
pub struct Recorder {
    sites: SiteTable,
    state: Mutex<State>,
    metadata_path: Option<PathBuf>,
    termination: OnceLock<Arc<Termination>>,
}

impl Recorder {
    /// Records into `sink`; `metadata_path` (usually [`Metadata::path_for`] the trace)
    /// receives the metadata JSON when the trace is finished.
    pub fn new(sites: SiteTable, sink: TraceSink, metadata_path: Option<PathBuf>) -> Arc<Self> {
        let locations = LocationIds::new(sites.len());
        Arc::new(Recorder {
            sites,
            state: Mutex::new(State {
                sink: Some(sink),
                variables: VariableIds::default(),
                locks: LockIds::default(),
                locations,
                events: 0,
                since_flush: 0,
                error: None,
            }),
            metadata_path,
            termination: OnceLock::new(),
        })
    }

    /// Lets a write failure (e.g. a RapidBin limit) end the program at once, through
    /// the same termination (and so the same finalizer) as any other end.
    pub fn set_termination(&self, termination: Arc<Termination>) {
        let _ = self.termination.set(termination);
    }

    /// The sites events refer to.
    pub fn sites(&self) -> &SiteTable {
        &self.sites
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent tables (ids are assigned
        // before anything else changes), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes thread `tid`'s events, in order, as one uninterrupted run of the trace.
    ///
    /// On a write failure the trace is closed (readable up to the last event that was
    /// written) and, if a termination is set, the program ends with the error.
    pub fn emit(&self, tid: ThreadId, events: &[Pending]) {
        if events.is_empty() {
            return;
        }
        let failed = {
            let mut guard = self.state();
            let state = &mut *guard;
            let Some(sink) = state.sink.as_mut() else {
                return;
            };
            let mut result = Ok(());
            for p in events {
                let decor = match p.target {
                    Target::Variable { address, size } => state.variables.id(address, size),
                    Target::Lock(key) => state.locks.id(key),
                    Target::Thread(t) => t.into(),
                };
                let loc = match p.site {
                    Some(site) => state.locations.id(site, &self.sites),
                    None => NO_LOCATION,
                };
                result = sink.write(&Event::new(tid, p.op, decor, loc));
                if result.is_err() {
                    break;
                }
                state.events += 1;
            }
            state.since_flush += events.len() as u64;
            if result.is_ok() && state.since_flush >= FLUSH_EVERY {
                state.since_flush = 0;
                result = sink.flush();
            }
            match result {
                Ok(()) => None,
                Err(e) => {
                    // Keep the first error; closing must not hide it.
                    let _ = self.close(state);
                    match self.termination.get() {
                        Some(t) => Some((t.clone(), e.to_string())),
                        None => {
                            state.error = Some(e);
                            None
                        }
                    }
                }
            }
        };
        if let Some((termination, message)) = failed {
            termination.terminate(Outcome::Aborted(message));
        }
    }

    /// Finishes the trace file and writes the metadata; later events are dropped.
    /// Returns the trace's counts, or the failure not yet reported through the
    /// termination (a failure is reported once).
    pub fn finish(&self) -> Result<Summary, RecordError> {
        let mut guard = self.state();
        let state = &mut *guard;
        let closed = if state.sink.is_some() {
            self.close(state)
        } else {
            Ok(())
        };
        if let Some(e) = state.error.take() {
            return Err(e);
        }
        closed?;
        Ok(Summary {
            events: state.events,
            variables: state.variables.len() as u64,
            locks: state.locks.keys().len() as u64,
            locations: state.locations.len(),
        })
    }

    /// Closes the sink and writes the metadata of everything written so far.
    fn close(&self, state: &mut State) -> Result<(), RecordError> {
        let finished = match state.sink.take() {
            Some(sink) => sink.finish(),
            None => Ok(()),
        };
        let written = match &self.metadata_path {
            Some(path) => write_metadata(state, path),
            None => Ok(()),
        };
        finished.and(written)
    }

    /// The metadata of the trace so far (what [`Recorder::finish`] writes).
    pub fn metadata(&self) -> serde_json::Value {
        metadata_json(&self.state())
    }
}

/// The metadata JSON: the trace crate's [`Metadata`] plus `locks` (id → kind and
/// address), `overlaps` (pairs of variable ids whose byte ranges overlap) and
/// `recording` (how events were mapped). Readers of plain [`Metadata`] ignore the extras.
fn metadata_json(state: &State) -> serde_json::Value {
    let mut meta = Metadata::default();
    for (id, info) in state.variables.infos().iter().enumerate() {
        meta.variables.insert(id as u64, *info);
    }
    meta.locations = state.locations.infos().clone();
    meta.names.locks = state.locks.keys().iter().map(LockKey::label).collect();
    let mut value = serde_json::to_value(&meta).unwrap_or_else(|_| json!({}));
    let locks: serde_json::Map<String, serde_json::Value> = state
        .locks
        .keys()
        .iter()
        .enumerate()
        .map(|(id, key)| {
            (
                id.to_string(),
                json!({ "kind": key.kind.name(), "address": key.address }),
            )
        })
        .collect();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("locks".into(), locks.into());
        obj.insert("overlaps".into(), json!(state.variables.overlaps()));
        if state.variables.overlaps_truncated() {
            obj.insert("overlaps_truncated".into(), true.into());
        }
        obj.insert(
            "recording".into(),
            json!({
                "atomics": "acq(atomic@addr) r|w(variable) rel(atomic@addr)",
                "location_0": "runtime events without a code location",
            }),
        );
    }
    value
}

fn write_metadata(state: &State, path: &std::path::Path) -> Result<(), RecordError> {
    let err = |detail: String| RecordError::Metadata {
        path: path.to_owned(),
        detail,
    };
    let text =
        serde_json::to_string_pretty(&metadata_json(state)).map_err(|e| err(e.to_string()))?;
    std::fs::write(path, text).map_err(|e| err(e.to_string()))
}
