//! The clock a write publishes on its variable, shared between writes.
//!
//! Engines that let a read join the clock of the variable's last write (SHB, the TRF
//! timestamps of `syncp`) used to copy the writer's whole clock into every variable it
//! wrote: `O(threads)` time per write and a heap buffer per variable. But between two
//! changes of a thread's clock beyond its own entry, all its writes publish the same
//! clock up to that entry. So a thread keeps one shared snapshot (an `Rc`, engines run
//! on one thread) made on its first write after a change, and a write stores only the
//! snapshot and its own entry: 24 bytes, no allocation in the common case.
//!
//! Invariant: a snapshot of thread `t` equals `t`'s clock at the write everywhere but at
//! `t`, where it may be smaller; [`PublishedClock::own`] holds the right value there.
//! Callers must [`Snapshots::invalidate`] a thread whenever an entry of its clock other
//! than its own grows.
//!
//! On traces that sync often, nearly every write makes a new snapshot and the write it
//! overwrites drops the last reference to an old one: an allocation and a free per
//! write. So a caller hands the overwritten clock back ([`Snapshots::recycle`]), and a
//! snapshot nothing else holds is kept (a few) and refilled by the next publish.

use std::rc::Rc;

use crate::clock::{join_reporting, Tid};
use crate::id_map::prefetch_slice;

/// The clock published by a write: `snap` with entry `thread` raised to `own`.
#[derive(Debug, Clone, Default)]
pub struct PublishedClock {
    /// The writer's clock (its own entry possibly stale); `None`: no write yet. A thin
    /// pointer, so the whole record is 16 bytes (four variables a cache line).
    pub snap: Option<Rc<Vec<u32>>>,
    /// Writer thread.
    pub thread: Tid,
    /// The writer's own entry at the write.
    pub own: u32,
}

impl PublishedClock {
    /// Entry `u` of the published clock (0 when no write).
    #[inline]
    pub fn get(&self, u: Tid) -> u32 {
        if u == self.thread {
            return self.own;
        }
        self.snap
            .as_ref()
            .and_then(|s| s.get(u as usize).copied())
            .unwrap_or(0)
    }

    /// Hints the snapshot a reader will join whose entry for the writer is `known`;
    /// nothing when the write is not new to it (a prefetch only: see
    /// [`crate::run::Prefetch`]).
    #[inline]
    pub fn prefetch_if_new(&self, known: u32) {
        if self.own > known {
            if let Some(snap) = &self.snap {
                prefetch_slice(snap);
            }
        }
    }

    /// Joins the published clock into `dst` (growing it as needed), calling
    /// `grew(u, value)` for every entry that grew, the writer's own entry last.
    #[inline]
    pub fn join_into(&self, dst: &mut Vec<u32>, mut grew: impl FnMut(u32, u32)) {
        let Some(snap) = &self.snap else { return };
        let w = self.thread as usize;
        let len = snap.len().max(w + 1);
        if dst.len() < len {
            dst.resize(len, 0);
        }
        // The snapshot's own entry may be stale: it is skipped, `own` joins instead.
        let own_before = dst[w];
        join_reporting(dst, snap, |i, s| {
            if i != w {
                grew(i as u32, s);
            }
        });
        dst[w] = own_before;
        if self.own > dst[w] {
            dst[w] = self.own;
            grew(w as u32, self.own);
        }
    }
}

/// Per thread, the snapshot its writes share while its clock stays put.
#[derive(Debug, Default)]
pub struct Snapshots {
    per_thread: Vec<Option<Rc<Vec<u32>>>>,
    /// Snapshots no published clock holds any more, for reuse (each uniquely owned).
    spare: Vec<Rc<Vec<u32>>>,
}

/// Unused snapshots kept for reuse at most.
const SPARE: usize = 64;

impl Snapshots {
    /// Forgets thread `t`'s snapshot: its clock grew beyond its own entry. Kept for
    /// reuse when no published clock holds it any more.
    #[inline]
    pub fn invalidate(&mut self, t: Tid) {
        if let Some(snap) = self.per_thread.get_mut(t as usize).and_then(Option::take) {
            self.keep_if_unshared(snap);
        }
    }

    /// Keeps `snap` for reuse if nothing else holds it (else just drops this reference).
    #[inline]
    fn keep_if_unshared(&mut self, snap: Rc<Vec<u32>>) {
        if Rc::strong_count(&snap) == 1 && self.spare.len() < SPARE {
            self.spare.push(snap);
        }
    }

