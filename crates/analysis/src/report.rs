//! What an engine finds: counts compatible with RAPID, a bounded list of race pairs
//! and, for the deadlock engine, lock-order cycles.
//!
//! JSON field names (stable): `engine`, `events`, `racy_events`, `racy_locations`,
//! `races` (each `{"first": EventRef, "second": EventRef}`, `first` earlier in the trace),
//! `races_truncated`, `deadlocks`. An `EventRef` is `{"thread", "location", "index", "op"}`
//! with `op` spelled as in STD (`r`, `w`, `acq`, ...).

use serde::{Serialize, Serializer};
use wasmgrind_trace::{Event, Op};

/// One event of the trace, as findings refer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct EventRef {
    /// Thread id.
    pub thread: u32,
    /// Location id.
    #[serde(rename = "location")]
    pub loc: u32,
    /// 0-based position of the event in the trace.
    pub index: u64,
    /// The operation.
    #[serde(serialize_with = "serialize_op")]
    pub op: Op,
}

impl EventRef {
    /// The reference to event `e` at position `index`.
    #[inline]
    pub fn new(e: &Event, index: u64) -> Self {
        EventRef {
            thread: e.thread,
            loc: e.loc,
            index,
            op: e.op,
        }
    }
}

fn serialize_op<S: Serializer>(op: &Op, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(op.std_name())
}

/// Two conflicting accesses the engine could not order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct RacePair {
    /// The earlier access.
    pub first: EventRef,
    /// The later access (the racy event).
    pub second: EventRef,
}

/// One edge of a potential-deadlock cycle: `thread` acquired `to_lock` at `to` while
/// holding `from_lock`, which it had acquired at `from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadlockEdge {
    /// Lock held.
    pub from_lock: u64,
    /// Lock acquired while holding `from_lock`.
    pub to_lock: u64,
    /// The acquisition of `from_lock`.
    pub from: EventRef,
    /// The acquisition of `to_lock`.
    pub to: EventRef,
}

/// A cycle in the lock-order graph that some interleaving could turn into a deadlock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadlock {
    /// The edges, each from a distinct thread, `edges[i].to_lock == edges[i+1].from_lock`.
    pub edges: Vec<DeadlockEdge>,
}

/// The result of running one engine over one trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Engine name (`hb`, `fasttrack`, ...).
    pub engine: String,
    /// Events processed.
    pub events: u64,
    /// Accesses that race with at least one earlier conflicting access.
    pub racy_events: u64,
    /// Distinct location ids of racy events.
    pub racy_locations: u64,
    /// Race pairs, deduplicated by location pair, at most [`MAX_RACE_PAIRS`].
    pub races: Vec<RacePair>,
    /// True when more distinct location pairs raced than `races` holds.
    pub races_truncated: bool,
    /// Potential deadlocks (deadlock engine only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deadlocks: Vec<Deadlock>,
}

/// Bound of [`Report::races`], so memory does not grow with the trace.
pub const MAX_RACE_PAIRS: usize = 1000;
