//! Exact access history: per variable, per thread, the epoch, location and index of
//! that thread's last read and last write. Since a thread's accesses are ordered by
//! program order, an access races with *some* earlier access of thread `u` iff it
//! races with `u`'s last one, so this decides "races with at least one earlier
//! conflicting access" exactly for any partial order containing program order.

use wasmgrind_trace::Op;

use crate::clock::Tid;
use crate::id_map::IdMap;
use crate::report::EventRef;

/// One thread's last accesses to one variable. Clock 0 means "none".
#[derive(Debug, Clone, Copy)]
struct Slot {
    thread: Tid,
    w_clock: u32,
    r_clock: u32,
    w_loc: u32,
    r_loc: u32,
    w_index: u64,
    r_index: u64,
}

/// Per-variable access history (memory: variables × threads that touched them).
#[derive(Debug, Default)]
pub struct AccessHistory {
    vars: IdMap<Vec<Slot>>,
}

impl AccessHistory {
    /// Empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks access `e` (a read or write of `var` at epoch `own_clock` of its thread)
    /// against every other thread's last conflicting access, then records it.
    ///
    /// `known(u)` must give the largest clock of thread `u` ordered before `e` under the
    /// engine's partial order. Returns an earlier access `e` races with, if any.
    #[inline]
    pub fn access(
        &mut self,
        var: u64,
        e: EventRef,
        own_clock: u32,
        known: impl Fn(Tid) -> u32,
    ) -> Option<EventRef> {
        let slots = self.vars.entry(var);
        let is_write = e.op == Op::Write;
        let mut racing = None;
        let mut own = None;
        for (i, s) in slots.iter().enumerate() {
            if s.thread == e.thread {
                own = Some(i);
                continue;
            }
            if racing.is_some() {
                continue;
            }
            let k = known(s.thread);
            if s.w_clock > k {
                racing = Some(EventRef {
                    thread: s.thread,
                    loc: s.w_loc,
                    index: s.w_index,
                    op: Op::Write,
                });
            } else if is_write && s.r_clock > k {
                racing = Some(EventRef {
                    thread: s.thread,
                    loc: s.r_loc,
                    index: s.r_index,
                    op: Op::Read,
                });
            }
        }
        let i = match own {
            Some(i) => i,
            None => {
                slots.push(Slot {
                    thread: e.thread,
                    w_clock: 0,
                    r_clock: 0,
                    w_loc: 0,
                    r_loc: 0,
                    w_index: 0,
                    r_index: 0,
                });
                slots.len() - 1
            }
        };
        let s = &mut slots[i];
        if is_write {
            s.w_clock = own_clock;
            s.w_loc = e.loc;
            s.w_index = e.index;
        } else {
            s.r_clock = own_clock;
            s.r_loc = e.loc;
            s.r_index = e.index;
        }
        racing
    }
}
