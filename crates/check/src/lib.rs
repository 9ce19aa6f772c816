//! `wasmgrind check`'s engine room: a [`wasmgrind_runtime::Monitor`] that turns an
//! instrumented program's events into happens-before analysis
//! ([`wasmgrind_analysis::online::Detector`]) and each new race into a report.
//!
//! [`instrument()`] instruments the module with the in-module repeat filter and a per-site
//! policy from [`SiteClasses`] (what each site means to the checker), so same-epoch
//! repeats and the allocator's bookkeeping never reach the host.
//!
//! Per thread, a [`thread::CheckThread`] decodes the drained event buffer, replays
//! call enter/exit records into a call-stack trie ([`stacks::StackDepot`], as
//! ThreadSanitizer rebuilds stacks from its trace) and maps synchronization to the
//! detector: every atomic is acquire + release on its address, a woken wait acquires
//! and a notify releases on its address, spawn forks, threadlink joins join, the
//! threadlink lock hooks acquire and release their lock. [`reporter::Reporter`]
//! symbolizes, deduplicates, filters and prints.
//!
//! Locks ([`locks`]: which atomics take and release a lock, by value and by
//! function name) feed [`lock_tracker::LockTracker`]: who holds what, the
//! lock-order graph ([`lock_order`]) judged by happens-before without lock edges
//! ([`lock_clocks`]), and lock misuse; potential deadlocks and misuses are reported
//! when the run ends.

pub mod instrumentation;
pub mod libc_sync;
pub mod lock_clocks;
pub mod lock_order;
pub mod lock_tracker;
pub mod locks;
pub mod reporter;
pub mod session;
pub mod site_classes;
pub mod stacks;
pub mod thread;

pub use instrumentation::{instrument, CheckInstrumentError, CheckModule};
pub use reporter::{OutputFormat, Reporter, ReporterConfig};
pub use session::CheckSession;
pub use site_classes::{RecordClass, SiteClasses};