    /// The clock a write of thread `t` publishes, `clock` being `t`'s current clock.
    #[inline]
    pub fn publish(&mut self, t: Tid, clock: &[u32]) -> PublishedClock {
        let i = t as usize;
        if i >= self.per_thread.len() {
            self.per_thread.resize(i + 1, None);
        }
        let spare = &mut self.spare;
        let snap = self.per_thread[i].get_or_insert_with(|| match spare.pop() {
            Some(mut snap) => {
                let v = Rc::get_mut(&mut snap).expect("spare snapshots are unshared");
                v.clear();
                v.extend_from_slice(clock);
                snap
            }
            None => Rc::new(clock.to_vec()),
        });
        PublishedClock {
            snap: Some(Rc::clone(snap)),
            thread: t,
            own: clock.get(i).copied().unwrap_or(0),
        }
    }

    /// Takes back a published clock that was overwritten, keeping its snapshot for
    /// reuse when nothing else holds it.
    #[inline]
    pub fn recycle(&mut self, old: PublishedClock) {
        if let Some(snap) = old.snap {
            self.keep_if_unshared(snap);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_share_a_snapshot_until_invalidated() {
        let mut s = Snapshots::default();
        let a = s.publish(1, &[4, 1, 2]);
        let b = s.publish(1, &[4, 3, 2]);
        assert!(Rc::ptr_eq(
            a.snap.as_ref().unwrap(),
            b.snap.as_ref().unwrap()
        ));
        // The own entry is exact although the snapshot's is stale.
        assert_eq!(
            (a.get(1), b.get(1), b.get(0), b.get(2), b.get(9)),
            (1, 3, 4, 2, 0)
        );
        s.invalidate(1);
        let c = s.publish(1, &[5, 3, 2]);
        assert!(!Rc::ptr_eq(
            b.snap.as_ref().unwrap(),
            c.snap.as_ref().unwrap()
        ));
        assert_eq!(c.get(0), 5);
        // Another thread has its own.
        let d = s.publish(0, &[6]);
        assert_eq!((d.get(0), d.get(1)), (6, 0));
        assert_eq!(PublishedClock::default().get(0), 0);
        assert_eq!(std::mem::size_of::<PublishedClock>(), 16);
    }

    #[test]
    fn recycled_snapshots_are_reused_only_when_unshared() {
        let mut s = Snapshots::default();
        let a = s.publish(0, &[1, 2]);
        let b = s.publish(0, &[1, 3]);
        s.invalidate(0);
        // `b` still shares `a`'s snapshot: not reusable.
        s.recycle(a);
        assert!(s.spare.is_empty());
        let ptr = Rc::as_ptr(b.snap.as_ref().unwrap());
        s.recycle(b);
        assert_eq!(s.spare.len(), 1);
        // Reused, refilled with the new clock.
        let c = s.publish(1, &[7, 8, 9]);
        assert_eq!(Rc::as_ptr(c.snap.as_ref().unwrap()), ptr);
        assert_eq!((c.get(0), c.get(1), c.get(2)), (7, 8, 9));
        s.recycle(PublishedClock::default());
        // A thread's own snapshot, once invalidated, is reused when no write holds it.
        let d = s.publish(2, &[1]);
        s.recycle(d);
        assert_eq!(s.spare.len(), 0, "still thread 2's current snapshot");
        s.invalidate(2);
        assert_eq!(s.spare.len(), 1);
    }

    #[test]
    fn join_reports_each_grown_entry_once() {
        let mut s = Snapshots::default();
        s.publish(2, &[1, 0, 1]);
        // Thread 2's clock moved on in its own entry only.
        let w = s.publish(2, &[1, 0, 7]);
        let mut dst = vec![0, 5];
        let mut grew = Vec::new();
        w.join_into(&mut dst, |u, v| grew.push((u, v)));
        assert_eq!(dst, vec![1, 5, 7]);
        assert_eq!(grew, vec![(0, 1), (2, 7)]);
        grew.clear();
        w.join_into(&mut dst, |u, v| grew.push((u, v)));
        assert!(grew.is_empty());
        PublishedClock::default().join_into(&mut dst, |_, _| panic!("no write"));
        assert_eq!(dst, vec![1, 5, 7]);
    }
}
