//! `shb`: schedulable happens-before (Mathur, Kini, Viswanathan, OOPSLA'18): HB plus an
//! edge from each read's last write to the read. Every race it reports is a real,
//! schedulable race, also after the first one.
//!
//! The check of a read runs before the last-write edge is added (a read never races
//! with its own writer otherwise), and a thread's epoch advances after each write so
//! the edge carries exactly the events up to that write.

use wasmgrind_trace::{Event, Op};

use crate::access_history::AccessHistory;
use crate::clock::VectorClock;
use crate::engine::Engine;
use crate::id_map::IdMap;
use crate::race_collector::RaceCollector;
use crate::report::Report;
use crate::sync_clocks::SyncClocks;

/// The SHB engine.
#[derive(Debug, Default)]
pub struct ShbEngine {
    clocks: SyncClocks,
    history: AccessHistory,
    /// Per variable, the clock of its last write (`LW_x`).
    last_write: IdMap<VectorClock>,
    races: RaceCollector,
}

impl ShbEngine {
    /// A fresh engine.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Engine for ShbEngine {
    #[inline]
    fn process(&mut self, e: &Event) {
        let r = self.races.next_event(e);
        if !e.op.is_access() {
            self.clocks.sync(e);
            return;
        }
        let t = e.thread;
        let c = self.clocks.thread(t);
        let own = c.get(t);
        if let Some(first) = self.history.access(e.decor, r, own, |u| c.get(u)) {
            self.races.racy(first, r);
        }
        if e.op == Op::Read {
            if let Some(lw) = self.last_write.get(e.decor) {
                c.join(lw);
            }
        } else {
            self.last_write.entry(e.decor).copy_from(c);
            c.inc(t);
        }
    }

    fn finish(self) -> Report {
        self.races.into_report("shb")
    }
}
