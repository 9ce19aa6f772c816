//! `shb`: schedulable happens-before (Mathur, Kini, Viswanathan, OOPSLA'18): HB plus an
//! edge from each read's last write to the read. Every race it reports is a real,
//! schedulable race, also after the first one.
//!
//! The check of a read runs before the last-write edge is added (a read never races
//! with its own writer otherwise), and a thread's epoch advances after each write so
//! the edge carries exactly the events up to that write.
//!
//! A read whose last write is already ordered before it (its epoch is covered by the
//! reader's clock, so by transitivity the whole write clock is) skips the join and
//! never touches the stored clock: for thread-private data, the common case, a read
//! costs one cache line of history and one of last-write epoch, both prefetched.

use wasmgrind_trace::{Event, Op};

use crate::access_history::AccessHistory;
use crate::clock::Epoch;
use crate::engine::Engine;
use crate::id_map::{prefetch, IdMap};
use crate::race_collector::RaceCollector;
use crate::report::Report;
use crate::run::{Prefetch, PREFETCH_ABOVE_BYTES};
use crate::sync_clocks::SyncClocks;

/// A variable's last write: its epoch, and which row of the [`ClockTable`] holds the
/// writer's clock at that write ([`NO_ROW`] before the first write).
#[derive(Debug, Clone, Copy)]
struct LastWrite {
    epoch: Epoch,
    row: u32,
}

/// [`LastWrite::row`] of a variable never written.
const NO_ROW: u32 = u32::MAX;

impl Default for LastWrite {
    fn default() -> Self {
        LastWrite {
            epoch: Epoch::BOTTOM,
            row: NO_ROW,
        }
    }
}

/// The last-write clocks of every written variable in one flat array, `width` entries
/// a row (a power of two, at least the longest clock stored; shorter clocks are padded
/// with zeros). Storing a clock is a copy into place: no allocation per variable, no
/// pointer to chase, nothing to free one by one at the end. Rows are handed out in
/// first-write order, so the table holds only written variables.
#[derive(Debug, Default)]
struct ClockTable {
    width: usize,
    rows: Vec<u32>,
}

impl ClockTable {
    /// A new zero row.
    fn push_row(&mut self) -> u32 {
        self.width = self.width.max(1);
        let row = self.rows.len() / self.width;
        self.rows.resize(self.rows.len() + self.width, 0);
        row as u32
    }

    /// The clock in `row` (with its zero padding).
    #[inline]
    fn row(&self, row: u32) -> &[u32] {
        let a = row as usize * self.width;
        &self.rows[a..a + self.width]
    }

    /// Stores `clock` in `row`, widening every row first if it is longer than `width`.
    #[inline]
    fn store(&mut self, row: u32, clock: &[u32]) {
        if clock.len() > self.width {
            self.widen(clock.len().next_power_of_two());
        }
        let a = row as usize * self.width;
        let dst = &mut self.rows[a..a + self.width];
        dst[..clock.len()].copy_from_slice(clock);
        dst[clock.len()..].fill(0);
    }

    /// Re-lays every row out `width` entries wide (rare: at most log2(threads) times).
    #[cold]
    fn widen(&mut self, width: usize) {
        let old = self.width.max(1);
        let n = self.rows.len() / old;
        let mut rows = vec![0; n * width];
        for (i, r) in self.rows.chunks_exact(old).enumerate() {
            rows[i * width..i * width + old].copy_from_slice(r);
        }
        self.rows = rows;
        self.width = width;
    }

    /// Hints the cache about `row`.
    #[inline]
    fn prefetch(&self, row: u32) {
        if let Some(x) = self.rows.get(row as usize * self.width) {
            prefetch(x);
        }
    }
}

/// The SHB engine.
#[derive(Debug, Default)]
pub struct ShbEngine {
    clocks: SyncClocks,
    history: AccessHistory,
    /// Per variable, its last write (`LW_x`): epoch inline, clock in `lw_clocks`.
    last_write: IdMap<LastWrite>,
    lw_clocks: ClockTable,
    races: RaceCollector,
}

impl ShbEngine {
    /// A fresh engine.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Prefetch for ShbEngine {
    #[inline]
    fn prefetch(&self, e: &Event) {
        if e.op.is_access() {
            self.history.prefetch(e.decor);
            self.last_write.prefetch(e.decor);
        }
    }

    #[inline]
    fn prefetch_indirect(&self, e: &Event) {
        if e.op.is_access() {
            self.history.prefetch_rest(e.decor);
        }
        if e.op == Op::Write {
            // A write overwrites the stored clock; reads rarely need it (see above).
            if let Some(lw) = self.last_write.get(e.decor) {
                if lw.row != NO_ROW {
                    self.lw_clocks.prefetch(lw.row);
                }
            }
        }
    }

    fn worth_prefetching(&self) -> bool {
        self.history.bytes() + self.last_write.bytes() > PREFETCH_ABOVE_BYTES
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
            if let Some(&lw) = self.last_write.get(e.decor) {
                if lw.row != NO_ROW && !lw.epoch.le_vc(c) {
                    c.join_slice(self.lw_clocks.row(lw.row));
                }
            }
        } else {
            let lw = self.last_write.entry(e.decor);
            if lw.row == NO_ROW {
                lw.row = self.lw_clocks.push_row();
            }
            lw.epoch = c.epoch(t);
            self.lw_clocks.store(lw.row, c.as_slice());
            c.inc(t);
        }
    }

    fn finish(self) -> Report {
        self.races.into_report("shb")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_table_widens_keeping_rows() {
        let mut t = ClockTable::default();
        let a = t.push_row();
        let b = t.push_row();
        t.store(a, &[7]);
        t.store(b, &[1, 2, 3]);
        assert_eq!(t.width, 4);
        assert_eq!(t.row(a), &[7, 0, 0, 0]);
        assert_eq!(t.row(b), &[1, 2, 3, 0]);
        let c = t.push_row();
        assert_eq!(t.row(c), &[0, 0, 0, 0]);
        t.store(a, &[5; 9]);
        assert_eq!(t.width, 16);
        assert_eq!(&t.row(a)[..10], &[5, 5, 5, 5, 5, 5, 5, 5, 5, 0]);
        assert_eq!(&t.row(b)[..4], &[1, 2, 3, 0]);
        // Storing a shorter clock clears the rest of the row.
        t.store(a, &[1]);
        assert_eq!(t.row(a).iter().sum::<u32>(), 1);
    }
}
