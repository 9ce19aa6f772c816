//! The accesses `syncp` keeps as candidate first events of later races, per variable
//! and thread.

use crate::id_map::prefetch;

/// One access kept as a candidate first event: 16 bytes (the candidates are the bulk
/// of the engine's memory on traces of many variables).
#[derive(Debug, Clone, Copy)]
pub(super) struct Cand {
    /// Position in its thread.
    pub pos: u32,
    pub loc: u32,
    /// Trace index, with [`WRITE_BIT`] set for a write (trace indices stay far below).
    pub index_w: u64,
}

/// [`Cand::index_w`]: the access is a write.
pub(super) const WRITE_BIT: u64 = 1 << 63;

impl Cand {
    #[inline]
    pub fn write(&self) -> bool {
        self.index_w & WRITE_BIT != 0
    }

    #[inline]
    pub fn index(&self) -> u64 {
        self.index_w & !WRITE_BIT
    }
}

/// One thread's accesses to one variable, in order (all are candidates of a later
/// write, the writes among them of a later read).
#[derive(Debug)]
pub(super) struct ThreadCands {
    pub thread: u32,
    /// 1 + the position of the thread's last access and last write (0: none).
    end: [u32; 2],
    /// As an accessor: the variable's [`VarCands::pushes`] at which every other
    /// thread's candidates of kind 0 (all) / 1 (writes) were known dead for this thread
    /// for good (see [`VarCands::is_clean`]); [`NEVER`] when not.
    clean: [u32; 2],
    /// Candidates dropped from the front of `list` so far (dead for every thread, see
    /// [`VarCands::drop_known`]): absolute candidate indices minus this are `list`
    /// indices, so pointers kept as absolute indices stay right.
    pub dropped: u32,
    pub list: Vec<Cand>,
}

/// [`ThreadCands::clean`]: not known clean.
const NEVER: u32 = u32::MAX;

/// One variable's candidates: an entry per thread that accessed it, by thread id.
/// Sparse, because most variables are accessed by one thread (24 bytes per variable,
/// plus one entry and its list on the heap); once [`DENSE_FROM`] threads accessed it,
/// dense (`threads[u].thread == u`, empty entries for the others) so a thread finds
/// its entry without a search.
///
/// Layout: [`any_live`](VarCands::any_live) runs on most accesses and, on a variable of
/// many threads, only needs every thread's `end` of one kind; so once dense, `ends`
/// repeats them contiguously for the dense prefix of `n = ends.len() / 2` entries, all
/// kind-0 ends first, then all kind-1 ends (`ends[kind * n + i] == threads[i].end[kind]`,
/// `threads[i].thread == i` for `i < n`; empty while sparse, sparing the many variables
/// of few threads an allocation): 4 bytes a thread to scan, in a branch-free
/// (vectorized) pass, instead of a 40-byte entry.
#[derive(Debug, Default)]
pub(super) struct VarCands {
    pub threads: Vec<ThreadCands>,
    ends: Vec<u32>,
    /// Candidates pushed so far (saturating; at [`NEVER`] the clean marks are unused).
    pushes: u32,
}

/// Threads accessing a variable from which its [`VarCands`] turns dense.
const DENSE_FROM: usize = 8;

impl ThreadCands {
    fn new(thread: u32) -> Self {
        ThreadCands {
            thread,
            end: [0, 0],
            clean: [NEVER, NEVER],
            dropped: 0,
            list: Vec::new(),
        }
    }
}

