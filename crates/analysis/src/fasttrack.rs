//! `fasttrack`: FastTrack (Flanagan & Freund, PLDI'09) — happens-before with adaptive
//! shadow state: a write epoch, and a read epoch inflated to a per-thread read clock
//! only while reads are concurrent. It reports a race on an access only when it races
//! with the state kept, so its racy events are a subset of `hb`'s (a write forgets
//! the concurrent reads it was checked against), the same on each variable's first race.
//!
//! Hot-path layout: one 40-byte [`VarState`] per variable in a dense vector; shared
//! read clocks live in a side pool, indexed from the read epoch.

use wasmgrind_trace::{Event, Op};

use crate::clock::{Epoch, Tid, VectorClock};
use crate::engine::Engine;
use crate::id_map::IdMap;
use crate::race_collector::RaceCollector;
use crate::report::{EventRef, Report};
use crate::sync_clocks::SyncClocks;

/// Read-epoch thread marking "read-shared": the clock field indexes `FastTrackEngine::shared`.
const SHARED: Tid = u32::MAX;

/// Shadow state of one variable.
#[derive(Debug, Clone, Copy, Default)]
struct VarState {
    /// Last write.
    w: Epoch,
    /// Last read, or `SHARED@pool-index` while reads are concurrent.
    r: Epoch,
    w_loc: u32,
    r_loc: u32,
    w_index: u64,
    r_index: u64,
}

/// One thread's entry of a shared read clock.
#[derive(Debug, Clone, Copy, Default)]
struct ReadSlot {
    clock: u32,
    loc: u32,
    index: u64,
}

/// The FastTrack engine.
#[derive(Debug, Default)]
pub struct FastTrackEngine {
    clocks: SyncClocks,
    vars: IdMap<VarState>,
    /// Shared read clocks, indexed by thread id; `free` lists reusable entries.
    shared: Vec<Vec<ReadSlot>>,
    free: Vec<u32>,
    races: RaceCollector,
}

impl FastTrackEngine {
    /// A fresh engine.
    pub fn new() -> Self {
        Self::default()
    }
}

#[inline]
fn epoch_ref(e: Epoch, loc: u32, index: u64, op: Op) -> EventRef {
    EventRef {
        thread: e.thread(),
        loc,
        index,
        op,
    }
}

impl Engine for FastTrackEngine {
    #[inline]
    fn process(&mut self, e: &Event) {
        let r = self.races.next_event(e);
        let t = e.thread;
        match e.op {
            Op::Read => {
                let c = self.clocks.thread(t);
                let now = c.epoch(t);
                let x = self.vars.entry(e.decor);
                if !x.w.le_vc(c) {
                    self.races
                        .racy(epoch_ref(x.w, x.w_loc, x.w_index, Op::Write), r);
                }
                if x.r == now {
                    // Same epoch: the state already says "read by t at this epoch".
                    return;
                }
                if x.r.thread() == SHARED {
                    let slots = &mut self.shared[x.r.clock() as usize];
                    if slots.len() <= t as usize {
                        slots.resize(t as usize + 1, ReadSlot::default());
                    }
                    slots[t as usize] = ReadSlot {
                        clock: now.clock(),
                        loc: e.loc,
                        index: r.index,
                    };
                } else if x.r.le_vc(c) {
                    // Exclusive read: the previous read happens before this one.
                    x.r = now;
                    x.r_loc = e.loc;
                    x.r_index = r.index;
                } else {
                    // Concurrent reads: inflate to a read clock holding both.
                    let idx = match self.free.pop() {
                        Some(i) => i,
                        None => {
                            self.shared.push(Vec::new());
                            (self.shared.len() - 1) as u32
                        }
                    };
                    let slots = &mut self.shared[idx as usize];
                    let need = (x.r.thread().max(t) + 1) as usize;
                    slots.clear();
                    slots.resize(need, ReadSlot::default());
                    slots[x.r.thread() as usize] = ReadSlot {
                        clock: x.r.clock(),
                        loc: x.r_loc,
                        index: x.r_index,
                    };
                    slots[t as usize] = ReadSlot {
                        clock: now.clock(),
                        loc: e.loc,
                        index: r.index,
                    };
                    x.r = Epoch::new(SHARED, idx);
                }
            }
            Op::Write => {
                let c = self.clocks.thread(t);
                let now = c.epoch(t);
                let x = self.vars.entry(e.decor);
                let mut first = None;
                if !x.w.le_vc(c) {
                    first = Some(epoch_ref(x.w, x.w_loc, x.w_index, Op::Write));
                }
                if x.r.thread() == SHARED {
                    let idx = x.r.clock();
                    if first.is_none() {
                        first = racing_read(&self.shared[idx as usize], t, c);
                    }
                    // Writes supersede the concurrent reads (checked just now).
                    self.free.push(idx);
                    x.r = Epoch::BOTTOM;
                } else if first.is_none() && !x.r.le_vc(c) {
                    first = Some(epoch_ref(x.r, x.r_loc, x.r_index, Op::Read));
                }
                if let Some(f) = first {
                    self.races.racy(f, r);
                }
                x.w = now;
                x.w_loc = e.loc;
                x.w_index = r.index;
            }
            _ => self.clocks.sync(e),
        }
    }

    fn finish(self) -> Report {
        self.races.into_report("fasttrack")
    }
}

/// A read in a shared read clock that `c` (the clock of thread `t`) does not cover.
#[inline]
fn racing_read(slots: &[ReadSlot], t: Tid, c: &VectorClock) -> Option<EventRef> {
    slots.iter().enumerate().find_map(|(u, s)| {
        let u = u as Tid;
        (u != t && s.clock > c.get(u)).then_some(EventRef {
            thread: u,
            loc: s.loc,
            index: s.index,
            op: Op::Read,
        })
    })
}
