//! `fasttrack`: FastTrack (Flanagan & Freund, PLDI'09) — happens-before with adaptive
//! shadow state: a write epoch, and a read epoch inflated to a per-thread read clock
//! only while reads are concurrent. It reports a race on an access only when it races
//! with the state kept, so its racy events are a subset of `hb`'s (a write forgets
//! the concurrent reads it was checked against), the same on each variable's first race.
//!
//! Hot-path layout: one 40-byte `VarState` per variable in a dense vector (the
//! driver prefetches it a few events ahead, see [`crate::run::Prefetch`]); shared read
//! clocks live in a side pool, indexed from the read epoch.

use wasmgrind_trace::{Event, Op};

use crate::clock::{Epoch, Tid};
use crate::engine::Engine;
use crate::id_map::IdMap;
use crate::race_collector::RaceCollector;
use crate::report::{EventRef, Report};
use crate::run::{Prefetch, PREFETCH_ABOVE_BYTES};
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

/// Readers a [`ReadClock`] lists before switching to one slot per thread.
const SPARSE_MAX: usize = 8;

/// Up to this many threads in the trace, read clocks are dense from the start: a slot
/// per thread is then as small as a list and needs no search.
const DENSE_THREADS: usize = 16;

/// One read in a sparse [`ReadClock`].
#[derive(Debug, Clone, Copy)]
struct Read {
    thread: Tid,
    clock: u32,
    loc: u32,
    index: u64,
}

/// One thread's entry of a dense [`ReadClock`] (clock 0: no read).
#[derive(Debug, Clone, Copy, Default)]
struct ReadSlot {
    clock: u32,
    loc: u32,
    index: u64,
}

/// A shared read clock: per thread, the clock of its last read of the variable (0:
/// none) and where that read was.
///
/// Layout: a write usually follows only a few reads, so in traces of many threads,
/// while at most [`SPARSE_MAX`] threads read, the clock is a short list (set-up and
/// the check of a write touch only those). Past that, or from the start in traces of
/// at most [`DENSE_THREADS`] threads, it is dense: one 16-byte slot per thread,
/// indexed by thread id.
#[derive(Debug, Default)]
struct ReadClock {
    /// The readers while not `dense`, in first-read order.
    sparse: Vec<Read>,
    dense: bool,
    slots: Vec<ReadSlot>,
}

impl ReadClock {
    /// Records thread `t`'s read at `clock` (location `loc`, trace index `index`).
    #[inline(always)]
    fn set(&mut self, t: Tid, clock: u32, loc: u32, index: u64) {
        if self.dense {
            self.set_dense(t, clock, loc, index);
        } else {
            self.set_sparse(t, clock, loc, index);
        }
    }

    /// [`set`](Self::set) of a sparse clock: kept out of line so the dense path,
    /// the only one of traces with few threads, stays small where it is inlined.
    #[inline(never)]
    fn set_sparse(&mut self, t: Tid, clock: u32, loc: u32, index: u64) {
        let read = Read {
            thread: t,
            clock,
            loc,
            index,
        };
        if let Some(r) = self.sparse.iter_mut().find(|r| r.thread == t) {
            *r = read;
            return;
        }
        if self.sparse.len() < SPARSE_MAX {
            self.sparse.push(read);
            return;
        }
        self.dense = true;
        for i in 0..self.sparse.len() {
            let r = self.sparse[i];
            self.set_dense(r.thread, r.clock, r.loc, r.index);
        }
        self.sparse.clear();
        self.set_dense(t, clock, loc, index);
    }

    #[inline]
    fn set_dense(&mut self, t: Tid, clock: u32, loc: u32, index: u64) {
        let i = t as usize;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, ReadSlot::default());
        }
        self.slots[i] = ReadSlot { clock, loc, index };
    }

    /// Forgets every read, keeping the allocations. `threads` (the trace's thread
    /// count so far) picks the representation and pre-sizes a dense one.
    #[inline]
    fn reset(&mut self, threads: usize) {
        self.sparse.clear();
        self.dense = threads <= DENSE_THREADS;
        self.slots.clear();
        if self.dense {
            self.slots.resize(threads, ReadSlot::default());
        }
    }

    /// The read of the lowest-numbered thread `u` whose clock exceeds `c[u]`: a read
    /// not ordered before the holder of `c`. The holder's own reads never qualify, as
    /// a thread's own clock entry only grows.
    #[inline]
    fn first_uncovered(&self, c: &[u32]) -> Option<EventRef> {
        let known = |u: Tid| c.get(u as usize).copied().unwrap_or(0);
        let (u, loc, index) = if !self.dense {
            let r = self
                .sparse
                .iter()
                .filter(|r| r.clock > known(r.thread))
                .min_by_key(|r| r.thread)?;
            (r.thread, r.loc, r.index)
        } else {
            let (u, r) = self
                .slots
                .iter()
                .enumerate()
                .find(|(u, r)| r.clock > known(*u as Tid))?;
            (u as Tid, r.loc, r.index)
        };
        Some(EventRef {
            thread: u,
            loc,
            index,
            op: Op::Read,
        })
    }
}