impl VarCands {
    /// The index of thread `t`'s entry, created if new.
    #[inline]
    fn slot(&mut self, t: u32) -> usize {
        let u = t as usize;
        if self.threads.get(u).is_some_and(|tc| tc.thread == t) {
            return u;
        }
        match self.threads.binary_search_by_key(&t, |tc| tc.thread) {
            Ok(i) => i,
            Err(i) => {
                let n = self.threads.len() + 1;
                // Dense only while ids are not far sparser than the threads seen.
                if n >= DENSE_FROM && u < 4 * n {
                    self.densify(u);
                    return u;
                }
                // Most variables have one accessor: no spare room for a first entry.
                if self.threads.capacity() == 0 {
                    self.threads.reserve_exact(1);
                }
                self.threads.insert(i, ThreadCands::new(t));
                // Past the dense prefix (its ids all exist): `ends` stays as it is.
                i
            }
        }
    }

    /// Makes `threads` dense up to thread id `max` (and its highest id).
    #[cold]
    fn densify(&mut self, max: usize) {
        let last = self.threads.last().map_or(0, |tc| tc.thread as usize);
        let mut old = std::mem::take(&mut self.threads).into_iter().peekable();
        let mut dense = Vec::with_capacity(max.max(last) + 1);
        for id in 0..=max.max(last) as u32 {
            match old.next_if(|tc| tc.thread == id) {
                Some(tc) => dense.push(tc),
                None => dense.push(ThreadCands::new(id)),
            }
        }
        self.ends = (0..2)
            .flat_map(|kind| dense.iter().map(move |tc| tc.end[kind]))
            .collect();
        self.threads = dense;
    }

    /// The index of thread `t`'s entry, if it has one.
    #[inline]
    fn find(&self, t: u32) -> Option<usize> {
        let u = t as usize;
        if self.threads.get(u).is_some_and(|tc| tc.thread == t) {
            return Some(u);
        }
        self.threads.binary_search_by_key(&t, |tc| tc.thread).ok()
    }

    /// Hints the entry thread `t` will use (the first one when it has none yet).
    #[inline]
    pub fn prefetch(&self, t: u32) {
        if let Some(tc) = self.threads.get(t as usize).or(self.threads.first()) {
            prefetch(tc);
        }
    }

    /// Whether every other thread's candidate of `kind` (0: all, for a write; 1:
    /// writes, for a read) is dead for thread `t` for good: `t` found so at an earlier
    /// access (see [`push`](Self::push)) and no other thread pushed one since.
    ///
    /// Sound because deadness for a thread only grows along the thread (its `K` and
    /// TRF timestamp only grow), and kind 0 covers kind 1.
    #[inline]
    pub fn is_clean(&self, t: u32, kind: usize) -> bool {
        if self.pushes == NEVER {
            return false;
        }
        self.find(t).is_some_and(|i| {
            let c = self.threads[i].clean;
            c[0] == self.pushes || c[kind] == self.pushes
        })
    }

    /// Appends an access of thread `t` (after every earlier one of `t`). `clean`: the
    /// access found every other thread's candidate of its kind dead for good (its
    /// check returned no race), which [`is_clean`](Self::is_clean) then remembers
    /// until another thread pushes. Returns how many candidates `t` has kept here.
    #[inline]
    pub fn push(&mut self, t: u32, c: Cand, clean: bool) -> usize {
        let i = self.slot(t);
        let pushes = self.pushes;
        let mine = &mut self.threads[i];
        if clean {
            mine.clean[usize::from(!c.write())] = pushes;
        }
        if pushes != NEVER {
            // Own candidates never count against the thread itself.
            for m in &mut mine.clean {
                if *m == pushes {
                    *m = pushes + 1;
                }
            }
            self.pushes += 1;
        }
        let mine = &mut self.threads[i];
        mine.list.push(c);
        mine.end[0] = c.pos + 1;
        if c.write() {
            mine.end[1] = c.pos + 1;
        }
        let kept = mine.list.len();
        let n = self.ends.len() / 2;
        if i < n {
            self.ends[i] = mine.end[0];
            self.ends[n + i] = mine.end[1];
        }
        kept
    }

    /// The dense prefix's ends of `kind` (empty while sparse).
    #[inline]
    fn dense_ends(&self, kind: usize) -> &[u32] {
        let n = self.ends.len() / 2;
        &self.ends[kind * n..(kind + 1) * n]
    }

