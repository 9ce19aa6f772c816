//! Deduplication of races by unordered pair of sites, with a bounded memory.

use rustc_hash::FxHashSet;

/// The site pairs already reported.
pub(crate) struct RaceSet {
    seen: FxHashSet<u64>,
    limit: usize,
}

/// What to do with a race on a site pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// First time: report it.
    New,
    /// Already reported.
    Seen,
    /// New, but the set is full: drop it.
    Full,
}

impl RaceSet {
    /// An empty set remembering at most `limit` pairs.
    pub(crate) fn new(limit: usize) -> Self {
        RaceSet {
            seen: FxHashSet::default(),
            limit,
        }
    }

    /// Records the unordered pair `{a, b}` and says whether it is new.
    #[inline]
    pub(crate) fn insert(&mut self, a: u32, b: u32) -> Verdict {
        let key = (u64::from(a.min(b)) << 32) | u64::from(a.max(b));
        if self.seen.contains(&key) {
            Verdict::Seen
        } else if self.seen.len() >= self.limit {
            Verdict::Full
        } else {
            self.seen.insert(key);
            Verdict::New
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_unordered_and_bounded() {
        let mut s = RaceSet::new(2);
        assert_eq!(s.insert(1, 2), Verdict::New);
        assert_eq!(s.insert(2, 1), Verdict::Seen);
        assert_eq!(s.insert(3, 3), Verdict::New);
        assert_eq!(s.insert(4, 5), Verdict::Full);
        assert_eq!(s.insert(3, 3), Verdict::Seen);
    }
}
