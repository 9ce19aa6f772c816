//! Online happens-before data-race detector (ThreadSanitizer-style) fed by the runtime.
//!
//! The runtime calls a shared [`Detector`] from every wasm thread: plain accesses arrive in
//! drained per-thread batches ([`Detector::accesses`]), synchronization immediately
//! ([`Detector::fork`], [`Detector::join`], [`Detector::acquire`], [`Detector::release`],
//! [`Detector::atomic`]). The runtime guarantees that a thread's buffered accesses are
//! handed over before its next synchronization event, so the order in which events reach
//! the detector is a linearization consistent with happens-before.
//!
//! How it decides (each file documents its invariants):
//! - per-thread and per-sync-object [`VectorClock`](crate::clock::VectorClock)s
//!   (`threads`, `sync_objects`); every acquire, release, fork and join starts a new
//!   epoch of the thread, so one epoch of one thread means one vector clock;
//! - shadow memory of 8-byte granules in lazily allocated 64 KiB chunks (`shadow`), each
//!   granule holding 16-byte cells that record an earlier access as an epoch, a byte mask,
//!   its kind, site and stack (`cell`); four inline, one cache line per granule (8× the
//!   touched memory), more spilled to a side table only if
//!   [`Config::max_cells_per_granule`] asks for more, then evicted;
//! - the per-granule check-and-store step, the hot loop (`check`): skip redundant
//!   same-epoch accesses, report unordered conflicting cells, replace subsumed ones;
//! - deduplication of reports by unordered pair of sites, bounded (`race_set`).
//!
//! Concurrency: no global lock. Each thread's clock, each shard of sync objects and each
//! shadow chunk has its own lock, so threads on disjoint data analyze in parallel (see
//! `detector` for the lock order). A thread that keeps a [`ThreadHandle`] and passes it
//! instead of its id holds its own clock's lock for its whole life, sparing one locked
//! instruction per event. Thread ids must be below 2^22.

mod access;
mod cell;
mod check;
mod config;
mod detached;
mod detector;
mod granule;
mod race;
mod race_set;
mod shadow;
mod sync_clock;
mod sync_id;
mod sync_objects;
mod threads;

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

pub use access::{Access, ThreadId};
pub use config::{Config, Stats};
pub use detector::Detector;
pub use race::{Race, RaceAccess};
pub use sync_id::SyncId;
pub use threads::{EventThread, ThreadHandle};

/// The largest thread id the detector tracks (a shadow cell's thread field); events of
/// threads past it are counted as ignored.
pub const MAX_THREAD_ID: ThreadId = cell::MAX_CELL_TID;
