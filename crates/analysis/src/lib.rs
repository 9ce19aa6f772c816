//! wasmgrind analysis: engines that decide races and deadlocks over an event stream.

pub mod access_history;
pub mod clock;
pub mod deadlock;
pub mod engine;
pub mod fasttrack;
pub mod hb;
pub mod id_map;
pub mod lock_graph;
pub mod lockset;
pub mod online;
pub mod overlap_split;
pub mod published_clock;
pub mod race_collector;
pub mod render;
pub mod report;
pub mod run;
pub mod shb;
pub mod sync_clocks;
pub mod syncp;
#[cfg(test)]
mod test_rng;
pub mod thread_table;
pub mod wcp;

pub use engine::Engine;
pub use overlap_split::OverlapSplit;
pub use report::{Deadlock, DeadlockEdge, EventRef, RacePair, Report};
pub use run::{
    analyze, analyze_events, analyze_path, analyze_path_split, run_engine, AnalyzedTrace,
    EngineKind,
};
