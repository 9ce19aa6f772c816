//! `lockset`: Eraser's lock discipline (Savage et al., TOCS'97). Each variable moves
//! Virgin → Exclusive(t) → Shared (read by another thread) / SharedModified (written
//! by another thread, or written while Shared); from the first sharing access on, its
//! candidate set is intersected with the locks the accessing thread holds. An access
//! leaving the variable SharedModified with an empty candidate set violates the
//! discipline and counts as racy (paired with the last access of another thread).
//! Fork/join and atomics do not protect anything here, as in Eraser.

use wasmgrind_trace::{Event, Op};

use crate::clock::Tid;
use crate::engine::Engine;
use crate::id_map::IdMap;
use crate::race_collector::RaceCollector;
use crate::report::{EventRef, Report};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    #[default]
    Virgin,
    Exclusive(Tid),
    Shared,
    SharedModified,
}

#[derive(Debug, Default)]
struct VarState {
    state: State,
    /// Candidate locks, sorted (meaningful once Shared/SharedModified).
    candidates: Vec<u64>,
    /// Last access, and the last access by a thread other than `last`'s.
    last: Option<EventRef>,
    last_other: Option<EventRef>,
}

/// The lockset engine.
#[derive(Debug, Default)]
pub struct LocksetEngine {
    /// Per thread, the locks held (sorted, with multiplicity for re-entrant holds).
    held: Vec<Vec<u64>>,
    vars: IdMap<VarState>,
    races: RaceCollector,
}

impl LocksetEngine {
    /// A fresh engine.
    pub fn new() -> Self {
        Self::default()
    }

    fn held(&mut self, t: Tid) -> &mut Vec<u64> {
        let i = t as usize;
        if i >= self.held.len() {
            self.held.resize_with(i + 1, Vec::new);
        }
        &mut self.held[i]
    }
}

impl Engine for LocksetEngine {
    fn process(&mut self, e: &Event) {
        let r = self.races.next_event(e);
        let t = e.thread;
        match e.op {
            Op::Acquire => {
                let h = self.held(t);
                let pos = h.partition_point(|&l| l < e.decor);
                h.insert(pos, e.decor);
            }
            Op::Release => {
                let h = self.held(t);
                if let Ok(pos) = h.binary_search(&e.decor) {
                    h.remove(pos);
                }
            }
            Op::Read | Op::Write => {
                self.held(t);
                let held = &self.held[t as usize];
                let x = self.vars.entry(e.decor);
                let write = e.op == Op::Write;
                let sharing = match x.state {
                    State::Virgin => {
                        x.state = State::Exclusive(t);
                        false
                    }
                    State::Exclusive(o) if o == t => false,
                    State::Exclusive(_) => {
                        x.state = if write {
                            State::SharedModified
                        } else {
                            State::Shared
                        };
                        x.candidates.clear();
                        x.candidates.extend_from_slice(held);
                        x.candidates.dedup();
                        false
                    }
                    State::Shared => {
                        if write {
                            x.state = State::SharedModified;
                        }
                        true
                    }
                    State::SharedModified => true,
                };
                if sharing {
                    x.candidates.retain(|l| held.binary_search(l).is_ok());
                }
                if x.state == State::SharedModified && x.candidates.is_empty() {
                    let first = match x.last {
                        Some(l) if l.thread != t => Some(l),
                        _ => x.last_other,
                    };
                    if let Some(first) = first {
                        self.races.racy(first, r);
                    }
                }
                match x.last {
                    Some(l) if l.thread != t => {
                        x.last_other = Some(l);
                        x.last = Some(r);
                    }
                    _ => x.last = Some(r),
                }
            }
            Op::Fork | Op::Join | Op::LockRequest => {}
        }
    }

    fn finish(self) -> Report {
        self.races.into_report("lockset")
    }
}