/// The FastTrack engine.
#[derive(Debug, Default)]
pub struct FastTrackEngine {
    clocks: SyncClocks,
    vars: IdMap<VarState>,
    /// Shared read clocks, indexed from read-shared epochs; `free` lists reusable ones.
    shared: Vec<ReadClock>,
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

impl Prefetch for FastTrackEngine {
    #[inline]
    fn prefetch(&self, e: &Event) {
        if e.op.is_access() {
            self.vars.prefetch(e.decor);
        }
    }

    fn worth_prefetching(&self) -> bool {
        self.vars.bytes() > PREFETCH_ABOVE_BYTES
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
                    self.shared[x.r.clock() as usize].set(t, now.clock(), e.loc, r.index);
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
                            self.shared.push(ReadClock::default());
                            (self.shared.len() - 1) as u32
                        }
                    };
                    let rc = &mut self.shared[idx as usize];
                    rc.reset(self.clocks.threads());
                    rc.set(x.r.thread(), x.r.clock(), x.r_loc, x.r_index);
                    rc.set(t, now.clock(), e.loc, r.index);
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
                        first = self.shared[idx as usize].first_uncovered(c.as_slice());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::test_rng::XorShift;

    #[test]
    fn read_clock_finds_the_lowest_uncovered_reader_sparse_and_dense() {
        let mut rc = ReadClock::default();
        // Thread 3 reads first: the answer is still the lowest thread, not the first read.
        rc.set(3, 2, 30, 300);
        rc.set(1, 5, 10, 100);
        for dense in [false, true] {
            if dense {
                for t in 10..10 + SPARSE_MAX as Tid {
                    rc.set(t, 1, t, u64::from(t));
                }
                assert!(rc.dense);
            }
            let mut c = vec![9; 10 + SPARSE_MAX];
            c[1] = 5;
            c[3] = 2;
            assert_eq!(rc.first_uncovered(&c), None, "dense {dense}");
            c[1] = 4;
            c[3] = 1;
            let hit = rc.first_uncovered(&c).unwrap();
            assert_eq!(
                (hit.thread, hit.loc, hit.index, hit.op),
                (1, 10, 100, Op::Read)
            );
            // A reader past the end of the writer's clock is uncovered (missing = 0).
            let hit = rc.first_uncovered(&[9, 9]).unwrap();
            assert_eq!((hit.thread, hit.loc, hit.index), (3, 30, 300));
        }
        // A thread's newer read replaces its older one, in either representation.
        for threads in [DENSE_THREADS + 1, 3] {
            rc.reset(threads);
            rc.set(2, 1, 1, 1);
            rc.set(2, 7, 2, 2);
            assert_eq!(rc.first_uncovered(&[0, 0, 6]).unwrap().index, 2);
        }
        rc.reset(0);
        assert_eq!(rc.first_uncovered(&[]), None);
    }

    /// Racy event indices and, per variable, the first one.
    fn racy(events: &[Event], r: &Report) -> (Vec<u64>, Vec<(u64, u64)>) {
        let mut idx: Vec<u64> = r.races.iter().map(|p| p.second.index).collect();
        idx.sort_unstable();
        let mut first = std::collections::BTreeMap::new();
        for &i in &idx {
            first.entry(events[i as usize].decor).or_insert(i);
        }
        (idx, first.into_iter().collect())
    }

    #[test]
    fn concurrent_readers_agree_with_hb_in_small_and_many_thread_traces() {
        // Threads mostly reading 2 variables, a lock now and then. With 4 threads read
        // clocks are dense from the start; with 24 they start sparse and some go dense.
        for threads in [4u64, 24] {
            let mut events: Vec<Event> = (1..threads)
                .map(|t| Event::new(0, Op::Fork, t, 0))
                .collect();
            let mut rng = XorShift::new(0x2545_f491_4f6c_dd1d);
            for i in 0..600u32 {
                let x = rng.next();
                let t = (x % threads) as u32;
                let op = match (x >> 8) % 40 {
                    0 => Op::Write,
                    1 => Op::Acquire,
                    2 => Op::Release,
                    _ => Op::Read,
                };
                let decor = if op.is_lock_op() { 0 } else { (x >> 16) % 2 };
                events.push(Event::new(t, op, decor, i));
            }
            let mut ft = FastTrackEngine::new();
            let mut hb = crate::hb::HbEngine::new();
            let mut went_sparse = false;
            for e in &events {
                ft.process(e);
                hb.process(e);
                went_sparse |= ft.shared.iter().any(|rc| !rc.sparse.is_empty());
            }
            assert!(
                ft.shared.iter().any(|rc| rc.dense),
                "some read clock is dense"
            );
            assert_eq!(went_sparse, threads > DENSE_THREADS as u64);
            let (ft, hb) = (ft.finish(), hb.finish());
            assert!(!ft.races_truncated && !hb.races_truncated);
            assert_eq!(
                ft.racy_events,
                ft.races.len() as u64,
                "one pair per racy event"
            );
            let (ft_idx, ft_first) = racy(&events, &ft);
            let (hb_idx, hb_first) = racy(&events, &hb);
            assert!(ft_idx.len() > 10, "the trace races");
            assert!(ft_idx.iter().all(|i| hb_idx.binary_search(i).is_ok()));
            assert_eq!(ft_first, hb_first, "{threads} threads");
        }
    }
}
