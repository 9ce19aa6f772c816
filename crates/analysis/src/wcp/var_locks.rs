//! Rule (a) state of one variable: for each lock it was accessed under, the latest
//! releases of critical sections on that lock that read / wrote it.
//!
//! Layout: most variables are accessed under one lock (or none), so the first lock's
//! state is inline in the per-variable record (48 bytes, no heap allocation: on traces
//! of a million variables a `Vec` per variable cost a malloc, a free and a cache miss
//! each); further locks go to `more`.

use super::RelClock;

/// The latest releases of critical sections on one lock that read / wrote a variable.
#[derive(Debug, Default)]
pub(super) struct CsAccess {
    pub read: Option<RelClock>,
    pub write: Option<RelClock>,
}

impl CsAccess {
    /// Whether a critical section recorded an access here (a new entry gets one at
    /// once, so only the inline entry of a variable never accessed under a lock is
    /// unused).
    #[inline]
    fn used(&self) -> bool {
        self.read.is_some() || self.write.is_some()
    }
}

/// One variable's rule (a) state. Invariant: `first` is used iff some lock is recorded;
/// `more` holds the further locks, each lock at most once overall.
#[derive(Debug, Default)]
pub(super) struct VarLocks {
    first_lock: u64,
    first: CsAccess,
    more: Vec<(u64, CsAccess)>,
}

impl VarLocks {
    /// The state of `lock`, if a critical section on it accessed the variable.
    #[inline]
    pub fn get(&self, lock: u64) -> Option<&CsAccess> {
        if self.first_lock == lock && self.first.used() {
            return Some(&self.first);
        }
        self.more.iter().find(|(l, _)| *l == lock).map(|(_, a)| a)
    }

    /// The state of `lock`, created (unused until the caller records an access) if new.
    #[inline]
    pub fn entry(&mut self, lock: u64) -> &mut CsAccess {
        if !self.first.used() {
            self.first_lock = lock;
            return &mut self.first;
        }
        if self.first_lock == lock {
            return &mut self.first;
        }
        let i = match self.more.iter().position(|(l, _)| *l == lock) {
            Some(i) => i,
            None => {
                self.more.push((lock, CsAccess::default()));
                self.more.len() - 1
            }
        };
        &mut self.more[i].1
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::super::Release;
    use super::*;

    fn rel(seq: u64) -> RelClock {
        Rc::new(Release {
            seq,
            ..Release::default()
        })
    }

    #[test]
    fn locks_are_kept_apart_first_inline_then_in_more() {
        let mut v = VarLocks::default();
        assert!(v.get(0).is_none(), "lock 0 is not the unused inline entry");
        v.entry(5).read = Some(rel(1));
        v.entry(0).write = Some(rel(2));
        v.entry(9).read = Some(rel(3));
        v.entry(5).write = Some(rel(4));
        let seqs = |a: &CsAccess| {
            (
                a.read.as_ref().map(|r| r.seq),
                a.write.as_ref().map(|r| r.seq),
            )
        };
        assert_eq!(v.get(5).map(seqs), Some((Some(1), Some(4))));
        assert_eq!(v.get(0).map(seqs), Some((None, Some(2))));
        assert_eq!(v.get(9).map(seqs), Some((Some(3), None)));
        assert!(v.get(7).is_none());
        assert_eq!(v.more.len(), 2);
    }

    #[test]
    fn record_is_48_bytes() {
        assert_eq!(std::mem::size_of::<VarLocks>(), 48);
    }
}