    /// Drops thread `t`'s candidates at positions below `known`, which every other
    /// thread's TRF timestamp, now and later, contains: dead for every later access
    /// (see [`super::SyncPEngine`]). Returns how many were dropped.
    pub fn drop_known(&mut self, t: u32, known: u32) -> usize {
        let Some(i) = self.find(t) else { return 0 };
        let tc = &mut self.threads[i];
        let n = tc.list.partition_point(|c| c.pos < known);
        tc.list.drain(..n);
        tc.dropped = tc.dropped.saturating_add(n as u32);
        n
    }

    /// 1 + the position of the last candidate of `kind` (0: any access, 1: writes) of
    /// the `i`-th entry (0: none).
    #[inline]
    pub fn end(&self, i: usize, kind: usize) -> u32 {
        match self.dense_ends(kind).get(i) {
            Some(&e) => e,
            None => self.threads[i].end[kind],
        }
    }

    /// Whether some thread's last candidate of `kind` lies outside both `k` and `trf`
    /// (per-thread prefix lengths; missing entries are 0).
    ///
    /// The accessing thread itself never counts: its candidates precede the access,
    /// which `trf` (its latest event's timestamp) covers.
    #[inline]
    pub fn any_live(&self, kind: usize, k: &[u32], trf: &[u32]) -> bool {
        let known = |t1: usize| {
            let k = k.get(t1).copied().unwrap_or(0);
            k.max(trf.get(t1).copied().unwrap_or(0))
        };
        if self.ends.is_empty() {
            return self
                .threads
                .iter()
                .any(|tc| tc.end[kind] > known(tc.thread as usize));
        }
        // `ends` covers the dense prefix: entry `i` is thread `i`, so the arrays zip;
        // where all three are present, without a branch (vectorized).
        let ends = self.dense_ends(kind);
        let m = ends.len().min(k.len()).min(trf.len());
        let head = (ends[..m].iter().zip(&k[..m]).zip(&trf[..m]))
            .fold(false, |acc, ((&e, &k), &f)| acc | (e > k.max(f)));
        head || ends[m..].iter().zip(m..).any(|(&e, i)| e > known(i))
            || self.threads[ends.len()..]
                .iter()
                .any(|tc| tc.end[kind] > known(tc.thread as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    #[test]
    fn var_cands_turn_dense_and_keep_every_thread() {
        let mut v = VarCands::default();
        let order = [9u32, 2, 30, 0, 5, 17, 3, 11, 40, 1, 2, 9, 64, 7];
        for (n, &t) in order.iter().enumerate() {
            let i = v.slot(t);
            assert_eq!(v.threads[i].thread, t);
            let w = if n % 3 == 0 { WRITE_BIT } else { 0 };
            v.push(
                t,
                Cand {
                    pos: n as u32,
                    loc: 0,
                    index_w: n as u64 | w,
                },
                false,
            );
            // Sorted by thread id, each id once, and every access kept.
            assert!(v.threads.windows(2).all(|w| w[0].thread < w[1].thread));
            let kept: usize = v.threads.iter().map(|tc| tc.list.len()).sum();
            assert_eq!(kept, n + 1);
            // The contiguous ends mirror the dense prefix.
            for (i, tc) in v.threads.iter().enumerate() {
                assert_eq!([v.end(i, 0), v.end(i, 1)], tc.end);
            }
        }
        // Dense since DENSE_FROM threads: an entry at every id up to the highest.
        assert_eq!(v.threads.len(), 65);
        assert!(v
            .threads
            .iter()
            .enumerate()
            .all(|(i, tc)| tc.thread as usize == i));
        // A far sparser id is inserted in order, without filling the gap.
        let i = v.slot(10_000);
        assert_eq!((i, v.threads.len()), (65, 66));
        assert_eq!(v.ends.len(), 2 * 65);
    }

    /// `any_live` against the plain definition, sparse and dense, with `k` and `trf`
    /// shorter than the thread range.
    #[test]
    fn any_live_matches_definition() {
        let mut rng = XorShift::new(0x51_7cc1_b727_220a);
        let mut next = move |n: u64| rng.below(n);
        for round in 0..200 {
            let threads = if round % 2 == 0 { 5 } else { 40 };
            let mut v = VarCands::default();
            for n in 0..next(60) {
                let t = next(threads) as u32;
                let w = if next(2) == 0 { WRITE_BIT } else { 0 };
                let pos = n as u32 * 3;
                v.push(
                    t,
                    Cand {
                        pos,
                        loc: 0,
                        index_w: n | w,
                    },
                    false,
                );
            }
            let k: Vec<u32> = (0..next(threads)).map(|_| next(200) as u32).collect();
            let trf: Vec<u32> = (0..next(threads)).map(|_| next(200) as u32).collect();
            let at = |s: &[u32], i: usize| s.get(i).copied().unwrap_or(0);
            for kind in 0..2 {
                let want = v.threads.iter().any(|tc| {
                    let t = tc.thread as usize;
                    tc.list
                        .iter()
                        .filter(|c| kind == 0 || c.write())
                        .any(|c| c.pos + 1 > at(&k, t).max(at(&trf, t)))
                });
                assert_eq!(v.any_live(kind, &k, &trf), want, "round {round}");
            }
        }
    }

    /// Dropping a known prefix keeps the rest and counts what went; `push` reports
    /// what is kept.
    #[test]
    fn drop_known_removes_a_prefix_and_counts_it() {
        let c = |pos: u32| Cand {
            pos,
            loc: 0,
            index_w: u64::from(pos),
        };
        let mut v = VarCands::default();
        for pos in [2, 5, 9] {
            v.push(3, c(pos), false);
        }
        assert_eq!(v.push(4, c(1), false), 1);
        assert_eq!(v.drop_known(3, 6), 2);
        assert_eq!(v.drop_known(7, 100), 0, "no entry");
        let i = v.find(3).unwrap();
        assert_eq!(
            v.threads[i].list.iter().map(|c| c.pos).collect::<Vec<_>>(),
            [9]
        );
        assert_eq!(v.threads[i].dropped, 2);
        assert_eq!(
            [v.end(i, 0), v.end(i, 1)],
            [10, 0],
            "ends are the last accesses"
        );
        assert_eq!(v.push(3, c(12), false), 2);
        assert_eq!(v.drop_known(3, 100), 2);
        assert_eq!(v.threads[i].dropped, 4);
    }

    /// The clean mark: remembered for the marking thread across its own pushes,
    /// dropped by another thread's push, and a read's mark does not cover writes.
    #[test]
    fn clean_marks_last_until_another_thread_pushes() {
        let c = |pos: u32, write: bool| Cand {
            pos,
            loc: 0,
            index_w: u64::from(pos) | if write { WRITE_BIT } else { 0 },
        };
        let mut v = VarCands::default();
        assert!(!v.is_clean(1, 0), "no entry yet");
        v.push(1, c(0, false), true);
        assert!(
            v.is_clean(1, 1) && !v.is_clean(1, 0),
            "a read marks reads only"
        );
        v.push(1, c(1, false), false);
        assert!(v.is_clean(1, 1), "own pushes keep the mark");
        v.push(1, c(2, true), true);
        assert!(
            v.is_clean(1, 0) && v.is_clean(1, 1),
            "a write marks both kinds"
        );
        assert!(!v.is_clean(2, 0));
        v.push(2, c(0, false), true);
        assert!(
            !v.is_clean(1, 0) && !v.is_clean(1, 1),
            "another thread pushed"
        );
        assert!(v.is_clean(2, 1));
    }
}
