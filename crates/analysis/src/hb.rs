//! `hb`: the reference happens-before engine, with full vector clocks and an exact
//! per-thread access history. Every access that races with at least one earlier
//! conflicting access under happens-before counts as racy.

use wasmgrind_trace::Event;

use crate::access_history::AccessHistory;
use crate::engine::Engine;
use crate::race_collector::RaceCollector;
use crate::report::Report;
use crate::run::{Prefetch, PREFETCH_ABOVE_BYTES};
use crate::sync_clocks::SyncClocks;

/// The happens-before engine.
#[derive(Debug, Default)]
pub struct HbEngine {
    clocks: SyncClocks,
    history: AccessHistory,
    races: RaceCollector,
}

impl HbEngine {
    /// A fresh engine.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Prefetch for HbEngine {
    #[inline]
    fn prefetch(&self, e: &Event) {
        if e.op.is_access() {
            self.history.prefetch(e.decor);
        }
    }

    #[inline]
    fn prefetch_indirect(&self, e: &Event) {
        if e.op.is_access() {
            self.history.prefetch_rest(e.decor);
        }
    }

    fn worth_prefetching(&self) -> bool {
        self.history.bytes() > PREFETCH_ABOVE_BYTES
    }
}

impl Engine for HbEngine {
    #[inline]
    fn process(&mut self, e: &Event) {
        let r = self.races.next_event(e);
        if e.op.is_access() {
            let c = self.clocks.thread(e.thread);
            let own = c.get(e.thread);
            if let Some(first) = self.history.access(e.decor, r, own, |u| c.get(u)) {
                self.races.racy(first, r);
            }
        } else {
            self.clocks.sync(e);
        }
    }

    fn finish(self) -> Report {
        self.races.into_report("hb")
    }
}
